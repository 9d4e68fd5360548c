"""gausslj: analytic Gaussian smoothing of the Lennard-Jones potential for ASE and OpenMM.

Layers (see ``docs/architecture.md``):

* :mod:`ase_gausslj.core`: the exact potential, the reduced table, numba kernels, neighbour
  lists and the :class:`SmoothedLJ` driver (no ASE, no OpenMM import);
* :mod:`ase_gausslj.schedules`: width schedules shared by every annealing code path;
* :mod:`ase_gausslj.optimize`: local minimizers, homotopy, basin hopping;
* :mod:`ase_gausslj.sampling`: targets, SMC, the reference sampler;
* :mod:`ase_gausslj.adapters`: the ASE calculator, dynamics and optimizers;
* :mod:`ase_gausslj.cli`: the ``gausslj`` command.

Public names are resolved on first use (PEP 562), so ``import ase_gausslj`` loads neither
numba nor ASE.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "GaussianLJ": "ase_gausslj.adapters.calculator",
    "AnnealedLangevin": "ase_gausslj.adapters.dynamics",
    "WidthScheduleObserver": "ase_gausslj.adapters.dynamics",
    "PairResult": "ase_gausslj.core.energy",
    "SmoothedLJ": "ase_gausslj.core.energy",
    "neighbor_pairs": "ase_gausslj.core.neighbors",
    "R_CORE": "ase_gausslj.core.defaults",
    "regularized_lj": "ase_gausslj.core.potential",
    "smoothed_coulomb": "ase_gausslj.core.potential",
    "smoothed_lj": "ase_gausslj.core.potential",
    "smoothed_lj_dwidth": "ase_gausslj.core.potential",
    "SmoothedLJTable": "ase_gausslj.core.table",
    "TableSlice": "ase_gausslj.core.slices",
    "get_table": "ase_gausslj.core.table",
    "BHOptions": "ase_gausslj.optimize.options",
    "GlobalOptResult": "ase_gausslj.optimize.results",
    "global_minimize": "ase_gausslj.optimize.globalopt",
    "global_minimize_atoms": "ase_gausslj.adapters.optimizers",
    "GaussianHomotopy": "ase_gausslj.adapters.optimizers",
    "HomotopyResult": "ase_gausslj.optimize.results",
    "homotopy_minimize": "ase_gausslj.optimize.homotopy",
    "multistart": "ase_gausslj.optimize.multistart",
    "reference_mala": "ase_gausslj.sampling.reference",
    "SMCResult": "ase_gausslj.sampling.results",
    "run_smc": "ase_gausslj.sampling.smc",
    "run_smc_repeats": "ase_gausslj.sampling.smc",
    "LJClusterTarget": "ase_gausslj.sampling.targets",
    "CallableSchedule": "ase_gausslj.schedules",
    "ExplicitSchedule": "ase_gausslj.schedules",
    "GeometricSchedule": "ase_gausslj.schedules",
    "LinearSchedule": "ase_gausslj.schedules",
    "PlateauSchedule": "ase_gausslj.schedules",
    "as_schedule": "ase_gausslj.schedules",
}

__all__ = sorted(_EXPORTS)

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ase_gausslj' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
