"""``gausslj`` command line: one subcommand per task.

    gausslj bench      kernel benchmark (examples/benchmark_kernels.py equivalent)
    gausslj homotopy   Gaussian homotopy minimization of an LJ cluster
    gausslj optimize   global optimization (basin hopping with or without smoothing)
    gausslj smc        annealed sequential Monte Carlo sampling

Subcommands live next to the code they drive (``add_cli`` in each module); this file
only assembles them, importing each module when the parser is built.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "build_parser"]

_MODULES = ("optimize", "homotopy", "smc")  # ase_gausslj.cli.<name>.add_cli


def _bench(args) -> int:
    import os
    import runpy

    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(os.path.dirname(here), "examples", "benchmark_kernels.py")
    if not os.path.exists(script):
        print("examples/benchmark_kernels.py is not available in this installation")
        return 1
    sys.argv = [script, *args.rest]
    runpy.run_path(script, run_name="__main__")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gausslj", description="Analytic Gaussian smoothing of Lennard-Jones clusters."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="kernel benchmark (arguments passed through)")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_bench)
    for name in _MODULES:
        module = importlib.import_module(f"ase_gausslj.cli.{name}")
        module.add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result = args.func(args)
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
