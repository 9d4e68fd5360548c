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
  the forces. The pairs outside the rows (inside ``r_core + 0.1``, beyond ``r_max``),
  flagged by the block, are added through the general row kernel
  (:func:`ase_gausslj.core.kernels._pair_row`), pair by pair (:func:`_rare_pairs`): a
  replica with a close contact costs a few more pairs, not a second pass over all.

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

from .csr_kernels import _RARE, _flush, _queue, _rare_buffers
from .pair_terms import N_RSEG, R2_BITS, Cutoff, Outputs, _cubic, _r2_locate
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
def _block_exact(xs, ys, zs, fx, fy, fz, e, nrare, flag, inv, p):
    """Width 0 over a block of replicas (rows: atoms, columns: replicas): fills the
    reduced energies ``e`` and forces ``fx, fy, fz`` (to be multiplied by eps);
    ``p = (a, b, r_core^2)``. The innermost loop runs over the replicas, unit stride,
    with both pair forms computed and one selected (LJ beyond ``r_core``, the affine core
    inside), so it vectorizes. ``nrare`` stays 0 and ``flag`` unused: every pair is done
    here."""
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
def _block_table(xs, ys, zs, fx, fy, fz, e, nrare, flag, inv, p):
    """Width > 0 over a block of replicas from the slice's rows in ``r^2`` (``p = (coef
    (rows, 4), first row, bit code of the first row, lo, hi)``, :func:`_block_args`):
    fills reduced energies and forces as :func:`_block_exact`, ``nrare`` with each
    replica's count of pairs outside ``[lo, hi)`` (inside ``r_core + 0.1``, beyond
    ``r_max``, or non-finite) and ``flag[k, r]`` with 1 for those (pair ``k`` in the order
    ``i < j``): they count zero here, and :func:`_rare_pairs` adds them. Per pair, three
    loops over the replicas: the row and local coordinate from the bits of ``r^2``
    (vectorized), the row's four coefficients copied (scalar: the compiler does not
    vectorize this gather), the cubic and the forces (vectorized).
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
    pair = 0
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
                ok = (x2 >= lo) & (x2 < hi)
                xm[r] = x2 if ok else -lo
                flag[pair, r] = not ok
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
            pair += 1
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
def _batch(pos, eps, inv, p, block, sa, energies, forces):
    """Energies (R,) and forces (R, N, 3) of every replica, in blocks of up to
    ``_BLOCK`` replicas transposed to structure-of-arrays rows (atoms x replicas):
    ``block`` is :func:`_block_exact` or :func:`_block_table` with its parameters ``p``
    (:func:`_block_args`). ``sa`` (the :class:`SliceArgs`, None at width 0: numba then
    compiles no table code here) serves the pairs the table block left out
    (:func:`_rare_pairs`)."""
    nrep, n, _ = pos.shape
    size = min(_BLOCK, nrep)
    npair = n * (n - 1) // 2 if sa is not None else 0
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
        flag = np.empty((npair, m), dtype=np.bool_)
        block(xs, ys, zs, fx, fy, fz, e, nrare, flag, inv, p)
        for r in range(m):
            energies[s + r] = eps * e[r]
            for a in range(n):
                forces[s + r, a, 0] = eps * fx[a, r]
                forces[s + r, a, 1] = eps * fy[a, r]
                forces[s + r, a, 2] = eps * fz[a, r]
        if sa is not None:
            for r in range(m):
                if nrare[r] > 0:
                    energies[s + r] += _rare_pairs(pos[s + r], flag, r, sa, forces[s + r])


@nb.njit(cache=True)
def _rare_pairs(x, flag, r, sa, f):
    """The pairs of one replica (positions ``x``) flagged in column ``r`` of ``flag`` by
    :func:`_block_table`, through the general row kernel
    (:func:`ase_gausslj.core.kernels._pair_row`: the closed forms inside ``r_core + 0.1``,
    the heat-kernel tail beyond ``r_max``): adds their forces to ``f``, returns their
    energy (NaN at a non-finite distance, which the caller then reports). The flags, not
    a second test of ``r^2``, say which pairs: every pair is counted once."""
    n = x.shape[0]
    buf = _rare_buffers()
    # the Verlet-list loops' queue, flushed into plain forces (no cutoff: all pairs count)
    out = Outputs(f, np.zeros(0), np.zeros((3, 3)), np.zeros((0, 3, 3)), False, False)
    cut = Cutoff(np.inf, 0, 0.0)
    etot = 0.0
    m = 0
    pair = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            if flag[pair, r]:
                dx = x[j, 0] - x[i, 0]
                dy = x[j, 1] - x[i, 1]
                dz = x[j, 2] - x[i, 2]
                r2 = dx * dx + dy * dy + dz * dz
                if not r2 == r2:  # never into the table lookups
                    return np.nan
                m = _queue(m, i, j, 0, dx, dy, dz, r2, buf)
                if m == _RARE:
                    etot += _flush(m, buf, out, cut, sa)
                    m = 0
            pair += 1
    return etot + _flush(m, buf, out, cut, sa)


@nb.njit(cache=True, parallel=True)
def _batch_parallel(n_chunks, pos, eps, inv, p, block, sa, energies, forces):
    """:func:`_batch` over ``n_chunks`` contiguous blocks of replicas, one per thread."""
    nrep = pos.shape[0]
    for c in nb.prange(n_chunks):
        lo = c * nrep // n_chunks
        hi = (c + 1) * nrep // n_chunks
        _batch(pos[lo:hi], eps, inv, p, block, sa, energies[lo:hi], forces[lo:hi])


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


def _run(pos, sa, energies, forces, threads):
    """The block loop, in ``threads`` chunks of replicas (1: the calling thread)."""
    args = (*_block_args(sa), None if sa.exact else sa, energies, forces)
    if threads > 1:
        with _threads(threads):
            _batch_parallel(threads, pos, *args)
    else:
        _batch(pos, *args)


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
    threads = max(1, min(int(threads), nb.config.NUMBA_NUM_THREADS, pos.shape[0]))
    _run(pos, sa, energies, forces, threads)
    if not np.all(np.isfinite(energies)):
        raise FloatingPointError("non-finite energy in a replica")
    return energies, forces
