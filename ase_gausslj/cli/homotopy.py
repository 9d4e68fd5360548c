"""``gausslj homotopy``: Gaussian homotopy minimization of an LJ cluster (reduced units).

Ctrl-C (SIGTERM) writes ``--output`` with the runs done so far and exits 130 (143).
"""

from __future__ import annotations

import argparse
import sys

from ..defaults import HOMOTOPY, HOMOTOPY_OPTIMIZERS
from ..io import interruptible, write_json
from .common import (
    EXIT_INTERRUPTED,
    add_output_options,
    atom_count,
    check_outputs,
    positive_int,
    progress_enabled,
)

__all__ = ["add_cli"]



def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add the ``homotopy`` subcommand to an :mod:`argparse` subparsers object."""
    p = subparsers.add_parser(
        "homotopy", help="Gaussian homotopy minimization of an LJ cluster",
        description="Minimize an N-atom LJ cluster from random N(0,1) starts by annealing "
                    "the Gaussian width (Ram & Ram 2025).")
    p.add_argument("n_atoms", type=atom_count, help="number of atoms (>= 2)")
    p.add_argument("--runs", type=positive_int, default=HOMOTOPY.runs,
                   help="number of random starts")
    p.add_argument("--seed", type=int, default=HOMOTOPY.seed, help="first seed")
    p.add_argument("--protocol", choices=["default", "paper", "budget"], default="default")
    p.add_argument("--optimizer", choices=list(HOMOTOPY_OPTIMIZERS), default=None,
                   help=f"inner minimizer (default {HOMOTOPY.optimizer}; adam for the "
                        "paper's protocols)")
    p.add_argument("--no-homotopy", action="store_true",
                   help="plain minimization at width 0 (the baseline)")
    p.add_argument("--compare-plain", action=argparse.BooleanOptionalAction, default=None,
                   help="also minimize plainly from each start, keep the lower (default: "
                        "on for the default protocol, off for the paper's)")
    p.add_argument("--max-steps", type=positive_int, default=None)
    p.add_argument("--polish", action="store_true", help="final L-BFGS at width 0")
    p.add_argument("--workers", type=positive_int, default=1, help="process pool size")
    add_output_options(p, output_help="write every run as JSON")
    # the old name of --output, kept so existing scripts keep working
    p.add_argument("--json", dest="output", help=argparse.SUPPRESS)
    p.set_defaults(func=_cli_main, _subparser=p)
    return p


def _run(args):
    from ..optimize.multistart import multistart

    kwargs = {
        "protocol": None if args.protocol == "default" else args.protocol,
        "optimizer": args.optimizer,
        "max_steps": args.max_steps,
        "polish": args.polish,
        "compare_plain": args.compare_plain,
        "progress": progress_enabled(args),
    }
    if args.no_homotopy:
        kwargs["widths"] = [0.0]
    seeds = list(range(args.seed, args.seed + args.runs))
    if args.workers > 1:
        from ..parallel import process_pool  # fork-safe after numba's OpenMP

        with process_pool(args.workers) as ex:
            return multistart(args.n_atoms, seeds=seeds, executor=ex, **kwargs)
    return multistart(args.n_atoms, seeds=seeds, **kwargs)


def _cli_main(args) -> int:
    import numpy as np

    try:
        check_outputs([(args.output, "--output")])
        ms = None
        with interruptible() as interrupted:
            ms = _run(args)
    except (ValueError, TypeError) as exc:
        args._subparser.error(str(exc))  # usage line, exit 2
    if ms is None:
        print("interrupted before any result was available; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    for r in sorted(ms.results, key=lambda r: r.seed):
        note = "  (interrupted)" if r.interrupted else ""
        note += "  DISPERSED" if r.dispersed else ""
        note += "  (plain minimum was lower)" if r.used_plain else ""
        print(f"seed {r.seed}: E = {r.energy:.4f}  widths visited {r.widths_visited}  "
              f"steps {r.n_steps}  {r.wall_time:.1f} s{note}")
    e = ms.energies
    print(f"best {e.min():.4f}  median {np.median(e):.4f}")
    if args.output:
        write_json(args.output, [r.to_dict() for r in ms.results])
    return EXIT_INTERRUPTED if (interrupted or ms.interrupted) else 0
