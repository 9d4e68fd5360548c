"""When to smooth: the same tasks with and without Gaussian smoothing, at equal CPU time.

Every task is a function registered in :data:`TASKS` (``@task("name")``); it gets the
parsed arguments and one seed and returns rows ``{"task", "case", "variant", "smoothed",
"seed", "score", "cpu_s", ...}`` where ``score`` is lower-is-better (an energy gap, a bias)
and ``cpu_s`` the CPU seconds used (``time.process_time``, one thread). The summary
compares, per task and case, each smoothed variant with the plain one (median score, the
fraction of seeds where it is lower, median CPU-s) and says who wins. Rows are written
to ``--output`` after every run (atomic JSON), so an interrupted run keeps its results;
``--resume`` skips the rows it already has.

Tasks here (LJ, reduced units):

* ``lj-bh``: basin hopping, plain (the defaults) vs every quench smoothed (width 0.3)
  vs an occasional smoothed quench (``p_smooth=0.05``), equal CPU cap per run, stop at
  the known global minimum; score = best energy - global minimum.
* ``lj-homotopy``: repeated local minimizations from compact random starts until the CPU
  cap, plain vs a default homotopy per start (``compare_plain=False``: the smoothing
  alone); score = best energy - global minimum.
* ``table1``: the paper's Table 1 setting (one N(0,1) start per seed; Adam, the paper's
  10,000 steps, and L-BFGS), plain vs homotopy (the paper's widths from 1 sigma for
  Adam; the default binding-width schedule for both); score = final energy / N.
* ``smc``: sequential Monte Carlo (MALA, resampling) on LJ13/LJ55 (c = 1, kT = 1): the
  Gaussian (smoothing) path vs the linear prior-target mixture (no smoothing), same
  replicas and steps; score = |<E_LJ> - reference|, also ESS per CPU-s. The LJ13
  reference is ``results/smc/ground_truth/reference.json`` (1,000 MALA chains); other
  sizes get a short reference (``reference_mala``) computed here and reported with its
  standard error.

* ``smc-default``: ``run_smc`` at every ``SMCOptions`` default except the path (the
  Gaussian path vs the two mixtures): the measurement behind ``SMCOptions.path``.
* ``peptide-conformers`` and ``clash-repair`` (OpenMM, amber14 + OBC2): in
  ``when_to_smooth_molecules.py``, imported here when OpenMM is installed.

The summary compares every smoothed variant with every unsmoothed one (``anchor``) of the
same task and case; a row's ``score_tol`` (default 0) is the difference below which two
scores tie. Adding a task::

    from when_to_smooth import task

    @task("my-task")
    def mine(args, seed):
        ...
        return [{"case": "x", "variant": "plain", "smoothed": False,
                 "score": e_best, "cpu_s": cpu}, ...]

and run ``python examples/when_to_smooth.py --tasks my-task --plugins mymod``
(``--plugins`` imports modules that register tasks, into this script's registry).

Example (results/when_to_smooth/ holds one process per task, merged with ``--merge``;
the commands are in docs/when-to-smooth.md)::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/when_to_smooth.py \\
        --tasks lj-bh smc-default --seeds 0 1 2 --output scratch/when_to_smooth.json \\
        --figure scratch/when_to_smooth.png --markdown scratch/when_to_smooth.md
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ase_gausslj.io import check_writable, write_json

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# run as a script, plugins' ``from when_to_smooth import task`` must reach THIS registry
sys.modules.setdefault("when_to_smooth", sys.modules[__name__])
from defaults_sweep import load_minima  # noqa: E402

TASKS: dict[str, Callable[[argparse.Namespace, int], list[dict]]] = {}
"""Registered tasks: name -> ``fn(args, seed) -> rows``."""


def task(name: str):
    """Register ``fn(args, seed) -> list of rows`` under ``name``."""
    def deco(fn):
        TASKS[name] = fn
        return fn
    return deco


def _cpu(fn, *a, **kw):
    t0 = time.process_time()
    out = fn(*a, **kw)
    return out, time.process_time() - t0


@task("lj-bh")
def lj_bh(args, seed: int) -> list[dict]:
    from ase_gausslj.optimize.globalopt import global_minimize

    minima = load_minima()
    variants = {"plain": {}, "smoothed": {"method": "smoothed-bh", "p_smooth": 1.0},
                "deep": {"method": "smoothed-bh", "p_smooth": 0.05}}
    rows = []
    for n in args.bh_sizes:
        for name, kw in variants.items():
            res, cpu = _cpu(global_minimize, n, seed=seed, clock="process",
                            time_limit=args.cpu, max_minimizations=10**7,
                            target_energy=minima[n], **kw)
            hit = res.time_to_energy(minima[n])
            rows.append({"case": f"LJ{n}", "variant": name, "smoothed": name != "plain",
                         "score": res.energy - minima[n], "cpu_s": cpu,
                         "cpu_to_gm": hit, "quenches": res.n_minimizations})
    return rows


def _repeat_until(cap: float, n: int, seed: int, **kw) -> tuple[float, int]:
    from ase_gausslj.optimize.clusters import random_cluster
    from ase_gausslj.optimize.homotopy import homotopy_minimize

    rng = np.random.default_rng(seed)
    t0, best, runs = time.process_time(), math.inf, 0
    while time.process_time() - t0 < cap:
        best = min(best, homotopy_minimize(random_cluster(n, rng), **kw).energy)
        runs += 1
    return best, runs


@task("lj-homotopy")
def lj_homotopy(args, seed: int) -> list[dict]:
    minima = load_minima()
    rows = []
    for n in args.homotopy_sizes:
        for name, kw in (("plain", {"widths": [0.0]}), ("homotopy", {"compare_plain": False})):
            (best, runs), cpu = _cpu(_repeat_until, args.cpu, n, seed, **kw)
            rows.append({"case": f"LJ{n}", "variant": name, "smoothed": name != "plain",
                         "score": best - minima[n], "cpu_s": cpu, "runs": runs})
    return rows


@task("table1")
def table1(args, seed: int) -> list[dict]:
    import warnings

    from ase_gausslj.optimize.dispersal import HomotopyDispersedWarning
    from ase_gausslj.optimize.homotopy import homotopy_minimize

    variants = {
        ("adam", "plain"): dict(protocol="budget", widths=[0.0]),
        ("adam", "homotopy-paper"): dict(protocol="budget"),
        ("adam", "homotopy-binding"): dict(protocol="budget", widths="default"),
        ("lbfgs", "plain"): dict(widths=[0.0]),
        ("lbfgs", "homotopy-binding"): dict(compare_plain=False),
    }
    rows = []
    for n in args.table1_sizes:
        x0 = np.random.default_rng(seed).standard_normal((n, 3))
        for (opt, name), kw in variants.items():
            kw = dict(kw)
            if kw.get("widths") == "default":
                from ase_gausslj.optimize.homotopy import default_schedule

                kw["widths"] = default_schedule()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", HomotopyDispersedWarning)
                res, cpu = _cpu(homotopy_minimize, x0, optimizer=opt, **kw)
            rows.append({"case": f"LJ{n} {opt}", "variant": name, "smoothed": name != "plain",
                         "score": res.energy / n, "cpu_s": cpu, "dispersed": res.dispersed,
                         "steps": res.n_steps})
    return rows


def _reference(n: int, args) -> tuple[float, float, str]:
    ref = HERE.parent / "results" / "smc" / "ground_truth" / "reference.json"
    if n == 13 and ref.exists():
        d = json.loads(ref.read_text())
        return d["mean_lj_energy"], d["stderr_mean"], str(ref.relative_to(HERE.parent))
    from ase_gausslj.sampling.reference import reference_mala

    r = reference_mala(n, n_chains=args.ref_chains, n_steps=args.ref_steps,
                       burn_in=args.ref_steps // 3, thin=10, seed=12345)
    d = r.diagnostics()
    return d["mean_lj_energy"], d["stderr_mean"], (f"reference_mala({n}, n_chains="
                                                   f"{args.ref_chains}, n_steps={args.ref_steps})")


_REFS: dict[int, tuple[float, float, str]] = {}


@task("smc")
def smc(args, seed: int) -> list[dict]:
    from ase_gausslj.sampling.smc import run_smc

    rows = []
    for n in args.smc_sizes:
        if n not in _REFS:
            _REFS[n] = _reference(n, args)
        mean, err, src = _REFS[n]
        for name, path in (("mixture-linear", "mixture-linear"), ("gaussian", "gaussian")):
            res, cpu = _cpu(run_smc, n, path=path, mutation="mala", resample=True,
                            n_replicas=args.smc_replicas, n_steps=args.smc_steps,
                            harmonic=1.0, kT=1.0, seed=seed + 1)
            w = res.weights
            ess = float(1.0 / np.sum(w ** 2))
            rows.append({"case": f"SMC LJ{n}", "variant": name, "smoothed": path == "gaussian",
                         "score": abs(res.mean_lj_energy - mean), "cpu_s": cpu,
                         "bias": res.mean_lj_energy - mean, "reference_mean": mean,
                         "reference_stderr": err,
                         "reference": src, "ess": ess, "ess_per_cpu_s": ess / cpu})
    return rows


@task("smc-default")
def smc_default(args, seed: int) -> list[dict]:
    """``run_smc`` at every ``SMCOptions`` default but the path: which path should be default."""
    from ase_gausslj.sampling.options import SMCOptions
    from ase_gausslj.sampling.smc import run_smc

    rows = []
    d = SMCOptions()
    for n in args.smc_default_sizes:
        if n not in _REFS:
            _REFS[n] = _reference(n, args)
        mean, err, src = _REFS[n]
        for path in args.smc_default_paths:
            size = {k: v for k, v in (("n_replicas", args.smc_default_replicas),
                                      ("n_steps", args.smc_default_steps)) if v is not None}
            res, cpu = _cpu(run_smc, n, path=path, seed=seed + 1, **size)
            w = np.asarray(res.weights) if d.resample else None
            ess = float(1.0 / np.sum(w ** 2)) if w is not None else None
            rows.append({"case": f"SMC LJ{n} defaults", "variant": path,
                         "smoothed": path.startswith("gaussian"),
                         "score": abs(res.mean_lj_energy - mean), "cpu_s": cpu,
                         "bias": res.mean_lj_energy - mean, "reference_mean": mean,
                         "reference_stderr": err,
                         "reference": src, "ess": ess,
                         "ess_per_cpu_s": None if ess is None else ess / cpu,
                         "options": {k: v for k, v in d.to_dict().items() if k != "path"},
                         "size_overrides": size})
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Per task and case: each smoothed variant against each plain one (the anchors)."""
    out = []
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["task"], r["case"]), []).append(r)
    for (tname, case), rs in groups.items():
        anchors = sorted({r["variant"] for r in rs if not r["smoothed"]},
                         key=lambda v: (v != "plain", v))  # 'plain' first
        for anchor in anchors:
            by_seed = {r["seed"]: r for r in rs if r["variant"] == anchor}
            for variant in sorted({r["variant"] for r in rs if r["smoothed"]}):
                sm = [r for r in rs if r["variant"] == variant and r["seed"] in by_seed]
                if sm:
                    out.append(_compare(tname, case, variant, anchor, sm, by_seed))
    return out


