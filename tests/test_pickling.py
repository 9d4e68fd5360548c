"""Every public object pickles *after use* (process pools, Dask and ``pickle.dumps(atoms)``
need it), and the copy computes what the original computes.

Issue 19: caches held as ``functools.lru_cache`` of bound methods made a used
``SmoothedLJ`` / ``SmoothedLJTable`` / ``GaussianLJ`` unpicklable, so the default objective
of ``global_minimize`` could not go to a process pool. The tests here build each object,
use it (so every cache is filled), round-trip it through pickle and compare results.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import ase_gausslj
from ase_gausslj import (
    CallableSchedule,
    ExplicitSchedule,
    GaussianLJ,
    GeometricSchedule,
    LinearSchedule,
    LJClusterTarget,
    PlateauSchedule,
    SmoothedLJ,
    get_table,
    global_minimize,
    homotopy_minimize,
    run_smc,
)

ICO13 = np.array(  # an LJ13 icosahedron (centre + 12 vertices, edge ~1.1 sigma)
    [[0, 0, 0]] + [[s1 * 0.5257 * 1.1, s2 * 0.8507 * 1.1, 0] for s1 in (-1, 1)
                   for s2 in (-1, 1)]
    + [[0, s1 * 0.5257 * 1.1, s2 * 0.8507 * 1.1] for s1 in (-1, 1) for s2 in (-1, 1)]
    + [[s2 * 0.8507 * 1.1, 0, s1 * 0.5257 * 1.1] for s1 in (-1, 1) for s2 in (-1, 1)],
    dtype=float,
)


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


def _half_of_k(k: int) -> float:  # module level: a CallableSchedule of it pickles
    return 0.5 / (k + 1)


def test_smoothed_lj_pickles_after_use_and_computes_the_same():
    lj = SmoothedLJ(epsilon=[1.0, 0.5] * 6 + [1.0], sigma=[1.0, 1.1] * 6 + [1.0])
    res = lj.compute(ICO13, 0.3, cutoff=2.5, cutoff_mode="shift", virial=True)
    lj.energy_forces(ICO13, 0.2)
    lj.pair([1.0, 1.5], 0.3)
    copy = _roundtrip(lj)
    again = copy.compute(ICO13, 0.3, cutoff=2.5, cutoff_mode="shift", virial=True)
    assert again.energy == res.energy
    np.testing.assert_array_equal(again.forces, res.forces)
    np.testing.assert_array_equal(copy.energy_forces(ICO13, 0.2)[1], lj.energy_forces(ICO13,
                                                                                        0.2)[1])
    # the bound method is what global_minimize sends to a pool
    grad = _roundtrip(lj.energy_gradient)
    assert grad(ICO13.ravel(), 0.1)[0] == lj.energy_gradient(ICO13.ravel(), 0.1)[0]


def test_table_pickles_after_slices_and_interpolates_the_same():
    tab = get_table()
    r = np.linspace(0.5, 4.0, 50)
    v, dv = tab.evaluate(r, 0.25)
    sl = tab.slice(0.25)
    copy = _roundtrip(tab)
    v2, dv2 = copy.evaluate(r, 0.25)
    np.testing.assert_array_equal(v2, v)
    np.testing.assert_array_equal(dv2, dv)
    sl2 = _roundtrip(sl)
    np.testing.assert_array_equal(sl2.coef, sl.coef)


def test_calculator_and_atoms_pickle_after_a_calculation():
    from ase import Atoms

    atoms = Atoms("Ar13", positions=ICO13 * 3.4)
    atoms.calc = GaussianLJ(epsilon=0.0104, sigma=3.4, width=0.3)
    e = atoms.get_potential_energy()
    f = atoms.get_forces()
    copy = _roundtrip(atoms)  # the exact call of issue 19
    assert copy.calc.results["energy"] == e
    copy.positions[0, 0] += 0.01
    copy.calc.results.clear()
    calc2 = _roundtrip(atoms.calc)
    atoms.calc = calc2
    atoms.positions[0, 0] += 0.01
    assert atoms.get_potential_energy() == pytest.approx(copy.get_potential_energy(),
                                                         rel=1e-13)
    assert not np.allclose(f, atoms.get_forces())  # it did recompute at the new positions


def test_ase_dynamics_and_optimizers_pickle_after_running():
    from ase import Atoms
    from ase.optimize import BFGS

    from ase_gausslj import AnnealedLangevin, GaussianHomotopy, WidthScheduleObserver

    def atoms():
        a = Atoms("Ar7", positions=ICO13[:7] * 1.2)
        a.calc = GaussianLJ(width=0.2)
        return a

    dyn = AnnealedLangevin(atoms(), 0.01, LinearSchedule(0.2, 3), temperature_K=10,
                           friction=0.1, logfile=None)  # ASE's default rng: np.random
    dyn.run(3)
    copy = _roundtrip(dyn)
    assert copy.rng is np.random and copy.nsteps == 3
    assert copy.current_width == dyn.current_width
    copy.run(1)
    assert copy.atoms.calc.parameters.width == 0.0  # the schedule went on to its end
    opt = BFGS(atoms(), logfile=None)
    obs = WidthScheduleObserver(opt.atoms, LinearSchedule(0.2, 3), opt)
    opt.attach(obs)
    opt.run(steps=2)
    assert _roundtrip(obs).atoms.calc.width == opt.atoms.calc.width
    homotopy = GaussianHomotopy(atoms(), widths=[0.2, 0.0], logfile=None)
    homotopy.run(fmax=0.1, steps=5)
    assert _roundtrip(homotopy).atoms.get_potential_energy() == pytest.approx(
        homotopy.atoms.get_potential_energy(), rel=1e-12)


def test_result_objects_pickle():
    gm = global_minimize(7, max_minimizations=3, seed=0)
    ho = homotopy_minimize(7, seed=0, widths=[0.2, 0.0])
    smc = run_smc(7, n_replicas=8, n_steps=3, seed=0)
    for res in (gm, ho):
        copy = _roundtrip(res)
        assert type(copy) is type(res) and copy.energy == res.energy
        np.testing.assert_array_equal(copy.positions, res.positions)
    assert _roundtrip(smc).summary() == smc.summary()


def test_target_pickles_after_use():
    target = LJClusterTarget(7)
    x = np.random.default_rng(0).standard_normal((2, 7, 3)) * 0.8
    e, g = target.lj_energy_gradient(x, 0.2)  # fills the backend's caches
    e2, g2 = _roundtrip(target).lj_energy_gradient(x, 0.2)
    np.testing.assert_array_equal(e2, e)
    np.testing.assert_array_equal(g2, g)


@pytest.mark.parametrize("make", [
    lambda: LinearSchedule(0.5, 5), lambda: GeometricSchedule(0.5, 0.8, 0.05),
    lambda: ExplicitSchedule([0.4, 0.2, 0.0]), lambda: CallableSchedule(_half_of_k, 4),
    lambda: PlateauSchedule(0.5, 0.8, 0.05),
], ids=["linear", "geometric", "explicit", "callable", "plateau"])
def test_schedules_pickle_after_use(make):
    sch = make()
    widths = [sch.width_at(k) for k in range(8)]
    if isinstance(sch, PlateauSchedule):
        sch.update(0.0)  # the rule fired once: the copy keeps its place
    copy = _roundtrip(sch)
    assert [copy.width_at(k) for k in range(8)] == widths
    assert list(copy) == list(sch)
    if isinstance(sch, PlateauSchedule):
        assert copy.width == sch.width < sch.start


def test_every_public_callable_pickles_by_reference():
    for name in ase_gausslj.__all__:
        obj = getattr(ase_gausslj, name)
        if callable(obj):
            assert pickle.loads(pickle.dumps(obj)) is obj, name


def test_openmm_objects_pickle_after_use():
    pytest.importorskip("openmm")
    import openmm as mm

    import openmm_gausslj as og

    state = og.GaussLJState(0.05, torsion_width=0.1)
    copy = _roundtrip(state)
    assert (copy.width, copy.torsion_width, copy.parameter) == (0.05, 0.1, state.parameter)
    grid = og.TableGrid(r_core=0.6)
    assert _roundtrip(grid).key() == grid.key()
    assert _roundtrip(og.DEFAULT_GRID).key() == og.DEFAULT_GRID.key()

    system = mm.System()
    nb = mm.NonbondedForce()
    for _ in range(2):
        system.addParticle(39.9)
        nb.addParticle(0.0, 0.34, 0.99)
    system.addForce(nb)
    smoothed = og.smooth_system(system, 0.02)
    integ = og.AnnealedLangevinIntegrator(300, 1.0, 0.002, 0.02, 0.0, 10)
    ctx = mm.Context(smoothed, integ, mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions([[0, 0, 0], [0.38, 0, 0]])
    integ.reset(ctx)
    integ.step(3)
    moved = _roundtrip(integ)
    assert type(moved) is og.AnnealedLangevinIntegrator
    assert moved.getNumComputations() == integ.getNumComputations()
    og.GaussLJState(0.01).apply_to_context(ctx)
    used = og.GaussLJState.from_context(ctx)
    assert _roundtrip(used).width == used.width == pytest.approx(0.01)
    copy_sys = _roundtrip(smoothed)
    assert copy_sys.getNumForces() == smoothed.getNumForces()
    found = og.ConformerSearchResult(method="bh", seed=0, budget=1, conformers=[],
                                     steps_used=0, cpu_seconds=0.0, n_quenches=0)
    assert _roundtrip(found) == found
    # WidthReporter is left out: it holds an open file, like OpenMM's own reporters
    for name in og.__all__:
        obj = getattr(og, name)
        if callable(obj) and not isinstance(obj, og.TableGrid):
            assert pickle.loads(pickle.dumps(obj)) is obj, name
