"""Properties of ``smoothed_lj``: finite, equal to an independent quadrature, or an error.

The reference integrates the 3-D Gaussian average with ``scipy.integrate.quad``
(:mod:`slow_reference`); below width 1e-8 (where the Gaussian is narrower than quad
resolves at the scale of r) it is the width-0 value, which the exact V_s approaches as
O(width) near r = 0 (a cone) and O(width^2) elsewhere.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from slow_reference import lj_regularized, smoothed_pair
from strategies import distances, examples, widths

from ase_gausslj.core.defaults import R_CORE
from ase_gausslj.core.potential import smoothed_lj

# V'(r_core): the slope of the affine core, which bounds |dV_s/dr| everywhere inside
_B = abs(lj_regularized(R_CORE)[1])


@settings(max_examples=examples(100), deadline=None)
@given(r=distances, width=widths)
def test_smoothed_lj_agrees_with_quadrature(r, width):
    v, dv = (float(x) for x in smoothed_lj(r, width))
    assert math.isfinite(v) and math.isfinite(dv)
    if width >= 1e-8:
        v_ref, dv_ref = smoothed_pair(r, width)
        assert abs(v - v_ref) <= 1e-9 * (abs(v_ref) + 1.0)
        tol = 1e-8 * (abs(dv_ref) + 1.0) + 1e-10 * abs(v_ref) / max(r, 1e-3)
        if r < 1e-2 * math.sqrt(2.0) * width:  # the reference extrapolates the slope
            tol += 1e-4 * abs(dv_ref)
        assert abs(dv - dv_ref) <= tol
        return
    v0, dv0 = lj_regularized(r)
    # E|sqrt(2) s Z_3| = 4 s / sqrt(pi): the cone's offset; curvature terms are O(s^2)
    assert abs(v - v0) <= 1e-12 * abs(v0) + 2.3 * _B * width + 1e-9
    if r > 100.0 * width:
        assert abs(dv - dv0) <= 1e-9 * (abs(dv0) + 1.0) + 1e5 * width
    else:
        assert abs(dv) <= _B * (1 + 1e-9)


@pytest.mark.parametrize("r, width", [(5e-324, 0.0078125), (5e-324, 0.5)])
def test_subnormal_distance(r, width):
    # found by the property test above (smoothed_lj(5e-324, 0.0078125) was 0.0 instead
    # of 636.51), fixed in the core
    v, dv = (float(x) for x in smoothed_lj(r, width))
    v0 = float(smoothed_lj(0.0, width)[0])  # V_s is even and smooth: V_s(r) = V_s(0)
    assert v == pytest.approx(v0, rel=1e-12)
    assert abs(dv) < 1e-6


@settings(max_examples=examples(60), deadline=None)
@given(
    r=hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64]), hnp.array_shapes(
        min_dims=0, max_dims=3, max_side=4), elements=st.integers(0, 5)),
    width=st.sampled_from([0.0, 1e-12, 0.3, 1.7]),
)
def test_smoothed_lj_shapes_and_dtypes(r, width):
    v, dv = smoothed_lj(r, width)
    assert np.shape(v) == np.shape(r) and np.shape(dv) == np.shape(r)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(dv))
    # any dtype gives the float64 values; the array path equals the scalar path
    v64, dv64 = smoothed_lj(np.asarray(r, np.float64), width)
    np.testing.assert_array_equal(v, v64)
    np.testing.assert_array_equal(dv, dv64)
    flat = np.ravel(np.asarray(r, np.float64))
    if flat.size:
        one = smoothed_lj(float(flat[-1]), width)
        assert np.ravel(v)[-1] == float(one[0]) and np.ravel(dv)[-1] == float(one[1])


@settings(max_examples=examples(40), deadline=None)
@given(r=st.floats(0.0, 5.0), width=st.floats(0.0, 2.0))
def test_smoothed_lj_broadcasts(r, width):
    grid_r = np.array([[r], [r + 1.0]])
    grid_w = np.array([0.0, width, 2 * width])
    v, dv = smoothed_lj(grid_r, grid_w)
    assert v.shape == (2, 3)
    assert float(v[1, 1]) == float(smoothed_lj(r + 1.0, width)[0])


_NAN, _INF = float("nan"), float("inf")


@pytest.mark.parametrize("r, width, r_core, name", [
    (-0.1, 0.3, R_CORE, "r"),
    (_NAN, 0.3, R_CORE, "r"),
    (_INF, 0.3, R_CORE, "r"),
    ("x", 0.3, R_CORE, "r"),
    (1.0, -0.1, R_CORE, "width"),
    (1.0, _NAN, R_CORE, "width"),
    (1.0, _INF, R_CORE, "width"),
    (1.0, "x", R_CORE, "width"),
    (1.0, 0.3, 0.0, "r_core"),
    (1.0, 0.3, _NAN, "r_core"),
    (1.0, 0.3, -1.0, "r_core"),
])
def test_smoothed_lj_bad_input_names_the_argument(r, width, r_core, name):
    with pytest.raises((ValueError, TypeError), match=name):
        smoothed_lj(r, width, r_core)
