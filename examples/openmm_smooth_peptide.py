#!/usr/bin/env python
"""Smooth a force-field System (amber14 alanine dipeptide), anneal, minimize.

1. Build the capped alanine dipeptide (ACE-ALA-NME) in vacuum with amber14 (a PDB file
   may be given instead with ``--pdb``).
2. ``smooth_system`` replaces the LJ part of the NonbondedForce by the smoothed force
   (charges stay in the NonbondedForce; ``--smooth-coulomb`` smooths them too); at
   width 0 the energy equals the original's, which is printed as a check.
3. ``AnnealedLangevinIntegrator`` runs Langevin dynamics while the width goes from
   ``--width`` nm to 0 on the device; a ``WidthReporter`` logs the width column.
4. ``homotopy_minimize_context``: LocalEnergyMinimizer at decreasing widths, then at 0, compared
   with a plain minimization of the original System from the same start.

    python examples/openmm_smooth_peptide.py --steps 5000 --width 0.02 --seed 0

``--seed`` fixes the Langevin noise and the initial velocities and the CPU platform runs one
thread (``--threads``), so a run repeats to the printed digits.
"""

from __future__ import annotations

import argparse
import os
import sys

import openmm as mm
import openmm.app as app
import openmm.unit as unit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from openmm_gausslj import (  # noqa: E402
    WIDTH_PARAMETER,
    AnnealedLangevinIntegrator,
    GaussLJState,
    WidthReporter,
    homotopy_minimize_context,
    max_width_for_system,
    smooth_system,
)
from openmm_gausslj.data import alanine_dipeptide_pdb

KJ = unit.kilojoule_per_mole


def energy(context: mm.Context) -> float:
    return context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(KJ)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pdb", default=None, help="PDB file (default: alanine dipeptide)")
    ap.add_argument("--width", type=float, default=0.02, help="starting width, nm")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--temperature", type=float, default=300.0, help="kelvin")
    ap.add_argument("--smooth-coulomb", action="store_true")
    ap.add_argument("--platform", default="CPU")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU platform threads (1: the sums are done in one order)")
    ap.add_argument("--seed", type=int, default=0, help="Langevin noise and velocities")
    ap.add_argument("--log", default=None, help="CSV of step, width, energy")
    args = ap.parse_args(argv)

    pdb = app.PDBFile(args.pdb) if args.pdb else app.PDBFile(alanine_dipeptide_pdb())
    ff = app.ForceField("amber14-all.xml")
    original = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff,
                               constraints=app.HBonds)
    smoothed = smooth_system(original, 0.0, smooth_coulomb=args.smooth_coulomb)
    print(f"largest width the table covers for this system: "
          f"{max_width_for_system(smoothed):.4f} nm")
    if args.seed < 0:
        ap.error(f"--seed must be >= 0, got {args.seed}")
    platform = mm.Platform.getPlatformByName(args.platform)
    if args.platform == "CPU":
        platform.setPropertyDefaultValue("Threads", str(args.threads))
    seed = args.seed + 1  # OpenMM reads seed 0 as "pick one at random"

    ref = mm.Context(original, mm.VerletIntegrator(0.001), platform)
    ref.setPositions(pdb.positions)
    e_orig = energy(ref)

    integ = AnnealedLangevinIntegrator(
        args.temperature * unit.kelvin, 1.0 / unit.picosecond, 2.0 * unit.femtosecond,
        args.width * unit.nanometer, 0.0, args.steps, system=smoothed,
        ramp_steps=0,  # the documented run: reset jumps to the width before any dynamics
    )
    integ.setRandomNumberSeed(seed)
    sim = app.Simulation(pdb.topology, smoothed, integ, platform)
    sim.context.setPositions(pdb.positions)
    print(f"width 0: original {e_orig:.6f} kJ/mol, smoothed {energy(sim.context):.6f} kJ/mol")
    integ.reset(sim.context)
    print(f"width {args.width} nm: smoothed {energy(sim.context):.4f} kJ/mol")
    log = open(args.log, "w") if args.log else sys.stdout  # noqa: SIM115
    sim.reporters.append(WidthReporter(log, max(args.steps // 10, 1)))
    sim.context.setVelocitiesToTemperature(args.temperature * unit.kelvin, seed)
    sim.step(args.steps)
    print(f"after annealing: width {sim.context.getParameter(WIDTH_PARAMETER)} nm, "
          f"energy {energy(sim.context):.4f} kJ/mol")
    annealed = sim.context.getState(getPositions=True).getPositions()

    # homotopy minimization from the annealed structure vs plain minimization
    hctx = mm.Context(smoothed, mm.VerletIntegrator(0.001), platform)
    hctx.setPositions(annealed)
    widths = [args.width * f for f in (1.0, 0.5, 0.25, 0.1)]
    stages = homotopy_minimize_context(hctx, widths, tolerance=1.0)
    for w, e in stages:
        print(f"  homotopy stage width {w:.4f} nm: {e:.4f} kJ/mol")
    ref.setPositions(annealed)
    mm.LocalEnergyMinimizer.minimize(ref, 1.0, 0)
    print(f"plain minimization of the original from the same start: {energy(ref):.4f} kJ/mol")
    GaussLJState(0.0).apply_to_context(hctx)
    print(f"homotopy result (width 0): {energy(hctx):.4f} kJ/mol")
    if args.log:
        log.close()


if __name__ == "__main__":
    main()
