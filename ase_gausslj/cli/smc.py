"""``gausslj smc``: annealed Langevin / SMC sampling of an LJ cluster.

Conventions of :mod:`ase_gausslj.cli.common`: typed options (a bad value is a usage
error, exit 2), ``--output PREFIX`` (one ``PREFIX_seed<s>.json`` + ``.npz`` per run,
written atomically; the prefix is extended, never cut at a dot: ``run.v1`` gives
``run.v1_seed0.json``; a trailing ``.json``/``.npz`` is dropped), ``--progress/--no-progress``,
and Ctrl-C or SIGTERM writes the runs done so far (the interrupted one flagged
``"interrupted": true``) and exits 130 or 143 (with ``--workers > 1`` the runs still in
the pool are lost: only a serial run keeps its partial state).
"""

from __future__ import annotations

import argparse
import json
import sys

from ..io import interruptible
from . import SUBCOMMANDS  # the one-line help `gausslj --help` shows without importing us
from .common import (
    EXIT_INTERRUPTED,
    add_output_options,
    atom_count,
    check_outputs,
    nonneg_float,
    nonneg_int,
    positive_float,
    positive_int,
    progress_enabled,
)

__all__ = ["add_cli"]

# the choices of ase_gausslj.sampling.options (not imported: `gausslj --help` stays light);
# tests/sampling/test_cli.py checks that they agree
_PATHS = ("gaussian", "mixture-linear", "mixture-geometric", "gaussian-adaptive")
_MUTATIONS = ("ula", "mala")


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register the ``smc`` subcommand; its ``func(args) -> int`` is the entry point."""
    p = subparsers.add_parser(
        "smc",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help=SUBCOMMANDS["smc"],
        description="Sample exp(-E/kT) of an LJ cluster by annealing the Gaussian width "
        "(or a prior mixture); prints the paper's metric and SMC diagnostics.",
    )
    p.add_argument("--n-atoms", type=atom_count, default=13, help="cluster size (>= 2)")
    # the defaults are SMCOptions' (one definition; tests/test_defaults.py compares)
    from ..sampling.options import SMCOptions

    d = SMCOptions()
    p.add_argument("--path", choices=_PATHS, default=d.path, help="annealing path")
    p.add_argument("--replicas", type=positive_int, default=d.n_replicas, help="replicas R")
    p.add_argument("--steps", type=positive_int, default=d.n_steps,
                   help="annealing steps of the fixed paths")
    p.add_argument("--mutation", choices=_MUTATIONS, default=d.mutation, help="Langevin move")
    p.add_argument("--step-size", type=positive_float, default=d.step_size,
                   help="(initial) Langevin step h")
    p.add_argument("--resample", action="store_true", default=d.resample,
                   help="real SMC (weights, log Z)")
    p.add_argument("--harmonic", type=nonneg_float, default=d.harmonic,
                   help="confinement c (0 allowed)")
    p.add_argument("--kT", type=positive_float, default=d.kT, help="temperature (epsilon)")
    p.add_argument("--seed", type=nonneg_int, default=d.seed, help="seed of the first run")
    p.add_argument("--runs", type=positive_int, default=1, help="independent runs (seeds seed..)")
    p.add_argument("--width-start", type=nonneg_float, default=d.width_start,
                   help="first width (Gaussian paths)")
    p.add_argument("--width-end", type=nonneg_float, default=d.width_end,
                   help="last smoothed width (<= --width-start)")
    p.add_argument("--burnin", type=nonneg_int, default=d.n_burnin,
                   help="moves at --width-start before annealing")
    p.add_argument("--adapt-step", choices=("auto", "yes", "no"),
                   default={None: "auto", True: "yes", False: "no"}[d.adapt_step],
                   help="adapt h to the acceptance (auto: yes for MALA)")
    p.add_argument("--final-moves", type=nonneg_int, default=d.final_moves,
                   help="extra moves at the final target")
    p.add_argument("--workers", type=positive_int, default=1, help="process pool size for --runs")
    add_output_options(p, output_help="prefix of the result files: PREFIX_seed<s>.json/.npz")
    p.set_defaults(func=_main, _subparser=p)
    return p


_EXTS = (".json", ".npz")  # the files of one run (SMCResult.save)


def _run_prefixes(output: str | None, seeds: list[int]) -> dict[int, str]:
    """seed -> the prefix of its files: ``--output`` + ``_seed<s>`` (nothing cut at dots)."""
    if output is None:
        return {}
    for ext in _EXTS:
        if output.endswith(ext) and len(output) > len(ext):
            output = output[: -len(ext)]
            break
    return {s: f"{output}_seed{s}" for s in seeds}


def _main(args: argparse.Namespace) -> int:
    # the library's ValueError/TypeError become a usage line in common.run_command
    try:
        return _run(args)
    except FloatingPointError as exc:  # a diverged sampler: not a usage error, no traceback
        print(f"gausslj smc: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from ..sampling.smc import SMCOptions, run_smc_repeats

    adapt = {"auto": None, "yes": True, "no": False}[args.adapt_step]
    options = SMCOptions(
        path=args.path, n_replicas=args.replicas, n_steps=args.steps,
        mutation=args.mutation, step_size=args.step_size, resample=args.resample,
        harmonic=args.harmonic, kT=args.kT, width_start=args.width_start,
        width_end=args.width_end, n_burnin=args.burnin, adapt_step=adapt,
        final_moves=args.final_moves,
    )
    seeds = list(range(args.seed, args.seed + args.runs))
    prefixes = _run_prefixes(args.output, seeds)
    check_outputs((f"{prefixes[s]}{ext}", "--output") for s in prefixes for ext in _EXTS)
    progress = progress_enabled(args) and args.workers <= 1
    results = []
    with interruptible() as stopped:
        if args.workers > 1:
            from ..parallel import process_pool  # fork-safe after numba's OpenMP

            with process_pool(args.workers) as ex:
                results = run_smc_repeats(args.n_atoms, seeds, executor=ex, options=options,
                                          progress=progress)
        else:
            results = run_smc_repeats(args.n_atoms, seeds, options=options, progress=progress)
    interrupted = bool(stopped) or any(r.interrupted for r in results)
    mins = []
    for seed, res in zip(seeds, results, strict=False):
        s = res.summary()
        mins.append(s["min_lj_energy"])
        print(json.dumps({"seed": seed, **s}))
        if args.output:
            res.save(prefixes[seed])
    if len(mins) > 1:
        import numpy as np

        print(f"min LJ energy over replicas: {np.mean(mins):.3f} +- {np.std(mins):.3f} "
              f"({len(mins)} runs)")
    return EXIT_INTERRUPTED if interrupted else 0
