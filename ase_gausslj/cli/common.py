"""Conventions every ``gausslj`` subcommand follows (one place, so they cannot drift).

* ``--output PATH`` writes the full result as JSON (atomically, also after Ctrl-C);
* ``--progress`` / ``--no-progress``: progress on by default when stderr is a terminal;
* ``--seed`` makes a run repeat exactly; ``--workers`` sizes a process pool;
* a bad value is an ``argparse`` usage error (exit 2), never a traceback: option types
  below reject it at parse time and :func:`run_command` turns a ``ValueError`` or
  ``TypeError`` raised by the library into the same usage line;
* Ctrl-C ends a long run early; the command writes what it has and exits 130.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

__all__ = [
    "EXIT_INTERRUPTED",
    "positive_int",
    "nonneg_int",
    "positive_float",
    "nonneg_float",
    "atom_count",
    "probability",
    "add_output_options",
    "progress_enabled",
    "run_command",
]

EXIT_INTERRUPTED = 130


def _typed(conv: Callable, test: Callable, what: str) -> Callable[[str], object]:
    def parse(text: str):
        try:
            value = conv(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value) or not test(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse prints it in "invalid <name> value"
    return parse


positive_int = _typed(int, lambda v: v > 0, "a positive integer")
nonneg_int = _typed(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _typed(float, lambda v: v > 0, "a positive number")
nonneg_float = _typed(float, lambda v: v >= 0, "a number >= 0")
atom_count = _typed(int, lambda v: v >= 2, "an integer >= 2")
probability = _typed(float, lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]")


def add_output_options(
    p: argparse.ArgumentParser, *, output_help: str = "write the result as JSON"
) -> None:
    """``--output`` and ``--progress/--no-progress``."""
    p.add_argument("--output", default=None, metavar="PATH", help=output_help)
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: on when stderr is a terminal)")


def progress_enabled(args: argparse.Namespace) -> bool:
    flag = getattr(args, "progress", None)
    return sys.stderr.isatty() if flag is None else bool(flag)


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run ``args.func(args)``; library argument errors become a usage line (exit 2)."""
    try:
        result = args.func(args)
    except (ValueError, TypeError) as exc:
        sub = getattr(args, "_subparser", None) or parser
        sub.error(str(exc))  # exits 2 with the usage line
    return int(result) if isinstance(result, int) else 0
