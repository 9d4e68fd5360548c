"""Issue 11 on real force-field systems: no fusion, exact width 0, every LJ form, Coulomb.

References are independent of the code under test: the original System (OpenMM's own
NonbondedForce / CHARMM forces), and pair sums with ``ase_gausslj.core.potential``.
"""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest
from ff_systems import NM, charmm_lipid, cpu_context, energy_forces, openmmtools_system, water_box
from scipy.special import erfc

from ase_gausslj.core.potential import smoothed_lj
from openmm_gausslj import (
    FORCE_FIELD_R_CORE,
    homotopy_minimize_context,
    max_width_for_system,
    smooth_system,
)
from openmm_gausslj.forces.expressions import ONE_4PI_EPS0


def _min_intermolecular_oh(topology, positions, box=None):
    atoms = list(topology.atoms())
    res = np.array([a.residue.index for a in atoms])
    sym = np.array([a.element.symbol if a.element is not None else "" for a in atoms])
    o, h = np.flatnonzero(sym == "O"), np.flatnonzero(sym == "H")
    pos = np.asarray(positions.value_in_unit(NM) if unit.is_quantity(positions) else positions)
    d = pos[o][:, None] - pos[h][None]
    if box is not None:
        d -= box * np.round(d / box)
    r = np.linalg.norm(d, axis=-1)
    r[res[o][:, None] == res[h][None]] = np.inf
    return float(r.min())


# ---------------------------------------------------------------- 1. atoms never fuse


def _two_waters():
    top, _, pos = water_box("tip3p", box=1.2, method=app.NoCutoff)
    mod = app.Modeller(top, pos)
    mod.delete([r for r in top.residues() if r.index > 1])  # two neighbours of a relaxed box
    ff = app.ForceField("amber14-all.xml", "amber14/tip3p.xml")
    return mod.topology, ff.createSystem(mod.topology, nonbondedMethod=app.NoCutoff,
                                         rigidWater=False), \
        mod.positions


def test_two_waters_do_not_fuse_under_homotopy():
    """Issue: widths [0.01, 0.005] then 0 ended at -15181 kJ/mol with O...H = 0.003 nm."""
    top, two, start = _two_waters()
    plain = cpu_context(two, start)
    mm.LocalEnergyMinimizer.minimize(plain, 1.0, 0)
    e_plain = plain.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
        unit.kilojoule_per_mole)
    ctx = cpu_context(smooth_system(two, 0.01), start)
    stages = homotopy_minimize_context(ctx, [0.01, 0.005], tolerance=1.0)
    final = ctx.getState(getPositions=True).getPositions(asNumpy=True)
    assert _min_intermolecular_oh(top, final) > 0.15
    assert stages[-1][1] == pytest.approx(e_plain, abs=1.0)  # the same H-bonded dimer
    assert -35.0 < e_plain < -20.0


@pytest.mark.parametrize("model", ["tip3p", "tip4pew"])
def test_water_md_at_005_nm_keeps_oh_apart(model, request, kwargs=None):
    """Langevin MD at 0.05 nm: the issue's 0.02 nm fused within ~100 steps (NaN)."""
    kwargs = kwargs or {}
    top, system, pos = request.getfixturevalue(f"{model}_box")
    # a 0.4 nm Coulomb-correction cutoff keeps this default-suite run short (the same
    # energy to 1e-8, test_short_coulomb_cutoff_is_the_same_correction); the slow test
    # below uses the defaults
    smoothed = smooth_system(system, 0.05, **{"coulomb_cutoff": 0.4, **kwargs})
    integ = mm.LangevinMiddleIntegrator(300 * unit.kelvin, 1.0 / unit.picosecond,
                                       0.002 * unit.picosecond)
    ctx = cpu_context(smoothed, pos, integ)
    ctx.setVelocitiesToTemperature(300 * unit.kelvin, 7)
    box = system.getDefaultPeriodicBoxVectors()[0][0].value_in_unit(NM)
    worst = np.inf
    for _ in range(4):
        integ.step(25)
        st = ctx.getState(getPositions=True, getEnergy=True)
        assert np.isfinite(st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))
        worst = min(worst, _min_intermolecular_oh(top, st.getPositions(asNumpy=True), box))
    assert worst > 0.12


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tip3p", "tip4pew"])
@pytest.mark.parametrize("width", [0.02, 0.05])
def test_water_md_thousands_of_steps_keeps_oh_apart(model, width):
    top, system, pos = water_box(model, box=1.6, cutoff=0.7)
    integ = mm.LangevinMiddleIntegrator(300 * unit.kelvin, 1.0 / unit.picosecond,
                                       0.002 * unit.picosecond)
    ctx = cpu_context(smooth_system(system, width), pos, integ)
    ctx.setVelocitiesToTemperature(300 * unit.kelvin, 3)
    worst = np.inf
    for _ in range(30):
        integ.step(100)
        st = ctx.getState(getPositions=True)
        worst = min(worst, _min_intermolecular_oh(top, st.getPositions(asNumpy=True), 1.6))
    assert worst > 0.12


