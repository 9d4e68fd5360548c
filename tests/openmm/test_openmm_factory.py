"""smooth_system on real force-field Systems (amber14): exact at width 0, right at width > 0."""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

from ase_gausslj.core.defaults import R_CORE
from ase_gausslj.core.potential import smoothed_coulomb, smoothed_lj
from openmm_gausslj import WIDTH_PARAMETER, GaussLJState, smooth_system
from openmm_gausslj.data import alanine_dipeptide_pdb
from openmm_gausslj.forces.expressions import ONE_4PI_EPS0

KJ = unit.kilojoule_per_mole
KJNM = unit.kilojoule_per_mole / unit.nanometer


def REF():  # noqa: N802
    return mm.Platform.getPlatformByName("Reference")


@pytest.fixture(scope="module")
def forcefield():
    return app.ForceField("amber14-all.xml", "amber14/tip3p.xml")


@pytest.fixture(scope="module")
def peptide():
    return app.PDBFile(alanine_dipeptide_pdb())


def _ef(system, positions, platform="Reference"):
    plat = mm.Platform.getPlatformByName(platform)
    props = {"Threads": "1"} if platform == "CPU" else {}
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), plat, props)
    ctx.setPositions(positions)
    st = ctx.getState(getEnergy=True, getForces=True)
    forces = np.asarray(st.getForces(asNumpy=True).value_in_unit(KJNM))
    return st.getPotentialEnergy().value_in_unit(KJ), forces


def _minimized(system, positions, iterations=200):
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("CPU"))
    ctx.setPositions(positions)
    mm.LocalEnergyMinimizer.minimize(ctx, 10.0, iterations)
    return ctx.getState(getPositions=True).getPositions(asNumpy=True)


def _lj_pairs(system, positions, box=None):
    """Non-excluded pairs with epsilon_ij > 0 and 1-4 exceptions: (r, sig, eps, qq) arrays."""
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    n = nb.getNumParticles()
    q, sig, eps = (np.array([nb.getParticleParameters(i)[k]._value for i in range(n)])
                   for k in range(3))
    pos = np.asarray(positions.value_in_unit(unit.nanometer))
    i, j = np.triu_indices(n, 1)
    excluded = np.zeros((n, n), bool)
    exc = []
    for k in range(nb.getNumExceptions()):
        a, b, qq, s, e = nb.getExceptionParameters(k)
        excluded[a, b] = excluded[b, a] = True
        exc.append((a, b, qq._value, s._value, e._value))
    keep = ~excluded[i, j]
    i, j = i[keep], j[keep]

    def dist(a, b):
        d = pos[b] - pos[a]
        if box is not None:
            d -= box * np.round(d / box)
        return np.linalg.norm(d, axis=-1)

    normal = (dist(i, j), 0.5 * (sig[i] + sig[j]), np.sqrt(eps[i] * eps[j]), q[i] * q[j])
    a = np.array([x[0] for x in exc])
    b = np.array([x[1] for x in exc])
    ex = (dist(a, b), np.array([x[3] for x in exc]), np.array([x[4] for x in exc]),
          np.array([x[2] for x in exc]))
    return normal, ex


def _min_reduced_distance(pairs):
    r, s, e, _ = pairs
    m = e > 0
    return np.min(r[m] / s[m])


def r_core_margin():
    """Width-0 equality holds for pairs beyond r_core sigma_ij (the default core)."""
    return R_CORE


def test_vacuum_exact_at_width_zero(forcefield, peptide):
    system = forcefield.createSystem(peptide.topology, nonbondedMethod=app.NoCutoff)
    smoothed = smooth_system(system, 0.0)
    assert not any(isinstance(f, mm.NonbondedForce) and f.getParticleParameters(0)[2]._value
                   for f in smoothed.getForces())
    for platform, tol in (("Reference", 1e-10), ("CPU", 1e-5)):
        e0, f0 = _ef(system, peptide.positions, platform)
        e1, f1 = _ef(smoothed, peptide.positions, platform)
        assert e1 == pytest.approx(e0, rel=tol, abs=tol)
        assert np.max(np.abs(f1 - f0)) <= tol * np.max(np.abs(f0))


