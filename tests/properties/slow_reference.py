"""Slow, independent references for the property tests (scipy quadrature, numpy loops).

Nothing here calls the package's kernels or tables: the smoothed pair potential is
integrated by ``scipy.integrate.quad`` from its 3-D definition, pair sums are plain
Python loops over periodic images found by brute force.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings

import numpy as np
from scipy.integrate import IntegrationWarning
from scipy.integrate import quad as _quad

from ase_gausslj.core.defaults import R_CORE


@functools.wraps(_quad)
def quad(*args, **kwargs):
    # epsrel 1e-12 is beyond what quad can promise near a kink; its warning says so and
    # the tests' tolerances (1e-9) leave the room
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        return _quad(*args, **kwargs)


def lj_regularized(u: float, r_core: float = R_CORE) -> tuple[float, float]:
    """4(u^-12 - u^-6), continued affinely (value and slope matched) below ``r_core``."""
    x = max(u, r_core)
    v = 4.0 * (x**-12 - x**-6)
    dv = 4.0 * (-12.0 * x**-13 + 6.0 * x**-7)
    if u >= r_core:
        return v, dv
    return v + dv * (u - r_core), dv


def _v(u: float, r_core: float) -> float:
    return lj_regularized(u, r_core)[0]


def smoothed_value(r: float, width: float, r_core: float = R_CORE) -> float:
    """``V_s(r) = E[V(|r e + s X|)]``, X ~ N(0, I_3), by 1-D quadrature (width > 0).

    Both atoms of a pair are smoothed with per-coordinate std ``width``, so their
    separation has std ``s = sqrt(2) width`` (the paper's Eq. 1). The radial form
    ``1/(r s sqrt(2 pi)) int u V(u) [g(u - r) - g(u + r)] du`` with
    ``g(t) = exp(-t^2 / 2 s^2)``; at r = 0 the chi-distribution average.
    """
    s = math.sqrt(2.0) * width
    if r > 10.0 * s:
        # narrow Gaussian: r V_s(r) = E[h(r + s Z)], h(u) = u V(|u|) odd, over z (the
        # u-form below loses ~1e-9 to quad's resolution of a 1e-8-wide peak)
        def fz(z):
            u = r + s * z
            return u * _v(abs(u), r_core) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

        pts = sorted(p for p in ((r_core - r) / s, (-r_core - r) / s, -r / s) if -40 < p < 40)
        return quad(fz, -40.0, 40.0, points=pts or None, limit=400, epsabs=0,
                    epsrel=1e-13)[0] / r
    lo, hi = 0.0, r + 40.0 * s
    pts = [p for p in (r_core, r) if lo < p < hi]
    if r < 1e-9 * s:  # V_s is even and smooth: V_s(r) = V_s(0) + O(r^2), below rounding
        r = 0.0
    if r == 0.0:
        norm = 4.0 * math.pi / (2.0 * math.pi * s * s) ** 1.5
        f = lambda u: norm * u * u * math.exp(-u * u / (2 * s * s)) * _v(u, r_core)  # noqa: E731
        return quad(f, lo, hi, points=pts or None, limit=400, epsabs=0, epsrel=1e-12)[0]
    lo = max(0.0, r - 40.0 * s)
    c = 1.0 / (r * s * math.sqrt(2.0 * math.pi))

    def f(u):
        # g(u - r) - g(u + r) = g(u - r) * (1 - exp(-2 u r / s^2)), without cancellation
        return c * u * _v(u, r_core) * math.exp(-((u - r) ** 2) / (2 * s * s)) * (
            -math.expm1(-2.0 * u * r / (s * s)))

    pts = [p for p in (r_core, r) if lo < p < hi]
    return quad(f, lo, hi, points=pts or None, limit=400, epsabs=0, epsrel=1e-12)[0]


def smoothed_slope(r: float, width: float, v_s: float, r_core: float = R_CORE) -> float:
    """``dV_s/dr`` from ``r V_s(r) = E[h(r + s Z)]``, ``h(u) = u V(|u|)`` odd (r > 0).

    Differentiating, ``V_s' = (E[h'(r + s Z)] - V_s) / r`` with the even
    ``h'(u) = V(|u|) + |u| V'(|u|)``; one quadrature over ``z``, split where ``h'`` kinks.
    """
    s = math.sqrt(2.0) * width

    def f(z):
        u = abs(r + s * z)
        v, dv = lj_regularized(u, r_core)
        return (v + u * dv) * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)

    pts = sorted(p for p in ((r_core - r) / s, (-r_core - r) / s, -r / s) if -40 < p < 40)
    mean = quad(f, -40.0, 40.0, points=pts or None, limit=400, epsabs=0, epsrel=1e-13)[0]
    return (mean - v_s) / r


def smoothed_pair(r: float, width: float, r_core: float = R_CORE) -> tuple[float, float]:
    """``(V_s(r), dV_s/dr)`` by quadrature (width > 0) or in closed form (width 0)."""
    if width == 0.0:
        return lj_regularized(r, r_core)
    v = smoothed_value(r, width, r_core)
    r_small = 1e-2 * math.sqrt(2.0) * width
    if r < r_small:
        # V_s is even and smooth: dV_s/dr = c1 r + c3 r^3 + ...; the slope formula loses
        # its digits to cancellation at tiny r, so take c1 from r_small and 2 r_small
        # (Richardson: the r^3 term cancels). Good to ~1e-4 relative (tests allow it).
        f1, f2 = (smoothed_slope(x, width, smoothed_value(x, width, r_core), r_core)
                  for x in (r_small, 2 * r_small))
        return v, (8.0 * f1 - f2) / (6.0 * r_small) * r
    return v, smoothed_slope(r, width, v, r_core)


def ase_cutoff_function(r: float, ro: float, rc: float) -> tuple[float, float]:
    """ASE LennardJones' smooth cutoff ``fc`` and ``dfc/dr`` (1 below ro, 0 above rc)."""
    if r <= ro:
        return 1.0, 0.0
    if r >= rc:
        return 0.0, 0.0
    t = (r * r - ro * ro) / (rc * rc - ro * ro)
    fc = 1.0 - 3.0 * t * t + 2.0 * t**3
    dfc = (-6.0 * t + 6.0 * t * t) * 2.0 * r / (rc * rc - ro * ro)
    return fc, dfc