# ---------------------------------------------------------------- 2. width 0 is the original


@pytest.mark.parametrize("name", [pytest.param("AlanineDipeptideExplicit", marks=pytest.mark.slow),
                                  "HostGuestExplicit"])
def test_shipped_equilibrated_structures_exact_at_width_zero(name):
    t = openmmtools_system(name)
    smoothed = smooth_system(t.system, 0.0, positions=t.positions)  # no pair in the core
    e0, f0 = energy_forces(t.system, t.positions)
    e1, f1 = energy_forces(smoothed, t.positions)
    assert abs(e1 - e0) <= 1e-6 * abs(e0)
    assert np.max(np.abs(f1 - f0)) <= 1e-6 * np.max(np.abs(f0))
    if name == "HostGuestExplicit":  # issue: 0.65 sigma_ij contact, 3.9e-3 off with core 0.8
        with pytest.raises(ValueError, match=r"atoms 114 and 153 .* 0\.647 sigma_ij"):
            smooth_system(t.system, 0.0, r_core=0.8, positions=t.positions)


def test_structure_with_core_contacts_is_refused_naming_the_pair():
    """openmmtools' WaterBox is cut from a larger box: O...O at 0.177 nm across the boundary."""
    t = openmmtools_system("WaterBox")
    with pytest.raises(ValueError, match=r"atoms \d+ and \d+ are 0\.17\d\d nm apart"):
        smooth_system(t.system, 0.0, positions=t.positions)


# ---------------------------------------------------------------- 3. every LJ form


def _charmm_reference_delta(system, positions, width):
    """E(width) - E(0) of the smoothed CHARMM System from the original forces' A/B tables."""
    lj = next(f for f in system.getForces() if f.getName() == "LennardJones")
    b14 = next(f for f in system.getForces() if f.getName() == "LennardJones14")
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    nt, _, a = lj.getTabulatedFunction(0).getFunctionParameters()
    _, _, b = lj.getTabulatedFunction(1).getFunctionParameters()
    a, b = np.reshape(a, (nt, nt)), np.reshape(b, (nt, nt))
    pos = np.asarray(positions.value_in_unit(NM))
    n = len(pos)
    types = np.array([int(lj.getParticleParameters(i)[0]) for i in range(n)])
    q = np.array([nb.getParticleParameters(i)[0]._value for i in range(n)])
    excluded = np.zeros((n, n), bool)
    for k in range(lj.getNumExclusions()):
        i, j = lj.getExclusionParticles(k)
        excluded[i, j] = excluded[j, i] = True
    i, j = np.triu_indices(n, 1)
    keep = ~excluded[i, j]
    i, j = i[keep], j[keep]
    r = np.linalg.norm(pos[i] - pos[j], axis=1)
    aa, bb = a[types[i], types[j]], b[types[i], types[j]]
    lj_pair = aa > 0
    s, e = (aa[lj_pair] / bb[lj_pair]) ** (1 / 6), bb[lj_pair] ** 2 / (4 * aa[lj_pair])
    x = r[lj_pair] / s
    delta = np.sum(e * (smoothed_lj(x, width / s, FORCE_FIELD_R_CORE)[0]
                        - smoothed_lj(x, 0.0 * s, FORCE_FIELD_R_CORE)[0]))
    delta -= ONE_4PI_EPS0 * np.sum(q[i] * q[j] * erfc(r / (2 * width)) / r)
    for k in range(b14.getNumBonds()):
        i, j, (s, e) = b14.getBondParameters(k)
        r = np.linalg.norm(pos[i] - pos[j])
        delta += e * (smoothed_lj(r / s, width / s, FORCE_FIELD_R_CORE)[0]
                      - smoothed_lj(r / s, 0.0, FORCE_FIELD_R_CORE)[0])
    for k in range(nb.getNumExceptions()):
        i, j, qq, _, _ = nb.getExceptionParameters(k)
        r = np.linalg.norm(pos[i] - pos[j])
        delta -= ONE_4PI_EPS0 * qq._value * erfc(r / (2 * width)) / r
    return delta


