"""Tests for global_minimize (basin hopping, smoothed basin hopping, homotopy) and its parts."""

from __future__ import annotations

import argparse
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ase_gausslj.adapters.optimizers import global_minimize_atoms
from ase_gausslj.cli.optimize import add_cli
from ase_gausslj.optimize.globalopt import (
    METHODS,
    GlobalOptResult,
    container_radius,
    evaporation_guard,
    global_minimize,
    metropolis_accept,
    random_cluster,
    random_displacement,
)
from ase_gausslj.parallel import process_pool

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

LJ13_GM = -44.326801  # Cambridge Cluster Database
LJ7_GM = -16.505384


def lj_numpy(x, width=0.0, r_core=0.8):
    """Independent plain regularized LJ (numpy, all pairs); width must be 0."""
    assert width == 0.0
    pos = np.asarray(x, dtype=float).reshape(-1, 3)
    d = pos[None, :, :] - pos[:, None, :]  # d[i, j] = x_j - x_i
    r = np.linalg.norm(d, axis=-1)
    iu = np.triu_indices(len(pos), 1)
    rr = r[iu]
    vc = 4 * (r_core**-12 - r_core**-6)
    b = 4 * (-12 * r_core**-13 + 6 * r_core**-7)
    inner = rr <= r_core
    rs = np.where(inner, 1.0, rr)
    v = np.where(inner, vc + b * (rr - r_core), 4 * (rs**-12 - rs**-6))
    dv = np.where(inner, b, -48 * rs**-13 + 24 * rs**-7)
    coef = np.zeros_like(r)
    coef[iu] = dv / rr
    coef = coef + coef.T
    # dE/dx_i = sum_j V'(r_ij) (x_i - x_j) / r_ij
    grad = -(coef[:, :, None] * d).sum(axis=1)
    return float(v.sum()), grad.ravel()


# ---------------------------------------------------------------- building blocks


def test_random_displacement_bounds_and_statistics():
    rng = np.random.default_rng(0)
    x = np.zeros((4000, 3))
    y = random_displacement(x, 0.4, rng)
    assert y.shape == x.shape
    assert np.all(x == 0.0), "input must not be modified"
    assert np.abs(y).max() <= 0.4
    # Uniform on [-a, a]: mean 0, variance a^2 / 3.
    assert abs(y.mean()) < 4 * 0.4 / math.sqrt(3 * y.size)
    assert y.var() == pytest.approx(0.4**2 / 3, rel=0.03)


def test_random_displacement_rejects_bad_step():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="step"):
        random_displacement(np.zeros((3, 3)), 0.0, rng)
    with pytest.raises(ValueError, match="positions"):
        random_displacement(np.zeros((3, 2)), 0.1, rng)


def test_random_cluster_inside_sphere():
    rng = np.random.default_rng(1)
    x = random_cluster(100, rng)
    assert x.shape == (100, 3)
    r0 = (3 * 100 / (4 * math.pi * 0.9)) ** (1 / 3)
    assert np.linalg.norm(x, axis=1).max() <= r0 + 1e-12
    with pytest.raises(ValueError, match="n_atoms"):
        random_cluster(1, rng)


def test_container_radius_formula():
    assert container_radius(38) == pytest.approx((3 * 38 / (4 * math.pi * 0.9)) ** (1 / 3) + 2)
    with pytest.raises(ValueError, match="n_atoms"):
        container_radius(0)


def test_evaporation_guard_brings_escaped_atom_back():
    rng = np.random.default_rng(2)
    cluster = random_cluster(13, rng)
    x = np.vstack([cluster, [[40.0, 0.0, 0.0]]])
    radius = container_radius(14)
    y, moved = evaporation_guard(x, radius, rng)
    assert moved == 1
    np.testing.assert_array_equal(y[:13], cluster)  # bound atoms untouched
    centre = cluster.mean(axis=0)
    r_surf = np.linalg.norm(cluster - centre, axis=1).max()
    assert np.linalg.norm(y[13] - centre) == pytest.approx(r_surf)
    assert x[13, 0] == 40.0, "input must not be modified"


