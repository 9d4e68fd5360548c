"""Signal matrix: SIGINT and SIGTERM keep a run's results; kill -9 + resume gives a result.

Each case runs the real ``gausslj`` command in a subprocess, waits until the run is under
way (a checkpoint file or a progress line: never a fixed sleep), sends the signal, and
checks the exit status (130 after SIGINT, 143 after SIGTERM) and that the output holds the
partial result. One SIGTERM case runs by default; the rest of the matrix is ``slow``.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ase_gausslj.io import signals_as_interrupt, write_bytes

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from ase_gausslj.cli import main; sys.exit(main())"
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Run:
    """The ``gausslj`` command in a subprocess, stdout/stderr to files in ``cwd``."""

    def __init__(self, argv: list[str], cwd: Path):
        self.cwd = cwd
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
                   OMP_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.err = cwd / "stderr.txt"
        with open(cwd / "stdout.txt", "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", CLI, *argv], cwd=cwd,
                                         stdout=out, stderr=err, env=env)

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait_for(self, ready, what: str, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"ended (rc {self.proc.returncode}) before {what}:\n{self.stderr()}")
            if time.monotonic() > end:
                self.proc.kill()
                pytest.fail(f"no {what} after {timeout} s:\n{self.stderr()}")
            time.sleep(0.02)

    def finish(self, timeout: float = 120.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"did not stop within {timeout} s:\n{self.stderr()}")


def _progress(run: Run, pattern: str):
    return lambda: re.search(pattern, run.stderr()) is not None


def _optimize(tmp_path: Path, sig: int) -> None:
    state = tmp_path / "state.json"
    run = Run(["optimize", "38", "--quenches", "1000000", "--seed", "0", "--state",
               str(state), "--checkpoint-every", "0.01", "--output", "out.json", "--xyz",
               "best.xyz"], tmp_path)
    run.wait_for(state.exists, "a checkpoint")
    run.proc.send_signal(sig)
    assert run.finish() == EXIT[sig], run.stderr()
    res = json.loads((tmp_path / "out.json").read_text())
    assert res["interrupted"] is True and res["stop_reason"] == "interrupted"
    assert 1 <= res["n_minimizations"] < 1_000_000 and np.isfinite(res["energy"])
    assert np.asarray(res["positions"]).shape == (38, 3)
    assert (tmp_path / "best.xyz").read_text().splitlines()[0] == "38"
    saved = json.loads(state.read_text())
    assert saved["n_min"] == res["n_minimizations"] and saved["stop_reason"] == "interrupted"


def _homotopy(tmp_path: Path, sig: int) -> None:
    run = Run(["homotopy", "38", "--runs", "100000", "--progress", "--output", "out.json"],
              tmp_path)
    run.wait_for(_progress(run, r"\b[1-9]\d*/100000"), "a finished start")
    run.proc.send_signal(sig)
    assert run.finish() == EXIT[sig], run.stderr()
    runs = json.loads((tmp_path / "out.json").read_text())
    assert 1 <= len(runs) < 100000
    assert all(np.isfinite(r["energy"]) for r in runs if not r["interrupted"])


def _smc(tmp_path: Path, sig: int) -> None:
    from ase_gausslj.sampling.results import SMCResult

    run = Run(["smc", "--n-atoms", "13", "--replicas", "20", "--steps", "1000000",
               "--progress", "--runs", "2", "--output", "run.v1"], tmp_path)
    run.wait_for(_progress(run, r"smc gaussian.*\| *[1-9]\d*/"), "a completed step")
    run.proc.send_signal(sig)
    assert run.finish() == EXIT[sig], run.stderr()
    res = SMCResult.load(tmp_path / "run.v1_seed0")
    assert res.interrupted and res.positions.shape == (20, 13, 3)
    assert 0 < res.widths.size < 1000000
    assert not (tmp_path / "run.v1_seed1.json").exists()  # the fan-out stopped


def test_sigterm_with_workers_stops_the_pool_and_writes_the_partial_result(tmp_path):
    # before: the parent caught SIGTERM but waited for its workers' 1,000,000 quenches
    run = Run(["optimize", "38", "--quenches", "1000000", "--seed", "0", "--n-starts", "4",
               "--workers", "2", "--state", str(tmp_path / "state.json"),
               "--checkpoint-every", "0.01", "--output", "out.json"], tmp_path)
    run.wait_for(lambda: any(tmp_path.glob("state.json.*")), "a worker's checkpoint")
    run.proc.send_signal(signal.SIGTERM)
    assert run.finish(timeout=90) == 143, run.stderr()
    res = json.loads((tmp_path / "out.json").read_text())
    assert res["interrupted"] is True
    assert 1 <= res["n_minimizations"] < 1_000_000 and np.isfinite(res["energy"])


def test_sigterm_writes_the_partial_result(tmp_path):
    _optimize(tmp_path, signal.SIGTERM)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("case", [_optimize, _homotopy, _smc], ids=["optimize", "homotopy",
                                                                    "smc"])
def test_signal_matrix(tmp_path, case, sig):
    case(tmp_path, sig)


@pytest.mark.slow
def test_kill9_then_resume_gives_the_uninterrupted_result(tmp_path):
    argv = ["optimize", "13", "--quenches", "600", "--seed", "4", "--checkpoint-every",
            "0.01", "--output", "out.json", "--state"]
    ref_dir, cut_dir = tmp_path / "ref", tmp_path / "cut"
    ref_dir.mkdir()
    cut_dir.mkdir()
    ref = Run(argv + ["state.json"], ref_dir)
    assert ref.finish() == 0, ref.stderr()
    want = json.loads((ref_dir / "out.json").read_text())
    cut = Run(argv + ["state.json"], cut_dir)
    point = random.Random().randint(1, 400)  # a random point of the run, in quenches

    def reached() -> bool:
        path = cut_dir / "state.json"  # written atomically: always a whole JSON
        return path.exists() and json.loads(path.read_text())["n_min"] >= point

    cut.wait_for(reached, f"quench {point}")
    cut.proc.kill()  # SIGKILL: no handler runs, only the checkpoints are left
    cut.finish()
    assert json.loads((cut_dir / "state.json").read_text())["n_min"] < 600
    again = Run(argv + ["state.json"], cut_dir)
    assert again.finish() == 0, again.stderr()
    got = json.loads((cut_dir / "out.json").read_text())
    assert got["n_minimizations"] == want["n_minimizations"] == 600
    assert got["energy"] == want["energy"]
    np.testing.assert_array_equal(got["positions"], want["positions"])


# ------------------------------------------------ the handler itself, in this process

def test_sigterm_raises_keyboard_interrupt_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with signals_as_interrupt() as sig, pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1.0)  # the handler runs here
    assert sig.signum == signal.SIGTERM
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_signal_during_an_atomic_write_waits_for_the_file(tmp_path):
    from ase_gausslj import io

    path = tmp_path / "out.txt"

    def fill(fh):
        fh.write(b"first half ")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the handler runs here and must not abort the write
        fh.write(b"second half")

    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt):
        io._write_atomic(path, fill)
    assert path.read_bytes() == b"first half second half"
    write_bytes(path, b"after")  # no handler left behind
    assert path.read_bytes() == b"after"
