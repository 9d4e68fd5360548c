"""homotopy_minimize, multistart (executor path), GaussianHomotopy over ASE optimizers."""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from ase import Atoms
from ase.cluster import Icosahedron

from ase_gausslj.adapters.calculator import GaussianLJ
from ase_gausslj.adapters.optimizers import GaussianHomotopy
from ase_gausslj.cli.homotopy import add_cli
from ase_gausslj.optimize.homotopy import PAPER, homotopy_minimize
from ase_gausslj.optimize.local import adam
from ase_gausslj.optimize.multistart import multistart
from ase_gausslj.parallel import process_pool
from ase_gausslj.schedules import ExplicitSchedule, PlateauSchedule

LJ7 = -16.505384  # Cambridge Cluster Database
LJ7_MINIMA = (LJ7, -15.935044, -15.593340, -15.533060)  # all four LJ7 minima
LJ13 = -44.326801


def _is_lj7_minimum(e):
    return min(abs(e - m) for m in LJ7_MINIMA) < 1e-3


def _lj_energy(x):
    """Plain LJ over all pairs, numpy (independent of the package)."""
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)[np.triu_indices(len(x), 1)]
    return float(np.sum(4 * (d**-12 - d**-6)))


def test_lbfgs_reaches_lj7_and_reports_lj_energy():
    res = homotopy_minimize(7, seed=1, widths=[0.4, 0.2, 0.1])
    assert res.reached_zero and [h.width for h in res.history] == [0.4, 0.2, 0.1, 0.0]
    assert res.energy == pytest.approx(_lj_energy(res.positions), rel=1e-10)
    assert _is_lj7_minimum(res.energy)
    assert res.grad_norm < 1e-4
    assert res.n_evals >= res.n_steps > 0 and res.widths_visited == 4


def test_positions_input_and_callback():
    x0 = np.random.default_rng(3).standard_normal((13, 3))
    seen = []
    res = homotopy_minimize(x0, widths=[0.3], optimizer="fire", steps_per_width=300,
                            final_steps=3000, callback=seen.append)
    assert [s.width for s in seen] == [0.3, 0.0]
    assert res.positions.shape == (13, 3) and res.energy < -35.0
    assert np.all(x0 == np.random.default_rng(3).standard_normal((13, 3)))  # untouched


def test_adam_is_torch_adam():
    # Adam on f(x) = 0.5 |x|^2 against a hand-written reference loop (torch formulas)
    fg = lambda x: (0.5 * float(x @ x), x.copy())  # noqa: E731
    x0 = np.array([1.0, -2.0, 0.5])
    xb, eb, gn, steps, nev, trig = adam(fg, x0, lr=0.1, steps=5, patience=1000,
                                         lr_factor=0.1, gtol=1e-12)
    x, m, v = x0.copy(), np.zeros(3), np.zeros(3)
    traj = [x.copy()]
    for t in range(1, 6):
        g = x
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        traj.append(x.copy())
    best = min(traj, key=lambda y: 0.5 * y @ y)
    np.testing.assert_allclose(xb, best, rtol=1e-12)
    assert steps == 5 and nev == 6 and not trig


def test_adam_plateau_and_trigger():
    # constant-gradient plane: energy always improves -> no LR drop; trigger never fires
    fg = lambda x: (float(x.sum()), np.ones_like(x))  # noqa: E731
    xb, _, _, steps, _, trig = adam(fg, np.zeros(2), lr=0.1, steps=50, patience=3,
                                     lr_factor=0.1, gtol=1e-5)
    assert steps == 50 and not trig
    np.testing.assert_allclose(xb, -0.1 * 50 * np.ones(2), rtol=1e-6)
    # already at the minimum: the trigger fires before any step
    fg0 = lambda x: (float(x @ x), 2 * x)  # noqa: E731
    *_, steps, nev, trig = adam(fg0, np.zeros(2), lr=0.1, steps=50, patience=3,
                                 lr_factor=0.1, gtol=1e-5)
    assert trig and steps == 0 and nev == 1


def test_paper_protocol_advances_only_on_trigger():
    # with a huge gtol the trigger fires at every width: all widths visited in order
    sched = PlateauSchedule(start=0.4, factor=0.5, floor=0.1, gtol=1e9)
    res = homotopy_minimize(13, seed=0, protocol="paper", widths=sched, max_steps=400)
    assert [h.width for h in res.history] == [0.4, 0.2, 0.1, 0.0]
    assert all(h.converged for h in res.history)
    # the paper's own constants
    assert PAPER["gtol"] == 1e-5 and PAPER["max_steps"] == 10_000 and PAPER["lr"] == 0.1


def test_paper_protocol_budget_is_shared():
    res = homotopy_minimize(13, seed=0, protocol="paper", max_steps=300)
    assert res.n_steps <= 300
    if not res.history[0].converged:  # trigger never fired: still at width 1.0
        assert res.widths_visited == 1 and not res.reached_zero


def test_budget_protocol_visits_every_width():
    res = homotopy_minimize(13, seed=0, protocol="budget", max_steps=730)
    assert res.widths_visited == 73 and res.reached_zero
    assert res.n_steps <= 730
    assert all(h.steps == 10 for h in res.history[:-1])


def test_plain_minimization_baseline():
    res = homotopy_minimize(13, seed=4, widths=[0.0])
    assert res.widths_visited == 1 and res.energy < -35.0


def test_multistart_serial_and_process_pool():
    kw = dict(widths=[0.2], seeds=[0, 1, 2])
    serial = multistart(7, **kw)
    assert list(serial.energies) == sorted(serial.energies)
    with process_pool(2) as ex:  # a fork pool is refused once OpenMP ran
        pooled = multistart(7, executor=ex, **kw)
    by_seed = {r.seed: r.energy for r in serial.results}
    for r in pooled.results:
        assert r.energy == pytest.approx(by_seed[r.seed], rel=1e-12)
    assert all(_is_lj7_minimum(e) for e in pooled.energies)


