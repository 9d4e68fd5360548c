#!/usr/bin/env python
"""Where the CPU step time of a smoothed force-field System goes (issue 21), one run.

Builds ``smooth_system(system, width)`` for a solvated System and variants of its "GaussLJ"
pair force, and times all of them interleaved (``--rounds``, process CPU time, median):

* ``original`` / ``smoothed``: the force field and :func:`openmm_gausslj.smooth_system`;
* ``custom_lj_plain``: the GaussLJ force with the plain LJ expression: the floor of any
  ``CustomNonbondedForce`` over the same pairs on this platform;
* ``no_coulomb_correction``, ``no_table``: the smoothed expression without the
  ``erfc`` correction term, or with the 2-D table replaced by 0 (what each costs; these
  variants are wrong physics, timing only);
* ``split_lj_group_corr_RC``: the LJ pair loop restricted to the particles with LJ
  (``epsilon > 0``) by an interaction group, the Coulomb correction in its own force with
  cutoff ``RC`` nm (one per ``--split-cutoffs``). The long-range correction of an
  interaction-group force differs from the all-pairs one (the energies printed show it);
* ``own_corr_RC``: the LJ force for every pair (no group, so its long-range correction is
  the original's), the Coulomb correction in its own all-pairs force with cutoff ``RC``;
* ``erfc_polynomial``: the tabulated ``erfc`` replaced by a degree-24 polynomial on
  ``[0, 4.5]`` (Chebyshev fit, max error 7e-11): arithmetic instead of a table call;
* ``erfc_exp_only``: ``erfc(u)`` replaced by ``exp(-u^2)`` (one libm call per lane instead
  of the table; wrong physics, timing only).

Example (the numbers in the issue-21 notes)::

    python examples/openmm_cost_breakdown.py --system tip3p --rounds 3 --seconds 2
    python examples/openmm_cost_breakdown.py --system AlanineDipeptideExplicit --rounds 3
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import openmm as mm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _system(name: str):
    """(System, positions): OpenMM's ``data/tip3p.pdb`` or an openmmtools test system."""
    import openmm.app as app

    if name == "tip3p":
        pdb = app.PDBFile(os.path.join(os.path.dirname(app.__file__), "data", "tip3p.pdb"))
        system = app.ForceField("amber14/tip3p.xml").createSystem(
            pdb.topology, nonbondedMethod=app.PME, nonbondedCutoff=0.9 * mm.unit.nanometer,
            constraints=app.HBonds)
        return system, pdb.positions
    from openmmtools import testsystems

    t = getattr(testsystems, name)()
    return t.system, t.positions


def _edited(smoothed: mm.System, edit) -> mm.System:
    out = copy.deepcopy(smoothed)
    for f in out.getForces():
        if f.getName() == "GaussLJ":
            edit(f)
    return out


def _without(term: str, by: str = ""):
    """Edit: ``term`` of the GaussLJ expression replaced by ``by``."""
    def edit(f):
        expr = f.getEnergyFunction()
        if term not in expr:
            raise ValueError(f"the GaussLJ expression has no {term!r}")
        f.setEnergyFunction(expr.replace(term, by))
    return edit


def _own_correction(smoothed: mm.System, system: mm.System, width: float, cutoff: float,
                    correction_term: str) -> mm.System:
    """The correction in its own all-pairs force with a short cutoff (LJ force untouched)."""
    from openmm_gausslj.forces.coulomb import coulomb_correction_force
    from openmm_gausslj.forces.expressions import coulomb_max_parameter

    out = _edited(smoothed, _without(correction_term))
    pair = next(f for f in out.getForces() if f.getName() == "GaussLJ")
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    q = np.array([nb.getParticleParameters(i)[0].value_in_unit(mm.unit.elementary_charge)
                  for i in range(nb.getNumParticles())])
    exc = [tuple(nb.getExceptionParameters(m)[:2]) for m in range(nb.getNumExceptions())]
    corr = coulomb_correction_force(q, exc, method=pair.getNonbondedMethod(), cutoff=cutoff,
                                    width=width)
    limit = next(pair.getGlobalParameterDefaultValue(m)
                 for m in range(pair.getNumGlobalParameters())
                 if pair.getGlobalParameterName(m) == coulomb_max_parameter())
    for m in range(corr.getNumGlobalParameters()):
        if corr.getGlobalParameterName(m) == coulomb_max_parameter():
            corr.setGlobalParameterDefaultValue(m, limit)  # one default per parameter
    out.addForce(corr)
    return out


def _split(smoothed: mm.System, system: mm.System, width: float, cutoff: float,
           correction_term: str) -> mm.System:
    """LJ over the LJ particles only (interaction group), the correction in its own force."""
    out = _own_correction(smoothed, system, width, cutoff, correction_term)
    pair = next(f for f in out.getForces() if f.getName() == "GaussLJ")
    lj = [i for i in range(pair.getNumParticles()) if pair.getParticleParameters(i)[1] > 0]
    pair.addInteractionGroup(lj, lj)
    return out


