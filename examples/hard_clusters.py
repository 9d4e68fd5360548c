"""Benchmark: the hard LJ clusters, our strategies vs pele's basin hopping (CPU seconds).

Sizes: the Cambridge Cluster Database's hard cases 75-77, 102-104 (Marks decahedra) and
98 (Leary tetrahedron), and the paper's 100, 150, 250, 500. Per seed, every strategy
(:mod:`ase_gausslj.optimize.hard`) and pele's ``LJCluster(N)`` basin hopping (defaults, no
storage; optional) run one after another (interleaved), each until it reaches the target
or ``--cpu-limit`` CPU seconds (``time.process_time``, one thread). Target: the putative
global minimum (results/engine/lj_global_minima.tsv, within 1e-4) or, for N = 250/500,
within 0.3 % of the paper's values (-1579.8, -3382.7).

The JSON is rewritten after every run; a rerun with the same ``--output`` skips the runs
it already holds (resume). ``--figure`` plots the success fraction vs CPU time.

Example (what results/hard/ holds, see results/hard/README.md)::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/hard_clusters.py \\
        --sizes 75 --seeds 0 1 2 --cpu-limit 60 --output results/hard/lj75.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ase_gausslj.defaults import best_strategy
from ase_gausslj.io import check_writable, scratch_path, write_json
from ase_gausslj.optimize.hard.descriptors import motif
from ase_gausslj.optimize.hard.population import motif_population
from ase_gausslj.optimize.hard.runner import Budget, basin_hop
from ase_gausslj.optimize.hard.surface import MixedStep, SurfaceMove
from ase_gausslj.optimize.hard.tempering import parallel_tempering
from ase_gausslj.optimize.moves import RandomDisplacement

ROOT = Path(__file__).resolve().parents[1]
MINIMA = ROOT / "results" / "engine" / "lj_global_minima.tsv"
PAPER = {250: -1579.8, 500: -3382.7}  # Ram & Ram (2025); targets within 0.3 %
PAPER_GAP = 0.003
TOL = 1e-4
HARD_SIZES = (75, 76, 77, 98, 102, 103, 104)


def _surface_mix():
    return MixedStep([SurfaceMove(), RandomDisplacement(0.4)], [0.5, 0.5])


STRATEGIES = {
    "bh": lambda n, b, rng: basin_hop(n, b, rng),
    "surface": lambda n, b, rng: basin_hop(n, b, rng, take_step=SurfaceMove()),
    "surface-mix": lambda n, b, rng: basin_hop(n, b, rng, take_step=_surface_mix()),
    "pt": lambda n, b, rng: parallel_tempering(n, b, rng),
    "pt-width": lambda n, b, rng: parallel_tempering(n, b, rng, widths=(0, 0, 0.15, 0.3)),
    "pt-surface": lambda n, b, rng: parallel_tempering(n, b, rng, take_step=SurfaceMove()),
    "population": lambda n, b, rng: motif_population(n, b, rng),
    "pop-surface": lambda n, b, rng: motif_population(n, b, rng, take_step=SurfaceMove()),
}
"""Our strategies: plain BH (random displacement 0.4 sigma, k_B T 0.8, restart after
max(100, 5N) quenches without a new best); BH with surface moves only / half the steps;
BHPT at k_B T 0.6-1.7 (4 replicas), with widths 0.15 and 0.3 on the two hot replicas, with
surface moves; the motif-diverse population (4 walkers), with surface moves."""


def load_minima(path: Path = MINIMA) -> dict[int, float]:
    """``{N: E_min}`` from the two-column TSV (comments start with '#')."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith(("#", "n_atoms")) or not line.strip():
            continue
        n, e = line.split()[:2]
        out[int(n)] = float(e)
    return out


def target_of(n: int, minima: dict[int, float]) -> tuple[float, float]:
    """``(reference energy, target energy)`` of size ``n``."""
    if n in PAPER:
        return PAPER[n], PAPER[n] * (1.0 - PAPER_GAP)
    if n not in minima:
        raise SystemExit(f"--sizes: no reference minimum for N = {n}")
    return minima[n], minima[n]


def pele_run(n: int, seed: int, target: float, cpu_limit: float) -> dict:
    """pele's ``LJCluster(n)`` basin hopping (defaults, no storage) until target/limit."""
    from pele.systems import LJCluster

    np.random.seed(seed)  # noqa: NPY002 (pele draws from numpy's global generator)
    t0 = time.process_time()
    bh = LJCluster(n).get_basinhopping(database=None, outstream=None,
                                       add_minimum=lambda e, x: None)
    best, steps, hit, trace = bh.markovE, 0, None, []
    while True:
        t = time.process_time() - t0
        if best <= target + TOL:
            hit = t
            break
        if t >= cpu_limit:
            break
        bh.run(1)
        steps += 1
        if bh.trial_energy < best - 1e-6:
            best = float(bh.trial_energy)
            trace.append([time.process_time() - t0, steps, best])
    return {"best": float(best), "quenches": steps, "cpu": time.process_time() - t0,
            "time_to_target": hit, "trace": trace}


