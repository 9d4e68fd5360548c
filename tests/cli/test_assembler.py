"""The ``gausslj`` assembler: light ``--help``, one module per subcommand, ``bench``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ase_gausslj.cli import SUBCOMMANDS, build_parser, main

HEAVY = ("numba", "scipy", "ase")


def _python(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _loaded_after(code: str, cwd) -> list[str]:
    out = _python(code + "\nimport json, sys\n"
                  f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & "
                  f"set({list(HEAVY)!r}))))", cwd)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_is_light(tmp_path):
    assert _loaded_after("import ase_gausslj", tmp_path) == []


def test_top_level_help_is_light(tmp_path):
    code = ("from ase_gausslj.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n")
    assert _loaded_after(code, tmp_path) == []


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in text


def _help_lines(parser) -> dict[str, str]:
    sub = next(a for a in parser._actions if a.dest == "command")
    return {a.dest: a.help for a in sub._choices_actions}


def test_placeholder_help_equals_the_modules_help():
    # the light parser shows SUBCOMMANDS' lines; the full one each module's own: they
    # must not drift apart
    assert _help_lines(build_parser(())) == _help_lines(build_parser())


@pytest.mark.parametrize("argv", [["bogus"], ["--bogus"], []])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: gausslj" in capsys.readouterr().err


def test_bench_help_from_outside_the_source_tree(tmp_path):
    # before: `gausslj bench` ran examples/benchmark_kernels.py by path (absent when
    # installed) and `--help` could not reach the benchmark's own options
    out = _python("from ase_gausslj.cli import main\nraise SystemExit(main(['bench', "
                  "'--help']))", tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--sizes" in out.stdout and "--width" in out.stdout


def test_bench_runs_from_the_package():
    from ase_gausslj.cli.bench import find_benchmark

    _, where = find_benchmark()
    assert where.startswith("ase_gausslj."), f"benchmark found only at {where}"


def test_bench_tiny_run_writes_its_output(tmp_path):
    out = tmp_path / "bench.json"
    run = _python("from ase_gausslj.cli import main\nraise SystemExit(main(['bench', "
                  f"'--sizes', '20', '--skip-anchors', '--no-liquid', '--out', {str(out)!r}]))",
                  tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    assert [r["pairs"] for r in rows] == [190]  # 20 atoms, all pairs
    assert rows[0]["smoothed_ms"] > 0


def test_a_subcommand_imports_only_its_own_module(tmp_path):
    code = ("import sys\nfrom ase_gausslj.cli import main\n"
            "try:\n    main(['smc', '--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "print(sorted(m for m in sys.modules if m.startswith('ase_gausslj.cli.')))")
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = out.stdout.strip().splitlines()[-1]
    assert "ase_gausslj.cli.smc" in loaded
    for other in ("optimize", "homotopy", "bench"):
        assert f"ase_gausslj.cli.{other}'" not in loaded