def _erfc_polynomial(u_max: float = 4.5, degree: int = 24) -> str:
    """``erfc(u)`` on ``[0, u_max]`` (0 beyond) as a Horner polynomial in ``t in [-1, 1]``."""
    from numpy.polynomial import chebyshev
    from scipy.special import erfc

    u = np.linspace(0.0, u_max, 20001)
    t = u / (u_max / 2) - 1
    mono = [float(c) for c in chebyshev.cheb2poly(chebyshev.chebfit(t, erfc(u), degree))]
    poly = repr(mono[-1])
    for c in mono[-2::-1]:
        poly = f"{c!r} + gt*({poly})"
    return (f"step({u_max!r} - gu2)*({poly}); gt = min(gu2, {u_max!r})*{2 / u_max!r} - 1; "
            "gu2 = gr/(2*gwc)")


def variants(name: str, width: float, split_cutoffs) -> tuple[dict, object]:
    from openmm_gausslj import smooth_system
    from openmm_gausslj.forces.expressions import ONE_4PI_EPS0

    system, positions = _system(name)
    smoothed = smooth_system(system, width, engine="custom")
    pair = next(f for f in smoothed.getForces() if f.getName() == "GaussLJ")
    energy = pair.getEnergyFunction().split(";")[0]
    key = f" - {ONE_4PI_EPS0!r}*"  # the correction term closes the energy line
    corr = energy[energy.index(key):] if key in energy else None
    out = {"original": system, "smoothed": smoothed,
           "custom_lj_plain": _edited(smoothed, lambda f: f.setEnergyFunction(
               "4*geps*((gsig/r)^12 - (gsig/r)^6); geps = sqrt(epsilon1*epsilon2); "
               "gsig = 0.5*(sigma1 + sigma2)")),
           "no_table": _edited(smoothed, _without("gausslj_F(gz, gp)", "0"))}
    if corr is not None:
        out["no_coulomb_correction"] = _edited(smoothed, _without(corr))
        for rc in split_cutoffs:
            out[f"split_lj_group_corr_{rc}"] = _split(smoothed, system, width, rc, corr)
            out[f"own_corr_{rc}"] = _own_correction(smoothed, system, width, rc, corr)
        table_erfc = "gerfc = gausslj_erfc(gr/(2*gwc))"
        out["erfc_polynomial"] = _edited(smoothed, _without(
            table_erfc, "gerfc = " + _erfc_polynomial()))
        out["erfc_exp_only"] = _edited(smoothed, _without(
            table_erfc, "gerfc = exp(-gu2*gu2); gu2 = gr/(2*gwc)"))
    return out, positions


def emit(result: dict, out: str | None) -> dict:
    """Print ``result`` as JSON and write it to ``out`` (if given); returns it."""
    if out:
        from ase_gausslj.io import write_json

        write_json(out, result)
    print(json.dumps(result, indent=2))
    return result


def interleaved_step_times(systems: dict, positions, rounds: int, seconds: float,
                           threads: int = 1) -> tuple[dict, dict]:
    """``(times, energies)``: ms per Langevin step of each System on the CPU platform,
    ``rounds`` values each (the Systems take turns, ``seconds`` of CPU time a turn), and
    each System's potential energy at ``positions`` (kJ/mol)."""
    plat = mm.Platform.getPlatformByName("CPU")
    built, energies = {}, {}
    for kind, s in systems.items():
        integ = mm.LangevinMiddleIntegrator(300, 1.0, 0.002)
        ctx = mm.Context(s, integ, plat, {"Threads": str(threads)})
        ctx.setPositions(positions)
        energies[kind] = ctx.getState(getEnergy=True).getPotentialEnergy()._value
        ctx.setVelocitiesToTemperature(300, 1)
        integ.step(2)
        built[kind] = (ctx, integ)
    times = {k: [] for k in built}
    for _ in range(rounds):
        for kind, (_, integ) in built.items():
            t0, n = time.process_time(), 0
            while time.process_time() - t0 < seconds:
                integ.step(5)
                n += 5
            times[kind].append((time.process_time() - t0) / n * 1e3)
    return times, energies


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--system", default="tip3p", help="'tip3p' or an openmmtools test system")
    ap.add_argument("--width", type=float, default=0.03, help="width (nm)")
    ap.add_argument("--split-cutoffs", default="0.9,0.4,0.3",
                    help="comma-separated cutoffs (nm) of the split correction force")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per variant/round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON output path")
    args = ap.parse_args(argv)
    cuts = [float(c) for c in args.split_cutoffs.split(",") if c]
    systems, positions = variants(args.system, args.width, cuts)
    times, energies = interleaved_step_times(systems, positions, args.rounds, args.seconds,
                                             args.threads)
    ref = float(np.median(times["original"]))
    result = {"system": args.system, "width_nm": args.width, "openmm": mm.__version__,
              "threads": args.threads,
              "command": "python examples/openmm_cost_breakdown.py " + " ".join(
                  sys.argv[1:] if argv is None else argv),
              "variants": {k: {"ms_per_step": float(np.median(v)),
                               "ratio_vs_original": float(np.median(v)) / ref,
                               "start_energy_kj_mol": energies[k], "rounds_ms": v}
                           for k, v in times.items()}}
    return emit(result, args.out)


if __name__ == "__main__":
    main()