def test_evaporation_guard_noop_and_all_escaped_cases():
    rng = np.random.default_rng(3)
    x = random_cluster(13, rng)
    y, moved = evaporation_guard(x, container_radius(13), rng)
    assert moved == 0
    np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="radius"):
        evaporation_guard(x, -1.0, rng)


def test_evaporation_guard_in_search_keeps_cluster_bound():
    # A huge step throws atoms far away; the guard must bring every one back.
    res = global_minimize(
        7, method="bh", step=6.0, time_limit=30, max_minimizations=15, seed=0,
        objective=lj_numpy, patience=0,
    )
    radius = container_radius(7)
    centre = np.median(res.positions, axis=0)
    assert np.linalg.norm(res.positions - centre, axis=1).max() <= radius
    assert res.energy < -12.0  # 7 bound atoms (a dissociated atom costs >= ~3 epsilon)


def test_metropolis_accept_rules():
    rng = np.random.default_rng(4)
    assert metropolis_accept(-2.0, -1.0, 0.0, rng)
    assert metropolis_accept(-1.0, -1.0, 0.0, rng)
    assert not metropolis_accept(-0.5, -1.0, 0.0, rng)
    assert not metropolis_accept(float("nan"), -1.0, 1.0, rng)
    with pytest.raises(ValueError, match="temperature"):
        metropolis_accept(0.0, 0.0, -1.0, rng)
    # Uphill by 0.5 at T = 0.8: acceptance probability exp(-0.625).
    n = 20000
    hits = sum(metropolis_accept(0.5, 0.0, 0.8, rng) for _ in range(n))
    p = math.exp(-0.5 / 0.8)
    assert abs(hits / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_monotonic_acceptance_never_goes_uphill():
    # With temperature 0 the current energy never increases: the best-energy trace is
    # exactly the sequence of accepted states, so every stored current is the best.
    res = global_minimize(13, method="bh", temperature=0.0, time_limit=30, max_minimizations=25,
                          seed=5, objective=lj_numpy, patience=0)
    st = res.state
    assert st["cur_e"] == pytest.approx(res.energy)
    assert np.all(np.diff(res.trace[:, 2]) < 0)


# ---------------------------------------------------------------- search and resume


def test_bh_lj13_with_independent_objective():
    res = global_minimize(13, method="bh", max_minimizations=500, seed=0, objective=lj_numpy,
                          target_energy=LJ13_GM)
    assert res.stop_reason == "target"
    assert res.energy == pytest.approx(LJ13_GM, abs=1e-4)
    e, g = lj_numpy(res.positions)
    assert e == pytest.approx(res.energy, abs=1e-9)
    assert np.abs(g).max() < 1e-3
    assert res.time_to_energy(LJ13_GM) is not None
    assert res.trace.shape[1] == 3 and np.all(np.diff(res.trace[:, 0]) >= 0)


def test_start_from_positions_and_result_dict():
    rng = np.random.default_rng(6)
    start = random_cluster(7, rng)
    res = global_minimize(start, method="bh", max_minimizations=500, seed=1, objective=lj_numpy,
                          target_energy=LJ7_GM)
    assert res.energy == pytest.approx(LJ7_GM, abs=1e-4)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["method"] == "bh" and len(d["positions"]) == 7


def test_resume_is_identical_to_uninterrupted(tmp_path):
    kw = dict(method="bh", time_limit=60, seed=11, objective=lj_numpy, patience=8)
    full = global_minimize(13, max_minimizations=20, **kw)
    path = tmp_path / "state.json"
    half = global_minimize(13, max_minimizations=9, state_file=path, **kw)
    assert half.n_minimizations == 9 and path.exists()
    resumed = global_minimize(13, max_minimizations=20, state_file=path, **kw)
    assert resumed.n_minimizations == 20
    assert resumed.energy == full.energy
    np.testing.assert_array_equal(resumed.positions, full.positions)
    np.testing.assert_array_equal(resumed.trace[:, 1:], full.trace[:, 1:])
    # Resuming from the in-memory state gives the same too.
    again = global_minimize(13, max_minimizations=20, resume=half.state, **kw)
    assert again.energy == full.energy
    assert again.n_restarts == full.n_restarts
    # A state from other settings is refused.
    with pytest.raises(ValueError, match="settings"):
        global_minimize(13, max_minimizations=20, resume=half.state,
                        **{**kw, "temperature": 0.5})


def test_multistart_with_executor():
    kw = dict(method="bh", time_limit=30, max_minimizations=6, seed=3, objective=lj_numpy)
    with ThreadPoolExecutor(2) as ex:
        res = global_minimize(13, executor=ex, n_starts=3, **kw)
    assert len(res.runs) == 3
    assert res.energy == min(r.energy for r in res.runs)
    assert len({r.seed for r in res.runs}) == 3
    serial = global_minimize(13, n_starts=3, **kw)
    assert [r.energy for r in serial.runs] == [r.energy for r in res.runs]
    assert np.all(np.diff(res.trace[:, 2]) < 0)


def test_multistart_with_process_pool():
    kw = dict(method="bh", time_limit=30, max_minimizations=3, seed=4, objective=lj_numpy)
    with process_pool(2) as ex:  # a fork pool is refused once OpenMP ran
        res = global_minimize(7, executor=ex, n_starts=2, **kw)
    assert len(res.runs) == 2 and np.isfinite(res.energy)


def test_multistart_with_dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        res = global_minimize(7, executor=client, n_starts=2, method="bh", time_limit=30,
                              max_minimizations=3, seed=4, objective=lj_numpy)
    assert len(res.runs) == 2 and res.energy == min(r.energy for r in res.runs)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="method"):
        global_minimize(13, method="annealing")
    with pytest.raises(ValueError, match="time_limit"):
        global_minimize(13, time_limit=0)
    with pytest.raises(ValueError, match="widths"):
        global_minimize(13, method="smoothed-bh", widths=(-0.1,))
    with pytest.raises(ValueError, match="clock"):
        global_minimize(13, clock="cpu")
    with pytest.raises(ValueError, match="n_atoms_or_positions"):
        global_minimize(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="n_starts"):
        global_minimize(13, n_starts=0)
    assert set(METHODS) == {"bh", "smoothed-bh", "homotopy"}