def _compare(tname: str, case: str, variant: str, anchor: str, sm: list[dict],
             by_seed: dict) -> dict:
    d = [r["score"] - by_seed[r["seed"]]["score"] for r in sm]
    d = [0.0 if math.isnan(x) else x for x in d]  # inf - inf: both found nothing
    tol = max(1e-6, sm[0].get("score_tol", 0.0))  # below it: a tie (e.g. minimizer noise)
    lower = sum(x < -tol for x in d) / len(d)
    higher = sum(x > tol for x in d) / len(d)
    cpu_s, cpu_p = (np.median([r["cpu_s"] for r in sm]),
                    np.median([by_seed[r["seed"]]["cpu_s"] for r in sm]))
    verdict = ("smoothing wins" if np.median(d) < -tol and lower > higher else
               "smoothing loses" if np.median(d) > tol and higher > lower else "tie")
    if verdict == "tie" and "cpu_to_gm" in sm[0]:  # same score: faster wins
        t_s = [r["cpu_to_gm"] if r["cpu_to_gm"] is not None else math.inf for r in sm]
        t_p = [by_seed[r["seed"]]["cpu_to_gm"] or math.inf for r in sm]
        ms, mp = float(np.median(t_s)), float(np.median(t_p))
        # sub-10-ms medians (LJ13) are timer noise, and 10% is within the load noise
        if max(ms, mp) > 0.01 and abs(ms - mp) > 0.1 * min(ms, mp):
            verdict = "smoothing wins (faster)" if ms < mp else "smoothing loses (slower)"
    return {"task": tname, "case": case, "variant": variant, "anchor": anchor,
            "seeds": len(d),
            "median_score_plain": float(np.median([by_seed[r["seed"]]["score"] for r in sm])),
            "median_score_smoothed": float(np.median([r["score"] for r in sm])),
            "median_difference": float(np.median(d)), "fraction_lower": lower,
            "fraction_higher": higher, "median_cpu_s_smoothed": float(cpu_s),
            "median_cpu_s_plain": float(cpu_p), "verdict": verdict}