DEFAULT_NAME = {"displacement": "bh", "surface": "surface", "pt-surface": "pt-surface"}
"""``global_minimize(strategy=)`` names -> the names of :data:`STRATEGIES`."""

ENGINE = {"bh", "surface", "surface-mix"}
"""The strategies run by ``global_minimize`` (the one engine; ``"runner": "engine"`` in the
JSON). Runs made before it by the earlier loop of ``hard.runner`` carry ``"runner": "loop"``:
the same algorithm with another random stream, so they count as separate trials."""


def ours_run(name: str, n: int, seed: int, target: float, cpu_limit: float) -> dict:
    rng = np.random.default_rng(seed)
    r = STRATEGIES[name](n, Budget(cpu_limit=cpu_limit, target=target, target_tol=TOL), rng)
    return {**r.summary(), "motif": motif(r.positions),
            **({"runner": "engine"} if name in ENGINE else {})}


def _warm_up(names) -> None:
    """Compile the numba kernels outside the timings (one tiny run per quench kind)."""
    for name in names:
        if name != "pele":
            STRATEGIES[name](13, Budget(max_quenches=6), np.random.default_rng(99))


def summarize(runs: list[dict]) -> dict:
    """Per (size, strategy): hits/seeds and the median CPU-s to the target (a miss counts
    as more than the budget, so the median exists only when more than half hit)."""
    groups: dict[tuple, list] = {}
    for r in runs:
        groups.setdefault((r["n"], r["strategy"]), []).append(r)
    out = {}
    for (n, name), rows in sorted(groups.items()):
        times = sorted(r["time_to_target"] if r["time_to_target"] is not None else np.inf
                       for r in rows)
        med = float(np.median(times))
        out[f"{n} {name}"] = {
            "n": n, "strategy": name, "hits": sum(np.isfinite(times)), "seeds": len(rows),
            "median_cpu_s": med if np.isfinite(med) else None,
            "best": min(r["best"] for r in rows),
            "median_best": float(np.median([r["best"] for r in rows])),
            "cpu_limit": max(r["cpu_limit"] for r in rows)}
    return out


