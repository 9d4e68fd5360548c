#!/usr/bin/env python
"""Does switching smoothing on heat a peptide? Bare jump vs the package's ramp-in.

For each system: minimize exactly, equilibrate 2,000 steps of Langevin (300 K, 1/ps, 2 fs,
HBonds) at width 0, then switch the width to ``--width`` by

* ``bare``: ``context.setParameter`` (what a user may write), then 1,000 steps;
* ``integrator``: :class:`openmm_gausslj.AnnealedLangevinIntegrator` with its default
  ramp-in, ``width_start = width_end = --width`` (so only the switch-on is measured);
* ``anneal``: :func:`openmm_gausslj.anneal_simulation` (default ramp-in) with one stage at
  ``--width`` of 1,000 steps, on a ``LangevinMiddleIntegrator``.

Reports the mean kinetic temperature over steps 1-200, 201-400 and 401-1,000 after the
switch starts (the ramp included) and the potential energy deposited by the bare jump.
Systems: amber14 alanine dipeptide (shipped), Ace-AGGFM-NME (shipped, 73 atoms) and, with
``--chignolin``, Ace-A-GYDPETGTWG-NME (157 atoms, built by pdbfixer from sequence;
its stereochemistry does not matter for this measurement), each in vacuum
and with GBn2 implicit solvent, amber14; ``--charmm`` adds CHARMM36.

    python examples/switch_on_heating.py --chignolin --out results/openmm/switch_on_heating.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ase_gausslj.io import write_json  # noqa: E402
from openmm_gausslj import AnnealedLangevinIntegrator, anneal_simulation, smooth_system  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
KB = unit.MOLAR_GAS_CONSTANT_R.value_in_unit(unit.kilojoule_per_mole / unit.kelvin)


def _structures(chignolin: bool) -> dict:
    from openmm_gausslj.data import alanine_dipeptide_pdb

    out = {"ala2": app.PDBFile(alanine_dipeptide_pdb()),
           "ace-aggfm-nme": app.PDBFile(os.path.join(ROOT, "results/molecules/ace-aggfm-nme.pdb"))}
    if chignolin:  # Ace-A + chignolin's GYDPETGTWG, built offline by pdbfixer
        from openmm_gausslj.molecules.build import build_capped_peptide

        top, pos = build_capped_peptide("AGYDPETGTWG")
        mod = app.Modeller(top, pos)
        out["ace-a-chignolin-nme"] = mod
    return out


def _system(pdb, ff: str, solvent: str) -> mm.System:
    files = {"amber14": ["amber14-all.xml"], "charmm36": ["charmm36.xml"]}[ff]
    if solvent == "gbn2":
        files = files + ["implicit/gbn2.xml"]
    forcefield = app.ForceField(*files)
    return forcefield.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff,
                                   constraints=app.HBonds)


def _run(pdb, system, mode: str, width: float, seed: int) -> dict:
    smoothed = smooth_system(system, 0.0)
    ndof = 3 * system.getNumParticles() - system.getNumConstraints() - 3
    platform = mm.Platform.getPlatformByName("CPU")
    lang = mm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                       2 * unit.femtosecond)
    lang.setRandomNumberSeed(seed)
    sim = app.Simulation(pdb.topology, smoothed, lang, platform, {"Threads": "1"})
    sim.context.setPositions(pdb.positions)
    sim.minimizeEnergy(tolerance=1.0)
    sim.context.setVelocitiesToTemperature(300 * unit.kelvin, seed)
    sim.step(2000)
    temps: list[float] = []

    def record(ctx):
        k = ctx.getState(getEnergy=True).getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        temps.append(2 * k / (ndof * KB))

    out = {}
    if mode == "bare":
        e0 = sim.context.getState(getEnergy=True).getPotentialEnergy()
        sim.context.setParameter("gausslj_width", width)
        e1 = sim.context.getState(getEnergy=True).getPotentialEnergy()
        out["deposit_kj_mol"] = (e1 - e0).value_in_unit(unit.kilojoule_per_mole)
        for _ in range(1000):
            sim.step(1)
            record(sim.context)
    elif mode == "integrator":
        state = sim.context.getState(getPositions=True, getVelocities=True)
        integ = AnnealedLangevinIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                           2 * unit.femtosecond, width, width, 1,
                                           system=smoothed)
        integ.setRandomNumberSeed(seed)
        ctx = mm.Context(smoothed, integ, platform, {"Threads": "1"})
        ctx.setPositions(state.getPositions())
        ctx.setVelocities(state.getVelocities())
        integ.reset(ctx)  # the context's width is 0: the first ramp_steps steps ramp in
        for _ in range(1000):
            integ.step(1)
            record(ctx)
    else:
        class Rec:  # a reporter: the temperature after every step (ramp included)
            def describeNextReport(self, s):  # noqa: N802
                return (1, False, False, False, True, None)

            def report(self, s, st):
                record(s.context)

        sim.reporters.append(Rec())
        anneal_simulation(sim, [width], 1000 - 400)
    t = np.array(temps[:1000])
    out.update({"T_1_200": float(t[:200].mean()), "T_201_400": float(t[200:400].mean()),
                "T_401_1000": float(t[400:].mean()), "T_max": float(t.max())})
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chignolin", action="store_true")
    ap.add_argument("--charmm", action="store_true")
    ap.add_argument("--fields", nargs="+", default=None, help="e.g. charmm36 (overrides --charmm)")
    ap.add_argument("--modes", nargs="+", default=["bare", "integrator", "anneal"])
    ap.add_argument("--systems", nargs="+", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    result = {"command": " ".join(["python", "examples/switch_on_heating.py"] + sys.argv[1:]),
              "width_nm": args.width, "rows": []}
    fields = args.fields or ["amber14"] + (["charmm36"] if args.charmm else [])
    for name, pdb in _structures(args.chignolin).items():
        if args.systems and name not in args.systems:
            continue
        for ff in fields:
            for solvent in ("vacuum", "gbn2"):
                system = _system(pdb, ff, solvent)
                for mode in args.modes:
                    row = {"system": name, "atoms": system.getNumParticles(), "ff": ff,
                           "solvent": solvent, "mode": mode,
                           **_run(pdb, system, mode, args.width, args.seed)}
                    result["rows"].append(row)
                    print(json.dumps(row), flush=True)
                    if args.out:
                        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
