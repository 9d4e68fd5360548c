"""Basin-hopping strategies in the manner of :func:`scipy.optimize.basinhopping`.

* ``take_step``: :class:`RandomDisplacement` (every atom in a cube, Wales & Doye 1997);
* ``accept_test``: :class:`Metropolis` (``temperature=0`` is monotonic basin hopping);
* the evaporation guard that brings atoms which left the container back to the surface.

Each rule is defined once: the Metropolis rule in :func:`metropolis_rule`, the guard in
:func:`ase_gausslj.optimize.compiled.quench.guard` (numba; the compiled quench calls it
directly, :func:`evaporation_guard` from Python). The public functions check their
arguments on every call; the strategy classes check them once, when built, and then call
the unchecked rules (a basin-hopping step validates nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.validation import check_positions, positive

GUARD_ROUNDS = 3
"""A quench runs the guard (and re-quenches) at most this often: an atom rarely escapes
twice. Every quench draws ``(GUARD_ROUNDS, N, 3)`` normals, so seeded runs repeat."""

__all__ = [
    "random_displacement",
    "evaporation_guard",
    "metropolis_accept",
    "metropolis_rule",
    "GUARD_ROUNDS",
    "RandomDisplacement",
    "Metropolis",
]


def random_displacement(
    positions: np.ndarray, step: float, rng: np.random.Generator
) -> np.ndarray:
    """Displace every atom uniformly in the cube ``[-step, step]**3`` (Wales & Doye).

    Parameters
    ----------
    positions : ndarray, shape (N, 3)
        Current positions.
    step : float
        Half-edge of the displacement cube, > 0.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    ndarray, shape (N, 3)
        New positions (the input is not modified).
    """
    positions = check_positions(positions)
    return positions + rng.uniform(-positive(step, "step"), step, size=positions.shape)


def evaporation_guard(
    positions: np.ndarray, radius: float, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Bring atoms that left the container back to the cluster surface.

    An atom is *escaped* if its distance from the atoms' median centre exceeds ``radius``.
    Each escaped atom is placed at a random direction from the centroid of the bound
    atoms, at their largest distance from it (so that it lands on the surface and binds
    in the next quench).

    Parameters
    ----------
    positions : ndarray, shape (N, 3)
        Positions.
    radius : float
        Container radius (see :func:`container_radius`), > 0.
    rng : numpy.random.Generator
        Random generator (one standard normal per coordinate; the row of an escaped atom
        gives its direction).

    Returns
    -------
    positions : ndarray, shape (N, 3)
        Guarded positions (a copy).
    n_moved : int
        How many atoms were brought back.
    """
    from .compiled.quench import guard  # lazy: numba, compiled on first use

    positions = check_positions(positions)
    x = np.array(positions, dtype=np.float64).ravel()
    n_moved = guard(x, positive(radius, "radius"), rng.normal(size=positions.shape),
                    np.empty(len(positions) + 3))
    return x.reshape(positions.shape), int(n_moved)


def metropolis_accept(
    e_new: float, e_old: float, temperature: float, rng: np.random.Generator
) -> bool:
    """Metropolis acceptance of a basin-hopping step.

    Downhill (or equal) steps are always accepted. With ``temperature == 0`` the rule is
    monotonic (uphill steps always rejected, no random number drawn); otherwise an
    uphill step is accepted with probability ``exp(-(e_new - e_old) / temperature)``.

    Parameters
    ----------
    e_new, e_old : float
        Energies of the proposed and the current minimum.
    temperature : float
        ``k_B T`` in energy units, >= 0.
    rng : numpy.random.Generator
        Random generator (one uniform draw per uphill step when ``temperature > 0``).

    Returns
    -------
    bool
        Whether to accept.
    """
    return metropolis_rule(e_new, e_old, positive(temperature, "temperature", strict=False),
                           rng)


def metropolis_rule(e_new: float, e_old: float, temperature: float,
                    rng: np.random.Generator) -> bool:
    """The Metropolis rule of :func:`metropolis_accept`, unchecked (the one definition)."""
    if not math.isfinite(e_new):
        return False
    delta = e_new - e_old
    if delta <= 0.0:
        return True
    if temperature == 0.0:
        return False
    return bool(rng.random() < math.exp(-delta / temperature))


@dataclass(frozen=True)
class RandomDisplacement:
    """``take_step``: displace every atom uniformly in ``[-step, step]**3``.

    Parameters
    ----------
    step : float
        Half-edge of the cube, in the objective's length unit.
    """

    step: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "step", positive(self.step, "step"))

    def __call__(self, positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return positions + rng.uniform(-self.step, self.step, size=np.shape(positions))


@dataclass(frozen=True)
class Metropolis:
    """``accept_test``: Metropolis at ``temperature`` (``k_B T``, energy units).

    ``temperature=0`` is the monotonic rule (uphill steps always rejected).
    """

    temperature: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature",
                           positive(self.temperature, "temperature", strict=False))

    def __call__(self, e_new: float, e_old: float, rng: np.random.Generator) -> bool:
        return metropolis_rule(e_new, e_old, self.temperature, rng)
