#!/usr/bin/env python
"""Cost per MD step of the smoothed LJ force vs OpenMM's own LJ, on any platform.

System: a 4000-particle LJ liquid (argon parameters, reduced density 0.8, FCC start),
periodic, cutoff 3 sigma, no long-range correction. Variants, each timed as ms per step
of a Verlet/Langevin integrator (the force dominates):

* ``nonbonded``:   ``NonbondedForce`` (charges 0), OpenMM's hand-written LJ kernel;
* ``custom_lj``:   ``CustomNonbondedForce`` with the LJ expression and Lorentz-Berthelot;
* ``smoothed``:    the smoothed force (:func:`openmm_gausslj.smoothed_lj_force`) at a
  fixed width of 0.02 nm (table lookup + analytic width-0 branch);
* ``smoothed_table_only``: the same without the width-0 analytic branch;
* ``smoothed_annealed``: the smoothed force driven by ``AnnealedLangevinIntegrator``
  (the width changes every step, on the device).

Each variant is timed in ``--rounds`` interleaved rounds (median reported), so a load
change on a shared machine affects all variants alike. Prints one JSON object (also
written to ``--out``, updated after every round).

``--accuracy`` instead measures the table's accuracy: the smoothed force between two
particles on the Reference platform against the exact quadrature ``smoothed_lj`` on a
grid of reduced distances and widths, reporting the largest relative errors of energy
and force per region (relative to ``max(|F|, 4 x^-6)`` and ``max(|F'|, 24 x^-7)``, the
size of the attraction, so zero crossings do not make ratios meaningless).

Examples
--------
    python examples/benchmark_openmm.py --platform CPU --threads 1 --quick
    python examples/benchmark_openmm.py --platform CUDA --quick   # < 3 minutes
    python examples/benchmark_openmm.py --accuracy
    python examples/benchmark_openmm.py --solvated AlanineDipeptideExplicit --quick

``--solvated NAME`` instead times a solvated openmmtools test system (needs openmmtools):
the original System, ``smooth_system`` on everything (custom forces, also with a 0.4 nm
cutoff for the Coulomb correction; ``engine='compiled'``), and with region selection (the
solute's atoms, with and without solute-solvent pairs), all at width 0.02 nm, Langevin
2 fs, interleaved in the same run; the table lists ms per step and the ratio to the
original.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import openmm as mm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SIGMA, EPSILON, MASS = 0.34, 0.996, 39.948  # nm, kJ/mol, amu (argon)


def lj_liquid(n_cells: int = 10, density: float = 0.8):
    """FCC lattice of 4 n^3 particles at reduced density ``density``; (positions, box)."""
    n = 4 * n_cells**3
    box = (n / density) ** (1 / 3) * SIGMA
    a = box / n_cells
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.stack(np.meshgrid(*[np.arange(n_cells)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = ((cells[:, None, :] + basis[None]) * a).reshape(-1, 3)
    pos += np.random.default_rng(0).normal(0, 0.02 * SIGMA, pos.shape)
    return pos % box, box


def base_system(n: int, box: float) -> mm.System:
    s = mm.System()
    for _ in range(n):
        s.addParticle(MASS)
    s.setDefaultPeriodicBoxVectors(mm.Vec3(box, 0, 0), mm.Vec3(0, box, 0), mm.Vec3(0, 0, box))
    return s


def make_force(kind: str, n: int, cutoff: float, values=None):
    if kind == "nonbonded":
        f = mm.NonbondedForce()
        f.setNonbondedMethod(mm.NonbondedForce.CutoffPeriodic)
        f.setUseDispersionCorrection(False)
        f.setReactionFieldDielectric(1.0)
        for _ in range(n):
            f.addParticle(0.0, SIGMA, EPSILON)
    elif kind == "custom_lj":
        f = mm.CustomNonbondedForce(
            "4*e*(u6*u6 - u6); u6 = (s/r)^6; e = sqrt(epsilon1*epsilon2); "
            "s = 0.5*(sigma1 + sigma2)"
        )
        f.addPerParticleParameter("sigma")
        f.addPerParticleParameter("epsilon")
        for _ in range(n):
            f.addParticle([SIGMA, EPSILON])
        f.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
    else:
        from openmm_gausslj import make_table_function, smoothed_lj_force

        f = smoothed_lj_force(
            [SIGMA] * n,
            [EPSILON] * n,
            width=0.02,
            nonbonded_method="CutoffPeriodic",
            cutoff=cutoff,
            exact_at_zero=(kind != "smoothed_table_only"),
            # precomputed values (--values) skip the table computation
            table_function=None if values is None else make_table_function(values=values),
        )
    f.setCutoffDistance(cutoff)
    return f


def build_variant(kind, platform, props, pos, box, cutoff, values=None):
    """Context for one variant, warmed up; returns (context, integrator, info)."""
    n = len(pos)
    system = base_system(n, box)
    t0 = time.perf_counter()
    system.addForce(make_force(kind.replace("_annealed", ""), n, cutoff, values))
    build = time.perf_counter() - t0
    if kind == "smoothed_annealed":
        from openmm_gausslj import AnnealedLangevinIntegrator

        integ = AnnealedLangevinIntegrator(120.0, 1.0, 0.002, 0.05, 0.0, 10**7)
    else:
        integ = mm.LangevinMiddleIntegrator(120.0, 1.0, 0.002)
    t0 = time.perf_counter()
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName(platform), props)
    ctx.setPositions(pos)
    ctx.setVelocitiesToTemperature(120.0, 1)
    if kind == "smoothed_annealed":
        integ.reset(ctx)
    integ.step(5)  # warm up (kernel compilation, neighbor list)
    ctx.getState(getEnergy=True)
    info = {"setup_s": time.perf_counter() - t0, "force_build_s": build}
    return ctx, integ, info


def time_round(ctx, integ, seconds: float) -> tuple[float, int]:
    """Step for about ``seconds``; (ms per step, steps).

    CPU time of this process on the CPU and Reference platforms (a loaded shared machine
    inflates wall time unevenly), wall time on GPU platforms.
    """
    gpu = ctx.getPlatform().getName() in ("CUDA", "OpenCL", "HIP", "Metal")
    clock = time.perf_counter if gpu else time.process_time
    steps, elapsed, chunk = 0, 0.0, 1
    while elapsed < seconds:
        t0 = clock()
        integ.step(chunk)
        # synchronize (GPU platforms are asynchronous) without an extra energy evaluation
        ctx.getState(getPositions=True)
        elapsed += clock() - t0
        steps += chunk
        chunk = min(chunk * 2, 2000)
    return 1000.0 * elapsed / steps, steps


def accuracy_scan(n_x: int = 400, n_y: int = 41, seed: int = 0) -> dict:
    """Largest spline errors per region (see the module docstring)."""
    from ase_gausslj.core.potential import smoothed_lj
    from openmm_gausslj import smoothed_lj_force

    rng = np.random.default_rng(seed)
    sig, eps = SIGMA, EPSILON
    force = smoothed_lj_force([sig, sig], [eps, eps], exact_at_zero=False)
    system = base_system(2, 100.0)
    system.addForce(force)
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    widths = np.concatenate([[0.0], np.sort(rng.uniform(0, 0.05, 10)),
                             np.sort(rng.uniform(0.05, 2.0, n_y - 11))])
    regions_x = [(0.85, 1.2), (1.2, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 40.0)]
    regions_y = [(0.0, 0.0), (1e-12, 0.05), (0.05, 0.5), (0.5, 2.0)]
    worst = {}
    for y in widths:
        ctx.setParameter("gausslj_width", y * sig)
        x = np.sort(np.concatenate([rng.uniform(0.85, 4.0, n_x // 2),
                                    rng.uniform(4.0, 40.0, n_x // 2)]))
        e_mm, f_mm = np.empty_like(x), np.empty_like(x)
        for k, xi in enumerate(x):
            ctx.setPositions([[0, 0, 0], [xi * sig, 0, 0]])
            st = ctx.getState(getEnergy=True, getForces=True)
            e_mm[k] = st.getPotentialEnergy()._value / eps
            f_mm[k] = -st.getForces()[1][0]._value * sig / eps
        v, dv = smoothed_lj(x, y)
        ev = np.abs(e_mm - v) / np.maximum(np.abs(v), 4 * x**-6)
        ef = np.abs(f_mm - dv) / np.maximum(np.abs(dv), 24 * x**-7)
        for xl, xh in regions_x:
            for yl, yh in regions_y:
                if not (yl <= y <= yh):
                    continue
                m = (x >= xl) & (x < xh)
                key = f"x[{xl},{xh}) y[{yl},{yh}]"
                old = worst.get(key, {"energy": 0.0, "force": 0.0, "energy_abs_eps": 0.0,
                                      "points": 0})
                worst[key] = {
                    "energy": max(old["energy"], float(ev[m].max(initial=0.0))),
                    "energy_abs_eps": max(old["energy_abs_eps"],
                                          float(np.abs(e_mm - v)[m].max(initial=0.0))),
                    "force": max(old["force"], float(ef[m].max(initial=0.0))),
                    "points": old["points"] + int(m.sum()),
                }
    return {"n_points": int(n_x * len(widths)), "max_relative_error": worst}


def _tip3p_box():
    """OpenMM's own ``tip3p.pdb`` (2,685 atoms, 3 nm box): amber14 TIP3P, PME 0.9 nm."""
    import openmm.app as app

    pdb = app.PDBFile(os.path.join(os.path.dirname(app.__file__), "data", "tip3p.pdb"))
    ff = app.ForceField("amber14/tip3p.xml")
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.PME,
                             nonbondedCutoff=0.9 * mm.unit.nanometer, constraints=app.HBonds)
    return pdb.topology, system, pdb.positions


