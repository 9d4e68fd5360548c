"""One schedule drives both widths: the integrator moves the torsion width with the LJ width."""

from __future__ import annotations

import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

from openmm_gausslj import AnnealedLangevinIntegrator, smooth_system
from openmm_gausslj.data import alanine_dipeptide_pdb
from openmm_gausslj.forces.torsions import TORSION_WIDTH_PARAMETER


def _system():
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    ff = app.ForceField("amber14-all.xml")
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff, constraints=None)
    return smooth_system(system, 0.02, torsion_width=0.5), pdb.positions


def _torsion_energy(context, tau, group):
    context.setParameter(TORSION_WIDTH_PARAMETER, tau)
    state = context.getState(getEnergy=True, groups={group})
    return state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


def test_torsion_width_follows_the_lj_width_on_the_device():
    system, positions = _system()
    group = 5
    for f in system.getForces():
        if isinstance(f, mm.CustomTorsionForce):
            f.setForceGroup(group)
    n = 10
    integrator = AnnealedLangevinIntegrator(300, 1.0, 0.0005, 0.02, 0.0, n, system=system,
                                            torsion_width_start=0.5, ramp_steps=0)
    context = mm.Context(system, integrator, mm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions)
    integrator.reset(context)
    for k in range(1, n + 1):
        integrator.step(1)
        w = context.getParameter("gausslj_width")
        tau = context.getParameter(TORSION_WIDTH_PARAMETER)
        assert w == pytest.approx(0.02 * (1 - k / n), abs=1e-12)
        assert tau == pytest.approx(0.5 * w / 0.02, abs=1e-12)
    assert context.getParameter(TORSION_WIDTH_PARAMETER) == 0.0
    # the torsion energy really depends on the coupled parameter (the test could fail)
    assert abs(_torsion_energy(context, 0.5, group) - _torsion_energy(context, 0.0, group)) > 1e-3


def test_torsion_coupling_needs_a_width_to_follow():
    system, _ = _system()
    with pytest.raises(ValueError, match="torsion_width_start"):
        AnnealedLangevinIntegrator(300, 1.0, 0.001, 0.0, 0.0, 10, torsion_width_start=0.5)
    with pytest.raises(ValueError, match="torsion_width_start"):
        AnnealedLangevinIntegrator(300, 1.0, 0.001, 0.02, 0.0, 10, torsion_width_start=4.0)


def test_stagewise_annealing_couples_the_torsion_width():
    from openmm_gausslj import anneal_simulation, homotopy_minimize_context

    system, positions = _system()
    simulation = app.Simulation(
        app.PDBFile(alanine_dipeptide_pdb()).topology, system,
        mm.LangevinMiddleIntegrator(300, 1.0, 0.0005), mm.Platform.getPlatformByName("Reference"))
    simulation.context.setPositions(positions)
    seen = []
    anneal_simulation(simulation, [0.02, 0.01, 0.0], 2, torsion_width_start=0.4,
                      callback=lambda w, sim: seen.append(
                          (w, sim.context.getParameter(TORSION_WIDTH_PARAMETER))))
    assert [t for _, t in seen] == pytest.approx([0.4, 0.2, 0.0], abs=1e-12)
    simulation.context.setParameter(TORSION_WIDTH_PARAMETER, 0.3)
    stages = homotopy_minimize_context(simulation.context, [0.02, 0.01], torsion_width_start=0.3,
                               max_iterations=20)
    assert [w for w, _ in stages] == [0.02, 0.01, 0.0]
    assert simulation.context.getParameter(TORSION_WIDTH_PARAMETER) == 0.0


def test_state_object_sets_both_widths():
    from openmm_gausslj import GaussLJState

    system, positions = _system()
    context = mm.Context(system, mm.VerletIntegrator(0.001),
                         mm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions)
    assert GaussLJState.from_context(context) == GaussLJState(0.02, torsion_width=0.5)
    state = GaussLJState(0.01, torsion_width=0.25)
    state.apply_to_context(context)
    assert context.getParameter("gausslj_width") == 0.01
    assert context.getParameter(TORSION_WIDTH_PARAMETER) == 0.25
    assert GaussLJState.from_context(context) == state
    copy = GaussLJState()
    copy.__setstate__(state.__getstate__())
    assert copy == state and "torsion_width=0.25" in repr(copy)
    with pytest.raises(ValueError, match="torsion_width"):
        GaussLJState(0.01, torsion_width=-1.0)


def test_state_torsion_width_needs_smoothed_torsions():
    from openmm_gausslj import GaussLJState

    pdb = app.PDBFile(alanine_dipeptide_pdb())
    system = app.ForceField("amber14-all.xml").createSystem(pdb.topology,
                                                            nonbondedMethod=app.NoCutoff)
    smoothed = smooth_system(system, 0.02)  # LJ only, torsions untouched
    with pytest.raises(ValueError, match="no smoothed torsions"):
        GaussLJState(0.01, torsion_width=0.2).apply_to_system(smoothed)
    assert GaussLJState.from_system(smoothed).torsion_width is None
