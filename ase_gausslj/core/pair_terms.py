"""What the pair kernels take, named, and the pair terms they share (inlined).

:class:`SliceArgs` holds the pair terms of one potential at one width (built once per width
by ``SmoothedLJ.kernel_args``), :class:`Cutoff` a pair list's cutoff and :class:`Outputs`
where a kernel writes; numba takes these NamedTuples as arguments, so the kernels of
:mod:`.kernels`, :mod:`.csr_kernels` and :mod:`.batch` have short signatures and read fields
by name. The per-pair formulas (:func:`_lj_term`, :func:`_core_term`, :func:`_table_term`,
:func:`_r2_locate`, :func:`exact_pair`, :func:`table_pair`, :func:`apply_cutoff`) are
written once here and inlined (``inline="always"``) into every loop: an inlined helper
costs nothing, while a called one taking arrays would be reference-counted at every pair.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["N_RSEG", "R2_BITS", "Cutoff", "Outputs", "SliceArgs", "exact_pair", "outputs",
           "table_pair"]

#: r segments of a table slice; the rows in r^2 follow (:class:`.table.TableSlice`)
N_RSEG = 5
#: The rows in ``r^2`` are indexed by the float's bits (exponent and the top ``R2_BITS``
#: bits of the mantissa): ``2^R2_BITS`` rows per octave of ``r^2``, i.e. a relative
#: spacing of at most ``2^-R2_BITS``, found with a shift and no comparison.
R2_BITS = 9
_R2_SHIFT = 52 - R2_BITS
_R2_MASK = (1 << _R2_SHIFT) - 1
_R2_SCALE = 2.0 ** -_R2_SHIFT
# biased exponent of 1 / (row width) is this minus the biased exponent of r^2
_R2_INV_H_BIAS = 2046 + R2_BITS


class SliceArgs(NamedTuple):
    """The pair terms of one potential at one width, as the kernels take them.

    Built once per width (``SmoothedLJ.kernel_args``, cached); every array is
    C-contiguous float64 (int64 for ``seg_off``, ``seg_n``), so all widths share one numba
    type and one compilation serves a whole smoothing ladder.

    Attributes
    ----------
    exact : bool
        The analytic regularized LJ (width 0, or reduced widths below 1e-8); the table
        fields are then placeholders.
    prm : ndarray (types, 3)
        Per pair type ``(eps, 1 / sig, energy at the cutoff)`` (the last 0 without a shift).
    coef : ndarray (types, rows, 4)
        Per pair type the slice's cubics (:class:`.table.TableSlice` ``coef``).
    seg_lo, seg_inv_h, seg_off, seg_n : ndarray
        The segment layout shared by every type (r segments, then the r^2 ones).
    core : ndarray (5,)
        ``(a, b, r_core, c2, c3)``: the affine core ``a + b u`` and the kink coefficients.
    scalars : ndarray (types, 3)
        Per pair type the slice's ``scalars`` (``sqrt(2) s``, faded kink coefficients).
    tail_a, tail_b : ndarray (types, terms)
        Per pair type the heat-kernel tail coefficients (beyond ``r_max``).
    """

    exact: bool
    prm: np.ndarray
    coef: np.ndarray
    seg_lo: np.ndarray
    seg_inv_h: np.ndarray
    seg_off: np.ndarray
    seg_n: np.ndarray
    core: np.ndarray
    scalars: np.ndarray
    tail_a: np.ndarray
    tail_b: np.ndarray


class Cutoff(NamedTuple):
    """A pair list's cutoff: pairs at ``r^2 >= rc2`` are skipped; ``mode`` 0 none, 1 shift
    by ``prm[t, 2]``, 2 ASE's smooth taper between ``ro2`` and ``rc2`` (all in r^2), 3
    OpenMM's switching function between ``sqrt(ro2)`` and ``sqrt(rc2)``."""

    rc2: float
    mode: int
    ro2: float


class Outputs(NamedTuple):
    """Where a kernel writes: ``forces`` (N, 3) always; per-atom ``energies`` (N,) when
    ``want_atoms``, ``virial`` (3, 3) when ``want_virial``, per-atom ``atom_vir`` (N, 3, 3)
    when both (empty placeholders otherwise)."""

    forces: np.ndarray
    energies: np.ndarray
    virial: np.ndarray
    atom_vir: np.ndarray
    want_atoms: bool
    want_virial: bool


def outputs(forces, energies=None, virial=None, atom_vir=None) -> Outputs:
    """:class:`Outputs` with empty placeholders for the arrays not asked for."""
    return Outputs(
        forces,
        np.zeros(0) if energies is None else energies,
        np.zeros((3, 3)) if virial is None else virial,
        np.zeros((0, 3, 3)) if atom_vir is None else atom_vir,
        energies is not None,
        virial is not None,
    )


# -- the pair terms, written once and inlined into every loop -----------------------------
@nb.njit(cache=True, inline="always")
def _lj_term(x2, eps, inv2):
    """``(e, g = (dV/dr) / r)`` of ``eps 4 (u^-12 - u^-6)`` at ``u^2 = x2`` (``inv2 =
    sig^-2``): the regularized LJ beyond ``r_core``."""
    i2 = 1.0 / x2
    i6 = i2 * i2 * i2
    return eps * 4.0 * i6 * (i6 - 1.0), -eps * inv2 * (48.0 * i6 - 24.0) * i6 * i2


