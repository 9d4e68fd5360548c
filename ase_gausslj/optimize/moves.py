"""Basin-hopping strategies in the manner of :func:`scipy.optimize.basinhopping`.

* ``take_step``: :class:`RandomDisplacement` (every atom in a cube, Wales & Doye 1997);
* ``accept_test``: :class:`Metropolis` (``temperature=0`` is monotonic basin hopping);
* the evaporation guard that brings atoms which left the container back to the surface.

The plain functions (:func:`random_displacement`, :func:`metropolis_accept`,
:func:`evaporation_guard`) do the work; the classes only carry their settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.validation import check_positions

__all__ = [
    "random_displacement",
    "evaporation_guard",
    "metropolis_accept",
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
    if not (step > 0 and math.isfinite(step)):
        raise ValueError(f"step must be positive and finite, got {step!r}")
    return positions + rng.uniform(-step, step, size=positions.shape)


def evaporation_guard(
    positions: np.ndarray, radius: float, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Bring atoms that left the container back to the cluster surface.

    An atom is *escaped* if its distance from the centroid of the other atoms' median
    centre exceeds ``radius``. Each escaped atom is placed at a random direction from the
    centre, at the largest distance of the atoms still bound (so that it lands on the
    surface and binds in the next quench).

    Parameters
    ----------
    positions : ndarray, shape (N, 3)
        Positions.
    radius : float
        Container radius (see :func:`container_radius`), > 0.
    rng : numpy.random.Generator
        Random generator (used only if some atom escaped).

    Returns
    -------
    positions : ndarray, shape (N, 3)
        Guarded positions (a copy).
    n_moved : int
        How many atoms were brought back.
    """
    positions = check_positions(positions).copy()
    if not (radius > 0 and math.isfinite(radius)):
        raise ValueError(f"radius must be positive and finite, got {radius!r}")
    # The median is robust: a few far-away atoms do not drag the centre.
    centre = np.median(positions, axis=0)
    dist = np.linalg.norm(positions - centre, axis=1)
    escaped = dist > radius
    n_moved = int(escaped.sum())
    if n_moved == 0:
        return positions, 0
    bound = ~escaped
    if bound.any():
        centre = positions[bound].mean(axis=0)
        r_surf = float(np.linalg.norm(positions[bound] - centre, axis=1).max())
    else:
        r_surf = 0.0
    r_surf = min(max(r_surf, 0.5), radius)
    v = rng.normal(size=(n_moved, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    positions[escaped] = centre + r_surf * v
    return positions, n_moved


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
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be finite and >= 0, got {temperature!r}")
    if not math.isfinite(e_new):
        return False
    delta = e_new - e_old
    if delta <= 0.0:
        return True
    if temperature == 0.0:
        return False
    return bool(rng.random() < math.exp(-delta / temperature))


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


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
        _positive(self.step, "step")

    def __call__(self, positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return random_displacement(positions, self.step, rng)


@dataclass(frozen=True)
class Metropolis:
    """``accept_test``: Metropolis at ``temperature`` (``k_B T``, energy units).

    ``temperature=0`` is the monotonic rule (uphill steps always rejected).
    """

    temperature: float

    def __post_init__(self) -> None:
        t = float(self.temperature)
        if not (t >= 0 and math.isfinite(t)):
            raise ValueError(f"temperature must be finite and >= 0, got {self.temperature!r}")

    def __call__(self, e_new: float, e_old: float, rng: np.random.Generator) -> bool:
        return metropolis_accept(e_new, e_old, self.temperature, rng)
