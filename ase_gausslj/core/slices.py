"""One width of the reduced table: the 1-D slice the kernels take, and how it is built.

A :class:`TableSlice` holds, at one reduced width, cubic Hermite coefficients per
interval of the table's piecewise-uniform r segments and of rows uniform in ``r^2``
within each octave (see :mod:`.table` for the layout and what the inner segments subtract);
:func:`hermite_coefficients` makes them from nodal values and slopes,
:func:`lagrange_weights` interpolates the nodal values along the width axis, and
:func:`slice_eval` evaluates a slice through the pair kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from .kernels import pair_values
from .pair_terms import SliceArgs

__all__ = ["TableSlice", "hermite_coefficients", "lagrange_weights", "r_cubic", "slice_eval"]


@dataclass(frozen=True)
class TableSlice:
    """The smoothed potential at one reduced width, as arrays the numba kernels take.

    ``coef[i]`` holds the cubic ``c0 + t (c1 + t (c2 + t c3))`` of interval ``i`` in the
    local coordinate ``t`` in [0, 1); segment ``k`` spans ``[seg_lo[k], seg_lo[k+1])`` with
    ``seg_n[k]`` intervals starting at row ``seg_off[k]``. Segment 0 holds the remainder
    ``V - a - b M_sig(r)`` and segment 1 the remainder ``V - K_sig(r)`` (see module
    docstring), with ``core = (a, b, r_core, c2, c3)`` and
    ``scalars = (sqrt(2) * width, c2 k(width), c3 k(width))``, where
    ``k(s) = exp(-(s / 0.05)^2)`` fades the kink subtraction out at widths where the
    kink is resolved by the grid anyway (and where ``K`` would grow like ``s^3``).

    The layout arrays hold the table's ``N_RSEG`` r segments first, then one entry for
    the rows in ``r^2`` (after the r rows: ``seg_off[N_RSEG]``, ``seg_n[N_RSEG]`` rows,
    range ``[seg_lo[N_RSEG + 1], seg_lo[N_RSEG + 2]) = [seg_lo[2]^2, r_max^2)``), where
    the cubic is in ``r^2`` and holds ``V`` itself: ``2^R2_BITS`` rows per octave of
    ``r^2``, which the kernels find from the float's bits
    (:func:`.pair_terms._r2_locate`; no square root, no division, no search) for the
    common pairs. ``seg_inv_h[N_RSEG]`` is NaN: that spacing varies by octave.
    """

    width: float
    coef: np.ndarray
    seg_lo: np.ndarray
    seg_inv_h: np.ndarray
    seg_off: np.ndarray
    seg_n: np.ndarray
    core: np.ndarray
    scalars: np.ndarray
    tail_a: np.ndarray
    tail_b: np.ndarray


@nb.njit(cache=True)
def hermite_coefficients(v, dv, seg_lo, seg_n):
    """Per-interval cubic Hermite coefficients from nodal values and slopes (compiled: an
    annealed OpenMM run builds dozens of slices per step)."""
    total = 0
    for k in range(seg_n.size):
        total += seg_n[k]
    c = np.empty((total, 4))
    row = 0
    start = 0
    for k in range(seg_n.size):
        n = seg_n[k]
        h = (seg_lo[k + 1] - seg_lo[k]) / n
        for i in range(n):
            v0 = v[start + i]
            v1 = v[start + i + 1]
            d0 = dv[start + i] * h
            d1 = dv[start + i + 1] * h
            c[row, 0] = v0
            c[row, 1] = d0
            c[row, 2] = 3.0 * (v1 - v0) - 2.0 * d0 - d1
            c[row, 3] = 2.0 * (v0 - v1) + d0 + d1
            row += 1
        start += n + 1
    return c


@nb.njit(cache=True)
def r_cubic(r, coef, seg_lo, seg_inv_h, seg_off, seg_n):
    """Value and r-derivative of the r cubics at ``r >= seg_lo[2]`` (where they hold V)."""
    m = r.size
    v = np.empty(m)
    dv = np.empty(m)
    last = seg_n.size - 1
    for p in range(m):
        k = min(max(np.searchsorted(seg_lo, r[p], side="right") - 1, 2), last)
        u = (r[p] - seg_lo[k]) * seg_inv_h[k]
        i = min(int(u), seg_n[k] - 1)
        f = u - i
        row = seg_off[k] + i
        c0, c1, c2, c3 = coef[row, 0], coef[row, 1], coef[row, 2], coef[row, 3]
        v[p] = c0 + f * (c1 + f * (c2 + f * c3))
        dv[p] = (c1 + f * (2.0 * c2 + 3.0 * f * c3)) * seg_inv_h[k]
    return v, dv


def lagrange_weights(nodes, x):
    w = np.ones(nodes.size)
    for j in range(nodes.size):
        for m in range(nodes.size):
            if m != j:
                w[j] *= (x - nodes[m]) / (nodes[j] - nodes[m])
    return w


def slice_eval(x, sl: TableSlice):
    """Reduced ``(F, dF/dr)`` of slice ``sl`` at distances ``x`` (C-contiguous float64)."""
    sa = SliceArgs(
        exact=False, prm=np.array([[1.0, 1.0, 0.0]]), coef=sl.coef[None], seg_lo=sl.seg_lo,
        seg_inv_h=sl.seg_inv_h, seg_off=sl.seg_off, seg_n=sl.seg_n, core=sl.core,
        scalars=sl.scalars[None], tail_a=sl.tail_a[None], tail_b=sl.tail_b[None],
    )
    return pair_values(x, 0, sa)
