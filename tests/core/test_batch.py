"""Tests for the batched one-species kernel (ase_gausslj.core.batch).

References: an independent numpy regularized LJ at width 0; at width > 0 the general
kernel (``SmoothedLJ.batch_energy_forces``, a different loop over the same table) and
central finite differences of the batched energy itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from ase_gausslj.core.batch import batch_energy_forces, supports
from ase_gausslj.core.energy import SmoothedLJ

R_CORE = 0.8


def lj_numpy(pos, r_core=R_CORE, eps=1.0, sig=1.0):
    """Regularized LJ (affine below r_core sigma), all pairs: energy and forces."""
    d = pos[None, :, :] - pos[:, None, :]  # d[i, j] = x_j - x_i
    r = np.linalg.norm(d, axis=2)
    iu = np.triu_indices(len(pos), 1)
    u = r[iu] / sig
    vc = 4 * (r_core**-12 - r_core**-6)
    sc = 4 * (-12 * r_core**-13 + 6 * r_core**-7)
    far = u > r_core
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(far, 4 * (u**-12.0 - u**-6.0), vc + sc * (u - r_core))
        de = np.where(far, 4 * (-12 * u**-13.0 + 6 * u**-7.0), sc) / sig
        gp = np.where(r[iu] > 0, de / r[iu], 0.0)
    g = np.zeros_like(r)
    g[iu] = gp
    g = g + g.T
    forces = (g[:, :, None] * d).sum(axis=1)  # F_i = sum_j V'(r)/r (x_j - x_i)
    return eps * float(e.sum()), eps * forces


def replicas(n_rep, n, seed, spread=1.1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rep, n, 3)) * spread
    x[0, 1] = x[0, 0] + [0.3, 0.0, 0.0]  # a pair deep in the affine core
    x[1, 2] = x[1, 0]  # coincident atoms: finite energy, no force between them
    return x


def test_width_zero_matches_numpy_lj():
    pot = SmoothedLJ()
    x = replicas(6, 13, 0)
    e, f = batch_energy_forces(pot, x, 0.0)
    for k in range(len(x)):
        e_ref, f_ref = lj_numpy(x[k])
        assert e[k] == pytest.approx(e_ref, rel=1e-12)
        np.testing.assert_allclose(f[k], f_ref, rtol=1e-10, atol=1e-9 * np.abs(f_ref).max())


def test_units_of_the_potential():
    pot = SmoothedLJ(epsilon=0.7, sigma=2.5)
    x = replicas(3, 9, 1, spread=2.5)
    e, f = batch_energy_forces(pot, x, 0.0)
    e_ref, f_ref = lj_numpy(x[2], eps=0.7, sig=2.5)
    assert e[2] == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f[2], f_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("width", [0.0, 0.02, 0.3, 1.0, 1.9])
def test_matches_general_kernel(width):
    pot = SmoothedLJ()
    x = replicas(5, 11, 2)
    e, f = batch_energy_forces(pot, x, width)
    e_ref, f_ref = pot.batch_energy_forces(x, width)
    np.testing.assert_allclose(e, e_ref, rtol=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=1e-10, atol=1e-12 * np.abs(f_ref).max())


@pytest.mark.parametrize("width", [0.0, 0.3])
def test_forces_are_minus_the_energy_gradient(width):
    pot = SmoothedLJ()
    x = replicas(2, 7, 3, spread=0.9)[1:] + 0.01  # no exact coincidence
    _, f = batch_energy_forces(pot, x, width)
    h = 1e-6
    for a, c in [(0, 0), (3, 1), (6, 2)]:
        xp, xm = x.copy(), x.copy()
        xp[0, a, c] += h
        xm[0, a, c] -= h
        fd = (batch_energy_forces(pot, xp, width)[0][0]
              - batch_energy_forces(pot, xm, width)[0][0]) / (2 * h)
        assert -f[0, a, c] == pytest.approx(fd, rel=1e-6, abs=1e-6)


def test_refuses_several_species_and_bad_shapes():
    mixed = SmoothedLJ(epsilon=[1.0, 0.5, 1.0], sigma=[1.0, 1.2, 1.0])
    assert not supports(mixed)
    with pytest.raises(ValueError, match="potential"):
        batch_energy_forces(mixed, np.zeros((1, 3, 3)), 0.0)
    with pytest.raises(ValueError, match="positions"):
        batch_energy_forces(SmoothedLJ(), np.zeros((4, 3)), 0.0)


@pytest.mark.parametrize("width", [0.0, 0.3])
def test_non_finite_energy_raises(width):
    """A NaN coordinate: FloatingPointError at every width (at width > 0 this crashed
    the process before: a NaN distance reached the table's row lookup)."""
    x = replicas(2, 5, 4)
    x[1, 3, 0] = np.nan
    with pytest.raises(FloatingPointError):
        batch_energy_forces(SmoothedLJ(), x, width)


@pytest.mark.parametrize("width", [0.02, 0.3, 1.9])
def test_fused_table_loop_and_close_contact_fallback(width):
    """Replicas without close contacts take the fused r^2-table loop, the one with a pair
    inside r_core + 0.1 the general kernel; both must agree with the general kernel."""
    rng = np.random.default_rng(5)
    g = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3)
    x = 1.12 * g[None] + 0.03 * rng.normal(size=(4, 27, 3))
    x[3, 1] = x[3, 0] + [0.5, 0.0, 0.0]  # one close contact in the last replica
    x[2, 5] += [60.0, 0.0, 0.0]  # pairs beyond r_max (the heat-kernel tail)
    pot = SmoothedLJ()
    e, f = batch_energy_forces(pot, x, width)
    e_ref, f_ref = pot.batch_energy_forces(x, width)
    np.testing.assert_allclose(e, e_ref, rtol=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=1e-10, atol=1e-12 * np.abs(f_ref).max())


def _many_replicas(n_rep, seed=7):
    rng = np.random.default_rng(seed)
    g = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3)
    x = 1.12 * g[None] + 0.03 * rng.normal(size=(n_rep, 27, 3))
    x[-1, 1] = x[-1, 0] + [0.5, 0.0, 0.0]  # a close contact in the last replica
    return x


@pytest.mark.parametrize("width", [0.0, 0.3])
def test_block_edges_give_the_same_results(width):
    """Replicas in blocks (a count that is not a multiple of the block, so the last one
    is partial, with a close contact): the same numbers as one replica at a time."""
    from ase_gausslj.core import batch

    n_rep = batch._BLOCK + 5
    x = _many_replicas(n_rep)
    pot = SmoothedLJ()
    e, f = batch_energy_forces(pot, x, width)
    for k in (0, batch._BLOCK - 1, batch._BLOCK, n_rep - 1):
        e1, f1 = batch_energy_forces(pot, x[k:k + 1], width)
        assert e[k] == pytest.approx(e1[0], rel=1e-12)
        np.testing.assert_allclose(f[k], f1[0], rtol=1e-10, atol=1e-12 * np.abs(f1).max())


@pytest.mark.parametrize("width", [0.0, 0.3])
def test_threads_give_the_same_results(width):
    import numba as nb

    if nb.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread: the threaded path needs NUMBA_NUM_THREADS >= 2")
    x = _many_replicas(40)
    pot = SmoothedLJ()
    e, f = batch_energy_forces(pot, x, width)
    e2, f2 = batch_energy_forces(pot, x, width, threads=2)
    np.testing.assert_allclose(e2, e, rtol=1e-12)
    np.testing.assert_allclose(f2, f, rtol=1e-10, atol=1e-12 * np.abs(f).max())
