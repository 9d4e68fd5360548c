"""Prepared GPU check of the OpenMM smoothed forces: correctness, then step time.

Run it on a machine with a GPU (``--platform CUDA`` by default; OpenCL/HIP work too):

    python examples/check_openmm_cuda.py --platform CUDA --out cuda_check.json

1. **Correctness**: energies and forces of a 200-atom argon-like cluster (sigma 0.34 nm,
   epsilon 0.996 kJ/mol) on ``--platform`` (double and mixed precision) against the
   Reference platform at several widths, then an ``AnnealedLangevinIntegrator`` run on the
   device whose width is read back.
2. **Step time** (``--skip-timing`` to leave out), each variant timed in interleaved rounds
   in the same run (ms per step of a 2 fs Langevin integrator, median of rounds):

   * the 4,000-particle LJ liquid of ``benchmark_openmm.py`` (cutoff 3 sigma): OpenMM's
     ``NonbondedForce``, a ``CustomNonbondedForce`` LJ (the anchor: the issue's goal is
     smoothed <= 1.2x custom LJ) and the smoothed force at 0.02 nm;
   * solvated alanine dipeptide (openmmtools, 2,269 atoms, PME) and OpenMM's TIP3P box
     (``data/tip3p.pdb``, 2,685 atoms, PME 0.9 nm): the original System, the original
     with its LJ moved to a ``CustomNonbondedForce`` (custom-LJ anchor), LJ-only
     smoothing, everything smoothed (LJ + Coulomb correction, one pair loop), and
     everything plus torsion smoothing (alanine dipeptide; ``torsion_width=0.1`` rad).

Prints one JSON object (and writes ``--out``); exits non-zero if a correctness check fails.
Sized to finish in ~4 minutes on an H100 (``--seconds`` per variant and system).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys

import numpy as np
import openmm as mm
from openmm import unit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from openmm_gausslj import (  # noqa: E402
    WIDTH_PARAMETER,
    AnnealedLangevinIntegrator,
    smooth_system,
    smoothed_lj_force,
)

_LB_LJ = ("4*e*((s/r)^12 - (s/r)^6); s = 0.5*(sigma1 + sigma2); "
          "e = sqrt(epsilon1*epsilon2)")


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


def correctness(platform: str, n: int) -> tuple[dict, bool]:
    """Energies/forces vs Reference at several widths, and an on-device anneal."""
    props = {"Precision": "double"} if platform in ("CUDA", "OpenCL", "HIP") else {}
    system, pos = build(n)
    out = {"n": n, "checks": []}
    ok = True
    for precision in (["double", "mixed"] if props else [None]):
        p = {"Precision": precision} if precision else {}
        for w in [0.0, 0.01, 0.1, 0.3]:
            e_ref, f_ref = state(system, pos, "Reference", w)
            e, f = state(system, pos, platform, w, p)
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
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName(platform), props)
    ctx.setPositions(pos * unit.nanometer)
    integ.reset(ctx)
    widths = []
    for _ in range(6):
        integ.step(100)
        widths.append(ctx.getParameter(WIDTH_PARAMETER))
    anneal_ok = widths[-1] == 0.0 and widths[0] > widths[2] > widths[4]
    out["anneal_widths_nm"] = widths
    out["anneal_ok"] = anneal_ok
    return out, bool(ok and anneal_ok)


def custom_lj_system(system: mm.System) -> mm.System:
    """``system`` with the NonbondedForce's LJ moved to a plain LB ``CustomNonbondedForce``.

    The anchor of the step-time goal: what any custom LJ costs on this platform.
    """
    out = copy.deepcopy(system)
    nb = next(f for f in out.getForces() if isinstance(f, mm.NonbondedForce))
    f = mm.CustomNonbondedForce(_LB_LJ)
    f.addPerParticleParameter("sigma")
    f.addPerParticleParameter("epsilon")
    for i in range(nb.getNumParticles()):
        q, s, e = nb.getParticleParameters(i)
        f.addParticle([s, e])
        nb.setParticleParameters(i, q, s, 0.0)
    for m in range(nb.getNumExceptions()):
        i, j, *_ = nb.getExceptionParameters(m)
        f.addExclusion(i, j)
    f.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
    f.setCutoffDistance(nb.getCutoffDistance())
    f.setUseLongRangeCorrection(nb.getUseDispersionCorrection())
    nb.setUseDispersionCorrection(False)
    out.addForce(f)
    return out


def _time_variants(variants: dict, positions, platform, props, seconds, rounds) -> dict:
    from benchmark_openmm import time_round

    plat = mm.Platform.getPlatformByName(platform)
    built = {}
    for kind, system in variants.items():
        integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
        ctx = mm.Context(system, integ, plat, props)
        ctx.setPositions(positions)
        ctx.setVelocitiesToTemperature(300, 1)
        integ.step(20)  # kernel compilation, neighbour list
        built[kind] = (ctx, integ)
    res = {k: [] for k in built}
    for _ in range(rounds):
        for kind, (ctx, integ) in built.items():
            res[kind].append(time_round(ctx, integ, seconds / rounds)[0])
    ms = {k: float(np.median(v)) for k, v in res.items()}
    out = {"ms_per_step": ms}
    for ref in ("original", "custom_lj"):
        if ref in ms:
            out[f"ratio_vs_{ref}"] = {k: v / ms[ref] for k, v in ms.items()}
    out["finite"] = {k: bool(np.isfinite(c.getState(getEnergy=True)
                                         .getPotentialEnergy()._value))
                     for k, (c, _) in built.items()}
    return out


def timing(platform: str, seconds: float, rounds: int) -> dict:
    """Step times of the smoothed forces vs custom LJ and vs the original (same run)."""
    from benchmark_openmm import SIGMA, base_system, lj_liquid, make_force

    props = {"Precision": "mixed"} if platform in ("CUDA", "OpenCL", "HIP") else {}
    out = {}
    pos, box = lj_liquid()
    liquid = {}
    for kind in ("nonbonded", "custom_lj", "smoothed"):
        s = base_system(len(pos), box)
        s.addForce(make_force(kind, len(pos), 3.0 * SIGMA))
        liquid[kind] = s
    out["lj_liquid_4000"] = _time_variants(liquid, pos, platform, props, seconds, rounds)
    from benchmark_openmm import _tip3p_box

    systems = {"tip3p_2685": _tip3p_box()}
    try:
        from openmmtools import testsystems

        t = testsystems.AlanineDipeptideExplicit()
        systems["alanine_dipeptide_explicit_2269"] = (t.topology, t.system, t.positions)
    except ImportError:
        out["alanine_dipeptide_explicit_2269"] = "openmmtools not installed"
    for name, (_, system, positions) in systems.items():
        variants = {
            "original": system,
            "custom_lj": custom_lj_system(system),
            "smoothed_lj_only_w0.02": smooth_system(system, 0.02, smooth_coulomb=False,
                                                    engine="custom"),
            "smoothed_all_w0.02": smooth_system(system, 0.02, engine="custom"),
            "smoothed_all_w0.03": smooth_system(system, 0.03, engine="custom"),
        }
        if name.startswith("alanine"):
            variants["smoothed_all_torsions_w0.02"] = smooth_system(
                system, 0.02, torsion_width=0.1, engine="custom")
        out[name] = _time_variants(variants, positions, platform, props, seconds, rounds)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--platform", default="CUDA")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=6.0,
                    help="stepping time per variant (all rounds together)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--out", default=None, help="JSON output path")
    args = ap.parse_args(argv)
    out = {"platform": args.platform, "openmm": mm.__version__}
    out["correctness"], ok = correctness(args.platform, args.n)
    if not args.skip_timing:
        out["timing"] = timing(args.platform, args.seconds, args.rounds)
    out["ok"] = bool(ok)
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
