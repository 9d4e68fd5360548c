"""Issue 10 (optimization): Ctrl-C keeps results, options checked at once, seeded runs repeat,
the CLI turns bad values into usage errors; issue 9: homotopy inside global_minimize runs on
the caller's objective and units."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from lj_reference import numpy_lj

from ase_gausslj.cli import main
from ase_gausslj.defaults import GLOBAL_OPT
from ase_gausslj.optimize import globalopt, homotopy
from ase_gausslj.optimize.globalopt import METHODS, global_minimize
from ase_gausslj.optimize.homotopy import homotopy_minimize
from ase_gausslj.optimize.local import LBFGS_BACKENDS, register_lbfgs
from ase_gausslj.optimize.multistart import multistart

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

LJ7 = -16.505384  # Cambridge Cluster Database
LJ7_MINIMA = (LJ7, -15.935044, -15.593340, -15.533060)


class _InterruptAt:
    """Objective wrapper that raises KeyboardInterrupt once, at call number ``k``."""

    def __init__(self, base, k):
        self.base, self.k, self.calls = base, k, 0

    def __call__(self, x, width):
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt
        return self.base(x, width)


def _smoothed():
    from ase_gausslj.core.energy import SmoothedLJ

    return SmoothedLJ().energy_gradient


# ------------------------------------------------------------------------ Ctrl-C --


def test_global_minimize_interrupted_returns_partial_and_resumes_exactly():
    kw = dict(method="bh", seed=3, patience=8, objective=numpy_lj)
    full = global_minimize(13, max_minimizations=15, **kw)
    # first find how many objective calls 6 quenches take, then interrupt inside the 7th
    probe = _InterruptAt(numpy_lj, 10**9)
    global_minimize(13, max_minimizations=6, **{**kw, "objective": probe})
    stop = _InterruptAt(numpy_lj, probe.calls + 5)
    part = global_minimize(13, max_minimizations=15, **{**kw, "objective": stop})
    assert part.interrupted and part.stop_reason == "interrupted"
    assert part.n_minimizations == 6 and np.isfinite(part.energy)
    assert part.energy == pytest.approx(numpy_lj(part.positions)[0], abs=1e-9)
    # the partial state drops the quench in progress, so a resume is the uninterrupted run
    again = global_minimize(13, max_minimizations=15, resume=part.state, **kw)
    assert not again.interrupted
    assert again.energy == full.energy
    np.testing.assert_array_equal(again.positions, full.positions)


def test_global_minimize_interrupted_before_any_quench_raises():
    with pytest.raises(KeyboardInterrupt):
        global_minimize(7, method="bh", seed=0, objective=_InterruptAt(numpy_lj, 3))


def test_multistart_global_stops_at_interrupt():
    # three serial starts; the interrupt falls in the second one's second quench: the
    # second start returns its partial result and no third start is run
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(0).spawn(3)]
    calls = []
    for seed, n in ((seeds[0], 4), (seeds[1], 1)):
        probe = _InterruptAt(numpy_lj, 10**9)
        global_minimize(7, method="bh", seed=seed, max_minimizations=n, objective=probe)
        calls.append(probe.calls)
    stop = _InterruptAt(numpy_lj, sum(calls) + 3)
    res = global_minimize(7, method="bh", seed=0, n_starts=3, max_minimizations=4,
                          objective=stop)
    assert res.interrupted and len(res.runs) == 2
    assert res.runs[1].interrupted and not res.runs[0].interrupted
    assert res.runs[1].n_minimizations == 1


def test_homotopy_interrupted_returns_last_stage():
    base = _smoothed()
    seen = []
    stop = _InterruptAt(base, 10**9)
    homotopy_minimize(7, seed=1, widths=[0.4, 0.2], objective=stop, callback=seen.append)
    n_first = seen[0].n_evals + 1  # stage evaluations + the record's plain energy
    res = homotopy_minimize(7, seed=1, widths=[0.4, 0.2],
                            objective=_InterruptAt(base, n_first + 3))
    assert res.interrupted and [h.width for h in res.history] == [0.4]
    assert not res.reached_zero and np.isfinite(res.energy)
    e_ref = base(res.positions.ravel(), 0.0)[0]
    assert res.energy == pytest.approx(e_ref, rel=1e-12)


def test_multistart_homotopy_stops_at_interrupt():
    stop = _InterruptAt(_smoothed(), 40)
    ms = multistart(7, seeds=[0, 1, 2], widths=[0.3], objective=stop)
    assert ms.interrupted and len(ms.results) == 1 and ms.results[0].interrupted


def _cli_objective(monkeypatch, module, k):
    base = _smoothed()
    stop = _InterruptAt(base, k)
    monkeypatch.setattr(module, "_default_objective", lambda *a, **kw: stop)
    return stop


def test_cli_optimize_ctrl_c_writes_outputs(tmp_path, monkeypatch, capsys):
    _cli_objective(monkeypatch, globalopt, 400)
    out, xyz = tmp_path / "o.json", tmp_path / "b.xyz"
    rc = main(["optimize", "13", "--method", "bh", "--quenches", "100000", "--seed", "0",
               "--no-progress", "--output", str(out), "--xyz", str(xyz)])
    assert rc == 130
    saved = json.loads(out.read_text())
    assert saved["interrupted"] and saved["stop_reason"] == "interrupted"
    assert 0 < saved["n_minimizations"] < 100000
    lines = xyz.read_text().splitlines()
    assert lines[0] == "13" and len(lines) == 15
    assert json.loads(capsys.readouterr().out)["energy"] == saved["energy"]


def test_cli_homotopy_ctrl_c_writes_output(tmp_path, monkeypatch):
    stop = _cli_objective(monkeypatch, homotopy, 10**9)
    assert main(["homotopy", "7", "--runs", "1", "--no-progress"]) == 0
    _cli_objective(monkeypatch, homotopy, stop.calls + 10)  # inside the second run
    out = tmp_path / "h.json"
    rc = main(["homotopy", "7", "--runs", "3", "--no-progress", "--output", str(out)])
    assert rc == 130
    data = json.loads(out.read_text())
    assert len(data) == 2 and sum(d["interrupted"] for d in data) == 1


# ------------------------------------------------------------- checked at once --


@pytest.mark.parametrize("kw, name", [
    (dict(max_steps=-5), "max_steps"),
    (dict(steps_per_width=0), "steps_per_width"),
    (dict(final_steps=0), "final_steps"),
    (dict(max_steps=2.5, protocol="budget"), "max_steps"),
    (dict(patience=-1), "patience"),
    (dict(lr_factor=0.0), "lr_factor"),
    (dict(widths=[0.1, 0.3]), "widths"),  # increasing
    (dict(widths=[5.0]), "widths"),  # beyond the table (width_max * sigma)
    (dict(minimizer="nope"), "minimizer"),
])
def test_homotopy_bad_options_named_before_any_work(kw, name):
    calls = []

    def never(x, w):
        calls.append(w)
        raise AssertionError("the objective must not be called")

    with pytest.raises(ValueError, match=name):
        homotopy_minimize(7, seed=0, **kw)
    if name != "widths" or kw["widths"][0] < 1:
        with pytest.raises(ValueError, match=name):
            homotopy_minimize(7, seed=0, objective=never, **kw)
    with pytest.raises(ValueError, match=name):
        multistart(7, seeds=[0, 1], **kw)
    assert not calls


def test_global_minimize_bad_options_named():
    never = _InterruptAt(numpy_lj, 1)  # the first call would raise KeyboardInterrupt
    for kw, name in [
        (dict(state_file="/nonexistent/dir/s.json"), "state_file"),
        (dict(max_minimizations=0), "max_minimizations"),
        (dict(time_limit=-1.0), "time_limit"),
        (dict(budget=5, max_minimizations=5), "max_minimizations"),
        (dict(method="smoothed-bh", widths=(0.1, 0.3)), "widths"),
        (dict(method="homotopy", homotopy_kwargs={"widths": [0.1, 0.2]}), "widths"),
        (dict(method="homotopy", homotopy_kwargs={"sigma": 2.0}), "sigma"),
        (dict(minimizer="nope"), "minimizer"),
        (dict(patience=-1), "patience"),
    ]:
        with pytest.raises(ValueError, match=name):
            global_minimize(7, seed=0, objective=never, **kw)
    assert never.calls == 0
    assert GLOBAL_OPT.max_minimizations > 0 and "homotopy" in METHODS


# ------------------------------------------------------------------ determinism --


def test_seeded_runs_repeat_bit_for_bit():
    kw = dict(method="smoothed-bh", max_minimizations=25, seed=7)
    a = global_minimize(13, **kw)
    b = global_minimize(13, **kw)
    assert a.stop_reason == b.stop_reason == "max_minimizations"
    assert a.energy == b.energy and a.n_restarts == b.n_restarts
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.trace[:, 1:], b.trace[:, 1:])
    assert a.state["rng"] == b.state["rng"]


def test_default_budget_counts_quenches():
    res = global_minimize(5, method="bh", seed=0, objective=numpy_lj, patience=0)
    assert res.stop_reason == "max_minimizations"
    assert res.n_minimizations == GLOBAL_OPT.max_minimizations


def test_cli_seeded_stdout_repeats(capsys):
    argv = ["optimize", "13", "--quenches", "15", "--seed", "2", "--no-progress"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    assert json.loads(first)["n_minimizations"] == 15


# ------------------------------------------------------------------ CLI usage --


@pytest.mark.parametrize("argv", [
    ["optimize", "0"],
    ["optimize", "1"],
    ["optimize", "13", "--budget", "-5"],
    ["optimize", "13", "--quenches", "0"],
    ["optimize", "13", "--time-limit", "nan"],
    ["optimize", "13", "--step", "0"],
    ["optimize", "13", "--minimizer", "nope"],  # refused by the library: same usage line
    ["optimize", "13", "--output", "/nonexistent/dir/o.json"],
    ["optimize", "13", "--xyz", "/nonexistent/dir/b.xyz"],
    ["homotopy", "0"],
    ["homotopy", "7", "--runs", "0"],
    ["homotopy", "7", "--max-steps", "-5"],
    ["homotopy", "7", "--output", "/nonexistent/dir/h.json"],
])
def test_cli_bad_values_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def test_cli_defaults_agree_with_library():
    # the full parser-vs-signature comparison is tests/test_defaults.py
    from ase_gausslj.cli import optimize as cli_opt

    assert cli_opt.D is globalopt.GLOBAL_OPT


# ------------------------------------------------- homotopy on the caller's objective --


def test_homotopy_method_uses_callers_objective_and_units():
    from ase_gausslj.core.energy import SmoothedLJ

    sigma = 3.4
    lj = SmoothedLJ(sigma=sigma)
    widths_seen = set()

    def objective(x, w):
        widths_seen.add(round(w, 12))
        return lj.energy_gradient(x, w)

    res = global_minimize(7, method="homotopy", seed=0, max_minimizations=3,
                          objective=objective, length_scale=sigma,
                          homotopy_kwargs={"widths": [0.5, 0.25]})
    assert widths_seen == {round(0.5 * sigma, 12), round(0.25 * sigma, 12), 0.0}
    d = np.linalg.norm(res.positions[:, None] - res.positions[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() == pytest.approx(2 ** (1 / 6) * sigma, rel=0.03)
    assert min(abs(res.energy - m) for m in LJ7_MINIMA) < 1e-4


def test_global_minimize_atoms_homotopy_in_angstrom():
    from ase import Atoms

    from ase_gausslj.adapters.calculator import GaussianLJ
    from ase_gausslj.adapters.optimizers import global_minimize_atoms
    from ase_gausslj.optimize.clusters import random_cluster

    sigma, eps = 3.4, 0.0104
    atoms = Atoms("Ar7", positions=random_cluster(7, np.random.default_rng(9)) * sigma)
    calc = GaussianLJ(sigma=sigma, epsilon=eps)
    seen = set()
    orig_set = calc.set

    def spy_set(**kw):
        seen.add(round(kw.get("width", -1.0), 9))
        return orig_set(**kw)

    calc.set = spy_set
    best, res = global_minimize_atoms(atoms, calc, method="homotopy", max_minimizations=3,
                                      seed=0, homotopy_kwargs={"widths": [0.5, 0.3, 0.1]})
    # before the fix the homotopy ran on its own reduced-unit SmoothedLJ: the calculator
    # saw width 0 only (and larger clusters came out with 1.08 Angstrom neighbours)
    assert {round(w * sigma, 9) for w in (0.5, 0.3, 0.1)} <= seen
    d = np.linalg.norm(best.positions[:, None] - best.positions[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() == pytest.approx(2 ** (1 / 6) * sigma, rel=0.03)
    assert min(abs(res.energy / eps - m) for m in LJ7_MINIMA) < 1e-4


# ------------------------------------------------------------ minimizer strategy --


def test_lbfgs_backend_is_selected_by_name():
    calls = []
    scipy_lbfgs = LBFGS_BACKENDS["scipy"]

    def counting(fg, x, *, steps, gtol):
        calls.append(gtol)
        return scipy_lbfgs(fg, x, steps=steps, gtol=gtol)

    register_lbfgs("counting", counting)
    try:
        a = global_minimize(7, method="bh", seed=1, max_minimizations=5,
                            objective=numpy_lj, minimizer="counting")
        b = global_minimize(7, method="bh", seed=1, max_minimizations=5, objective=numpy_lj)
        h = homotopy_minimize(7, seed=0, widths=[0.3], minimizer="counting")
    finally:
        LBFGS_BACKENDS.pop("counting")
    assert len(calls) >= 5 + 2
    assert a.energy == b.energy  # the same L-BFGS underneath
    assert h.reached_zero
