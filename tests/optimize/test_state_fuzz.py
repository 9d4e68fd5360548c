"""Fuzzing layer over ``global_minimize`` state files: every damaged variant is refused
with a ValueError naming the file (never an unrelated exception, a silent restart or a
wrong result); random byte damage gives that error or a result whose energy is the
energy of its positions; kill -9 + resume stays exact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ase_gausslj.optimize.globalopt import global_minimize

# gtol pinned: the fixture needs a walk that has not just restarted after 6 quenches
KW = dict(method="bh", seed=3, patience=4, gtol=1e-5)


def lj_energy(pos, r_core=0.8):
    """Independent plain regularized LJ energy (numpy, all pairs)."""
    pos = np.asarray(pos, dtype=float).reshape(-1, 3)
    iu = np.triu_indices(len(pos), 1)
    r = np.linalg.norm(pos[:, None] - pos[None], axis=-1)[iu]
    vc = 4 * (r_core**-12 - r_core**-6)
    b = 4 * (-12 * r_core**-13 + 6 * r_core**-7)
    rs = np.maximum(r, r_core)
    return float(np.where(r <= r_core, vc + b * (r - r_core), 4 * (rs**-12 - rs**-6)).sum())


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real state file after 6 quenches of LJ13 (default objective), as text."""
    path = tmp_path_factory.mktemp("state") / "s.json"
    global_minimize(13, max_minimizations=6, state_file=path, **KW)
    state = json.loads(path.read_text())
    assert state["best_x"] is not None and state["cur_x"] != state["best_x"]
    return path.read_text()


def _edit(text, **fields):
    st_ = json.loads(text)
    for k, v in fields.items():
        if v is _DROP:
            st_.pop(k)
        else:
            st_[k] = v(st_) if callable(v) else v
    return json.dumps(st_)


_DROP = object()


def _forged_best(s):
    s["trace"][-1][2] = -1000.0  # consistent with the trace: only the energy check sees it
    return -1000.0


def _swap_best(s):
    # another structure's positions beside best_e (the minimum with one atom moved)
    s["best_x"][0] = [s["best_x"][0][0] + 0.2, *s["best_x"][0][1:]]
    return s["best_e"]


def _nested(key, value):
    def f(s):
        d = s[key]
        d["state"] = value
        return d
    return f


