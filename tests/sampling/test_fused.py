"""The compiled sampler passes equal the numpy expressions they replace (to rounding)."""

from __future__ import annotations

import numpy as np
import pytest

from ase_gausslj.sampling.fused import energy_terms, langevin_proposal
from ase_gausslj.sampling.kernels import tamed_step_sizes
from ase_gausslj.sampling.targets import LJClusterTarget, project_com_free


@pytest.mark.parametrize("lam, max_drift", [(0.0, 0.0), (0.3, 0.5), (1.0, 2.0)])
def test_proposal_equals_numpy(lam, max_drift):
    rng = np.random.default_rng(1)
    x = project_com_free(rng.normal(size=(7, 5, 3)))
    g_tot = 50.0 * rng.normal(size=x.shape)
    xi = rng.normal(size=x.shape)
    hs = rng.uniform(1e-4, 1e-2, size=7)
    pv, kt = 2.25, 0.7
    grad = lam * x / pv + (1 - lam) * g_tot / kt
    xi_p = project_com_free(xi)
    hx_ref = tamed_step_sizes(hs, grad, max_drift or None)
    hb = hx_ref[:, None, None]
    y_ref = project_com_free(x - hb * grad + np.sqrt(2 * hb) * xi_p)
    y, hx, finite = langevin_proposal(x, g_tot, xi, hs, lam, pv, kt, max_drift)
    assert finite
    np.testing.assert_allclose(hx, hx_ref, rtol=1e-14)
    np.testing.assert_allclose(xi, xi_p, rtol=0, atol=1e-14)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-13)
    if max_drift:  # taming bounds the drift of every atom
        drift = np.linalg.norm(hb * grad, axis=2).max(axis=1)
        assert np.all(drift <= max_drift * (1 + 1e-12))


def test_proposal_flags_non_finite():
    x = np.zeros((2, 3, 3))
    g = np.zeros_like(x)
    g[1, 0, 0] = np.inf
    _, _, finite = langevin_proposal(x, g, np.zeros_like(x), np.full(2, 1e-3), 0.0, 1.0,
                                     1.0, 0.0)
    assert not finite


def test_energy_terms_equal_numpy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 6, 3)) + 3.0  # not COM-free: the harmonic term removes xbar
    target = LJClusterTarget(6, harmonic=0.7)
    e_lj = rng.normal(size=4)
    g_lj = rng.normal(size=x.shape)
    e_h, g_h = target.harmonic_energy_gradient(x)
    g = g_lj.copy()
    e_tot, e_prior = energy_terms(x, e_lj, g, 0.7, 1.7)
    np.testing.assert_allclose(e_tot, e_lj + e_h, rtol=1e-13)
    np.testing.assert_allclose(g, g_lj + g_h, rtol=0, atol=1e-13)
    np.testing.assert_allclose(e_prior, 0.5 * np.einsum("rij,rij->r", x, x) / 1.7, rtol=1e-13)
