"""Cluster geometry: random starts, the evaporation container, the known LJ minima."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LJ_GLOBAL_MINIMA", "CONTAINER_MARGIN", "container_radius", "random_cluster"]

LJ_GLOBAL_MINIMA = {
    3: -3.0,
    7: -16.505384,
    13: -44.326801,
    38: -173.928427,
    55: -279.248470,
    75: -397.492331,
    100: -557.039820,
    150: -893.310258,
    250: -1579.8,  # as quoted by Ram & Ram (2025)
    500: -3382.7,  # as quoted by Ram & Ram (2025)
}
"""Putative global minima of LJ_N (reduced units): the Cambridge Cluster Database, and
the paper's values for N = 250 and 500."""


CONTAINER_MARGIN = 2.0
"""Distance (sigma) beyond the packing radius at which an atom counts as evaporated."""


def container_radius(n_atoms: int, density: float = 0.9,
                     margin: float = CONTAINER_MARGIN) -> float:
    """Radius beyond which an atom counts as evaporated (reduced units).

    The radius of a sphere holding ``n_atoms`` at number ``density`` plus ``margin``.

    Parameters
    ----------
    n_atoms : int
        Number of atoms, >= 1.
    density : float
        Number density in atoms per sigma**3 (close-packed LJ is about 1).
    margin : float
        Extra distance in sigma added to the packing radius.

    Returns
    -------
    float
        The container radius in sigma.
    """
    n_atoms = int(n_atoms)
    if n_atoms < 1:
        raise ValueError(f"n_atoms must be >= 1, got {n_atoms}")
    if not (density > 0 and math.isfinite(density)):
        raise ValueError(f"density must be positive and finite, got {density!r}")
    return (3.0 * n_atoms / (4.0 * math.pi * density)) ** (1.0 / 3.0) + float(margin)


def random_cluster(
    n_atoms: int, rng: np.random.Generator, density: float = 0.9
) -> np.ndarray:
    """Uniform random points in the sphere that holds ``n_atoms`` at ``density``.

    Parameters
    ----------
    n_atoms : int
        Number of atoms, >= 2.
    rng : numpy.random.Generator
        Random generator.
    density : float
        Number density (atoms per sigma**3).

    Returns
    -------
    ndarray, shape (n_atoms, 3)
        Positions in sigma, centred at the origin.
    """
    n_atoms = int(n_atoms)
    if n_atoms < 2:
        raise ValueError(f"n_atoms must be >= 2, got {n_atoms}")
    radius = container_radius(n_atoms, density, margin=0.0)
    v = rng.normal(size=(n_atoms, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    r = radius * rng.random(n_atoms) ** (1.0 / 3.0)
    return v * r[:, None]
