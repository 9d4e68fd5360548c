"""First width of a default homotopy: single starts, homotopy vs plain L-BFGS (scratch study).

For each N of argv[1] (comma-separated), starts N(0,1) ("normal") and compact random
clusters ("compact") for seeds 0..argv[4]-1, this runs ``homotopy_minimize`` with
``GeometricSchedule(w0, f, 0.025)`` for every first width w0 of argv[2] and factor f of
argv[3] (``compare_plain`` as the checkout's default at the time: not present), and plain
L-BFGS from the same start; prints the mean and worst energy difference to plain and how
many runs ended in more than one fragment (2.5 sigma).

Usage (what results/defaults/homotopy_start_width.log holds)::

    python examples/homotopy_start_width.py 13,38 0.1,0.15,0.2,0.3 0.95,0.8,0.6 6
    python examples/homotopy_start_width.py 13,38 0.3,0.5,1.0 0.8 10
    python examples/homotopy_start_width.py 100 0.2,0.3,0.4 0.8 8
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ase_gausslj.optimize.clusters import random_cluster
from ase_gausslj.optimize.dispersal import _components
from ase_gausslj.optimize.homotopy import homotopy_minimize
from ase_gausslj.schedules import GeometricSchedule


def main() -> None:
    sizes = [int(a) for a in sys.argv[1].split(",")]
    firsts = [float(a) for a in sys.argv[2].split(",")]
    factors = [float(a) for a in sys.argv[3].split(",")]
    n_seeds = int(sys.argv[4])
    configs = {"plain": [0.0]}
    for w0 in firsts:
        for f in factors:
            configs[f"{w0}/{f}"] = GeometricSchedule(w0, f, 0.025)
    out: dict = {}
    for n in sizes:
        for start in ("normal", "compact"):
            for s in range(n_seeds):
                rng = np.random.default_rng(s)
                x0 = rng.standard_normal((n, 3)) if start == "normal" else random_cluster(n, rng)
                for name, w in configs.items():
                    t = time.process_time()
                    r = homotopy_minimize(x0, widths=w, compare_plain=False)
                    t = time.process_time() - t
                    frags = int(np.unique(_components(r.positions, 2.5)).size)
                    out.setdefault((n, start, name), []).append((r.energy, t, frags))
        for start in ("normal", "compact"):
            base = np.array([e for e, _, _ in out[(n, start, "plain")]])
            for name in configs:
                rows = out[(n, start, name)]
                e = np.array([r[0] for r in rows])
                print(f"N={n} {start:7s} {name:9s} meanE {e.mean():9.2f} "
                      f"mean(d) {np.mean(e - base):7.2f} max(d) {np.max(e - base):7.2f} "
                      f"frag>1 {sum(r[2] > 1 for r in rows)} "
                      f"cpu {np.mean([r[1] for r in rows]):.3f}")


if __name__ == "__main__":
    main()
