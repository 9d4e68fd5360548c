"""Paper Table 4: annealed flow transport on LJ3, Gaussian-width vs mixture annealing.

Needs the neural extra (``pip install -e ".[neural]"``). For each path and seed it runs
:func:`ase_gausslj.neural.aft.run_aft` with the paper's protocol (initial width / Gaussian
std 1.1, two stages, 150 epochs of Adam 2e-4 per flow, 2,000 / 500 / 1,000 train /
validation / test particles, ``kT = 40``), and compares the test particles with the exact
Boltzmann distribution of LJ3 from :mod:`ase_gausslj.neural.ground_truth`: the paper's
metric (minimum test-set LJ energy), the bias in ``<E_LJ>``, the W1 distance between the LJ
energy distributions, and ``log Z``.

    python examples/paper_table4_aft.py                 # full protocol, 10 seeds
    python examples/paper_table4_aft.py --quick         # CI-sized (2 seeds, 5 epochs)

Results go to ``--output`` (JSON, rewritten after every run, so an interrupted run keeps
what it finished) and a histogram figure next to it (needs matplotlib).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

import numpy as np

from ase_gausslj.cli.common import EXIT_INTERRUPTED, EXIT_TERMINATED, nonneg_int, positive_int
from ase_gausslj.io import (
    check_writable,
    interruptible,
    scratch_path,
    signals_as_interrupt,
    write_json,
)

PAPER = {"gaussian": (-2.58, 0.06), "mixture": (-1.13, 0.07)}
QUICK = {"epochs": 5, "n_train": 500, "n_val": 200, "n_test": 500}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=positive_int, default=None, help="seeds per path (10)")
    p.add_argument("--paths", nargs="+", default=["gaussian", "mixture"],
                   choices=["gaussian", "mixture"])
    p.add_argument("--epochs", type=positive_int, default=None, help="override (150)")
    p.add_argument("--mutation", choices=["ula", "mala"], default="ula",
                   help="mutation kernel after each transport (paper: ula)")
    p.add_argument("--n-mcmc", type=nonneg_int, default=None, help="mutation steps (10)")
    p.add_argument("--replot", action="store_true",
                   help="only redraw the figure from an existing --output and its runs")
    p.add_argument("--quick", action="store_true", help="CI-sized run: " + str(QUICK))
    p.add_argument("--gt-samples", type=positive_int, default=200_000,
                   help="exact ground-truth draws for W1 and the expected minimum")
    p.add_argument("--output", default=scratch_path("neural", "table4.json"), metavar="PATH",
                   help="JSON (default %(default)s, untracked)")
    p.add_argument("--figure", default=None, metavar="PATH",
                   help="histogram figure (default: OUTPUT with .png)")
    return p


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else None,
            "n": int(v.size)}


def _table(doc: dict) -> str:
    gt = doc["ground_truth"]
    lines = [
        "| path | min E_LJ (paper) | min E_LJ (ours) | bias <E_LJ> | W1(E_LJ) | log Z "
        f"(exact {gt['log_z']:.3f}) | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for path, agg in doc["aggregate"].items():
        pm, ps = PAPER[path]

        def f(key, agg=agg):
            s = agg[key]
            return f"{s['mean']:.3f} ± {s['std']:.3f}" if s["std"] is not None else \
                f"{s['mean']:.3f}"

        lines.append(f"| {path} | {pm} ± {ps} | {f('min_lj_energy')} | {f('bias')} | "
                     f"{f('w1')} | {f('log_z')} | {agg['min_lj_energy']['n']} |")
    lines.append(f"| exact sampler (quadrature) | | {gt['expected_min']:.3f} | 0 | 0 | "
                 f"{gt['log_z']:.3f} | |")
    return "\n".join(lines)


def _figure(path: Path, energies: dict, gt_energies: np.ndarray) -> None:
    """Left: the bulk of the LJ-energy distribution; right: its upper tail (survival
    function on log axes), where the samplers and the exact distribution differ."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print("matplotlib not installed: no figure", file=sys.stderr)
        return
    bins = np.linspace(-3.0, 1.0, 81)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax.hist(gt_energies, bins=bins, density=True, histtype="stepfilled", alpha=0.3,
            color="k", label="exact (quadrature)")
    grid = np.logspace(-1, 3, 200)
    ax2.loglog(grid, [np.mean(gt_energies > g) for g in grid], "k", lw=2, alpha=0.4,
               label="exact (quadrature)")
    for name, (e, w) in energies.items():
        ax.hist(e, bins=bins, weights=w, density=True, histtype="step", lw=1.5,
                label=f"AFT {name}")
        ax2.loglog(grid, [np.sum(w * (e > g)) / np.sum(w) for g in grid], lw=1.5,
                   label=f"AFT {name}")
    ax.set_xlabel("LJ energy of LJ3 (test particles, all seeds)")
    ax.set_ylabel("density")
    ax.legend()
    ax2.set_xlabel("LJ energy e")
    ax2.set_ylabel("P(E_LJ > e)")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _replot(out: Path, fig_path: Path, gt_samples: int) -> int:
    """Rebuild the figure from a finished run's JSON and per-run files."""
    import json  # noqa: PLC0415

    from ase_gausslj.neural.aft_result import AFTResult  # noqa: PLC0415
    from ase_gausslj.neural.ground_truth import lj3_ground_truth  # noqa: PLC0415

    doc = json.loads(out.read_text())
    prot = doc["protocol"]
    c = prot["kT"] / prot["sigma0"] ** 2 if prot["harmonic"] is None else prot["harmonic"]
    gt = lj3_ground_truth(1.0 / prot["kT"], c / prot["kT"], n_samples=gt_samples)
    energies = {}
    for row in doc["runs"]:
        res = AFTResult.load(_sibling(out, "_runs") / f"{row['path']}_seed{row['seed']}")
        e, w = energies.get(row["path"], (np.empty(0), np.empty(0)))
        energies[row["path"]] = (np.concatenate([e, res.lj_energies]),
                                 np.concatenate([w, res.weights]))
    _figure(fig_path, energies, gt.lj_energies)
    return 0


