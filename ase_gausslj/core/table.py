"""Reduced 2-D table of the smoothed LJ potential ``F(r, s)`` and its 1-D width slices.

One reduced table serves every pair type of a mixture: with well depth ``eps`` and length
``sig``, ``V_s(r) = eps * F(r / sig, s / sig)``.

Layout
------
* **r (rows of a slice)**: piecewise-uniform segments, so a kernel finds the interval with a
  couple of comparisons and one multiply: ``[0, r_in]`` (``r_in = r_core - 0.1``),
  a fine segment around ``r_core`` (spacing 5e-4, where the regularization's jump in the
  second derivative is smoothed over a length ~ the width), then coarser segments up to
  ``r_max``. ``r_core`` is a node, so width 0 is represented piecewise.
* **width (columns)**: ``s_k = c (exp(k d) - 1)``: spacing 1.75e-4 near 0 (where features
  near ``r_core`` have the width's own length scale), 3.5 % relative spacing at large widths.
  ``V_s`` is even in ``s``, so the grid is mirrored to ``-s_k`` for interpolation near 0.
* **Near r = 0** the affine core ``a + b u`` smooths to ``a + b M(r)`` with
  ``M(r) = E|x + sqrt(2) s Z|`` in closed form (:func:`.closed_forms.cone_smoothing`),
  a feature of size ``~ b s`` on the length scale ``s`` that no fixed grid resolves at small
  ``s``. The inner segment therefore stores the remainder ``V - a - b M`` (smooth there: its
  nearest non-smoothness is ``r_core``) and the lookup adds ``a + b M`` back.
* **Around r_core** the jumps of the 2nd and 3rd derivatives of ``g = u V`` smooth into a
  feature of width ~ s (amplitude ~ s^2 V''(r_core)); the fine segment stores
  ``V - K`` with ``K`` the smoothed jump polynomial in closed form (truncated Gaussian
  moments, :func:`.closed_forms.kink_eval`), faded out above s ~ 0.05 where the grid resolves it.
* **Beyond r_max**: the heat-kernel series ``exp(s^2 Δ)`` applied to ``4(r^-12 - r^-6)``,
  with ``Δ r^-n = n (n - 1) r^-(n+2)`` (the 3-D radial Laplacian), i.e.
  ``V_s(r) = sum_k s^(2k)/k! Δ^k V(r)``; the contribution of the regularized core is
  ``~ exp(-(r - r_core)^2 / 4 s^2)`` there (below 1e-30 by construction of ``r_max``).

A slice at width ``s`` (one per pair type and width) is built by 8-point Lagrange
interpolation of the nodal values ``V`` and ``dV/dr`` along the width axis, then stored as
per-interval cubic Hermite coefficients: the force is the exact derivative of the
interpolated energy (C1 in r), so MD at fixed width conserves energy. The slice itself
and its construction from nodal values live in :mod:`.slices`; this module builds the
2-D grid (layout, nodal values, disk cache) and hands out slices.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import time

import numba as nb
import numpy as np

from .cache import cached_arrays
from .closed_forms import (
    TAIL_TERMS,
    cone_smoothing,
    heat_series,
    kink_array,
    kink_coefficients,
    lj_affine_coefficients,
    tail_coefficients,
)
from .defaults import R_CORE, WIDTH_LIMIT, WIDTH_MAX
from .pair_terms import R2_BITS
from .potential import _GL_W_FAST, _GL_X_FAST, _QUAD_FAST, _reg_lj, _smoothed_scalar
from .slices import TableSlice, hermite_coefficients, lagrange_weights, r_cubic, slice_eval
from .validation import check_finite_nonneg, check_r_core, check_width

__all__ = ["SmoothedLJTable", "get_table"]

# bump _VERSION when the node values' definition changes in a way the cache key below
# does not see (the key already holds the grid, quadrature, fade and tail settings)
_VERSION = "9"
_KINK_FADE = 0.05
_NODE_TAIL_TERMS = 80  # terms of the heat-kernel series at far nodes (stops when negligible)
# r segments: [0, r_core - 0.1, ~r_core + 0.1, max(2.5, ..), 6, r_max] and their spacings
_R_SPACING = (0.003, 5e-4, 0.0015, 0.01, 0.05)
_W_C = 0.005  # width grid s_k = c (exp(k d) - 1)


class SmoothedLJTable:
    """Reduced (r, width) table of the Gaussian-smoothed LJ potential.

    Parameters
    ----------
    width_max : float
        Largest reduced width (in units of sigma) the table covers. A width beyond it
        raises ValueError (no extrapolation).
    r_core : float
        Regularization radius in units of sigma (paper: ``R_CORE``).
    width_step : float
        Relative spacing of the width grid at large widths.

    Attributes
    ----------
    r_max : float
        Beyond this reduced distance the heat-kernel series is used:
        ``r_max = 8 + 10 sqrt(2) width_max``, rounded up to the square root of a node of
        the rows in ``r^2`` (by less than 0.03).
    build_seconds : float
        Wall time spent computing the nodal values (exact quadrature, numba-parallel).

    Notes
    -----
    Accuracy (measured by ``tests/core/test_table.py`` on held-out random points against
    the exact quadrature): see README. Values are stored at nodes for V and dV/dr; the
    width slices interpolate both along the width axis, then use cubic Hermite in r.
    """

    def __init__(
        self, width_max: float = WIDTH_MAX, r_core: float = R_CORE, width_step: float = 0.035
    ):
        width_max = check_width(width_max, "width_max", maximum=WIDTH_LIMIT,
                                limit_name="core.defaults.WIDTH_LIMIT")
        if width_max <= 0:
            raise ValueError(f"width_max must be > 0, got {width_max}")
        r_core = check_r_core(r_core)
        self.width_max = width_max
        self.r_core = r_core
        self.a, self.b = lj_affine_coefficients(r_core)
        self.core = np.array([self.a, self.b, r_core, *kink_coefficients(r_core)])
        self.r_max = 8.0 + 10.0 * math.sqrt(2.0) * width_max
        self._layout_r()
        self.width_step = float(width_step)
        self._layout_widths(self.width_step)
        t0 = time.perf_counter()
        computed = []

        def compute():
            computed.append(True)
            v, dv = self._node_values()
            return {"values": v, "derivs": dv}

        shape = (self.widths.size, self.r_nodes.size)
        arrays = cached_arrays(
            "table", self.cache_key(), compute,
            expect={"values": shape, "derivs": shape},
        )
        self.loaded_from_cache = not computed
        self.build_seconds = time.perf_counter() - t0 if computed else 0.0
        self._finish(arrays["values"], arrays["derivs"])

    def _layout_r(self):
        """Piecewise-uniform r segments; nodes duplicated at junctions so the inner
        segments can hold remainders while the next holds V itself. ``r_fine`` (about
        ``r_core + 0.1``) and ``r_max`` are rounded up to square roots of nodes of the
        rows in ``r^2`` (:func:`_r2_node_up`), so those rows start and end on them."""
        r_in = self.r_core - 0.1
        self._x2_lo = _r2_node_up((self.r_core + 0.1) ** 2)
        self._x2_hi = _r2_node_up(self.r_max ** 2)
        r_fine = math.sqrt(self._x2_lo)
        self.r_max = math.sqrt(self._x2_hi)
        bounds = [0.0, r_in, r_fine, max(2.5, r_fine + 0.5), 6.0, self.r_max]
        self.seg_lo = np.array(bounds, dtype=np.float64)
        self.seg_n = np.array(
            [max(1, math.ceil((bounds[k + 1] - bounds[k]) / _R_SPACING[k])) for k in range(5)],
            dtype=np.int64,
        )
        self.seg_inv_h = self.seg_n / np.diff(self.seg_lo)
        self.seg_off = np.concatenate([[0], np.cumsum(self.seg_n)[:-1]]).astype(np.int64)
        self.r_nodes = np.concatenate(
            [np.linspace(bounds[k], bounds[k + 1], int(self.seg_n[k]) + 1) for k in range(5)]
        )
        self._node_seg0 = int(self.seg_n[0]) + 1
        self._layout_r2()

    def _layout_r2(self):
        """Rows uniform in ``r^2`` within each octave (``2^R2_BITS`` per octave, see
        :func:`.pair_terms._r2_locate`) from ``r_fine^2`` to ``r_max^2``: the kernels look
        the common pairs up there with a shift of the float's bits (no square root, no
        division, no search). Each octave is a segment of its own for
        :func:`.slices.hermite_coefficients`."""
        lo, hi = self._x2_lo, self._x2_hi
        octaves = [lo]
        while octaves[-1] < hi:
            octaves.append(min(hi, 2.0 ** (math.frexp(octaves[-1])[1])))
        self._sq_bounds = np.array(octaves)
        h = np.array([2.0 ** (math.frexp(b)[1] - 1 - R2_BITS) for b in octaves[:-1]])
        self._sq_n = np.rint(np.diff(self._sq_bounds) / h).astype(np.int64)
        n_sq = int(self._sq_n.sum())
        off = int(self.seg_n.sum())
        # the kernels' combined layout: the r segments, then one entry for the r^2 rows
        # (its inverse spacing varies by octave and comes from the bits: NaN here)
        self.layout_lo = np.concatenate([self.seg_lo, [lo, hi]])
        self.layout_inv_h = np.concatenate([self.seg_inv_h, [np.nan]])
        self.layout_n = np.concatenate([self.seg_n, [n_sq]]).astype(np.int64)
        self.layout_off = np.concatenate([self.seg_off, [off]]).astype(np.int64)
        self._sq_nodes = np.sqrt(np.concatenate(
            [np.linspace(self._sq_bounds[k], self._sq_bounds[k + 1], int(self._sq_n[k]) + 1)
             for k in range(self._sq_n.size)]))

    def _layout_widths(self, width_step):
        c = _W_C
        n_w = math.ceil(math.log1p(self.width_max / c) / width_step)
        d = math.log1p(self.width_max / c) / n_w
        # 4 extra columns beyond width_max keep the interpolation stencil centred there
        self.widths = c * np.expm1(d * np.arange(n_w + 5))
        self.widths[n_w] = self.width_max

    def cache_key(self) -> dict:
        """Every input that changes the stored values (the :mod:`.cache` key)."""
        grid = hashlib.sha256(self.r_nodes.tobytes() + self.widths.tobytes()).hexdigest()
        return {
            "version": _VERSION, "r_core": self.r_core, "width_max": self.width_max,
            "width_step": self.width_step, "grid": grid[:16], "kink_fade": _KINK_FADE,
            "node_tail_terms": _NODE_TAIL_TERMS, "quad": [float(q) for q in _QUAD_FAST],
            "gl_order": int(_GL_X_FAST.size),
        }

    def _node_values(self):
        """V and dV/dr at every node, minus the closed-form core and kink parts."""
        rr, ww = np.meshgrid(self.r_nodes, self.widths)
        v = np.empty(rr.size)
        dv = np.empty(rr.size)
        ds = np.empty(rr.size)
        # costs vary by orders of magnitude across the grid: a fixed permutation balances
        # the threads' static chunks
        perm = np.random.default_rng(0).permutation(rr.size)
        _node_values(
            rr.ravel()[perm], ww.ravel()[perm], self.r_core, self.a, self.b, _GL_X_FAST,
            _GL_W_FAST, _QUAD_FAST, v, dv, ds,
        )
        v[perm], dv[perm] = v.copy(), dv.copy()
        v = v.reshape(rr.shape)
        dv = dv.reshape(rr.shape)
        n0 = self._node_seg0
        n1 = int(self.seg_n[1]) + 1
        for k, s in enumerate(self.widths):
            # inner segment: remainder after the closed-form smoothed affine core
            m, dm = cone_smoothing(self.r_nodes[:n0], math.sqrt(2.0) * s)
            v[k, :n0] -= self.a + self.b * m
            dv[k, :n0] -= self.b * dm
            # fine segment: remainder after the smoothed kink at r_core
            kk, dk = kink_array(self.r_nodes[n0 : n0 + n1], self._scalars(s), self.core)
            v[k, n0 : n0 + n1] -= kk
            dv[k, n0 : n0 + n1] -= dk
        return v, dv

    def _finish(self, v, dv):
        self.values = v
        self.derivs = dv
        # mirrored width axis (V is even in s) for interpolation near 0
        self._w_ext = np.concatenate([-self.widths[:0:-1], self.widths])
        self._v_ext = np.concatenate([v[:0:-1], v])
        self._dv_ext = np.concatenate([dv[:0:-1], dv])
        self.order = 8
        self._slice_cache = functools.lru_cache(maxsize=256)(self._make_slice)

    def __getstate__(self) -> dict:
        # the lru_cache of a bound method does not pickle, and the mirrored arrays are
        # derived: ship the nodal values, rebuild the rest on arrival
        state = self.__dict__.copy()
        for name in ("_slice_cache", "_w_ext", "_v_ext", "_dv_ext"):
            del state[name]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._finish(self.values, self.derivs)

    def _scalars(self, s: float) -> np.ndarray:
        fade = math.exp(-((s / _KINK_FADE) ** 2))
        return np.array([math.sqrt(2.0) * s, self.core[3] * fade, self.core[4] * fade])

    @property
    def shape(self) -> tuple[int, int]:
        """(number of widths, number of r nodes)."""
        return self.values.shape

    def check_width(self, width, name: str = "width") -> float:
        """A reduced width within the table (a relative 1e-12 beyond ``width_max`` is
        rounding and is clipped); ValueError naming ``name`` otherwise."""
        w = check_width(width, name)
        if self.width_max < w <= self.width_max * (1 + 1e-12):
            w = self.width_max
        return check_width(
            w, name, maximum=self.width_max,
            limit_name="the table's width_max; build a table with a larger width_max",
        )

    def slice(self, width: float) -> TableSlice:
        """The 1-D table at reduced ``width`` (cached; ~0.2-0.5 ms to build, measured 0.44 ms)."""
        return self._slice_cache(self.check_width(width))

    def slice_unchecked(self, width: float) -> TableSlice:
        """:meth:`slice` for a float ``width`` in ``[0, width_max]`` its caller validated."""
        return self._slice_cache(width)

    def _make_slice(self, w: float) -> TableSlice:
        if w == 0.0:
            v = self.values[0]
            dv = self.derivs[0]
        else:
            x = self._w_ext
            j = int(np.searchsorted(x, w, side="right")) - 1
            p = self.order
            j0 = min(max(j - (p // 2 - 1), 0), x.size - p)
            idx = slice(j0, j0 + p)
            lw = lagrange_weights(x[idx], w)
            v = lw @ self._v_ext[idx]
            dv = lw @ self._dv_ext[idx]
        coef = hermite_coefficients(v, dv, self.seg_lo, self.seg_n)
        # the r^2 rows: the r cubic's value and slope at the r^2 nodes (dV/d(r^2) =
        # V'/2r), interpolated again; both grids are fine, so the two errors stay of the
        # r table's size (tests/core/test_table.py checks the result against quadrature)
        r = self._sq_nodes
        vs, dvs = r_cubic(r, coef, self.seg_lo, self.seg_inv_h, self.seg_off, self.seg_n)
        sq = hermite_coefficients(vs, dvs / (2.0 * r), self._sq_bounds, self._sq_n)
        ta, tb = tail_coefficients(w, TAIL_TERMS)
        return TableSlice(
            width=w, coef=np.ascontiguousarray(np.concatenate([coef, sq])),
            seg_lo=self.layout_lo, seg_inv_h=self.layout_inv_h, seg_off=self.layout_off,
            seg_n=self.layout_n, core=self.core, scalars=self._scalars(w), tail_a=ta,
            tail_b=tb,
        )

    def evaluate(self, r, width):
        """Interpolated reduced ``(F, dF/dr)``; ``r`` and ``width`` broadcast.

        Points sharing a width share one slice, so evaluating many distances at a few
        widths is cheap.
        """
        r = check_finite_nonneg(r, "r")
        w = check_finite_nonneg(width, "width")
        if w.size:
            self.check_width(float(w.max()))
        rb, wb = np.broadcast_arrays(r, w)
        out_v = np.empty(rb.shape)
        out_dv = np.empty(rb.shape)
        for wv in np.unique(wb):
            mask = wb == wv
            sl = self.slice(float(wv))
            v, dv = slice_eval(np.ascontiguousarray(rb[mask]), sl)
            out_v[mask] = v
            out_dv[mask] = dv
        return out_v, out_dv


@nb.njit(cache=True, parallel=True)
def _node_values(r, s, rc, a, b, glx, glw, quad, out_v, out_dv, out_ds):
    """Nodal values: the heat-kernel series where the regularized core is out of reach
    (``(r - rc)^2 / 4 s^2 > 50``, its weight below e^-50), quadrature elsewhere."""
    for i in nb.prange(r.size):
        if s[i] == 0.0:
            out_v[i], out_dv[i] = _reg_lj(r[i], rc, a, b)
        elif r[i] - rc > 2.0 * s[i] * math.sqrt(50.0):
            out_v[i], out_dv[i] = heat_series(r[i], s[i], _NODE_TAIL_TERMS)
        else:
            out_v[i], out_dv[i], out_ds[i] = _smoothed_scalar(
                r[i], s[i], rc, a, b, glx, glw, quad
            )


def _r2_node_up(x2: float) -> float:
    """The smallest node of the rows in ``r^2`` at or above ``x2 > 0``: a multiple of
    ``2^(e - R2_BITS)`` in the octave ``[2^e, 2^(e + 1))`` of ``x2``."""
    e = math.frexp(x2)[1] - 1
    h = 2.0 ** (e - R2_BITS)
    return math.ceil(x2 / h) * h


_TABLES: dict[tuple[float, float], SmoothedLJTable] = {}


def get_table(r_core: float = R_CORE, width_max: float = WIDTH_MAX) -> SmoothedLJTable:
    """Process-wide cached table; a request within an existing table's range reuses it.

    The environment variable ``GAUSSLJ_WIDTH_MAX`` raises the default ``width_max``.
    """
    width_max = max(float(width_max), float(os.environ.get("GAUSSLJ_WIDTH_MAX", 0.0)))
    for (rc, wm), tab in _TABLES.items():
        if rc == float(r_core) and wm >= width_max:
            return tab
    tab = SmoothedLJTable(width_max=width_max, r_core=r_core)
    _TABLES[(float(r_core), width_max)] = tab
    return tab
