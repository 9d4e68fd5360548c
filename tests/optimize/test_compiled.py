"""Tests for the compiled minimizers, the compiled guard and basin hopping on them.

References are independent of the code under test: a numpy regularized LJ, scipy's
L-BFGS-B, a numpy transcription of FIRE, finite differences, the LJ dimer in closed form
and the Cambridge Cluster Database minima.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from scipy.optimize import minimize

from ase_gausslj.core.energy import SmoothedLJ
from ase_gausslj.optimize.clusters import random_cluster
from ase_gausslj.optimize.compiled import NORMS, fire_minimize, kernel_args, lbfgs_minimize
from ase_gausslj.optimize.compiled.energy import energy_grad
from ase_gausslj.optimize.compiled.quench import guard
from ase_gausslj.optimize.globalopt import global_minimize

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

LJ13_GM = -44.326801  # Cambridge Cluster Database
R_CORE = 0.8


def lj_numpy(x, r_core=R_CORE):
    """Independent regularized LJ (reduced units, all pairs): energy and gradient."""
    pos = np.asarray(x, dtype=float).reshape(-1, 3)
    d = pos[None, :, :] - pos[:, None, :]  # d[i, j] = x_j - x_i
    r = np.linalg.norm(d, axis=2)
    iu = np.triu_indices(len(pos), 1)
    rr = r[iu]
    vc = 4 * (r_core**-12 - r_core**-6)
    sc = 4 * (-12 * r_core**-13 + 6 * r_core**-7)
    far = rr > r_core
    e = np.where(far, 4 * (rr**-12.0 - rr**-6.0), vc + sc * (rr - r_core))
    de = np.where(far, 4 * (-12 * rr**-13.0 + 6 * rr**-7.0), sc)
    gpair = np.zeros_like(r)
    gpair[iu] = de / rr
    gpair = gpair + gpair.T
    grad = -(gpair[:, :, None] * d).sum(axis=1)
    return float(e.sum()), grad.ravel()


def scipy_min(x0, width=0.0, gtol=1e-5, pot=None):
    pot = pot or SmoothedLJ()
    res = minimize(lambda v: pot.energy_gradient(v, width), np.ravel(x0), jac=True,
                   method="L-BFGS-B",
                   options={"maxiter": 5000, "gtol": gtol, "ftol": 1e-15, "maxcor": 20})
    return res


def eval_compiled(x, width, pot=None):
    n = x.size // 3
    g = np.empty(x.size)
    e = energy_grad(np.ascontiguousarray(x.ravel()), g, kernel_args(pot, width, n))
    return e, g


def near_minimum(n, seed, noise=0.05):
    """A local minimum (scipy quench of a random cluster) and a start near it."""
    rng = np.random.default_rng(seed)
    res = scipy_min(random_cluster(n, rng), gtol=1e-8)
    return res.x.reshape(-1, 3) + rng.normal(scale=noise, size=(n, 3))


# ---- the energy --------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 13, 38])
def test_fused_width0_matches_numpy_including_core(n):
    rng = np.random.default_rng(n)
    x = random_cluster(n, rng) * 0.6  # compressed: many pairs inside r_core
    x[0] = x[1] + [0.3, 0.0, 0.0]
    e_ref, g_ref = lj_numpy(x)
    assert np.sum(np.linalg.norm(x[:, None] - x[None], axis=2)[np.triu_indices(n, 1)]
                  < R_CORE) >= 1
    e, g = eval_compiled(x, 0.0)
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-10 * np.abs(g_ref).max())


def test_smoothed_and_mixture_paths_match_the_driver():
    rng = np.random.default_rng(3)
    x = random_cluster(20, rng)
    pot = SmoothedLJ()
    for w in (0.0, 0.3):
        e, g = eval_compiled(x, w, pot)
        e_ref, g_ref = pot.energy_gradient(x.ravel(), w)
        assert e == pytest.approx(e_ref, rel=1e-13)
        np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)
    mix = SmoothedLJ(epsilon=np.r_[np.ones(10), 2 * np.ones(10)], sigma=1.0)
    e, g = eval_compiled(x, 0.0, mix)  # two species: the general kernel
    e_ref, g_ref = mix.energy_gradient(x.ravel(), 0.0)
    assert e == pytest.approx(e_ref, rel=1e-13)


def test_smoothed_gradient_against_finite_differences():
    x = random_cluster(8, np.random.default_rng(4)).ravel()
    _, g = eval_compiled(x, 0.3)
    h = 1e-6
    fd = np.array([(eval_compiled(x + h * np.eye(x.size)[k], 0.3)[0]
                    - eval_compiled(x - h * np.eye(x.size)[k], 0.3)[0]) / (2 * h)
                   for k in range(x.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


# ---- L-BFGS ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [13, 38])
def test_lbfgs_same_minimum_as_scipy_near_a_minimum(n):
    for seed in range(5):
        x0 = near_minimum(n, seed)
        ref = scipy_min(x0)
        res = lbfgs_minimize(x0, 0.0, gtol=1e-5)
        assert res.converged
        assert res.x.shape == x0.shape
        assert res.energy == pytest.approx(ref.fun, abs=1e-8)


@pytest.mark.parametrize("n", [13, 38])
def test_lbfgs_from_random_starts_reaches_true_minima(n):
    """From random starts the basin may differ from scipy's; the result must be a local
    minimum to the tolerance: converged, and scipy started there gains < 1e-8."""
    rng = np.random.default_rng(10 + n)
    for _ in range(5):
        res = lbfgs_minimize(random_cluster(n, rng), 0.0, gtol=1e-5)
        assert res.converged and res.grad_norm <= 1e-5
        e_ref, g_ref = lj_numpy(res.x)
        assert res.energy == pytest.approx(e_ref, abs=1e-10)
        assert np.abs(g_ref).max() <= 1e-5 * (1 + 1e-6)
        assert scipy_min(res.x, gtol=1e-9).fun > res.energy - 1e-8


def test_lbfgs_evaluation_count_comparable_to_scipy():
    rng = np.random.default_rng(21)
    base = scipy_min(random_cluster(38, rng), gtol=1e-8).x.reshape(-1, 3)
    ours, theirs = [], []
    for _ in range(12):
        x0 = base + rng.uniform(-0.4, 0.4, size=base.shape)  # a BH step's start
        ours.append(lbfgs_minimize(x0, 0.0).n_evals)
        theirs.append(scipy_min(x0).nfev)
    assert np.median(ours) <= 1.5 * np.median(theirs)


def test_lbfgs_smoothed_same_minimum_as_scipy():
    x0 = near_minimum(13, 1, noise=0.02)
    ref = scipy_min(x0, width=0.3, gtol=1e-7)
    res = lbfgs_minimize(x0, 0.3, gtol=1e-7)
    assert res.converged
    assert res.energy == pytest.approx(ref.fun, abs=1e-8)


def test_lbfgs_dimer_from_deep_in_the_affine_core():
    for r0 in (1e-3, 0.1, 0.5):
        res = lbfgs_minimize(np.array([[0, 0, 0], [r0, 0, 0]], float), 0.0, gtol=1e-9)
        assert res.converged
        assert res.energy == pytest.approx(-1.0, abs=1e-12)
        assert np.linalg.norm(res.x[1] - res.x[0]) == pytest.approx(2 ** (1 / 6), abs=1e-8)


def test_lbfgs_overlapping_cluster_start():
    rng = np.random.default_rng(2)
    x0 = random_cluster(38, rng) * 0.3  # most pairs inside r_core
    res = lbfgs_minimize(x0, 0.0)
    assert res.converged and math.isfinite(res.energy)
    assert res.energy < -150.0


@pytest.mark.parametrize("norm", sorted(NORMS))
def test_g_norm_is_the_named_norm(norm):
    x0 = random_cluster(13, np.random.default_rng(6))
    res = lbfgs_minimize(x0, 0.0, gtol=1e-3, norm=norm, max_iter=5)
    _, g = lj_numpy(res.x)
    want = {"max": np.abs(g).max(), "rms": np.sqrt(np.mean(g**2)), "l2": np.linalg.norm(g),
            "atom": np.linalg.norm(g.reshape(-1, 3), axis=1).max()}[norm]
    assert res.grad_norm == pytest.approx(want, rel=1e-9)
    assert res.steps == 5 and not res.converged


def test_max_iter_zero_returns_the_start():
    x0 = random_cluster(5, np.random.default_rng(0))
    res = lbfgs_minimize(x0, 0.0, max_iter=0)
    np.testing.assert_array_equal(res.x, x0)
    assert res.steps == 0 and res.n_evals == 1
    assert res.energy == pytest.approx(lj_numpy(x0)[0], rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [({"gtol": 0.0}, ValueError), ({"gtol": math.nan}, ValueError),
     ({"norm": "inf"}, ValueError), ({"max_iter": 2.5}, ValueError),
     ({"max_iter": -1}, ValueError), ({"memory": 0}, ValueError),
     ({"maxstep": -1.0}, ValueError), ({"width": -0.1}, ValueError)],
)
def test_bad_arguments(kwargs, exc):
    with pytest.raises(exc):
        lbfgs_minimize(np.zeros((3, 3)) + np.arange(3)[:, None], **kwargs)


def test_bad_x0():
    with pytest.raises(ValueError, match="x0"):
        lbfgs_minimize(np.zeros(7))
    with pytest.raises(ValueError, match="x0"):
        lbfgs_minimize(np.array([[0.0, 0.0, math.nan], [1.0, 0, 0]]))
    with pytest.raises(ValueError, match="atoms"):
        lbfgs_minimize(np.zeros((3, 3)), potential=SmoothedLJ(epsilon=np.ones(4)))


# ---- FIRE -----------------------------------------------------------------------------


def fire_numpy(x, steps, gtol, dt=0.1, maxstep=0.2, dtmax=1.0, nmin=5, finc=1.1, fdec=0.5,
               astart=0.1, fa=0.99):
    """FIRE transcribed from Bitzek et al. (2006) with ASE's parameters, l2 norm."""
    x = x.ravel().copy()
    v = np.zeros_like(x)
    a, n_pos, t = astart, 0, 0
    while True:
        e, g = lj_numpy(x)
        gn = np.linalg.norm(g)
        if gn < gtol or t >= steps:
            return x, e, t
        t += 1
        f = -g
        if v @ f > 0:
            v = (1 - a) * v + a * f / gn * np.linalg.norm(v)
            if n_pos > nmin:
                dt, a = min(dt * finc, dtmax), a * fa
            n_pos += 1
        else:
            v[:], a, n_pos, dt = 0.0, astart, 0, dt * fdec
        v = v + dt * f
        dr = dt * v
        if np.linalg.norm(dr) > maxstep:
            dr *= maxstep / np.linalg.norm(dr)
        x = x + dr


