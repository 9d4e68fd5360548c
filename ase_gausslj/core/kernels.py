"""Numba pair loops for ``E_s(X) = sum_{i<j} eps_ij F(r_ij / sig_ij, s / sig_ij)``.

Kernels take plain float64/int64 arrays and never validate: :mod:`ase_gausslj.core.energy`
does. Per pair *type* ``t`` (``t = type_i * n_species + type_j``) the kernels read
``prm[t] = (eps, inv_sig, shift)`` and the type's table slice, stacked along the first
axis (``coef[t]``, ``ssc[t]``, ``ta[t]``, ``tb[t]``; see
:class:`ase_gausslj.core.table.TableSlice`); the segment layout and ``core`` are shared by all
types. ``exact`` selects the analytic regularized LJ (width 0).

Pairs are evaluated a row at a time (all ``j > i`` of one ``i``, or a chunk of a pair
list) by :func:`_pair_row`: numba reference-counts array arguments at every call, so a
per-pair helper taking the table arrays would cost more than the lookup itself. For the
same reason ``_pair_row``, ``_allpairs_core`` and ``pairlist`` stay long (~60-80 lines):
splitting them into smaller jitted functions costs speed. The rare-pair closed forms
(smoothed cone, kink, heat-kernel tail) come from :mod:`.closed_forms`, inlined.

Cutoff modes: 0 none, 1 energy shifted by ``prm[t, 2]`` inside the cutoff (ASE's
``smooth=False``), 2 ASE's smooth cutoff function in ``r^2`` between ``ro2`` and ``rc2``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .closed_forms import cone_eval, heat_tail_eval, kink_eval
from .plain_lj import plain_lj_allpairs, plain_lj_csr, plain_lj_pairlist

__all__ = [
    "allpairs",
    "allpairs_batch",
    "pair_values",
    "pairlist",
    "plain_lj_allpairs",
    "plain_lj_csr",
    "plain_lj_pairlist",
]

_CHUNK = 1024
_BLOCK = 256
#: r segments of a table slice; the r^2 segments follow (:class:`.table.TableSlice`)
N_RSEG = 5


@nb.njit(cache=True)
def _pair_row(
    n, r2, tt, e, g, rare, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc,
    ta, tb,
):
    """``e[:n] = eps F(r / sig)`` and ``g[:n] = (dV/dr) / r`` from squared distances.

    ``g`` is what a force needs (``F_i = g d``), and taking ``r^2`` in lets both paths run
    without a square root or a second division, like a plain LJ loop: the width-0 path
    is the analytic LJ, the table path looks common pairs up in the slice's segments
    uniform in ``r^2`` (segment by comparisons, interval by one multiply, cubic Hermite
    coefficients in ``r^2``, so ``g = 2 dV/d(r^2)``). Rare pairs (segment 0, which adds
    the smoothed affine core ``a + b M``; segment 1, which adds the smoothed kink at
    ``r_core``; beyond ``r_max``, the heat-kernel series) are queued in ``rare`` and done
    in a second loop: their code in the main loop slows every pair down, even untaken.
    """
    if exact:
        rc2 = core[2] * core[2]
        for p in range(n):
            t = tt[p]
            eps = prm[t, 0]
            inv = prm[t, 1]
            x2 = r2[p] * inv * inv
            if x2 > rc2:
                i2 = 1.0 / x2
                i6 = i2 * i2 * i2
                e[p] = eps * 4.0 * i6 * (i6 - 1.0)
                g[p] = -eps * inv * inv * (48.0 * i6 - 24.0) * i6 * i2
            else:
                rr = np.sqrt(r2[p])
                e[p] = eps * (core[0] + core[1] * rr * inv)
                g[p] = eps * inv * core[1] / rr if rr > 0.0 else 0.0
        return
    # common pairs: the cubic in x^2 = (r / sig)^2 of segment N_RSEG + k (k = 0..2)
    s_lo = seg_lo[N_RSEG + 1]
    s_1 = seg_lo[N_RSEG + 2]
    s_2 = seg_lo[N_RSEG + 3]
    s_hi = seg_lo[N_RSEG + 4]
    nrare = 0
    for p in range(n):
        t = tt[p]
        inv = prm[t, 1]
        x2 = r2[p] * inv * inv
        if x2 < s_lo or x2 >= s_hi:
            rare[nrare] = p
            nrare += 1
            continue
        # branch-free segment choice: a data-dependent branch mispredicts
        k = N_RSEG + (x2 >= s_1) + (x2 >= s_2)
        row, f = _locate(x2, seg_lo[k + 1], seg_inv_h[k], seg_n[k], seg_off[k])
        vv, dd = _cubic(coef[t, row, 0], coef[t, row, 1], coef[t, row, 2], coef[t, row, 3],
                        f, seg_inv_h[k])
        e[p] = prm[t, 0] * vv
        # g = (dV/dr) / r = 2 dV/d(r^2)
        g[p] = 2.0 * prm[t, 0] * inv * inv * dd
    for q in range(nrare):
        p = rare[q]
        t = tt[p]
        inv = prm[t, 1]
        rr = np.sqrt(r2[p])
        xp = rr * inv
        # classified by x^2 as above, so a rounding of the square root cannot misfile it
        if r2[p] * inv * inv >= s_hi:
            vv, dd = heat_tail_eval(xp, ta, tb, t)
        else:
            k = 0 if xp < seg_lo[1] else 1
            row, f = _locate(xp, seg_lo[k], seg_inv_h[k], seg_n[k], seg_off[k])
            vv, dd = _cubic(coef[t, row, 0], coef[t, row, 1], coef[t, row, 2],
                            coef[t, row, 3], f, seg_inv_h[k])
            if k == 0:
                m, dm = cone_eval(xp, ssc[t, 0])
                vv += core[0] + core[1] * m
                dd += core[1] * dm
            else:
                kk, dk = kink_eval(xp, ssc[t, 0], core[2], ssc[t, 1], ssc[t, 2])
                vv += kk
                dd += dk
        e[p] = prm[t, 0] * vv
        # dV/dr is 0 at r = 0 for any width > 0 (V_s is even in r)
        g[p] = prm[t, 0] * inv * dd / rr if rr > 0.0 else 0.0


# Scalar-argument helpers inline for free; a helper taking the table arrays would be
# reference-counted at every call (more than the lookup itself costs).
@nb.njit(cache=True, inline="always")
def _locate(xp, lo, inv_h, n, off):
    """Row of the interval holding ``xp`` in a segment and the local coordinate."""
    u = (xp - lo) * inv_h
    i = int(u)
    if i >= n:
        i = n - 1
    return off + i, u - i


@nb.njit(cache=True, inline="always")
def _cubic(c0, c1, c2, c3, f, inv_h):
    """Value and r-derivative of ``c0 + f (c1 + f (c2 + f c3))``."""
    return c0 + f * (c1 + f * (c2 + f * c3)), (c1 + f * (2.0 * c2 + 3.0 * f * c3)) * inv_h


@nb.njit(cache=True, inline="always")
def _apply_cutoff(e, g, r2, t, mode, rc2, ro2, prm):
    """Cutoff treatment of one pair's ``(e, g = V'/r)``."""
    if mode == 1:
        e -= prm[t, 2]
    elif mode == 2 and r2 > ro2:
        # ASE LennardJones cutoff_function / d_cutoff_function, both in r^2:
        # d(V fc)/dr / r = g fc + 2 V dfc/d(r^2)
        d3 = (rc2 - ro2) ** 3
        fc = (rc2 - r2) ** 2 * (rc2 + 2.0 * r2 - 3.0 * ro2) / d3
        dfc = 6.0 * (rc2 - r2) * (ro2 - r2) / d3
        g = g * fc + 2.0 * e * dfc
        e = e * fc
    return e, g


@nb.njit(cache=True)
def _scratch(n):
    return (
        np.empty((n, 3)),
        np.empty(n),
        np.empty(n, dtype=np.int64),
        np.empty(n),
        np.empty(n),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
    )


@nb.njit(cache=True)
def _allpairs_core(
    pos, types, nspec, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb,
    forces, energies, virial, atom_vir, want_atoms, want_virial,
):
    n = pos.shape[0]
    # rows i (pairs j > i) are gathered into blocks of up to _BLOCK pairs: small clusters
    # then pay the per-call cost of _pair_row (reference counts of its array arguments)
    # a few times, not once per row, while the buffers stay in L1 for large ones
    cap = max(n, _BLOCK)
    d, q2, tt, e, g, _, rare = _scratch(cap)
    row_i = np.empty(n + 1, dtype=np.int64)
    row_start = np.empty(n + 1, dtype=np.int64)
    forces[:] = 0.0
    if want_atoms:
        energies[:] = 0.0
        atom_vir[:] = 0.0
    if want_virial:
        virial[:] = 0.0
    etot = 0.0
    i = 0
    while i < n:
        m = 0
        nrow = 0
        while i < n and m + (n - i - 1) <= cap:
            row_i[nrow] = i
            row_start[nrow] = m
            nrow += 1
            ti = types[i] * nspec
            xi = pos[i, 0]
            yi = pos[i, 1]
            zi = pos[i, 2]
            base = m - i - 1
            for j in range(i + 1, n):
                dx = pos[j, 0] - xi
                dy = pos[j, 1] - yi
                dz = pos[j, 2] - zi
                d[base + j, 0] = dx
                d[base + j, 1] = dy
                d[base + j, 2] = dz
                q2[base + j] = dx * dx + dy * dy + dz * dz
                tt[base + j] = ti + types[j]
            m += n - i - 1
            i += 1
        row_start[nrow] = m
        _pair_row(m, q2, tt, e, g, rare, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n,
                  core, ssc, ta, tb)
        for k in range(nrow):
            a = row_i[k]
            s0 = row_start[k]
            fxa = 0.0
            fya = 0.0
            fza = 0.0
            for q in range(s0, s0 + n - a - 1):
                j = a + 1 + q - s0
                etot += e[q]
                fx = g[q] * d[q, 0]
                fy = g[q] * d[q, 1]
                fz = g[q] * d[q, 2]
                fxa += fx
                fya += fy
                fza += fz
                forces[j, 0] -= fx
                forces[j, 1] -= fy
                forces[j, 2] -= fz
                if want_atoms:
                    energies[a] += 0.5 * e[q]
                    energies[j] += 0.5 * e[q]
                if want_virial:
                    _add_virial(virial, atom_vir, a, j, g[q], d[q, 0], d[q, 1], d[q, 2],
                                want_atoms)
            forces[a, 0] += fxa
            forces[a, 1] += fya
            forces[a, 2] += fza
    return etot


@nb.njit(cache=True)
def _add_virial(virial, atom_vir, i, j, g, dx, dy, dz, want_atoms):
    d = (dx, dy, dz)
    for p in range(3):
        for q in range(3):
            w = g * d[p] * d[q]
            virial[p, q] += w
            if want_atoms:
                atom_vir[i, p, q] += 0.5 * w
                atom_vir[j, p, q] += 0.5 * w


@nb.njit(cache=True)
def allpairs(
    pos, types, nspec, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb,
    forces, energies, virial, atom_vir, want_atoms, want_virial,
):
    """All pairs i < j; fills ``forces`` and the optional per-atom arrays; returns E."""
    return _allpairs_core(
        pos, types, nspec, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc,
        ta, tb, forces, energies, virial, atom_vir, want_atoms, want_virial,
    )


@nb.njit(cache=True, parallel=True)
def allpairs_batch(
    pos, types, nspec, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb,
    energies, forces,
):
    """All pairs for each replica of ``pos`` (R, N, 3), parallel over replicas."""
    dummy_e = np.zeros(0)
    dummy_v = np.zeros((3, 3))
    dummy_av = np.zeros((0, 3, 3))
    for k in nb.prange(pos.shape[0]):
        energies[k] = _allpairs_core(
            pos[k], types, nspec, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core,
            ssc, ta, tb, forces[k], dummy_e, dummy_v, dummy_av, False, False,
        )


@nb.njit(cache=True)
def pairlist(
    pos, pi, pj, shifts, rc2, mode, ro2, types, nspec, exact, prm, coef, seg_lo, seg_inv_h,
    seg_off, seg_n, core, ssc, ta, tb, forces, energies, virial, atom_vir,
    want_atoms, want_virial,
):
    """Pairs ``(pi[k], pj[k])`` with ``d = x_j + shifts[k] - x_i``; pairs beyond
    ``sqrt(rc2)`` are skipped (the list may carry a skin)."""
    d, q2, tt, e, gg, kk, rare = _scratch(_CHUNK)
    forces[:] = 0.0
    if want_atoms:
        energies[:] = 0.0
        atom_vir[:] = 0.0
    if want_virial:
        virial[:] = 0.0
    etot = 0.0
    npair = pi.size
    start = 0
    while start < npair:
        m = 0
        stop = min(start + _CHUNK, npair)
        for k in range(start, stop):
            i = pi[k]
            j = pj[k]
            dx = pos[j, 0] + shifts[k, 0] - pos[i, 0]
            dy = pos[j, 1] + shifts[k, 1] - pos[i, 1]
            dz = pos[j, 2] + shifts[k, 2] - pos[i, 2]
            r2 = dx * dx + dy * dy + dz * dz
            if r2 >= rc2:
                continue
            d[m, 0] = dx
            d[m, 1] = dy
            d[m, 2] = dz
            q2[m] = r2
            tt[m] = types[i] * nspec + types[j]
            kk[m] = k
            m += 1
        start = stop
        _pair_row(m, q2, tt, e, gg, rare, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n,
                  core, ssc, ta, tb)
        for q in range(m):
            k = kk[q]
            i = pi[k]
            j = pj[k]
            eq, g = _apply_cutoff(e[q], gg[q], q2[q], tt[q], mode, rc2, ro2, prm)
            etot += eq
            fx = g * d[q, 0]
            fy = g * d[q, 1]
            fz = g * d[q, 2]
            forces[i, 0] += fx
            forces[i, 1] += fy
            forces[i, 2] += fz
            forces[j, 0] -= fx
            forces[j, 1] -= fy
            forces[j, 2] -= fz
            if want_atoms:
                energies[i] += 0.5 * eq
                energies[j] += 0.5 * eq
            if want_virial:
                _add_virial(virial, atom_vir, i, j, g, d[q, 0], d[q, 1], d[q, 2], want_atoms)
    return etot


@nb.njit(cache=True)
def pair_values(
    r, t, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb,
):
    """Pair energies and dV/dr of type ``t`` at distances ``r`` (no cutoff)."""
    n = r.size
    tt = np.full(n, t, dtype=np.int64)
    e = np.empty(n)
    g = np.empty(n)
    rare = np.empty(n, dtype=np.int64)
    _pair_row(n, r * r, tt, e, g, rare, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n,
              core, ssc, ta, tb)
    de = g * r
    for k in range(n):
        if r[k] == 0.0 and (exact or ssc[t, 0] == 0.0):
            de[k] = prm[t, 0] * prm[t, 1] * core[1]  # one-sided slope of the affine core
    return e, de
