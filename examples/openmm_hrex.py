#!/usr/bin/env python
"""Hamiltonian replica exchange over smoothing widths with openmmtools.

One replica per width (default 0, 0.01, 0.02, 0.04 nm) of a smoothed force-field System;
``GaussLJState`` composes with openmmtools' ``ThermodynamicState`` through
``CompoundThermodynamicState``, and ``ReplicaExchangeSampler`` swaps neighbouring widths.
Reports the acceptance of neighbour swaps (accepted / proposed, summed over iterations).

Needs the optional extra ``gausslj[openmmtools]``.

Examples
--------
    python examples/openmm_hrex.py --iterations 50                 # implicit solvent, ~1 min
    python examples/openmm_hrex.py --system explicit --iterations 5 --output hrex.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import openmm as mm
import openmm.unit as unit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ase_gausslj.io import check_writable, write_json  # noqa: E402
from openmm_gausslj import GaussLJState, smooth_system  # noqa: E402

SYSTEMS = {"implicit": "AlanineDipeptideImplicit", "explicit": "AlanineDipeptideExplicit",
           "vacuum": "AlanineDipeptideVacuum"}


def run_hrex(system_name: str, widths, iterations: int, steps: int, seed: int,
             platform: str = "CPU") -> dict:
    """Run HREX and return neighbour acceptance and timings."""
    from openmmtools import cache, mcmc, multistate, states, testsystems

    t = getattr(testsystems, SYSTEMS[system_name])()
    smoothed = smooth_system(t.system, 0.0, positions=t.positions)
    temperature = 300 * unit.kelvin
    base = states.ThermodynamicState(smoothed, temperature)
    thermo = [states.CompoundThermodynamicState(base, [GaussLJState(w)]) for w in widths]
    move = mcmc.LangevinDynamicsMove(timestep=2.0 * unit.femtosecond,
                                     collision_rate=1.0 / unit.picosecond, n_steps=steps)
    sampler = multistate.ReplicaExchangeSampler(mcmc_moves=move,
                                                replica_mixing_scheme="swap-neighbors",
                                                number_of_iterations=iterations)
    props = {"Threads": "1"} if platform == "CPU" else {}
    sampler.energy_context_cache = cache.ContextCache(
        platform=mm.Platform.getPlatformByName(platform), platform_properties=props)
    sampler.sampler_context_cache = cache.ContextCache(
        platform=mm.Platform.getPlatformByName(platform), platform_properties=props)
    n = len(widths)
    accepted, proposed = np.zeros((n, n)), np.zeros((n, n))
    with tempfile.TemporaryDirectory() as tmp:
        reporter = multistate.MultiStateReporter(os.path.join(tmp, "hrex.nc"),
                                                 checkpoint_interval=iterations)
        np.random.seed(seed)  # noqa: NPY002 (openmmtools draws swaps from the global generator)
        box = t.system.getDefaultPeriodicBoxVectors()
        sampler.create(thermo, states.SamplerState(t.positions, box_vectors=box), reporter)
        start = time.perf_counter()
        for _ in range(iterations):
            sampler.extend(1)
            accepted += sampler._n_accepted_matrix  # reset by openmmtools every iteration
            proposed += sampler._n_proposed_matrix
        elapsed = time.perf_counter() - start
        reporter.close()
    pairs = []
    for i in range(n - 1):
        a = accepted[i, i + 1] + accepted[i + 1, i]
        p = proposed[i, i + 1] + proposed[i + 1, i]
        pairs.append({"widths_nm": [widths[i], widths[i + 1]], "accepted": int(a),
                      "proposed": int(p), "acceptance": float(a / p) if p else None})
    return {"system": SYSTEMS[system_name], "atoms": smoothed.getNumParticles(),
            "widths_nm": list(widths), "iterations": iterations, "steps_per_iteration": steps,
            "platform": platform, "seconds": round(elapsed, 2), "neighbours": pairs}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--system", choices=sorted(SYSTEMS), default="implicit")
    ap.add_argument("--widths", type=float, nargs="+", default=[0.0, 0.01, 0.02, 0.04])
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--steps", type=int, default=50, help="MD steps per iteration")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--platform", default="CPU")
    ap.add_argument("--output", default=None, help="JSON output path")
    args = ap.parse_args(argv)
    if args.iterations < 1 or args.steps < 1:
        ap.error("--iterations and --steps must be >= 1")
    if sorted(args.widths) != args.widths or len(args.widths) < 2 or min(args.widths) < 0:
        ap.error("--widths must be at least two increasing widths >= 0 (nm)")
    if args.output:
        check_writable(args.output, "--output")
    out = run_hrex(args.system, args.widths, args.iterations, args.steps, args.seed,
                   args.platform)
    for p in out["neighbours"]:
        print(f"widths {p['widths_nm'][0]:.3f} <-> {p['widths_nm'][1]:.3f} nm: "
              f"acceptance {p['acceptance']:.2f} ({p['accepted']}/{p['proposed']})")
    if args.output:
        write_json(args.output, out)
    return out


if __name__ == "__main__":
    main()
