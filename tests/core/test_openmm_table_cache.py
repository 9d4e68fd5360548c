"""openmm_gausslj.forces.table goes through the one core cache and the one heat-kernel
recurrence."""

import numpy as np
import pytest

pytest.importorskip("openmm")

from ase_gausslj.core import cache  # noqa: E402
from ase_gausslj.core.potential import smoothed_lj  # noqa: E402
from openmm_gausslj.forces import table as omt  # noqa: E402


def test_series_coefficients_by_hand():
    # exp(y^2 Δ) x^-n: a_k = prod_{j<k} (n + 2j)(n - 1 + 2j) / k!, by hand
    a6, a12 = omt.series_coefficients(omt.TableGrid(terms6=4, terms12=3))
    assert a6 == [1.0, 30.0, 840.0, 25200.0]
    assert a12 == [1.0, 132.0, 12012.0]


@pytest.mark.parametrize("garbage", [b"", b"PK\x03\x04 truncated"])
def test_corrupt_grid_cache_warns_and_rebuilds(tmp_path, monkeypatch, garbage):
    monkeypatch.setenv("GAUSSLJ_CACHE_DIR", str(tmp_path))
    grid = omt.TableGrid(nz=96, np_=32, width_max=0.5)
    omt._table_values_cached.cache_clear()
    first = np.array(omt.table_values(grid))
    path = cache.cache_path("openmm-table", omt._cache_key(grid, "exact"))
    assert path is not None and path.exists()
    path.write_bytes(garbage)
    omt._table_values_cached.cache_clear()
    with pytest.warns(RuntimeWarning, match="cache"):
        again = omt.table_values(grid)
    np.testing.assert_array_equal(again, first)
    # values are F(x(z), p^2), z fastest; check the finite nodes against the potential
    # x = x(z) (1 + k_scale y), rebuilt here from the map, not from node_points()
    u = grid.x_of_z(grid.z_nodes())
    y = grid.p_nodes() ** 2
    ug, yg = np.meshgrid(u, y, indexing="ij")
    xg = ug * (1.0 + grid.k_scale * yg)
    ref, _ = smoothed_lj(xg.ravel(), yg.ravel())
    np.testing.assert_allclose(again.reshape(xg.shape, order="F").ravel(), ref, rtol=1e-12)
    omt._table_values_cached.cache_clear()