def solvated_variants(name: str, widths=(0.02,)) -> tuple[dict, object, object, int]:
    """Systems to time for ``--solvated``: original, everything smoothed, solute regions.

    ``name`` is an openmmtools test system or ``tip3p`` (OpenMM's ``data/tip3p.pdb``, pure
    water: no region variants).
    """
    from openmm_gausslj import smooth_system

    if name == "tip3p":
        topology, system, positions = _tip3p_box()
    else:
        from openmmtools import testsystems

        t = getattr(testsystems, name)()
        topology, system, positions = t.topology, t.system, t.positions
    solute = [a.index for a in topology.atoms()
              if a.residue.name not in ("HOH", "WAT", "Na+", "Cl-", "NA", "CL")]
    out = {"original": system}
    for w in widths:
        out[f"smoothed_all_w{w}"] = smooth_system(system, w, engine="custom")
    for w in widths:  # the same function in a PythonForce running gausslj's loops
        out[f"compiled_all_w{w}"] = smooth_system(system, w, engine="compiled")
    out[f"smoothed_all_coulomb_cutoff_0.4_w{widths[0]}"] = smooth_system(
        system, widths[0], coulomb_cutoff=0.4, engine="custom")
    if solute:
        out["region_solute_and_solvent_pairs"] = smooth_system(system, widths[0], atoms=solute)
        out["region_solute_only"] = smooth_system(system, widths[0], atoms=solute,
                                                  solute_solvent=False)
    return out, system, positions, len(solute)


