"""Benchmark: compiled L-BFGS and the basin-hopping engine vs pele on LJ38 (CPU seconds).

pele (``pip install pele``, the Wales group's C++ LJ + C++ L-BFGS under a Python
basin-hopping loop) is an optional anchor: without it the pele rows are skipped with a
message. Three parts, all timed with ``time.process_time`` (one thread):

1. **per quench**: the same LJ38 starts (a local minimum displaced by U(-0.4, 0.4) per
   coordinate, as a basin-hopping step does) minimized by pele's ``lbfgs_cpp``
   (defaults: rms gradient 1e-4, memory 4, max step 0.1), by ours with the same settings
   (``norm='rms', memory=4, maxstep=0.1``), by ours with the package's defaults (max
   gradient component 1e-5 as scipy's L-BFGS-B, memory 10, max step 0.5) and by scipy's
   L-BFGS-B as ``globalopt`` calls it. Methods alternate start by start.
2. **per basin-hopping step**: ``--steps`` steps of pele's ``LJCluster(38)`` basin hopping
   (defaults, in-memory database; and without storage) and of
   :func:`ase_gausslj.optimize.globalopt.global_minimize` (the package's one engine, as a
   user calls it: ``bh`` with its defaults, and ``smoothed-bh``).
3. **time to the global minimum** (-173.928427): per seed, pele BH (defaults, with and
   without the database) and our strategies (``--strategies``, default ``bh``: the
   defaults of ``global_minimize``, loose quenches with polished bests) run one after
   another (interleaved seed by seed), each for at most ``--time-limit`` CPU seconds
   (``global_minimize(clock='process', time_limit=...)``).

Example (what results/engine/pele_compare.json holds)::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/benchmark_pele.py \\
        --seeds 0 1 2 3 4 --time-limit 20 --output results/engine/pele_compare.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from ase_gausslj.io import check_writable, scratch_path, write_json
from ase_gausslj.optimize.clusters import random_cluster
from ase_gausslj.optimize.compiled import lbfgs_minimize
from ase_gausslj.optimize.globalopt import global_minimize

LJ38_GM = -173.928427  # Cambridge Cluster Database
N = 38
TOL = 1e-4  # target tolerance on the energy


def have_pele() -> bool:
    try:
        import pele.systems  # noqa: F401
    except ImportError:
        print("pele is not installed (pip install pele): pele rows skipped", file=sys.stderr)
        return False
    return True


def cpu(fn, *args, **kwargs):
    t0 = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - t0


# ---- 1. per quench ----------------------------------------------------------------------


def quench_starts(n_starts: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    bases = [lbfgs_minimize(random_cluster(N, rng), 0.0).x for _ in range(5)]
    return [bases[k % 5] + rng.uniform(-0.4, 0.4, size=(N, 3)) for k in range(n_starts)]


def per_quench(starts, pele_ok: bool) -> dict:
    from scipy.optimize import minimize

    from ase_gausslj.core.energy import SmoothedLJ

    pot = SmoothedLJ()
    methods = {
        "ours (rms 1e-4, M 4, maxstep 0.1: pele's settings)":
            lambda x: _ours(x, gtol=1e-4, norm="rms", memory=4, maxstep=0.1),
        "ours (defaults: max|g| 1e-5, M 10, maxstep 0.5)": lambda x: _ours(x),
        "scipy L-BFGS-B (globalopt: max|g| 1e-5, M 20)":
            lambda x: _scipy(minimize, pot, x),
    }
    if pele_ok:
        from pele.optimize import lbfgs_cpp
        from pele.potentials import LJ

        lj = LJ()

        def pele_q(x):
            r = lbfgs_cpp(x.ravel(), lj)
            return r.energy, r.nfev

        methods = {"pele lbfgs_cpp (defaults: rms 1e-4, M 4, maxstep 0.1)": pele_q,
                   **methods}
    for fn in methods.values():  # compile / warm up
        fn(starts[0])
    rows = {name: {"cpu": [], "nfev": [], "energy": []} for name in methods}
    for x in starts:
        for name, fn in methods.items():
            (e, nfev), t = cpu(fn, x)
            rows[name]["cpu"].append(t)
            rows[name]["nfev"].append(int(nfev))
            rows[name]["energy"].append(float(e))
    ref = np.array(rows[next(k for k in rows if k.startswith("scipy"))]["energy"])
    out = {}
    for name, r in rows.items():
        e = np.array(r["energy"])
        out[name] = {"ms_per_quench": 1e3 * float(np.mean(r["cpu"])),
                     "median_nfev": float(np.median(r["nfev"])),
                     "mean_energy": float(np.mean(e)),
                     # different line searches land in different minima from the same
                     # start now and then: how often this one matches scipy's
                     "same_minimum_as_scipy": float(np.mean(np.abs(e - ref) < 1e-6)),
                     "us_per_evaluation": 1e6 * float(np.sum(r["cpu"]) / np.sum(r["nfev"]))}
    return out


def _ours(x, **kw):
    r = lbfgs_minimize(x, 0.0, **kw)
    return r.energy, r.n_evals


def _scipy(minimize, pot, x):
    r = minimize(lambda v: pot.energy_gradient(v, 0.0), x.ravel(), jac=True,
                 method="L-BFGS-B",
                 options={"maxiter": 2000, "gtol": 1e-5, "ftol": 1e-12, "maxcor": 20})
    return r.fun, r.nfev


# ---- 2./3. basin hopping ----------------------------------------------------------------


def pele_bh(seed: int, *, steps: int | None = None, budget: float | None = None,
            storage: bool = True, n: int = N, target: float = LJ38_GM) -> dict:
    """pele's LJCluster basin hopping (defaults); stops at ``steps``, ``budget`` or the GM."""
    from pele.systems import LJCluster

    np.random.seed(seed)  # noqa: NPY002 (pele draws from numpy's global generator)
    t0 = time.process_time()
    system = LJCluster(n)
    kw = {} if storage else {"add_minimum": lambda e, x: None}
    db = system.create_database() if storage else None
    bh = system.get_basinhopping(database=db, outstream=None, **kw)
    best, n, hit = bh.markovE, 0, None
    while True:
        if best <= target + TOL:
            hit = time.process_time() - t0
            break
        if steps is not None and n >= steps:
            break
        if budget is not None and time.process_time() - t0 >= budget:
            break
        bh.run(1)
        n += 1
        best = min(best, bh.trial_energy)
    return {"best": float(best), "steps": n, "cpu": time.process_time() - t0,
            "time_to_gm": hit}


