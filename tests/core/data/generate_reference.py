"""Generate independent reference values of the smoothed LJ potential with mpmath.

Run: ``python tests/core/data/generate_reference.py`` (a few minutes; writes
``smoothed_lj_reference.json`` next to this file). The integrand is the paper's Eq. 1 in
its direct form (no expm1 rewriting, no analytic kernel derivative from the package):
with 40 significant digits the cancellation between the two Gaussians is harmless.
Nothing from ``ase_gausslj`` is imported.
"""

import json
import os
from multiprocessing import Pool

import mpmath as mp

mp.mp.dps = 40
R_CORE = mp.mpf("0.8")


def v_reg(u):
    if u > R_CORE:
        return 4 * (u**-12 - u**-6)
    vc = 4 * (R_CORE**-12 - R_CORE**-6)
    dc = 4 * (-12 * R_CORE**-13 + 6 * R_CORE**-7)
    return vc + dc * (u - R_CORE)


def dv_reg(u):
    if u > R_CORE:
        return 4 * (-12 * u**-13 + 6 * u**-7)
    return 4 * (-12 * R_CORE**-13 + 6 * R_CORE**-7)


def breakpoints(r, s):
    sig = mp.sqrt(2) * s
    lo = max(mp.mpf(0), r - 14 * sig)
    hi = r + 14 * sig
    pts = {lo, hi}
    if lo < R_CORE < hi:
        pts.add(R_CORE)
    for k in range(-14, 15):
        p = r + k * sig / 2
        if lo < p < hi:
            pts.add(p)
    p = R_CORE
    while p < hi:
        if p > lo:
            pts.add(p)
        p *= mp.mpf("1.2")
    return sorted(pts)


def reference(args):
    r, s = (mp.mpf(a) for a in args)
    if s == 0:
        return [float(v_reg(r)), float(dv_reg(r))]
    c = 1 / (2 * mp.sqrt(mp.pi) * s)
    pts = breakpoints(r, s)
    if r == 0:
        def f(u):
            return u * v_reg(u) * (u / s**2) * mp.exp(-(u**2) / (4 * s**2)) * c

        return [float(mp.quad(f, pts)), 0.0]

    def f(u):
        em = mp.exp(-((r - u) ** 2) / (4 * s**2))
        ep = mp.exp(-((r + u) ** 2) / (4 * s**2))
        return u * v_reg(u) * (em - ep) * c / r

    def df(u):
        em = mp.exp(-((r - u) ** 2) / (4 * s**2))
        ep = mp.exp(-((r + u) ** 2) / (4 * s**2))
        k = (em - ep) * c / r
        dk = ((u - r) / (2 * s**2) * em + (r + u) / (2 * s**2) * ep) * c / r - k / r
        return u * v_reg(u) * dk

    return [float(mp.quad(f, pts)), float(mp.quad(df, pts))]


RADII = ["0", "0.05", "0.3", "0.7", "0.79", "0.8", "0.8005", "0.81", "0.95", "1.0",
         "1.1224620483", "1.5", "2.5", "4.0", "7.5", "12.0", "30.0"]
WIDTHS = ["0", "0.0001", "0.0007", "0.003", "0.025", "0.1", "0.3", "0.6", "1.0", "1.5",
          "2.2", "3.0"]


def main():
    points = [(r, s) for s in WIDTHS for r in RADII]
    with Pool() as pool:
        values = pool.map(reference, points)
    data = {
        "r_core": 0.8,
        "description": "mpmath (40 digits) quadrature of Ram & Ram Eq. 1: V_s(r), dV_s/dr",
        "points": [
            {"r": float(r), "width": float(s), "V": v, "dV_dr": dv}
            for (r, s), (v, dv) in zip(points, values, strict=True)
        ],
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smoothed_lj_reference.json")
    with open(out, "w") as fh:
        json.dump(data, fh, indent=1)
    print(f"wrote {len(points)} points to {out}")


if __name__ == "__main__":
    main()
