"""Pair loops over a :class:`ase_gausslj.core.verlet.VerletList` (CSR rows, ghost images).

Energy and forces alone take one lean loop per kind of pair term (:func:`_rows`, compiled
once per kind: a loop holding both kinds, even with one untaken, runs 2.5x slower), one
species a leaner one (no per-pair type); per-atom energies or the virial take a loop that
also accumulates them. :func:`csr_pairs` picks the loop in Python, so numba compiles only
the kinds a program uses. Common pairs are evaluated inline with the formulas of
:mod:`ase_gausslj.core.pair_terms` (those of :func:`ase_gausslj.core.kernels._pair_row`);
rare ones (inside ``r_core + 0.1``, beyond ``r_max``) are queued and flushed through
``_pair_row`` itself, so every path agrees with the all-pairs one to rounding.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .kernels import _add_pair, _pair_row
from .pair_terms import (
    N_RSEG,
    Outputs,
    _cubic,
    _lj_term,
    _r2_bounds,
    _r2_locate,
    apply_cutoff,
)
from .verlet import _extend

__all__ = ["csr_pairs"]

_RARE = 128  # queued rare pairs per flush
_U1, _U2, _U3 = np.uint64(1), np.uint64(2), np.uint64(3)
# contraction (FMA) and reassociation of the sums: 1.2-1.3x faster pair loops, results
# within rounding of the all-pairs kernel (tests/core/test_verlet.py, test_kernels.py);
# no 'nnan'/'ninf', so non-finite values still reach the caller's check
_FAST = {"reassoc", "contract", "arcp", "nsz"}


@nb.njit(cache=True)
def _rare_buffers():
    """``(qi, qj, qd, q2, qt, ebuf, gbuf, rbuf)``: the queue of rare pairs and its scratch."""
    return (np.empty(_RARE, dtype=np.int64), np.empty(_RARE, dtype=np.int64),
            np.empty((_RARE, 3)), np.empty(_RARE), np.empty(_RARE, dtype=np.int64),
            np.empty(_RARE), np.empty(_RARE), np.empty(_RARE, dtype=np.int64))


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
def _flush(m, buf, out, cut, sa):
    """Evaluate ``m`` queued rare pairs with the general row kernel into ``out`` (extended
    rows); returns their energy."""
    qi, qj, qd, q2, qt, ebuf, gbuf, rbuf = buf
    _pair_row(m, q2, qt, ebuf, gbuf, rbuf, sa)
    fe = out.forces
    etot = 0.0
    for q in range(m):
        e, g = apply_cutoff(ebuf[q], gbuf[q], q2[q], qt[q], cut, sa.prm)
        etot += e
        i = qi[q]
        j = qj[q]
        for k in range(3):
            fe[i, k] += g * qd[q, k]
            fe[j, k] -= g * qd[q, k]
        _add_pair(out, i, j, e, g, qd[q, 0], qd[q, 1], qd[q, 2])
    return etot


def csr_pairs(pos, src, shift, start, nbr, ext_t, nspec, cut, sa, out):
    """Energy of the pairs of a :class:`VerletList` (rows ``start``/``nbr``, ghosts
    ``src``/``shift``, pair types ``ext_t``) inside the :class:`~.pair_terms.Cutoff` ``cut``
    with :class:`~.pair_terms.SliceArgs` ``sa``; fills the :class:`~.pair_terms.Outputs`
    ``out``.

    Energy and forces alone take a lean loop (:func:`_rows`), one species a leaner one
    still (no per-pair type); per-atom energies or the virial a loop that also checks the
    flags per pair. The choice is made here, in Python, from the arguments' types, so
    numba compiles only the loops a program uses (one per kind), not every combination.
    """
    lean = not (out.want_atoms or out.want_virial)
    return _csr_pairs(pos, src, shift, start, nbr, None if (lean and nspec == 1) else ext_t,
                      nspec, cut, sa, None if sa.exact else sa, None if lean else out, out)


@nb.njit(cache=True)
def _csr_pairs(pos, src, shift, start, nbr, ext_t, nspec, cut, sa, tab, acc, out):
    """:func:`csr_pairs` with its loop chosen by the arguments' types (numba prunes
    ``x is None`` branches at compile time): ``ext_t`` None is one species, ``tab`` None
    width 0, ``acc`` None energy and forces alone."""
    n = pos.shape[0]
    n_ext = n + src.size
    ext = _extend(pos, src, shift, n_ext)
    want_atoms = out.want_atoms
    want_virial = out.want_virial
    ext_out = Outputs(np.zeros((n_ext, 3)), np.zeros(n_ext if want_atoms else 0),
                      out.virial,
                      np.zeros((n_ext if (want_atoms and want_virial) else 0, 3, 3)),
                      want_atoms, want_virial)
    if want_virial:
        out.virial[:] = 0.0
    buf = _rare_buffers()
    if acc is None:
        etot, m = _rows(ext, n, start, nbr, ext_t, nspec, cut, sa, buf, ext_out, tab, None)
    else:
        etot, m = _rows(ext, n, start, nbr, ext_t, nspec, cut, sa, buf, ext_out, tab,
                        ext_out)
    etot += _flush(m, buf, ext_out, cut, sa)
    _fold(n, src, ext_out, out)
    return etot


@nb.njit(cache=True)
def _fold(n, src, ext_out, out):
    """Ghost rows back onto their atoms."""
    out.forces[:] = ext_out.forces[:n]
    if out.want_atoms:
        out.energies[:] = ext_out.energies[:n]
        if out.want_virial:
            out.atom_vir[:] = ext_out.atom_vir[:n]
    for g in range(src.size):
        a = src[g]
        for k in range(3):
            out.forces[a, k] += ext_out.forces[n + g, k]
        if out.want_atoms:
            out.energies[a] += ext_out.energies[n + g]
            if out.want_virial:
                out.atom_vir[a] += ext_out.atom_vir[n + g]


@nb.njit(cache=True, fastmath=_FAST)
def _rows(ext, n, start, nbr, ext_t, nspec, cut, sa, buf, out, tab, acc):
    """The common pairs inline, rare ones queued (flushed when the queue is full); returns
    ``(energy, pairs left in the queue)``. ``tab`` is ``sa`` at width > 0, None at width 0;
    ``acc`` is ``out`` when per-atom energies or virials are asked for, None otherwise;
    ``ext_t`` None for one species (pair type 0, its parameters read once): numba
    compiles one loop per combination, so each kind of pair term gets its own lean loop
    (a loop holding both kinds, even with one untaken, runs 2.5x slower)."""
    fe = out.forces
    prm = sa.prm
    bnd = _r2_bounds(sa)
    lo, base, hi, rc2_core = bnd[0], bnd[1], bnd[3], bnd[4]
    # the coefficients as one flat array: row ``t * rows + r`` starts at 4 * that
    cf = sa.coef.reshape(sa.coef.size)
    rows_t = sa.coef.shape[1]
    off = sa.seg_off[N_RSEG]
    eps0 = prm[0, 0]
    inv0 = prm[0, 1]
    rc2 = cut.rc2
    etot = 0.0
    m = 0
    for i in range(n):
        xi = ext[i, 0]
        yi = ext[i, 1]
        zi = ext[i, 2]
        ti = 0 if ext_t is None else ext_t[i] * nspec
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        for k in range(start[i], start[i + 1]):
            j = np.uint64(nbr[k])
            dx = ext[j, 0] - xi
            dy = ext[j, 1] - yi
            dz = ext[j, 2] - zi
            r2 = dx * dx + dy * dy + dz * dz
            if r2 >= rc2:
                continue
            if ext_t is None:
                t = 0
                eps = eps0
                inv = inv0
            else:
                t = ti + ext_t[j]
                eps = prm[t, 0]
                inv = prm[t, 1]
            inv2 = inv * inv
            x2 = r2 * inv2
            # the pair terms of pair_terms.exact_pair / table_pair, with the type's
            # parameters read once above for one species
            if tab is None:
                common = x2 > rc2_core
                if common:
                    e, g = _lj_term(x2, eps, inv2)
            else:
                common = x2 >= lo and x2 < hi
                if common:
                    q, f, inv_h = _r2_locate(x2, base)
                    # unsigned: no negative-index wraparound (the row is in range)
                    c = np.uint64(4 * (t * rows_t + off + q))
                    vv, dd = _cubic(cf[c], cf[c + _U1], cf[c + _U2], cf[c + _U3], f, inv_h)
                    # g = (dV/dr) / r = 2 dV/d(r^2)
                    e = eps * vv
                    g = 2.0 * eps * inv2 * dd
            if not common:
                m = _queue(m, i, j, t, dx, dy, dz, r2, buf)
                if m == _RARE:
                    etot += _flush(m, buf, out, cut, sa)
                    m = 0
                continue
            e, g = apply_cutoff(e, g, r2, t, cut, prm)
            etot += e
            fxi += g * dx
            fyi += g * dy
            fzi += g * dz
            fe[j, 0] -= g * dx
            fe[j, 1] -= g * dy
            fe[j, 2] -= g * dz
            if acc is not None:
                _add_pair(acc, i, j, e, g, dx, dy, dz)
        fe[i, 0] += fxi
        fe[i, 1] += fyi
        fe[i, 2] += fzi
    return etot, m
