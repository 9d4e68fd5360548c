"""Batched replicas of one-species clusters: all-pairs energies and forces.

Samplers (:class:`ase_gausslj.sampling.targets.LJClusterTarget`) evaluate the same
cluster for ``R`` replicas at once. :func:`batch_energy_forces` does that for a
one-species :class:`~ase_gausslj.core.energy.SmoothedLJ`:

* width 0 (the regularized LJ, analytic): one fused loop per replica over
  structure-of-arrays rows (no gathers, no pair buffers), both forms of the pair term
  (LJ beyond ``r_core``, the affine core inside) computed and one selected, so the loop
  body has no data-dependent branch. Measured (LJ55 x 1000, one core, 2-core shared
  machine): 6.6 ms, i.e. 4.5 ns per pair, against 6.1 ms (4.1 ns) for a bare
  ``4 (r^-12 - r^-6)`` loop with the same layout and 12.7 ms for the general kernel;
* width > 0 (the smoothed table): the general kernel
  (:func:`ase_gausslj.core.kernels.allpairs_batch`). A fused loop with the table lookup
  inline was tried and measured slower (28 ms vs 20 ms for LJ55 x 1000): the lookup
  (segment search, gathered cubic coefficients, ~13.5 ns per pair) is what bounds it,
  and the general kernel's gather-then-evaluate passes do it better.

Several species, a cutoff or periodic cells go through ``SmoothedLJ.batch_energy_forces``
(the general kernel); :func:`supports` says which potentials this module takes.
"""

from __future__ import annotations

from contextlib import contextmanager

import numba as nb
import numpy as np

from .kernels import allpairs_batch
from .pair_terms import N_RSEG, R2_BITS, _cubic, _r2_locate
from .validation import check_width

__all__ = ["supports", "batch_energy_forces", "batch_energy_forces_unchecked"]

# reassociation lets LLVM vectorize the reductions (energy, force on atom i); no
# 'nnan'/'ninf', so a non-finite energy still reaches the caller's check
_FAST = {"reassoc", "contract", "arcp", "nsz"}


def supports(potential) -> bool:
    """Whether :func:`batch_energy_forces` handles ``potential`` (one species)."""
    return getattr(potential, "types", None) is None and int(potential.nspec) == 1


@nb.njit(cache=True, fastmath=_FAST, error_model="numpy")
def _row_exact(n, i, xs, ys, zs, fx, fy, fz, eps, inv, p):
    """Width 0, pairs ``(i, j > i)``: adds forces, returns ``(energy / eps, 0)``.

    ``p = (a, b, r_core^2)``. One loop body, branch-free (both pair forms computed, one
    selected), so that it vectorizes; the table row is a
    loop of its own because one loop holding both kinds (selected by a literal flag or a
    function argument) measured 1.3-4.5x slower here.
    """
    a, b, rc2 = p
    inv2 = inv * inv
    xi = xs[i]
    yi = ys[i]
    zi = zs[i]
    e = 0.0
    gxi = 0.0
    gyi = 0.0
    gzi = 0.0
    for j in range(i + 1, n):
        dx = xs[j] - xi
        dy = ys[j] - yi
        dz = zs[j] - zi
        r2 = dx * dx + dy * dy + dz * dz
        # the formulas of pair_terms._lj_term / _core_term, written out: through the
        # helpers (tuples selected) this loop measured 1.3x slower (LJ55 x 1000)
        x2 = r2 * inv2
        i2 = 1.0 / x2
        i6 = i2 * i2 * i2
        rr = np.sqrt(r2)
        far = x2 > rc2
        e += 4.0 * i6 * (i6 - 1.0) if far else a + b * inv * rr
        g = ((24.0 - 48.0 * i6) * i6 * i2 * inv2 if far
             else (b * inv / rr if rr > 0.0 else 0.0))
        gxi += g * dx
        gyi += g * dy
        gzi += g * dz
        fx[j] -= eps * g * dx
        fy[j] -= eps * g * dy
        fz[j] -= eps * g * dz
    fx[i] += eps * gxi
    fy[i] += eps * gyi
    fz[i] += eps * gzi
    return e, 0


