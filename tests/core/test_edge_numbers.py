"""Hangs and silent wrong numbers at the edges of the input domain (issue 19).

Reference values come from closed forms written here (the width -> infinity limit of
``V_s``, the affine core at r = 0) and brute-force image sums, not from the code.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
import pytest

from ase_gausslj.core.energy import SmoothedLJ
from ase_gausslj.core.potential import smoothed_lj, smoothed_lj_dwidth

RC = 0.8


def _v_plain(r):
    """Regularized LJ (affine below RC), by hand."""
    r = np.asarray(r, dtype=float)
    b = 4 * (-12 * RC**-13 + 6 * RC**-7)
    a = 4 * (RC**-12 - RC**-6) - b * RC
    rs = np.maximum(r, RC)
    return np.where(r <= RC, a + b * r, 4 * (rs**-12 - rs**-6))


# -- periodic cells ----------------------------------------------------------------------

_SINGULAR = """
import numpy as np
from ase_gausslj.core.energy import SmoothedLJ
pos = np.array([[0.1, 0.2, 0.3], [1.0, 0.5e-6, 1.0]])
try:
    SmoothedLJ().compute(pos, 0.0, cutoff=0.5, cell=[[2, 0, 0], [2, 1e-6, 0], [0, 0, 2]],
                         pbc=True)
except ValueError as exc:
    print("REFUSED", exc)
"""


def test_nearly_singular_cell_is_refused_not_a_hang():
    """Issue 19: did not return in 60 s and ignored Ctrl-C (inside numba)."""
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", _SINGULAR], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "REFUSED cell:" in out.stdout and "lattice planes" in out.stdout, out.stdout
    assert time.monotonic() - t0 < 120


def test_small_cell_with_long_cutoff_still_computed_exactly():
    """Control: the guard refuses only what cannot be done; one atom in a simple cubic
    cell of edge 1.05 with cutoff 3.5 (~7 images each way) matches a brute-force sum."""
    a, cutoff = 1.05, 3.5
    res = SmoothedLJ().compute(np.zeros((1, 3)), 0.0, cutoff=cutoff, cell=np.eye(3) * a,
                               pbc=True)
    n = np.arange(-5, 6)
    d = a * np.sqrt((n[:, None, None] ** 2 + n[None, :, None] ** 2
                     + n[None, None, :] ** 2).ravel().astype(float))
    d = d[(d > 0) & (d < cutoff)]
    assert res.energy == pytest.approx(0.5 * _v_plain(d).sum(), rel=1e-12)


def test_too_many_periodic_pairs_is_refused():
    pos = np.random.default_rng(0).uniform(0, 1, size=(2000, 3))
    with pytest.raises(ValueError, match="cell: 2000 atoms"):
        SmoothedLJ().compute(pos, 0.3, cutoff=30.0, cell=np.eye(3), pbc=True, skin=0.0)


# -- huge widths, coordinates and tiny cutoffs ------------------------------------------


def _large_width_limit(s):
    """V_s -> (4 pi s^2)^(-3/2) int 4 pi u^2 V(u) du as s -> infinity (closed form)."""
    b = 4 * (-12 * RC**-13 + 6 * RC**-7)
    a = 4 * (RC**-12 - RC**-6) - b * RC
    moment = a * RC**3 / 3 + b * RC**4 / 4 + 4 * (RC**-9 / 9 - RC**-3 / 3)
    return 4 * math.pi * moment / (4 * math.pi) ** 1.5 * (1.0 / s) ** 3


@pytest.mark.parametrize("s", [1e6, 1e10, 1e50, 1e100])
def test_large_width_follows_its_limit(s):
    v, dv = smoothed_lj(1.0, s)
    assert float(v) == pytest.approx(_large_width_limit(s), rel=1e-8)
    assert np.isfinite(dv) and abs(float(dv)) <= abs(float(v))


@pytest.mark.parametrize("s", [1e121, 1.4e154, 1e200, 1.7e308])
@pytest.mark.parametrize("r", [0.0, 1.0, 1e100, 1e200])
def test_huge_width_is_exactly_zero_not_nan(s, r):
    """Issue 19: smoothed_lj(1.0, 1.4e154) was (nan, nan); the true values are below the
    smallest subnormal (|V_s| <~ 10 / s^3), i.e. 0."""
    v, dv = smoothed_lj(r, s)
    assert float(v) == 0.0 and float(dv) == 0.0
    assert float(smoothed_lj_dwidth(r, s)) == 0.0
    assert _large_width_limit(s) == 0.0  # the limit itself underflows there


@pytest.mark.parametrize("big", [1e308, -1e308, 1e200])
def test_overflowing_coordinates_are_refused_not_nan(big):
    """Issue 19: positions at +-1e308 gave E = 0.0 with NaN forces."""
    pos = np.array([[0.0, 0.0, 0.0], [big, 0.0, 0.0], [-big, 0.0, 0.0]])
    model = SmoothedLJ()
    if abs(big) < 1e300:  # far apart but representable: E = 0 and forces 0 (true values)
        r = model.compute(pos, 0.0)
        assert r.energy == 0.0 and np.all(r.forces == 0.0)
        return
    for call in (lambda: model.compute(pos, 0.0), lambda: model.energy_forces(pos, 0.3),
                 lambda: model.batch_energy_forces(pos[None], 0.0)):
        with pytest.raises(ValueError, match="positions: coordinates up to"):
            call()


def test_tiny_cutoff_is_refused_and_small_one_keeps_coincident_pairs():
    """Issue 19: cutoff=1e-300 squared to 0 and dropped coincident pairs (E 0.0 vs 564.28)."""
    pos = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    model = SmoothedLJ()
    with pytest.raises(ValueError, match="cutoff = 1e-300 is too small"):
        model.compute(pos, 0.0, cutoff=1e-300)
    # a small cutoff whose square is a normal number keeps the pair at distance 0: V(0)
    e = model.compute(pos, 0.0, cutoff=1e-100).energy
    assert e == pytest.approx(float(_v_plain(0.0)), rel=1e-12)
    assert model.compute(pos, 0.0).energy == pytest.approx(e, rel=1e-12)  # V(1) = 0


# -- widths that would need a table of terabytes -------------------------------------------


def test_huge_width_max_is_refused_early():
    from ase_gausslj.adapters.calculator import GaussianLJ
    from ase_gausslj.sampling.smc import run_smc

    t0 = time.process_time()
    with pytest.raises(ValueError, match=r"width_max = 1000000.0 is beyond .* 50\.0"):
        GaussianLJ(width_max=1e6)
    with pytest.raises(ValueError, match=r"width_max = 1000000.0 is beyond"):
        SmoothedLJ(width_max=1e6)
    with pytest.raises(ValueError, match=r"width_start = 1000000.0 is beyond .* 50\.0"):
        run_smc(5, width_start=1e6)
    assert time.process_time() - t0 < 10  # was 40-50 s, then MemoryError


def test_cli_smc_huge_width_start_is_a_usage_error():
    out = subprocess.run(
        [sys.executable, "-c", "from ase_gausslj.cli import main; raise SystemExit(main())",
         "smc", "--n-atoms", "5", "--width-start", "1e6"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "width_start" in out.stderr and "Traceback" not in out.stderr
