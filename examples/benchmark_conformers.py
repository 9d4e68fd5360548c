"""Does smoothing help find low-energy conformers?  plain vs smoothed vs hrex, equal budgets.

Molecules: alanine dipeptide (shipped PDB), Ace-AGGFM-NME and capped chignolin (built
offline as all-L, all-trans peptides and shipped in ``results/molecules/``),
amber14, vacuum and OBC2, HBonds constraints, 2 fs. Variants: ``plain``, ``smoothed``
(torsions, stereo guard on), ``smoothed-unguarded`` (without it), ``hrex`` (torsions) and
``smoothed-lj`` (torsions + LJ from 0.02 nm, on
``smooth_system``'s copy). Each runs ``--seeds`` seeds at ``--budget`` force evaluations
(MD steps + minimizer iterations); the best-known minimum of a case is the lowest energy
found by any run, including one ``--ref-factor`` x budget run per variant (but
``smoothed-lj``, too costly on CPU). A run "hits"
when its best is within 1 kJ/mol of the best-known minimum.

Each case is saved to ``<out>/<case>.json`` as soon as it is done (rerun skips finished
cases unless ``--force``), then ``summary.md`` and ``best_vs_cpu.png`` are rebuilt from all
saved cases; ``--out`` defaults to the untracked ``gausslj-results/molecules`` (the tracked
numbers of docs/molecules.md are written only with ``--out results/molecules``)::

    OPENBLAS_NUM_THREADS=1 python examples/benchmark_conformers.py --out results/molecules
    python examples/benchmark_conformers.py --quick      # seconds, a smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import openmm.app as app

from ase_gausslj.io import scratch_path, write_json, write_text
from openmm_gausslj import smooth_system
from openmm_gausslj.data import alanine_dipeptide_pdb
from openmm_gausslj.molecules.build import build_capped_peptide, write_pdb
from openmm_gausslj.molecules.conformers import search_conformers

CASES = {  # name: (molecule, solvent, budget multiplier of --budget)
    "ala2-vacuum": ("ala2", "vacuum", 0.5),
    "ala2-obc2": ("ala2", "obc2", 0.5),
    "aggfm-vacuum": ("AGGFM", "vacuum", 1.0),
    "aggfm-obc2": ("AGGFM", "obc2", 1.0),
    "chignolin-obc2": ("GYDPETGTWG", "obc2", 0.5),
}
#: the shipped, checked structures (all L, all trans; openmm_gausslj.molecules.build)
MOLECULES = Path(__file__).resolve().parent.parent / "results" / "molecules"
HIT_KJ = 1.0
#: the long reference runs (smoothed-lj costs ~3-6x more CPU per step: no reference run)
REF_VARIANTS = ("plain", "smoothed", "hrex")
#: variant -> (search_conformers method, extra options, smooth the LJ with smooth_system)
VARIANTS = {
    "plain": ("plain", {}, False),
    "smoothed": ("smoothed", {}, False),
    "smoothed-unguarded": ("smoothed", {"stereo_guard": False}, False),
    "hrex": ("hrex", {}, False),
    "smoothed-lj": ("smoothed", {"lj_width": 0.02}, True),
}


def build(molecule: str, solvent: str, out: Path):
    if molecule == "ala2":
        pdb = app.PDBFile(alanine_dipeptide_pdb())
    else:
        # pdbfixer's side chains are not repeatable: build once, later runs read the PDB
        path = MOLECULES / f"ace-{molecule.lower()}-nme.pdb"
        if not path.exists():
            path = out / path.name
        if not path.exists():
            write_pdb(*build_capped_peptide(molecule), path)
        pdb = app.PDBFile(str(path))
    top, pos = pdb.topology, pdb.positions
    files = ["amber14-all.xml"] + (["implicit/obc2.xml"] if solvent == "obc2" else [])
    system = app.ForceField(*files).createSystem(top, nonbondedMethod=app.NoCutoff,
                                                 constraints=app.HBonds)
    return system, top, pos


def _search(variant, systems, pos, budget, seed, common):
    method, extra, lj = VARIANTS[variant]
    r = search_conformers(systems[lj], pos, method=method, budget=budget, seed=seed,
                          **extra, **common)
    d = r.to_dict()
    d["variant"] = variant
    return r, d


def run_case(name: str, args) -> dict:
    molecule, solvent, mult = CASES[name]
    system, top, pos = build(molecule, solvent, Path(args.out))
    # the LJ-smoothed copy is exact at width 0; the quench runs there
    systems = {False: system, True: smooth_system(system, 0.0)}
    budget = max(1000, int(args.budget * mult))
    common = dict(topology=top, timestep=0.002, platform_properties={"Threads": "1"})
    runs, refs = [], []
    for variant in args.variants:
        for seed in range(args.seeds):
            r, d = _search(variant, systems, pos, budget, seed, common)
            runs.append(d)
            print(f"{name:14s} {variant:11s} seed {seed}: best {r.best_energy:9.2f}  "
                  f"{len(r.conformers):3d} minima  {r.cpu_seconds:6.1f} CPU-s", flush=True)
    for variant in [v for v in args.variants if v in REF_VARIANTS]:
        r, d = _search(variant, systems, pos, budget * args.ref_factor, 1000, common)
        refs.append(d)
        print(f"{name:14s} {variant:11s} reference x{args.ref_factor}: best "
              f"{r.best_energy:9.2f}  {r.cpu_seconds:6.1f} CPU-s", flush=True)
    return {"case": name, "molecule": molecule, "solvent": solvent, "budget": budget,
            "seeds": args.seeds, "ref_factor": args.ref_factor, "runs": runs,
            "references": refs, "n_atoms": system.getNumParticles()}


def _first_hit(run: dict, target: float):
    for step, cpu, best in run["history"]:
        if best <= target:
            return step, cpu
    return None


def _merge(old: dict, new: dict) -> dict:
    """``new`` plus the runs of ``old`` for variants ``new`` did not run (same budget)."""
    if old["budget"] != new["budget"]:
        raise SystemExit(f"--merge: {new['case']} was run at budget {old['budget']}, "
                         f"not {new['budget']}")
    redone = {r["variant"] for r in new["runs"] + new["references"]}
    for key in ("runs", "references"):
        new[key] = [r for r in old[key] if r["variant"] not in redone] + new[key]
    new["seeds"] = {v: sum(r["variant"] == v for r in new["runs"])
                    for v in dict.fromkeys(r["variant"] for r in new["runs"])}
    return new


def _changed(conformer: dict) -> bool | None:
    if conformer.get("to_cis") is None:
        return None
    return bool(conformer["to_cis"] or conformer["inverted"])


def _stereo(runs: list[dict]) -> str:
    """``a/n | b/m``: runs whose best minimum has a cis flip or an inverted centre, and
    all minima with one (``-`` for runs saved before these were recorded)."""
    best = [_changed(r["conformers"][0]) for r in runs if r["conformers"]]
    every = [_changed(c) for r in runs for c in r["conformers"]]
    if None in best or None in every:
        return "- | -"
    return f"{sum(best)}/{len(best)} | {sum(every)}/{len(every)}"


def summarize(cases: list[dict]) -> str:
    lines = ["| case | atoms | budget | best-known (kJ/mol) | method | hits (1 kJ/mol) | "
             "within 5 kJ/mol | median best | "
             "best | median evals to hit | median CPU-s to hit | median CPU-s per run | "
             "best minimum cis/inverted (runs) | minima cis/inverted (all runs) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        known = min(r["best_energy"] for r in c["runs"] + c["references"])
        for variant in VARIANTS:
            runs = [r for r in c["runs"] if r["variant"] == variant]
            if not runs:
                continue
            best = np.array([r["best_energy"] for r in runs])
            hits = [_first_hit(r, known + HIT_KJ) for r in runs]
            t_hit = [h[1] for h in hits if h is not None]
            n_hit = [h[0] for h in hits if h is not None]
            lines.append(
                f"| {c['case']} | {c['n_atoms']} | {c['budget']} | {known:.2f} | {variant} | "
                f"{len(t_hit)}/{len(runs)} | {int(np.sum(best <= known + 5.0))}/{len(runs)} | "
                f"{np.median(best):.2f} | {best.min():.2f} | "
                f"{np.median(n_hit) if n_hit else float('nan'):.0f} | "
                f"{np.median(t_hit) if t_hit else float('nan'):.1f} | "
                f"{np.median([r['cpu_seconds'] for r in runs]):.1f} | {_stereo(runs)} |")
    return "\n".join(lines) + "\n"


def plot(cases: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, len(cases), figsize=(4 * len(cases), 3.2), squeeze=False)
    colors = dict(zip(VARIANTS, ["tab:gray", "tab:blue", "tab:purple", "tab:orange", "tab:green"],
                      strict=True))
    for ax, c in zip(axes[0], cases, strict=True):
        known = min(r["best_energy"] for r in c["runs"] + c["references"])
        for r in c["runs"]:
            h = np.array(r["history"])
            if len(h):
                ax.step(h[:, 1], h[:, 2] - known, where="post", color=colors[r["variant"]],
                        alpha=0.6, label=r["variant"] if r["seed"] == 0 else None)
        ax.set_title(c["case"])
        ax.set_xlabel("CPU s")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.axhline(HIT_KJ, color="k", lw=0.5, ls=":")
    axes[0][0].set_ylabel("best - best-known (kJ/mol)")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=40_000)
    p.add_argument("--ref-factor", type=int, default=4)
    p.add_argument("--out", default=scratch_path("molecules"),
                   help="output directory (default %(default)s; README's: results/molecules)")
    p.add_argument("--force", action="store_true", help="rerun finished cases")
    p.add_argument("--merge", action="store_true",
                   help="rerun the given --variants of finished cases, keep the others' runs")
    p.add_argument("--quick", action="store_true", help="tiny budget, one seed, ala2 only")
    args = p.parse_args(argv)
    if args.quick:
        args.cases, args.seeds, args.budget, args.ref_factor = ["ala2-vacuum"], 1, 4000, 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.process_time()
    for name in args.cases:
        path = out / f"{name}.json"
        if path.exists() and not (args.force or args.merge or args.quick):
            continue
        case = run_case(name, args)
        if args.merge and path.exists():
            case = _merge(json.loads(path.read_text()), case)
        if not args.quick:
            write_json(path, case)
    done = [json.loads((out / f"{n}.json").read_text()) for n in CASES
            if (out / f"{n}.json").exists()]
    if args.quick or not done:
        return 0
    table = summarize(done)
    cmd = "OPENBLAS_NUM_THREADS=1 python examples/benchmark_conformers.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    write_text(out / "summary.md", f"Command: `{cmd.strip()}`\n\n{table}")
    plot(done, out / "best_vs_cpu.png")
    print(table)
    print(f"total CPU {time.process_time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
