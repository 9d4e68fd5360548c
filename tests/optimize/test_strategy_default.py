"""The per-size default strategy of ``global_minimize`` / ``gausslj optimize`` (issue 22).

``strategy='auto'`` runs :data:`~ase_gausslj.defaults.BEST_STRATEGY` where results/hard/
measured a winner, plain basin hopping everywhere else. The winners are recomputed here
from the committed JSONs with the documented rule (not read from the code under test).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ase_gausslj.cli import main
from ase_gausslj.defaults import BEST_STRATEGY, GLOBAL_OPT, GLOBAL_STRATEGIES, best_strategy
from ase_gausslj.optimize.globalopt import global_minimize
from ase_gausslj.optimize.moves import RandomDisplacement

RESULTS = Path(__file__).resolve().parents[2] / "results" / "hard"
LJ13 = -44.326801  # Cambridge Cluster Database
ENGINE = {"bh": "displacement", "surface": "surface", "pt-surface": "pt-surface"}
MIN_SEEDS = 3


def _winners_from_results() -> dict[int, str]:
    """The documented rule (results/hard/README.md), written independently of the code:
    over every committed run, a strategy that ``global_minimize`` can run replaces plain
    basin hopping at N when both have >= 3 runs there and it reached the target in a
    strictly larger fraction of them than plain basin hopping and every other candidate."""
    runs: dict[tuple, dict] = {}
    for path in sorted(RESULTS.glob("*.json")):
        for r in json.loads(path.read_text())["runs"]:
            key = (r["n"], r["strategy"], r["seed"], r["cpu_limit"], r.get("runner", "engine"))
            runs.setdefault(key, r)
    frac: dict[int, dict[str, float]] = {}
    count: dict[tuple, int] = {}
    hits: dict[tuple, int] = {}
    for (n, name, *_), r in runs.items():
        if name in ENGINE:
            count[n, name] = count.get((n, name), 0) + 1
            hits[n, name] = hits.get((n, name), 0) + (r["time_to_target"] is not None)
    for (n, name), c in count.items():
        if c >= MIN_SEEDS:
            frac.setdefault(n, {})[name] = hits[n, name] / c
    out = {}
    for n, f in frac.items():
        if "bh" not in f:
            continue
        best = max(f.values())
        tops = [name for name, v in f.items() if v == best]
        if best > f["bh"] and len(tops) == 1:
            out[n] = ENGINE[tops[0]]
    return out


def test_best_strategy_table_is_what_the_committed_results_measured():
    assert dict(BEST_STRATEGY) == _winners_from_results()
    assert set(BEST_STRATEGY.values()) <= set(GLOBAL_STRATEGIES) - {"auto"}


@pytest.mark.parametrize("n", [13, 38])
def test_auto_keeps_plain_basin_hopping_bit_for_bit_where_no_winner(n):
    assert n not in BEST_STRATEGY and best_strategy(n) == "displacement"
    kw = dict(seed=3, max_minimizations=25)
    auto = global_minimize(n, **kw)
    plain = global_minimize(n, strategy="displacement", **kw)
    # the engine with the preset step injected by hand: the pre-issue-22 path
    preset = global_minimize(n, take_step=RandomDisplacement(GLOBAL_OPT.step), **kw)
    assert auto.strategy == plain.strategy == "displacement" and preset.strategy == "custom"
    for other in (plain, preset):
        assert other.energy == auto.energy and other.n_restarts == auto.n_restarts
        np.testing.assert_array_equal(other.positions, auto.positions)


@pytest.mark.parametrize("n", sorted(BEST_STRATEGY))
def test_auto_dispatches_to_the_table_winner(n):
    res = global_minimize(n, seed=0, max_minimizations=8)
    assert res.strategy == BEST_STRATEGY[n]
    assert res.n_minimizations >= 8 and np.isfinite(res.energy)
    assert res.positions.shape == (n, 3)
    if res.strategy == "surface":  # the engine ran with the surface step injected
        assert res.state["settings"]["custom_strategies"] == ["take_step"]
    if res.strategy == "pt-surface":  # parallel tempering keeps no resumable state
        assert res.state is None and res.stop_reason == "max_minimizations"


@pytest.mark.parametrize("strategy", ["surface", "pt-surface"])
def test_each_strategy_finds_lj13_and_repeats_with_its_seed(strategy):
    kw = dict(strategy=strategy, seed=1, max_minimizations=2000, target_energy=LJ13)
    a, b = global_minimize(13, **kw), global_minimize(13, **kw)
    assert a.strategy == strategy and a.stop_reason == "target"
    assert a.energy <= LJ13 + 1e-4
    assert a.n_minimizations == b.n_minimizations and a.energy == b.energy
    np.testing.assert_array_equal(a.positions, b.positions)


def test_pt_surface_multistart_callback_and_start_structure():
    res = global_minimize(13, strategy="pt-surface", seed=2, max_minimizations=12, n_starts=2)
    assert [r.strategy for r in res.runs] == ["pt-surface"] * 2 and res.strategy == "pt-surface"
    assert res.n_minimizations == sum(r.n_minimizations for r in res.runs)
    seen = []
    one = global_minimize(13, strategy="pt-surface", seed=2, max_minimizations=10**6,
                          callback=lambda x, e, acc: seen.append(e) or len(seen) >= 5)
    assert one.stop_reason == "callback" and len(seen) == 5
    start = global_minimize(13, seed=0, max_minimizations=50).positions
    res = global_minimize(start, strategy="pt-surface", seed=0, max_minimizations=4)
    assert res.energy <= global_minimize(13, seed=0, max_minimizations=50).energy + 1e-6


def test_strategy_conflicts_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="strategy must be one of"):
        global_minimize(13, strategy="tempering", max_minimizations=2)
    with pytest.raises(ValueError, match="objective"):
        global_minimize(13, strategy="surface", max_minimizations=2,
                        objective=lambda x, w: (0.0, np.zeros_like(x)))
    with pytest.raises(ValueError, match="method='smoothed-bh'"):
        global_minimize(13, strategy="pt-surface", method="smoothed-bh", max_minimizations=2)
    with pytest.raises(ValueError, match="take_step"):
        global_minimize(13, strategy="surface", take_step=RandomDisplacement(0.4),
                        max_minimizations=2)
    with pytest.raises(ValueError, match="state_file"):
        global_minimize(13, strategy="pt-surface", max_minimizations=2,
                        state_file=tmp_path / "s.json")
    # 'auto' at a size whose winner is pt-surface stays resumable with a state file
    n_pt = next(n for n, v in BEST_STRATEGY.items() if v == "pt-surface")
    ck = global_minimize(n_pt, max_minimizations=2, seed=0, state_file=tmp_path / "a.json")
    assert ck.strategy == "displacement" and (tmp_path / "a.json").exists()
    # 'auto' never overrides what the caller chose
    smoothed = global_minimize(75, method="smoothed-bh", max_minimizations=2, seed=0)
    assert smoothed.strategy == "displacement"


def test_cli_reports_and_takes_the_strategy(capsys):
    assert main(["optimize", "13", "--quenches", "4", "--seed", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["strategy"] == best_strategy(13)
    assert main(["optimize", "13", "--quenches", "4", "--seed", "0",
                 "--strategy", "pt-surface"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["strategy"] == "pt-surface" and out["n_minimizations"] >= 4
