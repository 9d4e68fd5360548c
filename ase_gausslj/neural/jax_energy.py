"""JAX-traceable smoothed LJ cluster energies (imports JAX).

Two implementations of ``E_s(X) = sum_{i<j} V_s(|x_i - x_j|)`` for batches ``(B, N, 3)``:

* :class:`JaxPairTable` / :func:`make_lj_energy` (default): per width, ``V_s`` and ``dV_s/dr``
  from the project's exact quadrature (:func:`ase_gausslj.core.potential.smoothed_lj`) on a
  uniform grid, evaluated in ``jnp`` by cubic Hermite interpolation; beyond the grid the
  heat-kernel series of the table module; width 0 is the regularized LJ in closed form.
  The grid spacing is halved until the interpolant matches ``smoothed_lj`` to ``tol`` at the
  interval midpoints (the worst case of Hermite interpolation). Fully traceable:
  ``jit``, ``grad``, ``vmap`` and higher derivatives work.
* :func:`make_callback_lj_energy`: ``jax.pure_callback`` around the numba kernels of
  :class:`ase_gausslj.sampling.targets.LJClusterTarget` with a custom VJP (energy and
  forces in one call). First-order reverse mode only, no ``jvp``/``vmap``-of-``grad``.

Which one is faster is measured by :func:`benchmark` (see docs/neural.md).
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from ..core.closed_forms import lj_affine_coefficients, tail_coefficients
from ..core.defaults import R_CORE, WIDTH_MAX
from ..core.potential import smoothed_lj
from ..core.validation import check_width

__all__ = ["JaxPairTable", "make_lj_energy", "make_callback_lj_energy", "pair_distances",
           "benchmark"]

jax.config.update("jax_enable_x64", True)


def pair_distances(x: jnp.ndarray) -> jnp.ndarray:
    """Distances ``r_ij`` (i < j) of positions ``(..., N, 3)``, shape ``(..., N(N-1)/2)``.

    The square root is guarded so that coincident atoms give a zero gradient, not NaN.
    """
    n = x.shape[-2]
    i, j = np.triu_indices(n, 1)
    d = x[..., i, :] - x[..., j, :]
    r2 = jnp.sum(d * d, axis=-1)
    pos = r2 > 0.0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, r2, 1.0)), 0.0)


class JaxPairTable:
    """``V_s(r)`` at one width as ``jnp`` arrays (see module docstring).

    Parameters
    ----------
    width : float
        Smoothing width ``s >= 0`` (reduced units).
    r_core : float
        Core radius of the regularized LJ.
    tol : float
        Largest allowed ``|V_table - V_exact| / max(1, |V_exact|)`` at interval midpoints.
    h : float
        Initial grid spacing (halved until ``tol`` holds, at most 4 times).

    Attributes
    ----------
    max_error : float
        The measured midpoint error (0 for width 0, which is closed-form).
    """

    def __init__(self, width: float, r_core: float = R_CORE, tol: float = 1e-7, h: float = 2e-3):
        self.width = check_width(width, "width", maximum=WIDTH_MAX, limit_name="WIDTH_MAX")
        self.r_core = float(r_core)
        self.a, self.b = lj_affine_coefficients(self.r_core)
        self.max_error = 0.0
        if self.width == 0.0:
            return
        # same far-field rule as the project's table: the core's weight is < 1e-30 beyond
        self.r_max = 8.0 + 10.0 * math.sqrt(2.0) * self.width
        for _ in range(5):
            grid = np.arange(0.0, self.r_max + 0.5 * h, h)
            v, dv = smoothed_lj(grid, self.width, self.r_core)
            mids = grid[:-1] + 0.5 * h
            vm, _ = smoothed_lj(mids, self.width, self.r_core)
            approx = 0.5 * (v[:-1] + v[1:]) + 0.125 * h * (dv[:-1] - dv[1:])
            self.max_error = float(np.max(np.abs(approx - vm) / np.maximum(1.0, np.abs(vm))))
            if self.max_error <= tol:
                break
            h *= 0.5
        else:
            raise ValueError(f"table at width {self.width} missed tol={tol} "
                             f"(error {self.max_error:.2e})")
        self.h = h
        self.r_max = float(grid[-1])
        self._v = jnp.asarray(v)
        self._dv = jnp.asarray(dv * h)
        ta, tb = tail_coefficients(self.width)
        # the series is asymptotic: keep the terms up to its smallest one at r_max
        y = self.r_max**-2.0
        k = np.arange(ta.size)
        size = np.abs(ta) * y ** (6.0 + k) + np.abs(tb) * y ** (3.0 + k)
        keep = int(np.argmin(size)) + 1
        self._ta, self._tb = [float(c) for c in ta[:keep]], [float(c) for c in tb[:keep]]

    def __call__(self, r: jnp.ndarray) -> jnp.ndarray:
        """``V_s(r)`` elementwise (traceable)."""
        if self.width == 0.0:
            rs = jnp.maximum(r, self.r_core)  # keeps the unused branch finite under grad
            inv6 = rs**-6
            return jnp.where(r > self.r_core, 4.0 * (inv6 * inv6 - inv6), self.a + self.b * r)
        u = jnp.clip(r, 0.0, self.r_max) / self.h
        i = jnp.clip(jnp.floor(u).astype(jnp.int32), 0, self._v.size - 2)
        t = u - i
        t2, t3 = t * t, t * t * t
        inside = ((2 * t3 - 3 * t2 + 1) * self._v[i] + (t3 - 2 * t2 + t) * self._dv[i]
                  + (3 * t2 - 2 * t3) * self._v[i + 1] + (t3 - t2) * self._dv[i + 1])
        y = 1.0 / jnp.maximum(r, self.r_max) ** 2
        # Horner in y (powers y**k through pow would dominate the cost)
        pa = jnp.zeros_like(y)
        pb = jnp.zeros_like(y)
        for k in range(len(self._ta) - 1, -1, -1):
            pa = pa * y + self._ta[k]
            pb = pb * y + self._tb[k]
        y3 = y * y * y
        tail = y3 * (y3 * pa - pb)
        return jnp.where(r < self.r_max, inside, tail)


def make_lj_energy(width: float, r_core: float = R_CORE, tol: float = 1e-7):
    """``E(x) -> (B,)`` for positions ``(B, N, 3)``: the smoothed LJ energy, in ``jnp``."""
    table = JaxPairTable(width, r_core, tol=tol)

    def energy(x: jnp.ndarray) -> jnp.ndarray:
        return jnp.sum(table(pair_distances(x)), axis=-1)

    energy.table = table
    return energy


def make_callback_lj_energy(target, width: float | None = None):
    """``E(x) -> (B,)`` through ``jax.pure_callback`` into ``target.lj_energy_gradient``.

    Parameters
    ----------
    target : LJClusterTarget
        Supplies the numba energy and gradient.
    width : float or None
        Smoothing width. None returns ``E(x, width)`` with the width a (traceable, not
        differentiated) argument, so one compiled function serves every width.
    """
    if width is not None:
        width = check_width(width, "width")

    def host(x, w):
        e, g = target.lj_energy_gradient(np.asarray(x, dtype=np.float64), float(w))
        return np.asarray(e, dtype=np.float64), np.asarray(g, dtype=np.float64)

    def call(x, w):
        shapes = (jax.ShapeDtypeStruct(x.shape[:1], jnp.float64),
                  jax.ShapeDtypeStruct(x.shape, jnp.float64))
        return jax.pure_callback(host, shapes, x, w)

    @jax.custom_vjp
    def energy_w(x, w):
        return call(x, w)[0]

    def fwd(x, w):
        e, g = call(x, w)
        return e, (g, w)

    def bwd(res, ct):
        g, w = res
        return ct[:, None, None] * g, jnp.zeros_like(w)

    energy_w.defvjp(fwd, bwd)
    if width is None:
        return energy_w
    return lambda x: energy_w(x, jnp.asarray(width, dtype=jnp.float64))


def benchmark(n_atoms_list=(3, 7, 13), batch: int = 2000, width: float = 0.6,
              repeats: int = 5, seed: int = 0) -> list[dict]:
    """Seconds per energy+gradient call of a batch, table-in-``jnp`` vs ``pure_callback``.

    Returns one dict per cluster size with the best-of-``repeats`` times and the largest
    energy difference between the two implementations.
    """
    from ..sampling.targets import LJClusterTarget  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    out = []
    table_e = make_lj_energy(width)
    for n in n_atoms_list:
        target = LJClusterTarget(n, width_max=max(width, 1.0))
        cb_e = make_callback_lj_energy(target, width)
        x = jnp.asarray(rng.normal(scale=1.2, size=(batch, n, 3)))
        row = {"n_atoms": n, "batch": batch, "width": width}
        vals = {}
        for name, fn in (("jnp_table", table_e), ("pure_callback", cb_e)):
            vg = jax.jit(jax.value_and_grad(lambda z, f=fn: jnp.sum(f(z))))
            vals[name] = np.asarray(jax.jit(fn)(x))
            jax.block_until_ready(vg(x))
            best = math.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                jax.block_until_ready(vg(x))
                best = min(best, time.perf_counter() - t0)
            row[f"{name}_s"] = best
        row["max_abs_diff"] = float(np.max(np.abs(vals["jnp_table"] - vals["pure_callback"])))
        out.append(row)
    return out