@nb.njit(cache=True, fastmath=_FAST, error_model="numpy")
def _row_table(n, i, xs, ys, zs, fx, fy, fz, eps, inv, p):
    """Width > 0, pairs ``(i, j > i)`` from the slice's rows in ``r^2`` (``p = (coef,
    first row, bit code of the first row, lo, hi)``, :func:`_row_args`): adds forces,
    returns the row's energy / eps and how many of its pairs fall outside ``[lo, hi)``
    (inside ``r_core + 0.1`` or beyond ``r_max``, or non-finite); those count zero here
    and the caller redoes the replica with the general kernel. Branch-free (the
    out-of-range pairs are looked up at ``lo`` and masked).
    """
    coef, off, base, lo, hi = p
    inv2 = inv * inv
    xi = xs[i]
    yi = ys[i]
    zi = zs[i]
    e = 0.0
    gxi = 0.0
    gyi = 0.0
    gzi = 0.0
    nrare = 0
    for j in range(i + 1, n):
        dx = xs[j] - xi
        dy = ys[j] - yi
        dz = zs[j] - zi
        x2 = (dx * dx + dy * dy + dz * dz) * inv2
        ok = x2 >= lo and x2 < hi
        q, f, inv_h = _r2_locate(x2 if ok else lo, base)
        row = off + q
        v, d = _cubic(coef[row, 0], coef[row, 1], coef[row, 2], coef[row, 3], f, inv_h)
        nrare += 0 if ok else 1
        e += v if ok else 0.0
        # g = (dV/dr) / r = 2 dV/d(r^2)
        g = 2.0 * inv2 * d if ok else 0.0
        gxi += g * dx
        gyi += g * dy
        gzi += g * dz
        fx[j] -= eps * g * dx
        fy[j] -= eps * g * dy
        fz[j] -= eps * g * dz
    fx[i] += eps * gxi
    fy[i] += eps * gyi
    fz[i] += eps * gzi
    return e, nrare


@nb.njit(cache=True, error_model="numpy")
def _batch(pos, eps, inv, p, row, energies, forces, rare):
    """Energies (R,) and forces (R, N, 3) of every replica, one after another, over
    structure-of-arrays rows: ``row`` is :func:`_row_exact` or :func:`_row_table` with its
    parameters ``p`` (:func:`_row_args`); ``rare[r]`` marks a replica with pairs the table
    row left out (to be redone by the general kernel)."""
    nrep, n, _ = pos.shape
    xs = np.empty(n)
    ys = np.empty(n)
    zs = np.empty(n)
    fx = np.empty(n)
    fy = np.empty(n)
    fz = np.empty(n)
    for r in range(nrep):
        for a in range(n):
            xs[a] = pos[r, a, 0]
            ys[a] = pos[r, a, 1]
            zs[a] = pos[r, a, 2]
            fx[a] = 0.0
            fy[a] = 0.0
            fz[a] = 0.0
        e = 0.0
        nr = 0
        for i in range(n - 1):
            de, dn = row(n, i, xs, ys, zs, fx, fy, fz, eps, inv, p)
            e += de
            nr += dn
        energies[r] = eps * e
        rare[r] = nr > 0
        for a in range(n):
            forces[r, a, 0] = fx[a]
            forces[r, a, 1] = fy[a]
            forces[r, a, 2] = fz[a]


@nb.njit(cache=True, parallel=True)
def _batch_parallel(n_chunks, pos, eps, inv, p, row, energies, forces, rare):
    """:func:`_batch` over ``n_chunks`` contiguous blocks of replicas, one per thread."""
    nrep = pos.shape[0]
    for c in nb.prange(n_chunks):
        lo = c * nrep // n_chunks
        hi = (c + 1) * nrep // n_chunks
        _batch(pos[lo:hi], eps, inv, p, row, energies[lo:hi], forces[lo:hi], rare[lo:hi])