STRATEGIES = {
    "bh": {},
    "bh-tight": {"gtol": 1e-5},
    "smoothed-bh": {"method": "smoothed-bh"},
    "deep": {"method": "smoothed-bh", "p_smooth": 0.05},
}
"""Named settings of :func:`global_minimize` compared here (see results/engine/README.md):
``bh`` its defaults (``ase_gausslj.defaults.GLOBAL_OPT``: quenches to max|g| 1e-3, new bests
polished to 1e-5), ``bh-tight`` every quench to 1e-5, ``smoothed-bh`` every quench through
width 0.3 first, ``deep`` an occasional smoothed "deep" quench (5% of the quenches)."""


def time_to(trace: np.ndarray, target: float) -> float | None:
    """First time (trace column 0) at which the best energy was ``<= target + TOL``."""
    hit = np.nonzero(trace[:, 2] <= target + TOL)[0] if len(trace) else []
    return float(trace[hit[0], 0]) if len(hit) else None


def ours_bh(seed: int, *, steps: int | None = None, budget: float | None = None,
            n: int = N, target: float = LJ38_GM, **kwargs) -> dict:
    """``global_minimize`` as a user calls it, on the process clock (CPU seconds)."""
    r = global_minimize(n, seed=seed, max_minimizations=steps, time_limit=budget,
                        clock="process", target_energy=target if steps is None else None,
                        target_tol=TOL, **kwargs)
    return {"best": r.energy, "steps": r.n_minimizations, "cpu": r.elapsed,
            "time_to_gm": time_to(r.trace, target), "restarts": r.n_restarts}


def per_step(steps: int, pele_ok: bool) -> dict:
    runs = {"ours bh (global_minimize defaults)": lambda s: ours_bh(s, steps=steps),
            "ours bh-tight (gtol 1e-5)": lambda s: ours_bh(s, steps=steps, gtol=1e-5),
            "ours smoothed-bh (0.3 -> 0)":
                lambda s: ours_bh(s, steps=steps, method="smoothed-bh")}
    if pele_ok:
        runs = {"pele bh (defaults, database)": lambda s: pele_bh(s, steps=steps),
                "pele bh (no storage)": lambda s: pele_bh(s, steps=steps, storage=False),
                **runs}
    ours_bh(99, steps=3)
    ours_bh(99, method="smoothed-bh", steps=3)  # compile
    out = {}
    for name, fn in runs.items():
        r = fn(100)
        out[name] = {"ms_per_step": 1e3 * r["cpu"] / max(r["steps"], 1), **r}
        print(f"{name}: {out[name]['ms_per_step']:.3f} ms/step", file=sys.stderr)
    return out


