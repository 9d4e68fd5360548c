"""Annealed flow transport: configuration checks, result I/O, and an end-to-end run
against the exact LJ3 statistics (slow: JIT compilation takes about a minute)."""

from __future__ import annotations

import numpy as np
import pytest

from ase_gausslj.neural.aft_result import AFTResult

REASON = "the neural extra (jax, optax, equinox) is not installed"
jax = pytest.importorskip("jax", reason=REASON)
pytest.importorskip("equinox", reason=REASON)
pytest.importorskip("optax", reason=REASON)

from ase_gausslj.neural.aft import AFTConfig, run_aft, stage_parameters  # noqa: E402
from ase_gausslj.neural.ground_truth import lj3_ground_truth  # noqa: E402


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"path": "linear"}, "path"),
        ({"widths": (0.6, 1.1, 0.0)}, "non-increasing"),
        ({"widths": (1.1, 0.6)}, "end at 0"),
        ({"path": "mixture", "lambdas": (0.9, 0.0)}, "start at 1"),
        ({"n_train": 0}, "n_train"),
        ({"kT": 0.0}, "kT"),
        ({"mutation": "hmc"}, "mutation"),
        ({"ess_threshold": 2.0}, "ess_threshold"),
        ({"energy_backend": "torch"}, "energy_backend"),
    ],
)
def test_config_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        AFTConfig(**kw).validate()


def test_stage_parameters_and_confinement():
    cfg = AFTConfig()
    assert stage_parameters(cfg) == [(1.1, 0.0), (0.6, 0.0), (0.0, 0.0)]
    assert stage_parameters(AFTConfig(path="mixture")) == [(0.0, 1.0), (0.0, 0.5), (0.0, 0.0)]
    assert cfg.confinement == pytest.approx(40.0 / 1.21)


def test_result_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    res = AFTResult(positions=rng.normal(size=(5, 3, 3)), lj_energies=np.arange(5.0) - 2,
                    energies=np.arange(5.0), log_weights=np.log(np.full(5, 0.2)), log_z=1.5,
                    stages=[{"stage": 1, "flow": True, "ess": 4.0, "resampled": False}],
                    config={"path": "gaussian"}, wall_time=1.0)
    res.save(tmp_path / "r")
    back = AFTResult.load(tmp_path / "r")
    assert back.min_lj_energy == -2.0 and back.mean_lj_energy == pytest.approx(0.0)
    assert back.summary() == res.summary()
    cmp_ = res.compare(res.lj_energies, 0.0)
    assert cmp_["w1_lj_energy"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["gaussian", "mixture"])
def test_end_to_end_log_z(path):
    """Small run; the unbiased log Z estimate is compared with the quadrature (an
    independent computation); 0.1 is several standard errors at the ESS reached here."""
    cfg = AFTConfig(path=path, epochs=3, n_train=400, n_val=100, n_test=2000, seed=1)
    res = run_aft(cfg)
    gt = lj3_ground_truth(1.0 / cfg.kT, cfg.confinement / cfg.kT, n_samples=50_000)
    assert res.summary()["n_nonpositive_det"] == 0
    assert res.positions.shape == (2000, 3, 3)
    assert np.allclose(res.positions.mean(axis=1), 0.0, atol=1e-10)
    assert res.log_z == pytest.approx(gt.log_z, abs=0.1)
