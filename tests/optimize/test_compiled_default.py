"""The compiled minimizer as the default of global_minimize / homotopy, and the lean
loop's smoothing strategies.

References: scipy's L-BFGS-B and an independent numpy LJ (the arbitrary-objective path),
the Cambridge Cluster Database minimum of LJ13, and the quench strategies composed from
their pieces (the fused compiled quench must equal them bit for bit).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lj_reference import numpy_lj

from ase_gausslj.core.energy import SmoothedLJ
from ase_gausslj.optimize import basinhopping
from ase_gausslj.optimize.globalopt import global_minimize
from ase_gausslj.optimize.homotopy import homotopy_minimize
from ase_gausslj.optimize.local import lj_potential, resolve_minimizer
from ase_gausslj.optimize.quench import CompiledQuench, SmoothedQuench

LJ13_GM = -44.326801

def test_resolve_minimizer_picks_compiled_only_for_smoothed_lj():
    pot = SmoothedLJ()
    assert lj_potential(pot.energy_gradient) is pot
    assert lj_potential(numpy_lj) is None
    assert resolve_minimizer(None, pot.energy_gradient) == "compiled"
    assert resolve_minimizer("auto", numpy_lj) == "scipy"
    assert resolve_minimizer("scipy", pot.energy_gradient) == "scipy"
    with pytest.raises(ValueError, match="minimizer"):
        resolve_minimizer("compiled", numpy_lj)
    with pytest.raises(ValueError, match="minimizer"):
        resolve_minimizer("nope", pot.energy_gradient)


def test_global_minimize_default_is_compiled_and_user_objective_is_scipy():
    res = global_minimize(13, method="bh", max_minimizations=60, seed=0)
    assert res.state["settings"]["minimizer"] == "compiled"
    user = global_minimize(13, method="bh", max_minimizations=3, seed=0, objective=numpy_lj)
    assert user.state["settings"]["minimizer"] == "scipy"
    with pytest.raises(ValueError, match="minimizer"):
        global_minimize(13, max_minimizations=2, objective=numpy_lj, minimizer="compiled")


@pytest.mark.parametrize("method", ["bh", "smoothed-bh"])
def test_compiled_global_minimize_is_deterministic_and_finds_lj13(method):
    kw = dict(method=method, max_minimizations=80, seed=11)
    a = global_minimize(13, **kw)
    b = global_minimize(13, **kw)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert a.energy == b.energy
    np.testing.assert_array_equal(a.trace[:, 1:], b.trace[:, 1:])
    assert a.energy == pytest.approx(LJ13_GM, abs=1e-4)
    # the reported energy is that of the reported structure (independent evaluation)
    assert numpy_lj(a.positions.ravel())[0] == pytest.approx(a.energy, abs=1e-8)


def test_compiled_quench_equals_the_composed_smoothed_quench():
    """The fused numba quench = SmoothedQuench with the compiled backend, bit for bit."""
    pot = SmoothedLJ()
    rng = np.random.default_rng(4)
    x = rng.uniform(-1.2, 1.2, size=(13, 3))
    kw = dict(gtol=1e-5, maxiter=2000, radius=10.0)  # no atom escapes: guard inactive
    fused = CompiledQuench(pot.energy_gradient, widths=[0.3], width_gtol=1e-3, **kw)
    composed = SmoothedQuench(pot.energy_gradient, widths=[0.3], width_gtol=1e-3,
                              minimizer="compiled", **kw)
    xa, ea = fused(x, np.random.default_rng(0))
    xb, eb = composed(x, np.random.default_rng(0))
    assert ea == eb
    np.testing.assert_array_equal(xa, xb)
    # and it is a minimum of the independent LJ (scipy-level gradient)
    assert np.abs(numpy_lj(xa.ravel())[1]).max() < 1e-5


class _ClockInterrupt:
    """A ``time`` stand-in whose clocks raise KeyboardInterrupt after ``k`` readings."""

    def __init__(self, k):
        import time

        self.k = k
        self._time = time

    def _tick(self):
        self.k -= 1
        if self.k < 0:
            raise KeyboardInterrupt
        return self._time.perf_counter()

    def perf_counter(self):
        return self._tick()

    def process_time(self):
        return self._tick()


def test_ctrl_c_on_the_compiled_path_keeps_a_resumable_partial_result(monkeypatch):
    kw = dict(method="smoothed-bh", seed=5, patience=10, gtol=1e-5)  # the walk it was built on
    full = global_minimize(19, max_minimizations=40, **kw)
    monkeypatch.setattr(basinhopping, "time", _ClockInterrupt(60))
    part = global_minimize(19, max_minimizations=40, **kw)
    monkeypatch.undo()
    assert part.interrupted and 1 <= part.n_minimizations < 40
    rest = global_minimize(19, max_minimizations=40, resume=part.state, **kw)
    assert rest.energy == full.energy
    np.testing.assert_array_equal(rest.positions, full.positions)


def test_homotopy_and_multistart_default_to_compiled(monkeypatch):
    from ase_gausslj.optimize import local

    calls = []
    real = local.LBFGS_BACKENDS["compiled"]

    def spy(fg, x, **kw):
        calls.append(1)
        return real(fg, x, **kw)

    monkeypatch.setitem(local.LBFGS_BACKENDS, "compiled", spy)
    res = homotopy_minimize(13, seed=0, widths=[0.4, 0.2, 0.0])
    assert calls and math.isfinite(res.energy)
    ref = homotopy_minimize(13, seed=0, widths=[0.4, 0.2, 0.0], minimizer="scipy")
    # same start, same stages: the two L-BFGS land in minima of similar depth
    assert res.energy < -35 and ref.energy < -35
    n = len(calls)
    homotopy_minimize(13, seed=0, widths=[0.3, 0.0], objective=numpy_lj_widths)
    assert len(calls) == n  # a user objective never reaches the compiled backend


def numpy_lj_widths(x, width):
    return numpy_lj(x, 0.0)


def test_occasional_smoothed_quench_finds_lj13_and_repeats():
    kw = dict(method="smoothed-bh", widths=(0.3,), p_smooth=0.2, max_minimizations=150)
    a = global_minimize(13, seed=2, **kw)
    b = global_minimize(13, seed=2, **kw)
    assert a.energy == b.energy and a.state["rng"] == b.state["rng"]
    assert a.energy == pytest.approx(LJ13_GM, abs=1e-4)


@pytest.mark.parametrize("kw, name", [(dict(p_smooth=1.5), "p_smooth"),
                                      (dict(p_smooth="x"), "p_smooth"),
                                      (dict(smooth_iter=5), "smooth_iter")])
def test_strategy_options_are_checked(kw, name):
    with pytest.raises((ValueError, TypeError), match=name):
        global_minimize(13, method="smoothed-bh", seed=0, max_minimizations=2,
                        widths=(0.3,), **kw)


def test_loose_quenches_report_polished_minima():
    res = global_minimize(13, method="bh", gtol=1e-3, max_minimizations=80, seed=3)
    assert res.state["settings"]["polish_gtol"] == 1e-5
    assert res.energy == pytest.approx(LJ13_GM, abs=1e-6)
    # the reported structure is converged far below the search's own tolerance
    assert np.abs(numpy_lj(res.positions.ravel())[1]).max() < 1e-5
    assert numpy_lj(res.positions.ravel())[0] == pytest.approx(res.energy, abs=1e-9)


@pytest.mark.parametrize("minimizer", ["compiled", "scipy"])
def test_occasional_smoothed_quench_repeats(minimizer):
    kw = dict(method="smoothed-bh", p_smooth=0.3, max_minimizations=25, seed=8,
              minimizer=minimizer)
    a = global_minimize(13, **kw)
    b = global_minimize(13, **kw)
    assert a.energy == b.energy
    np.testing.assert_array_equal(a.positions, b.positions)


@pytest.mark.parametrize("kw, name", [(dict(p_smooth=1.2), "p_smooth"),
                                      (dict(p_smooth=True), "p_smooth"),
                                      (dict(polish_gtol=-1.0), "polish_gtol")])
def test_global_minimize_new_options_are_checked(kw, name):
    with pytest.raises(ValueError, match=name):
        global_minimize(13, max_minimizations=2, **kw)


def test_homotopy_fire_compiled_follows_the_python_fire():
    """Same FIRE (ASE parameters) compiled or in numpy: the same path to rounding."""
    kw = dict(seed=1, widths=[0.3, 0.0], optimizer="fire", steps_per_width=300,
              final_steps=3000, gtol=1e-4)
    a = homotopy_minimize(7, **kw)
    b = homotopy_minimize(7, minimizer="scipy", **kw)
    assert a.energy == pytest.approx(b.energy, abs=1e-8)
    assert [h.n_evals for h in a.history] == [h.n_evals for h in b.history]


def _optimize_parser():
    import argparse

    from ase_gausslj.cli.optimize import add_cli

    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    return parser


def test_cli_main_job_options_repeat(capsys):
    import json

    parser = _optimize_parser()
    argv = ["optimize", "13", "--method", "smoothed-bh", "--p-smooth", "0.05", "--gtol",
            "1e-3", "--quenches", "200", "--target-energy", str(LJ13_GM), "--seed", "0",
            "--no-progress"]
    outs = []
    for _ in range(2):
        args = parser.parse_args(argv)
        assert args.func(args) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    summary = json.loads(outs[0])
    assert summary["stop_reason"] == "target"
    assert summary["energy"] == pytest.approx(LJ13_GM, abs=1e-6)


@pytest.mark.parametrize("flag, value", [("--p-smooth", "1.5"), ("--p-smooth", "x"),
                                         ("--gtol", "0")])
def test_cli_bad_new_options_are_usage_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as exc:
        _optimize_parser().parse_args(["optimize", "13", flag, value])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err
