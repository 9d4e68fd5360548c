#!/usr/bin/env python
"""CPU step time of one solvated System smoothed with different table grids, one run.

Each ``NAME=JSON`` argument builds ``smooth_system(system, width, grid=TableGrid(r_core=0.6,
**JSON))``; all are timed interleaved with the original System (process CPU time, one
thread, ``--rounds`` x ``--seconds``, median). Issue 21: the reach/series/grid of the table
is speed-neutral within the noise of a loaded machine. Example::

    python examples/benchmark_openmm_grids.py --system AlanineDipeptideExplicit --width 0.03 \\
        'old={"nz":560,"np_":140,"k_reach":16,"terms6":8,"terms12":10,"k_scale":2.0}' 'new={}'
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import openmm as mm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None) -> dict:
    from openmm_cost_breakdown import _system, emit, interleaved_step_times

    from openmm_gausslj import smooth_system
    from openmm_gausslj.forces.table import TableGrid

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("grids", nargs="+", help="NAME=JSON keyword arguments of TableGrid")
    ap.add_argument("--system", default="AlanineDipeptideExplicit")
    ap.add_argument("--width", type=float, default=0.03)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per variant/round")
    ap.add_argument("--out", default=None, help="JSON output path")
    args = ap.parse_args(argv)
    grids = dict(a.split("=", 1) for a in args.grids)
    system, pos = _system(args.system)
    systems = {"original": system}
    for name, kw in grids.items():
        systems[name] = smooth_system(system, args.width, engine="custom",
                                      grid=TableGrid(r_core=0.6, **json.loads(kw)))
    times, _ = interleaved_step_times(systems, pos, args.rounds, args.seconds)
    ref = float(np.median(times["original"]))
    result = {"system": args.system, "width_nm": args.width, "openmm": mm.__version__,
              "command": "python examples/benchmark_openmm_grids.py " + " ".join(
                  f"'{a}'" if "=" in a else a for a in (sys.argv[1:] if argv is None else argv)),
              "variants": {k: {"grid": grids.get(k), "ms_per_step": float(np.median(v)),
                               "ratio_vs_original": float(np.median(v)) / ref, "rounds_ms": v}
                           for k, v in times.items()}}
    return emit(result, args.out)


if __name__ == "__main__":
    main()
