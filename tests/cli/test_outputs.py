"""Output files: never replace a non-regular file, never lose a run to a name clash.

Rules (issue 19): every output of every subcommand refuses a directory, FIFO or device
(also through a symlink) *before any work*; a symlink to a regular file is written
through; new files get ``0o666 & ~umask`` like ``open()``; multi-file outputs extend the
given name and never cut it at a dot (``run.v1`` used to become ``run``).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from ase_gausslj.cli import main
from ase_gausslj.io import check_writable, write_bytes, write_json, write_npz, write_text

# --------------------------------------------------------------------------- io layer


KINDS = ("directory", "fifo", "link_to_fifo", "link_to_devnull", "link_to_directory")


def _make(kind: str, path: Path) -> Path:
    """Put something that is not a regular file at ``path``."""
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "link_to_fifo":
        os.mkfifo(path.with_name(path.name + ".target"))
        path.symlink_to(path.with_name(path.name + ".target"))
    elif kind == "link_to_devnull":  # a device, without being root to make one
        path.symlink_to("/dev/null")
    elif kind == "link_to_directory":
        path.with_name(path.name + ".target").mkdir()
        path.symlink_to(path.with_name(path.name + ".target"))
    return path


def _kinds(tmp_path: Path) -> dict[str, Path]:
    return {k: _make(k, tmp_path / k) for k in KINDS}


@pytest.mark.parametrize("writer", [
    lambda p: write_json(p, {"a": 1}), lambda p: write_text(p, "x"),
    lambda p: write_bytes(p, b"x"), lambda p: write_npz(p, a=np.zeros(2))])
def test_writers_refuse_non_regular_files(tmp_path, writer):
    for name, path in _kinds(tmp_path).items():
        before = os.lstat(path)
        with pytest.raises(ValueError, match="directory|not a regular file"):
            writer(path)
        after = os.lstat(path)  # untouched: same kind, same inode
        assert (stat.S_IFMT(after.st_mode), after.st_ino) == (
            stat.S_IFMT(before.st_mode), before.st_ino), name
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no leftovers


def test_check_writable_refuses_non_regular_files(tmp_path):
    for name, path in _kinds(tmp_path).items():
        with pytest.raises(ValueError, match="--output"):
            check_writable(path, "--output")
        assert os.path.lexists(path), name
    assert check_writable(tmp_path / "new.json", "--output") == tmp_path / "new.json"


def test_symlink_to_a_regular_file_is_written_through(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_json(link, {"new": True})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text()) == {"new": True}
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "made.json")
    write_text(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "made.json").read_text() == "made"


def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_json(tmp_path / "a.json", 1)
        write_npz(tmp_path / "a.npz", x=np.ones(1))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "a.npz").st_mode) == 0o640
    kept = tmp_path / "kept.txt"
    kept.write_text("x")
    kept.chmod(0o604)
    write_text(kept, "y")
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o604 and kept.read_text() == "y"


# ------------------------------------------ every output of every subcommand, before work

def _no_work(*_a, **_k):
    raise AssertionError("the run started although an output path is unusable")


@pytest.fixture
def no_work(monkeypatch):
    """Every subcommand's work function fails the test if it is reached."""
    import ase_gausslj.bench as bench
    import ase_gausslj.optimize.globalopt as globalopt
    import ase_gausslj.optimize.multistart as multistart
    import ase_gausslj.sampling.smc as smc

    monkeypatch.setattr(globalopt, "global_minimize", _no_work)
    monkeypatch.setattr(multistart, "multistart", _no_work)
    monkeypatch.setattr(smc, "run_smc_repeats", _no_work)
    monkeypatch.setattr(bench, "get_table", _no_work)
    try:
        import functools

        import openmm_gausslj.molecules.conformers as conformers

        # keeps the signature (functools.wraps): the CLI reads its defaults from it
        stand_in = functools.wraps(conformers.search_conformers)(
            lambda *a, **kw: _no_work(*a, **kw))
        monkeypatch.setattr(conformers, "search_conformers", stand_in)
    except ImportError:
        pass


