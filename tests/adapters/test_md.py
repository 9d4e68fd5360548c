"""AnnealedLangevin and WidthScheduleObserver."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms, units
from ase.cluster import Icosahedron
from ase.md.langevin import Langevin
from ase.md.verlet import VelocityVerlet
from ase.optimize import FIRE

from ase_gausslj.adapters.calculator import GaussianLJ
from ase_gausslj.adapters.dynamics import AnnealedLangevin, WidthScheduleObserver
from ase_gausslj.schedules import ExplicitSchedule, LinearSchedule, PlateauSchedule


def _ar13():
    atoms = Icosahedron("Ar", 2, latticeconstant=5.26)
    atoms.calc = GaussianLJ(epsilon=0.0104, sigma=3.40)
    return atoms


def test_annealed_langevin_changes_width_every_step():
    atoms = _ar13()
    sched = LinearSchedule(1.0, 5)  # 1.0, 0.75, 0.5, 0.25, 0
    dyn = AnnealedLangevin(atoms, 2 * units.fs, sched, temperature_K=20, friction=0.02, fixcm=False,
                           rng=np.random.default_rng(0))
    seen = []
    dyn.attach(lambda: seen.append(atoms.calc.width))
    dyn.run(7)
    # observers run after each step (and once before): the width of the step just taken
    assert seen == [1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0]
    assert dyn.current_width == 0.0


def test_annealed_langevin_equals_langevin_at_fixed_width():
    # a constant schedule must reproduce ASE's Langevin bit for bit (same rng stream)
    a1, a2 = _ar13(), _ar13()
    a1.calc.set(width=0.4)
    kw = dict(temperature_K=30, friction=0.05, fixcm=False)
    Langevin(a1, 2 * units.fs, rng=np.random.default_rng(3), **kw).run(10)
    AnnealedLangevin(a2, 2 * units.fs, ExplicitSchedule([0.4] * 20),
                     rng=np.random.default_rng(3), **kw).run(10)
    np.testing.assert_allclose(a2.positions, a1.positions, rtol=0, atol=1e-12)


def test_steps_per_width():
    atoms = _ar13()
    dyn = AnnealedLangevin(atoms, 1 * units.fs, [0.6, 0.3], steps_per_width=3,
                           temperature_K=10, friction=0.01, fixcm=False,
                           rng=np.random.default_rng(1))
    seen = []
    dyn.attach(lambda: seen.append(atoms.calc.width))
    dyn.run(8)
    assert seen == [0.6, 0.6, 0.6, 0.6, 0.3, 0.3, 0.3, 0.0, 0.0]


def test_observer_on_velocity_verlet():
    atoms = _ar13()
    atoms.rattle(0.05, seed=0)
    dyn = VelocityVerlet(atoms, 1 * units.fs)
    obs = WidthScheduleObserver(atoms, [0.9, 0.6, 0.3], dynamics=dyn)
    dyn.attach(obs, interval=1)
    dyn.run(5)
    # called before the first step (nsteps=0) and after each step (nsteps=1..5)
    assert obs.history == [0.9, 0.6, 0.3, 0.0, 0.0, 0.0]
    assert atoms.calc.width == 0.0


def test_plateau_observer_on_optimizer():
    atoms = _ar13()
    atoms.rattle(0.2, seed=1)
    # trigger on the force 2-norm (eV/Å): shrink each time it drops below 1e-2
    obs = WidthScheduleObserver(atoms, PlateauSchedule(start=0.8, factor=0.5, floor=0.2,
                                                       gtol=1e-2))
    atoms.calc.set(width=obs.schedule.width)
    opt = FIRE(atoms, logfile=None)
    opt.attach(obs)
    opt.run(fmax=1e-4, steps=3000)
    assert obs.history[0] == 0.8 and obs.history[-1] == 0.0
    assert sorted(set(obs.history), reverse=True) == [0.8, 0.4, 0.2, 0.0]
    assert np.all(np.diff(obs.history) <= 0)


def test_needs_width_calculator():
    from ase.calculators.lj import LennardJones

    atoms = Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 4.0]])
    atoms.calc = LennardJones()
    with pytest.raises(ValueError, match="width"):
        AnnealedLangevin(atoms, 1 * units.fs, [0.1], temperature_K=10, friction=0.01)
    with pytest.raises(ValueError, match="width"):
        WidthScheduleObserver(atoms, [0.1])
    atoms.calc = GaussianLJ()
    with pytest.raises(ValueError, match="steps_per_width"):
        AnnealedLangevin(atoms, 1 * units.fs, [0.1], steps_per_width=0, temperature_K=10,
                         friction=0.01)
