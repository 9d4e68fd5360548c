"""Issue 10 (sampling): bad options, blow-ups, the annealing rule, Ctrl-C, stale results."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from ase_gausslj.sampling.kernels import StepSizeAdapter
from ase_gausslj.sampling.options import SMCOptions
from ase_gausslj.sampling.paths import path_schedule
from ase_gausslj.sampling.results import SMCResult, load_matching, params_key
from ase_gausslj.sampling.smc import run_smc, run_smc_repeats
from ase_gausslj.sampling.targets import LJClusterTarget
from ase_gausslj.sampling.weights import normalize_log_weights, reweight

ROOT = Path(__file__).resolve().parents[2]
SMALL = dict(n_replicas=6, n_steps=4)


# ------------------------------------------------------------------- option validation
@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(ratio=1.5), "ratio"),  # accepted before: only the geometric path looked at it
        (dict(ratio=0.0, path="mixture-linear"), "ratio"),
        (dict(n_replicas=0), "n_replicas"),
        (dict(n_steps=0), "n_steps"),
        (dict(kT=-1.0), "kT"),
        (dict(step_size=0.0), "step_size"),
        (dict(n_burnin=-1), "n_burnin"),
        (dict(final_moves=-2), "final_moves"),
        (dict(moves_per_level=0), "moves_per_level"),
        (dict(moves_per_level=2.5), "moves_per_level"),
        (dict(prior_std=0.0), "prior_std"),
        (dict(adapt_rate=-0.1), "adapt_rate"),
        (dict(target_accept=1.0), "target_accept"),
        (dict(min_width_ratio=1.0), "min_width_ratio"),
        (dict(step_jitter=-0.5), "step_jitter"),
        (dict(seed=-3), "seed"),
        (dict(seed=1.5), "seed"),
        (dict(width_start=float("nan")), "width_start"),
        (dict(width_end=-0.1), "width_end"),
        (dict(r_core=-1.0), "r_core"),
        (dict(harmonic=float("inf")), "harmonic"),
        (dict(resample="yes"), "resample"),
        (dict(adapt_step=1), "adapt_step"),
    ],
)
def test_out_of_range_options_are_refused(kwargs, name):
    kw = dict(SMALL, **kwargs)
    with pytest.raises(ValueError, match=name):
        run_smc(3, **kw)


def test_unknown_option_names_the_closest():
    with pytest.raises(TypeError, match="n_replicas"):
        run_smc(3, n_replica=4)
    with pytest.raises(TypeError, match="options"):
        run_smc(3, options={"n_replicas": 4})


def test_options_object_and_keywords_agree():
    opts = SMCOptions(path="mixture-linear", n_replicas=8, n_steps=5, seed=2)
    a = run_smc(3, opts)
    b = run_smc(3, path="mixture-linear", n_replicas=8, n_steps=5, seed=2)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert a.config == b.config
    c = run_smc(3, opts, seed=3)  # keywords override the options object
    assert not np.allclose(a.positions, c.positions)


def test_repeats_validate_before_running():
    with pytest.raises(ValueError, match="ratio"):
        run_smc_repeats(3, [0, 1], ratio=2.0, **SMALL)


# ------------------------------------------------------------------ the annealing rule
def test_increasing_widths_use_the_project_rule():
    """Same message as homotopy / ASE / OpenMM: widths never increase."""
    for path in ("gaussian", "gaussian-adaptive"):  # the adaptive path was not checked
        with pytest.raises(ValueError, match="annealing only removes smoothing"):
            run_smc(3, path=path, resample=True, width_start=0.5, width_end=1.0, **SMALL)
    with pytest.raises(ValueError, match="annealing only removes smoothing"):
        path_schedule("gaussian", 5, width_start=0.2, width_end=0.3)
    w, _ = path_schedule("gaussian", 5, width_start=0.3, width_end=0.3, n_burnin=1)
    np.testing.assert_array_equal(w, [0.3, 0.3, 0.3, 0.3, 0.3, 0.0])


# -------------------------------------------------------------------- blow-up detection
def test_unstable_step_raises_instead_of_zero_energies():
    # ULA on the harmonic part alone is unstable for step * c / kT > 2: |x| grows 9x per
    # step; before, 300 steps returned all-zero LJ energies without a word
    with pytest.raises(FloatingPointError, match="step_size"):
        run_smc(13, n_replicas=20, n_steps=300, step_size=10.0)


def test_evaporation_warns():
    with pytest.warns(RuntimeWarning, match="evaporated"):
        # without confinement the cluster is not bound: with a large step it flies apart
        res = run_smc(3, path="gaussian", n_replicas=20, n_steps=40, step_size=1.0,
                      harmonic=0.0, seed=1)
    assert np.all(np.abs(res.lj_energies) < 0.01)


def test_ordinary_run_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = run_smc(4, path="mixture-linear", n_replicas=20, n_steps=20, mutation="mala",
                      resample=True, seed=0)
    assert np.all(np.isfinite(res.lj_energies)) and not res.interrupted


# -------------------------------------------------------------------------------- Ctrl-C
class _InterruptAt:
    """Wrap an energy function so that its ``k``-th call raises KeyboardInterrupt once."""

    def __init__(self, fn, k: int):
        self.fn, self.k, self.calls = fn, k, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt
        return self.fn(*args, **kwargs)


@pytest.mark.parametrize("resample", [False, True])
def test_run_smc_interrupted_returns_partial_result(resample):
    full = run_smc(4, path="mixture-linear", n_replicas=10, n_steps=30, mutation="mala",
                   resample=resample, seed=1)
    target = LJClusterTarget(4)
    target.lj_energy_gradient = _InterruptAt(target.lj_energy_gradient, 25)
    res = run_smc(4, path="mixture-linear", n_replicas=10, n_steps=30, mutation="mala",
                  resample=resample, seed=1, target=target)
    assert res.interrupted and not full.interrupted
    assert 0 < res.widths.size < full.widths.size
    n = res.widths.size  # the completed steps are those of the uninterrupted run
    np.testing.assert_array_equal(res.lambdas, full.lambdas[:n])
    np.testing.assert_array_equal(res.step_sizes, full.step_sizes[:n])
    assert res.positions.shape == (10, 4, 3) and np.all(np.isfinite(res.lj_energies))
    assert np.isclose(np.exp(res.log_weights).sum(), 1.0)
    assert res.summary()["interrupted"] is True


def test_repeats_stop_at_the_interrupted_run(monkeypatch):
    wrapped = _InterruptAt(LJClusterTarget.lj_energy_gradient, 30)
    monkeypatch.setattr(LJClusterTarget, "lj_energy_gradient",
                        lambda self, *a, **k: wrapped(self, *a, **k))
    out = run_smc_repeats(3, [0, 1, 2, 3], path="mixture-linear", n_replicas=5, n_steps=20)
    # each run evaluates 21 times (20 steps + the final energies): the 30th call is in run 2
    assert [r.interrupted for r in out] == [False, True]


# ------------------------------------------------------------------------ stale results
def test_load_matching(tmp_path):
    path = tmp_path / "r.json"
    assert load_matching(path, {"a": 1}) is None
    path.write_text(json.dumps({"params": {"a": 1, "b": [1, 2]}, "value": 5}))
    assert load_matching(path, {"b": (1, 2), "a": 1})["value"] == 5
    with pytest.warns(UserWarning, match="other parameters"):
        assert load_matching(path, {"a": 2, "b": [1, 2]}) is None
    path.write_text(json.dumps({"value": 5}))
    with pytest.warns(UserWarning, match="no stored parameters"):
        assert load_matching(path, {"a": 1}) is None
    assert params_key({"a": 1, "b": 2}) == params_key({"b": 2, "a": 1})
    assert params_key({"a": 1}) != params_key({"a": 2})


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ground_truth_rerun_with_other_n_atoms_recomputes(tmp_path, capsys):
    gt = _example("smc_ground_truth")
    common = ["--out", str(tmp_path), "--chains", "4", "--ref-steps", "30", "--burn-in", "10",
              "--thin", "2", "--replicas", "6", "--samplers", "smc-mala-mixture-linear",
              "--steps", "5"]
    assert gt.main(["--n-atoms", "3", *common]) == 0
    first = json.loads((tmp_path / "summary.json").read_text())
    assert first["reference"]["params"]["n_atoms"] == 3
    assert gt.main(["--n-atoms", "4", *common]) == 0
    second = json.loads((tmp_path / "summary.json").read_text())
    # before: the N = 3 reference (and sampler rows) were silently reused for N = 4
    assert second["reference"]["params"]["n_atoms"] == 4
    assert all(row["params"]["n_atoms"] == 4 for row in second["samplers"].values())
    assert second["reference"]["mean_lj_energy"] != first["reference"]["mean_lj_energy"]
    # the same parameters again reuse the stored results (no recomputation)
    capsys.readouterr()
    assert gt.main(["--n-atoms", "4", *common]) == 0
    assert "computing" not in capsys.readouterr().out


def test_result_roundtrip_keeps_interrupted_flag(tmp_path):
    target = LJClusterTarget(3)
    target.lj_energy_gradient = _InterruptAt(target.lj_energy_gradient, 4)
    res = run_smc(3, target=target, path="mixture-linear", **SMALL)
    res.save(tmp_path / "p")
    back = SMCResult.load(tmp_path / "p")
    assert back.interrupted and back.widths.size == res.widths.size


# ------------------------------------------------------------------- shared primitives
def test_one_step_size_adaptation():
    a = StepSizeAdapter(0.01, target_accept=0.6, rate=0.05)
    h1 = a.update(1.0)  # gain 2 on the first update: h * exp(2 * 0.4)
    assert h1 == pytest.approx(0.01 * np.exp(0.8))
    assert a.update(float("nan")) == h1 and a.n_updates == 1
    for _ in range(200):
        a.update(0.0)
    assert a.step_size == 1e-8  # clipped at h_min


def test_weights_helpers():
    lw = normalize_log_weights([0.0, np.log(3.0)])
    np.testing.assert_allclose(np.exp(lw), [0.25, 0.75])
    new, dlz = reweight([0.0, np.log(3.0)], [np.log(2.0), np.nan])
    assert dlz == pytest.approx(np.log(0.5)) and new[1] == -np.inf
    with pytest.raises(ValueError, match="log_weights"):
        normalize_log_weights([-np.inf, -np.inf])
    with pytest.raises(ValueError, match="NaN"):
        normalize_log_weights([0.0, np.nan])


def test_paper_tables_rerun_with_other_steps_recomputes(tmp_path, capsys):
    pt = _example("paper_tables23_smc")
    argv = ["--sizes", "3", "--runs", "1", "--replicas", "4", "--paths", "mixture-linear",
            "--out", str(tmp_path)]
    assert pt.main([*argv, "--steps", "5"]) == 0
    row = json.loads((tmp_path / "N3_c1_h0.001_mixture-linear_seed0.json").read_text())
    assert row["n_steps"] == 5 and row["n_steps_run"] == 5
    assert "1 runs to do" in capsys.readouterr().out
    assert pt.main([*argv, "--steps", "5"]) == 0  # same parameters: reused
    assert "0 runs to do" in capsys.readouterr().out
    with pytest.warns(UserWarning, match="n_steps"):
        assert pt.main([*argv, "--steps", "7"]) == 0  # before: the 5-step run was reused
    row = json.loads((tmp_path / "N3_c1_h0.001_mixture-linear_seed0.json").read_text())
    assert row["n_steps"] == 7 and row["n_steps_run"] == 7
