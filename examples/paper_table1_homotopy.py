"""Reproduce Table 1 of Ram & Ram (2025): Adam vs Gaussian-homotopy Adam on LJ clusters.

Random N(0, 1) starts, N = 100, 250, 500, 5 runs each (seeds 0-4). Methods:

* ``adam``: plain Adam, the paper's baseline (lr 0.1, /10 after a 1000-step plateau,
  10,000 steps, best configuration kept).
* ``homotopy-paper``: the paper's homotopy exactly (width 1.0, x0.95 when the gradient
  norm < 1e-5, floor 0.025, then width 0; one shared budget of 10,000 steps).
* ``homotopy-budget``: same Adam and widths, each of the 73 widths gets an equal share of
  the 10,000 steps (the comparison the paper intends; the trigger rarely fires).
* ``lbfgs``: plain L-BFGS to convergence (the package's default minimizer).
* ``homotopy-lbfgs``: :func:`homotopy_minimize` defaults (L-BFGS at each width).
* ``homotopy-1000/width`` (opt-in): 1,000 Adam steps at every width (7.3x the budget).

Results are appended to a JSON file after every run (rerunning resumes), and a markdown
table is printed next to the paper's numbers.

Usage::

    OPENBLAS_NUM_THREADS=1 python examples/paper_table1_homotopy.py --quick
    OPENBLAS_NUM_THREADS=1 python examples/paper_table1_homotopy.py --sizes 100
    OPENBLAS_NUM_THREADS=1 python examples/paper_table1_homotopy.py  # all sizes
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy/scipy load

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from ase_gausslj.io import scratch_path  # noqa: E402
from ase_gausslj.optimize.homotopy import homotopy_minimize  # noqa: E402

# paper Table 1 (median, min) and global minima (design.md)
PAPER = {
    100: {"adam": (-526.9, -530.4), "homotopy": (-534.7, -541.8), "global": -557.0},
    250: {"adam": (-1482.2, -1498.1), "homotopy": (-1501.4, -1544.2), "global": -1579.8},
    500: {"adam": (-3170.2, -3190.6), "homotopy": (-3205.0, -3262.6), "global": -3382.7},
}
METHODS = {
    "adam": {"protocol": "paper", "widths": [0.0]},
    "homotopy-paper": {"protocol": "paper"},
    "homotopy-budget": {"protocol": "budget"},
    "lbfgs": {"widths": [0.0]},
    "homotopy-lbfgs": {},
    # not run by default: 1,000 Adam steps at each of the 73 widths (7.3x the budget)
    "homotopy-1000/width": {"protocol": "budget", "max_steps": 73_000},
}
DEFAULT_METHODS = ["adam", "homotopy-paper", "homotopy-budget", "lbfgs", "homotopy-lbfgs"]
PAPER_ROW = {"adam": "adam", "homotopy-paper": "homotopy", "homotopy-budget": "homotopy"}


def run_one(n: int, method: str, seed: int, max_steps: int | None) -> dict:
    kw = dict(METHODS[method])
    if max_steps is not None and kw.get("protocol") in ("paper", "budget") and (
            "max_steps" not in kw):
        kw["max_steps"] = max_steps
    res = homotopy_minimize(n, seed=seed, **kw)
    d = res.to_dict()
    d.pop("history")
    d.update(n=n, method=method, widths=[h.width for h in res.history],
             triggers_fired=sum(h.converged for h in res.history[:-1]),
             first_stage_grad_norm=res.history[0].grad_norm)
    return d


def table(results: list[dict]) -> str:
    lines = ["| N | method | runs | median | min | paper median / min | global min "
             "| widths visited (median) | steps (median) | s/run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for n in sorted({r["n"] for r in results}):
        for m in METHODS:
            rs = [r for r in results if r["n"] == n and r["method"] == m]
            if not rs:
                continue
            e = np.array([r["energy"] for r in rs])
            ref = PAPER.get(n, {}).get(PAPER_ROW.get(m, ""), None)
            ref_s = f"{ref[0]} / {ref[1]}" if ref else "-"
            glob = PAPER.get(n, {}).get("global", float("nan"))
            lines.append(
                f"| {n} | {m} | {len(rs)} | {np.median(e):.1f} | {e.min():.1f} | {ref_s} | "
                f"{glob} | {np.median([r['widths_visited'] for r in rs]):.0f} | "
                f"{np.median([r['n_steps'] for r in rs]):.0f} | "
                f"{np.mean([r['wall_time'] for r in rs]):.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 250, 500])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--methods", nargs="+", default=DEFAULT_METHODS, choices=list(METHODS))
    ap.add_argument("--max-steps", type=int, default=None,
                    help="Adam step budget (default the paper's 10,000)")
    ap.add_argument("--quick", action="store_true",
                    help="N=100, 2 runs (full 10,000-step protocol): a first look in ~2 min")
    ap.add_argument("--out", default=None,
                    help="JSON results, resumed (default gausslj-results/table1_results.json, "
                         "or table1_quick.json with --quick)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = [100], 2
    if args.out is None:
        args.out = scratch_path("table1_quick.json" if args.quick else "table1_results.json")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.exists() else []
    done = {(r["n"], r["method"], r["seed"], r.get("max_steps")) for r in results}
    jobs = [(n, m, s) for n in args.sizes for s in range(args.runs) for m in args.methods
            if (n, m, s, args.max_steps) not in done]
    t0 = time.perf_counter()
    for n, m, s in tqdm(jobs, desc="table 1"):
        d = run_one(n, m, s, args.max_steps)
        d["max_steps"] = args.max_steps
        results.append(d)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(out)
    sel = [r for r in results if r["n"] in args.sizes and r["method"] in args.methods
           and r.get("max_steps") == args.max_steps and r["seed"] < args.runs]
    print(f"\n{len(jobs)} new runs in {time.perf_counter() - t0:.0f} s; results in {out}"
          + (f" (Adam budget {args.max_steps} steps)" if args.max_steps else ""))
    print(table(sel))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
