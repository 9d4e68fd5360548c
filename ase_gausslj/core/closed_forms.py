"""Closed forms of the smoothed regularized LJ: the pieces no quadrature is needed for.

Smoothing ``g(u) = u V(u)`` (``V`` the regularized LJ, see :mod:`.potential`) with a
Gaussian of standard deviation ``sig = sqrt(2) s`` splits into three analytic parts that
the table, the kernels, the small-width expansion and the OpenMM tail all share:

* **the affine core** ``a + b u`` (:func:`lj_affine_coefficients`) smooths to
  ``a + b M(r)`` with ``M`` the smoothed cone ``E|x + sig Z|`` (:func:`cone_eval`);
* **the kink at r_core**: ``g`` has jumps in its 2nd and 3rd derivatives there, whose
  smoothing is a truncated-Gaussian-moment polynomial (:func:`kink_eval`);
* **the LJ tail**: ``exp(s^2 Δ) r^-n = r^-n sum_k c_k (s^2 / r^2)^k`` with
  ``c_k = prod_{j<k} (n + 2j)(n + 2j - 1) / k!`` (``Δ r^-n = n (n - 1) r^-(n+2)``, the
  3-D radial Laplacian): :func:`heat_coefficients` is the one recurrence,
  :func:`tail_coefficients` scales it for ``4 (r^-12 - r^-6)`` at a width and
  :func:`heat_tail_eval` sums it. The series is asymptotic (terms grow again beyond
  ``k ~ r^2 / 4 s^2``), so sums stop once a term is negligible.

Nothing here imports the table or the kernels (they import this module).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .defaults import R_CORE

__all__ = [
    "lj_affine_coefficients",
    "kink_coefficients",
    "cone_eval",
    "cone_smoothing",
    "kink_eval",
    "kink_array",
    "heat_coefficients",
    "tail_coefficients",
    "heat_tail_eval",
    "heat_series",
    "TAIL_TERMS",
]

#: Terms of the tail series stored per width slice (the kernels stop earlier when a term
#: is negligible).
TAIL_TERMS = 40


def lj_affine_coefficients(r_core: float = R_CORE) -> tuple[float, float]:
    """Return ``(a, b)`` such that ``V(u) = a + b u`` for ``u <= r_core``."""
    r_core = float(r_core)
    v = 4.0 * (r_core**-12 - r_core**-6)
    dv = 4.0 * (-12.0 * r_core**-13 + 6.0 * r_core**-7)
    return v - dv * r_core, dv


def kink_coefficients(r_core: float = R_CORE) -> tuple[float, float]:
    """``(c2, c3)``: the jumps of ``g''/2`` and ``g'''/6`` of ``g = u V`` at ``r_core``.

    The affine side has ``g'' = 2 V'(rc)`` and ``g''' = 0``, the LJ side
    ``g'' = 2 V' + r V''`` and ``g''' = 3 V'' + r V'''``; the jumps are the LJ side's
    ``r V''`` and ``3 V'' + r V'''``.
    """
    rc = float(r_core)
    v2 = 4.0 * (156.0 * rc**-14 - 42.0 * rc**-8)
    v3 = 4.0 * (-2184.0 * rc**-15 + 336.0 * rc**-9)
    return 0.5 * rc * v2, (3.0 * v2 + rc * v3) / 6.0


@nb.njit(cache=True, inline="always")
def cone_eval(x, sig):
    """``M(x) = E|x + sig Z|`` (Z standard normal in 3-D, ``|x| = x``) and ``dM/dx``.

    ``M = sig sqrt(2/pi) e^(-y^2/2) + (x + sig^2/x) erf(y / sqrt 2)``, ``y = x / sig``;
    a series below ``y = 0.01`` (the closed form cancels there), ``x + sig^2/x`` above
    ``y = 8.6`` (where erf is 1 to double precision).
    """
    if sig == 0.0:
        return x, 1.0
    y = x / sig
    c = 0.7978845608028654  # sqrt(2/pi)
    if y > 8.6:
        return x + sig * sig / x, 1.0 - 1.0 / (y * y)
    if y < 1e-2:
        y2 = y * y
        m = sig * c * (2.0 + y2 / 3.0 - y2 * y2 / 60.0 + y2 * y2 * y2 / 840.0)
        dm = c * (2.0 * y / 3.0 - 4.0 * y * y2 / 60.0 + 6.0 * y * y2 * y2 / 840.0)
        return m, dm
    e = math.exp(-0.5 * y * y)
    er = math.erf(y * 0.7071067811865476)
    return sig * c * e + (x + sig * sig / x) * er, (1.0 - 1.0 / (y * y)) * er + c * e / y


@nb.njit(cache=True)
def _cone_array(r, sig, m, dm):
    for i in range(r.size):
        m[i], dm[i] = cone_eval(r[i], sig[i])


def cone_smoothing(r, sig):
    """``M(r) = E|x + sig Z|`` for ``|x| = r``, Z standard normal in 3-D, and ``dM/dr``.

    This is the smoothing of the cone ``|x|``; with ``sig = sqrt(2) s`` it gives the
    smoothed affine core ``a + b M`` in closed form (used by the table near r = 0).
    Broadcasts ``r`` against ``sig``; ``sig = 0`` gives ``M = r``.
    """
    rb, sb = np.broadcast_arrays(np.asarray(r, dtype=np.float64), np.asarray(sig, dtype=np.float64))
    # contiguous copies: broadcast views are read-only and numba warns about them
    flat_r = np.array(rb, dtype=np.float64, order="C").ravel()
    flat_s = np.array(sb, dtype=np.float64, order="C").ravel()
    m = np.empty(flat_r.size)
    dm = np.empty(flat_r.size)
    _cone_array(flat_r, flat_s, m, dm)
    return m.reshape(rb.shape), dm.reshape(rb.shape)


@nb.njit(cache=True, inline="always")
def kink_eval(x, sig, rc, c2, c3):
    """Smoothed jump part of ``g = u V`` at ``r_core``, divided by ``x``: (K, dK/dx).

    ``kappa(u) = c2 (u - rc)_+^2 + c3 (u - rc)_+^3`` carries the jumps of the second and
    third derivatives of ``g`` at ``rc``; ``E[(d + sig Z)_+^k]`` are truncated Gaussian
    moments.
    """
    d = x - rc
    if sig == 0.0 or d > 9.0 * sig:
        if d <= 0.0:
            return 0.0, 0.0
        e1 = d
        e2 = d * d + sig * sig
        e3 = d * d * d + 3.0 * d * sig * sig
    elif d < -9.0 * sig:
        return 0.0, 0.0
    else:
        y = d / sig
        phi = 0.3989422804014327 * math.exp(-0.5 * y * y)
        cdf = 0.5 * math.erfc(-y * 0.7071067811865476)
        e1 = sig * (y * cdf + phi)
        e2 = sig * sig * ((y * y + 1.0) * cdf + y * phi)
        e3 = sig * sig * sig * ((y * y * y + 3.0 * y) * cdf + (y * y + 2.0) * phi)
    k = (c2 * e2 + c3 * e3) / x
    dk = (2.0 * c2 * e1 + 3.0 * c3 * e2) / x - k / x
    return k, dk


@nb.njit(cache=True)
def kink_array(x, sc, core):
    """:func:`kink_eval` over ``x`` with ``sc = (sig, c2', c3')``, ``core[2] = r_core``."""
    k = np.empty(x.size)
    dk = np.empty(x.size)
    for i in range(x.size):
        k[i], dk[i] = kink_eval(x[i], sc[0], core[2], sc[1], sc[2])
    return k, dk


@nb.njit(cache=True)
def heat_coefficients(n, t, n_terms):
    """``c_k t^k`` for ``exp(t Δ) r^-n = r^-n sum_k c_k t^k r^(-2k)``, ``k < n_terms``."""
    out = np.empty(n_terms)
    p = 1.0
    for k in range(n_terms):
        out[k] = p
        p *= t * (n + 2 * k) * (n - 1 + 2 * k) / (k + 1)
    return out


def tail_coefficients(width: float, n_terms: int = TAIL_TERMS):
    """``(A_k, B_k)`` with ``exp(s^2 Δ) 4 (r^-12 - r^-6) = sum_k A_k y^(6+k) - B_k y^(3+k)``.

    ``y = r^-2`` and ``s = width``; the coefficients :func:`heat_tail_eval` sums.
    """
    t = float(width) ** 2
    return 4.0 * heat_coefficients(12, t, n_terms), 4.0 * heat_coefficients(6, t, n_terms)


@nb.njit(cache=True, inline="always")
def heat_tail_eval(x, ta, tb, t):
    """Sum row ``t`` of the tail coefficients at reduced distance ``x``: ``(V, dV/dx)``.

    Stops at the first negligible term (the series is asymptotic; summing past its
    smallest term would make it worse).
    """
    y = 1.0 / (x * x)
    y3 = y * y * y
    pa = y3 * y3
    pb = y3
    vv = 0.0
    dd = 0.0
    for k in range(ta.shape[1]):
        ea = ta[t, k] * pa
        eb = tb[t, k] * pb
        vv += ea - eb
        dd += -(12.0 + 2.0 * k) * ea + (6.0 + 2.0 * k) * eb
        pa *= y
        pb *= y
        if abs(ea) + abs(eb) < 1e-18 * (abs(vv) + 1e-300):
            break
    return vv, dd / x


@nb.njit(cache=True)
def heat_series(x, s, n_terms):
    """``exp(s^2 Δ) 4 (x^-12 - x^-6)`` and its x-derivative (one distance and width)."""
    t = s * s
    ta = np.empty((1, n_terms))
    tb = np.empty((1, n_terms))
    ta[0] = 4.0 * heat_coefficients(12, t, n_terms)
    tb[0] = 4.0 * heat_coefficients(6, t, n_terms)
    return heat_tail_eval(x, ta, tb, 0)
