"""``gausslj conformers``: distinct low-energy conformers of a molecule from a PDB (OpenMM).

Writes ``--output`` (JSON: every conformer's energy, when it was found, the best-energy
trace), one PDB per conformer kept (``--pdb-prefix``: ``<prefix>_01.pdb`` ...; default the
output path without a trailing ``.json``, nothing else cut) and a plot of the best energy vs
CPU time (``--plot``, needs matplotlib). Every output is checked before the search and
written atomically. Ctrl-C (SIGTERM) writes what was found and exits 130 (143). Needs the
``molecules`` extra (mdtraj); without it the command says so and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..io import write_bytes, write_json, write_text
from .common import (
    EXIT_INTERRUPTED,
    add_output_options,
    check_outputs,
    nonneg_float,
    positive_float,
    positive_int,
)

__all__ = ["add_cli"]

_METHODS = ("plain", "smoothed", "hrex")  # as molecules.conformers.METHODS (kept light)


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add the ``conformers`` subcommand to an :mod:`argparse` subparsers object."""
    p = subparsers.add_parser(
        "conformers", help="conformer search on a PDB (OpenMM; plain, smoothed, hrex)",
        description="Search distinct low-energy minima of a molecule: hot MD + quenches "
                    "(plain), the same with torsion (and LJ) smoothing annealed away each "
                    "cycle (smoothed), or replica exchange over widths (hrex).")
    p.add_argument("pdb", help="input PDB with hydrogens (or use --add-hydrogens)")
    p.add_argument("--forcefield", action="append", default=None, metavar="XML",
                   help="OpenMM force-field file; repeat for implicit solvent, e.g. "
                        "--forcefield amber14-all.xml --forcefield implicit/obc2.xml "
                        "(default amber14-all.xml)")
    p.add_argument("--add-hydrogens", action="store_true", help="add missing hydrogens (pH 7)")
    d = api_defaults()  # the API's defaults: one definition (tests/test_defaults.py)
    p.add_argument("--method", choices=_METHODS, default=d["method"])
    p.add_argument("--budget", type=positive_int, default=d["budget"],
                   help="force evaluations: MD steps (all replicas) + minimizer iterations")
    p.add_argument("--cpu-seconds", type=positive_float, default=d["cpu_seconds"],
                   help="CPU-time cap")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--temperature", type=positive_float, default=d["temperature"],
                   help="hot MD (K)")
    p.add_argument("--cycle-steps", type=positive_int, default=d["cycle_steps"],
                   help="MD steps between quenches")
    p.add_argument("--torsion-width", type=nonneg_float, default=d["torsion_width"],
                   help="start torsion width (radians)")
    p.add_argument("--lj-width", type=nonneg_float, default=d["lj_width"],
                   help="start LJ width (nm); > 0 smooths the LJ too (smooth_system)")
    p.add_argument("--replicas", type=positive_int, default=d["replicas"], help="hrex replicas")
    p.add_argument("--rmsd", type=positive_float, default=d["rmsd_threshold"],
                   help="heavy-atom RMSD (nm) above which minima are distinct")
    p.add_argument("--timestep", type=positive_float, default=d["timestep"] * 1000.0,
                   help="fs (HBonds constrained)")
    p.add_argument("--keep", type=positive_int, default=10, help="PDBs written (lowest)")
    p.add_argument("--pdb-prefix", default=None, help="PDB path prefix (default: output stem)")
    p.add_argument("--plot", default=None, metavar="PNG", help="best energy vs CPU time")
    p.add_argument("--platform", default=d["platform"])
    p.add_argument("--threads", type=positive_int, default=1, help="CPU platform threads")
    add_output_options(p, output_help="write the conformers as JSON")
    p.set_defaults(func=_cli_main, _subparser=p)
    return p


def api_defaults() -> dict:
    """``search_conformers``' keyword defaults (what the CLI's defaults are read from)."""
    import inspect

    from openmm_gausslj.molecules.conformers import search_conformers

    return {name: par.default
            for name, par in inspect.signature(search_conformers).parameters.items()
            if par.default is not inspect.Parameter.empty}