# ---------------------------------------------------------------- the real kernels

@pytest.mark.parametrize("method", ["bh", "smoothed-bh"])
def test_each_method_finds_lj13_quickly(method):
    res = global_minimize(13, method=method, max_minimizations=500, seed=0,
                          target_energy=LJ13_GM)
    assert res.stop_reason == "target", res
    assert res.energy == pytest.approx(LJ13_GM, abs=1e-4)
    # Energy checked with the independent numpy LJ.
    assert lj_numpy(res.positions)[0] == pytest.approx(res.energy, abs=1e-8)
    assert res.n_minimizations < 500  # counts, not seconds (a loaded machine is slow)


def test_homotopy_finds_lj13():
    res = global_minimize(13, method="homotopy", max_minimizations=50, seed=0,
                          target_energy=LJ13_GM)
    assert res.energy == pytest.approx(LJ13_GM, abs=1e-4)
    assert lj_numpy(res.positions)[0] == pytest.approx(res.energy, abs=1e-8)


def test_smoothed_quench_uses_the_width():
    # The two-phase quench must call the objective at the ladder width, then at 0.
    from ase_gausslj.core.energy import SmoothedLJ

    calls = []
    base = SmoothedLJ().energy_gradient

    def spy(x, w):
        calls.append(w)
        return base(x, w)

    global_minimize(13, method="smoothed-bh", widths=(0.2, 0.1), time_limit=30,
                    max_minimizations=2, seed=0, objective=spy)
    ws = [w for i, w in enumerate(calls) if i == 0 or w != calls[i - 1]]
    assert ws[:3] == [0.2, 0.1, 0.0]


# ---------------------------------------------------------------- ASE and CLI


def _lj_calculator_class():
    from ase.calculators.calculator import Calculator, all_changes

    class PlainLJ(Calculator):
        """Independent LJ calculator with a (ignored, must be 0) width parameter."""

        implemented_properties = ["energy", "forces"]
        default_parameters = {"width": 0.0, "sigma": 1.0, "epsilon": 1.0}

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            s = self.parameters.sigma
            e, g = lj_numpy(self.atoms.positions / s, self.parameters.width / s)
            self.results = {"energy": e * self.parameters.epsilon,
                            "forces": -g.reshape(-1, 3) * self.parameters.epsilon / s}

    return PlainLJ


