"""``gausslj`` command line: one subcommand per module of this package.

    gausslj bench      kernel benchmark
    gausslj conformers conformer search on a PDB (OpenMM)
    gausslj homotopy   Gaussian homotopy minimization of an LJ cluster
    gausslj optimize   global optimization (basin hopping with or without smoothing)
    gausslj smc        annealed sequential Monte Carlo sampling

Each ``ase_gausslj.cli.<name>`` module exposes ``add_cli(subparsers)``; this file only
assembles them. It imports **only the module of the subcommand being run**: the others
(which pull in numba, scipy.optimize or ASE) get a placeholder entry carrying their
one-line help, so ``gausslj --help`` loads none of them. :func:`build_parser` with no
argument imports every module (tests use it to check the placeholders' help lines).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable

from .common import run_command

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

#: subcommand -> its one-line help (what ``gausslj --help`` shows without importing it);
#: the module is ``ase_gausslj.cli.<subcommand>``
SUBCOMMANDS: dict[str, str] = {
    "bench": "kernel benchmark (its own options follow; `gausslj bench --help`)",
    "conformers": "conformer search on a PDB (OpenMM; plain, smoothed, hrex)",
    "homotopy": "Gaussian homotopy minimization of an LJ cluster",
    "optimize": "global minimization of an LJ cluster (basin hopping, smoothing)",
    "smc": "annealed Langevin / sequential Monte Carlo sampling of an LJ cluster",
}


def build_parser(load: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``gausslj`` parser.

    Parameters
    ----------
    load : iterable of str, optional
        Subcommands whose modules are imported and whose full parsers are built; the
        others are placeholders (name and help only). ``None`` (default): all of them.
    """
    parser = argparse.ArgumentParser(
        prog="gausslj", description="Analytic Gaussian smoothing of Lennard-Jones clusters."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = set(SUBCOMMANDS) if load is None else set(load)
    for name, help_line in SUBCOMMANDS.items():
        if name in wanted:
            importlib.import_module(f"ase_gausslj.cli.{name}").add_cli(sub)
        else:
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def _requested(argv: list[str]) -> str | None:
    """The subcommand named on the command line, if any (top-level options come first)."""
    for token in argv:
        if not token.startswith("-"):
            return token if token in SUBCOMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gausslj`` script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    name = _requested(argv)
    parser = build_parser(() if name is None else (name,))
    # a subcommand that forwards its options (bench) sets `pass_through`; argparse's
    # REMAINDER would not forward a leading `--help`, hence parse_known_args
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "pass_through", False):
        args.rest = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return run_command(parser, args)


if __name__ == "__main__":
    sys.exit(main())
