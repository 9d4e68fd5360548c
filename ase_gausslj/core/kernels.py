"""Numba pair loops for ``E_s(X) = sum_{i<j} eps_ij F(r_ij / sig_ij, s / sig_ij)``.

Kernels take plain float64/int64 arrays and never validate: :mod:`ase_gausslj.core.energy`
does. Everything a kernel needs at one width travels as one
:class:`~ase_gausslj.core.pair_terms.SliceArgs` (built once per width by
``SmoothedLJ.kernel_args``): per pair *type* ``t`` (``t = type_i * n_species + type_j``) the
kernels read ``prm[t] = (eps, inv_sig, shift)`` and the type's table slice, stacked along
the first axis (``coef[t]``, ``scalars[t]``, ``tail_a[t]``, ``tail_b[t]``; see
:class:`ase_gausslj.core.table.TableSlice`); the segment layout and ``core`` are shared by
all types. ``exact`` selects the analytic regularized LJ (width 0). Outputs travel as one
:class:`~.pair_terms.Outputs`, a pair list's cutoff as one :class:`~.pair_terms.Cutoff`.

Pairs are evaluated a row at a time (all ``j > i`` of one ``i``, or a chunk of a pair
list) by :func:`_pair_row`: numba reference-counts array arguments at every call, so the
per-pair formulas are inlined helpers (:mod:`.pair_terms`), and ``_pair_row``,
``_allpairs_core`` and ``pairlist`` stay long (~60-80 lines): splitting them into smaller
called functions costs speed. The rare-pair closed forms (smoothed cone, kink, heat-kernel
tail) come from :mod:`.closed_forms`, inlined.

Cutoff modes: 0 none, 1 energy shifted by ``prm[t, 2]`` inside the cutoff (ASE's
``smooth=False``), 2 ASE's smooth cutoff function in ``r^2`` between ``ro2`` and ``rc2``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .closed_forms import cone_eval, heat_tail_eval, kink_eval
from .pair_terms import (
    N_RSEG,
    Cutoff,
    Outputs,
    SliceArgs,
    _core_term,
    _cubic,
    _lj_term,
    _locate,
    _r2_bounds,
    _table_term,
    add_virial,
    apply_cutoff,
    outputs,
)
from .plain_lj import plain_lj_allpairs, plain_lj_csr, plain_lj_pairlist

__all__ = [
    "N_RSEG",
    "Cutoff",
    "Outputs",
    "SliceArgs",
    "allpairs",
    "allpairs_batch",
    "allpairs_exact",
    "allpairs_forces",
    "outputs",
    "pair_values",
    "pairlist",
    "plain_lj_allpairs",
    "plain_lj_csr",
    "plain_lj_pairlist",
]

_CHUNK = 1024
_BLOCK = 256


@nb.njit(cache=True)
def _pair_row(n, r2, tt, e, g, rare, sa):
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
    prm = sa.prm
    core = sa.core
    if sa.exact:
        rc2 = core[2] * core[2]
        for p in range(n):
            t = tt[p]
            eps = prm[t, 0]
            inv = prm[t, 1]
            x2 = r2[p] * inv * inv
            if x2 > rc2:
                ev, gv = _lj_term(x2, eps, inv * inv)
            else:
                ev, gv = _core_term(np.sqrt(r2[p]), eps, inv, core[0], core[1])
            e[p] = ev
            g[p] = gv
        return
    coef = sa.coef
    seg_lo = sa.seg_lo
    seg_inv_h = sa.seg_inv_h
    seg_off = sa.seg_off
    seg_n = sa.seg_n
    bnd = _r2_bounds(sa)
    nrare = 0
    for p in range(n):
        t = tt[p]
        inv = prm[t, 1]
        x2 = r2[p] * inv * inv
        if x2 < bnd[0] or x2 >= bnd[3]:
            rare[nrare] = p
            nrare += 1
            continue
        ev, gv = _table_term(x2, t, prm[t, 0], inv * inv, coef, bnd, seg_lo, seg_inv_h,
                             seg_off, seg_n)
        e[p] = ev
        g[p] = gv
    ssc = sa.scalars
    for q in range(nrare):
        p = rare[q]
        t = tt[p]
        inv = prm[t, 1]
        rr = np.sqrt(r2[p])
        xp = rr * inv
        # classified by x^2 as above, so a rounding of the square root cannot misfile it
        if r2[p] * inv * inv >= bnd[3]:
            vv, dd = heat_tail_eval(xp, sa.tail_a, sa.tail_b, t)
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


@nb.njit(cache=True, inline="always")
def _clear(out):
    """Zero the outputs a kernel accumulates into."""
    out.forces[:] = 0.0
    if out.want_atoms:
        out.energies[:] = 0.0
        out.atom_vir[:] = 0.0
    if out.want_virial:
        out.virial[:] = 0.0


@nb.njit(cache=True, inline="always")
def _add_pair(out, i, j, e, g, dx, dy, dz):
    """Per-atom energy halves and the virial of one pair (forces are the caller's)."""
    if out.want_atoms:
        out.energies[i] += 0.5 * e
        out.energies[j] += 0.5 * e
    if out.want_virial:
        add_virial(out.virial, out.atom_vir, i, j, g, dx, dy, dz, out.want_atoms)


@nb.njit(cache=True)
def _allpairs_core(pos, types, nspec, sa, out):
    n = pos.shape[0]
    # rows i (pairs j > i) are gathered into blocks of up to _BLOCK pairs: small clusters
    # then pay the per-call cost of _pair_row (reference counts of its array arguments)
    # a few times, not once per row, while the buffers stay in L1 for large ones
    cap = max(n, _BLOCK)
    d, q2, tt, e, g, _, rare = _scratch(cap)
    row_i = np.empty(n + 1, dtype=np.int64)
    row_start = np.empty(n + 1, dtype=np.int64)
    forces = out.forces
    _clear(out)
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
        _pair_row(m, q2, tt, e, g, rare, sa)
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
                _add_pair(out, a, j, e[q], g[q], d[q, 0], d[q, 1], d[q, 2])
            forces[a, 0] += fxa
            forces[a, 1] += fya
            forces[a, 2] += fza
    return etot


@nb.njit(cache=True)
def allpairs(pos, types, nspec, sa, out):
    """All pairs i < j of ``pos`` (N, 3) with :class:`SliceArgs` ``sa``; fills the
    :class:`Outputs` ``out``; returns E."""
    return _allpairs_core(pos, types, nspec, sa, out)


@nb.njit(cache=True)
def allpairs_forces(pos, types, nspec, sa, forces):
    """:func:`allpairs` for the energy and ``forces`` alone (the hot path); returns E."""
    return _allpairs_core(pos, types, nspec, sa, Outputs(
        forces, np.zeros(0), np.zeros((3, 3)), np.zeros((0, 3, 3)), False, False))


@nb.njit(cache=True)
def allpairs_exact(pos, types, nspec, prm, core, forces):
    """:func:`allpairs_forces` at width 0 (``prm``, ``core`` of an exact
    :class:`SliceArgs`) in one fused loop; returns E.

    The same pair terms in the same order as the ``exact`` path of :func:`_pair_row` inside
    :func:`_allpairs_core` (the same result to the last bit), without the gather buffers
    and the table code: a width-0 run compiles ~0.5 s instead of ~3 s and does not
    need the table's branches.
    """
    n = pos.shape[0]
    rc2 = core[2] * core[2]
    for i in range(n):  # a loop, not `forces[:] = 0.0`: less code to compile
        for c in range(3):
            forces[i, c] = 0.0
    etot = 0.0
    for i in range(n):
        ti = types[i] * nspec
        xi = pos[i, 0]
        yi = pos[i, 1]
        zi = pos[i, 2]
        fxa = 0.0
        fya = 0.0
        fza = 0.0
        for j in range(i + 1, n):
            dx = pos[j, 0] - xi
            dy = pos[j, 1] - yi
            dz = pos[j, 2] - zi
            r2 = dx * dx + dy * dy + dz * dz
            t = ti + types[j]
            eps = prm[t, 0]
            inv = prm[t, 1]
            x2 = r2 * inv * inv
            if x2 > rc2:
                ev, gv = _lj_term(x2, eps, inv * inv)
            else:
                ev, gv = _core_term(np.sqrt(r2), eps, inv, core[0], core[1])
            etot += ev
            fx = gv * dx
            fy = gv * dy
            fz = gv * dz
            fxa += fx
            fya += fy
            fza += fz
            forces[j, 0] -= fx
            forces[j, 1] -= fy
            forces[j, 2] -= fz
        forces[i, 0] += fxa
        forces[i, 1] += fya
        forces[i, 2] += fza
    return etot


@nb.njit(cache=True, parallel=True)
def allpairs_batch(pos, types, nspec, sa, energies, forces):
    """All pairs for each replica of ``pos`` (R, N, 3), parallel over replicas."""
    for k in nb.prange(pos.shape[0]):
        energies[k] = allpairs_forces(pos[k], types, nspec, sa, forces[k])


@nb.njit(cache=True)
def pairlist(pos, pi, pj, shifts, types, nspec, cut, sa, out):
    """Pairs ``(pi[k], pj[k])`` with ``d = x_j + shifts[k] - x_i``; pairs at or beyond the
    :class:`Cutoff` ``cut`` are skipped (the list may carry a skin). Fills ``out``;
    returns E."""
    d, q2, tt, e, gg, kk, rare = _scratch(_CHUNK)
    forces = out.forces
    _clear(out)
    prm = sa.prm
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
            if r2 >= cut.rc2:
                continue
            d[m, 0] = dx
            d[m, 1] = dy
            d[m, 2] = dz
            q2[m] = r2
            tt[m] = types[i] * nspec + types[j]
            kk[m] = k
            m += 1
        start = stop
        _pair_row(m, q2, tt, e, gg, rare, sa)
        for q in range(m):
            k = kk[q]
            i = pi[k]
            j = pj[k]
            eq, g = apply_cutoff(e[q], gg[q], q2[q], tt[q], cut, prm)
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
            _add_pair(out, i, j, eq, g, d[q, 0], d[q, 1], d[q, 2])
    return etot


@nb.njit(cache=True)
def pair_values(r, t, sa):
    """Pair energies and dV/dr of type ``t`` at distances ``r`` (no cutoff)."""
    n = r.size
    tt = np.full(n, t, dtype=np.int64)
    e = np.empty(n)
    g = np.empty(n)
    rare = np.empty(n, dtype=np.int64)
    _pair_row(n, r * r, tt, e, g, rare, sa)
    de = g * r
    for k in range(n):
        if r[k] == 0.0 and (sa.exact or sa.scalars[t, 0] == 0.0):
            # one-sided slope of the affine core
            de[k] = sa.prm[t, 0] * sa.prm[t, 1] * sa.core[1]
    return e, de