def test_fire_step_for_step_with_numpy_transcription():
    x0 = random_cluster(13, np.random.default_rng(8))
    xr, er, tr = fire_numpy(x0, 300, 1e-4)
    res = fire_minimize(x0, 0.0, gtol=1e-4, max_iter=300, norm="l2")
    assert res.steps == tr
    np.testing.assert_allclose(res.x.ravel(), xr, atol=1e-9)
    assert res.energy == pytest.approx(er, abs=1e-9)


def test_fire_same_minimum_as_scipy_near_a_minimum():
    x0 = near_minimum(13, 3, noise=0.03)
    res = fire_minimize(x0, 0.0, gtol=1e-6)
    assert res.converged
    assert res.energy == pytest.approx(scipy_min(x0).fun, abs=1e-8)


# ---- basin hopping --------------------------------------------------------------------


def test_guard_puts_escaped_atom_on_the_surface():
    rng = np.random.default_rng(0)
    pos = random_cluster(13, rng)
    pos[4] = [50.0, 0.0, 0.0]
    bound = np.delete(pos, 4, axis=0)
    centre = bound.mean(axis=0)
    r_surf = np.linalg.norm(bound - centre, axis=1).max()
    x = pos.ravel().copy()
    normals = rng.normal(size=(13, 3))
    assert guard(x, 4.0, normals, np.empty(16)) == 1
    out = x.reshape(-1, 3)
    np.testing.assert_array_equal(np.delete(out, 4, axis=0), bound)
    assert np.linalg.norm(out[4] - centre) == pytest.approx(r_surf, rel=1e-12)
    np.testing.assert_allclose((out[4] - centre) / r_surf,
                               normals[4] / np.linalg.norm(normals[4]), rtol=1e-12)
    assert guard(x, 4.0, normals, np.empty(16)) == 0