def test_charmm_nbfix_and_14_are_smoothed():
    """Issue: CHARMM36's LJ (tabulated CustomNonbondedForce + 1-4 CustomBondForce) was untouched."""
    _, system, pos = charmm_lipid()
    smoothed = smooth_system(system, 0.0, positions=pos)
    names = [f.getName() for f in smoothed.getForces()]
    assert "LennardJones" not in names and "GaussLJ" in names and "GaussLJExceptions" in names
    assert np.isfinite(max_width_for_system(smoothed))
    e0, f0 = energy_forces(system, pos)
    e1, f1 = energy_forces(smoothed, pos)
    assert e1 == pytest.approx(e0, rel=1e-9, abs=1e-8)
    assert np.max(np.abs(f1 - f0)) <= 1e-8 * np.max(np.abs(f0))
    w = 0.02
    e_w, _ = energy_forces(smoothed, pos, width=w)
    assert e_w - e1 == pytest.approx(_charmm_reference_delta(system, pos, w), rel=1e-4)


def _softcore_system():
    system = mm.System()
    for _ in range(3):
        system.addParticle(1.0)
    nb = mm.NonbondedForce()
    for _ in range(3):
        nb.addParticle(0.0, 0.3, 0.5)
    system.addForce(nb)
    soft = mm.CustomNonbondedForce("4*eps*(1/(0.5*(1-lambda)+(r/sig)^6)^2 - 1/(0.5*(1-lambda)"
                                   "+(r/sig)^6)); sig=0.3; eps=0.5")
    soft.addGlobalParameter("lambda", 1.0)
    soft.setName("softcore")
    for _ in range(3):
        soft.addParticle([])
    system.addForce(soft)
    return system


def test_unrecognised_lj_forces_raise_naming_the_force():
    with pytest.raises(ValueError, match=r"force 1 \(CustomNonbondedForce 'softcore'\)"):
        smooth_system(_softcore_system(), 0.0)
    system = _softcore_system()
    system.removeForce(1)
    bond = mm.CustomBondForce("epsilon*(sigma/r)^12")
    bond.addPerBondParameter("sigma")
    bond.addPerBondParameter("epsilon")
    bond.addBond(0, 1, [0.3, 0.5])
    system.addForce(bond)
    with pytest.raises(ValueError, match=r"force 1 \(CustomBondForce.*sigma/epsilon"):
        smooth_system(system, 0.0)
    system.removeForce(1)
    with pytest.raises(ValueError, match="already smoothed"):
        smooth_system(smooth_system(system, 0.0), 0.0)


def test_openmmtools_alchemical_softcore_is_refused():
    alchemy = pytest.importorskip("openmmtools.alchemy", reason="openmmtools not installed")
    t = openmmtools_system("AlanineDipeptideVacuum")
    factory = alchemy.AbsoluteAlchemicalFactory()
    region = alchemy.AlchemicalRegion(alchemical_atoms=list(range(6)))
    alch = factory.create_alchemical_system(t.system, region)
    with pytest.raises(ValueError, match="CustomNonbondedForce"):
        smooth_system(alch, 0.0)


def test_lj_parameter_offsets_are_refused():
    t_sys = _softcore_system()
    t_sys.removeForce(1)
    nb = t_sys.getForce(0)
    nb.addGlobalParameter("lam", 0.0)
    nb.addParticleParameterOffset("lam", 0, 0.0, 0.0, 0.1)
    with pytest.raises(ValueError, match="offset"):
        smooth_system(t_sys, 0.0)


# ---------------------------------------------------------------- 4. smoothed Coulomb, any method

_METHODS = {
    "NoCutoff": dict(method=app.NoCutoff),
    "CutoffNonPeriodic": dict(method=app.CutoffNonPeriodic),
    "CutoffPeriodic+dispersion": dict(method=app.CutoffPeriodic),  # issue: SIGABRT
    "CutoffPeriodic+switch": dict(method=app.CutoffPeriodic, switchDistance=0.5 * NM),
    "PME": dict(method=app.PME),
    "Ewald+switch": dict(method=app.Ewald, switchDistance=0.5 * NM),
}
_SLOW = pytest.mark.slow  # the same code path as a default-suite case


