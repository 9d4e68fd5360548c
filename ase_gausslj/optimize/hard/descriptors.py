"""Structural motif descriptors of LJ clusters: CNA signatures and Steinhardt Q4/Q6.

* :func:`cna_signatures`: the common-neighbour analysis (Honeycutt & Andersen 1987) of
  every bonded pair, ``(j, k, l)``: ``j`` common neighbours, ``k`` bonds among them,
  ``l`` bonds in their largest connected group. ``555`` marks a five-fold axis (every
  radial bond of an icosahedron, the axis of a decahedron), ``421`` fcc and ``422`` hcp
  (twin planes, the faces of a decahedron's wedges);
* :func:`local_q` / :func:`global_q`: Steinhardt bond-orientational order
  (``q6 = 0.5745``, ``q4 = 0.1909`` for an fcc shell; ``0.6633``, ``0`` for an icosahedron);
* :func:`descriptor`, :func:`motif`: the vector a population keeps diverse and the motif
  label it reports (``'icosahedral'``, ``'decahedral'``, ``'close-packed'``, ``'other'``).

Lengths are in sigma; the default bond cutoff 1.35 sigma lies between the first (1.12)
and second (1.59) neighbour shells of a relaxed LJ cluster.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.special import eval_legendre, sph_harm_y

__all__ = ["BOND_CUTOFF", "bonds", "coordination", "cna_signatures", "cna_fractions",
           "local_q", "global_q", "descriptor", "motif", "MOTIFS"]

BOND_CUTOFF = 1.35
"""Bond length cutoff in sigma (between the first and second neighbour shells)."""

MOTIFS = ("icosahedral", "decahedral", "close-packed", "other")
"""Labels returned by :func:`motif`."""


def _positions(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and x.size % 3 == 0:
        x = x.reshape(-1, 3)
    if x.ndim != 2 or x.shape[1] != 3 or not np.all(np.isfinite(x)):
        raise ValueError(f"x: expected finite positions of shape (N, 3), got {x.shape}")
    return x


def bonds(x: np.ndarray, cutoff: float = BOND_CUTOFF) -> np.ndarray:
    """Bonded pairs ``(i, j)``, ``i < j``, closer than ``cutoff``; shape ``(n_bonds, 2)``."""
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff!r}")
    pairs = cKDTree(_positions(x)).query_pairs(float(cutoff), output_type="ndarray")
    return pairs.reshape(-1, 2)


def coordination(x: np.ndarray, cutoff: float = BOND_CUTOFF) -> np.ndarray:
    """Number of neighbours of every atom within ``cutoff``."""
    x = _positions(x)
    b = bonds(x, cutoff)
    return np.bincount(b.ravel(), minlength=len(x))


def _adjacency(n: int, b: np.ndarray) -> list[set[int]]:
    adj: list[set[int]] = [set() for _ in range(n)]
    for i, j in b:
        adj[i].add(int(j))
        adj[j].add(int(i))
    return adj


def _signature(common: list[int], adj: list[set[int]]) -> tuple[int, int, int]:
    """``(j, k, l)`` of one pair from its common neighbours."""
    idx = {a: t for t, a in enumerate(common)}
    rows, cols = [], []
    for a in common:
        for c in adj[a]:
            if c in idx and a < c:
                rows.append(idx[a])
                cols.append(idx[c])
    k = len(rows)
    if k == 0:
        return len(common), 0, 0
    m = len(common)
    graph = csr_matrix((np.ones(k), (rows, cols)), shape=(m, m))
    _, labels = connected_components(graph, directed=False)
    per_group = np.bincount(labels[np.asarray(rows)], minlength=m)
    return len(common), k, int(per_group.max())


def cna_signatures(x: np.ndarray, cutoff: float = BOND_CUTOFF) -> Counter:
    """Counts of CNA signatures ``'jkl'`` (e.g. ``'555'``, ``'421'``) over bonded pairs."""
    x = _positions(x)
    b = bonds(x, cutoff)
    adj = _adjacency(len(x), b)
    out: Counter = Counter()
    for i, j in b:
        j_, k, l_ = _signature(sorted(adj[i] & adj[j]), adj)
        out[f"{j_}{k}{l_}"] += 1
    return out


def cna_fractions(x: np.ndarray, cutoff: float = BOND_CUTOFF) -> dict[str, float]:
    """Fractions of bonded pairs with signatures 555, 421, 422 (and the rest, 'other').

    Vectorized over bonds (adjacency-matrix products), for use inside a search:
    ``555`` is five common neighbours in a five-ring (2-regular on five nodes), ``421``
    four with two disjoint bonds, ``422`` four with two bonds sharing an atom.
    """
    x = _positions(x)
    b = bonds(x, cutoff)
    if len(b) == 0:
        return {"555": 0.0, "421": 0.0, "422": 0.0, "other": 1.0}
    a = np.zeros((len(x), len(x)))
    a[b[:, 0], b[:, 1]] = a[b[:, 1], b[:, 0]] = 1.0
    common = a[b[:, 0]] * a[b[:, 1]]          # (bonds, N): the common neighbours
    deg = (common @ a) * common               # bonds of each common neighbour among them
    j = common.sum(axis=1)
    k = deg.sum(axis=1) / 2
    dmax = deg.max(axis=1)
    total = len(b)
    out = {"555": float(np.sum((j == 5) & (k == 5) & (dmax == 2) & (deg.min(axis=1,
                 initial=2, where=common > 0) == 2))) / total,
           "421": float(np.sum((j == 4) & (k == 2) & (dmax == 1))) / total,
           "422": float(np.sum((j == 4) & (k == 2) & (dmax == 2))) / total}
    out["other"] = 1.0 - sum(out.values())
    return out


def _q_from_units(u: np.ndarray, ell: int) -> float:
    """``Q_l`` of unit bond vectors by the addition theorem: no spherical harmonics."""
    if len(u) == 0:
        return 0.0
    p = eval_legendre(ell, np.clip(u @ u.T, -1.0, 1.0))
    return float(np.sqrt(max(p.mean(), 0.0)))


def local_q(x: np.ndarray, ell: int, cutoff: float = BOND_CUTOFF) -> np.ndarray:
    """Steinhardt ``q_l`` of every atom over its bonds (0 for an isolated atom).

    ``q_l(i)^2 = 4 pi / (2l + 1) sum_m |<Y_lm>_i|^2 = <P_l(u_a . u_b)>_{a, b}``, the mean
    over pairs of bonds of atom ``i`` (spherical-harmonic addition theorem).
    """
    x = _positions(x)
    adj = _adjacency(len(x), bonds(x, cutoff))
    out = np.zeros(len(x))
    for i, nb in enumerate(adj):
        if nb:
            d = x[sorted(nb)] - x[i]
            out[i] = _q_from_units(d / np.linalg.norm(d, axis=1)[:, None], int(ell))
    return out


def global_q(x: np.ndarray, ell: int, cutoff: float = BOND_CUTOFF) -> float:
    """Cluster-wide Steinhardt ``Q_l`` over every bond (both directions).

    ``Q_l^2 = 4 pi / (2l + 1) sum_m |<Y_lm(u_b)>_b|^2`` by spherical harmonics (linear in
    the number of bonds; :func:`local_q` uses the pair form of the same sum).
    """
    x = _positions(x)
    b = bonds(x, cutoff)
    if len(b) == 0:
        return 0.0
    d = x[b[:, 1]] - x[b[:, 0]]
    d = np.vstack([d, -d])
    r = np.linalg.norm(d, axis=1)
    theta = np.arccos(np.clip(d[:, 2] / r, -1.0, 1.0))
    phi = np.arctan2(d[:, 1], d[:, 0])
    ell = int(ell)
    total = sum(abs(sph_harm_y(ell, m, theta, phi).mean()) ** 2 for m in range(-ell, ell + 1))
    return float(np.sqrt(4.0 * np.pi / (2 * ell + 1) * total))


def descriptor(x: np.ndarray, cutoff: float = BOND_CUTOFF) -> np.ndarray:
    """``[f555, f421, f422, Q4, Q6]``: CNA fractions and global bond order."""
    f = cna_fractions(x, cutoff)
    return np.array([f["555"], f["421"], f["422"], global_q(x, 4, cutoff),
                     global_q(x, 6, cutoff)])


def motif(x: np.ndarray, cutoff: float = BOND_CUTOFF, ico_fraction: float = 0.1) -> str:
    """Motif label from the CNA signatures.

    ``'icosahedral'`` when at least ``ico_fraction`` of the bonds are 555 (every radial
    bond of a Mackay/anti-Mackay cluster); ``'decahedral'`` for a few 555 bonds (one
    five-fold axis) in a close-packed (421/422) body; ``'close-packed'`` for fcc/hcp
    without five-fold axes; ``'other'`` when neither dominates (disordered).
    """
    f = cna_fractions(x, cutoff)
    packed = f["421"] + f["422"]
    if f["555"] >= ico_fraction:
        return "icosahedral"
    if f["555"] > 0 and packed >= 0.3:
        return "decahedral"
    if f["555"] == 0 and packed >= 0.3:
        return "close-packed"
    return "other"
