"""openmmtools composability: GaussLJState in CompoundThermodynamicState, integrator temperature.

Skipped when openmmtools (the optional extra ``gausslj[openmmtools]``) is not installed.
"""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

from openmm_gausslj import AnnealedLangevinIntegrator, GaussLJState, smooth_system
from openmm_gausslj.data import alanine_dipeptide_pdb

states = pytest.importorskip("openmmtools.states",
                             reason="openmmtools (optional extra) is not installed")
mcmc = pytest.importorskip("openmmtools.mcmc", reason="openmmtools is not installed")
cache = pytest.importorskip("openmmtools.cache", reason="openmmtools is not installed")
utils = pytest.importorskip("openmmtools.utils", reason="openmmtools is not installed")

K = unit.kelvin


@pytest.fixture(scope="module")
def peptide_system():
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    ff = app.ForceField("amber14-all.xml")
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff)
    return smooth_system(system, 0.0), pdb.positions


def _compound(system, width, temperature=300 * K):
    return states.CompoundThermodynamicState(states.ThermodynamicState(system, temperature),
                                             [GaussLJState(width)])


def test_compound_state_sets_width_and_integrator_temperature(peptide_system):
    system, pos = peptide_system
    state = _compound(system, 0.01)  # issue: a bare AssertionError
    assert state.width == pytest.approx(0.01)
    integ = AnnealedLangevinIntegrator(300 * K, 1.0, 0.001, 0.0, 0.0, 1)
    ctx = state.create_context(integ, mm.Platform.getPlatformByName("Reference"))
    assert integ.getTemperature().value_in_unit(K) == pytest.approx(300.0)
    assert ctx.getParameter("gausslj_width") == pytest.approx(0.01)
    other = _compound(system, 0.03)
    assert state.is_state_compatible(other)  # one standard System for every width
    ctx.setPositions(pos)
    u1 = state.reduced_potential(ctx)
    other.apply_to_context(ctx)
    assert ctx.getParameter("gausslj_width") == pytest.approx(0.03)
    u3 = other.reduced_potential(ctx)
    assert np.isfinite(u1) and np.isfinite(u3) and u1 != pytest.approx(u3)
    state.width = 0.02  # forwarded to the composable state
    state.apply_to_context(ctx)
    assert ctx.getParameter("gausslj_width") == pytest.approx(0.02)
    with pytest.raises(ValueError, match="width"):
        state.width = -1.0
    state.width = 5.0  # beyond the table for this System: refused when applied
    with pytest.raises(ValueError, match="largest supported width"):
        state.apply_to_context(ctx)


def test_mcmc_move_and_serialization(peptide_system):
    system, pos = peptide_system
    state = _compound(system, 0.02)
    sampler_state = states.SamplerState(pos)
    move = mcmc.LangevinDynamicsMove(timestep=1.0 * unit.femtosecond, n_steps=20)
    move.apply(state, sampler_state, context_cache=cache.ContextCache(
        platform=mm.Platform.getPlatformByName("Reference")))
    assert np.all(np.isfinite(sampler_state.positions.value_in_unit(unit.nanometer)))
    copy = utils.deserialize(utils.serialize(state))
    assert copy.width == pytest.approx(0.02)
    assert GaussLJState.__getstate__(GaussLJState(0.01)) == {"width": 0.01,
                                                              "parameter": "gausslj_width"}


def test_integrator_interface_survives_xml_round_trip():
    integ = AnnealedLangevinIntegrator(310 * K, 2.0, 0.002, 0.04, 0.01, 50,
                                       schedule="geometric")
    integ.setTemperature(280 * K)
    plain = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(integ))
    assert type(plain) is mm.CustomIntegrator
    assert AnnealedLangevinIntegrator.restore_interface(plain)
    assert plain.getTemperature().value_in_unit(K) == pytest.approx(280.0)
    assert plain.schedule == "geometric" and plain.parameter == "gausslj_width"
    assert plain.width_at(50) == pytest.approx(0.01)
    assert plain.width_at(25) == pytest.approx(0.02)  # geometric mean of 0.04 and 0.01
    assert not AnnealedLangevinIntegrator.restore_interface(mm.VerletIntegrator(0.001))


def test_thermodynamic_state_sets_the_temperature_of_the_context_integrator(peptide_system):
    """Issue: ThermodynamicState could not set AnnealedLangevinIntegrator's temperature."""
    from openmm_gausslj.dynamics.openmmtools_support import ThermostatedAnnealedLangevinIntegrator

    system, pos = peptide_system
    integ = ThermostatedAnnealedLangevinIntegrator(300 * K, 1.0, 0.001, 0.02, 0.0, 10)
    ctx = _compound(system, 0.02).create_context(integ, mm.Platform.getPlatformByName(
        "Reference"))
    hot = _compound(system, 0.02, 350 * K)
    hot.apply_to_context(ctx)  # through the plain CustomIntegrator the Context holds
    assert ctx.getIntegrator().getGlobalVariableByName("kT") == pytest.approx(
        (unit.MOLAR_GAS_CONSTANT_R * 350 * K).value_in_unit(unit.kilojoule_per_mole))
    ctx.setPositions(pos)
    integ.step(10)
    assert integ.step_count == 10 and ctx.getParameter("gausslj_width") == pytest.approx(0.0)
