"""Exact Gaussian-smoothed Lennard-Jones pair potential (reduced units).

Lengths are in units of the LJ ``sigma``, energies in units of ``epsilon``.

The regularized LJ potential is ``V(u) = 4 (u**-12 - u**-6)`` for ``u > r_core`` and,
for ``u <= r_core``, the affine extension ``a + b u`` matching value and slope at
``r_core``. Smoothing the total energy with an isotropic Gaussian of per-coordinate
standard deviation ``s`` (the *width*) gives a sum of smoothed pair terms (Ram & Ram
2025, Eq. 1)::

    V_s(r) = 1 / (2 r sqrt(pi) s) * int_0^inf u V(u)
             [exp(-(r-u)^2 / 4s^2) - exp(-(r+u)^2 / 4s^2)] du

i.e. ``V_s(r) = E[g(r + sqrt(2) s Z)] / r`` with ``g(u) = u V(|u|)`` extended as an odd
function. We write the bracket divided by ``r`` as
``exp(-(r-u)^2/4s^2) * (-expm1(-r u / s^2)) / r``, which is stable for small ``r u / s^2``
and has the finite limit ``u / s^2`` at ``r = 0``; ``d/dr`` and ``d/ds`` of the kernel are
taken analytically, so the derivatives are as accurate as the value.

The integral is done by composite Gauss-Legendre quadrature on segments split at
``r_core`` (where ``g''`` jumps), at ``r + k sqrt(2) s`` (so every segment is at most one
standard deviation of the Gaussian wide), and geometrically above ``r_core`` (where ``g``
behaves like ``u**-11``); the nodes are placed in the offset ``u - r``, so rounding of
``u`` does not cost digits at small widths. Width 0 is the regularized LJ exactly, and
below ``SMALL_WIDTH`` (1e-6, where the quadrature's window ~ the width meets rounding) a
closed-form small-width expansion takes over (smoothed cone + kink + heat-kernel series,
:mod:`.closed_forms`), exact to double precision down to subnormal widths.

References
----------
.. [1] A. Ram and S. Ram, "Analytic Gaussian Convolution for Faster Molecular
   Optimization and Sampling", ICML GenBio workshop (2025).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .closed_forms import (
    cone_eval,
    cone_smoothing,
    heat_series,
    kink_coefficients,
    kink_eval,
    lj_affine_coefficients,
)
from .defaults import R_CORE
from .validation import check_finite_nonneg, check_r_core

__all__ = [
    "R_CORE",
    "lj_affine_coefficients",
    "regularized_lj",
    "smoothed_lj",
    "smoothed_lj_dwidth",
    "smoothed_coulomb",
    "cone_eval",
    "cone_smoothing",
    "SMALL_WIDTH",
]


# Gauss-Legendre order per segment and (window half-width, segment length) in Gaussian
# standard deviations, and the geometric segment ratio above r_core (g ~ u^-11 there).
# The reference settings reach ~1e-13; the table's cheaper ones ~1e-11 (tests check both).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_QUAD = np.array([10.0, 1.0, 1.3])
_GL_X_FAST, _GL_W_FAST = np.polynomial.legendre.leggauss(12)
_QUAD_FAST = np.array([8.5, 1.7, 1.5])
_SQRT_PI = math.sqrt(math.pi)

#: Below this width the quadrature's nodes (spread over ~sig around r) lose digits to
#: rounding, and :func:`_small_width` is exact to double precision: the two are used
#: on either side of it (they agree to ~1e-12 relative there, tests check it).
SMALL_WIDTH = 1e-6

# Widths (sigma) above which V_s, dV_s/dr and dV_s/ds underflow to exactly 0.
_ZERO_WIDTH = 1e120


@nb.njit(cache=True, inline="always")
def _reg_lj(u, rc, a, b):
    if u > rc:
        i2 = 1.0 / (u * u)
        i6 = i2 * i2 * i2
        return 4.0 * i6 * (i6 - 1.0), -(48.0 * i6 * i6 - 24.0 * i6) / u
    return a + b * u, b


@nb.njit(cache=True, inline="always")
def _g(u, rc, a, b):
    """g(u) = u V(u) for u >= 0."""
    if u > rc:
        i2 = 1.0 / (u * u)
        i6 = i2 * i2 * i2
        return 4.0 * i6 * (i6 - 1.0) * u
    return u * (a + b * u)


@nb.njit(cache=True, inline="always")
def _q_series(x):
    """(x e^-x + expm1(-x)) / x^2, stable for small x."""
    if x < 0.05:
        # sum_{n>=2} (-1)^n (1-n)/n! x^(n-2)
        term = 1.0
        total = 0.0
        fact = 1.0
        for n in range(2, 14):
            fact *= n
            total += ((-1.0) ** n) * (1.0 - n) / fact * term
            term *= x
        return total
    return (x * math.exp(-x) + math.expm1(-x)) / (x * x)


@nb.njit(cache=True)
def _breakpoints(r, s, rc, quad):
    """Segment ends: window r +- quad[0] sig, steps of quad[1] sig, geometric quad[2]."""
    window, step, geom = quad[0], quad[1], quad[2]
    sig = math.sqrt(2.0) * s
    lo = max(0.0, r - window * sig)
    hi = r + window * sig
    nstep = int(math.ceil(window / step))
    pts = np.empty(2 * nstep + 8 + 64)
    n = 0
    pts[n] = lo
    n += 1
    pts[n] = hi
    n += 1
    if lo < rc < hi:
        pts[n] = rc
        n += 1
    for k in range(-nstep, nstep + 1):
        p = r + k * step * sig
        if lo < p < hi:
            pts[n] = p
            n += 1
    p = max(rc, lo) * geom
    while p < hi and n < pts.size:
        pts[n] = p
        n += 1
        p *= geom
    return np.sort(pts[:n])


@nb.njit(cache=True)
def _smoothed_scalar(r, s, rc, a, b, glx, glw, quad):
    """Return (V_s, dV_s/dr, dV_s/ds) at one point, s > 0."""
    inv_s2 = 1.0 / (s * s)
    pref = 1.0 / (2.0 * _SQRT_PI * s)
    bp = _breakpoints(r, s, rc, quad)
    v = 0.0
    dv = 0.0
    ds = 0.0
    for k in range(bp.size - 1):
        # nodes in the offset d = u - r: u itself carries a rounding error ~ eps r, which
        # the odd moment d / s^2 of dV/dr would amplify by r / s^2 at small widths
        d0 = bp[k] - r
        d1 = bp[k + 1] - r
        half = 0.5 * (d1 - d0)
        mid = 0.5 * (d1 + d0)
        if half <= 0.0:
            continue
        sv = 0.0
        sdv = 0.0
        sds = 0.0
        for q in range(glx.size):
            d = mid + half * glx[q]
            u = r + d
            gu = _g(u, rc, a, b)
            e1 = math.exp(-0.25 * d * d * inv_s2)
            x = r * u * inv_s2
            ex = math.exp(-x)
            if x > 1e-8:
                h = -math.expm1(-x) / r
            else:
                # -expm1(-x) / r = (u / s^2) (1 - x/2 + ...): no division by a tiny or
                # subnormal r (where x itself underflows)
                h = u * inv_s2 * (1.0 - 0.5 * x)
            dh = (u * inv_s2) ** 2 * _q_series(x)
            w = glw[q] * gu * e1
            sv += w * h
            sdv += w * (0.5 * d * inv_s2 * h + dh)
            sds += w * (h * (0.5 * d * d * inv_s2 / s - 1.0 / s) - 2.0 * u * ex * inv_s2 / s)
        v += half * sv
        dv += half * sdv
        ds += half * sds
    return pref * v, pref * dv, pref * ds


@nb.njit(cache=True, parallel=True)
def _smoothed_array(r, s, rc, a, b, c2, c3, glx, glw, quad, out_v, out_dv, out_ds):
    for i in nb.prange(r.size):
        if s[i] == 0.0:
            out_v[i], out_dv[i] = _reg_lj(r[i], rc, a, b)
            out_ds[i] = 0.0
        elif s[i] < SMALL_WIDTH:
            out_v[i], out_dv[i], out_ds[i] = _small_width(r[i], s[i], rc, a, b, c2, c3)
        else:
            out_v[i], out_dv[i], out_ds[i] = _smoothed_scalar(r[i], s[i], rc, a, b, glx, glw, quad)


@nb.njit(cache=True)
def _small_width(r, s, rc, a, b, c2, c3):
    """(V_s, dV_s/dr, dV_s/ds) for ``0 < s < SMALL_WIDTH`` in closed form.

    ``g = u V`` is the affine core's ``u (a + b u)`` plus, above ``rc``, the jump
    polynomial ``c2 (u - rc)^2 + c3 (u - rc)^3 + O((u - rc)^4)``. Smoothed: ``a + b M(r)``
    (the cone) plus the truncated-moment kink within ``9 sig`` of ``rc`` (the neglected
    quartic term is ~1e5 sig^4, below 1e-18 here); beyond ``rc + 9 sig`` the core's weight
    is below e^-40 and the heat-kernel series of LJ is exact. ``dV/ds`` follows from the
    heat equation ``dV/ds = 2 s (g''_s / r)``, with ``d/dsig E[(d + sig Z)_+^k] = sig k (k-1)
    E[(d + sig Z)_+^(k-2)]`` for the kink and ``dM/dsig = (2 sig / r) erf(r / (sqrt 2 sig))``.
    """
    sig = math.sqrt(2.0) * s
    d = r - rc
    if d > 9.0 * sig:
        v, dv = heat_series(r, s, 40)
        # dV/ds = 2 s exp(s^2 Δ) ΔV; two terms reach double precision for s < 1e-5
        lap = 4.0 * (132.0 * r**-14 - 30.0 * r**-8)
        lap2 = 4.0 * (24024.0 * r**-16 - 1680.0 * r**-10)
        return v, dv, 2.0 * s * (lap + s * s * lap2)
    m, dm = cone_eval(r, sig)
    v = a + b * m
    dv = b * dm
    y = r / sig
    if y < 1e-3:
        dm_dsig = 2.0 * 0.7978845608028654 * (1.0 - y * y / 6.0)
    else:
        dm_dsig = 2.0 * math.erf(y * 0.7071067811865476) / y
    ds = math.sqrt(2.0) * b * dm_dsig
    if d >= -9.0 * sig:
        kk, dk = kink_eval(r, sig, rc, c2, c3)
        v += kk
        dv += dk
        z = d / sig
        e0 = 0.5 * math.erfc(-z * 0.7071067811865476)
        e1 = sig * (z * e0 + 0.3989422804014327 * math.exp(-0.5 * z * z))
        ds += math.sqrt(2.0) * sig * (2.0 * c2 * e0 + 6.0 * c3 * e1) / r
    return v, dv, ds


def _broadcast(r, width):
    r = check_finite_nonneg(r, "r")
    width = check_finite_nonneg(width, "width")
    rb, wb = np.broadcast_arrays(r, width)
    return rb, wb


def _evaluate(r, width, r_core):
    r_core = check_r_core(r_core)
    rb, wb = _broadcast(r, width)
    a, b = lj_affine_coefficients(r_core)
    # copies, not views: a broadcast view (e.g. a scalar width against an empty r) is
    # flagged read-only-in-future and numba warns about it; the copy is O(n) next to
    # the quadrature
    flat_r = np.array(rb, dtype=np.float64, order="C").ravel()
    flat_w = np.array(wb, dtype=np.float64, order="C").ravel()
    v = np.empty_like(flat_r)
    dv = np.empty_like(flat_r)
    ds = np.empty_like(flat_r)
    c2, c3 = kink_coefficients(r_core)
    # above _ZERO_WIDTH every value is below the smallest subnormal (|V_s| ~ 10 / s^3),
    # and s * s would overflow in the kernel from 1.3e154: the exact answer is 0
    huge = flat_w > _ZERO_WIDTH
    if huge.any():
        flat_w[huge] = 1.0
    _smoothed_array(flat_r, flat_w, r_core, a, b, c2, c3, _GL_X, _GL_W, _QUAD, v, dv, ds)
    if huge.any():
        v[huge] = dv[huge] = ds[huge] = 0.0
    shape = rb.shape
    return v.reshape(shape), dv.reshape(shape), ds.reshape(shape)


def regularized_lj(r, r_core: float = R_CORE):
    """Regularized LJ ``V(r)`` and ``dV/dr`` (reduced units); affine below ``r_core``."""
    return smoothed_lj(r, 0.0, r_core)


def smoothed_lj(r, width, r_core: float = R_CORE):
    """Exact Gaussian-smoothed LJ pair potential and its radial derivative.

    Parameters
    ----------
    r : array_like
        Pair distance(s), in units of sigma, ``r >= 0``.
    width : array_like
        Gaussian width(s) ``s >= 0`` (per-coordinate standard deviation), in units of
        sigma; broadcasts against ``r``. ``width = 0`` is the regularized LJ exactly;
        there is no lower limit (tiny and subnormal widths use the small-width expansion).
    r_core : float
        Core radius below which LJ is continued affinely (default ``R_CORE`` = 0.8),
        within :data:`~ase_gausslj.core.validation.R_CORE_RANGE` (that of the tables).

    Returns
    -------
    V, dV_dr : ndarray
        Energies in units of epsilon and their derivative with respect to ``r``.
    """
    v, dv, _ = _evaluate(r, width, r_core)
    return v, dv


def smoothed_lj_dwidth(r, width, r_core: float = R_CORE):
    """``dV_s(r)/ds`` by differentiating the Gaussian kernel analytically.

    Satisfies the heat equation ``dV/d(s^2) = V'' + 2 V'/r``; it is 0 at ``s = 0``.
    """
    _, _, ds = _evaluate(r, width, r_core)
    return ds


def smoothed_coulomb(r, width):
    """Gaussian-smoothed Coulomb kernel ``erf(r / (2 s)) / r`` and its r-derivative.

    At ``s = 0`` this is ``1/r`` (infinite at ``r = 0``); for ``s > 0`` it is finite
    everywhere, with ``phi(0) = 1 / (sqrt(pi) s)`` and ``phi'(0) = 0``.
    """
    rb, wb = _broadcast(r, width)
    rb = rb.astype(np.float64)
    wb = wb.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        zero_w = wb == 0.0
        safe_w = np.where(zero_w, 1.0, wb)
        y = rb / (2.0 * safe_w)
        small = y < 1e-3
        safe_r = np.where(rb == 0.0, 1.0, rb)
        from scipy.special import erf

        phi = erf(y) / safe_r
        dphi = (np.exp(-y * y) / (_SQRT_PI * safe_w) - phi) / safe_r
        # series for r << s: erf(y)/r = (2/sqrt(pi))/(2s) (1 - y^2/3 + y^4/10 - y^6/42)
        c = 1.0 / (_SQRT_PI * safe_w)
        y2 = y * y
        phi_s = c * (1.0 - y2 / 3.0 + y2 * y2 / 10.0 - y2**3 / 42.0)
        dphi_s = c / (2.0 * safe_w) * (-2.0 * y / 3.0 + 0.4 * y * y2 - y * y2 * y2 / 7.0)
        phi = np.where(small, phi_s, phi)
        dphi = np.where(small, dphi_s, dphi)
        inv = 1.0 / rb
        phi = np.where(zero_w, inv, phi)
        dphi = np.where(zero_w, -inv * inv, dphi)
    return phi, dphi
