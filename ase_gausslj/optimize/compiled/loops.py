"""The compiled local minimizers: L-BFGS (pele's step rule) and FIRE, in nopython mode.

Each loop takes the flat positions (minimized in place), one :class:`~.energy.KernelArgs`
and one options record (:class:`LBFGSOptions`, :class:`FireOptions`): no Python runs
between two energy evaluations. The algorithms are described in :mod:`.minimize`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from .energy import eval_energy_grad as energy_grad
from .energy import gnorm

__all__ = ["LBFGSOptions", "FireOptions", "LBFGSWork", "lbfgs_work", "lbfgs_core", "fire_core"]

_MAX_HALVINGS = 10  # pele's nred_max


class LBFGSOptions(NamedTuple):
    """Settings of :func:`lbfgs_core` (see :func:`~.minimize.lbfgs_minimize`)."""

    gtol: float
    norm: int  # a code of NORMS
    max_iter: int
    memory: int
    maxstep: float
    max_rise: float


class LBFGSWork(NamedTuple):
    """The working arrays of :func:`lbfgs_core` (:func:`lbfgs_work`), allocated by the
    caller: numba's array allocators (``np.zeros``, ``np.empty``) cost a first run ~0.3
    CPU-s of compilation, and a search reuses one set for all of its quenches."""

    rows: np.ndarray  # (2 m + 4, n): m steps s, m gradient changes y, g, g_new, x_new, d
    hist: np.ndarray  # (2, m): rho, alpha


def lbfgs_work(n: int, memory: int) -> LBFGSWork:
    """:class:`LBFGSWork` for ``n`` coordinates and up to ``memory`` stored pairs (no
    value is read before it is written: ``np.empty``)."""
    return LBFGSWork(np.empty((2 * memory + 4, n)), np.empty((2, memory)))


class FireOptions(NamedTuple):
    """Settings of :func:`fire_core` (see :func:`~.minimize.fire_minimize`)."""

    gtol: float
    norm: int
    max_iter: int
    dt: float
    maxstep: float
    dtmax: float
    nmin: int
    finc: float
    fdec: float
    astart: float
    fa: float


@nb.njit(cache=True, inline="always")
def _two_loop(g, d, s_mem, y_mem, rho, alpha, k, m, h0):
    """``d = -H g`` by the L-BFGS two-loop recursion over the last ``min(k, m)`` pairs."""
    n = g.size
    for j in range(n):
        d[j] = g[j]
    lo = k - m if k - m > 0 else 0
    for it in range(k - 1, lo - 1, -1):
        i = it % m
        a = 0.0
        for j in range(n):
            a += s_mem[i, j] * d[j]
        a *= rho[i]
        alpha[i] = a
        for j in range(n):
            d[j] -= a * y_mem[i, j]
    for j in range(n):
        d[j] *= h0
    for it in range(lo, k):
        i = it % m
        b = 0.0
        for j in range(n):
            b += y_mem[i, j] * d[j]
        b = alpha[i] - rho[i] * b
        for j in range(n):
            d[j] += b * s_mem[i, j]
    for j in range(n):
        d[j] = -d[j]


@nb.njit(cache=True)
def lbfgs_core(x, ka, opt, work):
    """L-BFGS in place on flat ``x`` (``ka``: :class:`KernelArgs`, ``opt``:
    :class:`LBFGSOptions`, ``work``: ``lbfgs_work(x.size, m)`` or larger); returns ``(e,
    g_norm, n_iter, n_fev, converged)``. One function, ~80 lines: splitting the loop body
    would pass the memory arrays through calls that numba reference-counts every time."""
    gtol, norm, max_iter, m, maxstep, max_rise = opt
    n = x.size
    rows, hist = work
    s_mem = rows[:m]  # 2-D: flat rows (i * n + j) cost the search ~8 % (measured)
    y_mem = rows[m:2 * m]
    g, g_new = rows[2 * m], rows[2 * m + 1]
    x_new, d = rows[2 * m + 2], rows[2 * m + 3]
    rho, alpha = hist[0], hist[1]
    e = energy_grad(x, g, ka)
    n_fev = 1
    gn = gnorm(g, norm)
    if not math.isfinite(e):
        return e, gn, 0, n_fev, False
    k = 0  # pairs stored since the last reset
    h0 = 0.1  # pele's initial inverse-Hessian scale
    it = 0
    stalled = False
    while gn > gtol and it < max_iter:
        if k == 0:
            # pele's conservative first step: length h0 * min(|g|, 1)
            g2 = 0.0
            for j in range(n):
                g2 += g[j] * g[j]
            gl = math.sqrt(g2)
            scale = h0 / (1.0 if 1.0 > gl else gl)  # = max(gl, 1.0), no builtin to compile
            for j in range(n):
                d[j] = -scale * g[j]
        else:
            _two_loop(g, d, s_mem, y_mem, rho, alpha, k, m, h0)
        dn = 0.0
        dg = 0.0
        for j in range(n):
            dn += d[j] * d[j]
            dg += d[j] * g[j]
        dn = math.sqrt(dn)
        if dg >= 0.0 or dn == 0.0 or not math.isfinite(dn):
            # not a descent direction (rounding at tiny gradients): start afresh
            if k == 0:
                break
            k = 0
            continue
        factor = maxstep / dn
        factor = factor if factor < 1.0 else 1.0  # = min(1.0, maxstep / dn)
        ok = False
        e_new = e
        for _ in range(_MAX_HALVINGS):
            for j in range(n):
                x_new[j] = x[j] + factor * d[j]
            e_new = energy_grad(x_new, g_new, ka)
            n_fev += 1
            if e_new - e < max_rise:  # False for NaN: halve
                ok = True
                break
            factor *= 0.5
        if not ok:
            if k == 0:
                stalled = True
                break
            k = 0  # the memory misleads: retry along the steepest descent
            continue
        i = k % m
        ys = 0.0
        yy = 0.0
        for j in range(n):
            sj = x_new[j] - x[j]
            yj = g_new[j] - g[j]
            s_mem[i, j] = sj
            y_mem[i, j] = yj
            ys += sj * yj
            yy += yj * yj
            x[j] = x_new[j]
            g[j] = g_new[j]
        e = e_new
        if ys > 1e-300 and yy > 0.0:
            rho[i] = 1.0 / ys
            h0 = ys / yy
            k += 1
        it += 1
        gn = gnorm(g, norm)
    return e, gn, it, n_fev, gn <= gtol and not stalled


@nb.njit(cache=True)
def fire_core(x, ka, opt):
    """FIRE (Bitzek et al. 2006, unit masses) in place on flat ``x`` (``opt``:
    :class:`FireOptions`).

    Step for step the algorithm of ``homotopy._fire`` (ASE's parameters); returns
    ``(e, g_norm, n_iter, n_fev, converged)``.
    """
    gtol, norm, max_iter, dt, maxstep, dtmax, nmin, finc, fdec, astart, fa = opt
    n = x.size
    g = np.empty(n)
    v = np.zeros(n)
    a = astart
    n_pos = 0
    it = 0
    n_fev = 0
    while True:
        e = energy_grad(x, g, ka)
        n_fev += 1
        gn = gnorm(g, norm)
        if gn < gtol or it >= max_iter or not math.isfinite(e):
            return e, gn, it, n_fev, gn < gtol and math.isfinite(e)
        it += 1
        vf = 0.0
        vv = 0.0
        ff = 0.0
        for j in range(n):
            vf -= v[j] * g[j]
            vv += v[j] * v[j]
            ff += g[j] * g[j]
        if vf > 0.0:
            c = a * math.sqrt(vv) / math.sqrt(ff)
            for j in range(n):
                v[j] = (1.0 - a) * v[j] - c * g[j]
            if n_pos > nmin:
                dt = min(dt * finc, dtmax)
                a *= fa
            n_pos += 1
        else:
            for j in range(n):
                v[j] = 0.0
            a = astart
            n_pos = 0
            dt *= fdec
        dr2 = 0.0
        for j in range(n):
            v[j] -= dt * g[j]
            dr2 += (dt * v[j]) ** 2
        scale = dt
        if math.sqrt(dr2) > maxstep:
            scale = dt * maxstep / math.sqrt(dr2)
        for j in range(n):
            x[j] += scale * v[j]