def run_solvated(args, props) -> dict:
    """Step times of a solvated system with and without region selection (same run)."""
    widths = tuple(float(w) for w in args.widths.split(","))
    systems, system, positions, n_solute = solvated_variants(args.solvated, widths)
    plat = mm.Platform.getPlatformByName(args.platform)
    built = {}
    for kind, sys_k in systems.items():
        integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
        ctx = mm.Context(sys_k, integ, plat, props)
        ctx.setPositions(positions)
        ctx.setVelocitiesToTemperature(300, 1)
        integ.step(2)
        built[kind] = (ctx, integ)
    result = {"platform": args.platform, "openmm": mm.__version__, "properties": props,
              "system": args.solvated, "atoms": system.getNumParticles(),
              "solute_atoms": n_solute, "widths_nm": list(widths),
              "xml_mb": {k: len(mm.XmlSerializer.serialize(s)) / 1e6
                         for k, s in systems.items()},
              "command": "python examples/benchmark_openmm.py " + " ".join(sys.argv[1:]),
              "timings": {}}
    seconds = args.seconds if args.seconds is not None else (6.0 if args.quick else 30.0)
    for r in range(args.rounds):
        for kind, (ctx, integ) in built.items():
            ms, steps = time_round(ctx, integ, seconds / args.rounds)
            t_k = result["timings"].setdefault(kind, {"rounds_ms_per_step": [], "steps": 0})
            t_k["rounds_ms_per_step"].append(ms)
            t_k["steps"] += steps
            t_k["ms_per_step"] = float(np.median(t_k["rounds_ms_per_step"]))
            print(f"# round {r} {kind}: {ms:.3f} ms/step", file=sys.stderr)
    ref = result["timings"]["original"]["ms_per_step"]
    for kind, t_k in result["timings"].items():
        t_k["ratio_vs_original"] = t_k["ms_per_step"] / ref
        e = built[kind][0].getState(getEnergy=True).getPotentialEnergy()._value
        t_k["final_energy_kj_mol"] = e
        t_k["finite"] = bool(np.isfinite(e))
    if args.out:
        from ase_gausslj.io import write_json

        write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--platform", default="CPU", help="Reference, CPU, CUDA, OpenCL, HIP")
    ap.add_argument("--threads", type=int, default=1, help="CPU platform threads")
    ap.add_argument("--quick", action="store_true", help="~6 s of stepping per variant")
    ap.add_argument("--seconds", type=float, default=None, help="stepping time per variant")
    ap.add_argument("--out", default=None, help="JSON output path (updated per round)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    ap.add_argument("--values", default=None, help=".npy of precomputed table values")
    ap.add_argument("--save-values", default=None, help="write the table values to .npy")
    ap.add_argument(
        "--variants",
        default="nonbonded,custom_lj,smoothed,smoothed_table_only,smoothed_annealed",
    )
    ap.add_argument("--accuracy", action="store_true", help="table accuracy scan instead")
    ap.add_argument("--solvated", default=None, metavar="NAME",
                    help="time an openmmtools solvated system (e.g. AlanineDipeptideExplicit) "
                    "or 'tip3p' (OpenMM's data/tip3p.pdb, 2,685 atoms)")
    ap.add_argument("--widths", default="0.02",
                    help="--solvated: comma-separated widths (nm) of the smoothed variants")
    args = ap.parse_args(argv)
    if args.solvated:
        props = {"Threads": str(args.threads)} if args.platform == "CPU" else {}
        return run_solvated(args, props)
    if args.accuracy:
        result = accuracy_scan()
        print(json.dumps(result, indent=2))
        return result
    if args.save_values:
        from openmm_gausslj import table_values

        np.save(args.save_values, np.asarray(table_values()))
    values = np.load(args.values) if args.values else None
    min_seconds = args.seconds if args.seconds is not None else (6.0 if args.quick else 30.0)
    props = {"Threads": str(args.threads)} if args.platform == "CPU" else {}
    if args.platform in ("CUDA", "OpenCL", "HIP"):
        props = {"Precision": "mixed"}
    pos, box = lj_liquid()
    cutoff = 3.0 * SIGMA
    plat = mm.Platform.getPlatformByName(args.platform)
    result = {
        "platform": args.platform,
        "openmm": mm.__version__,
        "properties": props,
        "n_particles": len(pos),
        "box_nm": box,
        "cutoff_nm": cutoff,
        "cutoff_sigma": 3.0,
        "reduced_density": 0.8,
        "min_seconds_per_variant": min_seconds,
        "timings": {},
    }
    kinds = args.variants.split(",")
    built = {}
    for kind in kinds:
        ctx, integ, info = build_variant(kind, args.platform, props, pos, box, cutoff, values)
        built[kind] = (ctx, integ)
        result["timings"][kind] = dict(info, rounds_ms_per_step=[], steps=0)
    try:
        c = built[kinds[0]][0]
        result["device_properties"] = {
            k: plat.getPropertyValue(c, k) for k in plat.getPropertyNames()
        }
    except Exception:  # noqa: BLE001 (informational only)
        pass
    # interleaved rounds, so load changes on a shared machine hit every variant alike
    for r in range(args.rounds):
        for kind in kinds:
            ctx, integ = built[kind]
            ms, steps = time_round(ctx, integ, min_seconds / args.rounds)
            t = result["timings"][kind]
            t["rounds_ms_per_step"].append(ms)
            t["steps"] += steps
            t["ms_per_step"] = float(np.median(t["rounds_ms_per_step"]))
            print(f"# round {r} {kind}: {ms:.3f} ms/step", file=sys.stderr)
        ms = {k: v["ms_per_step"] for k, v in result["timings"].items()}
        for ref in ("custom_lj", "nonbonded"):
            if ref in ms:
                for k in ms:
                    if k != ref and (ref == "nonbonded" or k.startswith("smoothed")):
                        result[f"ratio_{k}_vs_{ref}"] = ms[k] / ms[ref]
        if args.out:
            with open(args.out + ".tmp", "w") as fh:
                json.dump(result, fh, indent=2)
            os.replace(args.out + ".tmp", args.out)
    for kind in kinds:
        ctx = built[kind][0]
        e = ctx.getState(getEnergy=True).getPotentialEnergy()._value
        result["timings"][kind]["final_energy_kj_mol"] = e
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