def _row_args(sa):
    """``(eps, 1 / sig, row parameters, row function)`` of a one-species :class:`SliceArgs`."""
    eps, inv = float(sa.prm[0, 0]), float(sa.prm[0, 1])
    if sa.exact:
        core = sa.core
        return eps, inv, (float(core[0]), float(core[1]), float(core[2]) ** 2), _row_exact
    lo, hi = float(sa.seg_lo[N_RSEG + 1]), float(sa.seg_lo[N_RSEG + 2])
    base = int(np.float64(lo).view(np.int64)) >> (52 - R2_BITS)
    return eps, inv, (sa.coef[0], int(sa.seg_off[N_RSEG]), base, lo, hi), _row_table


def _smoothed(pos, sa, energies, forces, rare, threads):
    """Width > 0: the fused r^2-table loop, then the general kernel for the replicas with
    pairs outside its segments (close contacts inside ``r_core + 0.1``, or beyond
    ``r_max``)."""
    _batch(pos, *_row_args(sa), energies, forces, rare)
    redo = np.flatnonzero(rare)
    if redo.size:
        types = np.zeros(pos.shape[1], dtype=np.int64)
        e2 = np.empty(redo.size)
        f2 = np.empty((redo.size,) + pos.shape[1:])
        with _threads(threads):
            allpairs_batch(np.ascontiguousarray(pos[redo]), types, 1, sa, e2, f2)
        energies[redo] = e2
        forces[redo] = f2


@contextmanager
def _threads(n: int):
    old = nb.get_num_threads()
    nb.set_num_threads(n)
    try:
        yield
    finally:
        nb.set_num_threads(old)


def batch_energy_forces(potential, positions: np.ndarray, width: float, *,
                        threads: int = 1):
    """All-pairs energies (R,) and forces (R, N, 3) of a one-species ``SmoothedLJ``.

    Parameters
    ----------
    potential : SmoothedLJ
        One species (:func:`supports`); its ``kernel_args(width)`` give the pair terms.
    positions : ndarray, shape (R, N, 3)
        Replicas (float64; checked by the caller).
    width : float
        Gaussian width >= 0 (checked here, once).
    threads : int
        Numba threads (blocks of replicas); 1 runs in the calling thread.

    Returns
    -------
    energies : ndarray, shape (R,)
    forces : ndarray, shape (R, N, 3)

    Raises
    ------
    ValueError
        If ``potential`` has several species, or ``positions`` a wrong shape.
    FloatingPointError
        If a replica's energy is not finite.
    """
    return batch_energy_forces_unchecked(potential, positions, check_width(width),
                                         threads=threads)


def batch_energy_forces_unchecked(potential, positions: np.ndarray, width: float, *,
                                  threads: int = 1):
    """:func:`batch_energy_forces` for a float ``width`` its caller validated (e.g.
    ``LJClusterTarget``, which checks it against its own ``width_max``)."""
    if not supports(potential):
        raise ValueError("potential: batch_energy_forces handles one species only; use "
                         "SmoothedLJ.batch_energy_forces")
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must have shape (R, N, 3), got {pos.shape}")
    sa = potential._kernel_args_unchecked(width)
    energies = np.empty(pos.shape[0])
    forces = np.empty(pos.shape)
    rare = np.zeros(pos.shape[0], dtype=np.bool_)
    threads = max(1, min(int(threads), nb.config.NUMBA_NUM_THREADS, pos.shape[0]))
    if not sa.exact:
        _smoothed(pos, sa, energies, forces, rare, threads)
    elif threads > 1:  # width 0 (or below the table's exact limit): the fused loop
        with _threads(threads):
            _batch_parallel(threads, pos, *_row_args(sa), energies, forces, rare)
    else:
        _batch(pos, *_row_args(sa), energies, forces, rare)
    if not np.all(np.isfinite(energies)):
        raise FloatingPointError("non-finite energy in a replica")
    return energies, forces
