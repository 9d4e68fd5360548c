"""Tests of the LJ-cluster sampling target (energies, gradients, measure convention)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from ase_gausslj.sampling.targets import LJClusterTarget, com_free_dim, project_com_free

R_CORE = 0.8


def _reg_lj(r):
    """Regularized LJ written independently of the package."""
    r = np.asarray(r, dtype=float)
    v0 = 4 * (R_CORE**-12 - R_CORE**-6)
    dv0 = 4 * (-12 * R_CORE**-13 + 6 * R_CORE**-7)
    safe = np.maximum(r, R_CORE)
    return np.where(r > R_CORE, 4 * (safe**-12 - safe**-6), v0 + dv0 * (r - R_CORE))


def _direct_energy(x, c):
    n = x.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            e += _reg_lj(np.linalg.norm(x[i] - x[j]))
    d = x - x.mean(axis=0)
    return e + 0.5 * c * np.sum(d * d)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(42)


def test_energy_matches_direct_sum(rng):
    x = rng.normal(size=(4, 7, 3)) * 1.1  # includes some pairs inside the core
    t = LJClusterTarget(7, harmonic=0.7)
    e, g, e_lj = t.energy_gradient(x, 0.0)
    want = [_direct_energy(xi, 0.7) for xi in x]
    np.testing.assert_allclose(e, want, rtol=1e-9, atol=1e-9)
    harm = [_direct_energy(xi, 0.7) - _direct_energy(xi, 0) for xi in x]
    np.testing.assert_allclose(e - e_lj, harm, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("width", [0.0, 0.1, 0.7])
def test_gradient_finite_differences(rng, width):
    t = LJClusterTarget(5, harmonic=1.3)
    x = rng.normal(size=(2, 5, 3)) * 1.3
    _, g, _ = t.energy_gradient(x, width)
    eps = 1e-6
    for idx in [(0, 0, 0), (0, 3, 2), (1, 4, 1), (1, 1, 0)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        fd = (t.energy(xp, width)[idx[0]] - t.energy(xm, width)[idx[0]]) / (2 * eps)
        assert fd == pytest.approx(g[idx], rel=1e-5, abs=1e-6)


def test_translation_invariance_and_zero_net_gradient(rng):
    t = LJClusterTarget(6, harmonic=2.0)
    x = rng.normal(size=(3, 6, 3))
    e1, g, _ = t.energy_gradient(x, 0.2)
    e2 = t.energy(x + np.array([0.3, -1.0, 2.0]), 0.2)
    np.testing.assert_allclose(e1, e2, rtol=1e-10)
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-9)


def test_unbatched_and_pure_harmonic(rng):
    t = LJClusterTarget(4, harmonic=3.0, lj=False)
    x = rng.normal(size=(4, 3))
    e, g, e_lj = t.energy_gradient(x)
    d = x - x.mean(0)
    assert e == pytest.approx(1.5 * np.sum(d * d))
    assert e_lj == 0.0
    np.testing.assert_allclose(g, 3.0 * d)
    assert t.log_density(x) == pytest.approx(-e / t.kT)


def test_harmonic_log_z_measure_convention():
    """N = 2: the COM-free subspace has orthonormal coordinate z = r / sqrt(2)."""
    c, kT = 1.7, 0.6
    t = LJClusterTarget(2, harmonic=c, kT=kT, lj=False)
    val, _ = quad(lambda r: 4 * np.pi * r**2 * np.exp(-c * r**2 / (4 * kT)), 0, np.inf)
    assert t.harmonic_log_z() == pytest.approx(np.log(val / 2**1.5), rel=1e-10)
    assert com_free_dim(13) == 36 == LJClusterTarget(13).dim


def test_project_com_free(rng):
    x = project_com_free(rng.normal(size=(3, 5, 3)) + 4.0)
    np.testing.assert_allclose(x.mean(axis=1), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_atoms=1), "n_atoms"),
        (dict(n_atoms=2.5), "n_atoms"),
        (dict(n_atoms=3, harmonic=-1.0), "harmonic"),
        (dict(n_atoms=3, kT=0.0), "kT"),
        (dict(n_atoms=3, kT=float("nan")), "kT"),
    ],
)
def test_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LJClusterTarget(**kwargs)


def test_bad_positions_and_width():
    t = LJClusterTarget(3)
    with pytest.raises(ValueError, match="positions"):
        t.energy(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="positions"):
        t.energy(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="width"):
        t.energy(np.eye(3), -0.1)
    with pytest.raises(ValueError, match="harmonic"):
        LJClusterTarget(3, harmonic=0.0).harmonic_log_z()
