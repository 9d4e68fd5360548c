#!/usr/bin/env python
"""Quickstart: anneal an argon cluster in OpenMM with the smoothed LJ, then quench.

An LJ_N argon cluster (sigma 0.34 nm, epsilon 0.996 kJ/mol, OpenMM units) starts from a
random compact configuration. For each seed it is (a) quenched directly with
``LocalEnergyMinimizer``, (b) run with the same Langevin dynamics at width 0 (the
unsmoothed baseline) and quenched, and (c) annealed with
:class:`AnnealedLangevinIntegrator` (the width goes from ``--width-start`` sigma to 0 on
the device, one update per step) and quenched. Energies are printed in units of
epsilon next to the known global minimum (Cambridge Cluster Database).

    python examples/openmm_quickstart.py --n 13 --seeds 3
    python examples/openmm_quickstart.py --n 38 --steps 40000 --platform CPU
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

from openmm_gausslj import (  # noqa: E402
    WIDTH_PARAMETER,
    AnnealedLangevinIntegrator,
    smoothed_lj_force,
)

SIGMA = 0.34 * unit.nanometer
EPSILON = 0.996 * unit.kilojoule_per_mole
MASS = 39.948 * unit.amu
from ase_gausslj.optimize.globalopt import LJ_GLOBAL_MINIMA as GLOBAL_MINIMA  # noqa: E402


def make_system(n: int) -> mm.System:
    system = mm.System()
    for _ in range(n):
        system.addParticle(MASS)
    system.addForce(smoothed_lj_force([SIGMA] * n, [EPSILON] * n))  # NoCutoff, width 0
    return system


def random_cluster(n: int, rng) -> np.ndarray:
    """Uniform in a sphere at ~liquid density, no pair closer than 0.9 sigma (nm)."""
    s = SIGMA.value_in_unit(unit.nanometer)
    radius = s * (n / 0.9) ** (1 / 3) * 0.62
    pos: list[np.ndarray] = []
    while len(pos) < n:
        p = rng.uniform(-radius, radius, 3)
        if np.linalg.norm(p) <= radius and all(np.linalg.norm(p - q) > 0.9 * s for q in pos):
            pos.append(p)
    return np.array(pos)


def quench(context: mm.Context) -> float:
    context.setParameter(WIDTH_PARAMETER, 0.0)
    mm.LocalEnergyMinimizer.minimize(context, 1e-3, 0)
    e = context.getState(getEnergy=True).getPotentialEnergy()
    return e / EPSILON


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=13)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20000, help="annealing steps")
    ap.add_argument("--width-start", type=float, default=0.03, help="in units of sigma")
    ap.add_argument("--temperature", type=float, default=10.0, help="kelvin")
    ap.add_argument("--platform", default="CPU")
    args = ap.parse_args(argv)
    system = make_system(args.n)
    platform = mm.Platform.getPlatformByName(args.platform)
    # one CPU thread: reproducible trajectories (multithreaded sums change the rounding)
    props = {"Threads": "1"} if args.platform == "CPU" else {}
    w0 = args.width_start * SIGMA
    rows = []
    for seed in range(args.seeds):
        start = random_cluster(args.n, np.random.default_rng(seed))
        plain_ctx = mm.Context(system, mm.VerletIntegrator(0.001), platform, props)
        plain_ctx.setPositions(start)
        e_plain = quench(plain_ctx)

        res = {"seed": seed, "plain_quench": e_plain}
        for label, width in (("langevin_w0", 0.0), ("annealed", w0)):
            integrator = AnnealedLangevinIntegrator(
                args.temperature * unit.kelvin, 2.0 / unit.picosecond, 5.0 * unit.femtosecond,
                width, 0.0, args.steps, system=system,
            )
            ctx = mm.Context(system, integrator, platform, props)
            ctx.setPositions(start)
            ctx.setVelocitiesToTemperature(args.temperature * unit.kelvin, seed)
            integrator.reset(ctx)
            t0 = time.perf_counter()
            integrator.step(args.steps)
            res[f"{label}_seconds"] = time.perf_counter() - t0
            assert ctx.getParameter(WIDTH_PARAMETER) == 0.0
            res[f"{label}_quench"] = quench(ctx)
        rows.append(res)
        print(f"seed {seed}: quench {e_plain:9.4f} | Langevin w=0 + quench "
              f"{res['langevin_w0_quench']:9.4f} | annealed + quench "
              f"{res['annealed_quench']:9.4f}  (eps; {args.steps} steps in "
              f"{res['annealed_seconds']:.1f} s)")
    ref = GLOBAL_MINIMA.get(args.n)
    for key in ("plain_quench", "langevin_w0_quench", "annealed_quench"):
        vals = [r[key] for r in rows]
        hits = sum(ref is not None and v < ref + 1e-3 for v in vals)
        print(f"{key:20s} best {min(vals):10.4f} eps, global minimum found {hits}/{len(rows)}")
    print(f"known global minimum {ref if ref is not None else 'n/a'} eps (LJ{args.n})")
    out = {"n": args.n, "runs": rows, "global_minimum": ref}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
