"""Correctness of the annealed samplers against ground truth (LJ13, c = 1, kT = 1).

1. Reference: many long MALA chains at width 0 (half from the prior, half from compact
   clusters; step size frozen after burn-in), with split-R-hat and start-kind checks.
2. Samplers: real SMC (weights + resampling + MALA) on several paths, and the paper-style
   unweighted ULA runs, each with 1,000 replicas.
3. Report: weighted mean LJ energy minus the reference mean, Wasserstein-1 distance of
   the energy distribution to the reference, ESS, log Z, the paper's min-energy metric.

Resumable: every run is stored under ``--out`` with its parameters and reused only when
they match (files are named by a hash of the parameters, and the stored parameters are
compared on load): a rerun with another ``--n-atoms`` computes a new reference instead of
reusing the old one.

Usage::

    python examples/smc_ground_truth.py --out results/smc_ground_truth
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from ase_gausslj.io import scratch_path, write_json  # noqa: E402
from ase_gausslj.sampling.diagnostics import energy_w1  # noqa: E402
from ase_gausslj.sampling.reference import reference_mala  # noqa: E402
from ase_gausslj.sampling.results import load_matching, params_key, save_npz  # noqa: E402
from ase_gausslj.sampling.smc import run_smc  # noqa: E402

SAMPLERS = {
    # name: run_smc keyword arguments (n_atoms, harmonic, kT, replicas, seed added later)
    "smc-mala-gaussian-adaptive": dict(path="gaussian-adaptive", mutation="mala",
                                       resample=True, final_moves=20),
    "smc-mala-gaussian-adaptive-diverse": dict(path="gaussian-adaptive", mutation="mala",
                                               resample=True, final_moves=200),
    "smc-mala-gaussian": dict(path="gaussian", mutation="mala", resample=True, n_steps=2000),
    "smc-mala-mixture-linear": dict(path="mixture-linear", mutation="mala", resample=True,
                                    n_steps=2000),
    "smc-ula-gaussian": dict(path="gaussian", mutation="ula", resample=True, n_steps=2000,
                             step_size=1e-3),
    "paper-ula-gaussian": dict(path="gaussian", mutation="ula", resample=False,
                               n_steps=10_000, step_size=1e-3),
    "paper-ula-mixture-geometric": dict(path="mixture-geometric", mutation="ula",
                                        resample=False, n_steps=10_000, step_size=1e-3),
    "paper-ula-mixture-linear": dict(path="mixture-linear", mutation="ula", resample=False,
                                     n_steps=10_000, step_size=1e-3),
}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def get_reference(args, out: Path) -> tuple[np.ndarray, dict]:
    """The reference LJ energies and diagnostics for ``args``, computed once per parameters."""
    params = dict(n_atoms=args.n_atoms, harmonic=args.harmonic, kT=args.kT,
                  n_chains=args.chains, n_steps=args.ref_steps, burn_in=args.burn_in,
                  thin=args.thin, seed=args.seed)
    stem = out / f"reference_N{args.n_atoms}_{params_key(params)}"
    diag = load_matching(stem.with_suffix(".json"), params)
    if diag is not None and stem.with_suffix(".npz").exists():
        return np.load(stem.with_suffix(".npz"))["lj_energies"], diag
    print(f"computing the reference ({stem.name})")
    ref = reference_mala(args.n_atoms, harmonic=args.harmonic, kT=args.kT,
                         n_chains=args.chains, n_steps=args.ref_steps, burn_in=args.burn_in,
                         thin=args.thin, seed=args.seed, progress=True)
    diag = dict(ref.diagnostics(), wall_time=ref.wall_time, config=ref.config, params=params)
    save_npz(stem.with_suffix(".npz"), lj_energies=ref.lj_energies, energies=ref.energies)
    write_json(stem.with_suffix(".json"), diag)
    return ref.lj_energies, diag


def run_sampler(args, name: str, seed: int, out: Path) -> tuple[dict, np.ndarray, np.ndarray]:
    """One sampler run (row, LJ energies, weights), computed once per parameters."""
    kw = dict(SAMPLERS[name], n_replicas=args.replicas, harmonic=args.harmonic, kT=args.kT,
              seed=seed)
    if args.steps is not None and "n_steps" in kw:
        kw["n_steps"] = args.steps
    params = dict(kw, n_atoms=args.n_atoms, sampler=name)
    stem = out / f"{name}_N{args.n_atoms}_seed{seed}_{params_key(params)}"
    row = load_matching(stem.with_suffix(".json"), params)
    if row is not None and stem.with_suffix(".npz").exists():
        with np.load(stem.with_suffix(".npz")) as z:
            return row, z["lj_energies"], np.exp(z["log_weights"])
    print(f"computing {stem.name}")
    res = run_smc(args.n_atoms, progress=True, **kw)
    w = res.weights
    row = {
        "params": params,
        "mean_lj_energy": res.mean_lj_energy,
        "final_ess": float(1.0 / np.sum(w**2)),
        "n_distinct": int(np.unique(res.lj_energies).size),
        "log_z": res.log_z,
        "min_lj_energy": res.min_lj_energy,
        "n_in_core": res.n_in_core,
        "n_resample": res.n_resample,
        "n_steps_run": int(res.widths.size),
        "wall_time": res.wall_time,
    }
    save_npz(stem.with_suffix(".npz"), lj_energies=res.lj_energies, log_weights=res.log_weights)
    write_json(stem.with_suffix(".json"), row)
    return row, res.lj_energies, w


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-atoms", type=int, default=13)
    p.add_argument("--harmonic", type=float, default=1.0)
    p.add_argument("--kT", type=float, default=1.0)
    p.add_argument("--replicas", type=int, default=1000)
    p.add_argument("--chains", type=int, default=1000)
    p.add_argument("--ref-steps", type=int, default=9000)
    p.add_argument("--burn-in", type=int, default=3000)
    p.add_argument("--thin", type=int, default=10)
    p.add_argument("--seed", type=int, default=0, help="runs use seeds seed+1 .. seed+runs")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--samplers", nargs="*", default=list(SAMPLERS), choices=list(SAMPLERS))
    p.add_argument("--steps", type=int, default=None,
                   help="override n_steps of the fixed-path samplers (quick checks)")
    p.add_argument("--out", default=scratch_path("smc_ground_truth"),
                   help="output directory (default %(default)s, untracked)")
    p.add_argument("--paper-dir", default=None,
                   help="also score the paper-style ULA runs stored there by "
                   "paper_tables23_smc.py (same N, c; all seeds and step sizes found)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    ref, diag = get_reference(args, out)
    ref_mean = float(ref.mean())
    print(f"reference: <E_LJ> = {ref_mean:.3f} +- {diag['stderr_mean']:.3f} "
          f"(R-hat {diag['rhat_lj_energy']:.3f}; prior starts "
          f"{diag['mean_lj_energy_from_prior']:.3f}, compact starts "
          f"{diag['mean_lj_energy_from_compact']:.3f}; halves {diag['first_half_mean']:.3f} / "
          f"{diag['second_half_mean']:.3f})")

    rows = {}
    seeds = range(args.seed + 1, args.seed + 1 + args.runs)
    for name in args.samplers:
        for seed in seeds:
            row, e, w = run_sampler(args, name, seed, out)
            # comparisons with the reference are recomputed each time, never stored stale
            row = dict(row, mean_minus_reference=row["mean_lj_energy"] - ref_mean,
                       w1_to_reference=energy_w1(e, ref, weights=w))
            rows[f"{name}_seed{seed}"] = row
        for key in (f"{name}_seed{s}" for s in seeds):
            r = rows[key]
            print(f"{key:40s} <E_LJ>-ref {r['mean_minus_reference']:+7.3f}  "
                  f"W1 {r['w1_to_reference']:6.3f}  ESS {r['final_ess']:7.1f}  "
                  f"min {r['min_lj_energy']:8.3f}  log Z {_fmt(r['log_z'])}  "
                  f"in-core {r['n_in_core']}  {r['wall_time']:.0f} s")
        mins = [rows[f"{name}_seed{s}"]["min_lj_energy"] for s in seeds]
        if len(mins) > 1:
            print(f"{name}: min LJ energy {np.mean(mins):.2f} +- {np.std(mins):.2f} "
                  f"over {len(mins)} runs")
    if args.paper_dir:
        for f in sorted(Path(args.paper_dir).glob(f"N{args.n_atoms}_c{args.harmonic:g}_*.npz")):
            e = np.load(f)["lj_energies"]
            row = {"mean_lj_energy": float(e.mean()),
                   "mean_minus_reference": float(e.mean()) - ref_mean,
                   "w1_to_reference": energy_w1(e, ref), "min_lj_energy": float(e.min())}
            rows[f"paper-ula:{f.stem}"] = row
            print(f"{'paper-ula:' + f.stem:45s} <E_LJ>-ref {row['mean_minus_reference']:+7.3f}"
                  f"  W1 {row['w1_to_reference']:6.3f}  min {row['min_lj_energy']:8.3f}"
                  "  (unweighted)")
    write_json(out / "summary.json", {"reference": diag, "samplers": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
