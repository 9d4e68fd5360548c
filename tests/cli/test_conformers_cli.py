"""``gausslj conformers`` on bad input: a usage error naming the file, never a traceback."""

from __future__ import annotations

import sys

import pytest

from ase_gausslj.cli import main

pytest.importorskip("openmm")


@pytest.mark.parametrize("text", ["", "hello\nworld\n", "ATOM  garbage\n", "\x00\x01\x02"])
def test_unreadable_pdb_is_a_usage_error(tmp_path, capsys, text):
    pytest.importorskip("mdtraj")
    bad = tmp_path / "bad.pdb"
    bad.write_text(text)
    with pytest.raises(SystemExit) as info:
        main(["conformers", str(bad), "--budget", "2000"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "pdb:" in err and str(bad) in err and "Traceback" not in err


def test_missing_molecules_extra_says_what_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "mdtraj", None)  # import mdtraj -> ImportError
    pdb = tmp_path / "in.pdb"
    pdb.write_text("")
    assert main(["conformers", str(pdb)]) == 2
    err = capsys.readouterr().err
    assert 'pip install "gausslj[molecules]"' in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
