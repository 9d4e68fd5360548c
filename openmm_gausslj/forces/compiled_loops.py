"""The compiled loops of :mod:`openmm_gausslj.forces.compiled` (numba): explicit pair lists
(excluded pairs, long-range integrands), the smoothed-Coulomb correction over a Verlet list,
and the unwrapping of the positions OpenMM hands over."""

from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np

from ase_gausslj.core.energy import SmoothedLJ
from ase_gausslj.core.kernels import _pair_row
from ase_gausslj.core.pair_terms import apply_cutoff
from ase_gausslj.core.verlet import _extend

__all__ = ["driver", "WIDTHS_KEPT", "min_image", "pair_sum", "pair_energies",
           "correction_rows", "unwrapped", "exclusion_rows"]


@nb.njit(cache=True)
def min_image(pos, ia, ib, box, periodic):
    """``(d, r2)`` of the pairs ``(ia, ib)``: ``d = x_b - x_a``, OpenMM's minimum image
    (reduced triclinic box, rows a, b, c) when ``periodic``."""
    m = ia.size
    d = np.empty((m, 3))
    r2 = np.empty(m)
    for p in range(m):
        for k in range(3):
            d[p, k] = pos[ib[p], k] - pos[ia[p], k]
        if periodic:
            for v in range(2, -1, -1):
                s = np.floor(d[p, v] / box[v, v] + 0.5)
                for k in range(3):
                    d[p, k] -= s * box[v, k]
        r2[p] = d[p, 0] ** 2 + d[p, 1] ** 2 + d[p, 2] ** 2
    return d, r2


@nb.njit(cache=True)
def pair_sum(d, r2, ia, ib, tt, cut, sa, forces):
    """Energy of explicit pairs inside ``cut`` (forces added into ``forces``)."""
    m = ia.size
    e = np.empty(m)
    g = np.empty(m)
    rare = np.empty(m, dtype=np.int64)
    _pair_row(m, r2, tt, e, g, rare, sa)
    etot = 0.0
    for p in range(m):
        if r2[p] >= cut.rc2:
            continue
        ee, gg = apply_cutoff(e[p], g[p], r2[p], tt[p], cut, sa.prm)
        etot += ee
        for k in range(3):
            forces[ia[p], k] += gg * d[p, k]
            forces[ib[p], k] -= gg * d[p, k]
    return etot


@nb.njit(cache=True)
def pair_energies(r2, tt, sa):
    m = r2.size
    e = np.empty(m)
    g = np.empty(m)
    rare = np.empty(m, dtype=np.int64)
    _pair_row(m, r2, tt, e, g, rare, sa)
    return e


@nb.njit(cache=True, fastmath={"contract", "nsz"})
def correction_rows(pos, src, shift, start, nbr, q, xs, xj, c2, two_w, kq, forces):
    """``-kq q_i q_j erfc(r / 2w) / r`` over a Verlet list's pairs within ``sqrt(c2)``,
    skipping the excluded partners ``xj[xs[i]:xs[i + 1]]`` of each atom ``i``."""
    n = pos.shape[0]
    ext = _extend(pos, src, shift, n + src.size)
    fext = np.zeros((n + src.size, 3))
    etot = 0.0
    c_exp = 2.0 / math.sqrt(math.pi) / two_w
    for i in range(n):
        qi = q[i]
        if qi == 0.0:
            continue
        for k in range(start[i], start[i + 1]):
            j = nbr[k]
            a = j if j < n else src[j - n]
            if q[a] == 0.0:
                continue
            dx = ext[j, 0] - ext[i, 0]
            dy = ext[j, 1] - ext[i, 1]
            dz = ext[j, 2] - ext[i, 2]
            r2 = dx * dx + dy * dy + dz * dz
            if r2 >= c2:
                continue
            skip = False
            for m in range(xs[i], xs[i + 1]):
                if xj[m] == a:
                    skip = True
                    break
            if skip:
                continue
            r = math.sqrt(r2)
            u = r / two_w
            pre = -kq * qi * q[a]
            ec = math.erfc(u) / r
            e = pre * ec
            # d/dr [erfc(r / 2w) / r] = -erfc / r^2 - (2 / sqrt(pi)) exp(-u^2) / (2w r)
            g = pre * (-ec - c_exp * math.exp(-u * u)) / r2
            etot += e
            fext[i, 0] += g * dx
            fext[i, 1] += g * dy
            fext[i, 2] += g * dz
            fext[j, 0] -= g * dx
            fext[j, 1] -= g * dy
            fext[j, 2] -= g * dz
    for i in range(n):
        for k in range(3):
            forces[i, k] += fext[i, k]
    for gi in range(src.size):
        for k in range(3):
            forces[src[gi], k] += fext[n + gi, k]
    return etot


@nb.njit(cache=True)
def _unwrap(pos, prev_wrapped, prev, box):
    """``prev`` moved by ``pos - prev_wrapped`` less whole box vectors (OpenMM re-wraps
    the positions it hands over; the Verlet lists must see only the motion)."""
    out = np.empty_like(pos)
    for i in range(pos.shape[0]):
        d0 = pos[i, 0] - prev_wrapped[i, 0]
        d1 = pos[i, 1] - prev_wrapped[i, 1]
        d2 = pos[i, 2] - prev_wrapped[i, 2]
        s = np.floor(d2 / box[2, 2] + 0.5)
        d0 -= s * box[2, 0]
        d1 -= s * box[2, 1]
        d2 -= s * box[2, 2]
        s = np.floor(d1 / box[1, 1] + 0.5)
        d0 -= s * box[1, 0]
        d1 -= s * box[1, 1]
        s = np.floor(d0 / box[0, 0] + 0.5)
        d0 -= s * box[0, 0]
        out[i, 0] = prev[i, 0] + d0
        out[i, 1] = prev[i, 1] + d1
        out[i, 2] = prev[i, 2] + d2
    return out


def unwrapped(pos: np.ndarray, box: np.ndarray, c: dict) -> np.ndarray:
    """Positions continued from the last call's (no jumps of a box vector), so a Verlet
    list is rebuilt for motion, not for OpenMM's wrapping. A new box or particle count
    starts over from the positions as given."""
    key = (pos.shape, box.tobytes())
    last = c.get("unwrap")
    out = pos if last is None or last[0] != key else _unwrap(pos, last[1], last[2], box)
    c["unwrap"] = (key, pos, out)
    return out


def exclusion_rows(pairs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each atom's excluded partners as CSR rows ``(start, partners)`` (both directions)."""
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    order = np.lexsort((b, a))
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=start[1:])
    return start, np.ascontiguousarray(b[order].astype(np.int64))


WIDTHS_KEPT = 4  # widths whose slices a driver keeps (HREX replicas each have their own)


def driver(epsilon, sigma, r_core: float, width_max: float) -> SmoothedLJ:
    """A core driver keeping the slices of its last few widths only: with many classes
    a width's slices take megabytes (8 classes: 17 MB), and an annealed run visits a new
    width at every step."""
    drv = SmoothedLJ(epsilon, sigma, r_core=r_core, width_max=width_max)
    drv._slices = functools.lru_cache(maxsize=WIDTHS_KEPT)(drv._make_slices)
    return drv