def _cases(tmp_path: Path) -> list[tuple[list[str], str, str]]:
    """(argv, option named in the error, the path that is made bad); ``{}`` is a fresh
    name per case, used as the output itself or as the prefix of the derived files."""
    pdb = tmp_path / "in.pdb"
    pdb.write_text("")
    cases = [
        (["optimize", "13", "--output", "{}"], "--output", "{}"),
        (["optimize", "13", "--xyz", "{}"], "--xyz", "{}"),
        (["optimize", "13", "--state", "{}"], "--state", "{}"),
        (["optimize", "13", "--state", "{}", "--n-starts", "3"], "--state", "{}.2"),
        (["homotopy", "13", "--output", "{}"], "--output", "{}"),
        (["homotopy", "13", "--json", "{}"], "--output", "{}"),  # the old name
        # smc writes PREFIX_seed<s>.json/.npz: the second run's npz is the bad one
        (["smc", "--runs", "2", "--output", "{}"], "--output", "{}_seed1.npz"),
        (["bench", "--out", "{}"], "--out", "{}"),
    ]
    try:
        import mdtraj  # noqa: F401  (conformers needs the molecules extra)
    except ImportError:
        return cases
    return cases + [
        (["conformers", str(pdb), "--output", "{}"], "--output", "{}"),
        (["conformers", str(pdb), "--plot", "{}"], "--plot", "{}"),
        (["conformers", str(pdb), "--pdb-prefix", "{}", "--keep", "3"], "--pdb-prefix",
         "{}_03.pdb"),
        (["conformers", str(pdb), "--output", "{}.json"], "--pdb-prefix", "{}_01.pdb"),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_every_output_refuses_a_non_regular_file_before_work(tmp_path, kind, no_work,
                                                              capsys):
    for k, (argv, option, bad) in enumerate(_cases(tmp_path)):
        name = str(tmp_path / f"case{k}")
        target = _make(kind, Path(bad.format(name)))
        with pytest.raises(SystemExit) as info:
            main([a.format(name) for a in argv])
        assert info.value.code == 2, argv
        err = capsys.readouterr().err
        assert option in err and ("directory" in err or "not a regular file" in err), err
        assert os.path.lexists(target) and not os.path.isfile(target), argv


# ------------------------------------------------ multi-file outputs: distinct, never cut

def test_smc_runs_keep_every_seed_and_the_dotted_name(tmp_path, capsys):
    from ase_gausslj.sampling.results import SMCResult

    prefix = tmp_path / "scratch" / "run.v1"
    prefix.parent.mkdir()
    assert main(["smc", "--n-atoms", "4", "--replicas", "6", "--steps", "5", "--burnin", "0",
                 "--runs", "3", "--output", str(prefix)]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in prefix.parent.iterdir())
    assert names == [f"run.v1_seed{s}.{ext}" for s in range(3) for ext in ("json", "npz")]
    positions = [SMCResult.load(prefix.parent / f"run.v1_seed{s}").positions for s in range(3)]
    assert not np.allclose(positions[0], positions[1])  # three runs, not one overwritten


def test_optimize_outputs_must_be_distinct_and_keep_dotted_names(tmp_path, capsys):
    out = tmp_path / "run.v1.json"
    with pytest.raises(SystemExit) as info:
        main(["optimize", "5", "--quenches", "2", "--output", str(out), "--xyz", str(out)])
    assert info.value.code == 2 and "--xyz" in capsys.readouterr().err
    link = tmp_path / "alias.json"
    link.symlink_to(out)  # the same file under another name
    with pytest.raises(SystemExit):
        main(["optimize", "5", "--quenches", "2", "--output", str(out), "--state", str(link)])
    assert not out.exists()
    paths = {"--output": tmp_path / "run.v1.json", "--xyz": tmp_path / "run.v1.xyz",
             "--state": tmp_path / "run.v1.state"}
    argv = ["optimize", "5", "--quenches", "3", "--seed", "0"]
    assert main(argv + [x for kv in paths.items() for x in map(str, kv)]) == 0
    capsys.readouterr()
    assert json.loads(paths["--output"].read_text())["n_minimizations"] == 3
    assert paths["--xyz"].read_text().splitlines()[0] == "5"
    assert json.loads(paths["--state"].read_text())["n_min"] == 3


def test_conformer_pdbs_are_named_after_the_whole_output_name(tmp_path):
    from ase_gausslj.cli import build_parser
    from ase_gausslj.cli.conformers import _pdb_paths

    def pdbs(*extra):
        return _pdb_paths(build_parser(["conformers"]).parse_args(
            ["conformers", "in.pdb", "--keep", "2", *extra]))

    # before: run.v1 and run.v2 both wrote run_01.pdb (Path.with_suffix cut the name)
    assert pdbs("--output", "s/run.v1") == ["s/run.v1_01.pdb", "s/run.v1_02.pdb"]
    assert pdbs("--output", "s/run.v2.json") == ["s/run.v2_01.pdb", "s/run.v2_02.pdb"]
    assert pdbs("--output", "o.json", "--pdb-prefix", "p.x") == ["p.x_01.pdb", "p.x_02.pdb"]
    assert pdbs() == []
