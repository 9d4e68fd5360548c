"""The 0.1 building block ``smoothed_forces`` still reproduces the NonbondedForce at width 0."""

import numpy as np
import openmm as mm
import openmm.unit as unit

from openmm_gausslj import smoothed_forces


def _energy(forces, positions):
    system = mm.System()
    for _ in range(len(positions)):
        system.addParticle(1.0)
    for f in forces:
        system.addForce(mm.XmlSerializer.clone(f))
    ctx = mm.Context(system, mm.VerletIntegrator(1e-3), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(positions)
    return ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


def test_smoothed_forces_equal_the_original_at_width_zero():
    rng = np.random.default_rng(0)
    nb = mm.NonbondedForce()
    for i in range(6):
        nb.addParticle(0.2 * (-1) ** i, 0.3, 0.5)
    nb.addException(0, 1, 0.01, 0.3, 0.25)
    pos = np.cumsum(rng.uniform(0.3, 0.4, size=(6, 3)), axis=0) * 0.6
    original = _energy([nb], pos)
    forces = smoothed_forces(nb, width=0.0)
    assert any(isinstance(f, mm.CustomNonbondedForce) for f in forces)
    assert abs(_energy(forces, pos) - original) <= 1e-9 * max(1.0, abs(original))
    assert abs(_energy(smoothed_forces(nb, width=0.02), pos) - original) > 1e-6