def test_vacuum_table_path_and_positive_width(forcefield, peptide):
    """The table itself at width 0 (no analytic branch), and E(w) - E(0) vs pair sums."""
    system = forcefield.createSystem(peptide.topology, nonbondedMethod=app.NoCutoff)
    pos = _minimized(system, peptide.positions)
    normal, ex = _lj_pairs(system, pos)
    assert min(_min_reduced_distance(normal), _min_reduced_distance(ex)) > 0.85
    lj_only = dict(r_core=R_CORE, smooth_coulomb=False)  # the reference below is LJ, core 0.8
    table_only = smooth_system(system, 0.0, exact_at_zero=False, **lj_only)
    e0, f0 = _ef(system, pos)
    e1, f1 = _ef(table_only, pos)
    # errors relative to the largest LJ pair term (the total cancels at a minimum)
    pair_e = [e * smoothed_lj(r / s, 0.0)[0] for r, s, e, _ in (normal, ex)]
    pair_f = [e / s * smoothed_lj(r / s, 0.0)[1] for r, s, e, _ in (normal, ex)]
    assert abs(e1 - e0) < 1e-5 * max(np.max(np.abs(v)) for v in pair_e)
    assert np.max(np.abs(f1 - f0)) < 1e-5 * max(np.max(np.abs(v)) for v in pair_f)

    smoothed = smooth_system(system, 0.0, **lj_only)
    ctx = mm.Context(smoothed, mm.VerletIntegrator(0.001), REF())
    ctx.setPositions(pos)
    for w in (0.01, 0.05):
        ctx.setParameter(WIDTH_PARAMETER, w)
        e_w = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
        delta = 0.0
        for r, s, e, _ in (normal, ex):
            m = e > 0
            delta += np.sum(e[m] * (smoothed_lj(r[m] / s[m], w / s[m])[0]
                                    - smoothed_lj(r[m] / s[m], 0.0)[0]))
        assert e_w - e0 == pytest.approx(delta, rel=1e-5)


def test_smooth_coulomb_vacuum(forcefield, peptide):
    system = forcefield.createSystem(peptide.topology, nonbondedMethod=app.NoCutoff)
    smoothed = smooth_system(system, 0.0, smooth_coulomb=True, r_core=R_CORE, engine="custom")
    # the correction rides in the LJ pair force's loop (one pair loop, not two)
    names = [f.getName() for f in smoothed.getForces()]
    assert "GaussLJCoulomb" not in names
    lj = smoothed.getForce(names.index("GaussLJ"))
    assert lj.getPerParticleParameterName(2) == "charge" and "erfc" in lj.getEnergyFunction()
    e0, f0 = _ef(system, peptide.positions)
    e1, f1 = _ef(smoothed, peptide.positions)
    assert e1 == pytest.approx(e0, rel=1e-10, abs=1e-9)
    assert np.max(np.abs(f1 - f0)) <= 1e-10 * np.max(np.abs(f0))
    w = 0.02
    smoothed_w = smooth_system(system, w, smooth_coulomb=True, r_core=R_CORE, engine="custom")
    normal, ex = _lj_pairs(system, peptide.positions * 1)
    e_w, _ = _ef(smoothed_w, peptide.positions)
    delta = 0.0
    for r, s, e, qq in (normal, ex):
        m = e > 0
        delta += np.sum(e[m] * (smoothed_lj(r[m] / s[m], w / s[m])[0]
                                - smoothed_lj(r[m] / s[m], 0.0)[0]))
        delta += ONE_4PI_EPS0 * np.sum(qq * (smoothed_coulomb(r, w)[0] - 1.0 / r))
    assert e_w - e0 == pytest.approx(delta, rel=1e-5)


@pytest.fixture(scope="module")
def solvated(forcefield, peptide):
    """Peptide in a 2 nm water box, without the clashes of a cut water box.

    ``addSolvent`` cuts a pre-equilibrated box, so waters clash across the new periodic
    boundary (and a few touch the peptide); every water with an LJ pair closer than
    0.82 sigma_ij is deleted (deterministic, no minimization).
    """
    box = 2.0
    mod = app.Modeller(peptide.topology, peptide.positions)
    mod.addSolvent(forcefield, boxSize=mm.Vec3(box, box, box) * unit.nanometer)
    system = forcefield.createSystem(mod.topology, nonbondedMethod=app.PME,
                                     nonbondedCutoff=0.9 * unit.nanometer)
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    n = nb.getNumParticles()
    sig, eps = (np.array([nb.getParticleParameters(i)[k]._value for i in range(n)])
                for k in (1, 2))
    pos = np.asarray(mod.positions.value_in_unit(unit.nanometer))
    residue = np.array([a.residue.index for a in mod.topology.atoms()])
    is_water = np.array([a.residue.name == "HOH" for a in mod.topology.atoms()])
    d = pos[None] - pos[:, None]
    d -= box * np.round(d / box)
    x = np.linalg.norm(d, axis=-1) / (0.5 * (sig[:, None] + sig[None]))
    close = (x < 0.82) & (eps[:, None] * eps[None] > 0) & (residue[:, None] != residue[None])
    close &= is_water[:, None] | is_water[None]  # the peptide's own geometry is kept
    bad = set()
    for i, j in zip(*np.nonzero(np.triu(close, 1)), strict=True):
        if residue[i] in bad or residue[j] in bad:
            continue
        bad.add(max(residue[i], residue[j]) if is_water[i] and is_water[j]
                else (residue[j] if is_water[j] else residue[i]))
    mod.delete([r for r in mod.topology.residues() if r.index in bad])
    return mod.topology, mod.positions