def test_bh_finds_lj13_and_stops_on_target():
    res = global_minimize(13, seed=0, max_minimizations=300, target_energy=LJ13_GM)
    assert res.stop_reason == "target"
    assert res.energy == pytest.approx(LJ13_GM, abs=1e-4)
    e, g = lj_numpy(res.positions)
    assert e == pytest.approx(res.energy, abs=1e-9)
    assert np.abs(g).max() < 1e-5 * 1.001  # loose quenches, polished best
    assert np.all(np.diff(res.trace[:, 2]) < 0)


@pytest.mark.parametrize("method", ["bh", "smoothed-bh"])
def test_bh_bit_for_bit_repeatable(method):
    a = global_minimize(19, method=method, seed=5, max_minimizations=30)
    b = global_minimize(19, method=method, seed=5, max_minimizations=30)
    assert a.n_minimizations == b.n_minimizations == 30
    assert a.stop_reason == "max_minimizations"
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.trace[:, 1:], b.trace[:, 1:])
    assert a.state["cur_x"] == b.state["cur_x"] and a.state["rng"] == b.state["rng"]
    c = global_minimize(19, method=method, seed=6, max_minimizations=30)
    assert c.state["cur_x"] != a.state["cur_x"]


def test_bh_restarts_after_patience():
    res = global_minimize(7, seed=1, max_minimizations=40, patience=5)
    assert res.n_restarts >= 1
    assert res.energy == pytest.approx(-16.505384, abs=1e-5)