def figure(runs: list[dict], path: str) -> None:
    """Success fraction vs CPU seconds, one panel per size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["n"] for r in runs})
    names = sorted({r["strategy"] for r in runs})
    colour = {name: f"C{k % 10}" for k, name in enumerate(names)}
    cols = min(4, len(sizes))
    rows_ = -(-len(sizes) // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(4 * cols, 3.2 * rows_), squeeze=False)
    for ax in axes.ravel()[len(sizes):]:
        ax.set_visible(False)
    for ax, n in zip(axes.ravel(), sizes, strict=False):
        rows = [r for r in runs if r["n"] == n]
        limit = max(r["cpu_limit"] for r in rows)
        grid = np.linspace(0, limit, 200)
        for name in sorted({r["strategy"] for r in rows}):
            t = [r["time_to_target"] for r in rows if r["strategy"] == name]
            hit = np.array([x for x in t if x is not None])
            ax.step(grid, [(hit <= g).sum() / len(t) for g in grid], where="post",
                    label=f"{name} ({len(t)})", color=colour[name])
        ax.set_title(f"LJ{n}")
        ax.set_xlabel("CPU s")
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=6, title="strategy (seeds)", title_fontsize=6)
    for row in axes:
        row[0].set_ylabel("fraction of seeds at target")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _key(r: dict) -> tuple:
    """One run: (N, strategy, seed, CPU cap, runner); a loop run and an engine run of the
    same seed are different trials (different random streams)."""
    return (r["n"], r["strategy"], r["seed"], r["cpu_limit"], r.get("runner", "engine"))


def _merged(paths: list[str]) -> list[dict]:
    """The runs of several output JSONs, one per :func:`_key` (the first file's wins)."""
    import json

    runs: dict[tuple, dict] = {}
    for path in paths:
        with open(path) as fh:
            for r in json.load(fh)["runs"]:
                runs.setdefault(_key(r), r)
    return list(runs.values())


def table(paths: list[str]) -> str:
    """README rows (markdown) from one or more output JSONs: our strategies and pele.

    ``gap`` is the best energy above the reference (the database minimum, or the paper's
    value for N = 250/500) in percent of it; ``default`` marks the strategy that
    ``gausslj optimize N`` runs (:func:`ase_gausslj.defaults.best_strategy`).
    """
    runs = _merged(paths)
    rows = summarize(runs)
    lines = ["| N | target | strategy | hits/seeds | median CPU-s to target | best (median) "
             "| gap of best | CPU-s cap | pele hits/seeds, median CPU-s (best) | default |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def fmt(v):
        return "-" if v is None else f"{v:.1f}"

    for r in rows.values():
        if r["strategy"] == "pele":
            continue
        pele = rows.get(f"{r['n']} pele")
        ref = next(x["reference"] for x in runs if x["n"] == r["n"])
        target = next(x["target"] for x in runs if x["n"] == r["n"])
        pele_s = (f"{pele['hits']}/{pele['seeds']}, {fmt(pele['median_cpu_s'])} "
                  f"(best {pele['best']:.6f})" if pele else "not run")
        gap = 100.0 * (r["best"] - ref) / abs(ref)
        default = DEFAULT_NAME.get(best_strategy(r["n"])) == r["strategy"]
        lines.append(f"| {r['n']} | {target:.6f} | {r['strategy']} | {r['hits']}/{r['seeds']} "
                     f"| {fmt(r['median_cpu_s'])} | {r['best']:.6f} ({r['median_best']:.6f}) "
                     f"| {gap:.3f} % | {r['cpu_limit']:g} | {pele_s} "
                     f"| {'**yes**' if default else ''} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=list(HARD_SIZES))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--cpu-limit", type=float, default=120.0, help="CPU seconds per run")
    p.add_argument("--strategies", nargs="+", default=["bh", "surface", "pt-surface",
                                                       "pop-surface", "pele"],
                   choices=sorted(STRATEGIES) + ["pele"])
    p.add_argument("--output", default=scratch_path("hard", "hard_clusters.json"),
                   help="JSON, rewritten after every run and resumed (default %(default)s)")
    p.add_argument("--figure", default=None, help="PNG of success fraction vs CPU time")
    p.add_argument("--table", nargs="+", metavar="JSON",
                   help="print the README table of these outputs (and --figure) and exit")
    args = p.parse_args(argv)
    if args.table:
        print(table(args.table))
        if args.figure:
            figure(_merged(args.table), args.figure)
        return 0
    if args.cpu_limit <= 0:
        p.error("--cpu-limit must be positive")
    check_writable(args.output, "--output", make_parent=True)
    check_writable(args.figure, "--figure", make_parent=True)
    minima = load_minima()
    out = load_or_new(args.output)
    done = {_key(r) for r in out["runs"]}
    names = list(args.strategies)
    if "pele" in names and not have_pele():
        names.remove("pele")
    _warm_up(names)
    for seed in args.seeds:  # interleaved: every strategy sees the same machine load
        for n in args.sizes:
            ref, target = target_of(n, minima)
            for name in names:
                if (n, name, seed, args.cpu_limit, "engine") in done:  # resume
                    continue
                r = (pele_run(n, seed, target, args.cpu_limit) if name == "pele"
                     else ours_run(name, n, seed, target, args.cpu_limit))
                out["runs"].append({"n": n, "strategy": name, "seed": seed,
                                    "cpu_limit": args.cpu_limit, "reference": ref,
                                    "target": target, **r})
                out["summary"] = summarize(out["runs"])
                write_json(args.output, out)
                print(f"N={n} seed {seed} {name}: best {r['best']:.6f} "
                      f"t_target {r['time_to_target']} quenches {r['quenches']}",
                      file=sys.stderr, flush=True)
    if args.figure and out["runs"]:
        figure(out["runs"], args.figure)
    return 0


def have_pele() -> bool:
    try:
        import pele.systems  # noqa: F401
    except ImportError:
        print("pele is not installed (pip install pele): pele runs skipped", file=sys.stderr)
        return False
    return True


def load_or_new(path: str) -> dict:
    """The JSON of an earlier run with the same output (resume) or a fresh record."""
    import json

    if os.path.exists(path):
        with open(path) as fh:
            return json.load(fh)
    return {"conditions": {"python": platform.python_version(),
                           "machine": platform.machine(), "cpu_count": os.cpu_count(),
                           "load_average_start": os.getloadavg(),
                           "clock": "time.process_time (one thread)",
                           "target_tol": TOL, "paper_gap": PAPER_GAP},
            "runs": []}


if __name__ == "__main__":
    sys.exit(main())
