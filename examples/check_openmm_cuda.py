"""Correctness check of the OpenMM smoothed force on a GPU platform (CUDA by default).

Compares energies and forces of a 200-atom argon-like cluster (sigma 0.34 nm,
epsilon 0.996 kJ/mol) on ``--platform`` against the Reference platform at several widths,
then anneals with ``AnnealedLangevinIntegrator`` on the device and reads the width back.
Prints one JSON object; exits non-zero if a check fails.

    python examples/check_openmm_cuda.py --platform CUDA
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import openmm as mm
from openmm import unit

from openmm_gausslj import WIDTH_PARAMETER, AnnealedLangevinIntegrator, smoothed_lj_force


def build(n, sigma=0.34, epsilon=0.996, seed=0):
    rng = np.random.default_rng(seed)
    m = int(np.ceil(n ** (1 / 3)))
    g = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    pos = (1.12 * sigma) * g + 0.01 * rng.normal(size=(n, 3))
    system = mm.System()
    for _ in range(n):
        system.addParticle(39.948)
    force = smoothed_lj_force(np.full(n, sigma), np.full(n, epsilon), width=0.0)
    system.addForce(force)
    return system, pos


def state(system, pos, platform, width, props=None):
    ctx = mm.Context(system, mm.VerletIntegrator(0.001),
                     mm.Platform.getPlatformByName(platform), props or {})
    ctx.setPositions(pos * unit.nanometer)
    ctx.setParameter(WIDTH_PARAMETER, width)
    st = ctx.getState(getEnergy=True, getForces=True)
    e = st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    f = st.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)
    return e, np.asarray(f)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--platform", default="CUDA")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args(argv)
    props = {"Precision": "double"} if args.platform in ("CUDA", "OpenCL", "HIP") else {}
    system, pos = build(args.n)
    out = {"platform": args.platform, "n": args.n, "checks": []}
    ok = True
    for precision in (["double", "mixed"] if props else [None]):
        p = {"Precision": precision} if precision else {}
        for w in [0.0, 0.01, 0.1, 0.3]:
            e_ref, f_ref = state(system, pos, "Reference", w)
            e, f = state(system, pos, args.platform, w, p)
            rel_e = abs(e - e_ref) / max(1.0, abs(e_ref))
            rel_f = float(np.abs(f - f_ref).max() / max(1.0, np.abs(f_ref).max()))
            # tabulated functions are single precision on GPUs even in double mode
            tol = 1e-6 if precision == "double" else 1e-5
            good = rel_e < tol and rel_f < tol
            ok &= good
            out["checks"].append({"precision": precision, "width_nm": w, "E_ref": e_ref,
                                  "rel_err_E": rel_e, "rel_err_F": rel_f, "ok": good})
    integ = AnnealedLangevinIntegrator(100 * unit.kelvin, 1.0 / unit.picosecond,
                                       0.002 * unit.picoseconds, 0.1, 0.0, 500,
                                       system=system)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName(args.platform), props)
    ctx.setPositions(pos * unit.nanometer)
    integ.reset(ctx)
    widths = []
    for _ in range(6):
        integ.step(100)
        widths.append(ctx.getParameter(WIDTH_PARAMETER))
    anneal_ok = widths[-1] == 0.0 and widths[0] > widths[2] > widths[4]
    ok &= anneal_ok
    out["anneal_widths_nm"] = widths
    out["anneal_ok"] = anneal_ok
    out["ok"] = bool(ok)
    print(json.dumps(out, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
