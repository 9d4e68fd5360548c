"""Homotopy safety: a first width that still binds, and a check that a result did not disperse.

Measured (``smoothed_lj``, ``r_core=0.8``, reduced units): the smoothed pair well is
-0.87 eps deep at width 0.05, -0.57 at 0.10, -0.31 at 0.15, -0.16 at 0.20, -0.04 at 0.30,
-0.01 at 0.40. Above ~0.3 sigma an unconfined cluster is a gas and a minimizer with a
finite tolerance stops with the atoms apart (the paper's first width, 1.0, dispersed all
of 10 N(0,1) starts of LJ13 and LJ38 with L-BFGS; 0.5 dispersed LJ38 with FIRE, 0.3 did
not). :func:`binding_width` turns that into the first width of a default schedule; the
same fraction of each pair's epsilon means the same reduced width for every pair type, so
the smallest sigma sets it. :func:`dispersal` says whether a final structure fell apart.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from ..core.defaults import R_CORE
from ..defaults import HOMOTOPY
from ..schedules import GeometricSchedule

__all__ = ["HomotopyDispersedWarning", "binding_width", "default_schedule", "dispersal",
           "warn_dispersed", "LJ_RANGE"]

LJ_RANGE = 2.5
"""Pair distance (in sigma) beyond which two atoms are "out of LJ range" (V = -0.016 eps)."""


class HomotopyDispersedWarning(RuntimeWarning):
    """A homotopy ended with its atoms apart (see :func:`dispersal`)."""


def _well_depth(width: float, r_core: float) -> float:
    # the reduced table (what SmoothedLJ evaluates; cached on disk) answers in
    # microseconds where the exact potential compiles for seconds in a fresh process
    from ..core.table import get_table

    # the minimum moves out with the width (1.12 sigma at 0, 2.2 at 0.3, 2.8 at 0.4)
    r = np.linspace(0.9, 6.0, 300)
    v, _ = get_table(r_core).evaluate(r, np.full_like(r, width))
    return float(-np.min(v))


@functools.lru_cache(maxsize=16)
def binding_width(fraction: float, r_core: float = R_CORE) -> float:
    """Largest reduced width at which the smoothed pair well is ``fraction * eps`` deep.

    Parameters
    ----------
    fraction : float
        In (0, 1): the depth of the smoothed well that still counts as binding.
    r_core : float
        Core radius of the regularized LJ (sigma).

    Returns
    -------
    float
        The width in sigma (bisection, rounded to 1e-3 sigma); 0.297 for ``fraction=0.04`` and
        ``r_core=0.8``.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    lo, hi = 1e-3, 1.5  # the well depth falls monotonically with the width
    if _well_depth(hi, r_core) >= fraction:
        return hi
    while hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        if _well_depth(mid, r_core) >= fraction:
            lo = mid
        else:
            hi = mid
    return round(lo, 3)


def default_schedule(sigma: float = 1.0, r_core: float = R_CORE) -> GeometricSchedule:
    """The default widths of ``protocol=None``: from the system, never a gas.

    The first width is the largest at which the smoothed pair well still binds by
    ``HOMOTOPY.bind_fraction`` of epsilon (:func:`.dispersal.binding_width`: 0.297 sigma
    for 0.04 eps and ``r_core=0.8``), times ``sigma`` (the smallest pair sigma: it
    fades first); then ``HOMOTOPY.factor`` per stage down to ``HOMOTOPY.floor * sigma``,
    then 0.
    """
    s = float(sigma)
    return GeometricSchedule(binding_width(HOMOTOPY.bind_fraction, r_core) * s,
                             HOMOTOPY.factor, HOMOTOPY.floor * s)


def _components(x: np.ndarray, cutoff: float) -> np.ndarray:
    """Labels of the connected components of the graph ``|x_i - x_j| < cutoff``."""
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(x).query_pairs(cutoff, output_type="ndarray")
    n = len(x)
    from scipy.sparse import coo_matrix

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _radius_of_gyration(x: np.ndarray) -> float:
    return float(np.sqrt(((x - x.mean(axis=0)) ** 2).sum(axis=1).mean()))


def _geometry_reasons(x: np.ndarray, x0: np.ndarray, sigma: float, expand: float) -> list[str]:
    n = len(x)
    reasons = []
    largest = np.bincount(_components(x, LJ_RANGE * sigma)).max()
    if largest < n:
        reasons.append(f"{n - largest} of {n} atoms are beyond {LJ_RANGE} sigma of the "
                       "largest fragment")
    compact = math.sqrt(0.6) * (3 * n / (4 * math.pi * 0.9)) ** (1 / 3) * sigma
    rg, rg0 = _radius_of_gyration(x), _radius_of_gyration(x0)
    if rg > expand * max(rg0, compact):
        reasons.append(f"radius of gyration {rg:.3g} > {expand} x max(start {rg0:.3g}, "
                       f"compact {compact:.3g})")
    return reasons


def dispersal(positions, start, *, sigma: float = 1.0, energy: float | None = None,
              start_energy: float | None = None, expand: float = 1.5,
              geometry: bool = True) -> list[str]:
    """Why a homotopy result counts as dispersed (empty list: it did not).

    Parameters
    ----------
    positions, start : array_like (N, 3)
        Final and starting configurations (same length unit as ``sigma``).
    sigma : float
        Length scale; atoms farther than ``LJ_RANGE * sigma`` from every atom of the
        largest fragment count as gone.
    energy, start_energy : float, optional
        Plain (width 0) energies of the result and of the start; ending above the start
        is a failure no plain minimization can have.
    expand : float
        Radius of gyration allowed, relative to the larger of the start's and that of a
        compact cluster of N atoms (number density 0.9 per sigma^3).
    geometry : bool
        Check fragments and the radius of gyration (False for periodic systems, where
        unwrapped distances mean nothing; the energy test still applies).

    Returns
    -------
    list of str
        Human-readable reasons.
    """
    reasons: list[str] = []
    if geometry:
        reasons += _geometry_reasons(np.asarray(positions, dtype=np.float64).reshape(-1, 3),
                                     np.asarray(start, dtype=np.float64).reshape(-1, 3),
                                     sigma, expand)
    if (energy is not None and start_energy is not None and math.isfinite(start_energy)
            and energy > start_energy):
        reasons.append(f"final energy {energy:.6g} is above the start's {start_energy:.6g}")
    return reasons


def warn_dispersed(reasons: list[str], where: str) -> None:
    """Emit a :class:`HomotopyDispersedWarning` listing ``reasons``."""
    warnings.warn(f"{where} ended dispersed: " + "; ".join(reasons)
                  + " (use a smaller first width, or a compact start)",
                  HomotopyDispersedWarning, stacklevel=3)
