"""Surface moves, the parallel-tempering swap rule, the diverse population and the runner.

Energies in the checks are brute-force LJ sums written here, not the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ase_gausslj.optimize.hard.population import crowded, motif_population
from ase_gausslj.optimize.hard.runner import Budget, basin_hop
from ase_gausslj.optimize.hard.surface import MixedStep, SurfaceMove
from ase_gausslj.optimize.hard.tempering import parallel_tempering, swap_probability

from .structures import NN, fcc_block, icosahedron13

LJ13 = -44.326801  # Cambridge Cluster Database


def lj_energy(x: np.ndarray) -> float:
    i, j = np.triu_indices(len(x), 1)
    r2 = ((x[i] - x[j]) ** 2).sum(axis=1)
    return float(np.sum(4 * (r2 ** -6 - r2 ** -3)))


def min_distance(x: np.ndarray) -> float:
    i, j = np.triu_indices(len(x), 1)
    return float(np.sqrt(((x[i] - x[j]) ** 2).sum(axis=1).min()))


def test_surface_move_takes_an_on_top_adatom_to_a_hollow_site():
    ico = icosahedron13()
    adatom = ico[1] * (1 + NN / np.linalg.norm(ico[1]))  # on top of a vertex: one bond
    x = np.vstack([ico, adatom])
    rng = np.random.default_rng(0)
    y = SurfaceMove(k=1, pool=1)(x, rng)
    assert y.shape == x.shape
    assert np.allclose(y[:13], x[:13])  # only the loosest atom moved
    assert lj_energy(y) < lj_energy(x) - 1.5  # a hollow site binds ~3 bonds, on-top one
    assert min_distance(y) >= 0.9


def test_surface_move_keeps_count_and_never_fuses():
    rng = np.random.default_rng(1)
    x = fcc_block(2) + rng.normal(scale=0.03, size=(32, 3))
    move = SurfaceMove(k=3, pool=6, n_sites=32)
    for _ in range(20):
        y = move(x, rng)
        assert y.shape == x.shape and np.all(np.isfinite(y))
        assert min_distance(y) >= min(0.9, min_distance(x)) - 1e-12
        assert np.sum(np.any(np.abs(y - x) > 1e-12, axis=1)) <= 3
    assert np.array_equal(x, fcc_block(2) + np.random.default_rng(1).normal(
        scale=0.03, size=(32, 3)))  # the input is not modified


def test_bad_step_options_are_refused():
    with pytest.raises(ValueError, match="min_distance"):
        SurfaceMove(min_distance=2.0)
    with pytest.raises(ValueError, match="k"):
        SurfaceMove(k=0)
    with pytest.raises(ValueError, match="weights"):
        MixedStep([SurfaceMove()], [0.0])


def test_swap_rule_values():
    assert swap_probability(-10.0, -9.0, 0.5, 1.0) == pytest.approx(math.exp(-1.0))
    assert swap_probability(-9.0, -10.0, 0.5, 1.0) == 1.0  # lower energy goes cold
    assert swap_probability(-9.0, -10.0, 1.0, 1.0) == 1.0
    assert swap_probability(-10.0, -9.0, 0.8, 0.8) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_swap_rule_satisfies_detailed_balance(seed):
    rng = np.random.default_rng(seed)
    e_i, e_j = rng.normal(scale=5, size=2)
    t_i, t_j = rng.uniform(0.3, 3.0, size=2)

    def weight(a, b):  # Boltzmann weight of energy a at t_i and b at t_j
        return math.exp(-a / t_i - b / t_j)

    forward = weight(e_i, e_j) * swap_probability(e_i, e_j, t_i, t_j)
    backward = weight(e_j, e_i) * swap_probability(e_j, e_i, t_i, t_j)
    assert forward == pytest.approx(backward, rel=1e-12)
    assert 0.0 < swap_probability(e_i, e_j, t_i, t_j) <= 1.0


def test_crowded_restarts_the_worse_duplicate_only():
    descs = np.array([[0.1, 0.2], [0.1, 0.21], [0.5, 0.0]])
    energies = np.array([-10.0, -9.0, -8.0])
    assert crowded(descs, energies, radius=0.05) == [1]
    assert crowded(descs, energies, radius=0.05, eligible=np.array([1, 0, 1])) == []
    assert crowded(descs, energies, radius=1.0) == [1, 2]  # the best never restarts


def test_runners_reach_lj13_and_count_quenches():
    runs = {
        "bh": basin_hop(13, Budget(max_quenches=300, target=LJ13), np.random.default_rng(0),
                        take_step=MixedStep([SurfaceMove()], [1.0])),
        "pt": parallel_tempering(13, Budget(max_quenches=300, target=LJ13),
                                 np.random.default_rng(0), widths=(0, 0, 0, 0.3)),
        "pop": motif_population(13, Budget(max_quenches=300, target=LJ13),
                                np.random.default_rng(0), grace=5),
    }
    for name, r in runs.items():
        assert r.energy == pytest.approx(LJ13, abs=1e-4), name
        assert r.time_to_target is not None and r.n_quenches <= 300 + 4
        assert lj_energy(np.asarray(r.positions)) == pytest.approx(r.energy, abs=1e-6)
        best = [row[2] for row in r.trace]
        assert best == sorted(best, reverse=True)  # a trace of new bests
    short = basin_hop(13, Budget(max_quenches=5), np.random.default_rng(1))
    assert short.n_quenches == 5


def test_budget_needs_a_limit():
    with pytest.raises(ValueError, match="cpu_limit or max_quenches"):
        Budget()
    with pytest.raises(ValueError, match="cpu_limit"):
        Budget(cpu_limit=-1.0)


def test_surface_move_plugs_into_global_minimize():
    from ase_gausslj.optimize.globalopt import global_minimize

    r = global_minimize(13, take_step=SurfaceMove(), seed=0, max_minimizations=200,
                        target_energy=LJ13)
    assert r.energy == pytest.approx(LJ13, abs=1e-4)
    assert r.positions.shape == (13, 3)
