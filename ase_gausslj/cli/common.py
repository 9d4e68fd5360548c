"""Conventions every ``gausslj`` subcommand follows (one place, so they cannot drift).

* ``--output PATH`` writes the full result as JSON (atomically, also after Ctrl-C);
* ``--progress`` / ``--no-progress``: progress on by default when stderr is a terminal;
* ``--seed`` makes a run repeat exactly; ``--workers`` sizes a process pool;
* a bad value is an ``argparse`` usage error (exit 2), never a traceback: option types
  below reject it at parse time and :func:`run_command` turns a ``ValueError`` or
  ``TypeError`` raised by the library into the same usage line;
* Ctrl-C (SIGINT) or SIGTERM (what batch schedulers send) ends a long run early; the
  command writes what it has and exits 130 after SIGINT, 143 after SIGTERM
  (``128 + signal``, the shell's convention); a second SIGTERM ends it at once;
* every output path is checked before the run (:func:`check_outputs`): it must be a new
  or regular file (a symlink is written through), in a writable directory, and no two
  outputs of one command may be the same file.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Callable, Iterable

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "check_outputs",
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

EXIT_INTERRUPTED = 130  # 128 + SIGINT: stopped by Ctrl-C, partial results written
EXIT_TERMINATED = 143  # 128 + SIGTERM: stopped by a scheduler, partial results written


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


def check_outputs(paths: Iterable[tuple[str | os.PathLike | None, str]]) -> None:
    """Refuse, before any work, outputs that cannot be written or would overwrite each other.

    ``paths`` holds ``(path, option name)`` pairs (None paths are skipped): each must pass
    :func:`ase_gausslj.io.check_writable`, and no two may name the same file (after
    following symlinks), since the second would silently replace the first.
    """
    from ..io import check_writable, output_target

    seen: dict[str, str] = {}
    for path, name in paths:
        if path is None:
            continue
        check_writable(path, name)
        key = os.fspath(output_target(path, name))
        if key in seen:
            raise ValueError(f"{name}: {os.fspath(path)!r} is also the file of {seen[key]}; "
                             "give each output its own path")
        seen[key] = name


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run ``args.func(args)``; library argument errors become a usage line (exit 2).

    SIGTERM interrupts the run like Ctrl-C (the subcommand writes what it has); the exit
    status is then 143 instead of 130.
    """
    from ..io import signals_as_interrupt

    with signals_as_interrupt() as sig:
        try:
            result = args.func(args)
        except (ValueError, TypeError) as exc:
            sub = getattr(args, "_subparser", None) or parser
            sub.error(str(exc))  # exits 2 with the usage line
        except KeyboardInterrupt:  # before the run's loop began, or while writing
            print(f"gausslj {args.command}: interrupted before any result was complete; "
                  "files written so far are kept", file=sys.stderr)
            result = EXIT_INTERRUPTED
    result = int(result) if isinstance(result, int) else 0
    if result == EXIT_INTERRUPTED and sig.signum == signal.SIGTERM:
        return EXIT_TERMINATED
    return result
