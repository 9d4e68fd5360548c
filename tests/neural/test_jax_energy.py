"""JAX smoothed LJ against the project's exact potential and numba kernels."""

from __future__ import annotations

import numpy as np
import pytest

REASON = "the neural extra (jax, optax, equinox) is not installed"
jax = pytest.importorskip("jax", reason=REASON)
pytest.importorskip("equinox", reason=REASON)
pytest.importorskip("optax", reason=REASON)

import jax.numpy as jnp  # noqa: E402

from ase_gausslj.core.potential import smoothed_lj  # noqa: E402
from ase_gausslj.neural.jax_energy import (  # noqa: E402
    JaxPairTable,
    make_callback_lj_energy,
    make_lj_energy,
)
from ase_gausslj.sampling.targets import LJClusterTarget  # noqa: E402


@pytest.mark.parametrize("width", [0.0, 0.05, 0.6, 1.1])
def test_pair_table_matches_exact(width):
    rng = np.random.default_rng(1)
    r = np.concatenate([rng.uniform(0, 3, 4000), rng.uniform(3, 45, 1000), [0.0, 0.8, 1e-9]])
    tab = JaxPairTable(width)
    v = np.asarray(tab(jnp.asarray(r)))
    dv = np.asarray(jax.vmap(jax.grad(tab))(jnp.asarray(r)))
    ve, dve = smoothed_lj(r, width)
    scale = np.maximum(1.0, np.abs(ve))
    assert np.max(np.abs(v - ve) / scale) < 1e-6
    inner = r > 1e-6  # the derivative at r = 0 of the even extension is 0 by symmetry
    assert np.max(np.abs(dv - dve)[inner] / np.maximum(1.0, np.abs(dve[inner]))) < 1e-4


@pytest.mark.parametrize("n_atoms", [3, 7])
@pytest.mark.parametrize("width", [0.0, 0.6])
def test_cluster_energy_and_gradient(n_atoms, width):
    x = np.random.default_rng(n_atoms).normal(scale=1.0, size=(50, n_atoms, 3))
    target = LJClusterTarget(n_atoms)
    e_ref, g_ref = target.lj_energy_gradient(x, width)
    for fn in (make_lj_energy(width), make_callback_lj_energy(target, width)):
        e, g = jax.value_and_grad(lambda z, fn=fn: jnp.sum(fn(z)))(jnp.asarray(x))
        assert np.allclose(np.asarray(fn(jnp.asarray(x))), e_ref, rtol=1e-8, atol=1e-6)
        assert float(e) == pytest.approx(float(e_ref.sum()), rel=1e-8, abs=1e-5)
        assert np.allclose(np.asarray(g), g_ref, rtol=1e-5, atol=1e-5)


def test_callback_traced_width_under_jit():
    target = LJClusterTarget(3)
    e_w = jax.jit(make_callback_lj_energy(target))
    x = np.random.default_rng(0).normal(size=(20, 3, 3))
    for w in (0.0, 0.6):
        assert np.allclose(np.asarray(e_w(jnp.asarray(x), w)), target.lj_energy_gradient(x, w)[0])


def test_width_checked():
    with pytest.raises(ValueError, match="width"):
        JaxPairTable(-0.1)
    with pytest.raises(ValueError, match="width"):
        JaxPairTable(50.0)
