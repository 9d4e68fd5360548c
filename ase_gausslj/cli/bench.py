"""``gausslj bench``: the kernel benchmark, from the installed package.

The benchmark's own options follow the subcommand (``gausslj bench --help`` shows them).
Its code lives in the package (``ase_gausslj.bench``: outside the core, because it imports
ASE, OpenMM and the anchors), so the command works in an installed copy; only a source
checkout without it falls back to ``examples/benchmark_kernels.py``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
from collections.abc import Callable

__all__ = ["add_cli", "find_benchmark"]

# where the benchmark may live, first match wins
_MODULES = ("ase_gausslj.bench",)
_EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples", "benchmark_kernels.py")


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def find_benchmark() -> tuple[Callable[[list[str]], object], str]:
    """The benchmark's ``main(argv)`` and where it came from.

    Raises
    ------
    RuntimeError
        If neither the package module nor the examples file is available.
    """
    for name in _MODULES:
        if _module_exists(name):
            return importlib.import_module(name).main, name
    if os.path.exists(_EXAMPLE):
        import runpy

        return runpy.run_path(_EXAMPLE, run_name="gausslj_bench")["main"], _EXAMPLE
    raise RuntimeError("the kernel benchmark is not available in this installation "
                       f"(looked for {', '.join(_MODULES)})")


def _run(args: argparse.Namespace) -> int:
    main, _ = find_benchmark()
    result = main(list(args.rest))
    return int(result) if isinstance(result, int) else 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add ``bench`` to the ``gausslj`` subparsers.

    Its options are the benchmark's own: :func:`ase_gausslj.cli.main` passes every
    argument after ``bench`` through unparsed (``pass_through``) as ``args.rest``.
    """
    from . import SUBCOMMANDS

    p = subparsers.add_parser("bench", help=SUBCOMMANDS["bench"], add_help=False,
                              description="Kernel benchmark; options are the benchmark's.")
    p.set_defaults(func=_run, _subparser=p, pass_through=True, rest=[])
    return p