def time_to_gm(seeds, budget: float, pele_ok: bool, strategies=("bh", "smoothed-bh")) -> dict:
    runs = {f"ours {name}": (lambda s, kw=STRATEGIES[name]: ours_bh(s, budget=budget, **kw))
            for name in strategies}
    for name in strategies:
        ours_bh(99, steps=3, **STRATEGIES[name])  # compile outside the timings
    if pele_ok:
        runs = {"pele bh (defaults, database)": lambda s: pele_bh(s, budget=budget),
                "pele bh (no storage)": lambda s: pele_bh(s, budget=budget, storage=False),
                **runs}
    res = {name: [] for name in runs}
    for seed in seeds:  # interleaved: every method sees the same machine conditions
        for name, fn in runs.items():
            r = fn(seed)
            res[name].append({"seed": seed, **r})
            print(f"seed {seed} {name}: best {r['best']:.6f} steps {r['steps']} "
                  f"time_to_gm {r['time_to_gm']}", file=sys.stderr)
    summary = {}
    for name, rows in res.items():
        times = [r["time_to_gm"] for r in rows]
        hit = [t for t in times if t is not None]
        # a miss counts as "more than the budget": the median is defined when > half hit
        padded = sorted(t if t is not None else np.inf for t in times)
        med = padded[len(padded) // 2] if len(padded) % 2 else 0.5 * (
            padded[len(padded) // 2 - 1] + padded[len(padded) // 2])
        summary[name] = {"hits": f"{len(hit)}/{len(times)}",
                         "median_cpu_s_to_gm": None if not np.isfinite(med) else float(med),
                         "runs": rows}
    return summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--time-limit", type=float, default=30.0, help="CPU seconds per run (a cap)")
    p.add_argument("--quench-starts", type=int, default=200)
    p.add_argument("--steps", type=int, default=1000, help="BH steps for the per-step part")
    p.add_argument("--skip-gm", action="store_true", help="skip part 3")
    p.add_argument("--skip-per-step", action="store_true", help="skip parts 1 and 2")
    p.add_argument("--strategies", nargs="+", default=["bh"],
                   choices=sorted(STRATEGIES), help="our methods in part 3")
    p.add_argument("--output", default=scratch_path("engine", "pele_compare.json"),
                   help="JSON (default %(default)s, untracked)")
    args = p.parse_args(argv)
    if args.time_limit <= 0 or args.quench_starts < 1 or args.steps < 1:
        p.error("--time-limit, --quench-starts and --steps must be positive")
    check_writable(args.output, "--output", make_parent=True)
    pele_ok = have_pele()
    t_start = time.perf_counter()
    out = {
        "conditions": {
            "python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "load_average_start": os.getloadavg(),
            "clock": "time.process_time (one thread)",
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
            "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS"),
            "pele": pele_ok, "n_atoms": N, "target": LJ38_GM, "target_tol": TOL,
        },
    }
    if not args.skip_per_step:
        out["per_quench"] = per_quench(quench_starts(args.quench_starts, 1234), pele_ok)
        print(_table(out["per_quench"], "ms_per_quench", "median_nfev"), file=sys.stderr)
        out["per_step"] = per_step(args.steps, pele_ok)
        print(_table(out["per_step"], "ms_per_step", "steps"), file=sys.stderr)
        write_json(args.output, out)
    if not args.skip_gm:
        out["time_to_gm"] = time_to_gm(args.seeds, args.time_limit, pele_ok, args.strategies)
        out["conditions"]["strategies"] = {k: STRATEGIES[k] for k in args.strategies}
        out["conditions"]["budget_cpu_s"] = args.time_limit
        out["conditions"]["seeds"] = args.seeds
        for name, r in out["time_to_gm"].items():
            print(f"{name}: hits {r['hits']}, median CPU-s to GM {r['median_cpu_s_to_gm']}",
                  file=sys.stderr)
    out["conditions"]["load_average_end"] = os.getloadavg()
    out["conditions"]["wall_s"] = time.perf_counter() - t_start
    write_json(args.output, out)
    return 0


def _table(d: dict, a: str, b: str) -> str:
    lines = [f"| method | {a} | {b} |", "|---|---|---|"]
    lines += [f"| {k} | {v[a]:.3f} | {v[b]} |" for k, v in d.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
