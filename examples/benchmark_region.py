#!/usr/bin/env python
"""Cost of region mode (``smooth_system(atoms=...)``) as a function of the solute's size.

Region mode smooths only the pairs that involve the selected atoms; its extra cost is the
table lookups of those pairs, so it grows with the number of selected atoms (and their
solvent neighbours), not with the box. This script measures it on solvated systems from
openmmtools (shipped coordinates, so nothing is built or downloaded):

* ``AlanineDipeptideExplicit`` (2,269 atoms): the 22-atom solute (the documented case);
* ``DHFRExplicit`` (23,558 atoms; protein 2,489 atoms): the first residues of the protein
  as the region, sized ~22, ~147, ~500, ~2,000 atoms (``--sizes``), so the box stays the
  same and only the region grows.

Variants per region, all at width ``--width`` (nm), Langevin 2 fs, CPU platform with
``--threads`` threads: the original System, ``atoms=region`` (solute-solute and
solute-solvent smoothed, the default) and ``atoms=region, solute_solvent=False``. The
variants are timed in ``--rounds`` interleaved rounds of ``--steps`` steps (CPU time,
``time.process_time``; median reported), so machine load affects all alike; ratios to the
original of the same system are the information.

Example (the table in docs/openmm.md)::

    python examples/benchmark_region.py --threads 1 --rounds 3 --steps 5 \
        --out results/openmm/region_cost.json

Writes JSON to ``--out`` after every round (default: print only; tracked results are never
overwritten unless asked).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import openmm as mm
import openmm.unit as unit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ase_gausslj.io import write_json  # noqa: E402


def _first_residue_atoms(topology, n_target: int) -> list[int]:
    """Atoms of the first protein residues, whole residues, at least ``n_target`` atoms."""
    out: list[int] = []
    for res in topology.residues():
        if res.name in ("HOH", "WAT", "NA", "CL", "Na+", "Cl-"):
            continue
        out += [a.index for a in res.atoms()]
        if len(out) >= n_target:
            break
    return out


def _load(name: str):
    from openmmtools import testsystems

    return getattr(testsystems, name)()


def _variants(t, region, width):
    from openmm_gausslj import smooth_system

    return {
        "original": t.system,
        "region": smooth_system(t.system, width, atoms=region),
        "region_no_solvent": smooth_system(t.system, width, atoms=region, solute_solvent=False),
    }


def _context(system, positions, threads: int):
    integ = mm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                        2 * unit.femtosecond)
    platform = mm.Platform.getPlatformByName("CPU")
    ctx = mm.Context(system, integ, platform, {"Threads": str(threads)})
    ctx.setPositions(positions)
    ctx.setVelocitiesToTemperature(300 * unit.kelvin, 0)
    integ.step(1)  # kernels compiled, neighbour list built, outside the timing
    return ctx, integ


def _time(integ, steps: int) -> float:
    t0 = time.process_time()
    integ.step(steps)
    return (time.process_time() - t0) / steps * 1e3


def measure(name: str, sizes, args) -> list[dict]:
    """Median ms/step of each variant for each region size of one test system."""
    t = _load(name)
    rows = []
    for size in sizes:
        region = _first_residue_atoms(t.topology, size)
        systems = _variants(t, region, args.width)
        ctxs = {k: _context(s, t.positions, args.threads) for k, s in systems.items()}
        times: dict[str, list[float]] = {k: [] for k in ctxs}
        for _ in range(args.rounds):
            for k, (_, integ) in ctxs.items():
                times[k].append(_time(integ, args.steps))
        med = {k: float(np.median(v)) for k, v in times.items()}
        rows.append({"system": name, "atoms": t.system.getNumParticles(),
                     "region_atoms": len(region), "ms_per_step": med,
                     "all_ms_per_step": times,
                     "ratio_region": med["region"] / med["original"],
                     "ratio_region_no_solvent": med["region_no_solvent"] / med["original"]})
        print(json.dumps({k: rows[-1][k] for k in ("system", "region_atoms", "ms_per_step",
                                                   "ratio_region", "ratio_region_no_solvent")}),
              flush=True)
        del ctxs
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--width", type=float, default=0.02)
    ap.add_argument("--sizes", type=int, nargs="+", default=[22, 147, 500, 2000],
                    help="region sizes (atoms) on DHFRExplicit")
    ap.add_argument("--skip-alanine", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    result = {"command": " ".join(["python", "examples/benchmark_region.py"] + sys.argv[1:]),
              "platform": "CPU", "threads": args.threads, "width_nm": args.width,
              "clock": "process_time", "rows": []}
    jobs = [] if args.skip_alanine else [("AlanineDipeptideExplicit", [22])]
    jobs.append(("DHFRExplicit", args.sizes))
    for name, sizes in jobs:
        result["rows"] += measure(name, sizes, args)
        if args.out:
            write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
