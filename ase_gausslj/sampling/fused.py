"""Compiled per-replica passes of the Langevin samplers (one pass over memory each).

The samplers move 10^3 replicas of 10-100 atoms per step; written as numpy expressions,
the proposal and the energy bookkeeping are ~20 passes over ``(R, N, 3)`` arrays (centre
of mass, gradient of the annealed potential, taming, update, projection; harmonic term,
sums, prior term) and cost as much as the pair kernel itself (LJ55 x 1,000: ~6 ms a step
against the kernel's ~4-6 ms). Each function here does the same arithmetic replica by
replica while the replica is in cache. Results equal the numpy expressions of
:mod:`.kernels` and :mod:`.targets` to rounding (the centre of mass is summed in another
order).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["langevin_proposal", "energy_terms"]


@nb.njit(cache=True)
def _com(a, r):
    n = a.shape[1]
    c0 = c1 = c2 = 0.0
    for i in range(n):
        c0 += a[r, i, 0]
        c1 += a[r, i, 1]
        c2 += a[r, i, 2]
    return c0 / n, c1 / n, c2 / n


@nb.njit(cache=True)
def langevin_proposal(x, g_tot, xi, hs, lam, prior_var, kt, max_drift):
    """``(y, hx, finite)``: the COM-free Langevin proposal of every replica.

    ``y = P(x - h_x grad U(x) + sqrt(2 h_x) P xi)`` with ``grad U = lam x / prior_var +
    (1 - lam) g_tot / kT``, ``P`` the centre-of-mass projection and ``h_x = hs / (1 + hs
    max_i |grad_i U| / max_drift)`` (``max_drift`` 0: ``h_x = hs``). ``xi`` is projected in
    place (the Metropolis ratio reads it); ``finite`` is False when a coordinate of ``y``
    is not finite.
    """
    nr, n = x.shape[0], x.shape[1]
    y = np.empty_like(x)
    hx = np.empty(nr)
    finite = True
    for r in range(nr):
        m0, m1, m2 = _com(xi, r)
        gmax = 0.0
        for i in range(n):
            xi[r, i, 0] -= m0
            xi[r, i, 1] -= m1
            xi[r, i, 2] -= m2
            gn = 0.0
            for k in range(3):
                g = lam * x[r, i, k] / prior_var + (1.0 - lam) * g_tot[r, i, k] / kt
                gn += g * g
            gmax = max(gmax, gn)
        h = hs[r]
        if max_drift > 0.0:
            h = h / (1.0 + h * math.sqrt(gmax) / max_drift)
        hx[r] = h
        s = math.sqrt(2.0 * h)
        for i in range(n):
            for k in range(3):
                g = lam * x[r, i, k] / prior_var + (1.0 - lam) * g_tot[r, i, k] / kt
                y[r, i, k] = x[r, i, k] - h * g + s * xi[r, i, k]
        c0, c1, c2 = _com(y, r)
        for i in range(n):
            y[r, i, 0] -= c0
            y[r, i, 1] -= c1
            y[r, i, 2] -= c2
            for k in range(3):
                if not math.isfinite(y[r, i, k]):
                    finite = False
    return y, hx, finite


@nb.njit(cache=True)
def energy_terms(x, e_lj, g_lj, harmonic, prior_var):
    """``(e_tot, e_prior)``, with ``g_lj`` turned into the total gradient in place.

    Adds the harmonic confinement ``(c/2) sum_i |x_i - xbar|^2`` (gradient ``c (x_i -
    xbar)``) to the LJ terms and computes the prior term ``|x|^2 / (2 prior_var)``.
    """
    nr, n = x.shape[0], x.shape[1]
    e_tot = np.empty(nr)
    e_prior = np.empty(nr)
    for r in range(nr):
        c0, c1, c2 = _com(x, r)
        c = (c0, c1, c2)
        eh = 0.0
        ep = 0.0
        for i in range(n):
            for k in range(3):
                d = x[r, i, k] - c[k]
                eh += d * d
                ep += x[r, i, k] * x[r, i, k]
                g_lj[r, i, k] += harmonic * d
        e_tot[r] = e_lj[r] + 0.5 * harmonic * eh
        e_prior[r] = 0.5 * ep / prior_var
    return e_tot, e_prior