def test_multistart_explicit_starts_threads():
    starts = np.random.default_rng(0).standard_normal((2, 7, 3))
    with ThreadPoolExecutor(2) as ex:
        ms = multistart(starts, executor=ex, widths=[0.0])
    assert len(ms.results) == 2 and {r.seed for r in ms.results} == {0, 1}


def test_bad_input():
    with pytest.raises(ValueError, match="protocol"):
        homotopy_minimize(5, protocol="nope")
    with pytest.raises(ValueError, match="optimizer"):
        homotopy_minimize(5, optimizer="sgd")
    with pytest.raises(ValueError, match="positions"):
        homotopy_minimize(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="positions"):
        homotopy_minimize(1)
    with pytest.raises(ValueError, match="widths"):
        homotopy_minimize(5, widths=[-1.0])
    with pytest.raises(ValueError, match="seeds"):
        multistart(np.zeros((2, 3, 3)), seeds=[1])


# ----------------------------------------------------------------------------- ASE --
def _ar13():
    atoms = Icosahedron("Ar", 2, latticeconstant=5.26)
    atoms.rattle(0.3, seed=2)
    atoms.calc = GaussianLJ(epsilon=0.0104, sigma=3.40)
    return atoms


def _optimizer_classes():
    import ase.optimize as opt

    names = ["FIRE", "FIRE2", "BFGS", "LBFGS", "LBFGSLineSearch", "BFGSLineSearch", "MDMin",
             "GoodOldQuasiNewton", "GPMin", "ODE12r", "RFO"]  # CellAwareBFGS needs a cell filter
    return [getattr(opt, n) for n in names if hasattr(opt, n)]


@pytest.mark.parametrize("optimizer", _optimizer_classes(), ids=lambda c: c.__name__)
def test_gaussian_homotopy_every_ase_optimizer(optimizer, tmp_path):
    atoms = _ar13()
    # widths 0.09 and 0.044 sigma: larger ones make a free cluster expand (see docs)
    gh = GaussianHomotopy(atoms, optimizer, widths=[0.3, 0.15], logfile=None,
                          trajectory=str(tmp_path / "h.traj"))
    calls = []
    gh.attach(lambda: calls.append(atoms.calc.width))
    # GPMin's Gaussian process grows as (steps * 3N)^2: keep it short
    conv = gh.run(fmax=1e-4, steps=25 if optimizer.__name__ == "GPMin" else 400)
    assert [s["width"] for s in gh.stages] == [0.3, 0.15, 0.0]
    assert calls and {s["width"] for s in gh.stages if s["steps"] > 0} <= set(calls)
    e = atoms.get_potential_energy()
    # a rattled Ar13 icosahedron relaxes into (or near) the LJ13 funnel, eps = 0.0104 eV
    assert e < 0.9 * LJ13 * 0.0104
    if conv:
        assert np.abs(atoms.get_forces()).max() < 1e-4


def test_gaussian_homotopy_log_traj_and_default_widths(tmp_path):
    from ase.io import read

    atoms = _ar13()
    log = tmp_path / "h.log"
    gh = GaussianHomotopy(atoms, logfile=str(log), trajectory=str(tmp_path / "h.traj"),
                          steps_per_width=5)
    # issue 18: the first width binds (0.04 eps well), scaled by sigma; not the paper's 1 sigma
    from ase_gausslj.optimize.dispersal import binding_width

    k = len(gh.schedule)
    assert gh.schedule[0] == pytest.approx(binding_width(0.04) * 3.40) and k == 13
    assert gh.run(fmax=1e-4, steps=1000)
    frames = read(tmp_path / "h.traj", ":")
    assert len(frames) > k  # all stages in one trajectory
    text = log.read_text()
    assert f"stage {k}/{k} width 0" in text
    assert len(gh.stages) == k and gh.stages[-1]["converged"] and not gh.dispersed


def test_gaussian_homotopy_needs_width_calculator():
    from ase.calculators.lj import LennardJones

    atoms = Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 4.0]])
    atoms.calc = LennardJones()
    with pytest.raises(ValueError, match="width"):
        GaussianHomotopy(atoms)


def test_cli(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    out = tmp_path / "r.json"
    args = parser.parse_args(["homotopy", "7", "--runs", "2", "--output", str(out)])
    assert args.func(args) == 0
    data = json.loads(out.read_text())
    assert len(data) == 2 and _is_lj7_minimum(data[0]["energy"])
    assert "best" in capsys.readouterr().out


def test_widths_from_schedule_object():
    res = homotopy_minimize(7, seed=0, widths=ExplicitSchedule([0.5]))
    assert res.widths_visited == 2


def test_mixture_arrays():
    rng = np.random.default_rng(2)
    eps = np.where(np.arange(9) % 2, 1.0, 1.5)
    sig = np.where(np.arange(9) % 2, 1.0, 1.2)
    res = homotopy_minimize(1.3 * rng.standard_normal((9, 3)), epsilon=eps, sigma=sig,
                            widths=[0.1])
    x = res.positions
    i, j = np.triu_indices(9, 1)
    r = np.linalg.norm(x[i] - x[j], axis=1)
    s = 0.5 * (sig[i] + sig[j])
    e_ref = np.sum(np.sqrt(eps[i] * eps[j]) * 4 * ((s / r) ** 12 - (s / r) ** 6))
    assert r.min() > 0.8 * s.max()  # outside the core: plain LJ applies
    assert res.energy == pytest.approx(e_ref, rel=1e-10) and res.grad_norm < 1e-3
