"""Size sweep: fraction of seeds reaching the LJ_N global minimum within a CPU budget.

For each size ``N`` of ``--sizes`` (default 13, 18, ..., 148: every 5th of 13-150) and
each seed, every method runs for at most ``--time-limit`` CPU seconds
(``time.process_time``, one thread) or until it reaches the putative global minimum of
the Cambridge Cluster Database (``results/engine/lj_global_minima.tsv``, tolerance 1e-4).
Methods run interleaved (size by size, seed by seed), so all see the same machine load:

* ``pele``: pele's ``LJCluster(N)`` basin hopping, defaults, no database (its faster
  configuration; skipped with a message when pele is not installed);
* ``ours <strategy>``: :func:`ase_gausslj.optimize.globalopt.global_minimize` (the one
  engine) with the settings ``benchmark_pele.STRATEGIES[strategy]`` for each name of
  ``--strategies`` (default ``bh``: the library defaults, loose quenches with polished
  bests; ``deep``: the same with one smoothed quench in 20).

Writes a JSON (``--output``) and a PNG plot (``--plot``) of the fraction reached vs N.

Example (what results/engine/size_sweep.json holds)::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/size_sweep.py \\
        --seeds 0 1 2 --time-limit 2 --output results/engine/size_sweep.json \\
        --plot results/engine/size_sweep.png
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ase_gausslj.io import check_writable, scratch_path, write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_pele import STRATEGIES, have_pele, ours_bh, pele_bh  # noqa: E402

TOL = 1e-4
MINIMA = Path(__file__).resolve().parent.parent / "results" / "engine" / "lj_global_minima.tsv"


def load_minima(path: Path = MINIMA) -> dict[int, float]:
    """``{N: E_min}`` from a two-column TSV (comment lines start with '#')."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("#") or not line.strip() or line.startswith("n_atoms"):
            continue
        n, e = line.split()[:2]
        out[int(n)] = float(e)
    return out


def ours(n: int, seed: int, target: float, time_limit: float, kwargs: dict) -> dict:
    return ours_bh(seed, n=n, target=target, budget=time_limit, **kwargs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=list(range(13, 151, 5)))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--time-limit", type=float, default=2.0, help="CPU seconds per run (a cap)")
    p.add_argument("--strategies", nargs="+", default=["bh", "deep"],
                   choices=sorted(STRATEGIES), help="our methods")
    p.add_argument("--no-pele", action="store_true", help="skip pele")
    p.add_argument("--minima", default=str(MINIMA), help="TSV of putative global minima")
    p.add_argument("--output", default=scratch_path("engine", "size_sweep.json"),
                   help="JSON (default %(default)s, untracked)")
    p.add_argument("--plot", default=scratch_path("engine", "size_sweep.png"),
                   help="figure (default %(default)s; README's is results/engine/)")
    args = p.parse_args(argv)
    if args.time_limit <= 0:
        p.error("--time-limit must be positive")
    check_writable(args.output, "--output", make_parent=True)
    check_writable(args.plot, "--plot", make_parent=True)
    minima = load_minima(Path(args.minima))
    missing = [n for n in args.sizes if n not in minima]
    if missing:
        p.error(f"--sizes: no known minimum for {missing}")
    methods = {f"ours {name}": (lambda n, s, t, kw=STRATEGIES[name]:
                                ours(n, s, t, args.time_limit, kw)) for name in args.strategies}
    if not args.no_pele and have_pele():
        methods = {"pele": lambda n, s, t: pele_bh(s, n=n, target=t, budget=args.time_limit,
                                                   storage=False), **methods}
    for fn in methods.values():
        fn(13, 99, minima[13])  # compile / import
    t0 = time.perf_counter()
    rows = []
    for n in args.sizes:
        for seed in args.seeds:
            for name, fn in methods.items():
                r = fn(n, seed, minima[n])
                rows.append({"n": n, "seed": seed, "method": name, **r})
                print(f"N={n} seed={seed} {name}: best {r['best']:.6f} "
                      f"(GM {minima[n]:.6f}) t={r['time_to_gm']}", file=sys.stderr, flush=True)
    summary = {name: {str(n): float(np.mean([r["time_to_gm"] is not None for r in rows
                                              if r["n"] == n and r["method"] == name]))
                      for n in args.sizes} for name in methods}
    out = {"conditions": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                          "load_average_end": os.getloadavg(), "budget_cpu_s": args.time_limit,
                          "seeds": args.seeds, "sizes": args.sizes, "tol": TOL,
                          "strategies": {k: STRATEGIES[k] for k in args.strategies},
                          "wall_s": time.perf_counter() - t0},
           "fraction_reached": summary, "runs": rows}
    write_json(args.output, out)
    plot(summary, args.sizes, args, Path(args.plot))
    for name, frac in summary.items():
        print(f"{name}: reached {sum(frac.values()):.2f} of {len(frac)} sizes (mean fraction "
              f"{np.mean(list(frac.values())):.2f})", file=sys.stderr)
    return 0


def plot(summary: dict, sizes, args, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.6))
    off = np.linspace(-0.9, 0.9, len(summary))
    for (name, frac), dx in zip(summary.items(), off, strict=True):
        ax.plot(np.array(sizes) + dx, [frac[str(n)] for n in sizes], "o-", ms=4, lw=1,
                label=name)
    ax.set_xlabel("N (LJ cluster size)")
    ax.set_ylabel("fraction of seeds at the GM")
    ax.set_title(f"Global minimum within {args.time_limit:g} CPU-s ({len(args.seeds)} seeds)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
