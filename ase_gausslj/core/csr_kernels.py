"""Pair loops over a :class:`ase_gausslj.core.verlet.VerletList` (CSR rows, ghost images).

Energy and forces alone take one lean loop per kind of pair term (:func:`_rows_exact`,
:func:`_rows_table`); per-atom energies or the virial take the general loop. Common pairs
are evaluated inline with the formulas of :func:`ase_gausslj.core.kernels._pair_row`; rare
ones (inside ``r_core + 0.1``, beyond ``r_max``) are queued and flushed through that same
function, so every path agrees with the all-pairs one to rounding.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .kernels import N_RSEG, _add_virial, _apply_cutoff, _pair_row
from .verlet import _extend

__all__ = ["csr_pairs"]

_RARE = 128  # queued rare pairs per flush


@nb.njit(cache=True, inline="always")
def _accumulate(fe, ee, av, virial, i, j, e, g, dx, dy, dz, want_atoms, want_virial):
    """Per-atom energy halves and the virial of one pair (forces are done by the caller)."""
    if want_atoms:
        ee[i] += 0.5 * e
        ee[j] += 0.5 * e
    if want_virial:
        _add_virial(virial, av, i, j, g, dx, dy, dz, want_atoms)


@nb.njit(cache=True)
def _flush(m, qi, qj, qd, q2, qt, ebuf, gbuf, rbuf, fe, ee, av, virial, mode, rc2, ro2,
           exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb,
           want_atoms, want_virial):
    """Evaluate ``m`` queued rare pairs with the general row kernel; returns their energy."""
    _pair_row(m, q2, qt, ebuf, gbuf, rbuf, exact, prm, coef, seg_lo, seg_inv_h, seg_off,
              seg_n, core, ssc, ta, tb)
    etot = 0.0
    for q in range(m):
        e, g = _apply_cutoff(ebuf[q], gbuf[q], q2[q], qt[q], mode, rc2, ro2, prm)
        etot += e
        i = qi[q]
        j = qj[q]
        for k in range(3):
            fe[i, k] += g * qd[q, k]
            fe[j, k] -= g * qd[q, k]
        _accumulate(fe, ee, av, virial, i, j, e, g, qd[q, 0], qd[q, 1], qd[q, 2],
                    want_atoms, want_virial)
    return etot


@nb.njit(cache=True, inline="always")
def _main_pair(r2, t, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, rcore2):
    """``(common, e, g)`` of one pair; ``common`` False queues it as rare.

    The formulas are :func:`ase_gausslj.core.kernels._pair_row`'s main loop, inlined.
    """
    eps = prm[t, 0]
    inv = prm[t, 1]
    if exact:
        x2 = r2 * inv * inv
        if x2 <= rcore2:
            return False, 0.0, 0.0
        i2 = 1.0 / x2
        i6 = i2 * i2 * i2
        return True, eps * 4.0 * i6 * (i6 - 1.0), -eps * inv * inv * (48.0 * i6 - 24.0) * i6 * i2
    x2 = r2 * inv * inv
    if x2 < seg_lo[N_RSEG + 1] or x2 >= seg_lo[N_RSEG + 4]:
        return False, 0.0, 0.0
    s = N_RSEG + (x2 >= seg_lo[N_RSEG + 2]) + (x2 >= seg_lo[N_RSEG + 3])
    u = (x2 - seg_lo[s + 1]) * seg_inv_h[s]
    ii = min(int(u), seg_n[s] - 1)
    row = seg_off[s] + ii
    f = u - ii
    c1 = coef[t, row, 1]
    c2 = coef[t, row, 2]
    c3 = coef[t, row, 3]
    vv = coef[t, row, 0] + f * (c1 + f * (c2 + f * c3))
    dd = (c1 + f * (2.0 * c2 + 3.0 * f * c3)) * seg_inv_h[s]
    return True, eps * vv, 2.0 * eps * inv * inv * dd


@nb.njit(cache=True)
def csr_pairs(
    pos, src, shift, start, nbr, ext_t, nspec, rc2, mode, ro2, exact, prm, coef, seg_lo,
    seg_inv_h, seg_off, seg_n, core, ssc, ta, tb, forces, energies, virial, atom_vir,
    want_atoms, want_virial,
):
    """Energy of the pairs of a :class:`VerletList` closer than ``sqrt(rc2)``; fills
    ``forces`` (and ``energies`` / ``virial`` / ``atom_vir`` when asked).

    Energy and forces alone take the lean loops (:func:`_rows_exact`, :func:`_rows_table`);
    per-atom energies or the virial take the general one.
    """
    if not (want_atoms or want_virial):
        return _csr_fast(pos, src, shift, start, nbr, ext_t, nspec, rc2, mode, ro2, exact,
                         prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb,
                         forces)
    return _csr_general(pos, src, shift, start, nbr, ext_t, nspec, rc2, mode, ro2, exact, prm,
                        coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb, forces,
                        energies, virial, atom_vir, want_atoms, want_virial)


@nb.njit(cache=True)
def _csr_general(
    pos, src, shift, start, nbr, ext_t, nspec, rc2, mode, ro2, exact, prm, coef, seg_lo,
    seg_inv_h, seg_off, seg_n, core, ssc, ta, tb, forces, energies, virial, atom_vir,
    want_atoms, want_virial,
):
    """:func:`csr_pairs` with per-atom energies and virials (flags checked per pair)."""
    n = pos.shape[0]
    n_ext = n + src.size
    ext = _extend(pos, src, shift, n_ext)
    fe = np.zeros((n_ext, 3))
    ee = np.zeros(n_ext if want_atoms else 0)
    av = np.zeros((n_ext if (want_atoms and want_virial) else 0, 3, 3))
    virial[:] = 0.0
    qi = np.empty(_RARE, dtype=np.int64)
    qj = np.empty(_RARE, dtype=np.int64)
    qt = np.empty(_RARE, dtype=np.int64)
    qd = np.empty((_RARE, 3))
    q2 = np.empty(_RARE)
    ebuf = np.empty(_RARE)
    gbuf = np.empty(_RARE)
    rbuf = np.empty(_RARE, dtype=np.int64)
    rcore2 = core[2] * core[2]
    etot = 0.0
    m = 0
    for i in range(n):
        xi = ext[i, 0]
        yi = ext[i, 1]
        zi = ext[i, 2]
        ti = ext_t[i] * nspec
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
            t = ti + ext_t[j]
            common, e, g = _main_pair(r2, t, exact, prm, coef, seg_lo, seg_inv_h, seg_off,
                                      seg_n, rcore2)
            if not common:
                qi[m] = i
                qj[m] = j
                qt[m] = t
                qd[m, 0] = dx
                qd[m, 1] = dy
                qd[m, 2] = dz
                q2[m] = r2
                m += 1
                if m == _RARE:
                    etot += _flush(m, qi, qj, qd, q2, qt, ebuf, gbuf, rbuf, fe, ee, av, virial,
                                   mode, rc2, ro2, exact, prm, coef, seg_lo, seg_inv_h,
                                   seg_off, seg_n, core, ssc, ta, tb, want_atoms, want_virial)
                    m = 0
                continue
            e, g = _apply_cutoff(e, g, r2, t, mode, rc2, ro2, prm)
            etot += e
            fxi += g * dx
            fyi += g * dy
            fzi += g * dz
            fe[j, 0] -= g * dx
            fe[j, 1] -= g * dy
            fe[j, 2] -= g * dz
            _accumulate(fe, ee, av, virial, i, j, e, g, dx, dy, dz, want_atoms, want_virial)
        fe[i, 0] += fxi
        fe[i, 1] += fyi
        fe[i, 2] += fzi
    etot += _flush(m, qi, qj, qd, q2, qt, ebuf, gbuf, rbuf, fe, ee, av, virial, mode, rc2,
                   ro2, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb,
                   want_atoms, want_virial)
    _fold(n, src, fe, ee, av, forces, energies, atom_vir, want_atoms, want_virial)
    return etot


@nb.njit(cache=True)
def _fold(n, src, fe, ee, av, forces, energies, atom_vir, want_atoms, want_virial):
    """Ghost rows back onto their atoms."""
    forces[:] = fe[:n]
    if want_atoms:
        energies[:] = ee[:n]
        if want_virial:
            atom_vir[:] = av[:n]
    for g in range(src.size):
        a = src[g]
        for k in range(3):
            forces[a, k] += fe[n + g, k]
        if want_atoms:
            energies[a] += ee[n + g]
            if want_virial:
                atom_vir[a] += av[n + g]


@nb.njit(cache=True)
def _csr_fast(pos, src, shift, start, nbr, ext_t, nspec, rc2, mode, ro2, exact, prm, coef,
              seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb, forces):
    """Energy and forces only: one lean loop per kind of pair term (a loop holding both
    kinds, even with one untaken, runs 2.5x slower), rare pairs flushed in batches."""
    n = pos.shape[0]
    n_ext = n + src.size
    ext = _extend(pos, src, shift, n_ext)
    fe = np.zeros((n_ext, 3))
    qi = np.empty(_RARE, dtype=np.int64)
    qj = np.empty(_RARE, dtype=np.int64)
    qd = np.empty((_RARE, 3))
    q2 = np.empty(_RARE)
    qt = np.empty(_RARE, dtype=np.int64)
    buf = (qi, qj, qd, q2, qt, np.empty(_RARE), np.empty(_RARE),
           np.empty(_RARE, dtype=np.int64))
    tab = (prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb)
    if exact:
        etot, m = _rows_exact(ext, fe, n, start, nbr, ext_t, nspec, rc2, mode, ro2, tab, buf)
    else:
        etot, m = _rows_table(ext, fe, n, start, nbr, ext_t, nspec, rc2, mode, ro2, tab, buf)
    etot += _flush_fast(m, exact, fe, rc2, mode, ro2, tab, buf)
    none1 = np.zeros(0)
    none3 = np.zeros((0, 3, 3))
    _fold(n, src, fe, none1, none3, forces, none1, none3, False, False)
    return etot


@nb.njit(cache=True)
def _flush_fast(m, exact, fe, rc2, mode, ro2, tab, buf):
    qi, qj, qd, q2, qt, ebuf, gbuf, rbuf = buf
    prm, coef, seg_lo, seg_inv_h, seg_off, seg_n, core, ssc, ta, tb = tab
    virial = np.zeros((3, 3))
    return _flush(m, qi, qj, qd, q2, qt, ebuf, gbuf, rbuf, fe, np.zeros(0), np.zeros((0, 3, 3)),
                  virial, mode, rc2, ro2, exact, prm, coef, seg_lo, seg_inv_h, seg_off, seg_n,
                  core, ssc, ta, tb, False, False)


@nb.njit(cache=True, inline="always")
def _queue(m, i, j, t, dx, dy, dz, r2, buf):
    qi, qj, qd, q2, qt = buf[0], buf[1], buf[2], buf[3], buf[4]
    qi[m] = i
    qj[m] = j
    qt[m] = t
    qd[m, 0] = dx
    qd[m, 1] = dy
    qd[m, 2] = dz
    q2[m] = r2
    return m + 1


@nb.njit(cache=True)
def _rows_exact(ext, fe, n, start, nbr, ext_t, nspec, rc2, mode, ro2, tab, buf):
    """Width 0: the analytic LJ inline; pairs inside the regularized core are queued."""
    prm = tab[0]
    rcore2 = tab[6][2] * tab[6][2]
    etot = 0.0
    m = 0
    for i in range(n):
        xi = ext[i, 0]
        yi = ext[i, 1]
        zi = ext[i, 2]
        ti = ext_t[i] * nspec
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
            t = ti + ext_t[j]
            eps = prm[t, 0]
            inv = prm[t, 1]
            x2 = r2 * inv * inv
            if x2 <= rcore2:
                m = _queue(m, i, j, t, dx, dy, dz, r2, buf)
                if m == _RARE:
                    etot += _flush_fast(m, True, fe, rc2, mode, ro2, tab, buf)
                    m = 0
                continue
            i2 = 1.0 / x2
            i6 = i2 * i2 * i2
            e = eps * 4.0 * i6 * (i6 - 1.0)
            g = -eps * inv * inv * (48.0 * i6 - 24.0) * i6 * i2
            e, g = _apply_cutoff(e, g, r2, t, mode, rc2, ro2, prm)
            etot += e
            fxi += g * dx
            fyi += g * dy
            fzi += g * dz
            fe[j, 0] -= g * dx
            fe[j, 1] -= g * dy
            fe[j, 2] -= g * dz
        fe[i, 0] += fxi
        fe[i, 1] += fyi
        fe[i, 2] += fzi
    return etot, m


@nb.njit(cache=True)
def _rows_table(ext, fe, n, start, nbr, ext_t, nspec, rc2, mode, ro2, tab, buf):
    """Width > 0: the table's cubic in ``r^2`` inline (as in :func:`_pair_row`) between
    ``r_core + 0.1`` and ``r_max``; pairs closer or farther (closed forms added) are queued."""
    prm, coef, seg_lo, seg_inv_h, seg_off, seg_n = tab[:6]
    s_lo = seg_lo[N_RSEG + 1]
    s_1 = seg_lo[N_RSEG + 2]
    s_2 = seg_lo[N_RSEG + 3]
    s_hi = seg_lo[N_RSEG + 4]
    etot = 0.0
    m = 0
    for i in range(n):
        xi = ext[i, 0]
        yi = ext[i, 1]
        zi = ext[i, 2]
        ti = ext_t[i] * nspec
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
            t = ti + ext_t[j]
            inv = prm[t, 1]
            x2 = r2 * inv * inv
            if x2 < s_lo or x2 >= s_hi:
                m = _queue(m, i, j, t, dx, dy, dz, r2, buf)
                if m == _RARE:
                    etot += _flush_fast(m, False, fe, rc2, mode, ro2, tab, buf)
                    m = 0
                continue
            s = N_RSEG + (x2 >= s_1) + (x2 >= s_2)
            u = (x2 - seg_lo[s + 1]) * seg_inv_h[s]
            ii = min(int(u), seg_n[s] - 1)
            row = seg_off[s] + ii
            f = u - ii
            c1 = coef[t, row, 1]
            c2 = coef[t, row, 2]
            c3 = coef[t, row, 3]
            dd = (c1 + f * (2.0 * c2 + 3.0 * f * c3)) * seg_inv_h[s]
            e = prm[t, 0] * (coef[t, row, 0] + f * (c1 + f * (c2 + f * c3)))
            g = 2.0 * prm[t, 0] * inv * inv * dd
            e, g = _apply_cutoff(e, g, r2, t, mode, rc2, ro2, prm)
            etot += e
            fxi += g * dx
            fyi += g * dy
            fzi += g * dz
            fe[j, 0] -= g * dx
            fe[j, 1] -= g * dy
            fe[j, 2] -= g * dz
        fe[i, 0] += fxi
        fe[i, 1] += fyi
        fe[i, 2] += fzi
    return etot, m
