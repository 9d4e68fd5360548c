"""Replica batches (LJ55 x 1000) at width 0 and > 0 through ``core.batch``, CPU time.

Generator of the batch rows of ``results/kernels/issue21_before_after.json`` and
``issue21_round2.json``:
``OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=<tree>
python results/kernels/batch_width_bench.py [--dispersed]`` (median of 7 interleaved
repeats, ms). Default: compact fcc clusters (no pair inside ``r_core + 0.1``);
``--dispersed``: replicas drawn from N(0, 1.5^2) per coordinate, as at the start of the
paper's SMC (most replicas then hold close contacts).
"""

import json
import sys
import time

import numpy as np

import ase_gausslj
from ase_gausslj.bench import fcc_cluster
from ase_gausslj.core.batch import batch_energy_forces
from ase_gausslj.core.energy import SmoothedLJ


def main(dispersed=False):
    if dispersed:
        pos = np.random.default_rng(0).normal(size=(1000, 55, 3)) * 1.5
        widths = (0.0, 1.0, 0.3, 0.025)
    else:
        pos = np.stack([fcc_cluster(55, seed=s) for s in range(1000)])
        widths = (0.0, 0.3, 0.05)
    model = SmoothedLJ()
    fns = {f"w{w:g}": (lambda w=w: batch_energy_forces(model, pos, w)) for w in widths}
    for fn in fns.values():
        fn()
    ts = {k: [] for k in fns}
    for _ in range(7):
        for k, fn in fns.items():
            t = time.process_time()
            fn()
            ts[k].append(1e3 * (time.process_time() - t))
    med = {k: float(np.median(v)) for k, v in ts.items()}
    med["w0.3/w0"] = med["w0.3"] / med["w0"]
    print(ase_gausslj.__file__, json.dumps(med))


if __name__ == "__main__":
    main("--dispersed" in sys.argv[1:])
