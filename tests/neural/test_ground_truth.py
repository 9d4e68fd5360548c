"""LJ3 ground truth by quadrature (numpy only: runs without the neural extra)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from ase_gausslj.neural.ground_truth import expected_min, lj3_ground_truth
from ase_gausslj.sampling.targets import LJClusterTarget, project_com_free


@pytest.mark.parametrize("kappa", [0.3, 1.0, 2.5])
def test_gaussian_limit_log_z(kappa):
    # beta = 0: exp(-kappa |X|^2 / 2) on the 6-D COM-free subspace, log Z = 3 log(2 pi / kappa)
    gt = lj3_ground_truth(0.0, kappa, n_samples=0)
    assert gt.log_z == pytest.approx(3.0 * math.log(2.0 * math.pi / kappa), abs=1e-6)
    assert gt.mean_lj_energy == 0.0


@pytest.mark.parametrize("kt", [40.0, 2.0])
def test_matches_importance_sampling(kt):
    """Independent check: draws from the Gaussian, LJ energies from the numba kernels,
    self-normalized importance weights exp(-E_LJ / kT)."""
    kappa = 1.0 / 1.21
    gt = lj3_ground_truth(1.0 / kt, kappa, n_samples=0)
    rng = np.random.default_rng(7)
    n = 200_000
    x = project_com_free(rng.normal(scale=1.0 / math.sqrt(kappa), size=(n, 3, 3)))
    e, _ = LJClusterTarget(3).lj_energy_gradient(x, 0.0)
    lw = -e / kt
    w = np.exp(lw - lw.max())
    w /= w.sum()
    ess = 1.0 / np.sum(w**2)
    mean = float(np.sum(w * e))
    err = 5.0 * math.sqrt(float(np.sum(w * (e - mean) ** 2)) / ess)
    assert mean == pytest.approx(gt.mean_lj_energy, abs=err)
    log_z_is = 3.0 * math.log(2.0 * math.pi / kappa) + logsumexp(lw) - math.log(n)
    assert log_z_is == pytest.approx(gt.log_z, abs=5.0 / math.sqrt(ess))
    assert gt.std_lj_energy == pytest.approx(math.sqrt(np.sum(w * (e - mean) ** 2)), rel=0.1)


def test_draws_match_moments_and_geometry():
    gt = lj3_ground_truth(1.0 / 40.0, 1.0 / 1.21, n_samples=100_000, seed=3)
    a, b, c = gt.samples.T
    assert np.all(c <= a + b + 1e-9) and np.all(c >= np.abs(a - b) - 1e-9)
    se = gt.std_lj_energy / math.sqrt(gt.lj_energies.size)
    assert gt.lj_energies.mean() == pytest.approx(gt.mean_lj_energy, abs=5 * se + 0.02)
    assert gt.lj_energies.std() == pytest.approx(gt.std_lj_energy, rel=0.05)


def test_expected_min_uniform():
    # U(0, 1): E[min of n] = 1 / (n + 1)
    u = np.random.default_rng(0).random(400_000)
    for n in (1, 10, 100):
        assert expected_min(u, n) == pytest.approx(1.0 / (n + 1), abs=2e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="kappa"):
        lj3_ground_truth(1.0, 0.0)
    with pytest.raises(ValueError, match="beta"):
        lj3_ground_truth(-1.0, 1.0)
    with pytest.raises(ValueError, match="n"):
        expected_min([1.0, 2.0], 0)
