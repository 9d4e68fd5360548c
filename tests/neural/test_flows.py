"""The equivariant flow: identity at start, symmetries, exact log-determinant."""

from __future__ import annotations

import numpy as np
import pytest

REASON = "the neural extra (jax, optax, equinox) is not installed"
jax = pytest.importorskip("jax", reason=REASON)
eqx = pytest.importorskip("equinox", reason=REASON)

import jax.numpy as jnp  # noqa: E402

import ase_gausslj.neural.jax_energy  # noqa: E402,F401  (float64 on)
from ase_gausslj.neural.flows import EquivariantFlow  # noqa: E402


def _random_flow(scale=0.05, n_steps=8, seed=1):
    f = EquivariantFlow(None, n_steps=n_steps)
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return eqx.tree_at(lambda m: (m.weights, m.alpha), f,
                       (scale * jax.random.normal(k1, f.weights.shape),
                        scale * jax.random.normal(k2, f.alpha.shape)))


def _x(n=3, b=8, seed=0):
    x = np.random.default_rng(seed).normal(size=(b, n, 3))
    return jnp.asarray(x - x.mean(axis=1, keepdims=True))


def test_identity_at_init():
    x = _x()
    y, logdet, sign = EquivariantFlow(None).forward(x)
    assert np.allclose(np.asarray(y), np.asarray(x), atol=1e-14)
    assert np.allclose(np.asarray(logdet), 0.0, atol=1e-12)
    assert np.all(np.asarray(sign) > 0)


def test_equivariance_and_com():
    f = _random_flow(0.2)
    x = _x(4)
    y, ld, _ = f.forward(x)
    rot = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))[0]  # incl. reflections
    y2, ld2, _ = f.forward(x @ rot.T)
    assert np.allclose(np.asarray(y2), np.asarray(y) @ rot.T, atol=1e-10)
    assert np.allclose(np.asarray(ld2), np.asarray(ld), atol=1e-10)
    perm = [2, 0, 3, 1]
    y3, ld3, _ = f.forward(x[:, perm])
    assert np.allclose(np.asarray(y3), np.asarray(y)[:, perm], atol=1e-10)
    assert np.allclose(np.asarray(y).mean(axis=1), 0.0, atol=1e-12)
    y4, _, _ = f.forward(x + 1.5)  # translations commute with the map
    assert np.allclose(np.asarray(y4), np.asarray(y) + 1.5, atol=1e-10)


def test_logdet_is_the_com_free_jacobian():
    """log|det J| on R^9 equals that of the map restricted to the 6-D COM-free subspace,
    checked by central finite differences in an orthonormal basis of that subspace."""
    f = _random_flow(0.3)
    x = np.asarray(_x(3, 1))[0]
    _, ld, _ = f.forward_one(jnp.asarray(x))
    ones = np.kron(np.ones(3), np.eye(3)) / np.sqrt(3)  # COM directions (3, 9)
    q = np.linalg.svd(np.eye(9) - ones.T @ ones)[0][:, :6]
    eps = 1e-5
    cols = []
    for k in range(6):
        dx = (eps * q[:, k]).reshape(3, 3)
        yp = np.asarray(f.transform(jnp.asarray(x + dx))).ravel()
        ym = np.asarray(f.transform(jnp.asarray(x - dx))).ravel()
        cols.append(q.T @ (yp - ym) / (2 * eps))
    jac = np.stack(cols, axis=1)
    assert float(ld) == pytest.approx(np.linalg.slogdet(jac)[1], abs=1e-6)


def test_trace_logdet_converges_to_exact():
    x = _x(3, 16)
    diffs = []
    for n_steps in (8, 16):
        f = _random_flow(0.05, n_steps=n_steps)
        _, ld, _ = f.forward(x)
        y2, ld2 = f.forward_trace(x)
        diffs.append(float(jnp.max(jnp.abs(ld - ld2))))
    # RK4: the gap shrinks like h^4 (measured 3e-3 -> 2e-4 here)
    assert diffs[1] < 1e-3 and diffs[1] < diffs[0] / 8


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_steps"):
        EquivariantFlow(None, n_steps=0)
    with pytest.raises(ValueError, match="r_basis"):
        EquivariantFlow(None, r_basis=0.0)