def _coulomb_correction_reference(system, pos, width, cutoff, box):
    """Sum of -K q_i q_j erfc(r / 2w) / r over non-excluded pairs inside the cutoff."""
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    n = nb.getNumParticles()
    q = np.array([nb.getParticleParameters(i)[0]._value for i in range(n)])
    excluded = np.zeros((n, n), bool)
    for k in range(nb.getNumExceptions()):
        i, j, *_ = nb.getExceptionParameters(k)
        excluded[i, j] = excluded[j, i] = True
    i, j = np.triu_indices(n, 1)
    keep = ~excluded[i, j] & (q[i] * q[j] != 0)
    i, j = i[keep], j[keep]
    d = pos[i] - pos[j]
    if box is not None:
        d -= box * np.round(d / box)
    r = np.linalg.norm(d, axis=1)
    inside = r < cutoff if cutoff is not None else np.ones(len(r), bool)
    return -ONE_4PI_EPS0 * np.sum(q[i[inside]] * q[j[inside]] * erfc(r[inside] / (2 * width))
                                  / r[inside])


@pytest.mark.parametrize("name", [
    pytest.param("NoCutoff", marks=_SLOW), pytest.param("CutoffNonPeriodic", marks=_SLOW),
    "CutoffPeriodic+dispersion", "CutoffPeriodic+switch", "PME",
    pytest.param("Ewald+switch", marks=_SLOW)])
def test_smoothed_coulomb_every_method(name, tip3p_box):
    top, _, pos = tip3p_box
    kwargs = dict(_METHODS[name])
    method = kwargs.pop("method")
    ff = app.ForceField("amber14-all.xml", "amber14/tip3p.xml")
    system = ff.createSystem(top, nonbondedMethod=method, nonbondedCutoff=0.6 * NM,
                             constraints=app.HBonds, **kwargs)
    smoothed = smooth_system(system, 0.0)
    assert max_width_for_system(smoothed) <= (0.6 / 8 if method != app.NoCutoff else np.inf)
    e0, f0 = energy_forces(system, pos)
    e1, f1 = energy_forces(smoothed, pos)
    assert e1 == pytest.approx(e0, rel=1e-7)
    assert np.max(np.abs(f1 - f0)) <= 1e-6 * np.max(np.abs(f0))
    w = 0.05
    lj_only = smooth_system(system, 0.0, smooth_coulomb=False)
    e_both, _ = energy_forces(smoothed, pos, width=w)
    e_lj, _ = energy_forces(lj_only, pos, width=w)
    periodic = method != app.NoCutoff and method != app.CutoffNonPeriodic
    box = system.getDefaultPeriodicBoxVectors()[0][0].value_in_unit(NM) if periodic else None
    ref = _coulomb_correction_reference(
        system, np.asarray(pos.value_in_unit(NM)), w,
        None if method == app.NoCutoff else 0.6, box)
    assert e_both - e_lj == pytest.approx(ref, rel=1e-6)
    if method != app.NoCutoff:  # the correction must have decayed at the cutoff
        with pytest.raises(ValueError, match="cutoff / 8"):
            smooth_system(system, 0.6 / 8 + 0.01)


# ---------------------------------------------------------------- 5. region selection


def _pair_delta_reference(system, pos, width, sel, solute_solvent, exact_14=False):
    """E(width) - E(0) over pairs touching ``sel`` (both in ``sel`` without solute_solvent)."""
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    n = nb.getNumParticles()
    q, sig, eps = (np.array([nb.getParticleParameters(i)[k]._value for i in range(n)])
                   for k in range(3))
    insel = np.isin(np.arange(n), sel)
    excluded = np.zeros((n, n), bool)
    rows = []
    for k in range(nb.getNumExceptions()):
        i, j, qq, s, e = nb.getExceptionParameters(k)
        excluded[i, j] = excluded[j, i] = True
        if not exact_14 and (insel[i] or insel[j]):
            rows.append((i, j, qq._value, s._value, e._value))
    i, j = np.triu_indices(n, 1)
    touch = (insel[i] | insel[j]) if solute_solvent else (insel[i] & insel[j])
    keep = touch & ~excluded[i, j]
    i, j = i[keep], j[keep]
    rows += list(zip(i, j, q[i] * q[j], 0.5 * (sig[i] + sig[j]), np.sqrt(eps[i] * eps[j]),
                     strict=True))
    delta = 0.0
    for a, b, qq, s, e in rows:
        r = np.linalg.norm(pos[a] - pos[b])
        if e > 0:
            delta += e * (smoothed_lj(r / s, width / s, FORCE_FIELD_R_CORE)[0]
                          - smoothed_lj(r / s, 0.0, FORCE_FIELD_R_CORE)[0])
        delta -= ONE_4PI_EPS0 * qq * erfc(r / (2 * width)) / r
    return delta


