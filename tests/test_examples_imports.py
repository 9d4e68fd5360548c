"""Every name an example imports from gausslj exists (a moved name broke a quickstart once).

Checked statically: the ``from ase_gausslj... import X`` / ``from openmm_gausslj... import X``
statements of each script (module level and inside functions) are resolved by importing the
named module and looking the name up, without running the scripts.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "examples").glob("*.py"))
PACKAGES = ("ase_gausslj", "openmm_gausslj")


def _imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PACKAGES:
                out.extend((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            out.extend((alias.name, "") for alias in node.names
                       if alias.name.split(".")[0] in PACKAGES)
    return out


def test_examples_found():
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_imports_resolve(script):
    for module, name in _imports(script):
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            if exc.name and exc.name.split(".")[0] not in PACKAGES:
                pytest.skip(f"optional dependency {exc.name} not installed")
            raise AssertionError(f"{script.name}: cannot import {module}: {exc}") from exc
        if name and name != "*" and not hasattr(mod, name):
            try:  # a submodule imported by name
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                raise AssertionError(f"{script.name}: {module} has no name {name!r}") from None
