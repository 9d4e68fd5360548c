"""Do peptide bonds flip to cis, or stereocentres invert, under smoothing?  Guard on/off.

Protocol per run (one molecule, force field, width, guard, seed): the exact minimum of the
built L/trans peptide; the width set and (``--switch minimize``, default) a minimization at
it; ``--steps`` Langevin steps
(300 K, 2 fs, HBonds) at that width; the width annealed linearly to 0 in 10 stages over
``--anneal-steps``; a minimization at 0. Counted against the start: peptide bonds now cis,
centres inverted (:mod:`openmm_gausslj.molecules.stereo`). Guards: ``none``; ``restrain`` (the
flat-bottom omega/improper restraints of
:func:`~openmm_gausslj.molecules.stereo.add_stereo_restraints`,
active while the width > 0); ``exact14`` (``smooth_system(exact_14=True)``).

    OPENBLAS_NUM_THREADS=1 python examples/stereo_flips.py --out scratch/stereo_flips.json

Writes JSON incrementally (each finished run; a rerun skips what is there).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import openmm as mm
import openmm.app as app
import openmm.unit as unit

from ase_gausslj.io import write_json
from openmm_gausslj import smooth_system
from openmm_gausslj.molecules.stereo import add_stereo_restraints, compare_stereo, find_stereo_sites

MOLECULES = {"chignolin": "ace-gydpetgtwg-nme.pdb", "aggfm": "ace-aggfm-nme.pdb"}
FORCE_FIELDS = {"amber14-vacuum": ["amber14-all.xml"],
                "amber14-obc2": ["amber14-all.xml", "implicit/obc2.xml"],
                "charmm36-vacuum": ["charmm36.xml"]}
GUARDS = ("none", "restrain", "exact14")


def _system(mol: str, ff: str):
    pdb = app.PDBFile(str(Path(__file__).parent.parent / "results" / "molecules"
                          / MOLECULES[mol]))
    system = app.ForceField(*FORCE_FIELDS[ff]).createSystem(
        pdb.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    return system, pdb.topology, pdb.positions


def _pos(ctx):
    return ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(
        unit.nanometer)


def one_run(mol, ff, width, guard, seed, steps, anneal_steps, switch="minimize") -> dict:
    system, top, pos = _system(mol, ff)
    ref = mm.Context(system, mm.VerletIntegrator(0.001),
                     mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    ref.setPositions(pos)
    mm.LocalEnergyMinimizer.minimize(ref, 1.0)
    start = _pos(ref)
    sites = find_stereo_sites(top)
    smoothed = smooth_system(system, 0.0, exact_14=guard == "exact14")
    if guard == "restrain":
        add_stereo_restraints(smoothed, top, start, sites=sites)
    integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
    integ.setRandomNumberSeed(seed + 1)
    ctx = mm.Context(smoothed, integ, mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    ctx.setPositions(start)
    t0 = time.process_time()
    ctx.setParameter("gausslj_width", width)
    if switch == "minimize":  # "abrupt": a bare setParameter, as a user might
        mm.LocalEnergyMinimizer.minimize(ctx, 10.0, 1000)
    ctx.setVelocitiesToTemperature(300, seed + 1)
    integ.step(steps)
    at_width = compare_stereo(sites, start, _pos(ctx))
    for k in range(1, 11):
        ctx.setParameter("gausslj_width", width * (1 - k / 10))
        integ.step(anneal_steps // 10)
    mm.LocalEnergyMinimizer.minimize(ctx, 1.0)
    end = compare_stereo(sites, start, _pos(ctx))
    e = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    return {"molecule": mol, "force_field": ff, "width": width, "guard": guard, "seed": seed,
            "switch": switch,
            "cis_at_width": at_width.to_cis, "inverted_at_width": at_width.inverted,
            "cis_after": end.to_cis, "inverted_after": end.inverted, "energy_after": e,
            "cpu_s": time.process_time() - t0}


def table(runs: list[dict]) -> str:
    keys = sorted({(r["molecule"], r["force_field"], r.get("switch", "minimize"), r["width"])
                   for r in runs})
    lines = ["| molecule | force field | switch-on | width (nm) | guard | runs | "
             "runs with a cis flip "
             "(after anneal) | cis bonds (after) | inverted centres (after) | "
             "cis at width | inverted at width |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for mol, ff, sw, w in keys:
        for g in GUARDS:
            rs = [r for r in runs if (r["molecule"], r["force_field"],
                                      r.get("switch", "minimize"), r["width"], r["guard"])
                  == (mol, ff, sw, w, g)]
            if rs:
                lines.append(
                    f"| {mol} | {ff} | {sw} | {w} | {g} | {len(rs)} | "
                    f"{sum(bool(r['cis_after']) for r in rs)} | "
                    f"{sum(len(r['cis_after']) for r in rs)} | "
                    f"{sum(len(r['inverted_after']) for r in rs)} | "
                    f"{sum(len(r['cis_at_width']) for r in rs)} | "
                    f"{sum(len(r['inverted_at_width']) for r in rs)} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--molecules", nargs="+", default=list(MOLECULES), choices=list(MOLECULES))
    p.add_argument("--force-fields", nargs="+", default=["amber14-vacuum", "amber14-obc2"],
                   choices=list(FORCE_FIELDS))
    p.add_argument("--widths", nargs="+", type=float, default=[0.02, 0.03, 0.04, 0.05])
    p.add_argument("--guards", nargs="+", default=list(GUARDS), choices=GUARDS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--anneal-steps", type=int, default=1000)
    p.add_argument("--switch", default="minimize", choices=("minimize", "abrupt"),
                   help="minimize at the width before the MD, or not")
    p.add_argument("--out", required=True, help="JSON file (written after every run)")
    args = p.parse_args(argv)
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {"runs": []}
    data.setdefault("commands", []).append(
        "python examples/stereo_flips.py " + " ".join(sys.argv[1:] if argv is None else argv))
    done = {(r["molecule"], r["force_field"], r["width"], r["guard"], r["seed"],
             r.get("switch", "minimize")) for r in data["runs"]}
    for seed in args.seeds:
        for mol in args.molecules:
            for ff in args.force_fields:
                for w in args.widths:
                    for g in args.guards:
                        if (mol, ff, w, g, seed, args.switch) in done:
                            continue
                        r = one_run(mol, ff, w, g, seed, args.steps, args.anneal_steps,
                                    args.switch)
                        data["runs"].append(r)
                        write_json(out, data)
                        print(f"{mol} {ff} w={w} {g} seed {seed}: cis {r['cis_after']} "
                              f"inv {r['inverted_after']} ({r['cpu_s']:.1f} s)", flush=True)
    print(table(data["runs"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