def test_global_minimize_atoms_ase_units():
    from ase import Atoms

    sigma, eps = 3.4, 0.0104  # argon-like, Angstrom / eV
    rng = np.random.default_rng(8)
    atoms = Atoms("Ar7", positions=random_cluster(7, rng) * sigma)
    atoms.calc = _lj_calculator_class()(sigma=sigma, epsilon=eps)
    best, res = global_minimize_atoms(atoms, method="bh", max_minimizations=300, seed=0,
                                      target_energy=LJ7_GM * eps, target_tol=1e-4 * eps)
    assert best.get_potential_energy() == pytest.approx(LJ7_GM * eps, rel=1e-5)
    assert res.energy == pytest.approx(LJ7_GM * eps, rel=1e-5)
    assert len(best) == 7 and atoms.positions.shape == (7, 3)
    # Nearest-neighbour distance in Angstrom ~ 2^(1/6) sigma.
    d = np.linalg.norm(best.positions[:, None] - best.positions[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() == pytest.approx(2 ** (1 / 6) * sigma, rel=0.05)


def test_cli_optimize(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_cli(sub)
    out = tmp_path / "res.json"
    xyz = tmp_path / "best.xyz"
    args = parser.parse_args(["optimize", "7", "--method", "bh", "--time-limit", "20",
                              "--quenches", "3", "--seed", "0",
                              "--output", str(out), "--xyz", str(xyz)])
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_minimizations"] == 3
    saved = json.loads(out.read_text())
    assert saved["energy"] == pytest.approx(summary["energy"])
    assert xyz.read_text().splitlines()[0] == "7"


def test_result_time_to_energy():
    r = GlobalOptResult(energy=-3.0, positions=np.zeros((2, 3)), method="bh", seed=0,
                        n_minimizations=3, n_restarts=0, elapsed=3.0,
                        trace=np.array([[0.5, 1, -1.0], [1.5, 2, -2.0], [2.5, 3, -3.0]]),
                        stop_reason="budget")
    assert r.time_to_energy(-2.0) == 1.5
    assert r.time_to_energy(-4.0) is None


def test_global_minimize_atoms_with_gaussian_lj_smoothed():
    from ase import Atoms

    from ase_gausslj.adapters.calculator import GaussianLJ

    sigma, eps = 3.4, 0.0104
    rng = np.random.default_rng(9)
    atoms = Atoms("Ar7", positions=random_cluster(7, rng) * sigma)
    calc = GaussianLJ(sigma=sigma, epsilon=eps)
    seen = []
    orig_set = calc.set

    def spy_set(**kw):
        seen.append(kw.get("width"))
        return orig_set(**kw)

    calc.set = spy_set
    best, res = global_minimize_atoms(atoms, calc, method="smoothed-bh", widths=(0.3,),
                                      max_minimizations=300, seed=0,
                                      target_energy=LJ7_GM * eps,
                                      target_tol=1e-4 * eps)
    assert res.energy == pytest.approx(LJ7_GM * eps, rel=1e-5)
    # The ladder width is given in sigma and reaches the calculator in Angstrom.
    assert pytest.approx(0.3 * sigma) in seen
    assert best.calc.width == 0.0


def test_global_minimize_atoms_plain_ase_lennard_jones():
    # 'bh' works with a calculator that has no width at all (ASE's own LennardJones).
    from ase import Atoms
    from ase.calculators.lj import LennardJones

    rng = np.random.default_rng(10)
    atoms = Atoms("Ar7", positions=random_cluster(7, rng) * 1.2 + 0.0)
    calc = LennardJones(sigma=1.0, epsilon=1.0, rc=50.0)
    best, res = global_minimize_atoms(atoms, calc, method="bh", time_limit=20, seed=2,
                                      max_minimizations=40, target_energy=LJ7_GM,
                                      target_tol=1e-3)
    assert "width" not in calc.parameters
    # rc=50 shifts each pair by V(50) ~ -1.6e-10: negligible next to the tolerance.
    assert res.energy == pytest.approx(LJ7_GM, abs=1e-3)
