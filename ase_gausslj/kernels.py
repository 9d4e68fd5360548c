"""Numba pair loops for ``E_s(X) = sum_{i<j} eps_ij F(r_ij / sig_ij, s / sig_ij)``.

Kernels take plain float64/int64 arrays and never validate: :mod:`ase_gausslj.energy`
does. Per pair *type* ``t`` (``t = type_i * n_species + type_j``) the kernels read
``prm[t] = (eps, inv_sig, shift)`` and the type's table slice (stacked along the first
axis: ``coef[t]``, ``ssc[t]``, ``tail_a[t]``, ``tail_b[t]``); the segment layout is
shared by all types. ``exact`` selects the analytic regularized LJ (width 0); ``core = (a, b, r_core, c2, c3)``
(see :class:`ase_gausslj.table.TableSlice`).

Cutoff modes: 0 none, 1 energy shifted by ``prm[t, 2]`` inside the cutoff (ASE's
``smooth=False``), 2 ASE's smooth cutoff function in ``r^2`` between ``ro2`` and ``rc2``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .potential import _reg_lj
from .table import slice_eval

__all__ = [
    "allpairs",
    "allpairs_batch",
    "pair_values",
    "pairlist",
    "plain_lj_allpairs",
    "plain_lj_pairlist",
]


@nb.njit(cache=True, inline="always")
def _pair(r, t, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb):
    inv_sig = prm[t, 1]
    x = r * inv_sig
    if exact:
        f, df = _reg_lj(x, core[2], core[0], core[1])
    else:
        f, df = slice_eval(
            x, coef[t], seg_lo, seg_inv_h, seg_off, seg_n, core, ssc[t], ta[t], tb[t]
        )
    eps = prm[t, 0]
    return eps * f, eps * inv_sig * df


@nb.njit(cache=True, inline="always")
def _apply_cutoff(e, de, r2, t, mode, rc2, ro2, prm):
    if mode == 1:
        e -= prm[t, 2]
    elif mode == 2 and r2 > ro2:
        # ASE LennardJones cutoff_function / d_cutoff_function in r^2
        d3 = (rc2 - ro2) ** 3
        fc = (rc2 - r2) ** 2 * (rc2 + 2.0 * r2 - 3.0 * ro2) / d3
        dfc = 6.0 * (rc2 - r2) * (ro2 - r2) / d3  # d fc / d r2
        r = np.sqrt(r2)
        de = de * fc + e * dfc * 2.0 * r
        e = e * fc
    return e, de


@nb.njit(cache=True)
def allpairs(
    pos, types, nspec, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core,
    ssc, ta, tb, forces, energies, virial, atom_vir, want_atoms, want_virial,
):
    """All pairs i < j; fills ``forces`` (zeroed here) and optional per-atom arrays."""
    n = pos.shape[0]
    forces[:] = 0.0
    if want_atoms:
        energies[:] = 0.0
        atom_vir[:] = 0.0
    if want_virial:
        virial[:] = 0.0
    etot = 0.0
    for i in range(n):
        xi = pos[i, 0]
        yi = pos[i, 1]
        zi = pos[i, 2]
        ti = types[i] * nspec
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        for j in range(i + 1, n):
            dx = pos[j, 0] - xi
            dy = pos[j, 1] - yi
            dz = pos[j, 2] - zi
            r = np.sqrt(dx * dx + dy * dy + dz * dz)
            t = ti + types[j]
            e, de = _pair(
                r, t, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core,
                ssc, ta, tb,
            )
            etot += e
            # force on j is -de * d/r; on i the opposite
            g = de / r if r > 0.0 else 0.0
            fx = g * dx
            fy = g * dy
            fz = g * dz
            fxi += fx
            fyi += fy
            fzi += fz
            forces[j, 0] -= fx
            forces[j, 1] -= fy
            forces[j, 2] -= fz
            if want_atoms:
                energies[i] += 0.5 * e
                energies[j] += 0.5 * e
            if want_virial:
                _add_virial(virial, atom_vir, i, j, g, dx, dy, dz, want_atoms)
        forces[i, 0] += fxi
        forces[i, 1] += fyi
        forces[i, 2] += fzi
    return etot


@nb.njit(cache=True, inline="always")
def _add_virial(virial, atom_vir, i, j, g, dx, dy, dz, want_atoms):
    d = (dx, dy, dz)
    for p in range(3):
        for q in range(3):
            w = g * d[p] * d[q]
            virial[p, q] += w
            if want_atoms:
                atom_vir[i, p, q] += 0.5 * w
                atom_vir[j, p, q] += 0.5 * w


@nb.njit(cache=True, parallel=True)
def allpairs_batch(
    pos, types, nspec, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core,
    ssc, ta, tb, energies, forces,
):
    """All pairs for each replica of ``pos`` (R, N, 3), parallel over replicas."""
    nrep = pos.shape[0]
    n = pos.shape[1]
    for k in nb.prange(nrep):
        etot = 0.0
        p = pos[k]
        f = forces[k]
        f[:] = 0.0
        for i in range(n):
            xi = p[i, 0]
            yi = p[i, 1]
            zi = p[i, 2]
            ti = types[i] * nspec
            fxi = 0.0
            fyi = 0.0
            fzi = 0.0
            for j in range(i + 1, n):
                dx = p[j, 0] - xi
                dy = p[j, 1] - yi
                dz = p[j, 2] - zi
                r = np.sqrt(dx * dx + dy * dy + dz * dz)
                e, de = _pair(
                    r, ti + types[j], exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n,
                    core, ssc, ta, tb,
                )
                etot += e
                g = de / r if r > 0.0 else 0.0
                fx = g * dx
                fy = g * dy
                fz = g * dz
                fxi += fx
                fyi += fy
                fzi += fz
                f[j, 0] -= fx
                f[j, 1] -= fy
                f[j, 2] -= fz
            f[i, 0] += fxi
            f[i, 1] += fyi
            f[i, 2] += fzi
        energies[k] = etot


@nb.njit(cache=True)
def pairlist(
    pos, pi, pj, shifts, rc2, mode, ro2, types, nspec, exact, prm, coef, seg_lo, seg_inv_h,
    seg_off, seg_n, core, ssc, ta, tb, forces, energies, virial, atom_vir,
    want_atoms, want_virial,
):
    """Pairs ``(pi[k], pj[k])`` with ``d = x_j + shifts[k] - x_i``; pairs beyond
    ``sqrt(rc2)`` are skipped (the list may carry a skin)."""
    forces[:] = 0.0
    if want_atoms:
        energies[:] = 0.0
        atom_vir[:] = 0.0
    if want_virial:
        virial[:] = 0.0
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
        r = np.sqrt(r2)
        t = types[i] * nspec + types[j]
        e, de = _pair(
            r, t, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc,
            ta, tb,
        )
        e, de = _apply_cutoff(e, de, r2, t, mode, rc2, ro2, prm)
        etot += e
        g = de / r if r > 0.0 else 0.0
        fx = g * dx
        fy = g * dy
        fz = g * dz
        forces[i, 0] += fx
        forces[i, 1] += fy
        forces[i, 2] += fz
        forces[j, 0] -= fx
        forces[j, 1] -= fy
        forces[j, 2] -= fz
        if want_atoms:
            energies[i] += 0.5 * e
            energies[j] += 0.5 * e
        if want_virial:
            _add_virial(virial, atom_vir, i, j, g, dx, dy, dz, want_atoms)
    return etot


# --- plain LJ anchors for benchmarks (no table, no regularization) -------------------


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
def pair_values(
    r, t, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb,
):
    """Pair energies and dV/dr of type ``t`` at distances ``r`` (no cutoff)."""
    e = np.empty(r.size)
    de = np.empty(r.size)
    for k in range(r.size):
        e[k], de[k] = _pair(
            r[k], t, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core,
            ssc, ta, tb,
        )
    return e, de