TEXT = {
    "empty": lambda t: "",
    "whitespace": lambda t: "  \n",
    "truncated": lambda t: t[: len(t) // 2],
    "garbage": lambda t: "\x00\x01garbage{",
    "not-utf8": lambda t: None,  # bytes, below
    "list": lambda t: "[]",
    "null": lambda t: "null",
    "number": lambda t: "42",
    "string": lambda t: '"state"',
    "empty-object": lambda t: "{}",
    "missing-rng": lambda t: _edit(t, rng=_DROP),
    "missing-best": lambda t: _edit(t, best_e=_DROP),
    "unknown-field": lambda t: _edit(t, extra=1),
    "old-version": lambda t: _edit(t, version=2),
    "other-settings": lambda t: _edit(t, settings=lambda s: {**s["settings"], "step": 0.5}),
    "settings-list": lambda t: _edit(t, settings=[]),
    "forged-best-e": lambda t: _edit(t, best_e=_forged_best),
    "best-x-of-another": lambda t: _edit(t, best_e=_swap_best),
    "forged-cur-e": lambda t: _edit(t, cur_e=lambda s: s["cur_e"] - 1.0),
    "best-e-string": lambda t: _edit(t, best_e="-44.3"),
    "best-e-nan": lambda t: _edit(t, best_e=float("nan")),
    "best-e-null": lambda t: _edit(t, best_e=None),
    "best-x-short": lambda t: _edit(t, best_x=lambda s: s["best_x"][:-1]),
    "best-x-2d": lambda t: _edit(t, best_x=lambda s: [r[:2] for r in s["best_x"]]),
    "best-x-inf": lambda t: _edit(t, best_x=lambda s: [[1e400, 0, 0]] + s["best_x"][1:]),
    "n-min-negative": lambda t: _edit(t, n_min=-1),
    "n-min-bool": lambda t: _edit(t, n_min=True),
    "n-min-float": lambda t: _edit(t, n_min=2.5),
    "seed-string": lambda t: _edit(t, seed="3"),
    "elapsed-negative": lambda t: _edit(t, elapsed=-1.0),
    "rng-garbage": lambda t: _edit(t, rng={"bit_generator": "PCG64"}),
    "rng-other-kind": lambda t: _edit(t, rng=lambda s: {**s["rng"], "bit_generator": "MT19937"}),
    "rng-float-state": lambda t: _edit(t, rng=_nested("rng", {"state": 1.5, "inc": 3})),
    "trace-broken": lambda t: _edit(t, trace=[[0, 1]]),
    "trace-empty": lambda t: _edit(t, trace=[]),
    "trace-not-list": lambda t: _edit(t, trace="x"),
    "stop-reason-number": lambda t: _edit(t, stop_reason=3),
}


def _write_variant(path: Path, variant: str, text: str) -> None:
    if variant == "not-utf8":
        path.write_bytes(b"\xff\xfe{\x00")
    elif variant == "fifo":
        os.mkfifo(path)
    elif variant == "directory":
        path.mkdir()
    elif variant == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.write_text(TEXT[variant](text))


@pytest.mark.parametrize("variant", [*TEXT, "fifo", "directory", "dev-zero"])
def test_damaged_state_file_is_refused_naming_the_file(tmp_path, saved, variant):
    path = tmp_path / "state.json"
    _write_variant(path, variant, saved)
    with pytest.raises(ValueError) as err:
        global_minimize(13, max_minimizations=10, state_file=path, **KW)
    msg = str(err.value)
    assert str(path) in msg, msg
    if variant == "other-settings":
        assert "settings" in msg


@pytest.mark.parametrize("variant", ["list", "number", "missing-rng", "forged-best-e",
                                     "best-x-of-another"])
def test_damaged_resume_dict_is_refused(saved, variant):
    state = json.loads(TEXT[variant](saved))
    with pytest.raises(ValueError, match="resume"):
        global_minimize(13, max_minimizations=10, resume=state, **KW)


def test_valid_state_file_resumes(tmp_path, saved):
    """Control: the undamaged file resumes (the checks refuse only damage)."""
    path = tmp_path / "state.json"
    path.write_text(saved)
    res = global_minimize(13, max_minimizations=8, state_file=path, **KW)
    assert res.n_minimizations == 8
    assert res.energy == pytest.approx(lj_energy(res.positions), abs=1e-9)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_gives_an_error_or_a_true_result(tmp_path, saved, data):
    kind = data.draw(st.sampled_from(["flip-char", "truncate", "delete"]))
    pos = data.draw(st.integers(0, len(saved) - 1))
    if kind == "flip-char":
        bad = saved[:pos] + data.draw(st.sampled_from(list('0123456789-.,:[]{}"e '))) \
            + saved[pos + 1:]
    elif kind == "truncate":
        bad = saved[:pos]
    else:
        bad = saved[:pos] + saved[pos + data.draw(st.integers(1, 8)):]
    path = tmp_path / "fuzz.json"
    path.write_text(bad)
    try:
        res = global_minimize(13, max_minimizations=8, state_file=path, **KW)
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    # accepted (e.g. a digit of 'elapsed' or of the rng changed): a true result
    assert res.energy == pytest.approx(lj_energy(res.positions), abs=1e-8)


_CHILD = """
import sys
from ase_gausslj.optimize.globalopt import global_minimize
global_minimize(13, max_minimizations=int(sys.argv[2]), state_file=sys.argv[1],
                checkpoint_every=1e-9, method="bh", seed=3, patience=4, gtol=1e-5)
"""


def test_kill_9_then_resume_is_exact(tmp_path):
    """SIGKILL at a random point of a run that checkpoints every quench, then a resume:
    the same result as the uninterrupted run (the state file is never half written)."""
    full = global_minimize(13, max_minimizations=300, **KW)
    path = tmp_path / "state.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), "300"], env=env)
    try:
        deadline = time.monotonic() + 120
        while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(float(np.random.default_rng().uniform(0.0, 0.05)))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert path.exists()
    killed_at = json.loads(path.read_text())["n_min"]
    resumed = global_minimize(13, max_minimizations=300, state_file=path, **KW)
    assert resumed.n_minimizations == 300
    assert resumed.energy == full.energy
    np.testing.assert_array_equal(resumed.positions, full.positions)
    np.testing.assert_array_equal(resumed.trace[:, 1:], full.trace[:, 1:])
    # the kill came mid-run (the child checkpoints ~300 times in ~0.5 s; we wait <= 50 ms)
    assert 1 <= killed_at < 300
