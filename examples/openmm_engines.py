#!/usr/bin/env python
"""CPU step time of ``smooth_system``'s two engines, at a fixed width and annealed per step.

Variants, interleaved in one run (each gets ``--seconds`` of CPU time per round, median
over ``--rounds``), one CPU thread:

* ``original``: the force field's System, Langevin (LangevinMiddleIntegrator, 2 fs);
* ``custom_fixed`` / ``compiled_fixed``: ``smooth_system(system, width, engine=...)``, the
  same Langevin integrator (the width stays put: HREX replicas, homotopy stages);
* ``custom_annealed`` / ``compiled_annealed``: ``AnnealedLangevinIntegrator`` moving the
  width from ``width`` toward 0 at every step (a new width per step).

Prints one JSON object (also written to ``--out``) with ms per step and ratios to the
original. Example::

    python examples/openmm_engines.py --system AlanineDipeptideExplicit --width 0.03 \\
        --out results/openmm/engines_ala_explicit_cpu.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import openmm as mm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from openmm_cost_breakdown import _system, emit  # noqa: E402

from openmm_gausslj import AnnealedLangevinIntegrator, smooth_system  # noqa: E402


def _contexts(system, positions, width: float) -> dict:
    plat = mm.Platform.getPlatformByName("CPU")
    out = {}
    for kind in ("original", "custom_fixed", "compiled_fixed", "custom_annealed",
                 "compiled_annealed"):
        engine = kind.split("_")[0]
        s = system if kind == "original" else smooth_system(system, width, engine=engine)
        if kind.endswith("annealed"):
            integ = AnnealedLangevinIntegrator(300, 1.0, 0.002, width, 0.0, 10**6, system=s,
                                               ramp_steps=0)
        else:
            integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
        ctx = mm.Context(s, integ, plat, {"Threads": "1"})
        ctx.setPositions(positions)
        ctx.setVelocitiesToTemperature(300, 1)
        if kind.endswith("annealed"):
            integ.reset(ctx)
        integ.step(3)
        out[kind] = (ctx, integ)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--system", default="AlanineDipeptideExplicit",
                    help="an openmmtools test system, or tip3p (OpenMM's data/tip3p.pdb)")
    ap.add_argument("--width", type=float, default=0.03, help="width (nm)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0, help="CPU-s per variant and round")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    system, positions = _system(args.system)
    built = _contexts(system, positions, args.width)
    times = {k: [] for k in built}
    for _ in range(args.rounds):
        for kind, (_, integ) in built.items():
            t0, n = time.process_time(), 0
            while time.process_time() - t0 < args.seconds:
                integ.step(5)
                n += 5
            times[kind].append((time.process_time() - t0) / n * 1e3)
    med = {k: float(np.median(v)) for k, v in times.items()}
    result = {
        "system": args.system, "atoms": system.getNumParticles(), "width_nm": args.width,
        "openmm": mm.__version__, "threads": 1,
        "command": "python examples/openmm_engines.py " + " ".join(sys.argv[1:]),
        "ms_per_step": med, "rounds_ms_per_step": times,
        "ratio_vs_original": {k: v / med["original"] for k, v in med.items()},
    }
    return emit(result, args.out)


if __name__ == "__main__":
    main()
