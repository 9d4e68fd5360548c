"""An E(3)- and permutation-equivariant flow for atom clusters (imports JAX and equinox).

The flow is the time-1 map of the ODE (Koehler, Klein & Noé 2020, "Equivariant flows")

.. math::

    \\dot x_i = \\sum_{j \\ne i} (x_i - x_j)\\, \\phi_\\theta(|x_i - x_j|, t)
              + \\alpha_\\theta(t)\\, (x_i - \\bar x),

with the pair kernel ``phi(r, t) = rho(r)^T W b(t)`` and ``alpha(t) = a^T b(t)``: ``rho`` are
Gaussian radial basis functions of the distance, ``b`` Gaussian bumps in ``t``, and ``W, a``
the trainable parameters (the kernel form of Koehler et al.; a linear-in-parameters kernel
keeps the Jacobians cheap, which matters for ``jacfwd`` on every sample). The field is
equivariant under rotations, reflections, translations and permutations of the atoms, and it
keeps the centre of mass fixed, so centred (COM-free) inputs stay centred.

It is integrated with a fixed number of classical Runge-Kutta (RK4) steps. The log-density
change is **not** the trace integral of the continuous flow but the exact
``log |det J|`` of the discrete map that is actually applied, computed with ``jax.jacfwd``
(cheap for small clusters: ``3N`` tangents), so the AFT importance weights are exact for the
map used. The COM direction is an eigenvector of ``J`` with eigenvalue 1 (the field depends
on differences only), so ``det J`` on ``R^{3N}`` equals ``det J`` on the COM-free subspace.
The discrete map is injective for small enough steps; :meth:`EquivariantFlow.forward` also
returns the sign of ``det J``, and a negative sign (a fold) is reported by the sampler.
The last layer starts at zero, so an untrained flow is the identity.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["EquivariantFlow", "count_params"]


class EquivariantFlow(eqx.Module):
    """Equivariant continuous flow on ``(N, 3)`` configurations (see module docstring).

    Parameters
    ----------
    key : jax.random.PRNGKey
        Unused (the flow starts as the identity); kept for the equinox convention.
    n_basis : int
        Number of Gaussian radial basis functions on ``[0, r_basis]``.
    r_basis : float
        Largest basis centre (sigma units).
    n_time : int
        Number of Gaussian bumps in ``t`` on ``[0, 1]``.
    n_steps : int
        RK4 steps of the time-1 map.
    """

    weights: jnp.ndarray
    alpha: jnp.ndarray
    centres: tuple = eqx.field(static=True)
    times: tuple = eqx.field(static=True)
    gamma: float = eqx.field(static=True)
    gamma_t: float = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)

    def __init__(self, key=None, n_basis: int = 16, r_basis: float = 4.0, n_time: int = 4,
                 n_steps: int = 8):
        for name, val in (("n_basis", n_basis), ("n_time", n_time), ("n_steps", n_steps)):
            if isinstance(val, bool) or int(val) < 1:
                raise ValueError(f"{name} must be >= 1, got {val}")
        if not r_basis > 0:
            raise ValueError(f"r_basis must be > 0, got {r_basis}")
        del key
        # zero parameters: the initial flow is the identity (AFT then starts as plain SMC)
        self.weights = jnp.zeros((int(n_basis), int(n_time)))
        self.alpha = jnp.zeros(int(n_time))
        self.centres = tuple(float(c) for c in np.linspace(0.0, r_basis, int(n_basis)))
        self.times = tuple(float(c) for c in np.linspace(0.0, 1.0, int(n_time)))
        self.gamma = float((n_basis / r_basis) ** 2)
        self.gamma_t = float(max(n_time - 1, 1) ** 2)
        self.n_steps = int(n_steps)

    def _pairs(self, x, t):
        n = x.shape[0]
        i, j = np.triu_indices(n, 1)
        d = x[i] - x[j]
        r = jnp.sqrt(jnp.sum(d * d, axis=-1) + 1e-12)  # smooth at coincident atoms
        c = jnp.asarray(self.centres)
        rho = jnp.exp(-self.gamma * (r[:, None] - c) ** 2)
        bt = jnp.exp(-self.gamma_t * (t - jnp.asarray(self.times)) ** 2)
        coef = self.weights @ bt
        return i, j, d, r, rho, c, bt, coef

    def field(self, x: jnp.ndarray, t) -> jnp.ndarray:
        """Velocity of one configuration ``x`` (N, 3) at time ``t``."""
        i, j, d, _, rho, _, bt, coef = self._pairs(x, t)
        f = d * (rho @ coef)[:, None]
        v = jnp.zeros_like(x).at[i].add(f).at[j].add(-f)
        return v + jnp.dot(self.alpha, bt) * (x - jnp.mean(x, axis=0))

    def field_div(self, x: jnp.ndarray, t):
        """Velocity and its divergence ``sum_{i != j} (3 phi + r phi') + 3 alpha (N - 1)``
        (analytic; equal on R^{3N} and on the COM-free subspace)."""
        i, j, d, r, rho, c, bt, coef = self._pairs(x, t)
        phi = rho @ coef
        dphi = (-2.0 * self.gamma * (r[:, None] - c) * rho) @ coef
        f = d * phi[:, None]
        a = jnp.dot(self.alpha, bt)
        v = jnp.zeros_like(x).at[i].add(f).at[j].add(-f) + a * (x - jnp.mean(x, axis=0))
        div = 2.0 * jnp.sum(3.0 * phi + r * dphi) + 3.0 * a * (x.shape[0] - 1)
        return v, div

    def transform_trace(self, x: jnp.ndarray):
        """``(T(x), int div v dt)``: RK4 on the state and the log-density change together.

        Cheap (no Jacobian); the log-determinant is the continuous flow's, accurate to the
        RK4 error, so it serves the training loss, while the importance weights use the
        exact :meth:`forward_one`.
        """
        h = 1.0 / self.n_steps

        def step(carry, k):
            y, ld = carry
            t = k * h
            k1, l1 = self.field_div(y, t)
            k2, l2 = self.field_div(y + 0.5 * h * k1, t + 0.5 * h)
            k3, l3 = self.field_div(y + 0.5 * h * k2, t + 0.5 * h)
            k4, l4 = self.field_div(y + h * k3, t + h)
            y = y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
            return (y, ld + (h / 6.0) * (l1 + 2 * l2 + 2 * l3 + l4)), None

        (y, ld), _ = jax.lax.scan(step, (x, jnp.zeros((), x.dtype)),
                                  jnp.arange(self.n_steps, dtype=x.dtype),
                                  unroll=self.n_steps <= 8)
        return y, ld

    def forward_trace(self, x: jnp.ndarray):
        """Batched :meth:`transform_trace`: ``x`` (B, N, 3) -> ``(y, logdet (B,))``."""
        return jax.vmap(self.transform_trace)(x)

    def transform(self, x: jnp.ndarray) -> jnp.ndarray:
        """The time-1 RK4 map of one configuration ``x`` (N, 3)."""
        h = 1.0 / self.n_steps

        def step(y, k):
            t = k * h
            k1 = self.field(y, t)
            k2 = self.field(y + 0.5 * h * k1, t + 0.5 * h)
            k3 = self.field(y + 0.5 * h * k2, t + 0.5 * h)
            k4 = self.field(y + h * k3, t + h)
            return y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4), None

        y, _ = jax.lax.scan(step, x, jnp.arange(self.n_steps, dtype=x.dtype),
                                  unroll=self.n_steps <= 8)
        return y

    def forward_one(self, x: jnp.ndarray):
        """``(T(x), log|det J|, sign det J)`` for one configuration ``x`` (N, 3)."""
        shape = x.shape

        def flat(z):
            y = self.transform(z.reshape(shape)).ravel()
            return y, y

        jac, y = jax.jacfwd(flat, has_aux=True)(x.ravel())
        sign, logdet = jnp.linalg.slogdet(jac)
        return y.reshape(shape), logdet, sign

    def forward(self, x: jnp.ndarray):
        """Batched :meth:`forward_one`: ``x`` (B, N, 3) -> ``(y, logdet (B,), sign (B,))``."""
        return jax.vmap(self.forward_one)(x)


def count_params(model) -> int:
    """Number of trainable scalars of an equinox model."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    return int(sum(np.size(leaf) for leaf in leaves))
