"""When to smooth, molecules: peptide conformer search and clash repair (OpenMM, OBC2).

Registers two tasks in the registry of ``examples/when_to_smooth.py`` (which imports this
module when OpenMM is installed; RDKit is needed by the ETKDG anchor only):

* ``peptide-conformers``: Ace-AGGFM-NME (73 atoms) and capped chignolin
  (Ace-GYDPETGTWG-NME, 147 atoms), amber14 + OBC2, HBonds, no cutoff, CPU platform, one
  thread; each method gets the same CPU cap (``--conformer-cpu``, per molecule):

  - ``plain``: :func:`openmm_gausslj.search_conformers` ``method='plain'`` (hot Langevin MD,
    cooling, exact quench: no smoothing);
  - ``smoothed``: the same with ``method='smoothed'`` and its defaults (torsions smoothed
    from 1 rad, annealed to 0 before each quench, stereo guard on; ``lj_width`` 0);
  - ``rdkit-etkdg``: RDKit ETKDGv3 conformers embedded one at a time and minimized in the
    same OpenMM System (tolerance and iteration cap of the search's quench);
  - ``anneal``: OpenMM simulated annealing, a ``LangevinMiddleIntegrator`` whose temperature
    ramps down in stages, then ``LocalEnergyMinimizer``; the trajectory goes on re-heated.

  ``score`` = the lowest energy (kJ/mol) among the run's minima that kept every peptide
  bond trans and every centre's chirality (the start is all-L, all-trans); the row also
  has the lowest of all minima, the median over the distinct minima, and the flips.
* ``clash-repair``: the input is the lowest minimum of a plain search (``--fold-cpu``
  CPU-s, seed 0; cached as ``<molecule>_input.pdb`` beside ``--output``); it is damaged
  (seeded): ``--damage-residues`` side chains rotated about CA-CB into the worst clash of
  8 random angles, plus Gaussian noise (``--damage-noise`` nm) on their atoms. Repairs:
  ``minimize`` (``LocalEnergyMinimizer`` on the exact System), ``restrained-minimize``
  (harmonic heavy-atom restraints to the damaged positions, then released),
  ``homotopy`` (the same restraints on :func:`openmm_gausslj.smooth_system`'s copy,
  :func:`openmm_gausslj.homotopy_minimize` over ``--repair-widths``, stereo guard on,
  then released at width 0 on the exact System) and ``homotopy-torsion`` (torsions
  smoothed too, from 1 rad). Two cases per molecule: ``energy`` (kJ/mol) and ``RMSD``
  (heavy atoms to the undamaged input after superposition, nm); flips are counted against
  the input.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
from when_to_smooth import HERE, task

from openmm_gausslj import (
    homotopy_minimize_context,
    schedule_widths,
    search_conformers,
    smooth_system,
)
from openmm_gausslj.molecules.stereo import check_l_trans, compare_stereo

MOLECULES = {"aggfm": ("AGGFM", "ace-aggfm-nme.pdb"),
             "chignolin": ("GYDPETGTWG", "ace-gydpetgtwg-nme.pdb")}
FORCE_FIELD = ("amber14-all.xml", "implicit/obc2.xml")
QUENCH_TOL = 1.0        # kJ/mol/nm: search_conformers' default quench tolerance
QUENCH_ITER = 2000      # and its iteration cap
ENERGY_TOL = 0.5        # kJ/mol: energies closer than this are a tie (quench tolerance)
RMSD_TOL = 0.01         # nm: heavy-atom RMSDs closer than this are a tie
BACKBONE = {"N", "H", "H1", "H2", "H3", "CA", "HA", "HA2", "HA3", "C", "O", "OXT", "CB"}
KJ, NM = unit.kilojoule_per_mole, unit.nanometer


@dataclass
class Molecule:
    name: str
    sequence: str
    system: mm.System
    topology: app.Topology
    positions: np.ndarray  # nm, the built all-L all-trans start
    sites: object          # openmm_gausslj stereo sites
    heavy: np.ndarray


@functools.cache
def molecule(name: str) -> Molecule:
    if name not in MOLECULES:
        raise ValueError(f"molecule must be one of {sorted(MOLECULES)}, got {name!r}")
    seq, fname = MOLECULES[name]
    pdb = app.PDBFile(str(HERE.parent / "results" / "molecules" / fname))
    system = app.ForceField(*FORCE_FIELD).createSystem(
        pdb.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    pos = np.asarray(pdb.positions.value_in_unit(NM))
    sites = check_l_trans(pdb.topology, pos)
    heavy = np.array([a.index for a in pdb.topology.atoms() if a.element.symbol != "H"])
    return Molecule(name, seq, system, pdb.topology, pos, sites, heavy)


def cpu_context(system: mm.System, integrator: mm.Integrator | None = None) -> mm.Context:
    return mm.Context(system, integrator or mm.VerletIntegrator(0.001),
                      mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})


def _state(ctx: mm.Context) -> tuple[np.ndarray, float]:
    st = ctx.getState(getEnergy=True, getPositions=True)
    return (np.asarray(st.getPositions(asNumpy=True).value_in_unit(NM)),
            st.getPotentialEnergy().value_in_unit(KJ))


def minimize(ctx: mm.Context, pos, tol: float = QUENCH_TOL, maxiter: int = QUENCH_ITER):
    """``LocalEnergyMinimizer`` from ``pos``: (positions nm, energy kJ/mol)."""
    ctx.setPositions(pos)
    mm.LocalEnergyMinimizer.minimize(ctx, tol, maxiter)
    return _state(ctx)


def flips(mol: Molecule, before, after) -> tuple[list[str], list[str]]:
    """Peptide bonds now cis and centres inverted, ``after`` against ``before``."""
    rep = compare_stereo(mol.sites, before, after)
    return list(rep.to_cis), list(rep.inverted)


def heavy_rmsd(mol: Molecule, a: np.ndarray, b: np.ndarray) -> float:
    """Heavy-atom RMSD (nm) after optimal superposition (Kabsch)."""
    x, y = a[mol.heavy] - a[mol.heavy].mean(0), b[mol.heavy] - b[mol.heavy].mean(0)
    u, s, vt = np.linalg.svd(x.T @ y)
    s[-1] *= np.sign(np.linalg.det(u @ vt))
    return float(math.sqrt(max((x * x).sum() + (y * y).sum() - 2 * s.sum(), 0.0) / len(x)))


# ---------------------------------------------------------------- conformer search methods

def _search(mol: Molecule, method: str, cap: float, seed: int) -> list[tuple[float, np.ndarray]]:
    res = search_conformers(
        mol.system, mol.positions, method=method, budget=10**9, cpu_seconds=cap, seed=seed,
        topology=mol.topology, timestep=0.002, platform_properties={"Threads": "1"})
    return [(c.energy, c.positions) for c in res.conformers]


def rdkit_molecule(mol: Molecule):
    """The OpenMM topology as an RDKit molecule, same atoms in the same order.

    Connectivity from the topology, bond orders and formal charges from RDKit's
    ``DetermineBondOrders`` (total charge from the force field), stereo from the built
    L/trans structure: what ``Chem.MolFromSequence`` plus the caps would give, without
    any atom-order mapping back to the force-field topology.
    """
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    rw = Chem.RWMol()
    for a in mol.topology.atoms():
        atom = Chem.Atom(a.element.atomic_number)
        atom.SetNoImplicit(True)
        rw.AddAtom(atom)
    for a, b in mol.topology.bonds():
        rw.AddBond(a.index, b.index, Chem.BondType.SINGLE)
    m = rw.GetMol()
    conf = Chem.Conformer(m.GetNumAtoms())
    for i, xyz in enumerate(mol.positions * 10.0):
        conf.SetAtomPosition(i, xyz.tolist())
    m.AddConformer(conf, assignId=True)
    nb = next(f for f in mol.system.getForces() if isinstance(f, mm.NonbondedForce))
    charge = round(sum(nb.getParticleParameters(i)[0].value_in_unit(unit.elementary_charge)
                       for i in range(nb.getNumParticles())))
    rdDetermineBonds.DetermineBondOrders(m, charge=int(charge))
    Chem.AssignStereochemistryFrom3D(m)
    return m


def _rdkit(mol: Molecule, cap: float, seed: int) -> list[tuple[float, np.ndarray]]:
    from rdkit.Chem import AllChem

    t0 = time.process_time()
    m = rdkit_molecule(mol)
    ctx = cpu_context(mol.system)
    out, k = [], 0
    while time.process_time() - t0 < cap:
        params = AllChem.ETKDGv3()
        params.randomSeed = 1 + seed * 100_003 + k
        k += 1
        if AllChem.EmbedMolecule(m, params) < 0:
            continue
        xyz = np.asarray(m.GetConformer().GetPositions()) / 10.0
        pos, e = minimize(ctx, xyz)
        out.append((e, pos))
    return out


def _anneal(mol: Molecule, cap: float, seed: int, *, t_hot: float = 700.0,
            t_cold: float = 250.0, steps: int = 2000, stages: int = 20):
    """Simulated annealing with plain OpenMM: temperature ramp, quench, re-heat."""
    t0 = time.process_time()
    integ = mm.LangevinMiddleIntegrator(t_hot * unit.kelvin, 1.0 / unit.picosecond,
                                        0.002 * unit.picosecond)
    integ.setRandomNumberSeed(seed + 1)
    md, ex = cpu_context(mol.system, integ), cpu_context(mol.system)
    md.setPositions(mol.positions)
    out, cycle = [], 0
    while time.process_time() - t0 < cap:
        md.setVelocitiesToTemperature(t_hot * unit.kelvin, seed * 1000 + cycle + 1)
        cycle += 1
        for s in range(stages):
            integ.setTemperature((t_hot + (t_cold - t_hot) * s / (stages - 1)) * unit.kelvin)
            integ.step(steps // stages)
        pos, e = minimize(ex, _state(md)[0])
        out.append((e, pos))
    return out


CONFORMER_METHODS = {"plain": lambda m, c, s: _search(m, "plain", c, s),
                     "smoothed": lambda m, c, s: _search(m, "smoothed", c, s),
                     "rdkit-etkdg": _rdkit, "anneal": _anneal}


def _distinct_median(energies: list[float], tol: float = 0.01) -> float:
    e = np.sort(np.asarray(energies))
    keep = e[np.concatenate([[True], np.diff(e) > tol])] if e.size else e
    return float(np.median(keep)) if keep.size else math.nan


@task("peptide-conformers")
def peptide_conformers(args, seed: int) -> list[dict]:
    rows = []
    caps = list(args.conformer_cpu)
    if len(caps) != len(args.molecules):  # one value for all, else one per molecule
        if len(caps) != 1:
            raise ValueError(f"--conformer-cpu needs 1 or {len(args.molecules)} values")
        caps *= len(args.molecules)
    for name, cap in zip(args.molecules, caps, strict=True):
        mol = molecule(name)
        for method in args.conformer_methods:
            t0 = time.process_time()
            minima = CONFORMER_METHODS[method](mol, cap, seed)
            cpu = time.process_time() - t0
            flagged = [(e, *flips(mol, mol.positions, x)) for e, x in minima]
            valid = [e for e, c, i in flagged if not c and not i]
            best = min(flagged, default=(math.inf, [], []))
            rows.append({"case": f"{name} {cap:g} CPU-s", "variant": method,
                         "smoothed": method == "smoothed",
                         "score": min(valid, default=math.inf), "cpu_s": cpu,
                         "score_tol": ENERGY_TOL,
                         "best_any": best[0], "best_to_cis": best[1],
                         "best_inverted": best[2],
                         "median_distinct": _distinct_median([e for e, _, _ in flagged]),
                         "n_minima": len(minima),
                         "n_flipped": sum(bool(c or i) for _, c, i in flagged),
                         "cpu_cap": cap})
    return rows


# ---------------------------------------------------------------------------- clash repair

def folded_input(mol: Molecule, args) -> np.ndarray:
    """The undamaged input: the lowest minimum of a seeded plain search of ``--fold-cpu``
    CPU-s (cached PDB beside ``--output``); 0 CPU-s, or a search that found nothing in
    its cap: the minimized built structure."""
    from pathlib import Path

    path = Path(args.output).resolve().parent / f"{mol.name}_input.pdb"
    if path.exists():
        return np.asarray(app.PDBFile(str(path)).positions.value_in_unit(NM))
    found = _search(mol, "plain", args.fold_cpu, 0) if args.fold_cpu > 0 else []
    start = min(found, key=lambda t: t[0])[1] if found else mol.positions
    # converged fully, so that a repair cannot end below the input by finishing its quench
    pos = minimize(cpu_context(mol.system), start, maxiter=0)[0]
    check_l_trans(mol.topology, pos, mol.sites)
    with open(path, "w") as fh:
        app.PDBFile.writeFile(mol.topology, pos * NM, fh)
    return pos


def _rotate(points, origin, axis, angle):
    axis = axis / np.linalg.norm(axis)
    p = points - origin
    c, s = math.cos(angle), math.sin(angle)
    return origin + p * c + np.cross(axis, p) * s + np.outer(p @ axis, axis) * (1 - c)


def damage(mol: Molecule, x0: np.ndarray, rng: np.random.Generator, n_res: int,
           noise: float) -> tuple[np.ndarray, list[str]]:
    """Rotate ``n_res`` side chains about CA-CB into their worst clash of 8 random angles,
    then add Gaussian noise to their atoms."""
    x = x0.copy()
    cands = [r for r in mol.topology.residues()  # side chains beyond CB; Pro's is a ring
             if {"CA", "CB"} <= {a.name for a in r.atoms()} and r.name != "PRO"
             and any(a.name not in BACKBONE and a.element.symbol != "H" for a in r.atoms())]
    chosen = rng.choice(len(cands), size=min(n_res, len(cands)), replace=False)
    heavy = set(mol.heavy.tolist())
    labels = []
    for k in sorted(chosen):
        res = cands[k]
        idx = {a.name: a.index for a in res.atoms()}
        moving = [a.index for a in res.atoms() if a.name not in BACKBONE]
        others = np.array([i for i in heavy if i not in {a.index for a in res.atoms()}])
        moving_heavy = [i for i in moving if i in heavy]
        best = None
        for angle in rng.uniform(0.5, 2 * math.pi - 0.5, size=8):
            y = _rotate(x[moving], x[idx["CA"]], x[idx["CB"]] - x[idx["CA"]], angle)
            sel = [moving.index(i) for i in moving_heavy]
            d = np.linalg.norm(y[sel, None, :] - x[None, others, :], axis=-1).min()
            if best is None or d < best[0]:
                best = (d, y)
        x[moving] = best[1] + rng.normal(scale=noise, size=best[1].shape)
        labels.append(f"{res.name}{res.index + 1}")
    return x, labels


def _restrained(system: mm.System, ref: np.ndarray, heavy, k: float) -> mm.System:
    force = mm.CustomExternalForce("k_restraint*((x-x0)^2+(y-y0)^2+(z-z0)^2)")
    force.addGlobalParameter("k_restraint", k)
    for name in ("x0", "y0", "z0"):
        force.addPerParticleParameter(name)
    for i in heavy:
        force.addParticle(int(i), ref[i].tolist())
    system.addForce(force)
    return system


def _repair_minimize(mol, xd, args):
    return minimize(cpu_context(mol.system), xd, maxiter=0)[0], {}


def _repair_restrained(mol, xd, args):
    import copy

    ctx = cpu_context(_restrained(copy.deepcopy(mol.system), xd, mol.heavy, args.restraint_k))
    x, _ = minimize(ctx, xd, maxiter=0)
    return minimize(cpu_context(mol.system), x, maxiter=0)[0], {}


def _repair_homotopy(mol, xd, args, torsion: bool = False):
    widths = schedule_widths(args.repair_widths[0], args.repair_widths[1],
                                   args.repair_stages - 1, "geometric")
    kw = {"torsion_width": 1.0} if torsion else {}
    system = smooth_system(mol.system, width=float(widths[0]), **kw)
    ctx = cpu_context(_restrained(system, xd, mol.heavy, args.restraint_k))
    ctx.setPositions(xd)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = homotopy_minimize_context(ctx, widths, tolerance=QUENCH_TOL,
                                        topology=mol.topology,
                                        torsion_width_start=1.0 if torsion else None)
    x = _state(ctx)[0]
    info = {"homotopy_success": bool(getattr(res, "success", True)),
            "homotopy_warnings": [str(w.message)[:200] for w in caught],
            "stereo_guard_report": (res.stereo.summary() if getattr(res, "stereo", None)
                                    else None)}
    return minimize(cpu_context(mol.system), x, maxiter=0)[0], info


REPAIRS = {"minimize": _repair_minimize, "restrained-minimize": _repair_restrained,
           "homotopy": _repair_homotopy,
           "homotopy-torsion": functools.partial(_repair_homotopy, torsion=True)}


@task("clash-repair")
def clash_repair(args, seed: int) -> list[dict]:
    rows = []
    for name in args.molecules:
        mol = molecule(name)
        x0 = folded_input(mol, args)
        exact = cpu_context(mol.system)
        exact.setPositions(x0)
        e0 = _state(exact)[1]
        xd, damaged = damage(mol, x0, np.random.default_rng(seed), args.damage_residues,
                             args.damage_noise)
        exact.setPositions(xd)
        ed = _state(exact)[1]
        for variant in args.repair_methods:
            t0 = time.process_time()
            x, info = REPAIRS[variant](mol, xd, args)
            cpu = time.process_time() - t0
            exact.setPositions(x)
            e = _state(exact)[1]
            to_cis, inverted = flips(mol, x0, x)
            common = {"variant": variant, "smoothed": variant.startswith("homotopy"),
                      "cpu_s": cpu, "energy": e, "rmsd_nm": heavy_rmsd(mol, x0, x),
                      "energy_input": e0, "energy_damaged": ed, "damaged": damaged,
                      "rmsd_damaged_nm": heavy_rmsd(mol, x0, xd), "to_cis": to_cis,
                      "inverted": inverted, **info}
            rows.append({"case": f"{name} energy", "score": e, "score_tol": ENERGY_TOL,
                         **common})
            rows.append({"case": f"{name} RMSD", "score": common["rmsd_nm"],
                         "score_tol": RMSD_TOL, **common})
    return rows


def add_arguments(p) -> None:
    """The molecule tasks' options (added to when_to_smooth's parser)."""
    g = p.add_argument_group("molecule tasks (peptide-conformers, clash-repair)")
    g.add_argument("--molecules", nargs="+", default=["aggfm", "chignolin"],
                   choices=sorted(MOLECULES))
    g.add_argument("--conformer-cpu", type=float, nargs="+", default=[15.0, 30.0],
                   help="CPU-s per method and run, one per --molecules entry")
    g.add_argument("--conformer-methods", nargs="+", default=list(CONFORMER_METHODS),
                   choices=list(CONFORMER_METHODS))
    g.add_argument("--fold-cpu", type=float, default=20.0,
                   help="CPU-s of the plain search that makes the clash-repair input "
                        "(0: the minimized built structure)")
    g.add_argument("--damage-residues", type=int, default=3)
    g.add_argument("--damage-noise", type=float, default=0.02, help="nm")
    g.add_argument("--restraint-k", type=float, default=1000.0, help="kJ/mol/nm^2")
    g.add_argument("--repair-widths", type=float, nargs=2, default=[0.05, 0.005],
                   metavar=("FIRST", "LAST"), help="nm, geometric")
    g.add_argument("--repair-stages", type=int, default=6)
    g.add_argument("--repair-methods", nargs="+", default=list(REPAIRS), choices=list(REPAIRS))
