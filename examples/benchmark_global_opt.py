"""Benchmark: basin hopping with and without smoothing, at equal budget and equal seeds.

For each cluster size, method and seed this runs one search with the same time budget
(and the same seed) and stores the best energy, the best-energy-vs-time trace and the
time to the known global minimum in a JSON file, which is written after every run and
read back on start: an interrupted benchmark resumes where it stopped (a run in progress
resumes from its own state file). Then it prints a markdown table and can plot best
energy vs time.

Methods: ``bh``, ``smoothed-bh``, ``homotopy`` (ase_gausslj.optimize.globalopt) and ``scipy-bh``,
:func:`scipy.optimize.basinhopping` with L-BFGS-B on the same plain-LJ kernel (the outside
anchor; no evaporation guard, no restarts, its own adaptive step size).

By default the budget is measured in CPU seconds of the (single-threaded) worker process
(``--clock process``), so that runs on a shared machine get equal compute; use
``--clock wall`` on a dedicated machine.

Examples
--------
Small run (what docs/globalopt.md reports)::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/benchmark_global_opt.py \\
        --sizes 38 --methods bh smoothed-bh scipy-bh --seeds 0 1 2 3 4 --time-limit 60 \\
        --out results/global_opt.json

Table and plot only, from saved results::

    python examples/benchmark_global_opt.py --out results/global_opt.json --report \\
        --plot results/global_opt.png
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from ase_gausslj.io import scratch_path  # noqa: E402
from ase_gausslj.optimize.clusters import LJ_GLOBAL_MINIMA as GLOBAL_MINIMA  # noqa: E402

EXACT_GM = {13, 38, 55, 75, 100, 150}  # Cambridge Cluster Database values (6 decimals)
DEFAULT_BUDGET = {38: 60.0, 75: 120.0, 100: 120.0, 250: 300.0, 500: 600.0}
METHOD_NAMES = ("bh", "smoothed-bh", "homotopy", "scipy-bh")


def _key(n: int, method: str, seed: int) -> str:
    return f"{n}/{method}/{seed}"


def _load(path: str) -> dict:
    if os.path.exists(path):
        with open(path) as fh:
            return json.load(fh)
    return {"runs": {}}


def _save(path: str, data: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)


def run_scipy_bh(n: int, seed: int, budget: float, target: float | None, clock: str,
                 temperature: float, step: float) -> dict:
    """``scipy.optimize.basinhopping`` with L-BFGS-B on the plain LJ (same kernel)."""
    from scipy.optimize import basinhopping

    from ase_gausslj.core.energy import SmoothedLJ
    from ase_gausslj.optimize.clusters import random_cluster
    from ase_gausslj.optimize.local import LBFGS_OPTIONS

    clk = time.perf_counter if clock == "wall" else time.process_time
    eg = SmoothedLJ().energy_gradient
    rng = np.random.default_rng(seed)
    x0 = random_cluster(n, rng).ravel()
    t0 = clk()
    trace: list[list[float]] = []
    count = [0]
    best = [math.inf]
    out: dict = {}

    def fun(x):
        e, g = eg(x, 0.0)
        return float(e), g

    def callback(x, f, accept):
        count[0] += 1
        if f < best[0] - 1e-7:
            best[0] = float(f)
            out["x"] = np.array(x, copy=True)
            trace.append([clk() - t0, count[0], float(f)])
        if target is not None and best[0] <= target + 1e-4:
            out["stop"] = "target"
            return True
        if clk() - t0 >= budget:
            out["stop"] = "time_limit"
            return True
        return False

    basinhopping(
        fun, x0, niter=10**9, T=temperature, stepsize=step, seed=seed, callback=callback,
        minimizer_kwargs={"method": "L-BFGS-B", "jac": True,
                          "options": {"gtol": 1e-5, "maxiter": 2000, **LBFGS_OPTIONS}},
    )
    return {
        "energy": best[0],
        "elapsed": clk() - t0,
        "n_minimizations": count[0],
        "n_restarts": 0,
        "trace": trace,
        "stop_reason": out.get("stop", "time_limit"),
        "positions": out["x"].reshape(-1, 3).tolist() if "x" in out else None,
    }


def run_one(n: int, method: str, seed: int, budget: float, args) -> dict:
    target = GLOBAL_MINIMA.get(n) if (args.stop_at_target and n in EXACT_GM) else None
    if method == "scipy-bh":
        return run_scipy_bh(n, seed, budget, target, args.clock, args.temperature, args.step)
    from ase_gausslj.optimize.globalopt import global_minimize

    os.makedirs(args.state_dir, exist_ok=True)
    state = os.path.join(args.state_dir, f"{n}_{method}_{seed}.json")
    res = global_minimize(
        n, method=method, time_limit=budget, seed=seed, temperature=args.temperature,
        step=args.step, widths=tuple(args.widths), target_energy=target, clock=args.clock,
        state_file=state, checkpoint_every=5.0, progress=args.progress,
    )
    d = res.to_dict()
    d.pop("runs")
    return d


def _warmup(widths) -> None:
    """Compile the kernels (width 0 and the ladder) before any timed run."""
    from ase_gausslj.core.energy import SmoothedLJ

    eg = SmoothedLJ().energy_gradient
    x = np.random.default_rng(0).normal(size=3 * 13)
    for w in (0.0, *widths):
        eg(x, w)


def summarize(data: dict) -> list[dict]:
    """One row per (size, method): best / median gap, hits, time to the GM."""
    groups: dict = {}
    for key, run in data["runs"].items():
        n, method, _seed = key.split("/")
        groups.setdefault((int(n), method), []).append(run)
    rows = []
    for (n, method), runs in sorted(groups.items(), key=lambda kv: (kv[0][0],
                                    METHOD_NAMES.index(kv[0][1]))):
        gm = GLOBAL_MINIMA[n]
        gaps = np.array([r["energy"] - gm for r in runs])
        hits = [r for r in runs if r["energy"] <= gm + 1e-4] if n in EXACT_GM else []
        tt = [_time_to(r["trace"], gm) for r in hits]
        rows.append({
            "n": n, "method": method, "seeds": len(runs), "budget": runs[0]["budget"],
            "best_gap": float(gaps.min()), "median_gap": float(np.median(gaps)),
            "hits": len(hits) if n in EXACT_GM else None,
            "median_time_to_gm": float(np.median(tt)) if tt else None,
            "times_to_gm": tt,
            "mean_quenches": float(np.mean([r["n_minimizations"] for r in runs])),
        })
    return rows


def _time_to(trace, gm):
    for t, _n, e in trace:
        if e <= gm + 1e-4:
            return float(t)
    return None


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| N | method | seeds | budget (s) | best gap | median gap | GM hits | "
        "median time to GM (s) | quenches / run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        hits = "-" if r["hits"] is None else f"{r['hits']}/{r['seeds']}"
        tt = "-" if r["median_time_to_gm"] is None else f"{r['median_time_to_gm']:.1f}"
        lines.append(
            f"| {r['n']} | {r['method']} | {r['seeds']} | {r['budget']:g} | "
            f"{r['best_gap']:.4f} | {r['median_gap']:.4f} | {hits} | {tt} | "
            f"{r['mean_quenches']:.0f} |"
        )
    return "\n".join(lines)


def plot(data: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({int(k.split("/")[0]) for k in data["runs"]})
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4), squeeze=False)
    colors = {"bh": "C0", "smoothed-bh": "C1", "homotopy": "C2", "scipy-bh": "C3"}
    for ax, n in zip(axes[0], sizes, strict=True):
        gm = GLOBAL_MINIMA[n]
        for key, run in sorted(data["runs"].items()):
            kn, method, _ = key.split("/")
            if int(kn) != n or not run["trace"]:
                continue
            tr = np.asarray(run["trace"])
            t = np.append(tr[:, 0], run["elapsed"])
            gap = np.append(tr[:, 2], tr[-1, 2]) - gm
            ax.step(t, np.maximum(gap, 1e-3), where="post", color=colors[method], alpha=0.7,
                    label=method)
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles, strict=True))
        ax.legend(uniq.values(), uniq.keys())
        ax.set_yscale("log")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("best E - E_GM (floored at 1e-3)")
        ax.set_title(f"LJ{n}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[38, 75, 100, 250, 500])
    p.add_argument("--methods", nargs="+", default=["bh", "smoothed-bh", "scipy-bh"],
                   choices=METHOD_NAMES)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds per run, a cap (default: 60/120/120/300/600 by size)")
    p.add_argument("--clock", choices=("wall", "process"), default="process")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--step", type=float, default=0.4)
    p.add_argument("--widths", type=float, nargs="+", default=None,
                   help="smoothed-bh ladder (default: ase_gausslj.defaults.GLOBAL_OPT.widths)")
    p.add_argument("--no-stop-at-target", dest="stop_at_target", action="store_false",
                   help="keep running after the known global minimum is found")
    p.add_argument("--out", default=scratch_path("global_opt.json"),
                   help="JSON (resumed; default %(default)s, untracked)")
    p.add_argument("--state-dir", default=None, help="per-run state files (resume)")
    p.add_argument("--report", action="store_true", help="only print the table")
    p.add_argument("--merge", nargs="+", default=[],
                   help="more result files to include in the table and plot")
    p.add_argument("--plot", default=None, help="save a best-energy-vs-time plot here")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    if args.widths is None:
        from ase_gausslj.defaults import GLOBAL_OPT

        args.widths = list(GLOBAL_OPT.widths)
    if args.state_dir is None:
        args.state_dir = os.path.splitext(args.out)[0] + "_states"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    data = _load(args.out)

    if not args.report:
        from tqdm.auto import tqdm

        _warmup(args.widths)
        jobs = [(n, m, s) for n in args.sizes for s in args.seeds for m in args.methods]
        todo = [j for j in jobs if _key(*j) not in data["runs"]]
        print(f"{len(jobs) - len(todo)} of {len(jobs)} runs already in {args.out}",
              file=sys.stderr)
        for n, method, seed in tqdm(todo, desc="runs"):
            budget = args.time_limit if args.time_limit is not None else DEFAULT_BUDGET.get(n, 60.0)
            run = run_one(n, method, seed, budget, args)
            run.update(n=n, method=method, seed=seed, budget=budget, clock=args.clock,
                       widths=args.widths if method == "smoothed-bh" else None,
                       temperature=args.temperature, step=args.step)
            data["runs"][_key(n, method, seed)] = run
            _save(args.out, data)
            tqdm.write(f"N={n} {method} seed={seed}: E={run['energy']:.6f} "
                       f"gap={run['energy'] - GLOBAL_MINIMA[n]:.4f} "
                       f"({run['n_minimizations']} quenches, {run['elapsed']:.1f} s, "
                       f"{run['stop_reason']})")
    merged = {"runs": dict(data["runs"])}
    for extra in args.merge:
        merged["runs"].update(_load(extra)["runs"])
    rows = summarize(merged)
    print(markdown_table(rows))
    if args.plot:
        plot(merged, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