def markdown(summary: list[dict]) -> str:
    """The summary as the Markdown table of docs/when-to-smooth.md."""
    lines = ["| task | case | smoothed variant | anchor | anchor (median) | smoothed (median) "
             "| seeds lower / higher | CPU-s anchor / smoothed | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        n = s["seeds"]
        lines.append(
            f"| {s['task']} | {s['case']} | {s['variant']} | {s.get('anchor', 'plain')} "
            f"| {s['median_score_plain']:.4g} | {s['median_score_smoothed']:.4g} "
            f"| {round(s['fraction_lower'] * n)}/{n} / {round(s['fraction_higher'] * n)}/{n} "
            f"| {s['median_cpu_s_plain']:.2f} / {s['median_cpu_s_smoothed']:.2f} "
            f"| {s['verdict']} |")
    return "\n".join(lines) + "\n"


def figure(summary: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{s['task']}: {s['case']} {s['variant']}"
              + (f" vs {s['anchor']}" if s.get("anchor", "plain") != "plain" else "")
              for s in summary]
    d = [s["median_difference"] for s in summary]
    colors = ["tab:green" if "wins" in s["verdict"] else
              "tab:red" if "loses" in s["verdict"] else "tab:gray" for s in summary]
    fig, ax = plt.subplots(figsize=(10.5, 0.28 * len(labels) + 1.6))
    y = np.arange(len(labels))
    ax.barh(y, d, color=colors)
    ax.set_xscale("symlog", linthresh=0.01)  # scores differ by task: eps gaps, eps/atom, bias
    ax.set_yticks(y, labels, fontsize=7)
    ax.axvline(0, color="k", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("median paired (smoothed - anchor) score, task units (< 0: smoothing better)")
    ax.set_title("When to smooth (green wins, red loses, grey tie; a zero bar in colour:\n"
                 "same score, faster/slower to the global minimum)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=None, help="default: all registered")
    p.add_argument("--plugins", nargs="*", default=[], help="modules that register tasks")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--cpu", type=float, default=2.0, help="CPU-s per search run (lj-*)")
    p.add_argument("--bh-sizes", type=int, nargs="+", default=[13, 38, 55, 75, 100, 150])
    p.add_argument("--homotopy-sizes", type=int, nargs="+", default=[13, 38, 75, 150])
    p.add_argument("--table1-sizes", type=int, nargs="+", default=[38, 100])
    p.add_argument("--smc-sizes", type=int, nargs="+", default=[13, 55])
    p.add_argument("--smc-replicas", type=int, default=200)
    p.add_argument("--smc-steps", type=int, default=1000)
    p.add_argument("--smc-default-sizes", type=int, nargs="+", default=[13])
    p.add_argument("--smc-default-paths", nargs="+",
                   default=["gaussian", "mixture-linear", "mixture-geometric"])
    p.add_argument("--smc-default-replicas", type=int, default=None,
                   help="smc-default: replicas (default: SMCOptions')")
    p.add_argument("--smc-default-steps", type=int, default=None,
                   help="smc-default: steps (default: SMCOptions')")
    p.add_argument("--ref-chains", type=int, default=100)
    p.add_argument("--ref-steps", type=int, default=3000)
    p.add_argument("--output", required=True, help="JSON (written after every run)")
    p.add_argument("--figure", default=None, help="PNG of the summary")
    p.add_argument("--markdown", default=None, help="write the summary table (Markdown)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--merge", nargs="*", default=None, metavar="JSON",
                   help="run nothing: merge the rows of these outputs (tasks run in "
                        "separate processes) into --output and --figure")
    try:  # the molecule tasks, where OpenMM is installed
        import when_to_smooth_molecules as molecules
    except ImportError as exc:
        print(f"molecule tasks not registered ({exc})", file=sys.stderr)
    else:
        molecules.add_arguments(p)
    args = p.parse_args(argv)
    for mod in args.plugins:
        importlib.import_module(mod)
    names = args.tasks or list(TASKS)
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        p.error(f"unknown task(s) {unknown}; registered: {list(TASKS)}")
    out = check_writable(args.output, "--output")
    for opt in ("figure", "markdown"):
        if getattr(args, opt):
            check_writable(getattr(args, opt), f"--{opt}")
    rows = json.loads(out.read_text())["rows"] if args.resume and out.exists() else []
    if args.merge is not None:
        names = []
        parts = [json.loads(Path(f).read_text()) for f in args.merge]
        rows = [r for d in parts for r in d["rows"]]
        args.merged_commands = [d["command"] for d in parts]
    done = {(r["task"], r["seed"]) for r in rows}
    meta = {"command": "python " + " ".join(sys.argv), "args": vars(args),
            "host": platform.node(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for name in names:
        for seed in args.seeds:
            if (name, seed) in done:
                continue
            t0 = time.process_time()
            new = [dict(r, task=name, seed=seed) for r in TASKS[name](args, seed)]
            rows += new
            write_json(out, {**meta, "rows": rows, "summary": summarize(rows)})
            print(f"{name} seed {seed}: {len(new)} rows, {time.process_time() - t0:.1f} CPU-s",
                  file=sys.stderr, flush=True)
    summary = summarize(rows)
    write_json(out, {**meta, "rows": rows, "summary": summary})
    for s in summary:
        print(f"{s['task']:12s} {s['case']:14s} {s['variant']:17s} vs {s['anchor']:12s} "
              f"plain {s['median_score_plain']:10.4f} "
              f"smoothed {s['median_score_smoothed']:10.4f}  lower {s['fraction_lower']:.2f}  "
              f"CPU-s {s['median_cpu_s_plain']:.2f}/{s['median_cpu_s_smoothed']:.2f}  "
              f"{s['verdict']}")
    if args.figure:
        figure(summary, args.figure)
    if args.markdown:
        from ase_gausslj.io import write_text

        write_text(args.markdown, markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
