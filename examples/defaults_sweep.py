"""Which basin-hopping strategy should be the default? A held-out-style sweep at equal CPU.

For every size of ``--sizes`` and every seed of ``--seeds``, each strategy of
``--strategies`` runs :func:`ase_gausslj.optimize.globalopt.global_minimize` (the API a
user gets) until it reaches the putative global minimum of the Cambridge Cluster
Database (``results/engine/lj_global_minima.tsv``, tolerance 1e-4), or ``--max-quenches``
quenches, or ``--cpu-limit`` CPU seconds (``clock='process'``: one thread, fair on a
shared machine). Every strategy gets the same CPU cap; the count of quenches and the CPU
time to the minimum are recorded. Strategies run interleaved (size by size, seed by
seed), so they see the same machine load. Each finished run is appended to the JSON
(``--output``, written atomically after every run, so nothing is lost on Ctrl-C), and
``--resume`` skips the runs the file already holds.

Strategies (:data:`STRATEGIES`; every other option is the library default of the
checkout that runs):

* ``bh``: plain basin hopping, quenches to max|g| 1e-5;
* ``bh-loose``: plain BH, quenches to 1e-3 (new bests polished to 1e-5);
* ``smoothed-bh``: every quench two-phase (width 0.3 sigma, then 0; the pre-issue-18 CLI
  default), tight quenches;
* ``smoothed-p0.2``/``deep``: loose quenches, a smoothed quench with probability 0.2 / 0.05.

Example (what results/defaults/sweep.json holds)::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/defaults_sweep.py \\
        --sizes 13 26 27 28 29 30 31 38 45 46 47 48 49 50 51 52 53 54 55 \\
        --seeds 0 1 2 3 --cpu-limit 4 --output results/defaults/sweep.json
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ase_gausslj.io import check_writable, write_json
from ase_gausslj.optimize.globalopt import global_minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from size_sweep import load_minima  # noqa: E402  (the one reader of the minima table)

TOL = 1e-4

STRATEGIES: dict[str, dict] = {
    "bh": {"method": "bh", "gtol": 1e-5},
    "bh-loose": {"method": "bh", "gtol": 1e-3},
    "smoothed-bh": {"method": "smoothed-bh", "widths": (0.3,), "p_smooth": 1.0, "gtol": 1e-5},
    "smoothed-p0.2": {"method": "smoothed-bh", "widths": (0.3,), "p_smooth": 0.2,
                      "gtol": 1e-3},
    "deep": {"method": "smoothed-bh", "widths": (0.3,), "p_smooth": 0.05, "gtol": 1e-3},
}


def one_run(n: int, seed: int, strategy: str, target: float, cpu_limit: float,
            max_quenches: int) -> dict:
    """One search of ``strategy`` on LJ_n; the row the JSON stores."""
    t0 = time.process_time()
    res = global_minimize(n, seed=seed, clock="process", time_limit=cpu_limit,
                          max_minimizations=max_quenches, target_energy=target,
                          target_tol=TOL, **STRATEGIES[strategy])
    cpu = time.process_time() - t0
    hit = res.time_to_energy(target, TOL)
    return {"n": n, "seed": seed, "strategy": strategy, "energy": res.energy,
            "reached": hit is not None, "cpu_to_gm": hit, "cpu_total": cpu,
            "quenches": res.n_minimizations, "restarts": res.n_restarts,
            "stop_reason": res.stop_reason}


def summarize(rows: list[dict], cpu_limit: float) -> dict:
    """Per strategy and size: success fraction and median CPU-s to the minimum.

    A miss counts as infinite time, so the median is finite only when at least half of
    the seeds reached the minimum (then it is the median over all seeds).
    """
    out: dict = {}
    for r in rows:
        out.setdefault(r["strategy"], {}).setdefault(str(r["n"]), []).append(r)
    summary = {}
    for strat, by_n in out.items():
        per_n = {}
        all_t = []
        for n, rs in sorted(by_n.items(), key=lambda kv: int(kv[0])):
            t = [r["cpu_to_gm"] if r["reached"] else math.inf for r in rs]
            all_t += t
            med = float(np.median(t))
            per_n[n] = {"success": sum(r["reached"] for r in rs) / len(rs),
                        "median_cpu_to_gm": med if math.isfinite(med) else None,
                        "runs": len(rs)}
        med = float(np.median(all_t))
        # a miss costs the whole cap: the mean CPU to solve-or-give-up, a fair total
        spent = [min(t, cpu_limit) for t in all_t]
        summary[strat] = {"per_size": per_n,
                          "success": float(np.mean([math.isfinite(t) for t in all_t])),
                          "median_cpu_to_gm": med if math.isfinite(med) else None,
                          "mean_cpu_capped": float(np.mean(spent))}
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+",
                   default=[13, 26, 27, 28, 29, 30, 31, 38, 45, 46, 47, 48, 49, 50, 51, 52,
                            53, 54, 55])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    p.add_argument("--strategies", nargs="+", choices=list(STRATEGIES),
                   default=list(STRATEGIES))
    p.add_argument("--cpu-limit", type=float, default=4.0, help="CPU-s cap per run")
    p.add_argument("--max-quenches", type=int, default=100_000)
    p.add_argument("--output", required=True, help="JSON file (written after every run)")
    p.add_argument("--resume", action="store_true", help="skip runs the output holds")
    args = p.parse_args(argv)
    out = check_writable(args.output, "--output")
    minima = load_minima()
    rows: list[dict] = []
    if args.resume and out.exists():
        import json

        rows = json.loads(out.read_text())["runs"]
    done = {(r["n"], r["seed"], r["strategy"]) for r in rows}
    for name in args.strategies:  # compile outside the timings
        global_minimize(13, seed=99, max_minimizations=3, **STRATEGIES[name])
    meta = {"command": "python " + " ".join(sys.argv), "cpu_limit": args.cpu_limit,
            "max_quenches": args.max_quenches, "strategies": STRATEGIES,
            "host": platform.node(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    for n in args.sizes:
        for seed in args.seeds:
            for name in args.strategies:
                if (n, seed, name) in done:
                    continue
                row = one_run(n, seed, name, minima[n], args.cpu_limit, args.max_quenches)
                rows.append(row)
                write_json(out, {**meta, "runs": rows,
                                 "summary": summarize(rows, args.cpu_limit)})
                print(f"N={n} seed={seed} {name}: reached={row['reached']} "
                      f"cpu_to_gm={row['cpu_to_gm']} quenches={row['quenches']}",
                      file=sys.stderr, flush=True)
    for name, s in summarize(rows, args.cpu_limit).items():
        print(f"{name:14s} success {s['success']:.2f}  median CPU-s {s['median_cpu_to_gm']}"
              f"  mean capped {s['mean_cpu_capped']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
