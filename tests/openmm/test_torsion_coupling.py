"""One schedule drives both widths: the integrator moves the torsion width with the LJ width."""

from __future__ import annotations

import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

from openmm_gausslj import AnnealedLangevinIntegrator, smooth_system
from openmm_gausslj.data import alanine_dipeptide_pdb
from openmm_gausslj.torsions import TORSION_WIDTH_PARAMETER


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
                                            torsion_width_start=0.5)
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
