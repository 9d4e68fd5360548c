"""``smooth_system(engine='compiled')``: the same smoothed System as the custom forces, computed
by gausslj's compiled pair loops in a ``PythonForce`` (issue 21, OpenMM on CPU).

The reference is the ``engine='custom'`` System (its own accuracy tests are against
quadrature, tests/openmm/test_openmm_forces.py), evaluated by OpenMM's kernels; the CPU
platform computes custom forces in single precision, so agreement is to ~1e-5 relative.
"""

from __future__ import annotations

import copy

import numpy as np
import openmm as mm
import pytest
from ff_systems import NM, energy_forces, water_box

from openmm_gausslj import GaussLJState, max_width_for_system, smooth_system
from openmm_gausslj.forces.compiled import computation_of


def _agree(a, b, positions, width, platform="CPU", rel=2e-5):
    ea, fa = energy_forces(a, positions, platform, width)
    eb, fb = energy_forces(b, positions, platform, width)
    scale = np.abs(fa).max()
    assert abs(ea - eb) <= rel * max(abs(ea), 1e3), (ea, eb)
    assert np.abs(fa - fb).max() <= rel * scale + 1e-3, (np.abs(fa - fb).max(), scale)
    return ea, eb


@pytest.fixture(scope="module")
def switched_box():
    """A TIP3P box with PME, a switching function (0.5-0.6 nm) and the dispersion correction."""
    return water_box("tip3p", box=1.3, cutoff=0.6, switchDistance=0.5 * NM)


@pytest.mark.parametrize("width", [0.0, 0.01, 0.03])
def test_compiled_matches_custom_water_pme(tip3p_box, width):
    _, system, pos = tip3p_box
    _agree(smooth_system(system, width, engine="custom"),
           smooth_system(system, width, engine="compiled"),
           pos, width)


@pytest.mark.parametrize("width", [0.0, 0.02])
def test_compiled_matches_custom_with_switch_and_long_range(switched_box, width):
    _, system, pos = switched_box
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    assert nb.getUseSwitchingFunction() and nb.getUseDispersionCorrection()
    _agree(smooth_system(system, width, engine="custom"),
           smooth_system(system, width, engine="compiled"),
           pos, width)


def test_compiled_correction_in_its_own_force(tip3p_box):
    _, system, pos = tip3p_box
    kw = dict(coulomb_cutoff=0.4)
    a = smooth_system(system, 0.03, engine="custom", **kw)
    b = smooth_system(system, 0.03, engine="compiled", **kw)
    assert sum(f.getName() == "GaussLJ" for f in b.getForces()) == 2  # LJ + correction
    _agree(a, b, pos, 0.03)


@pytest.mark.parametrize("width", [0.0, 0.03])
def test_compiled_matches_custom_vacuum_peptide(ala2, width):
    system, _, pos = ala2
    _agree(smooth_system(system, width, engine="custom"),
           smooth_system(system, width, engine="compiled"),
           pos, width, platform="Reference", rel=1e-6)


def test_compiled_width_zero_is_the_original(ala2):
    system, _, pos = ala2
    e0, f0 = energy_forces(system, pos, "Reference")
    e1, f1 = energy_forces(smooth_system(system, 0.0, engine="compiled"), pos, "Reference", 0.0)
    assert abs(e1 - e0) < 1e-8 * max(1.0, abs(e0))
    assert np.abs(f1 - f0).max() < 1e-7 * np.abs(f0).max()


