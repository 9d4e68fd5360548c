"""``reset`` starts both coupled widths (issue 19: the torsion width stayed 0 until the
first step). With the default ramp-in (issue 18 item 5) reset leaves both widths and the
first steps ramp them together; ``ramp_steps=0`` is the jump tested here."""

from __future__ import annotations

import pytest

mm = pytest.importorskip("openmm")

import openmm.app as app  # noqa: E402

from openmm_gausslj import AnnealedLangevinIntegrator, smooth_system  # noqa: E402
from openmm_gausslj.data import alanine_dipeptide_pdb  # noqa: E402
from openmm_gausslj.forces.torsions import TORSION_WIDTH_PARAMETER  # noqa: E402


@pytest.mark.parametrize("tau0", [1.0, 0.25])
def test_reset_sets_the_coupled_torsion_width(tau0):
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    system = app.ForceField("amber14-all.xml").createSystem(
        pdb.topology, nonbondedMethod=app.NoCutoff, constraints=None)
    system = smooth_system(system, 0.0, torsion_width=0.0)
    integrator = AnnealedLangevinIntegrator(300, 1.0, 0.0005, 0.02, 0.0, 10, system=system,
                                            torsion_width_start=tau0, ramp_steps=0)
    context = mm.Context(system, integrator, mm.Platform.getPlatformByName("Reference"))
    context.setPositions(pdb.positions)
    assert context.getParameter(TORSION_WIDTH_PARAMETER) == 0.0
    integrator.reset(context)
    assert context.getParameter("gausslj_width") == pytest.approx(0.02, abs=1e-15)
    assert context.getParameter(TORSION_WIDTH_PARAMETER) == pytest.approx(tau0, abs=1e-15)
    # and the first step continues the schedule from there (tau follows the width)
    integrator.step(1)
    w = context.getParameter("gausslj_width")
    assert context.getParameter(TORSION_WIDTH_PARAMETER) == pytest.approx(tau0 * w / 0.02)


def test_reset_without_coupling_leaves_the_torsion_width_alone():
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    system = app.ForceField("amber14-all.xml").createSystem(
        pdb.topology, nonbondedMethod=app.NoCutoff, constraints=None)
    system = smooth_system(system, 0.0, torsion_width=0.3)
    integrator = AnnealedLangevinIntegrator(300, 1.0, 0.0005, 0.02, 0.0, 10, system=system)
    context = mm.Context(system, integrator, mm.Platform.getPlatformByName("Reference"))
    context.setPositions(pdb.positions)
    integrator.reset(context)
    assert context.getParameter(TORSION_WIDTH_PARAMETER) == pytest.approx(0.3)


def test_default_ramp_in_moves_both_coupled_widths_together():
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    system = app.ForceField("amber14-all.xml").createSystem(
        pdb.topology, nonbondedMethod=app.NoCutoff, constraints=None)
    system = smooth_system(system, 0.0, torsion_width=0.0)
    integrator = AnnealedLangevinIntegrator(300, 1.0, 0.0005, 0.02, 0.0, 10, system=system,
                                            torsion_width_start=0.5, ramp_steps=4)
    context = mm.Context(system, integrator, mm.Platform.getPlatformByName("Reference"))
    context.setPositions(pdb.positions)
    integrator.reset(context)
    assert context.getParameter("gausslj_width") == 0.0  # reset does not jump
    for k in range(1, 5):
        integrator.step(1)
        w = context.getParameter("gausslj_width")
        assert w == pytest.approx(0.02 * k / 4, abs=1e-15)
        assert context.getParameter(TORSION_WIDTH_PARAMETER) == pytest.approx(0.5 * w / 0.02)
    integrator.step(1)  # then the schedule: 0.02 -> 0 over 10 steps
    assert context.getParameter("gausslj_width") == pytest.approx(0.018, abs=1e-15)
