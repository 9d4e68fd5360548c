"""``import openmm_gausslj`` is lazy (issue 20): the heavy layers load on first use."""

import subprocess
import sys

import openmm_gausslj


def test_import_loads_no_numba_scipy_or_submodules():
    code = ("import sys, openmm_gausslj; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numba', 'scipy', 'ase_gausslj') or m.startswith('openmm_gausslj.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_public_name_resolves_and_unknown_names_raise():
    for name in openmm_gausslj.__all__:
        assert getattr(openmm_gausslj, name) is not None
    assert set(openmm_gausslj.__all__) <= set(dir(openmm_gausslj))
    try:
        openmm_gausslj.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
