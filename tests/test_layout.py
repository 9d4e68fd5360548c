"""The layering rules of docs/architecture.md, checked on the source (AST only, no imports).

* no module-level import cycle inside ``ase_gausslj`` / ``openmm_gausslj``;
* the core imports neither ASE nor OpenMM; ``openmm_gausslj`` does not import ASE;
* modules stay readable in one sitting and functions fit in one's head (limits below, a
  little above the ~400 / ~80 lines of the style guide so the test flags drift, not taste).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ase_gausslj", "openmm_gausslj")
MODULE_LINES = 450
FUNCTION_BODY_LINES = 80  # statements after the docstring


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _module_imports(name: str, path: Path, deep: bool = False) -> set[str]:
    """Absolute names imported at module level (including inside if/try blocks); with
    ``deep``, also inside functions and classes (deferred imports)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for stmt in tree.body:
        nodes = (ast.walk(stmt) if deep or isinstance(stmt, (ast.If, ast.Try)) else [stmt])
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in MODULES else target)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def _graph(deep: bool) -> dict[str, set[str]]:
    graph = {}
    for m, p in MODULES.items():
        deps = set()
        for d in _module_imports(m, p, deep):
            # "from pkg import name" reaches pkg/__init__, which (lazily) serves every
            # public name: a package importing its own parts is not a cycle of ideas
            while d not in MODULES and "." in d:
                d = d.rsplit(".", 1)[0]
            if d in MODULES and d != m and not (m.startswith(d + ".") and d in PACKAGES):
                deps.add(d)
        graph[m] = deps
    return graph


@pytest.mark.parametrize("deep", [False, True], ids=["module-level", "with-deferred"])
def test_no_import_cycle(deep):
    # deep: a deferred import inside a function is still a dependency (issue 20: lazy
    # "historical name" shims made optimize and adapters import each other)
    graph = _graph(deep)
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize("prefix, banned", [
    ("ase_gausslj.core", ("ase", "openmm")),
    ("openmm_gausslj", ("ase",)),
])
def test_layers_do_not_import_upwards(prefix, banned):
    for name, path in MODULES.items():
        if name == prefix or name.startswith(prefix + "."):
            top = {imp.split(".")[0] for imp in _module_imports(name, path)}
            assert not top & set(banned), f"{name} imports {sorted(top & set(banned))}"


def _all_imports(name: str, path: Path) -> set[str]:
    """Top-level package names imported anywhere in the module (function bodies included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


@pytest.mark.parametrize("prefix, banned", [
    ("ase_gausslj.core", ("ase", "openmm", "asap3", "pele")),
    ("openmm_gausslj", ("ase", "asap3")),
])
def test_layers_do_not_import_upwards_even_inside_functions(prefix, banned):
    # a deferred import still ties the layer to the package (issue 20: core/bench.py
    # imported ASE and OpenMM inside functions, which the module-level scan missed)
    for name, path in MODULES.items():
        if name == prefix or name.startswith(prefix + "."):
            hit = _all_imports(name, path) & set(banned)
            assert not hit, f"{name} imports {sorted(hit)} (inside a function)"


def test_module_and_function_sizes():
    long_modules, long_functions = [], []
    for name, path in MODULES.items():
        text = path.read_text()
        if len(text.splitlines()) > MODULE_LINES:
            long_modules.append((name, len(text.splitlines())))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                first = body[0]
                has_doc = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                           and isinstance(first.value.value, str) and len(body) > 1)
                start = body[1].lineno if has_doc else first.lineno
                n = node.end_lineno - start + 1
                if n > FUNCTION_BODY_LINES:
                    long_functions.append((f"{name}.{node.name}", n))
    assert not long_modules, f"modules over {MODULE_LINES} lines: {long_modules}"
    assert not long_functions, f"functions over {FUNCTION_BODY_LINES} lines: {long_functions}"


def test_module_map_is_current():
    # docs/modules.md lists every module; a moved or new module must show up there
    import subprocess
    import sys

    rc = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_modules.py"), "--check"],
                        check=False).returncode
    assert rc == 0, "docs/modules.md is stale: run python docs/gen_modules.py"