def test_compiled_forces_are_the_energy_gradient(tip3p_box):
    _, system, pos = tip3p_box
    s = smooth_system(system, 0.03, engine="compiled", smooth_coulomb=True)
    keep = [k for k, f in enumerate(s.getForces()) if f.getName() == "GaussLJ"]
    for k, f in enumerate(s.getForces()):
        f.setForceGroup(1 if k in keep else 0)
    ctx = mm.Context(s, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    x = np.array(pos.value_in_unit(NM))

    def energy(p):
        ctx.setPositions(p * NM)
        return ctx.getState(getEnergy=True, groups={1}).getPotentialEnergy()._value

    ctx.setPositions(x * NM)
    f = ctx.getState(getForces=True, groups={1}).getForces(asNumpy=True)._value
    h = 1e-5
    for i, k in [(0, 0), (1, 2), (7, 1), (30, 0)]:  # an O, two H, another O
        xp, xm = x.copy(), x.copy()
        xp[i, k] += h
        xm[i, k] -= h
        fd = -(energy(xp) - energy(xm)) / (2 * h)
        assert abs(fd - f[i, k]) < 1e-4 * max(1.0, abs(f[i, k])), (i, k, fd, f[i, k])


def test_compiled_periodic_images_and_wrapping(tip3p_box):
    """Moving whole molecules by box vectors changes nothing (lists follow the motion)."""
    top, system, pos = tip3p_box
    s = smooth_system(system, 0.03, engine="compiled")
    ctx = mm.Context(s, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    x = np.array(pos.value_in_unit(NM))
    ctx.setPositions(x * NM)
    e0 = ctx.getState(getEnergy=True).getPotentialEnergy()._value
    box = np.array([v.value_in_unit(NM) for v in system.getDefaultPeriodicBoxVectors()])
    y = x.copy()
    shifts = [box[0], -box[1], box[2] * 2, box[0] - box[2]]
    for res, shift in zip(list(top.residues())[:4], shifts, strict=True):
        y[[a.index for a in res.atoms()]] += shift
    ctx.setPositions(y * NM)
    e1 = ctx.getState(getEnergy=True).getPotentialEnergy()._value
    assert abs(e1 - e0) < 1e-6 * abs(e0)


def test_compiled_md_is_finite_and_lists_are_reused(tip3p_box):
    _, system, pos = tip3p_box
    s = smooth_system(system, 0.03, engine="compiled")
    integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
    ctx = mm.Context(s, integ, mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    ctx.setPositions(pos)
    ctx.setVelocitiesToTemperature(300, 1)
    integ.step(40)
    e = ctx.getState(getEnergy=True).getPotentialEnergy()._value
    assert np.isfinite(e)


def test_compiled_system_serializes_small(ala2):
    system, _, pos = ala2
    custom = smooth_system(system, 0.02, engine="custom")
    compiled = smooth_system(system, 0.02, engine="compiled")
    xml = mm.XmlSerializer.serialize(compiled)
    assert "gausslj_F" in mm.XmlSerializer.serialize(custom)
    assert "gausslj_F" not in xml  # no 2-D table at all (the 1-4 pairs are compiled too)
    assert len(xml) < 5 * len(mm.XmlSerializer.serialize(system))
    back = mm.XmlSerializer.deserialize(xml)
    e_back, _ = energy_forces(back, pos, "Reference", 0.02)
    e_orig, _ = energy_forces(compiled, pos, "Reference", 0.02)
    assert e_back == e_orig
    comp = computation_of(next(f for f in back.getForces() if f.getName() == "GaussLJ"))
    assert comp is not None and comp.sigma.size == system.getNumParticles()


def test_compiled_width_limits_and_state(tip3p_box):
    _, system, pos = tip3p_box
    custom = smooth_system(system, 0.02, engine="custom")
    compiled = smooth_system(system, 0.02, engine="compiled")
    assert max_width_for_system(compiled) == pytest.approx(max_width_for_system(custom))
    assert GaussLJState.from_system(compiled).width == 0.02
    order = [f.getName() for f in compiled.getForces()]
    GaussLJState(0.01).apply_to_system(compiled)  # rebuilds the PythonForce, same order
    assert [f.getName() for f in compiled.getForces()] == order
    assert GaussLJState.from_system(compiled).width == 0.01
    e, _ = energy_forces(compiled, pos, "CPU")
    e_ref, _ = energy_forces(custom, pos, "CPU", 0.01)
    assert abs(e - e_ref) < 2e-5 * abs(e_ref)
    with pytest.raises(ValueError, match="width"):
        GaussLJState(1.0).apply_to_system(compiled)


def test_compiled_refuses_a_width_beyond_its_limit(tip3p_box):
    _, system, pos = tip3p_box
    s = smooth_system(system, 0.02, engine="compiled")
    ctx = mm.Context(s, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(pos)
    ctx.setParameter("gausslj_width", 10 * max_width_for_system(s))
    with pytest.raises(Exception, match="beyond"):
        ctx.getState(getEnergy=True)


def test_compiled_engine_arguments(ala2, tip3p_box):
    system, _, _ = ala2
    with pytest.raises(ValueError, match="engine"):
        smooth_system(system, 0.0, engine="fast")
    with pytest.raises(ValueError, match="engine='custom'"):
        smooth_system(system, 0.0, engine="compiled", atoms=[0, 1, 2])
    with pytest.raises(ValueError, match="exact_at_zero"):
        smooth_system(system, 0.0, engine="compiled", exact_at_zero=False)


def test_compiled_computation_pickles_without_its_caches(tip3p_box):
    import pickle

    _, system, pos = tip3p_box
    s = smooth_system(system, 0.02, engine="compiled")
    comp = computation_of(next(f for f in s.getForces() if f.getName() == "GaussLJ"))
    ctx = mm.Context(s, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(pos)
    state = ctx.getState(getPositions=True, getParameters=True)
    e, f = comp(state)  # fills the caches (driver, lists, long-range term)
    assert comp._cache
    clone = pickle.loads(pickle.dumps(comp))
    assert clone._cache == {}
    e2, f2 = clone(state)
    assert e2 == pytest.approx(e, rel=1e-12) and np.allclose(f2, f, rtol=1e-10, atol=1e-9)


def test_compiled_sees_the_integrators_width_within_the_step():
    """AnnealedLangevinIntegrator moves the width before the second half kick; the
    PythonForce must compute that kick at the new width: v1 = v0 + dt/2 (f(x0, w0) +
    f(x1, w1)) / m (no friction, no noise, no constraints)."""
    import openmm.app as app

    from openmm_gausslj import AnnealedLangevinIntegrator
    from openmm_gausslj.data import alanine_dipeptide_pdb

    pdb = app.PDBFile(alanine_dipeptide_pdb())
    base = app.ForceField("amber14-all.xml").createSystem(pdb.topology, constraints=None,
                                                          removeCMMotion=False)
    w0, w1, dt = 0.03, 0.01, 0.0005
    system = smooth_system(base, w0, engine="compiled")
    integ = AnnealedLangevinIntegrator(0, 0, dt, w0, w1, 1, system=system, ramp_steps=0)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("Reference"))
    x0 = np.array(pdb.positions.value_in_unit(NM))
    v0 = np.random.default_rng(4).normal(0, 0.3, x0.shape)
    ctx.setPositions(x0 * NM)
    ctx.setVelocities(v0)
    integ.reset(ctx)
    integ.step(1)
    st = ctx.getState(getPositions=True, getVelocities=True)
    x1, v1 = st.getPositions(asNumpy=True)._value, st.getVelocities(asNumpy=True)._value
    m = np.array([system.getParticleMass(i)._value for i in range(system.getNumParticles())])

    def force(x, w):
        return energy_forces(smooth_system(base, w, engine="compiled"), x * NM, "Reference",
                             w)[1]

    f0 = force(x0, w0)
    expected = v0 + 0.5 * dt * (f0 + force(x1, w1)) / m[:, None]
    np.testing.assert_allclose(v1, expected, rtol=0, atol=1e-8)
    stale = v0 + 0.5 * dt * (f0 + force(x1, w0)) / m[:, None]
    assert np.max(np.abs(stale - expected)) > 1e-5



def test_auto_engine_follows_the_fastest_platform(ala2, monkeypatch):
    from openmm_gausslj import inputs

    system, _, _ = ala2

    def kinds(s):
        return {f.__class__.__name__ for f in s.getForces()}

    monkeypatch.setattr(inputs, "cpu_is_fastest", lambda: True)
    assert "PythonForce" in kinds(smooth_system(system, 0.0))
    # where it does not apply, 'auto' keeps the custom forces
    assert "PythonForce" not in kinds(smooth_system(system, 0.0, atoms=[0, 1, 2]))
    assert "PythonForce" not in kinds(smooth_system(system, 0.0, exact_at_zero=False))
    monkeypatch.setattr(inputs, "cpu_is_fastest", lambda: False)  # a GPU platform is here
    assert "PythonForce" not in kinds(smooth_system(system, 0.0))


def test_compiled_refuses_a_triclinic_box():
    """OpenMM's neighbour list drops pairs in a triclinic box (1 of 1292 O-O pairs in a
    truncated octahedron of water, 0.7 kJ/mol, where the compiled engine matched a brute
    force minimum-image sum; docs/openmm.md "Engines"): width 0 would not be the user's
    System, so it is refused and 'auto' keeps the custom forces."""
    s = mm.System()
    for _ in range(2):
        s.addParticle(16.0)
    nb = mm.NonbondedForce()
    nb.setNonbondedMethod(nb.CutoffPeriodic)
    nb.setCutoffDistance(0.6)
    for _ in range(2):
        nb.addParticle(0.0, 0.3, 0.5)
    s.addForce(nb)
    d = 1.6
    s.setDefaultPeriodicBoxVectors(mm.Vec3(d, 0, 0), mm.Vec3(d / 3, 2 * np.sqrt(2) * d / 3, 0),
                                   mm.Vec3(-d / 3, np.sqrt(2) * d / 3, np.sqrt(6) * d / 3))
    with pytest.raises(ValueError, match="triclinic"):
        smooth_system(s, 0.0, engine="compiled")
    assert not any(isinstance(f, mm.PythonForce) for f in smooth_system(s, 0.0).getForces())


def test_compiled_with_a_barostat_follows_the_box(tip3p_box):
    """MonteCarloBarostat rescales the box: the lists are rebuilt for it and the long-range
    correction follows the volume; the energy after the moves equals the custom engine's
    at the same positions and box."""
    _, system, pos = tip3p_box
    base = copy.deepcopy(system)
    base.addForce(mm.MonteCarloBarostat(1.0, 300.0, 2))
    s = smooth_system(base, 0.02, engine="compiled")
    integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
    ctx = mm.Context(s, integ, mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    ctx.setPositions(pos)
    ctx.setVelocitiesToTemperature(300, 2)
    v0 = ctx.getState().getPeriodicBoxVolume()._value
    integ.step(60)
    st = ctx.getState(getPositions=True, getEnergy=True)
    assert st.getPeriodicBoxVolume()._value != v0  # the barostat moved the box
    ref = smooth_system(base, 0.02, engine="custom")
    c2 = mm.Context(ref, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("CPU"),
                    {"Threads": "1"})
    c2.setPeriodicBoxVectors(*st.getPeriodicBoxVectors())
    c2.setPositions(st.getPositions())
    e_ref = c2.getState(getEnergy=True).getPotentialEnergy()._value
    e = st.getPotentialEnergy()._value
    assert abs(e - e_ref) <= 2e-5 * abs(e_ref), (e, e_ref)
