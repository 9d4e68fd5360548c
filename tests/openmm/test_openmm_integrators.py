"""Annealing integrator, stage-by-stage helper, reporter, homotopy minimization, NVE."""

from __future__ import annotations

import io

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

from openmm_gausslj import (
    WIDTH_PARAMETER,
    AnnealedLangevinIntegrator,
    WidthReporter,
    anneal_simulation,
    homotopy_minimize_context,
    schedule_widths,
    smoothed_lj_force,
)

SIG, EPS, MASS = 0.34, 0.996, 39.948  # argon: nm, kJ/mol, amu


def _lj13():
    """Icosahedral 13-atom cluster at the LJ pair distance, slightly perturbed."""
    g = (1 + 5**0.5) / 2
    v = np.array([[0, 1, g], [0, -1, g], [0, 1, -g], [0, -1, -g], [1, g, 0], [-1, g, 0],
                  [1, -g, 0], [-1, -g, 0], [g, 0, 1], [-g, 0, 1], [g, 0, -1], [-g, 0, -1]])
    v = v / np.linalg.norm(v[0]) * 2 ** (1 / 6) * SIG
    pos = np.vstack([[0, 0, 0], v])
    return pos + np.random.default_rng(0).normal(0, 0.01, pos.shape)


def _system(n=13, width=0.0):
    s = mm.System()
    for _ in range(n):
        s.addParticle(MASS)
    s.addForce(smoothed_lj_force([SIG] * n, [EPS] * n, width=width))
    return s


def _ref():
    return mm.Platform.getPlatformByName("Reference")


@pytest.mark.parametrize("schedule", ["linear", "geometric"])
def test_integrator_moves_width_every_step(schedule):
    w0, w1, n = 0.1, 0.005, 10
    system = _system()
    integ = AnnealedLangevinIntegrator(300, 1.0, 0.002, w0, w1, n, schedule=schedule,
                                       system=system, ramp_steps=0)
    ctx = mm.Context(system, integ, _ref())
    ctx.setPositions(_lj13())
    integ.reset(ctx)
    assert ctx.getParameter(WIDTH_PARAMETER) == pytest.approx(w0)
    seen = []
    for _ in range(n + 3):
        integ.step(1)
        seen.append(ctx.getParameter(WIDTH_PARAMETER))
    k = np.minimum(np.arange(1, n + 4), n) / n
    expected = w0 + (w1 - w0) * k if schedule == "linear" else w0 * (w1 / w0) ** k
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    np.testing.assert_allclose(schedule_widths(w0, w1, n, schedule), [w0, *expected[:n]],
                               rtol=1e-12)
    assert integ.step_count == n + 3
    assert ctx.getParameter(WIDTH_PARAMETER) == pytest.approx(w1)
    assert integ.width_at(5) == pytest.approx(expected[4])
    # the forces seen by the next step are those of the new width
    st = ctx.getState(getEnergy=True, getForces=True, getPositions=True)
    assert np.isfinite(st.getPotentialEnergy()._value)
    direct = mm.Context(_system(width=w1), mm.VerletIntegrator(0.001), _ref())
    direct.setPositions(st.getPositions())
    ref = direct.getState(getEnergy=True, getForces=True)
    np.testing.assert_allclose(st.getForces(asNumpy=True)._value,
                               ref.getForces(asNumpy=True)._value, rtol=1e-12, atol=1e-10)
    assert st.getPotentialEnergy()._value == pytest.approx(ref.getPotentialEnergy()._value,
                                                           rel=1e-12)


def test_integrator_second_kick_uses_forces_at_the_new_width():
    """With no friction and no noise one step is velocity Verlet with the width moved
    before the second half kick: v1 = v0 + dt/2 (f(x0, w0) + f(x1, w1)) / m."""
    w0, w1, dt = 0.1, 0.02, 0.002
    system = _system()
    integ = AnnealedLangevinIntegrator(0, 0, dt, w0, w1, 1, system=system, ramp_steps=0)
    ctx = mm.Context(system, integ, _ref())
    x0 = _lj13()
    v0 = np.random.default_rng(4).normal(0, 0.3, x0.shape)
    ctx.setPositions(x0)
    ctx.setVelocities(v0)
    integ.reset(ctx)
    integ.step(1)
    st = ctx.getState(getPositions=True, getVelocities=True)
    x1 = st.getPositions(asNumpy=True)._value
    v1 = st.getVelocities(asNumpy=True)._value

    def force(x, w):
        c = mm.Context(_system(width=w), mm.VerletIntegrator(0.001), _ref())
        c.setPositions(x)
        return c.getState(getForces=True).getForces(asNumpy=True)._value

    f0 = force(x0, w0)
    np.testing.assert_allclose(x1, x0 + dt * (v0 + 0.5 * dt * f0 / MASS), rtol=0, atol=1e-12)
    expected = v0 + 0.5 * dt * (f0 + force(x1, w1)) / MASS
    np.testing.assert_allclose(v1, expected, rtol=0, atol=1e-10)
    # and not the forces at the old width (the check could fail)
    stale = v0 + 0.5 * dt * (f0 + force(x1, w0)) / MASS
    assert np.max(np.abs(stale - expected)) > 1e-6


