"""Benchmarks of the ASE layer (timings measured in one run, same machine state).

1. ``GaussianLJ`` energy+forces against ASE's ``LennardJones`` on a 500-atom cluster,
   all pairs (``LennardJones`` with ``rc`` beyond the cluster diameter).
2. The cost of one ``homotopy_minimize`` energy+gradient evaluation at ``width > 0``,
   with the width changed on every call (as in a 73-width homotopy), relative to a
   plain-LJ evaluation (``width = 0``, analytic) of the same configuration.

Usage::

    OPENBLAS_NUM_THREADS=1 python examples/benchmark_ase.py [--n 500] [--json out.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.calculators.lj import LennardJones  # noqa: E402

from ase_gausslj.adapters.calculator import GaussianLJ  # noqa: E402
from ase_gausslj.core.energy import SmoothedLJ  # noqa: E402
from ase_gausslj.schedules import GeometricSchedule  # noqa: E402


def best_time(fn, repeat: int, inner: int = 1) -> float:
    """Smallest mean time of ``inner`` calls over ``repeat`` trials (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t) / inner)
    return best


def cluster(n: int, seed: int = 0) -> np.ndarray:
    """A random compact cluster at liquid-like density (reduced units), min distance > 0.9."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    x = 1.12 * grid[rng.permutation(len(grid))[:n]].astype(float)
    return x + rng.uniform(-0.05, 0.05, x.shape)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    out: dict = {"n": args.n}

    x = cluster(args.n)
    atoms = Atoms(f"Ar{args.n}", positions=x)
    diam = float(np.ptp(x, axis=0).max()) * 2 + 1
    ref = atoms.copy()
    ref.calc = LennardJones(rc=diam)

    def lj_ase():
        ref.calc.reset()
        ref.get_forces()

    for w in (0.0, 0.3):
        calc = GaussianLJ(width=w)
        atoms.calc = calc
        atoms.get_forces()  # JIT + table slice

        def gauss(calc=calc):
            calc.reset()
            atoms.get_forces()

        t_g = best_time(gauss, 5, 20)
        out[f"gausslj_w{w}_ms"] = 1e3 * t_g
    t_ase = best_time(lj_ase, 3)
    out["lennardjones_ms"] = 1e3 * t_ase
    for w in (0.0, 0.3):
        out[f"speedup_w{w}"] = t_ase / (out[f"gausslj_w{w}_ms"] / 1e3)
    print(f"N={args.n} all pairs, energy+forces: LennardJones {1e3 * t_ase:.1f} ms, "
          f"GaussianLJ width 0: {out['gausslj_w0.0_ms']:.2f} ms "
          f"({out['speedup_w0.0']:.0f}x), width 0.3 sigma: {out['gausslj_w0.3_ms']:.2f} ms "
          f"({out['speedup_w0.3']:.0f}x)")

    # homotopy cost per evaluation: width changed every call vs plain LJ
    drv = SmoothedLJ()
    xf = x.ravel().copy()
    widths = list(GeometricSchedule().widths[:-1])
    drv.energy_gradient(xf, 0.0)
    for w in widths:  # first touch: table slices built (one-off per width)
        drv.energy_gradient(xf, w)
    it = iter(widths * 1000)
    t_plain = best_time(lambda: drv.energy_gradient(xf, 0.0), 5, 20)
    t_smooth = best_time(lambda: drv.energy_gradient(xf, next(it)), 5, 20)
    fresh = SmoothedLJ()
    t0 = time.perf_counter()
    for w in widths:
        fresh.energy_gradient(xf, w)
    t_first = (time.perf_counter() - t0) / len(widths)
    out.update(plain_lj_eval_ms=1e3 * t_plain, smoothed_eval_ms=1e3 * t_smooth,
               smoothed_over_plain=t_smooth / t_plain, first_eval_new_width_ms=1e3 * t_first)
    print(f"energy+gradient: plain LJ {1e3 * t_plain:.2f} ms, smoothed (width changes every "
          f"call) {1e3 * t_smooth:.2f} ms = {t_smooth / t_plain:.2f}x; first call at a new "
          f"width {1e3 * t_first:.2f} ms")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