@pytest.mark.parametrize("solute_solvent", [True, False])
def test_region_smooths_only_pairs_touching_the_selection(solute_solvent):
    t = openmmtools_system("AlanineDipeptideVacuum")
    sel = list(range(6, 16))  # the alanine residue
    smoothed = smooth_system(t.system, 0.0, atoms=sel, solute_solvent=solute_solvent)
    e0, f0 = energy_forces(t.system, t.positions)
    e1, f1 = energy_forces(smoothed, t.positions)
    assert e1 == pytest.approx(e0, rel=1e-9)
    assert np.max(np.abs(f1 - f0)) <= 1e-8 * np.max(np.abs(f0))
    w = 0.02
    e_w, _ = energy_forces(smoothed, t.positions, width=w)
    pos = np.asarray(t.positions.value_in_unit(NM))
    ref = _pair_delta_reference(t.system, pos, w, sel, solute_solvent)
    assert e_w - e1 == pytest.approx(ref, rel=1e-5)


def test_exact_14_keeps_exceptions_exact():
    t = openmmtools_system("AlanineDipeptideVacuum")
    smoothed = smooth_system(t.system, 0.0, exact_14=True)
    assert not any(f.getName() in ("GaussLJExceptions", "GaussLJCoulombExceptions")
                   for f in smoothed.getForces())
    w = 0.02
    e1, _ = energy_forces(smoothed, t.positions)
    e_w, _ = energy_forces(smoothed, t.positions, width=w)
    pos = np.asarray(t.positions.value_in_unit(NM))
    ref = _pair_delta_reference(t.system, pos, w, np.arange(len(pos)), True, exact_14=True)
    assert e_w - e1 == pytest.approx(ref, rel=1e-5)


def test_region_in_water_with_pme_exact_at_zero(tip3p_box):
    top, system, pos = tip3p_box
    system = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(system))
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    nb.setUseDispersionCorrection(False)  # see the next test for the correction
    sel = list(range(30))  # ten waters
    for solute_solvent in (True, False):
        smoothed = smooth_system(system, 0.0, atoms=sel, solute_solvent=solute_solvent)
        e0, f0 = energy_forces(system, pos)
        e1, f1 = energy_forces(smoothed, pos)
        assert e1 == pytest.approx(e0, rel=1e-7)
        assert np.max(np.abs(f1 - f0)) <= 1e-6 * np.max(np.abs(f0))


@pytest.mark.slow
def test_region_with_dispersion_correction_on_a_shipped_complex():
    """Interaction groups count the long-range correction over distinct pairs only, the
    original over N(N+1)/2 (self terms included): the selected atoms' self terms are missing,
    O(n_selected / N^2) of the correction, below 1e-6 of the energy for a solvated guest."""
    t = openmmtools_system("HostGuestExplicit")
    guest = [a.index for a in t.topology.atoms() if a.residue.name == "B2"]
    assert 10 < len(guest) < 100
    smoothed = smooth_system(t.system, 0.0, atoms=guest, positions=t.positions)
    e0, f0 = energy_forces(t.system, t.positions)
    e1, f1 = energy_forces(smoothed, t.positions)
    assert abs(e1 - e0) <= 1e-6 * abs(e0)
    assert np.max(np.abs(f1 - f0)) <= 1e-6 * np.max(np.abs(f0))


def test_torsion_width_zero_is_exact():
    t = openmmtools_system("AlanineDipeptideVacuum")
    smoothed = smooth_system(t.system, 0.0, torsion_width=0.0)
    assert any(isinstance(f, mm.CustomTorsionForce) for f in smoothed.getForces())
    assert not any(isinstance(f, mm.PeriodicTorsionForce) and f.getNumTorsions()
                   for f in smoothed.getForces())
    e0, f0 = energy_forces(t.system, t.positions)
    e1, f1 = energy_forces(smoothed, t.positions)
    assert e1 == pytest.approx(e0, rel=1e-9)
    assert np.max(np.abs(f1 - f0)) <= 1e-8 * np.max(np.abs(f0))