def test_integrator_runs_many_steps_on_cpu_and_anneals():
    system = _system()
    integ = AnnealedLangevinIntegrator(30 * unit.kelvin, 5 / unit.picosecond,
                                       2 * unit.femtosecond, 0.02 * unit.nanometer, 0.0, 500,
                                       ramp_steps=0)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    ctx.setPositions(_lj13())
    integ.reset(ctx)
    integ.step(600)
    assert ctx.getParameter(WIDTH_PARAMETER) == 0.0
    e = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    assert -44.33 * EPS < e < -35 * EPS  # a cold LJ13 stays near its icosahedral minimum


def test_integrator_validates_input():
    system = _system()
    with pytest.raises(ValueError, match="schedule"):
        AnnealedLangevinIntegrator(300, 1, 0.002, 0.1, 0.0, 10, schedule="cubic")
    with pytest.raises(ValueError, match="geometric"):
        AnnealedLangevinIntegrator(300, 1, 0.002, 0.1, 0.0, 10, schedule="geometric")
    with pytest.raises(ValueError, match="n_steps"):
        AnnealedLangevinIntegrator(300, 1, 0.002, 0.1, 0.0, 0)
    with pytest.raises(ValueError, match="range"):
        AnnealedLangevinIntegrator(300, 1, 0.002, 2.5 * SIG, 0.0, 10, system=system)
    with pytest.raises(ValueError, match="width_start"):
        AnnealedLangevinIntegrator(300, 1, 0.002, -0.1, 0.0, 10)


def test_nve_energy_conservation_fixed_width():
    """Verlet at a fixed width conserves energy: the forces are the energy's gradient."""
    system = _system(width=0.03)
    integ = mm.VerletIntegrator(1 * unit.femtosecond)
    ctx = mm.Context(system, integ, _ref())
    ctx.setPositions(_lj13())
    ctx.setVelocitiesToTemperature(40 * unit.kelvin, 1)
    totals = []
    for _ in range(40):
        integ.step(50)
        st = ctx.getState(getEnergy=True)
        totals.append((st.getPotentialEnergy() + st.getKineticEnergy())._value)
    kin = ctx.getState(getEnergy=True).getKineticEnergy()._value
    assert kin > 0.5  # it actually moved
    assert np.ptp(totals) < 2e-3 * kin


def test_anneal_simulation_and_reporter():
    system = _system()
    top = app.Topology()
    chain = top.addChain()
    for _ in range(13):
        top.addAtom("Ar", app.Element.getBySymbol("Ar"), top.addResidue("AR", chain))
    sim = app.Simulation(top, system, mm.LangevinMiddleIntegrator(20, 5, 0.002), _ref())
    sim.context.setPositions(_lj13())
    buf = io.StringIO()
    sim.reporters.append(WidthReporter(buf, 10))
    widths = [0.04, 0.02, 0.0]
    out = anneal_simulation(sim, widths, 20, ramp_steps=0)
    assert [w for w, _ in out] == widths
    lines = buf.getvalue().strip().splitlines()
    assert lines[0].startswith("#")
    rows = np.array([[float(x) for x in ln.split(",")] for ln in lines[1:]])
    np.testing.assert_array_equal(rows[:, 0], np.arange(10, 61, 10))
    np.testing.assert_allclose(rows[:, 1], [0.04, 0.04, 0.02, 0.02, 0.0, 0.0])
    assert rows[-1, 2] == pytest.approx(out[-1][1])
    with pytest.raises(ValueError, match="range"):
        anneal_simulation(sim, [3 * SIG], 1)


def test_homotopy_minimize_ends_at_width_zero_minimum():
    system = _system()
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), _ref())
    rng = np.random.default_rng(2)
    ctx.setPositions(_lj13() + rng.normal(0, 0.03, (13, 3)))
    out = homotopy_minimize_context(ctx, [0.06, 0.03, 0.01], tolerance=0.01)
    assert [w for w, _ in out] == [0.06, 0.03, 0.01, 0.0]
    assert ctx.getParameter(WIDTH_PARAMETER) == 0.0
    e = ctx.getState(getEnergy=True).getPotentialEnergy()._value
    assert e == pytest.approx(out[-1][1])
    assert e == pytest.approx(-44.326801 * EPS, rel=1e-4)  # the LJ13 global minimum
