"""Reproduce Tables 2-3 and Figure 1 of Ram & Ram (2025): annealed ULA on LJ13 / LJ55.

Protocol (paper Sec. 5.2.1): 1,000 replicas, 10^4 ULA steps, target exp(-E), no
reweighting; paths 'gaussian' (10 burn-in steps at width 1.5, then width 1.5 -> 0.025,
then the unsmoothed target), 'mixture-geometric' and 'mixture-linear' (prior
N(0, 1.5^2)); metric: minimum LJ energy over the final replicas, mean +- std over runs.
The paper does not give the ULA step size nor whether its energy has a harmonic term:
``--step-sizes`` and ``--harmonic`` sweep them.

Resumable: each run writes ``<out>/N<n>_c<c>_h<h>_<path>_seed<s>.json`` (+ ``.npz`` with
the final LJ energies) and is skipped when present with the same parameters (a stored run
with other ``--steps`` or ``--replicas`` is recomputed, with a warning); ``--max-minutes``
stops cleanly. Tasks run in the order of the lists (sizes, then harmonic, then step
sizes, then seeds, then paths), so partial runs give complete rows first.
``--report-only`` just aggregates.

Usage::

    python examples/paper_tables23_smc.py --sizes 13 --runs 5 --step-sizes 1e-3
    python examples/paper_tables23_smc.py --sizes 55 --runs 1 --workers 2
    python examples/paper_tables23_smc.py --report-only
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

PATHS = ("gaussian", "mixture-geometric", "mixture-linear")
PAPER = {  # Table 2 (LJ13) and Table 3 (LJ55): mean +- std of the min LJ energy, 5 runs
    13: {"gaussian": (-15.28, 0.78), "mixture-geometric": (-4.65, 1.06),
         "mixture-linear": (-0.02, 0.002)},
    55: {"gaussian": (-51.16, 1.60), "mixture-geometric": (-14.26, 5.93),
         "mixture-linear": (-0.12, 0.005)},
}
from ase_gausslj.io import scratch_path  # noqa: E402
from ase_gausslj.optimize.globalopt import LJ_GLOBAL_MINIMA as GLOBAL_MIN  # noqa: E402
from ase_gausslj.parallel import process_pool  # noqa: E402
from ase_gausslj.sampling.results import load_matching  # noqa: E402


def _name(n, c, h, path, seed) -> str:
    return f"N{n}_c{c:g}_h{h:g}_{path}_seed{seed}"


def _run_task(task: dict, out: str) -> dict:
    from ase_gausslj.io import write_json
    from ase_gausslj.sampling.results import save_npz
    from ase_gausslj.sampling.smc import run_smc

    kw = dict(task)
    n = kw.pop("n_atoms")
    name = kw.pop("name")
    res = run_smc(n, mutation="ula", resample=False, **kw)
    row = dict(task, **res.summary())
    save_npz(Path(out) / f"{name}.npz", lj_energies=res.lj_energies,
             min_energy_trace=res.min_energy_trace)
    write_json(Path(out) / f"{name}.json", row, indent=None)
    return row


def report(out: Path, step_sizes=None) -> str:
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("N*_seed*.json"))]
    groups: dict = {}
    for r in rows:
        if step_sizes and r["step_size"] not in step_sizes:
            continue
        key = (r["n_atoms"], r["harmonic"], r["step_size"], r["n_steps"], r["path"])
        groups.setdefault(key, []).append(r)
    lines = [
        "| N | c | ULA step | steps | path | runs | min LJ energy (mean +- std) | paper | "
        "min s/run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key in sorted(groups, key=lambda k: (k[0], -k[1], k[2], k[3], PATHS.index(k[4]))):
        n, c, h, steps, path = key
        mins = np.array([r["min_lj_energy"] for r in groups[key]])
        wall = min(r["wall_time"] for r in groups[key])
        pm, ps = PAPER[n][path] if n in PAPER else (np.nan, np.nan)
        lines.append(
            f"| {n} | {c:g} | {h:g} | {steps} | {path} | {mins.size} | "
            f"{mins.mean():.2f} +- {mins.std():.2f} | {pm:.2f} +- {ps:.3g} | {wall:.0f} |"
        )
    text = "\n".join(lines)
    (out / "tables23.md").write_text(text + "\n")
    return text


def figure(out: Path, step_size: float, harmonic: float) -> None:
    """Figure 1: histograms of the final LJ energies (all runs pooled) per path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({int(p.name.split("_")[0][1:]) for p in out.glob("N*_seed*.npz")})
    if not sizes:
        return
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 3.6), squeeze=False)
    for ax, n in zip(axes[0], sizes, strict=True):
        data = {}
        for path in PATHS:
            files = sorted(out.glob(f"{_name(n, harmonic, step_size, path, '*')}.npz"))
            if files:
                data[path] = (np.concatenate([np.load(f)["lj_energies"] for f in files]),
                              len(files))
        if not data:
            continue
        pooled = np.concatenate([e for e, _ in data.values()])
        # replicas jammed in the regularized core have huge energies: clip the axis
        lo, hi = pooled.min(), np.quantile(pooled, 0.99)
        bins = np.linspace(lo, hi, 60)
        for path, (e, n_runs) in data.items():
            n_out = int(np.sum(e > hi))
            ax.hist(e, bins=bins, histtype="step", density=True,
                    label=f"{path} ({n_runs} runs; {n_out} replicas > {hi:.0f})")
        ax.axvline(GLOBAL_MIN.get(n, np.nan), color="k", ls=":", label="global min")
        ax.set_xlabel("final LJ energy (epsilon)")
        ax.set_title(f"LJ{n}, c={harmonic:g}, ULA step {step_size:g}")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("density")
    fig.tight_layout()
    fig.savefig(out / f"figure1_c{harmonic:g}_h{step_size:g}.png", dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[13, 55])
    p.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    p.add_argument("--harmonic", type=float, nargs="+", default=[1.0])
    p.add_argument("--step-sizes", type=float, nargs="+", default=[1e-3])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--replicas", type=int, default=1000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=None,
                   help="submit no new task after this many minutes")
    p.add_argument("--out", default=scratch_path("paper_tables23"),
                   help="output directory (default %(default)s, untracked)")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    tasks = []
    for n, c, h, seed, path in itertools.product(
        args.sizes, args.harmonic, args.step_sizes,
        range(args.first_seed, args.first_seed + args.runs), args.paths,
    ):
        name = _name(n, c, h, path, seed)
        task = dict(name=name, n_atoms=n, harmonic=c, step_size=h, path=path, seed=seed,
                    n_steps=args.steps, n_replicas=args.replicas)
        # the row stores its parameters next to the results: reuse it only if they match
        if load_matching(out / f"{name}.json", task, key=None) is not None:
            continue
        tasks.append(task)
    if args.report_only:
        tasks = []
    print(f"{len(tasks)} runs to do")

    def expired() -> bool:
        return args.max_minutes is not None and time.time() - t0 > 60 * args.max_minutes

    from tqdm.auto import tqdm

    with tqdm(total=len(tasks), desc="runs") as bar:
        if args.workers <= 1:
            for task in tasks:
                if expired():
                    break
                row = _run_task(task, str(out))
                bar.set_postfix_str(f"{task['name']}: {row['min_lj_energy']:.2f}")
                bar.update()
        else:
            with process_pool(args.workers) as ex:  # fork-safe after numba's OpenMP
                pending = {}
                it = iter(tasks)
                while True:
                    while len(pending) < args.workers and not expired():
                        task = next(it, None)
                        if task is None:
                            break
                        pending[ex.submit(_run_task, task, str(out))] = task
                    if not pending:
                        break
                    done = next(iter(f for f in pending if f.done()), None)
                    if done is None:
                        time.sleep(1.0)
                        continue
                    task = pending.pop(done)
                    row = done.result()
                    bar.set_postfix_str(f"{task['name']}: {row['min_lj_energy']:.2f}")
                    bar.update()

    print(report(out))
    for c in args.harmonic:
        for h in args.step_sizes:
            figure(out, h, c)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
