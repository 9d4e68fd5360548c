"""Reduced (r, width) table: accuracy on held-out points, C1 consistency, range errors."""

import numpy as np
import pytest

from ase_gausslj import get_table, smoothed_lj


@pytest.fixture(scope="module")
def table():
    return get_table()


def _check(table, r, w):
    v, dv = table.evaluate(r, w)
    ve, dve = smoothed_lj(r, w)
    # energy: 1e-6 relative, 1e-8 absolute where |V| is small
    bad_v = np.abs(v - ve) > 1e-6 * np.abs(ve) + 1e-8
    # force: 1e-6 relative to max(|V'|, 1 eps/sigma) (V' crosses zero at the minimum)
    bad_d = np.abs(dv - dve) > 1e-6 * np.maximum(np.abs(dve), 1.0)
    wb = np.broadcast_to(w, r.shape)
    assert not bad_v.any(), list(zip(r[bad_v][:5], wb[bad_v][:5], strict=True))
    assert not bad_d.any(), list(zip(r[bad_d][:5], wb[bad_d][:5], strict=True))


def test_held_out_random_points(table):
    rng = np.random.default_rng(2024)
    n = 1500
    r = np.concatenate([
        rng.uniform(0.0, 6.0, n),
        rng.uniform(0.7, 0.95, n // 3),  # around the regularization radius
        rng.uniform(0.0, table.r_max + 10.0, n // 3),  # including the analytic tail
        rng.uniform(0.0, 0.05, n // 5),  # near r = 0
    ])
    w = np.concatenate([
        10 ** rng.uniform(-5, np.log10(table.width_max), n),
        10 ** rng.uniform(-5, -1, n // 3),
        rng.uniform(0.0, table.width_max, n // 3),
        10 ** rng.uniform(-5, 0, n // 5),
    ])
    _check(table, r, w)


@pytest.mark.parametrize("w", [0.0, 1e-4, 0.025, 0.3, 1.0])
def test_grid_edges_and_special_points(table, w):
    r = np.concatenate([table.seg_lo, table.seg_lo + 1e-9, [0.0, 0.8, 2 ** (1 / 6)]])
    r = r[r >= 0]
    _check(table, r, w)


def test_force_is_derivative_of_interpolated_energy(table):
    rng = np.random.default_rng(7)
    r = np.concatenate([rng.uniform(0.01, 12.0, 400), table.seg_lo[1:-1] + 2e-7])
    for w in [0.0, 0.003, 0.2, 1.3]:
        h = 1e-7
        vp, _ = table.evaluate(r + h, w)
        vm, _ = table.evaluate(r - h, w)
        _, dv = table.evaluate(r, w)
        np.testing.assert_allclose(dv, (vp - vm) / (2 * h), rtol=1e-5, atol=1e-5)


def test_tail_beyond_r_max_is_not_zero(table):
    r = np.array([table.r_max * 1.01, table.r_max + 20.0])
    for w in [0.5, table.width_max]:
        v, _ = table.evaluate(r, w)
        ve, _ = smoothed_lj(r, w)
        assert np.all(v < 0)
        np.testing.assert_allclose(v, ve, rtol=1e-8)


def test_width_beyond_range_raises(table):
    with pytest.raises(ValueError, match="width_max"):
        table.evaluate(1.0, table.width_max * 1.01)
    with pytest.raises(ValueError, match="width"):
        table.slice(-0.1)


def test_slices_are_cached(table):
    assert table.slice(0.123) is table.slice(0.123)
