"""Cell-list half neighbor list for orthorhombic and triclinic cells (linear in N).

Atoms are binned in fractional coordinates. Along lattice direction ``k`` a displacement
shorter than ``rc`` changes the fractional coordinate by at most ``rc |b_k|`` (``b_k`` the
reciprocal vector, ``1/|b_k|`` the spacing of lattice planes), so bins at least that wide
need only ``m_k`` neighbor bins on each side. Periodic directions wrap bins and record the
lattice shift; each unordered pair ``{i, j + S}`` appears once (``j > i``, or ``j == i``
with ``S`` lexicographically positive for self-images in small cells).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["neighbor_pairs"]


@nb.njit(cache=True, inline="always")
def _positive(s0, s1, s2):
    if s0 != 0:
        return s0 > 0
    if s1 != 0:
        return s1 > 0
    return s2 > 0


@nb.njit(cache=True)
def _build(frac, cell, periodic, rc, bmag):
    n = frac.shape[0]
    nb_ = np.ones(3, dtype=np.int64)
    lo = np.zeros(3)
    width = np.ones(3)
    m = np.ones(3, dtype=np.int64)
    wrap = np.zeros((n, 3), dtype=np.int64)
    f = frac.copy()
    for k in range(3):
        if periodic[k]:
            for i in range(n):
                w = math.floor(f[i, k])
                wrap[i, k] = w
                f[i, k] -= w
                if f[i, k] >= 1.0:  # rounding
                    f[i, k] -= 1.0
                    wrap[i, k] += 1
            nb_[k] = max(1, int(math.floor(1.0 / (rc * bmag[k]))))
            lo[k] = 0.0
            width[k] = 1.0 / nb_[k]
            m[k] = max(1, int(math.ceil(rc * bmag[k] * nb_[k] - 1e-12)))
        else:
            fmin = f[:, k].min()
            fmax = f[:, k].max()
            span = fmax - fmin
            nb_[k] = max(1, int(math.floor(span / (rc * bmag[k]))))
            nb_[k] = min(nb_[k], 1 << 10)
            lo[k] = fmin
            width[k] = max(span / nb_[k], 1e-300)
            m[k] = 1 if span / nb_[k] >= rc * bmag[k] else int(math.ceil(rc * bmag[k] / width[k]))
    bins = np.empty((n, 3), dtype=np.int64)
    flat = np.empty(n, dtype=np.int64)
    for i in range(n):
        for k in range(3):
            b = int((f[i, k] - lo[k]) / width[k])
            if b >= nb_[k]:
                b = nb_[k] - 1
            if b < 0:
                b = 0
            bins[i, k] = b
        flat[i] = (bins[i, 0] * nb_[1] + bins[i, 1]) * nb_[2] + bins[i, 2]
    nbins = nb_[0] * nb_[1] * nb_[2]
    start = np.zeros(nbins + 1, dtype=np.int64)
    for i in range(n):
        start[flat[i] + 1] += 1
    for c in range(nbins):
        start[c + 1] += start[c]
    order = np.empty(n, dtype=np.int64)
    fill = start[:-1].copy()
    for i in range(n):
        order[fill[flat[i]]] = i
        fill[flat[i]] += 1
    # wrapped cartesian positions
    pos = np.empty((n, 3))
    for i in range(n):
        for k in range(3):
            pos[i, k] = f[i, 0] * cell[0, k] + f[i, 1] * cell[1, k] + f[i, 2] * cell[2, k]
    cap = max(16, n * 64)
    pi = np.empty(cap, dtype=np.int64)
    pj = np.empty(cap, dtype=np.int64)
    sh = np.empty((cap, 3), dtype=np.int64)
    npair = 0
    rc2 = rc * rc
    for i in range(n):
        for o0 in range(-m[0], m[0] + 1):
            c0 = bins[i, 0] + o0
            s0 = 0
            if periodic[0]:
                s0 = c0 // nb_[0]
                c0 -= s0 * nb_[0]
            elif c0 < 0 or c0 >= nb_[0]:
                continue
            for o1 in range(-m[1], m[1] + 1):
                c1 = bins[i, 1] + o1
                s1 = 0
                if periodic[1]:
                    s1 = c1 // nb_[1]
                    c1 -= s1 * nb_[1]
                elif c1 < 0 or c1 >= nb_[1]:
                    continue
                for o2 in range(-m[2], m[2] + 1):
                    c2 = bins[i, 2] + o2
                    s2 = 0
                    if periodic[2]:
                        s2 = c2 // nb_[2]
                        c2 -= s2 * nb_[2]
                    elif c2 < 0 or c2 >= nb_[2]:
                        continue
                    sx = s0 * cell[0, 0] + s1 * cell[1, 0] + s2 * cell[2, 0]
                    sy = s0 * cell[0, 1] + s1 * cell[1, 1] + s2 * cell[2, 1]
                    sz = s0 * cell[0, 2] + s1 * cell[1, 2] + s2 * cell[2, 2]
                    c = (c0 * nb_[1] + c1) * nb_[2] + c2
                    for q in range(start[c], start[c + 1]):
                        j = order[q]
                        if j < i:
                            continue
                        if j == i and not _positive(s0, s1, s2):
                            continue
                        dx = pos[j, 0] + sx - pos[i, 0]
                        dy = pos[j, 1] + sy - pos[i, 1]
                        dz = pos[j, 2] + sz - pos[i, 2]
                        if dx * dx + dy * dy + dz * dz >= rc2:
                            continue
                        if npair == cap:
                            cap *= 2
                            pi2 = np.empty(cap, dtype=np.int64)
                            pj2 = np.empty(cap, dtype=np.int64)
                            sh2 = np.empty((cap, 3), dtype=np.int64)
                            pi2[:npair] = pi[:npair]
                            pj2[:npair] = pj[:npair]
                            sh2[:npair] = sh[:npair]
                            pi, pj, sh = pi2, pj2, sh2
                        pi[npair] = i
                        pj[npair] = j
                        # lattice shift for the original (unwrapped) positions
                        sh[npair, 0] = s0 + wrap[i, 0] - wrap[j, 0]
                        sh[npair, 1] = s1 + wrap[i, 1] - wrap[j, 1]
                        sh[npair, 2] = s2 + wrap[i, 2] - wrap[j, 2]
                        npair += 1
    return pi[:npair].copy(), pj[:npair].copy(), sh[:npair].copy()


def _effective_cell(positions, cell, pbc, rc):
    """A full-rank cell: non-periodic directions with a zero/degenerate vector get an
    orthogonal vector spanning the atoms' extent (they are never wrapped)."""
    cell = np.array(cell, dtype=np.float64).reshape(3, 3)
    pbc = np.asarray(pbc, dtype=bool).reshape(3)
    span = np.ptp(positions, axis=0) + 2.0 * rc + 1.0
    for k in range(3):
        if not pbc[k] and np.linalg.norm(cell[k]) < 1e-12:
            cell[k] = 0.0
            cell[k, k] = span[k]
    if abs(np.linalg.det(cell)) < 1e-12:
        if np.all(~pbc):
            return np.diag(span)
        raise ValueError("cell is singular; periodic directions need non-zero lattice vectors")
    return cell


def neighbor_pairs(positions, cutoff: float, cell=None, pbc=None):
    """Half neighbor list within ``cutoff``.

    Returns ``(i, j, shifts)`` with ``shifts`` (P, 3) cartesian vectors such that the pair
    vector is ``positions[j] + shifts - positions[i]``; each unordered pair (and each
    periodic image of it) appears once.
    """
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    if pbc is None:
        pbc = np.zeros(3, dtype=bool)
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).copy()
    if cell is None:
        cell = np.zeros((3, 3))
    if len(positions) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), np.zeros((0, 3))
    c = _effective_cell(positions, cell, pbc, cutoff)
    inv = np.linalg.inv(c)
    frac = positions @ inv
    bmag = np.linalg.norm(inv, axis=0)  # |b_k|: reciprocal vectors are inv's columns
    pi, pj, sh = _build(frac, c, pbc, float(cutoff), bmag)
    return pi, pj, sh.astype(np.float64) @ c