@nb.njit(cache=True, inline="always")
def _core_term(rr, eps, inv, a, b):
    """``(e, g)`` of the affine core ``eps (a + b r / sig)`` inside ``r_core``; ``g`` is 0 at
    ``r = 0`` (the core's force has no direction there)."""
    return eps * (a + b * rr * inv), (eps * inv * b / rr if rr > 0.0 else 0.0)


@intrinsic
def _f64_bits(typingctx, x):
    """The bits of a float64 as an int64 (a register move, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, b):
    """The float64 whose bits are the int64 ``b``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@nb.njit(cache=True, inline="always")
def _r2_locate(x2, base):
    """``(row, f, 1 / h)`` of ``x2 > 0`` in the rows in ``r^2``: the row counted from the
    one of code ``base`` (:func:`_r2_bounds`), the local coordinate in [0, 1) and the
    inverse row width, all from the float's bits (exact: the row starts where the bits
    below the row's are zero)."""
    b = _f64_bits(x2)
    return ((b >> _R2_SHIFT) - base, (b & _R2_MASK) * _R2_SCALE,
            _bits_f64((_R2_INV_H_BIAS - (b >> 52)) << 52))


@nb.njit(cache=True, inline="always")
def _table_term(x2, t, eps, inv2, coef, bnd, seg_lo, seg_inv_h, seg_off, seg_n):
    """``(e, g)`` from the cubic in ``x^2 = (r / sig)^2`` of the row in ``r^2`` holding
    ``x2`` (``bnd`` from :func:`_r2_bounds`; ``x2`` within ``[bnd[0], bnd[3])``). The row
    comes from the bits of ``x2`` (:func:`_r2_locate`): no segment search, no branch.
    ``seg_lo`` and ``seg_inv_h`` are not read (kept for the callers' uniform signature)."""
    q, f, inv_h = _r2_locate(x2, bnd[1])
    row = seg_off[N_RSEG] + q
    vv, dd = _cubic(coef[t, row, 0], coef[t, row, 1], coef[t, row, 2], coef[t, row, 3], f,
                    inv_h)
    # g = (dV/dr) / r = 2 dV/d(r^2)
    return eps * vv, 2.0 * eps * inv2 * dd


@nb.njit(cache=True, inline="always")
def _r2_bounds(sa):
    """``(lo, base, rows, hi, r_core^2)``: the range ``[lo, hi)`` of the rows in ``r^2``
    (reduced), the bit code of the first row and the number of rows (see
    :func:`_r2_locate`), and the core's ``r^2``."""
    lo = sa.seg_lo[N_RSEG + 1]
    return (lo, _f64_bits(lo) >> _R2_SHIFT, sa.seg_n[N_RSEG], sa.seg_lo[N_RSEG + 2],
            sa.core[2] * sa.core[2])


@nb.njit(cache=True, inline="always")
def exact_pair(r2, t, sa, bnd):
    """``(common, e, g)`` of one pair of type ``t`` at squared distance ``r2`` at width 0:
    ``common`` False (inside ``r_core``) leaves the pair to ``kernels._pair_row``'s affine
    core; ``bnd`` from :func:`_r2_bounds`."""
    eps = sa.prm[t, 0]
    inv = sa.prm[t, 1]
    x2 = r2 * inv * inv
    if x2 <= bnd[4]:
        return False, 0.0, 0.0
    e, g = _lj_term(x2, eps, inv * inv)
    return True, e, g


@nb.njit(cache=True, inline="always")
def table_pair(r2, t, sa, bnd):
    """``(common, e, g)`` of one pair at width > 0 from the r^2 cubics; ``common`` False
    (inside ``r_core + 0.1`` or beyond ``r_max``) leaves the pair to ``kernels._pair_row``'s
    rare path."""
    inv = sa.prm[t, 1]
    x2 = r2 * inv * inv
    if x2 < bnd[0] or x2 >= bnd[3]:
        return False, 0.0, 0.0
    e, g = _table_term(x2, t, sa.prm[t, 0], inv * inv, sa.coef, bnd, sa.seg_lo,
                       sa.seg_inv_h, sa.seg_off, sa.seg_n)
    return True, e, g


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
def apply_cutoff(e, g, r2, t, cut, prm):
    """Cutoff treatment (:class:`Cutoff`) of one pair's ``(e, g = V'/r)``."""
    mode = cut.mode
    rc2 = cut.rc2
    ro2 = cut.ro2
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
    elif mode == 3 and r2 > ro2:
        # OpenMM's switching function, in r: S = 1 - 10 x^3 + 15 x^4 - 6 x^5 on
        # x = (r - r_s) / (r_c - r_s); d(V S)/dr / r = g S + V S' / r
        r = np.sqrt(r2)
        rs = np.sqrt(ro2)
        span = np.sqrt(rc2) - rs
        x = (r - rs) / span
        s = 1.0 + x * x * x * (-10.0 + x * (15.0 - 6.0 * x))
        ds = x * x * (-30.0 + x * (60.0 - 30.0 * x)) / span
        g = g * s + e * ds / r
        e = e * s
    return e, g


@nb.njit(cache=True, inline="always")
def add_virial(virial, atom_vir, i, j, g, dx, dy, dz, want_atoms):
    """The pair's ``g d (x) d`` into the virial (and half to each atom's when asked)."""
    d = (dx, dy, dz)
    for p in range(3):
        for q in range(3):
            w = g * d[p] * d[q]
            virial[p, q] += w
            if want_atoms:
                atom_vir[i, p, q] += 0.5 * w
                atom_vir[j, p, q] += 0.5 * w
