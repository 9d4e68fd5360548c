"""Bare Lennard-Jones loops (no table, no regularization): the benchmarks' speed anchors.

Re-exported by :mod:`.kernels` (``kernels.plain_lj_allpairs`` / ``plain_lj_pairlist``).
"""

from __future__ import annotations

import numba as nb

__all__ = ["plain_lj_allpairs", "plain_lj_csr", "plain_lj_pairlist"]


@nb.njit(cache=True)
def plain_lj_allpairs(pos, forces):
    """Bare 4(r^-12 - r^-6) over all pairs (reduced units): the speed anchor."""
    n = pos.shape[0]
    forces[:] = 0.0
    etot = 0.0
    for i in range(n):
        xi = pos[i, 0]
        yi = pos[i, 1]
        zi = pos[i, 2]
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        for j in range(i + 1, n):
            dx = pos[j, 0] - xi
            dy = pos[j, 1] - yi
            dz = pos[j, 2] - zi
            i2 = 1.0 / (dx * dx + dy * dy + dz * dz)
            i6 = i2 * i2 * i2
            etot += 4.0 * i6 * (i6 - 1.0)
            g = -(48.0 * i6 * i6 - 24.0 * i6) * i2
            fx = g * dx
            fy = g * dy
            fz = g * dz
            fxi += fx
            fyi += fy
            fzi += fz
            forces[j, 0] -= fx
            forces[j, 1] -= fy
            forces[j, 2] -= fz
        forces[i, 0] += fxi
        forces[i, 1] += fyi
        forces[i, 2] += fzi
    return etot


@nb.njit(cache=True)
def plain_lj_pairlist(pos, pi, pj, shifts, rc2, forces):
    """Bare LJ over a pair list with a cutoff (reduced units): the speed anchor."""
    forces[:] = 0.0
    etot = 0.0
    for k in range(pi.size):
        i = pi[k]
        j = pj[k]
        dx = pos[j, 0] + shifts[k, 0] - pos[i, 0]
        dy = pos[j, 1] + shifts[k, 1] - pos[i, 1]
        dz = pos[j, 2] + shifts[k, 2] - pos[i, 2]
        r2 = dx * dx + dy * dy + dz * dz
        if r2 >= rc2:
            continue
        i2 = 1.0 / r2
        i6 = i2 * i2 * i2
        etot += 4.0 * i6 * (i6 - 1.0)
        g = -(48.0 * i6 * i6 - 24.0 * i6) * i2
        forces[i, 0] += g * dx
        forces[i, 1] += g * dy
        forces[i, 2] += g * dz
        forces[j, 0] -= g * dx
        forces[j, 1] -= g * dy
        forces[j, 2] -= g * dz
    return etot




@nb.njit(cache=True)
def plain_lj_csr(ext, start, nbr, rc2, forces):
    """Bare LJ over a CSR half list on extended positions (atoms then ghost images, see
    :mod:`.verlet`), forces on the first ``len(start) - 1`` rows and the ghosts: the
    anchor of the Verlet-list loops, with the same storage and cutoff test."""
    forces[:] = 0.0
    etot = 0.0
    for i in range(start.size - 1):
        xi = ext[i, 0]
        yi = ext[i, 1]
        zi = ext[i, 2]
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        for k in range(start[i], start[i + 1]):
            j = nbr[k]
            dx = ext[j, 0] - xi
            dy = ext[j, 1] - yi
            dz = ext[j, 2] - zi
            r2 = dx * dx + dy * dy + dz * dz
            if r2 >= rc2:
                continue
            i2 = 1.0 / r2
            i6 = i2 * i2 * i2
            etot += 4.0 * i6 * (i6 - 1.0)
            g = -(48.0 * i6 * i6 - 24.0 * i6) * i2
            fxi += g * dx
            fyi += g * dy
            fzi += g * dz
            forces[j, 0] -= g * dx
            forces[j, 1] -= g * dy
            forces[j, 2] -= g * dz
        forces[i, 0] += fxi
        forces[i, 1] += fyi
        forces[i, 2] += fzi
    return etot
