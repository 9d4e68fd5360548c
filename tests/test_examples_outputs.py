"""Examples never write into the tracked ``results/`` unless told to (issue 19).

``python examples/size_sweep.py --sizes 13 --seeds 0 --budget 1 --no-pele`` used to rewrite
``results/engine/size_sweep.json`` and README's figure. Every argparse default of every
example (and of ``gausslj bench``) is read here from the source: no default may point into
``results/``, and output options default to None or to the untracked scratch directory.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ase_gausslj.io import SCRATCH_DIR, scratch_path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "examples").glob("*.py")) + [ROOT / "ase_gausslj" / "bench.py"]
OUTPUT_OPTIONS = {"--out", "--output", "--json", "--plot", "--figure", "--log", "--state-dir",
                  "--save-values", "--pdb-prefix", "--xyz"}


def _defaults(path: Path) -> list[tuple[list[str], ast.expr]]:
    """(option strings, default expression) of every ``add_argument`` call with a default."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            names = [a.value for a in node.args if isinstance(a, ast.Constant)]
            for kw in node.keywords:
                if kw.arg == "default":
                    found.append((names, kw.value))
    return found


def _value(expr: ast.expr):
    """The default's value when it is a literal or ``scratch_path(<literals>)``; else ...."""
    if isinstance(expr, ast.Call) and getattr(expr.func, "id", "") == "scratch_path":
        return scratch_path(*(ast.literal_eval(a) for a in expr.args))
    try:
        return ast.literal_eval(expr)
    except ValueError:
        return ...


def _points_into_results(value) -> bool:
    return isinstance(value, str) and Path(value).parts[:1] == ("results",)


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_no_default_output_goes_into_tracked_results(script):
    for names, expr in _defaults(script):
        value = _value(expr)
        assert not _points_into_results(value), f"{script.name} {names}: default {value!r}"
        if OUTPUT_OPTIONS & set(names):
            assert value is None or (isinstance(value, str) and Path(value).parts[0]
                                     == SCRATCH_DIR), f"{script.name} {names}: {value!r}"


def test_the_scan_sees_the_output_options():
    # guards the test above against silently scanning nothing
    seen = {n for s in SCRIPTS for names, _ in _defaults(s) for n in names}
    assert {"--out", "--output", "--plot"} <= seen
    sweep = dict((tuple(n), _value(e)) for n, e in _defaults(ROOT / "examples" / "size_sweep.py"))
    assert sweep[("--output",)] == scratch_path("engine", "size_sweep.json")


def test_scratch_dir_is_ignored_by_git():
    assert f"{SCRATCH_DIR}/" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.slow
def test_openmm_smooth_peptide_repeats_with_a_seed(tmp_path):
    import subprocess
    import sys

    pytest.importorskip("openmm")
    cmd = [sys.executable, str(ROOT / "examples" / "openmm_smooth_peptide.py"), "--steps", "300",
           "--seed", "3"]
    runs = [subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout and "homotopy result" in runs[0].stdout
