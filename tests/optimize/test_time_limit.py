"""An expired time limit is a normal end with a result (issue 19: global_minimize(13,
budget=1e-9) raised a bare KeyboardInterrupt and the CLI said "interrupted")."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

RC = 0.8


def _energy(pos):
    """Plain regularized LJ energy by hand (all pairs)."""
    r = np.linalg.norm(pos[:, None] - pos[None], axis=-1)[np.triu_indices(len(pos), 1)]
    b = 4 * (-12 * RC**-13 + 6 * RC**-7)
    a = 4 * (RC**-12 - RC**-6) - b * RC
    rs = np.maximum(r, RC)
    return float(np.where(r <= RC, a + b * r, 4 * (rs**-12 - rs**-6)).sum())




# (budget=1e-9, the seconds it meant then, is a TypeError since issue 18: budget counts
# quenches; tests/test_defaults.py)
@pytest.mark.parametrize("kw", [dict(time_limit=1e-9), dict(time_limit=1e-9, n_starts=2)])
def test_expired_time_limit_ends_normally_with_a_result(kw):
    """Issue 19: global_minimize(13, budget=1e-9) raised a bare KeyboardInterrupt."""
    from ase_gausslj.optimize.globalopt import global_minimize

    res = global_minimize(13, seed=0, **kw)
    assert res.stop_reason == "time_limit" and not res.interrupted
    assert res.n_minimizations >= 1
    assert res.energy == pytest.approx(_energy(res.positions), abs=1e-9)


def test_cli_optimize_expired_time_limit_is_a_normal_end():
    out = subprocess.run(
        [sys.executable, "-c", "from ase_gausslj.cli import main; raise SystemExit(main())",
         "optimize", "13", "--time-limit", "1e-9", "--seed", "0"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    assert summary["stop_reason"] == "time_limit" and summary["interrupted"] is False
    assert "interrupted" not in out.stderr
