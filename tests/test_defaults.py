"""Every default is defined once (issue 18): each CLI subcommand's argparse defaults equal
the API's, read by introspection from the parser and the signature (or options class)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

from ase_gausslj.cli import build_parser
from ase_gausslj.defaults import GLOBAL_OPT, HOMOTOPY


def _parsed(argv: list[str]):
    return build_parser([argv[0]]).parse_args(argv)


def _signature_defaults(fn) -> dict:
    return {k: p.default for k, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return tuple(a) == tuple(b)
    return a == b


def test_optimize_cli_defaults_equal_api():
    from ase_gausslj.optimize.globalopt import BHOptions, global_minimize

    # the options live in BHOptions (keywords of global_minimize map onto its fields)
    api = {**_signature_defaults(BHOptions), **_signature_defaults(global_minimize)}
    args = vars(_parsed(["optimize", "13"]))
    cli_to_api = {"method": "method", "quenches": "max_minimizations",
                  "time_limit": "time_limit", "target_energy": "target_energy", "seed": "seed",
                  "n_starts": "n_starts", "temperature": "temperature", "step": "step",
                  "widths": "widths", "p_smooth": "p_smooth", "gtol": "gtol",
                  "minimizer": "minimizer", "clock": "clock", "strategy": "strategy"}
    for cli, name in cli_to_api.items():
        assert _same(args[cli], api[name]), (cli, args[cli], api[name])
    # the shared record is what both read
    assert api["method"] == GLOBAL_OPT.method and api["gtol"] == GLOBAL_OPT.gtol


def test_homotopy_cli_defaults_equal_api():
    from ase_gausslj.optimize.homotopy import homotopy_minimize

    api = _signature_defaults(homotopy_minimize)
    args = vars(_parsed(["homotopy", "13"]))
    assert args["protocol"] == "default" and api["protocol"] is None
    for name in ("optimizer", "max_steps", "polish", "compare_plain"):
        assert args[name] == api[name], name
    assert (args["runs"], args["seed"]) == (HOMOTOPY.runs, HOMOTOPY.seed)


def test_smc_cli_defaults_equal_options():
    from ase_gausslj.sampling.options import SMCOptions

    opt = SMCOptions()
    args = vars(_parsed(["smc"]))
    cli_to_opt = {"path": "path", "replicas": "n_replicas", "steps": "n_steps",
                  "mutation": "mutation", "step_size": "step_size", "resample": "resample",
                  "harmonic": "harmonic", "kT": "kT", "seed": "seed",
                  "width_start": "width_start", "width_end": "width_end",
                  "burnin": "n_burnin", "final_moves": "final_moves"}
    for cli, name in cli_to_opt.items():
        assert args[cli] == getattr(opt, name), (cli, args[cli], getattr(opt, name))
    assert {"auto": None, "yes": True, "no": False}[args["adapt_step"]] == opt.adapt_step


def test_conformers_cli_defaults_equal_api():
    pytest.importorskip("openmm")
    from openmm_gausslj.molecules.conformers import search_conformers

    api = _signature_defaults(search_conformers)
    args = vars(_parsed(["conformers", "x.pdb"]))
    cli_to_api = {"method": "method", "budget": "budget", "cpu_seconds": "cpu_seconds",
                  "seed": "seed", "temperature": "temperature", "cycle_steps": "cycle_steps",
                  "torsion_width": "torsion_width", "lj_width": "lj_width",
                  "replicas": "replicas", "rmsd": "rmsd_threshold", "platform": "platform"}
    for cli, name in cli_to_api.items():
        assert args[cli] == api[name], (cli, args[cli], api[name])
    assert args["timestep"] == pytest.approx(api["timestep"] * 1000.0)  # fs vs ps


def test_budget_is_a_count_and_seconds_are_refused():
    from ase_gausslj.optimize.globalopt import global_minimize

    with pytest.raises(TypeError, match="time_limit"):
        global_minimize(7, budget=2.5)
    with pytest.raises(ValueError, match="same option"):
        global_minimize(7, budget=5, max_minimizations=5)
    with pytest.warns(FutureWarning, match="counts quenches"):
        res = global_minimize(7, budget=4, seed=0)
    assert res.n_minimizations == 4 and res.stop_reason == "max_minimizations"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = global_minimize(7, max_minimizations=3, seed=0, time_limit=60.0)
    assert res.n_minimizations == 3


def test_atoms_budget_is_a_count():
    pytest.importorskip("ase")
    from ase import Atoms

    from ase_gausslj.adapters.calculator import GaussianLJ
    from ase_gausslj.adapters.optimizers import global_minimize_atoms
    from ase_gausslj.optimize.clusters import random_cluster

    atoms = Atoms("Ar7", positions=3.4 * random_cluster(7, np.random.default_rng(0)))
    atoms.calc = GaussianLJ(epsilon=0.0104, sigma=3.4)
    with pytest.raises(TypeError, match="time_limit"):
        global_minimize_atoms(atoms, budget=1.0)
    _, res = global_minimize_atoms(atoms, max_minimizations=3, seed=0)
    assert res.n_minimizations == 3