def test_bh_bad_arguments():
    with pytest.raises(TypeError, match="max_quenches"):
        global_minimize(13, seed=0, max_quenches=1)  # the removed loop's name
    with pytest.raises(ValueError, match="temperature"):
        global_minimize(13, seed=0, max_minimizations=1, temperature=-1.0)
    with pytest.raises(ValueError, match="widths"):
        global_minimize(13, method="smoothed-bh", seed=0, max_minimizations=1, widths=(0.0,))
    with pytest.raises(ValueError, match="n_atoms"):
        global_minimize(13.0, seed=0, max_minimizations=1)


# ---- plug-in for optimize.local -------------------------------------------------------


def test_lbfgs_backend_plugs_into_local():
    local = pytest.importorskip("ase_gausslj.optimize.local")
    from ase_gausslj.optimize.compiled import LJObjective, lbfgs_backend

    x0 = near_minimum(13, 4).ravel()
    fg = LJObjective(SmoothedLJ(), 0.0)
    e0, g0 = fg(x0)
    assert e0 == pytest.approx(lj_numpy(x0)[0], rel=1e-12)
    res = lbfgs_backend(fg, x0, steps=2000, gtol=1e-5)
    assert isinstance(res, local.LocalResult)
    assert res.converged and res.x.shape == x0.shape
    assert res.energy == pytest.approx(scipy_min(x0).fun, abs=1e-8)
    # grad_norm: the norm of the convergence test (largest component), no extra call
    assert res.grad_norm == pytest.approx(np.abs(lj_numpy(res.x)[1]).max(), rel=1e-8)
    assert res.grad_norm <= 1e-5
    with pytest.raises(TypeError, match="LJObjective"):
        lbfgs_backend(lambda v: lj_numpy(v), x0, steps=10, gtol=1e-5)


@pytest.mark.parametrize("n", [2, 7, 38, 55])
def test_guard_centre_is_numpys_median(n):
    """The guard measures distances from ``np.median`` of each coordinate (its insertion
    sort, even sizes and ties included): with the radius between two of those distances,
    exactly the atoms beyond it move, and no other."""
    rng = np.random.default_rng(n)
    for pos in (rng.normal(size=(n, 3)), np.round(rng.normal(size=(n, 3)), 1)):  # ties
        dist = np.linalg.norm(pos - np.median(pos, axis=0), axis=1)
        levels = np.unique(dist)
        for k in range(len(levels) - 1):
            radius = 0.5 * (levels[k] + levels[k + 1])
            x = pos.ravel().copy()
            moved = guard(x, radius, rng.normal(size=(n, 3)), np.empty(n + 3))
            assert moved == int((dist > radius).sum())
            still = dist <= radius
            np.testing.assert_array_equal(x.reshape(-1, 3)[still], pos[still])