def test_short_coulomb_cutoff_is_the_same_correction(tip3p_box):
    """A 0.4 nm correction cutoff: same energy at 0.05 nm (erfc(4) = 1.5e-8), width <= 0.05."""
    _, system, pos = tip3p_box
    full = smooth_system(system, 0.0, engine="custom")
    short = smooth_system(system, 0.0, coulomb_cutoff=0.4, engine="custom")
    assert max_width_for_system(short) == pytest.approx(0.05)
    # the short correction gets its own pair loop (few pairs), the LJ loop loses erfc
    own = [f for f in short.getForces() if f.getName() == "GaussLJCoulomb"]
    assert len(own) == 1 and own[0].getCutoffDistance()._value == pytest.approx(0.4)
    lj = next(f for f in short.getForces() if f.getName() == "GaussLJ")
    assert "erfc" not in lj.getEnergyFunction()
    e_full, f_full = energy_forces(full, pos, width=0.05)
    e_short, f_short = energy_forces(short, pos, width=0.05)
    assert e_short == pytest.approx(e_full, rel=1e-8)
    assert np.max(np.abs(f_short - f_full)) <= 1e-6 * np.max(np.abs(f_full))
    with pytest.raises(ValueError, match="coulomb_cutoff"):
        smooth_system(system, 0.0, coulomb_cutoff=2.0)


def test_truncated_octahedron_with_barostat():
    """Triclinic box + MonteCarloBarostat: exact at 0, the contact check uses minimum images."""
    d = 1.6
    vectors = (mm.Vec3(d, 0, 0), mm.Vec3(d / 3, 2 * np.sqrt(2) * d / 3, 0),
               mm.Vec3(-d / 3, np.sqrt(2) * d / 3, np.sqrt(6) * d / 3)) * NM
    ff = app.ForceField("amber14-all.xml", "amber14/tip3p.xml")
    mod = app.Modeller(app.Topology(), [])
    mod.addSolvent(ff, boxVectors=vectors)
    system = ff.createSystem(mod.topology, nonbondedMethod=app.PME,
                             nonbondedCutoff=0.6 * NM, constraints=app.HBonds)
    system.addForce(mm.MonteCarloBarostat(1.0 * unit.bar, 300 * unit.kelvin))
    ctx = cpu_context(system, mod.positions)
    mm.LocalEnergyMinimizer.minimize(ctx, 10.0, 300)
    pos = ctx.getState(getPositions=True).getPositions(asNumpy=True)
    smoothed = smooth_system(system, 0.0, positions=pos)
    assert any(isinstance(f, mm.MonteCarloBarostat) for f in smoothed.getForces())
    e0, _ = energy_forces(system, pos)
    e1, _ = energy_forces(smoothed, pos)
    assert e1 == pytest.approx(e0, rel=1e-7)
    # plant a contact across the periodic boundary: oxygen 3 onto an image of oxygen 0
    moved = np.asarray(pos.value_in_unit(NM)).copy()
    shift = moved[0] - moved[3] + np.array([v.value_in_unit(NM) for v in vectors])[2]
    # 0.10 nm: closer than any other oxygen can be (O0's neighbours are >= 0.25 nm away)
    moved[3:6] += shift + np.array([0.10, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"atoms 0 and 3 are 0\.1000 nm apart"):
        smooth_system(system, 0.0, positions=moved)


@pytest.mark.parametrize("model", ["tip3p", "tip4pew"])
def test_relaxed_water_boxes_exact_at_width_zero(model, request):
    """TIP4P-Ew: LJ on O (no charge), charge on the virtual site M (no LJ)."""
    _, system, pos = request.getfixturevalue(f"{model}_box")
    smoothed = smooth_system(system, 0.0, positions=pos)
    e0, f0 = energy_forces(system, pos)
    e1, f1 = energy_forces(smoothed, pos)
    assert abs(e1 - e0) <= 1e-7 * abs(e0)
    assert np.max(np.abs(f1 - f0)) <= 1e-9 * np.max(np.abs(f0))
