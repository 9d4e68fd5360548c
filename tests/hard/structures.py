"""Reference structures built by geometry alone (independent of the code under test)."""

from __future__ import annotations

import itertools

import numpy as np

NN = 2 ** (1 / 6)  # LJ pair minimum, sigma


def icosahedron13(d: float = NN) -> np.ndarray:
    """Centre + the 12 vertices (0, +-1, +-phi) cyclic, scaled to distance ``d``."""
    phi = (1 + 5 ** 0.5) / 2
    v = []
    for a, b in itertools.product((-1.0, 1.0), repeat=2):
        v += [(0.0, a, b * phi), (a, b * phi, 0.0), (b * phi, 0.0, a)]
    v = np.array(v)
    v *= d / np.linalg.norm(v[0])
    return np.vstack([np.zeros(3), v])


def fcc_block(cells: int = 3, d: float = NN) -> np.ndarray:
    """An fcc cube of ``cells``**3 conventional cells (nearest-neighbour distance ``d``)."""
    a = d * 2 ** 0.5
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    pts = [(np.array(c) + b) * a for c in itertools.product(range(cells), repeat=3)
           for b in basis]
    x = np.array(pts)
    return x - x.mean(axis=0)


def cuboctahedron13(d: float = NN) -> np.ndarray:
    """Centre + its 12 fcc neighbours (the permutations of (+-1, +-1, 0) / sqrt 2)."""
    v = [p for p in itertools.product((-1, 0, 1), repeat=3) if sum(map(abs, p)) == 2]
    return np.vstack([np.zeros(3), np.array(v, float) * d / 2 ** 0.5])
