"""Issue 23 (exactness you can see, messages, Drude) and issue 18 items 2/5 (dispersal, no
heating when smoothing is switched on), OpenMM side."""

from __future__ import annotations

import os
import warnings

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

from openmm_gausslj import (
    AnnealedLangevinIntegrator,
    GaussLJState,
    anneal_simulation,
    homotopy_minimize_context,
    smooth_system,
    smoothed_lj_force,
)
from openmm_gausslj.data import alanine_dipeptide_pdb
from openmm_gausslj.exactness import exactness_report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KB = unit.MOLAR_GAS_CONSTANT_R.value_in_unit(unit.kilojoule_per_mole / unit.kelvin)


def _cpu():
    return mm.Platform.getPlatformByName("CPU"), {"Threads": "1"}


def _energy(system, positions):
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), *_cpu())
    ctx.setPositions(positions)
    return ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
        unit.kilojoule_per_mole), ctx


@pytest.fixture(scope="module")
def as_built():
    """Alanine dipeptide solvated by Modeller.addSolvent (2.2 nm box), not minimized."""
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    ff = app.ForceField("amber14-all.xml", "amber14/tip3p.xml")
    mod = app.Modeller(pdb.topology, pdb.positions)
    mod.addSolvent(ff, boxSize=mm.Vec3(2.2, 2.2, 2.2) * unit.nanometer)
    system = ff.createSystem(mod.topology, nonbondedMethod=app.PME,
                             nonbondedCutoff=0.8 * unit.nanometer, constraints=app.HBonds)
    return system, mod.positions


def test_as_built_solvated_system_warns_with_pairs_and_energy(as_built):
    system, positions = as_built
    smoothed = smooth_system(system)
    e_orig, _ = _energy(system, positions)
    e_zero, ctx = _energy(smoothed, positions)
    report = exactness_report(smoothed, positions)
    assert not report.exact and len(report.pairs) >= 1
    # the closed-form pair sum against OpenMM's own two energies (CPU: single precision)
    assert abs(e_zero - e_orig) > 10.0
    assert report.energy_difference == pytest.approx(e_zero - e_orig, rel=1e-3, abs=0.5)
    with pytest.warns(UserWarning, match=r"inside the regularized core.*kJ/mol.*Minimize") as rec:
        GaussLJState(0.0).apply_to_context(ctx)
    i, j = report.pairs[0][1:3]
    assert f"atoms {i} and {j}" in str(rec[0].message)
    assert f"{len(report.pairs)} smoothed" in str(rec[0].message)
    with warnings.catch_warnings():  # once per Context
        warnings.simplefilter("error")
        GaussLJState(0.01).apply_to_context(ctx)
    with pytest.raises(ValueError, match="kJ/mol"):  # positions= refuses, with the energy
        smooth_system(system, positions=positions)


def test_minimized_solvated_system_does_not_warn(as_built):
    system, positions = as_built
    _, ctx = _energy(system, positions)
    mm.LocalEnergyMinimizer.minimize(ctx, 10.0, 200)
    relaxed = ctx.getState(getPositions=True).getPositions(asNumpy=True)
    smoothed = smooth_system(system)
    _, sctx = _energy(smoothed, relaxed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussLJState(0.0).apply_to_context(sctx)
    assert exactness_report(smoothed, relaxed).exact


def test_pme_width_limit_names_cutoff_over_8(as_built):
    system, _ = as_built
    smoothed = smooth_system(system)
    ctx = mm.Context(smoothed, mm.VerletIntegrator(0.001), *_cpu())
    with pytest.raises(ValueError, match=r"0\.1 .*cutoff / 8"):
        GaussLJState(0.2).apply_to_context(ctx)


def _drude_system():
    s = mm.System()
    for m in (15.0, 0.4):
        s.addParticle(m)
    d = mm.DrudeForce()
    d.addParticle(1, 0, -1, -1, -1, -1.0, 0.001, 1, 1)
    s.addForce(d)
    s.addForce(smoothed_lj_force([0.3, 0.3], [0.5, 0.0], width=0.0, exclusions=[(0, 1)]))
    return s


def test_drude_systems_are_refused_naming_the_alternative():
    system = _drude_system()
    with pytest.raises(ValueError, match="DrudeLangevinIntegrator"):
        AnnealedLangevinIntegrator(300, 1, 0.001, 0.0, 0.0, 10, system=system)
    integ = AnnealedLangevinIntegrator(300, 1, 0.001, 0.0, 0.0, 10)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("Reference"))
    with pytest.raises(ValueError, match="DrudeForce"):
        integ.reset(ctx)


