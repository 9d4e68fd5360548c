"""Batched replicas of one-species clusters: all-pairs energies and forces.

Samplers (:class:`ase_gausslj.sampling.targets.LJClusterTarget`) evaluate the same
cluster for ``R`` replicas at once. :func:`batch_energy_forces` does that for a
one-species :class:`~ase_gausslj.core.energy.SmoothedLJ`, in blocks of ``_BLOCK``
replicas transposed to rows of atoms x replicas, with the loop over the replicas
innermost: unit stride, the same pair in every lane, so the compiler vectorizes it.

* width 0 (the regularized LJ, analytic): both forms of the pair term (LJ beyond
  ``r_core``, the affine core inside) computed and one selected, no branch
  (:func:`_block_exact`);
* width > 0 (the slice's rows in ``r^2``, :func:`.pair_terms._r2_locate`): per pair three
  passes over the replicas (:func:`_block_table`): the row from the bits of ``r^2``, the
  rows' coefficients copied (a gather: scalar, one 32-byte move per replica), the cubic and
  the forces. Replicas with a pair outside the rows (inside ``r_core + 0.1``, beyond
  ``r_max``) are redone by the general kernel
  (:func:`ase_gausslj.core.kernels.allpairs_batch`).

Measured (LJ55 x 1000, one thread, CPU time, ``results/kernels/batch_width_bench.py``): see
docs/speed.md; before the blocks, one replica at a time, neither loop vectorized (width 0
7.5 ms, width 0.3 12.8 ms).

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

#: replicas per block: their rows (atoms x block) stay in L2, and the replica loop is
#: long enough to vectorize (LJ55 x 1000 at width 0.3: 6.5 ms at 64, 5.7 ms at 128)
_BLOCK = 128
_U1, _U2, _U3 = np.uint64(1), np.uint64(2), np.uint64(3)

# reassociation lets LLVM vectorize the reductions (energy, force on atom i); no
# 'nnan'/'ninf', so a non-finite energy still reaches the caller's check
_FAST = {"reassoc", "contract", "arcp", "nsz"}


def supports(potential) -> bool:
    """Whether :func:`batch_energy_forces` handles ``potential`` (one species)."""
    return getattr(potential, "types", None) is None and int(potential.nspec) == 1


@nb.njit(cache=True, fastmath=_FAST, error_model="numpy")
def _block_exact(xs, ys, zs, fx, fy, fz, e, nrare, inv, p):
    """Width 0 over a block of replicas (rows: atoms, columns: replicas): fills the
    reduced energies ``e`` and forces ``fx, fy, fz`` (to be multiplied by eps);
    ``p = (a, b, r_core^2)``. The innermost loop runs over the replicas, unit stride,
    with both pair forms computed and one selected (LJ beyond ``r_core``, the affine core
    inside), so it vectorizes. ``nrare`` stays 0: every pair is done here."""
    a, b, rc2 = p
    n, nb_ = xs.shape
    gx, gy, gz = np.empty(nb_), np.empty(nb_), np.empty(nb_)
    inv2 = inv * inv
    _zero_block(fx, fy, fz, e, nrare)
    for i in range(n - 1):
        for r in range(nb_):
            gx[r] = 0.0
            gy[r] = 0.0
            gz[r] = 0.0
        for j in range(i + 1, n):
            for r in range(nb_):
                dx = xs[j, r] - xs[i, r]
                dy = ys[j, r] - ys[i, r]
                dz = zs[j, r] - zs[i, r]
                r2 = dx * dx + dy * dy + dz * dz
                # the formulas of pair_terms._lj_term / _core_term, written out and
                # selected (no branch), so the loop vectorizes
                x2 = r2 * inv2
                i2 = 1.0 / x2
                i6 = i2 * i2 * i2
                rr = np.sqrt(r2)
                far = x2 > rc2
                e[r] += 4.0 * i6 * (i6 - 1.0) if far else a + b * inv * rr
                g = ((24.0 - 48.0 * i6) * i6 * i2 * inv2 if far
                     else (b * inv / rr if rr > 0.0 else 0.0))
                gx[r] += g * dx
                gy[r] += g * dy
                gz[r] += g * dz
                fx[j, r] -= g * dx
                fy[j, r] -= g * dy
                fz[j, r] -= g * dz
        for r in range(nb_):
            fx[i, r] += gx[r]
            fy[i, r] += gy[r]
            fz[i, r] += gz[r]


@nb.njit(cache=True, fastmath=_FAST, error_model="numpy")
def _block_table(xs, ys, zs, fx, fy, fz, e, nrare, inv, p):
    """Width > 0 over a block of replicas from the slice's rows in ``r^2`` (``p = (coef
    (rows, 4), first row, bit code of the first row, lo, hi)``, :func:`_block_args`):
    fills reduced energies and forces as :func:`_block_exact`, and ``nrare`` with each
    replica's pairs outside ``[lo, hi)`` (inside ``r_core + 0.1``, beyond ``r_max``, or
    non-finite): those count zero here, and the caller redoes the replica with the
    general kernel. Per pair, three loops over the replicas: the row and local coordinate
    from the bits of ``r^2`` (vectorized), the row's four coefficients copied (scalar:
    the compiler does not vectorize this gather), the cubic and the forces (vectorized).
    """
    coef, off, base, lo, hi = p
    n, nb_ = xs.shape
    # scratch allocated here: the compiler then knows its shape (a row of ``cc`` is 4
    # contiguous values) and vectorizes the loop reading it
    gx, gy, gz = np.empty(nb_), np.empty(nb_), np.empty(nb_)
    xm, cc = np.empty(nb_), np.empty((nb_, 4))
    cf = coef.reshape(coef.size)
    inv2 = inv * inv
    _zero_block(fx, fy, fz, e, nrare)
    for i in range(n - 1):
        for r in range(nb_):
            gx[r] = 0.0
            gy[r] = 0.0
            gz[r] = 0.0
        for j in range(i + 1, n):
            for r in range(nb_):
                dx = xs[j, r] - xs[i, r]
                dy = ys[j, r] - ys[i, r]
                dz = zs[j, r] - zs[i, r]
                x2 = (dx * dx + dy * dy + dz * dz) * inv2
                # lo for a pair outside [lo, hi) (NaN included), marked by its sign
                xm[r] = x2 if (x2 >= lo) & (x2 < hi) else -lo
            for r in range(nb_):
                # unsigned: no negative-index wraparound; four loads, then four stores,
                # so the compiler moves the row in one piece
                k = np.uint64(4 * (off + _r2_locate(abs(xm[r]), base)[0]))
                c0, c1, c2, c3 = cf[k], cf[k + _U1], cf[k + _U2], cf[k + _U3]
                cc[r, 0] = c0
                cc[r, 1] = c1
                cc[r, 2] = c2
                cc[r, 3] = c3
            for r in range(nb_):
                dx = xs[j, r] - xs[i, r]
                dy = ys[j, r] - ys[i, r]
                dz = zs[j, r] - zs[i, r]
                x2 = xm[r]
                ok = x2 > 0.0
                _, f, inv_h = _r2_locate(abs(x2), base)
                v, d = _cubic(cc[r, 0], cc[r, 1], cc[r, 2], cc[r, 3], f, inv_h)
                e[r] += v if ok else 0.0
                nrare[r] += 0 if ok else 1
                # g = (dV/dr) / r = 2 dV/d(r^2)
                g = 2.0 * inv2 * d if ok else 0.0
                gx[r] += g * dx
                gy[r] += g * dy
                gz[r] += g * dz
                fx[j, r] -= g * dx
                fy[j, r] -= g * dy
                fz[j, r] -= g * dz
        for r in range(nb_):
            fx[i, r] += gx[r]
            fy[i, r] += gy[r]
            fz[i, r] += gz[r]


@nb.njit(cache=True, inline="always")
def _zero_block(fx, fy, fz, e, nrare):
    fx[:] = 0.0
    fy[:] = 0.0
    fz[:] = 0.0
    e[:] = 0.0
    nrare[:] = 0


@nb.njit(cache=True, error_model="numpy")
def _batch(pos, eps, inv, p, block, energies, forces, rare):
    """Energies (R,) and forces (R, N, 3) of every replica, in blocks of up to
    ``_BLOCK`` replicas transposed to structure-of-arrays rows (atoms x replicas):
    ``block`` is :func:`_block_exact` or :func:`_block_table` with its parameters ``p``
    (:func:`_block_args`); ``rare[r]`` marks a replica with pairs the table block left
    out (to be redone by the general kernel)."""
    nrep, n, _ = pos.shape
    size = min(_BLOCK, nrep)
    for s in range(0, nrep, size):
        m = min(size, nrep - s)
        xs = np.empty((n, m))
        ys = np.empty((n, m))
        zs = np.empty((n, m))
        for a in range(n):
            for r in range(m):
                xs[a, r] = pos[s + r, a, 0]
                ys[a, r] = pos[s + r, a, 1]
                zs[a, r] = pos[s + r, a, 2]
        fx = np.empty((n, m))
        fy = np.empty((n, m))
        fz = np.empty((n, m))
        e = np.empty(m)
        nrare = np.empty(m, dtype=np.int64)
        block(xs, ys, zs, fx, fy, fz, e, nrare, inv, p)
        for r in range(m):
            energies[s + r] = eps * e[r]
            rare[s + r] = nrare[r] > 0
            for a in range(n):
                forces[s + r, a, 0] = eps * fx[a, r]
                forces[s + r, a, 1] = eps * fy[a, r]
                forces[s + r, a, 2] = eps * fz[a, r]


@nb.njit(cache=True, parallel=True)
def _batch_parallel(n_chunks, pos, eps, inv, p, block, energies, forces, rare):
    """:func:`_batch` over ``n_chunks`` contiguous blocks of replicas, one per thread."""
    nrep = pos.shape[0]
    for c in nb.prange(n_chunks):
        lo = c * nrep // n_chunks
        hi = (c + 1) * nrep // n_chunks
        _batch(pos[lo:hi], eps, inv, p, block, energies[lo:hi], forces[lo:hi], rare[lo:hi])


def _block_args(sa):
    """``(eps, 1 / sig, block parameters, block function)`` of a one-species
    :class:`SliceArgs`."""
    eps, inv = float(sa.prm[0, 0]), float(sa.prm[0, 1])
    if sa.exact:
        core = sa.core
        return eps, inv, (float(core[0]), float(core[1]), float(core[2]) ** 2), _block_exact
    lo, hi = float(sa.seg_lo[N_RSEG + 1]), float(sa.seg_lo[N_RSEG + 2])
    base = int(np.float64(lo).view(np.int64)) >> (52 - R2_BITS)
    return eps, inv, (sa.coef[0], int(sa.seg_off[N_RSEG]), base, lo, hi), _block_table


def _run(pos, sa, energies, forces, rare, threads):
    """The block loop, in ``threads`` chunks of replicas (1: the calling thread)."""
    if threads > 1:
        with _threads(threads):
            _batch_parallel(threads, pos, *_block_args(sa), energies, forces, rare)
    else:
        _batch(pos, *_block_args(sa), energies, forces, rare)


def _smoothed(pos, sa, energies, forces, rare, threads):
    """Width > 0: the table blocks, then the general kernel for the replicas with pairs
    outside the rows in ``r^2`` (close contacts inside ``r_core + 0.1``, or beyond
    ``r_max``)."""
    _run(pos, sa, energies, forces, rare, threads)
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
    if sa.exact:  # width 0 (or below the table's exact limit)
        _run(pos, sa, energies, forces, rare, threads)
    else:
        _smoothed(pos, sa, energies, forces, rare, threads)
    if not np.all(np.isfinite(energies)):
        raise FloatingPointError("non-finite energy in a replica")
    return energies, forces
