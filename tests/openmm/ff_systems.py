"""Real force-field systems for the OpenMM tests (helpers; fixtures in conftest.py)."""

from __future__ import annotations

import os

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

NM = unit.nanometer
KJ = unit.kilojoule_per_mole


def cpu_context(system, positions, integrator=None):
    """A one-thread CPU context at ``positions``."""
    plat = mm.Platform.getPlatformByName("CPU")
    ctx = mm.Context(system, integrator or mm.VerletIntegrator(0.001), plat, {"Threads": "1"})
    ctx.setPositions(positions)
    return ctx


def energy_forces(system, positions, platform="Reference", width=None):
    """Potential energy (kJ/mol) and forces (kJ/mol/nm) of ``system`` at ``positions``."""
    plat = mm.Platform.getPlatformByName(platform)
    props = {"Threads": "1"} if platform == "CPU" else {}
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), plat, props)
    ctx.setPositions(positions)
    if width is not None:
        ctx.setParameter("gausslj_width", width)
    st = ctx.getState(getEnergy=True, getForces=True)
    return (st.getPotentialEnergy().value_in_unit(KJ),
            np.asarray(st.getForces(asNumpy=True).value_in_unit(KJ / NM)))


def water_box(model: str, box: float = 1.6, cutoff: float = 0.7, **kwargs):
    """(topology, system, minimized positions) of a ``model`` water box with PME."""
    ff = app.ForceField("amber14-all.xml", f"amber14/{model}.xml")
    mod = app.Modeller(app.Topology(), [])
    mod.addSolvent(ff, model=model, boxSize=mm.Vec3(box, box, box) * NM)
    system = ff.createSystem(mod.topology, nonbondedMethod=kwargs.pop("method", app.PME),
                             nonbondedCutoff=cutoff * NM, constraints=app.HBonds, **kwargs)
    ctx = cpu_context(system, mod.positions)
    mm.LocalEnergyMinimizer.minimize(ctx, 10.0, 300)
    return mod.topology, system, ctx.getState(getPositions=True).getPositions(asNumpy=True)


def charmm_lipid(method=app.NoCutoff, cutoff=1.0):
    """One CHARMM36 DPPC lipid (from OpenMM's DPPC.pdb) plus a Na+ (an NBFIX partner).

    ``charmm36.xml`` puts the LJ in a tabulated CustomNonbondedForce (NBFIX Na+-lipid O)
    and the 1-4 LJ in a CustomBondForce: both LJ forms of CHARMM.
    """
    pdb = app.PDBFile(os.path.join(os.path.dirname(app.__file__), "data", "DPPC.pdb"))
    residues = list(pdb.topology.residues())
    lipid = next(r for r in residues if r.name != "HOH")
    mod = app.Modeller(pdb.topology, pdb.positions)
    mod.delete([r for r in residues if r is not lipid])
    pos = np.asarray(mod.positions.value_in_unit(NM))
    phosphorus = next(a.index for a in mod.topology.atoms() if a.element.symbol == "P")
    ion = app.Topology()
    ion.addAtom("SOD", app.element.sodium, ion.addResidue("SOD", ion.addChain()))
    mod.topology.setPeriodicBoxVectors(None)
    mod.add(ion, [mm.Vec3(*(pos[phosphorus] + np.array([0.45, 0.0, 0.0])))] * NM)
    if method in (app.PME, app.CutoffPeriodic):
        mod.topology.setPeriodicBoxVectors(np.eye(3) * 4.0 * NM)
    ff = app.ForceField("charmm36.xml", "charmm36/water.xml")
    system = ff.createSystem(mod.topology, nonbondedMethod=method, nonbondedCutoff=cutoff * NM)
    return mod.topology, system, mod.positions


def openmmtools_system(name: str):
    """An openmmtools test system with its shipped coordinates (skips without openmmtools)."""
    testsystems = pytest.importorskip(
        "openmmtools.testsystems", reason="openmmtools (optional extra) is not installed")
    return getattr(testsystems, name)()


def alad_topology():
    """Alanine dipeptide as CHARMM36 names it: one residue ``ALAD`` (ACE, ALA and NME
    merged), positions of the shipped PDB. Returns ``(topology, residue, positions)``."""
    from openmm_gausslj.data import alanine_dipeptide_pdb

    pdb = app.PDBFile(alanine_dipeptide_pdb())
    top = app.Topology()
    res = top.addResidue("ALAD", top.addChain())
    atoms = {a: top.addAtom(a.name, a.element, res) for a in pdb.topology.atoms()}
    for a, b in pdb.topology.bonds():
        top.addBond(atoms[a], atoms[b])
    return top, res, pdb.positions