def _system(args):
    import openmm.app as app

    try:
        pdb = app.PDBFile(args.pdb)
    except Exception as exc:  # noqa: BLE001 (OpenMM's reader fails with Index/Key/ValueError)
        raise ValueError(f"pdb: {args.pdb!r} is not a readable PDB file "
                         f"({type(exc).__name__}: {exc})") from None
    if pdb.topology.getNumAtoms() == 0:
        raise ValueError(f"pdb: {args.pdb!r} holds no atoms (not a PDB file?)")
    ff = app.ForceField(*(args.forcefield or ["amber14-all.xml"]))
    top, pos = pdb.topology, pdb.positions
    if args.add_hydrogens:
        modeller = app.Modeller(top, pos)
        modeller.addHydrogens(ff, pH=7.0)
        top, pos = modeller.topology, modeller.positions
    system = ff.createSystem(top, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    if args.lj_width > 0:
        from openmm_gausslj import smooth_system

        system = smooth_system(system, 0.0)
    return system, top, pos


def _pdb_paths(args) -> list[str]:
    """The PDB files the run may write: ``<stem>_01.pdb`` .. ``<stem>_<keep>.pdb``."""
    stem = args.pdb_prefix
    if stem is None and args.output:
        stem = args.output[:-5] if args.output.endswith(".json") else args.output
    return [f"{stem}_{k:02d}.pdb" for k in range(1, args.keep + 1)] if stem else []


def _write_outputs(args, result, top) -> None:
    import io

    import openmm.app as app
    import openmm.unit as unit

    paths = []
    for path, c in zip(_pdb_paths(args), result.conformers, strict=False):
        text = io.StringIO()
        app.PDBFile.writeFile(top, c.positions * unit.nanometer, text)
        write_text(path, text.getvalue())
        paths.append(path)
    if args.output:
        data = result.to_dict()
        data["pdb_files"] = paths
        data["input"] = args.pdb
        write_json(args.output, data)
    if args.plot and result.history:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib not installed: no plot", file=sys.stderr)
            return
        fig, ax = plt.subplots(figsize=(5, 3.5))
        cpu = [h[1] for h in result.history]
        ax.step(cpu, [h[2] for h in result.history], where="post")
        ax.set_xlabel("CPU s")
        ax.set_ylabel("best energy (kJ/mol)")
        ax.set_title(f"{Path(args.pdb).name}: {result.method}")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, dpi=120, format=Path(args.plot).suffix.lstrip(".") or "png")
        plt.close(fig)
        write_bytes(args.plot, buf.getvalue())


def _needs_molecules_extra() -> bool:
    """Print the install line and return True when the ``molecules`` extra is missing."""
    try:
        import mdtraj  # noqa: F401  (the RMSD of minima)
    except ImportError:
        print('gausslj conformers: error: needs the molecules extra (mdtraj): '
              'pip install "gausslj[molecules]"', file=sys.stderr)
        return True
    return False


def _cli_main(args) -> int:
    if _needs_molecules_extra():
        return 2
    from openmm_gausslj.molecules.conformers import search_conformers

    check_outputs([(args.output, "--output"), (args.plot, "--plot"),
                   *((p, "--pdb-prefix") for p in _pdb_paths(args))])
    if not Path(args.pdb).is_file():
        raise ValueError(f"pdb: no such file {args.pdb!r}")
    system, top, pos = _system(args)
    props = {"Threads": str(args.threads)} if args.platform == "CPU" else None
    result = search_conformers(
        system, pos, method=args.method, budget=args.budget, seed=args.seed,
        temperature=args.temperature, cycle_steps=args.cycle_steps,
        torsion_width=args.torsion_width, lj_width=args.lj_width, replicas=args.replicas,
        rmsd_threshold=args.rmsd, timestep=args.timestep / 1000.0,
        cpu_seconds=args.cpu_seconds, topology=top, platform=args.platform,
        platform_properties=props)
    for k, c in enumerate(result.conformers[:args.keep], start=1):
        print(f"{k:3d}  E = {c.energy:10.3f} kJ/mol  found at step {c.found_step:7d} "
              f"({c.found_cpu_s:.1f} CPU-s), hit {c.hits}x")
    print(f"{len(result.conformers)} distinct minima from {result.n_quenches} quenches, "
          f"{result.steps_used} force evaluations, {result.cpu_seconds:.1f} CPU-s")
    _write_outputs(args, result, top)
    return EXIT_INTERRUPTED if result.interrupted else 0
