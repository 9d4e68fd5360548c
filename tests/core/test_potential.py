"""Exact smoothed LJ against independent mpmath quadrature, limits and identities."""

import json
import os

import numpy as np
import pytest
from scipy.special import erf

from ase_gausslj import regularized_lj, smoothed_coulomb, smoothed_lj, smoothed_lj_dwidth
from ase_gausslj.core.potential import cone_smoothing, lj_affine_coefficients

DATA = os.path.join(os.path.dirname(__file__), "data", "smoothed_lj_reference.json")


def load_reference():
    with open(DATA) as fh:
        pts = json.load(fh)["points"]
    return (np.array([p[k] for p in pts]) for k in ("r", "width", "V", "dV_dr"))


def test_matches_mpmath_reference():
    r, w, v_ref, dv_ref = load_reference()
    v, dv = smoothed_lj(r, w)
    err_v = np.abs(v - v_ref) / np.maximum(1.0, np.abs(v_ref))
    err_dv = np.abs(dv - dv_ref) / np.maximum(1.0, np.abs(dv_ref))
    assert err_v.max() <= 1e-9, (r[err_v.argmax()], w[err_v.argmax()], err_v.max())
    assert err_dv.max() <= 1e-7, (r[err_dv.argmax()], w[err_dv.argmax()], err_dv.max())


def test_width_zero_is_regularized_lj():
    r = np.array([0.0, 0.3, 0.8, 0.9, 1.0, 2 ** (1 / 6), 2.5, 30.0])
    v, dv = smoothed_lj(r, 0.0)
    a, b = lj_affine_coefficients(0.8)
    lj = 4 * (r[3:] ** -12 - r[3:] ** -6)
    dlj = 4 * (-12 * r[3:] ** -13 + 6 * r[3:] ** -7)
    np.testing.assert_allclose(v[3:], lj, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(dv[3:], dlj, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(v[:3], a + b * r[:3], rtol=1e-15)
    assert np.all(dv[:3] == b)
    # continuity of the regularization at r_core (value and slope)
    assert abs((a + b * 0.8) - 4 * (0.8**-12 - 0.8**-6)) < 1e-12


def test_small_width_tends_to_lj():
    """V_s = V + s^2 (V'' + 2V'/r) + O(s^4) away from the core (heat-kernel series)."""
    r = np.array([0.95, 1.12, 1.5, 3.0])
    s = 1e-4
    v, _ = smoothed_lj(r, s)
    v0, _ = regularized_lj(r)
    lap = 4 * (12 * 11 * r**-14 - 6 * 5 * r**-8)
    np.testing.assert_allclose(v, v0 + s**2 * lap, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("s", [0.01, 0.1, 0.3, 1.0, 2.5])
def test_derivative_matches_finite_difference(s):
    r = np.array([0.2, 0.79, 0.81, 1.1, 1.7, 4.0])
    h = 1e-6
    vp, _ = smoothed_lj(r + h, s)
    vm, _ = smoothed_lj(r - h, s)
    _, dv = smoothed_lj(r, s)
    np.testing.assert_allclose(dv, (vp - vm) / (2 * h), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("s", [0.02, 0.2, 0.7, 2.0])
def test_heat_equation_identity(s):
    """dV/d(s^2) = V'' + 2 V'/r (3-D radial Laplacian); dV/ds = 2 s (V'' + 2V'/r)."""
    r = np.array([0.5, 0.85, 1.2, 2.0, 5.0])
    h = 1e-5
    _, dvp = smoothed_lj(r + h, s)
    _, dvm = smoothed_lj(r - h, s)
    _, dv = smoothed_lj(r, s)
    lap = (dvp - dvm) / (2 * h) + 2 * dv / r
    dws = smoothed_lj_dwidth(r, s)
    np.testing.assert_allclose(dws, 2 * s * lap, rtol=2e-6, atol=1e-6)
    # and against a finite difference in the width itself
    vp, _ = smoothed_lj(r, s + 1e-6)
    vm, _ = smoothed_lj(r, s - 1e-6)
    np.testing.assert_allclose(dws, (vp - vm) / 2e-6, rtol=1e-6, atol=1e-6)


def test_r_zero_is_finite_and_flat():
    v, dv = smoothed_lj(np.array([0.0, 1e-9]), 0.4)
    assert np.isfinite(v).all()
    assert dv[0] == 0.0
    assert abs(v[1] - v[0]) < 1e-9 * abs(v[0])


def test_broadcasting_shapes():
    v, dv = smoothed_lj(np.linspace(0.5, 3, 6)[:, None], np.array([0.0, 0.1, 0.5]))
    assert v.shape == dv.shape == (6, 3)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"r": 1.0, "width": -0.1}, "width"),
        ({"r": -1.0, "width": 0.1}, "r"),
        ({"r": np.nan, "width": 0.1}, "r"),
        ({"r": 1.0, "width": np.inf}, "width"),
    ],
)
def test_bad_input_names_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        smoothed_lj(**kwargs)


def test_cone_smoothing_matches_noncentral_chi():
    """M(r) = E|x + sig Z| = sig E[sqrt(Y)], Y ~ noncentral chi^2(3, (r/sig)^2)."""
    from scipy import integrate, stats

    for r, sig in [(0.0, 0.5), (0.003, 0.5), (0.4, 0.3), (2.0, 0.5)]:
        if r == 0:
            m_ref = sig * stats.chi(3).mean()
        else:
            pdf = stats.ncx2(3, (r / sig) ** 2).pdf
            m_ref = sig * integrate.quad(lambda y, pdf=pdf: np.sqrt(y) * pdf(y), 0, np.inf,
                                         epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        m, _ = cone_smoothing(r, sig)
        assert abs(m - m_ref) < 1e-9 * m_ref


def test_smoothed_coulomb():
    r = np.array([0.0, 1e-6, 0.1, 1.0, 5.0])
    s = 0.3
    phi, dphi = smoothed_coulomb(r, s)
    assert phi[0] == pytest.approx(1 / (np.sqrt(np.pi) * s), rel=1e-12)
    assert dphi[0] == 0.0
    np.testing.assert_allclose(phi[2:], erf(r[2:] / (2 * s)) / r[2:], rtol=1e-13)
    h = 1e-6
    fd = (smoothed_coulomb(r[2:] + h, s)[0] - smoothed_coulomb(r[2:] - h, s)[0]) / (2 * h)
    np.testing.assert_allclose(dphi[2:], fd, rtol=1e-6)
    phi0, dphi0 = smoothed_coulomb(np.array([2.0]), 0.0)
    assert phi0[0] == 0.5 and dphi0[0] == -0.25
    with pytest.raises(ValueError, match="width"):
        smoothed_coulomb(1.0, -1.0)
