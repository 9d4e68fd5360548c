"""``gausslj smc``: common CLI conventions, usage errors, Ctrl-C."""

from __future__ import annotations

import json

import pytest

from ase_gausslj.cli import main
from ase_gausslj.cli import smc as cli_smc
from ase_gausslj.cli.common import EXIT_INTERRUPTED
from ase_gausslj.sampling.options import MUTATIONS, PATHS
from ase_gausslj.sampling.targets import LJClusterTarget

SMALL = ["smc", "--n-atoms", "3", "--replicas", "6", "--steps", "8", "--path",
         "mixture-linear", "--no-progress"]


def test_choices_agree_with_the_library():
    assert cli_smc._PATHS == PATHS and cli_smc._MUTATIONS == MUTATIONS


@pytest.mark.parametrize(
    "argv, word",
    [
        (["--replicas", "0"], "replicas"),
        (["--steps", "-1"], "steps"),
        (["--kT", "-1"], "kT"),
        (["--step-size", "0"], "step-size"),
        (["--n-atoms", "1"], "n-atoms"),
        (["--width-start", "0.1", "--width-end", "0.5"], "width_end"),  # library check
    ],
)
def test_bad_values_are_usage_errors(argv, word, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["smc", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and word in err and "Traceback" not in err


def test_output_and_progress_flags(tmp_path, capsys):
    prefix = tmp_path / "run"
    assert main([*SMALL, "--runs", "2", "--output", str(prefix)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [x["seed"] for x in lines] == [0, 1]
    doc = json.loads((tmp_path / "run_seed1.json").read_text())
    assert doc["config"]["n_replicas"] == 6 and doc["interrupted"] is False
    assert (tmp_path / "run_seed1.npz").exists()
    assert main([*SMALL, "--progress"]) == 0


def test_output_directory_checked_first(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main([*SMALL, "--output", str(tmp_path / "missing" / "run")])
    assert exc.value.code == 2


def test_ctrl_c_writes_partial_results_and_exits_130(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = LJClusterTarget.lj_energy_gradient

    def energy(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 14:  # during the second run (each run evaluates 9 times)
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LJClusterTarget, "lj_energy_gradient", energy)
    prefix = tmp_path / "run"
    assert main([*SMALL, "--runs", "3", "--output", str(prefix)]) == EXIT_INTERRUPTED
    first = json.loads((tmp_path / "run_seed0.json").read_text())
    second = json.loads((tmp_path / "run_seed1.json").read_text())
    assert first["interrupted"] is False and second["interrupted"] is True
    assert len(second["traces"]["widths"]) < len(first["traces"]["widths"])
    assert not (tmp_path / "run_seed2.json").exists()  # the third run never started
    assert "Traceback" not in capsys.readouterr().err


def test_diverged_run_is_an_error_line(capsys):
    rc = main(["smc", "--n-atoms", "13", "--replicas", "10", "--steps", "300",
               "--step-size", "10", "--no-progress"])
    assert rc == 1
    assert "diverged" in capsys.readouterr().err
