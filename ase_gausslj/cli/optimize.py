"""``gausslj optimize``: global minimization of an LJ cluster (reduced units).

The budget is a number of quenches (``--quenches``, alias ``--budget``), so a seeded run
prints the same result every time; ``--time-limit`` is an optional cap in seconds.
Ctrl-C (SIGTERM) writes ``--output``/``--xyz`` with the best found so far and exits 130
(143); ``--state`` is checkpointed during the run, and a rerun with it resumes.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..defaults import GLOBAL_METHODS, GLOBAL_OPT, GLOBAL_STRATEGIES
from ..io import interruptible, write_json, write_text
from .common import (
    EXIT_INTERRUPTED,
    add_output_options,
    atom_count,
    check_outputs,
    nonneg_float,
    positive_float,
    positive_int,
    probability,
    progress_enabled,
)

__all__ = ["add_cli"]

# one definition of every default, shared with global_minimize (a light module);
# tests/test_defaults.py compares this parser with the API signature
D = GLOBAL_OPT


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add the ``optimize`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "optimize", help="global minimization of an LJ cluster (basin hopping, smoothing)",
        description="Global minimization of an N-atom LJ cluster in reduced units. Prints a "
                    "JSON summary; the budget counts quenches, so a seeded run repeats.")
    p.add_argument("n_atoms", type=atom_count, help="number of atoms (>= 2)")
    p.add_argument("--method", choices=GLOBAL_METHODS, default=D.method,
                   help=f"search method (default {D.method}: measured best, "
                        "docs/when-to-smooth.md)")
    p.add_argument("--strategy", choices=GLOBAL_STRATEGIES, default=D.strategy,
                   help=f"walk of 'bh' (default {D.strategy}: the measured best for N, "
                        "results/hard/README.md; plain 'displacement' for most sizes)")
    p.add_argument("--quenches", "--budget", "--max-minimizations", dest="quenches",
                   type=positive_int, default=None, metavar="N",
                   help=f"local minimizations per start (default {D.max_minimizations}, or "
                        "unlimited with --time-limit)")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="SECONDS",
                   help="optional cap per start (a run stopped by it is not repeatable)")
    p.add_argument("--target-energy", type=float, default=None,
                   help="stop when the best energy reaches this value")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--n-starts", type=positive_int, default=D.n_starts)
    p.add_argument("--workers", type=positive_int, default=1,
                   help="process-pool size for --n-starts")
    p.add_argument("--temperature", type=nonneg_float, default=D.temperature)
    p.add_argument("--step", type=positive_float, default=D.step)
    p.add_argument("--widths", type=positive_float, nargs="+", default=list(D.widths))
    p.add_argument("--p-smooth", type=probability, default=D.p_smooth, metavar="P",
                   help=f"smoothed-bh: fraction of quenches that are smoothed (default "
                        f"{D.p_smooth}; e.g. 0.05: an occasional smoothed deep quench)")
    p.add_argument("--gtol", type=positive_float, default=D.gtol,
                   help=f"gradient tolerance of each quench (largest component; default "
                        f"{D.gtol}; new bests are polished to 1e-5)")
    p.add_argument("--minimizer", default=None,
                   help="L-BFGS implementation: 'compiled' (numba), 'scipy' (L-BFGS-B) or "
                        "'auto' (default: compiled for the built-in LJ)")
    p.add_argument("--clock", choices=("wall", "process"), default=D.clock)
    p.add_argument("--state", default=None, metavar="PATH",
                   help="resumable JSON state file (a rerun with it resumes)")
    p.add_argument("--checkpoint-every", type=positive_float, default=None, metavar="SECONDS",
                   help="seconds between --state writes (default: the library's, 10)")
    add_output_options(p)
    p.add_argument("--xyz", default=None, metavar="PATH", help="write the best structure")
    p.set_defaults(func=_cli_optimize, _subparser=p)
    return p


def _xyz(res) -> str:
    lines = [str(len(res.positions)), f"E={res.energy:.8f} method={res.method}"]
    lines += [f"X {x:.10f} {y:.10f} {z:.10f}" for x, y, z in res.positions]
    return "\n".join(lines) + "\n"


def _run(args):
    from ..optimize.globalopt import global_minimize

    kwargs = dict(
        method=args.method, max_minimizations=args.quenches, time_limit=args.time_limit,
        seed=args.seed, n_starts=args.n_starts, temperature=args.temperature,
        step=args.step, widths=args.widths, target_energy=args.target_energy,
        clock=args.clock, state_file=args.state, minimizer=args.minimizer,
        p_smooth=args.p_smooth, gtol=args.gtol, strategy=args.strategy,
        progress=progress_enabled(args) and args.n_starts == 1,
    )
    if args.checkpoint_every is not None:
        kwargs["checkpoint_every"] = args.checkpoint_every
    if args.workers > 1 and args.n_starts > 1:
        from ..parallel import process_pool  # fork-safe after numba's OpenMP

        with process_pool(args.workers) as ex:
            return global_minimize(args.n_atoms, executor=ex, **kwargs)
    return global_minimize(args.n_atoms, **kwargs)


def _cli_optimize(args) -> int:
    from ..optimize.clusters import LJ_GLOBAL_MINIMA

    try:
        # with --n-starts k the state files are <state>.0 .. <state>.k-1 (global_minimize)
        states = ([args.state] if args.n_starts == 1 else
                  [f"{args.state}.{k}" for k in range(args.n_starts)]) if args.state else []
        check_outputs([(args.output, "--output"), (args.xyz, "--xyz"),
                       *((s, "--state") for s in states)])
        res = None
        with interruptible() as interrupted:
            res = _run(args)
    except (ValueError, TypeError) as exc:
        args._subparser.error(str(exc))  # usage line, exit 2
    if res is None:  # Ctrl-C before the first quench finished: nothing to write
        print("interrupted before any result was available; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    # stdout holds only what a seed fixes (no timings), so two seeded runs print the same
    drop = ("positions", "runs", "trace", "elapsed")
    summary = {k: v for k, v in res.to_dict().items() if k not in drop}
    summary["trace_points"] = len(res.trace)
    known = LJ_GLOBAL_MINIMA.get(int(args.n_atoms))
    if known is not None:
        summary["known_global_minimum"] = known
        summary["gap"] = res.energy - known
    print(json.dumps(summary, indent=1))
    if known is not None:
        # the human-readable line goes to stderr so stdout stays one JSON document
        print(f"LJ{args.n_atoms}: best energy {res.energy:.6f}, known global minimum "
              f"{known:.6f}, gap {res.energy - known:.6f} after {res.n_minimizations} "
              f"quenches, {res.elapsed:.1f} s (strategy {res.strategy})", file=sys.stderr)
    if args.output:
        write_json(args.output, res.to_dict())
    if args.xyz:
        write_text(args.xyz, _xyz(res))
    return EXIT_INTERRUPTED if (interrupted or res.interrupted) else 0
