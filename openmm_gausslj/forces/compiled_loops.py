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
from ase_gausslj.core.validation import check_width
from ase_gausslj.core.verlet import _extend

from ..contacts import minimum_image

__all__ = ["driver", "WIDTHS_KEPT", "pair_sum", "pair_energies", "correction_rows",
           "step_width", "triclinic", "unwrapped", "exclusion_rows"]

_OFF_DIAGONAL = ~np.eye(3, dtype=bool)


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


def step_width(state, parameter: str, limit: float, limit_name: str) -> float:
    """The width (nm) of an OpenMM ``State``, through the package's one width check (a
    relative 1e-12 beyond ``limit`` is rounding of the device's arithmetic)."""
    return check_width(state.getParameters()[parameter], parameter,
                       maximum=limit * (1.0 + 1e-12), limit_name=limit_name)


def triclinic(box: np.ndarray) -> bool:
    """Whether a (3, 3) box has a non-zero off-diagonal entry."""
    return bool(np.any(box[_OFF_DIAGONAL] != 0.0))


def unwrapped(pos: np.ndarray, box: np.ndarray, c: dict) -> np.ndarray:
    """Positions continued from the last call's (no jumps of a box vector), so a Verlet
    list is rebuilt for motion, not for OpenMM's wrapping. A new box or particle count
    starts over from the positions as given."""
    key = (pos.shape, box.tobytes())
    last = c.get("unwrap")
    # the step from the last positions, less whole box vectors (OpenMM re-wraps them)
    out = pos if last is None or last[0] != key else last[2] + minimum_image(pos - last[1], box)
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
