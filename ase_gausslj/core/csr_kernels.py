"""Pair loops over a :class:`ase_gausslj.core.verlet.VerletList` (CSR rows, ghost images).

Energy and forces alone take one lean loop per kind of pair term (:func:`_rows`, compiled
once per kind: a loop holding both kinds, even with one untaken, runs 2.5x slower);
per-atom energies or the virial take a loop that also accumulates them. Common pairs are
evaluated inline with :mod:`ase_gausslj.core.pair_terms` (the formulas of
:func:`ase_gausslj.core.kernels._pair_row`); rare ones (inside ``r_core + 0.1``, beyond
``r_max``) are queued and flushed through ``_pair_row`` itself, so every path agrees with
the all-pairs one to rounding.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .kernels import _add_pair, _pair_row
from .pair_terms import Outputs, _r2_bounds, apply_cutoff, exact_pair, table_pair
from .verlet import _extend

__all__ = ["csr_pairs"]

_RARE = 128  # queued rare pairs per flush


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


@nb.njit(cache=True)
def csr_pairs(pos, src, shift, start, nbr, ext_t, nspec, cut, sa, out):
    """Energy of the pairs of a :class:`VerletList` (rows ``start``/``nbr``, ghosts
    ``src``/``shift``, pair types ``ext_t``) inside the :class:`~.pair_terms.Cutoff` ``cut``
    with :class:`~.pair_terms.SliceArgs` ``sa``; fills the :class:`~.pair_terms.Outputs`
    ``out``.

    Energy and forces alone take a lean loop (:func:`_rows`); per-atom energies or the
    virial a loop that also checks the flags per pair.
    """
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
    # None arguments select the loop at compile time (numba prunes `x is None` branches):
    # `tab` None is width 0, `acc` None energy and forces alone
    rows = (ext, n, start, nbr, ext_t, nspec, cut, sa, buf, ext_out)
    if want_atoms or want_virial:
        if sa.exact:
            etot, m = _rows(*rows, None, ext_out)
        else:
            etot, m = _rows(*rows, sa, ext_out)
    elif sa.exact:
        etot, m = _rows(*rows, None, None)
    else:
        etot, m = _rows(*rows, sa, None)
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


@nb.njit(cache=True)
def _rows(ext, n, start, nbr, ext_t, nspec, cut, sa, buf, out, tab, acc):
    """The common pairs inline, rare ones queued (flushed when the queue is full); returns
    ``(energy, pairs left in the queue)``. ``tab`` is ``sa`` at width > 0, None at width 0;
    ``acc`` is ``out`` when per-atom energies or virials are asked for, None otherwise:
    numba compiles one loop per combination, so energy and forces alone get one lean loop
    per kind of pair term (a loop holding both kinds, even with one untaken, runs 2.5x
    slower)."""
    fe = out.forces
    prm = sa.prm
    bnd = _r2_bounds(sa)
    rc2 = cut.rc2
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
            if tab is None:
                common, e, g = exact_pair(r2, t, sa, bnd)
            else:
                common, e, g = table_pair(r2, t, tab, bnd)
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