@pytest.mark.parametrize("switch", [None, pytest.param(0.8, marks=pytest.mark.slow)])
def test_solvated_pme_exact_at_width_zero(forcefield, solvated, switch):
    topology, pos = solvated
    system = forcefield.createSystem(
        topology, nonbondedMethod=app.PME, nonbondedCutoff=0.9 * unit.nanometer,
        switchDistance=None if switch is None else switch * unit.nanometer,
    )
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    assert nb.getUseDispersionCorrection()
    smoothed = smooth_system(system, 0.0, engine="custom")
    custom = next(f for f in smoothed.getForces() if isinstance(f, mm.CustomNonbondedForce))
    assert custom.getNonbondedMethod() == mm.CustomNonbondedForce.CutoffPeriodic
    assert custom.getUseLongRangeCorrection()
    assert custom.getUseSwitchingFunction() == (switch is not None)
    assert custom.getNumExclusions() == nb.getNumExceptions()
    normal, ex = _lj_pairs(system, pos, box=2.0)  # 2.0 nm: the fixture's box
    assert min(_min_reduced_distance(normal), _min_reduced_distance(ex)) > r_core_margin()
    e0, f0 = _ef(system, pos)
    ctx = mm.Context(smoothed, mm.VerletIntegrator(0.001), REF())
    ctx.setPositions(pos)
    st = ctx.getState(getEnergy=True, getForces=True)
    e1 = st.getPotentialEnergy().value_in_unit(KJ)
    f1 = np.asarray(st.getForces(asNumpy=True).value_in_unit(KJNM))
    # forces to rounding; the energy differs only by the numerical long-range correction
    assert e1 == pytest.approx(e0, rel=1e-8)
    assert np.max(np.abs(f1 - f0)) <= 1e-9 * np.max(np.abs(f0))
    # a positive width changes the energy and the state reads it back
    GaussLJState(0.02).apply_to_context(ctx)
    assert GaussLJState.from_context(ctx).width == pytest.approx(0.02)
    e_w = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)
    assert np.isfinite(e_w) and e_w != pytest.approx(e0, rel=1e-6)


def test_unsupported_methods_raise(forcefield, peptide):
    mod = app.Modeller(peptide.topology, peptide.positions)
    mod.topology.setPeriodicBoxVectors(np.eye(3) * 3.0 * unit.nanometer)
    ljpme = forcefield.createSystem(mod.topology, nonbondedMethod=app.LJPME,
                                    nonbondedCutoff=0.9 * unit.nanometer)
    with pytest.raises(ValueError, match="LJPME"):
        smooth_system(ljpme, 0.0)
    with pytest.raises(ValueError, match="NonbondedForce"):
        smooth_system(mm.System(), 0.0)
    with pytest.raises(ValueError, match="system"):
        smooth_system("not a system", 0.0)


def test_smooth_coulomb_reaction_field_exact_at_width_zero(forcefield, peptide):
    """CutoffNonPeriodic (reaction field) with the charges moved: equal at width 0."""
    system = forcefield.createSystem(peptide.topology, nonbondedMethod=app.CutoffNonPeriodic,
                                     nonbondedCutoff=0.6 * unit.nanometer)
    smoothed = smooth_system(system, 0.0, smooth_coulomb=True)
    e0, f0 = _ef(system, peptide.positions)
    e1, f1 = _ef(smoothed, peptide.positions)
    assert e1 == pytest.approx(e0, rel=1e-9, abs=1e-9)
    assert np.max(np.abs(f1 - f0)) <= 1e-9 * np.max(np.abs(f0))
