"""The one basin-hopping engine: Metropolis temperature, injected strategies, options.

The temperature tests count acceptances against the Metropolis probability
``exp(-dE / T)`` computed here from the energies the engine reports (binomial tolerance),
so a wrong temperature anywhere (the rule, the unit scaling, a preset) turns them red;
each test also checks that it can tell T from 2T and T/2 on its own data.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lj_reference import numpy_lj
from scipy.optimize import minimize

from ase_gausslj.core.energy import SmoothedLJ
from ase_gausslj.optimize.basinhopping import Strategies
from ase_gausslj.optimize.globalopt import BHOptions, global_minimize
from ase_gausslj.optimize.moves import Metropolis, RandomDisplacement
from ase_gausslj.optimize.quench import CompiledQuench, HomotopyQuench, PlainQuench

Z = 4.5  # binomial tolerance in standard deviations (false alarm ~1e-5 per test)

class Recorder:
    """A callback that records every Metropolis decision ``(dE, accepted)``."""

    def __init__(self):
        self.cur = None
        self.rows = []

    def __call__(self, x, e, accepted):
        if self.cur is not None:
            self.rows.append((e - self.cur, accepted))
        if accepted:
            self.cur = e


def check_temperature(rows, temperature):
    """Acceptances of uphill steps vs ``exp(-dE / T)``; and that 2T and T/2 would fail."""
    up = [(d, a) for d, a in rows if d > 0]
    assert all(a for d, a in rows if d <= 0), "a downhill step was rejected"
    d = np.array([u[0] for u in up])
    acc = sum(u[1] for u in up)

    def z(t):
        p = np.exp(-d / t)
        return (acc - p.sum()) / math.sqrt(max((p * (1 - p)).sum(), 1e-12))

    assert abs(z(temperature)) < Z, (acc, len(up))
    # the data can tell a wrong temperature: the test has power
    assert abs(z(2 * temperature)) > Z and abs(z(0.5 * temperature)) > Z


def test_metropolis_temperature_with_known_energy_steps():
    """A quench that returns the current energy + dE: acceptance rate exp(-dE/T)."""
    rec = Recorder()
    gaps = [0.4, 0.8, 1.6]

    def quench(x, rng, deep=False):
        k = len(rec.rows)
        return np.asarray(x), (0.0 if rec.cur is None else rec.cur + gaps[k % 3])

    global_minimize(3, seed=1, quench=quench, callback=rec, patience=0,
                    max_minimizations=3000, temperature=0.8)
    assert len(rec.rows) == 2999
    check_temperature(rec.rows, 0.8)


@pytest.mark.parametrize("kw", [dict(method="bh"),
                                pytest.param(dict(method="bh", minimizer="scipy"),
                                             marks=pytest.mark.slow),  # ~50 s of scipy
                                dict(method="smoothed-bh", p_smooth=0.2),
                                dict(method="bh", energy_scale=2.0, temperature=0.5)])
def test_metropolis_temperature_in_every_preset(kw):
    """The presets, compiled and scipy quench, with their real LJ energies.

    LJ10 at kT = 1 epsilon (in the objective's units: ``temperature * energy_scale``) makes
    ~400 uphill steps in 1500 quenches, enough to tell T from 2T and T/2 by > 4.5 sd.
    """
    rec = Recorder()
    kw = {"temperature": 1.0, **kw}
    res = global_minimize(10, seed=3, callback=rec, patience=0, max_minimizations=1500, **kw)
    assert res.n_minimizations == len(rec.rows) + 1
    check_temperature(rec.rows, kw["temperature"] * kw.get("energy_scale", 1.0))


def test_temperature_zero_is_monotonic():
    rec = Recorder()
    global_minimize(13, seed=0, callback=rec, patience=0, max_minimizations=200,
                    temperature=0.0)
    assert all(a == (d <= 0) for d, a in rec.rows)


# ---- injected strategies ------------------------------------------------------------


def test_accept_test_that_rejects_everything_keeps_the_start():
    calls = []

    def never(e_new, e_old, rng):
        calls.append((e_new, e_old))
        return False

    start = np.random.default_rng(2).uniform(-1.1, 1.1, size=(13, 3))
    res = global_minimize(start, seed=0, accept_test=never, patience=0,
                          max_minimizations=40)
    first = global_minimize(start, seed=0, max_minimizations=1)  # the start's quench
    assert len(calls) == 39
    assert {e_old for _, e_old in calls} == {res.state["cur_e"]}
    np.testing.assert_array_equal(res.state["cur_x"], first.state["cur_x"])
    assert res.state["cur_e"] == first.state["cur_e"]


def test_take_step_quench_and_callback_are_used():
    steps, quenches = [], []

    def no_move(x, rng):
        steps.append(1)
        return x

    def quench(x, rng, deep=False):  # a user's quench: scipy on an independent LJ
        quenches.append(deep)
        r = minimize(numpy_lj, np.ravel(x), jac=True, method="L-BFGS-B",
                     options={"gtol": 1e-6})
        y = r.x.reshape(-1, 3)
        return y - y.mean(axis=0), float(r.fun)

    start = np.random.default_rng(5).uniform(-1.2, 1.2, size=(13, 3))
    res = global_minimize(start, seed=0, take_step=no_move, quench=quench, patience=0,
                          max_minimizations=10)
    assert len(steps) == 9 and quenches == [False] * 10  # a given start: not deep
    # nothing moves: every quench returns the start's minimum, the best is that minimum
    assert res.energy == pytest.approx(quench(start, None)[1], abs=1e-7)
    assert res.energy == pytest.approx(numpy_lj(res.positions)[0], abs=1e-9)
    free = global_minimize(start, seed=0, quench=quench, patience=0, max_minimizations=10)
    assert free.energy < res.energy - 1e-3  # the default steps find lower minima


def test_callback_true_stops_the_run():
    seen = []

    def stop_at_five(x, e, accepted):
        seen.append((np.shape(x), e, accepted))
        return len(seen) >= 5

    res = global_minimize(13, seed=0, callback=stop_at_five, max_minimizations=100)
    assert res.stop_reason == "callback" and res.n_minimizations == 5
    assert len(seen) == 5 and seen[0][0] == (13, 3) and seen[0][2] is True
    assert not res.interrupted


def test_strategies_must_be_callable():
    with pytest.raises(TypeError, match="take_step"):
        global_minimize(7, take_step=3, max_minimizations=1)


# ---- options and presets ------------------------------------------------------------


def _timeless(state):
    """The state without its clock readings (the only fields two seeded runs differ in)."""
    return {**state, "elapsed": None, "trace": [row[1:] for row in state["trace"]]}


def test_options_record_equals_keywords():
    a = global_minimize(13, seed=4, options=BHOptions(temperature=1.1, step=0.35,
                                                      max_minimizations=40))
    b = global_minimize(13, seed=4, temperature=1.1, step=0.35, max_minimizations=40)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert _timeless(a.state) == _timeless(b.state)
    # a keyword overrides the record's field
    c = global_minimize(13, seed=4, options=BHOptions(temperature=5.0, step=0.35,
                                                      max_minimizations=40),
                        temperature=1.1)
    assert _timeless(c.state) == _timeless(a.state)


def test_unknown_option_and_wrong_options_type():
    with pytest.raises(TypeError, match="tempreature"):
        global_minimize(7, tempreature=1.0)
    with pytest.raises(TypeError, match="BHOptions"):
        global_minimize(7, options={"temperature": 1.0})


@pytest.mark.parametrize("method, minimizer, kind, widths, fresh", [
    ("bh", "compiled", CompiledQuench, (), False),
    ("smoothed-bh", "compiled", CompiledQuench, (0.3,), False),
    ("bh", "scipy", PlainQuench, None, False),
    ("homotopy", "compiled", HomotopyQuench, None, True),
])
def test_methods_are_presets_of_the_strategies(method, minimizer, kind, widths, fresh):
    from ase_gausslj.optimize.options import check_options

    obj = SmoothedLJ().energy_gradient
    settings, _ = check_options(BHOptions(minimizer=minimizer), method, 13, obj)
    st = Strategies.preset(settings, obj)
    assert isinstance(st.take_step, RandomDisplacement) and st.take_step.step == 0.4
    assert isinstance(st.accept_test, Metropolis) and st.accept_test.temperature == 0.8
    assert type(st.quench) is kind and st.fresh_starts is fresh and st.custom() == []
    if widths is not None:
        assert st.quench.widths == widths