def _sibling(out: Path, tail: str) -> Path:
    """``out`` without a trailing ``.json``, plus ``tail`` (nothing else cut at a dot)."""
    text = str(out)
    return Path((text[:-5] if text.endswith(".json") else text) + tail)


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        out = check_writable(args.output, "--output", make_parent=True)
    except ValueError as exc:
        parser.error(str(exc))  # exit 2, the CLI convention
    fig_path = Path(args.figure) if args.figure else _sibling(out, ".png")
    if args.replot:
        return _replot(out, fig_path, args.gt_samples)
    from ase_gausslj.neural import require_jax  # noqa: PLC0415

    require_jax()
    from ase_gausslj.neural.aft import AFTConfig, run_aft  # noqa: PLC0415
    from ase_gausslj.neural.ground_truth import lj3_ground_truth  # noqa: PLC0415

    seeds = args.seeds or (2 if args.quick else 10)
    over = dict(QUICK) if args.quick else {}
    if args.epochs:
        over["epochs"] = args.epochs
    over["mutation"] = args.mutation
    if args.n_mcmc is not None:
        over["n_mcmc"] = args.n_mcmc
    base = AFTConfig(**over)
    t0 = time.perf_counter()
    gt = lj3_ground_truth(1.0 / base.kT, base.confinement / base.kT,
                          n_samples=args.gt_samples)
    doc = {
        "command": " ".join(["python", "examples/paper_table4_aft.py", *(argv or sys.argv[1:])]),
        "protocol": {k: v for k, v in vars(base).items()},
        "paper": PAPER,
        "ground_truth": {"log_z": gt.log_z, "mean_lj_energy": gt.mean_lj_energy,
                         "std_lj_energy": gt.std_lj_energy,
                         "expected_min": gt.expected_min(base.n_test),
                         "seconds": time.perf_counter() - t0},
        "runs": [], "aggregate": {},
    }
    energies = {}
    runs_dir = _sibling(out, "_runs")
    # SIGTERM (a scheduler's stop) ends the loop like Ctrl-C: the finished runs are written
    with signals_as_interrupt() as sig, interruptible() as stopped:
        for seed in range(seeds):  # seeds outer: a partial run holds both paths
            for path in args.paths:
                if stopped:
                    break
                res = run_aft(base, path=path, seed=seed)
                res.save(runs_dir / f"{path}_seed{seed}")
                cmp_ = res.compare(gt.lj_energies, gt.mean_lj_energy)
                row = {"path": path, "seed": seed, **res.summary(),
                       "bias": cmp_["bias_mean_lj_energy"], "w1": cmp_["w1_lj_energy"],
                       "best_epochs": [s.get("best_epoch") for s in res.stages if s["flow"]]}
                doc["runs"].append(row)
                e, w = energies.get(path, (np.empty(0), np.empty(0)))
                energies[path] = (np.concatenate([e, res.lj_energies]),
                                  np.concatenate([w, res.weights]))
                print(f"{path} seed {seed}: min {row['min_lj_energy']:.3f} bias "
                      f"{row['bias']:.3f} W1 {row['w1']:.3f} logZ {row['log_z']:.3f} "
                      f"({res.wall_time:.0f} s)", flush=True)
                rows = [r for r in doc["runs"] if r["path"] == path]
                doc["aggregate"][path] = {k: _stats([r[k] for r in rows]) for k in
                                          ("min_lj_energy", "bias", "w1", "log_z",
                                           "mean_lj_energy", "wall_time")}
                doc["wall_time"] = time.perf_counter() - t0
                write_json(out, doc)
    doc["table_markdown"] = _table(doc)
    write_json(out, doc)
    print(doc["table_markdown"])
    _figure(fig_path, energies, gt.lj_energies)
    if stopped:
        return EXIT_TERMINATED if sig.signum == signal.SIGTERM else EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