# ---------------------------------------------------------------- switching on
def _peptide(width=0.0):
    pdb = app.PDBFile(os.path.join(ROOT, "results", "molecules", "ace-aggfm-nme.pdb"))
    ff = app.ForceField("amber14-all.xml")
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff,
                             constraints=app.HBonds)
    return pdb, system, smooth_system(system, width)


def _equilibrated(pdb, smoothed, seed=1):
    integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
    integ.setRandomNumberSeed(seed)
    sim = app.Simulation(pdb.topology, smoothed, integ, *_cpu())
    sim.context.setPositions(pdb.positions)
    sim.minimizeEnergy(tolerance=1.0)
    sim.context.setVelocitiesToTemperature(300, seed)
    sim.step(1000)
    return sim


def _mean_temperature(step_once, ctx, ndof, n=200):
    temps = []
    for _ in range(n):
        step_once()
        k = ctx.getState(getEnergy=True).getKineticEnergy().value_in_unit(
            unit.kilojoule_per_mole)
        temps.append(2 * k / (ndof * KB))
    return float(np.mean(temps))


@pytest.mark.parametrize("ramp", [0, None])
def test_integrator_ramp_in_keeps_the_temperature(ramp):
    """Issue 18 item 5: 0 -> 0.05 nm on a running peptide; the default ramp-in keeps the
    first 200 steps within 50 K of 300 K, the bare jump (ramp_steps=0) does not."""
    pdb, system, smoothed = _peptide()
    ndof = 3 * system.getNumParticles() - system.getNumConstraints() - 3
    sim = _equilibrated(pdb, smoothed)
    st = sim.context.getState(getPositions=True, getVelocities=True)
    kw = {} if ramp is None else {"ramp_steps": ramp}
    integ = AnnealedLangevinIntegrator(300, 1.0, 0.002, 0.05, 0.05, 1, system=smoothed, **kw)
    integ.setRandomNumberSeed(2)
    ctx = mm.Context(smoothed, integ, *_cpu())
    ctx.setPositions(st.getPositions())
    ctx.setVelocities(st.getVelocities())
    integ.reset(ctx)
    t = _mean_temperature(lambda: integ.step(1), ctx, ndof)
    if ramp == 0:
        assert t > 600.0  # the heating the ramp removes (measured ~2,000 K)
    else:
        assert abs(t - 300.0) < 50.0
        assert ctx.getParameter("gausslj_width") == pytest.approx(0.05 * 200 / 400)
        assert integ.width_at(100) == pytest.approx(0.05 * 100 / 400)


def test_anneal_simulation_ramps_in_and_reports():
    pdb, system, smoothed = _peptide()
    ndof = 3 * system.getNumParticles() - system.getNumConstraints() - 3
    sim = _equilibrated(pdb, smoothed)
    temps = []

    class Rec:
        def describeNextReport(self, s):  # noqa: N802 (OpenMM API)
            return (1, False, False, False, True, None)

        def report(self, s, state):
            k = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
            temps.append(2 * k / (ndof * KB))

    sim.reporters.append(Rec())
    out = anneal_simulation(sim, [0.05, 0.0], 50)
    assert len(temps) == 400 + 400 + 100  # ramp and settling are reported too
    assert abs(np.mean(temps[:200]) - 300.0) < 50.0
    assert out.success and not out.dispersed and np.isfinite(out.energy_end)


# ---------------------------------------------------------------- dispersal
def _argon_cluster(n=13, seed=0):
    sig, eps = 0.34, 0.996
    s = mm.System()
    for _ in range(n):
        s.addParticle(39.948)
    s.addForce(smoothed_lj_force([sig] * n, [eps] * n, width=0.0))
    rng = np.random.default_rng(seed)
    return s, rng.normal(0.0, 0.25, (n, 3))


def test_homotopy_reports_dispersal_never_success():
    system, pos = _argon_cluster()
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(pos)
    mm.LocalEnergyMinimizer.minimize(ctx, 1.0)
    start = ctx.getState(getPositions=True)
    with pytest.warns(RuntimeWarning, match="dispersed"):
        bad = homotopy_minimize_context(ctx, [0.6, 0.4], tolerance=1.0)
    assert bad.dispersed and not bad.success and bad.groups_end > bad.groups_start
    ctx.setState(start)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        good = homotopy_minimize_context(ctx, [0.005], tolerance=1.0)
    assert good.success and not good.dispersed
    assert good.energy_end <= good.energy_start + 1.0