def image_shifts(cell: np.ndarray, pbc: np.ndarray, reach: float) -> np.ndarray:
    """Every lattice translation that can bring two atoms of the cell within ``reach``.

    Atoms are assumed inside the cell (fractional coordinates in [0, 1)); one more
    translation than needed along each periodic axis covers atoms slightly outside.
    """
    inv = np.linalg.inv(cell)
    ranges = []
    for k in range(3):
        n = int(math.ceil(reach * np.linalg.norm(inv[:, k]))) + 1 if pbc[k] else 0
        ranges.append(range(-n, n + 1))
    return np.array([np.array(m, float) @ cell for m in itertools.product(*ranges)])


def pairs_within(positions, cutoff=None, cell=None, pbc=None):
    """Brute force: ``(i, j, d, weight)`` for every pair and image closer than ``cutoff``.

    ``d`` is ``pos[j] + shift - pos[i]``; an atom and its own image appear once per
    unordered pair of images (weight 0.5 on both orientations).
    """
    pos = np.asarray(positions, float)
    n = len(pos)
    pbc = np.zeros(3, bool) if pbc is None else np.broadcast_to(np.asarray(pbc, bool), 3)
    shifts = image_shifts(np.asarray(cell, float), pbc, cutoff) if pbc.any() else np.zeros(
        (1, 3))
    rows_i, rows_j, rows_d, rows_w = [], [], [], []
    for i in range(n):
        for j in range(i, n):
            d = pos[j] + shifts - pos[i]
            keep = np.ones(len(shifts), bool)
            if j == i:
                keep &= np.any(shifts != 0.0, axis=1)
            if cutoff is not None:
                keep &= np.sqrt(np.sum(d * d, axis=1)) < cutoff
            for row in d[keep]:
                rows_i.append(i)
                rows_j.append(j)
                rows_d.append(row)
                rows_w.append(0.5 if j == i else 1.0)
    return (np.array(rows_i, int), np.array(rows_j, int), np.array(rows_d).reshape(-1, 3),
            np.array(rows_w))


def pair_sum(positions, eps, sig, width, *, cutoff=None, cell=None, pbc=None,
             mode="none", taper_start=None, r_core=R_CORE):
    """Energy, forces, virial (sum of d (x) dE/dd) and a tolerance scale, by brute force.

    ``eps``/``sig`` are per-atom arrays (Lorentz-Berthelot); the pair potential is
    :func:`ase_gausslj.core.potential.smoothed_lj` (the exact quadrature, checked against
    :func:`smoothed_pair` separately), one vectorized call for all pairs; ``mode`` as
    ``SmoothedLJ.compute``'s ``cutoff_mode``.
    """
    from ase_gausslj.core.potential import smoothed_lj

    pos = np.asarray(positions, float)
    n = len(pos)
    i, j, d, w = pairs_within(pos, cutoff, cell, pbc)
    eps, sig = np.asarray(eps, float), np.asarray(sig, float)
    eij, sij = np.sqrt(eps[i] * eps[j]), 0.5 * (sig[i] + sig[j])
    r = np.sqrt(np.sum(d * d, axis=1))
    v, dv = smoothed_lj(r / sij, width / sij, r_core)
    v, dv = eij * v, eij * dv / sij
    size = np.abs(v)  # the terms' sizes, for the tolerance scale
    if mode == "shift":
        shift = eij * smoothed_lj(cutoff / sij, width / sij, r_core)[0]
        v, size = v - shift, size + np.abs(shift)
    elif mode == "taper":
        fc, dfc = np.transpose([ase_cutoff_function(x, taper_start, cutoff) for x in r]) if (
            len(r)) else (np.zeros(0), np.zeros(0))
        v, dv = v * fc, dv * fc + v * dfc
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(r[:, None] > 0.0, d / r[:, None], 0.0)  # no direction: no force
    fij = (w * dv)[:, None] * unit  # dE/d(pos_j) of each pair
    forces = np.zeros((n, 3))
    np.add.at(forces, j, -fij)
    np.add.at(forces, i, fij)
    virial = np.einsum("pa,pb->ab", d, fij)
    scale = float(np.sum(w * size)) + float(np.sum(np.abs(fij * d)))
    return float(np.sum(w * v)), forces, virial, scale
