"""Exact Boltzmann statistics of LJ3 by quadrature over the pair distances (no JAX needed).

Three atoms have three internal degrees of freedom, the pair distances ``a = r12``,
``b = r13``, ``c = r23``. A density of the form

.. math::

    p(X) \\propto \\exp\\Big(-\\beta \\sum_{i<j} V_s(r_{ij}) - \\frac{\\kappa}{2} |X|^2\\Big)

on the centre-of-mass-free subspace (``|X|^2 = sum_i |x_i - xbar|^2 = (a^2 + b^2 + c^2) / 3``)
is a product ``f(a) f(b) f(c)`` with ``f(r) = exp(-beta V_s(r) - kappa r^2 / 6)``. The volume
element of the COM-free subspace (orthonormal coordinates, as in
:mod:`ase_gausslj.sampling.targets`) is

.. math::

    dX = 3^{-3/2} \\, 8 \\pi^2 \\, a b c \\; da\\, db\\, dc

on the triangle region ``|a - b| <= c <= a + b`` (``8 pi^2`` the rotations, ``3^{-3/2}`` the
change from relative coordinates ``x2 - x1, x3 - x1`` to orthonormal ones). With
``g(r) = r f(r)`` and its antiderivative ``G``, the innermost integral is
``G(a + b) - G(|a - b|)``, so ``Z`` and the moments are smooth 2-D integrals; ``G`` comes from
a cumulative Simpson rule on a fine grid. Exact samples of ``(a, b, c)`` follow by inverse
transform sampling: ``(a, b)`` from their joint marginal on a 0.005 grid (uniform within a
cell, which smears the LJ energy by ~0.01 at most), then ``c | a, b`` exactly through ``G``.

This covers the AFT targets of :mod:`ase_gausslj.neural.aft`: the Gaussian-width path
(``beta = 1/kT``, ``kappa = c_harm / kT``, width ``s``) and the mixture path
(``beta = (1 - lambda)/kT``, ``kappa = lambda / sigma0^2 + (1 - lambda) c_harm / kT``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import cumulative_simpson
from scipy.special import roots_legendre

from ..core.defaults import R_CORE
from ..core.potential import smoothed_lj
from ..core.validation import check_finite_nonneg, check_width

__all__ = ["LJ3GroundTruth", "lj3_ground_truth", "expected_min"]

_MEASURE = math.log(8.0 * math.pi**2) - 1.5 * math.log(3.0)


@dataclass
class LJ3GroundTruth:
    """Quadrature results for one LJ3 density (see module docstring).

    Attributes
    ----------
    log_z : float
        ``log`` of the normalizing constant on the COM-free subspace.
    mean_lj_energy, std_lj_energy : float
        Mean and standard deviation of ``sum_{i<j} V_s(r_ij)``.
    samples : ndarray, shape (n, 3)
        iid draws of the pair distances ``(r12, r13, r23)`` (module docstring).
    lj_energies : ndarray, shape (n,)
        ``sum V_s`` of those draws.
    params : dict
        ``beta, kappa, width, r_core`` and the grid sizes.
    """

    log_z: float
    mean_lj_energy: float
    std_lj_energy: float
    samples: np.ndarray
    lj_energies: np.ndarray
    params: dict

    def expected_min(self, n: int) -> float:
        """Expected minimum LJ energy of ``n`` iid draws (the paper's metric, exact sampler)."""
        return expected_min(self.lj_energies, n)


def expected_min(values, n: int) -> float:
    """``E[min of n iid draws]`` from the empirical CDF ``F`` of ``values``.

    Uses ``E[min] = e_0 + int (1 - F(e))^n de`` with ``e_0`` the smallest value; needs
    ``len(values) >> n`` to resolve the lower tail.
    """
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if v.size < 2:
        raise ValueError("values must hold at least two numbers")
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    surv = 1.0 - np.arange(1, v.size) / v.size  # 1 - F on [v_k, v_{k+1})
    return float(v[0] + np.sum(surv ** int(n) * np.diff(v)))


def _composite_gl(edges: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = roots_legendre(order)
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    weights = 0.5 * (hi - lo) * w
    return nodes.ravel(), weights.ravel()


def lj3_ground_truth(
    beta: float,
    kappa: float,
    *,
    width: float = 0.0,
    r_core: float = R_CORE,
    n_samples: int = 200_000,
    h_fine: float = 2e-4,
    seed: int = 0,
) -> LJ3GroundTruth:
    """Normalizing constant, LJ-energy moments and exact samples of an LJ3 density.

    Parameters
    ----------
    beta : float
        Inverse temperature of the LJ part (``>= 0``; 0 leaves the Gaussian alone).
    kappa : float
        Gaussian confinement ``> 0`` (``exp(-kappa |X|^2 / 2)`` on the COM-free subspace).
    width : float
        Smoothing width of the pair potential (0 = regularized LJ).
    r_core : float
        Core radius of the regularized LJ.
    n_samples : int
        Draws kept for distances between distributions (0 for none; see the module
        docstring for their one approximation, the 0.005 grid of ``(a, b)``).
    h_fine : float
        Grid spacing of ``G`` and of the inverse-transform grids.
    seed : int
        Seed of the exact draws.

    Returns
    -------
    LJ3GroundTruth
    """
    beta = float(check_finite_nonneg(beta, "beta"))
    kappa = float(check_finite_nonneg(kappa, "kappa"))
    if kappa <= 0:
        raise ValueError(f"kappa must be > 0 (a normalizable density), got {kappa}")
    width = check_width(width, "width")
    if not 0 < h_fine <= 0.01:
        raise ValueError(f"h_fine must be in (0, 0.01], got {h_fine}")
    if int(n_samples) < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    # a pair longer than r_max stretches at least two distances: weight < exp(-60)
    r_max = math.sqrt(6.0 * 60.0 / kappa) + 2.0
    grid = np.arange(0.0, 2.0 * r_max + h_fine, h_fine)
    v, _ = smoothed_lj(grid, width, r_core) if beta > 0 else (np.zeros_like(grid), None)
    g = grid * np.exp(-beta * v - kappa * grid**2 / 6.0)
    big_g = cumulative_simpson(g, x=grid, initial=0.0)
    big_h = cumulative_simpson(g * v, x=grid, initial=0.0)  # for <V(r23)>

    # outer 2-D rule: fine panels where the LJ well and core live, coarser outside
    edges = np.unique(np.concatenate([
        np.arange(0.0, 0.6, 0.1), np.arange(0.6, 3.0, 0.02), np.arange(3.0, r_max, 0.1), [r_max],
    ]))
    r, w = _composite_gl(edges, 6)
    vr = smoothed_lj(r, width, r_core)[0] if beta > 0 else np.zeros_like(r)
    f_r = r * np.exp(-beta * vr - kappa * r**2 / 6.0)  # g at the nodes
    a, b = r[:, None], r[None, :]
    hi, lo = a + b, np.abs(a - b)
    inner = np.interp(hi, grid, big_g) - np.interp(lo, grid, big_g)
    inner_v = np.interp(hi, grid, big_h) - np.interp(lo, grid, big_h)
    wab = (w * f_r)[:, None] * (w * f_r)[None, :]
    z = float(np.sum(wab * inner))
    # the density is symmetric in the three distances: <E> = 3 <V(r23)>
    mean_v = float(np.sum(wab * inner_v)) / z
    mean_e = 3.0 * mean_v
    big_h2 = cumulative_simpson(g * v * v, x=grid, initial=0.0)
    e2 = _second_moment(wab, inner, inner_v, vr, grid, big_h2, hi, lo, z)
    std_e = math.sqrt(max(e2 - mean_e**2, 0.0))
    params = {"beta": beta, "kappa": kappa, "width": width, "r_core": r_core,
              "h_fine": h_fine, "n_outer": int(r.size)}
    samples, energies = _draw(n_samples, seed, grid, g, big_g, v, r_max)
    return LJ3GroundTruth(
        log_z=math.log(z) + _MEASURE,
        mean_lj_energy=mean_e,
        std_lj_energy=std_e,
        samples=samples,
        lj_energies=energies,
        params=params,
    )


def _second_moment(wab, inner, inner_v, vr, grid, big_h2, hi, lo, z) -> float:
    """``<(V(a) + V(b) + V(c))^2>`` with ``c`` integrated through ``G``-type antiderivatives."""
    vv = vr[:, None] + vr[None, :]
    inner_v2 = np.interp(hi, grid, big_h2) - np.interp(lo, grid, big_h2)
    return float(np.sum(wab * (vv**2 * inner + 2.0 * vv * inner_v + inner_v2))) / z


def _draw(n, seed, grid, g, big_g, v, r_max):
    """Draws of ``(a, b, c)``: ``(a, b)`` from the joint marginal on a 0.005 grid (uniform
    within a cell), then ``c | a, b`` exactly by inverting ``G``."""
    if n == 0:
        return np.empty((0, 3)), np.empty(0)
    rng = np.random.default_rng(seed)
    step = 0.005
    mid = np.arange(0.5 * step, r_max, step)
    gc = np.interp(mid, grid, g)
    joint = gc[:, None] * gc[None, :] * (
        np.interp(mid[:, None] + mid[None, :], grid, big_g)
        - np.interp(np.abs(mid[:, None] - mid[None, :]), grid, big_g)
    )
    cdf = np.cumsum(joint.ravel())
    cell = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), cdf.size - 1)
    ia, ib = np.divmod(cell, mid.size)
    a = mid[ia] + step * (rng.random(n) - 0.5)
    b = mid[ib] + step * (rng.random(n) - 0.5)
    lo_g = np.interp(np.abs(a - b), grid, big_g)
    hi_g = np.interp(a + b, grid, big_g)
    c = np.interp(lo_g + rng.random(n) * (hi_g - lo_g), big_g, grid)
    e = np.interp(a, grid, v) + np.interp(b, grid, v) + np.interp(c, grid, v)
    return np.stack([a, b, c], axis=1), e
