"""The stereo guard: restraints exact at width 0, acting at width > 0, reports of flips.

Reference energies are hand-computed from the restraint's formula at dihedrals from the
coordinates; flips are constructed (rotation about a peptide bond, a mirror image).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest
from test_stereo import _rotate_after_bond

from openmm_gausslj import smooth_system
from openmm_gausslj.dynamics.drivers import anneal_simulation, homotopy_minimize_context
from openmm_gausslj.molecules.stereo import (
    OMEGA_TOLERANCE,
    STEREO_FORCE_NAME,
    add_stereo_restraints,
    compare_stereo,
    find_stereo_sites,
    omega_degrees,
)

MOLECULES = Path(__file__).resolve().parents[2] / "results" / "molecules"
REF = mm.Platform.getPlatformByName("Reference")


def _peptide(name="ace-aggfm-nme.pdb", implicit=False):
    pdb = app.PDBFile(str(MOLECULES / name))
    files = ["amber14-all.xml"] + (["implicit/obc2.xml"] if implicit else [])
    system = app.ForceField(*files).createSystem(pdb.topology, nonbondedMethod=app.NoCutoff,
                                                 constraints=app.HBonds)
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), REF)
    ctx.setPositions(pdb.positions)
    mm.LocalEnergyMinimizer.minimize(ctx, 1.0)
    xyz = ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(
        unit.nanometer)
    return system, pdb.topology, np.array(xyz)


@pytest.fixture(scope="module")
def aggfm():
    return _peptide()


def _state(system, xyz, width, groups=-1):
    ctx = mm.Context(copy.deepcopy(system), mm.VerletIntegrator(0.001), REF)
    ctx.setPositions(xyz)
    ctx.setParameter("gausslj_width", width)
    st = ctx.getState(getEnergy=True, getForces=True, groups=groups)
    return (st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole),
            st.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer))


def _guarded(system, top, xyz):
    smoothed = smooth_system(system, 0.0)
    guarded = copy.deepcopy(smoothed)
    k = add_stereo_restraints(guarded, top, xyz)
    guarded.getForce(k).setForceGroup(31)
    return smoothed, guarded


def test_restraints_vanish_at_width_zero(aggfm):
    system, top, xyz = aggfm
    smoothed, guarded = _guarded(system, top, xyz)
    bad = _rotate_after_bond(top, xyz, 2) * np.array([-1.0, 1.0, 1.0])  # cis + mirrored
    for pos in (xyz, bad):
        e0, f0 = _state(smoothed, pos, 0.0)
        e1, f1 = _state(guarded, pos, 0.0)
        assert e1 == pytest.approx(e0, rel=1e-12, abs=1e-9)
        np.testing.assert_allclose(f1, f0, rtol=0, atol=1e-9)
        assert _state(guarded, pos, 0.0, groups={31})[0] == 0.0


def test_restraints_act_at_width(aggfm):
    """At 0.03 nm: 0 on the start; on a cis bond k (|d omega| - tol)^2 by hand; > 0 on
    the mirror image (every improper crossed)."""
    system, top, xyz = aggfm
    _, guarded = _guarded(system, top, xyz)
    sites = find_stereo_sites(top)
    assert _state(guarded, xyz, 0.03, groups={31})[0] == 0.0
    cis = _rotate_after_bond(top, xyz, 2)
    d = np.deg2rad(omega_degrees(sites, cis)[2] - omega_degrees(sites, xyz)[2])
    d = abs(np.arctan2(np.sin(d), np.cos(d)))
    e_hand = 1000.0 * (d - OMEGA_TOLERANCE) ** 2
    assert _state(guarded, cis, 0.03, groups={31})[0] == pytest.approx(e_hand, rel=1e-9)
    assert _state(guarded, xyz * np.array([-1.0, 1.0, 1.0]), 0.03, groups={31})[0] > 100.0


def test_homotopy_reports_and_restores_the_system(aggfm):
    system, top, xyz = aggfm
    smoothed = smooth_system(system, 0.0)
    n_forces = smoothed.getNumForces()
    ctx = mm.Context(smoothed, mm.VerletIntegrator(0.001), REF)
    ctx.setPositions(xyz)
    out = homotopy_minimize_context(ctx, [0.05, 0.03], topology=top, max_iterations=200)
    assert out.stereo is not None and out.stereo.guarded and not out.stereo.changed
    assert [w for w, _ in out] == [0.05, 0.03, 0.0]
    assert smoothed.getNumForces() == n_forces
    assert all(f.getName() != STEREO_FORCE_NAME for f in ctx.getSystem().getForces())
    assert homotopy_minimize_context(ctx, [0.01], max_iterations=10).stereo is None  # no topology
    with pytest.raises(ValueError, match="stereo_guard"):
        homotopy_minimize_context(ctx, [0.01], topology=top, stereo_guard="on")


def test_anneal_reports_a_flip(aggfm):
    """A cis bond appearing during the run (set by the callback) is reported and warned."""
    system, top, xyz = aggfm
    sim = app.Simulation(top, smooth_system(system, 0.0), mm.VerletIntegrator(0.0005), REF)
    sim.context.setPositions(xyz)
    cis = _rotate_after_bond(top, xyz, 4)

    def flip(w, simulation):
        if w == 0.0:
            simulation.context.setPositions(cis)

    with pytest.warns(RuntimeWarning, match="to cis: PHE5-MET6"):
        out = anneal_simulation(sim, [0.02, 0.0], 1, callback=flip, stereo_guard="check")
    assert out.stereo.to_cis == ["PHE5-MET6"] and not out.stereo.guarded


def _anneal_flips(name, width, steps, seed, implicit=False):
    """The docs' harsher protocol: the width switched on (no minimization at it), ``steps``
    at it, 10 stages to 0, a minimization."""
    system, top, xyz = _peptide(name, implicit)
    integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
    integ.setRandomNumberSeed(seed + 1)
    sim = app.Simulation(top, smooth_system(system, 0.0), integ,
                         mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    sim.context.setPositions(xyz)
    sim.context.setVelocitiesToTemperature(300, seed + 1)
    ws = [width * (1 - k / 10) for k in range(11)]
    out = anneal_simulation(sim, [width], steps)
    out2 = anneal_simulation(sim, ws[1:], steps // 20)
    sim.minimizeEnergy()
    end = sim.context.getState(getPositions=True).getPositions(asNumpy=True)
    return out.stereo, out2.stereo, compare_stereo(find_stereo_sites(top), xyz, end)


def test_guarded_anneal_small_peptide_keeps_stereo():
    a, b, total = _anneal_flips("ace-aggfm-nme.pdb", 0.05, 600, 0)
    assert a.guarded and b.guarded
    assert not total.changed, total.summary()


@pytest.mark.slow
@pytest.mark.parametrize("implicit", [False, True])
def test_guarded_anneal_chignolin_keeps_stereo(implicit):
    """Chignolin at the documented safe width (0.05 nm with the guard), 2,000 steps."""
    for seed in (0, 1):
        _, _, total = _anneal_flips("ace-gydpetgtwg-nme.pdb", 0.05, 2000, seed, implicit)
        assert not total.changed, total.summary()
