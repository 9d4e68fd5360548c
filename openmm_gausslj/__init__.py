"""OpenMM integration of the Gaussian-smoothed Lennard-Jones potential (gausslj).

* :func:`smoothed_lj_force` / :func:`smoothed_lj_bond_force`: the smoothed LJ as a
  ``CustomNonbondedForce`` / ``CustomCompoundBondForce`` with the width as the global
  parameter :data:`WIDTH_PARAMETER` (nm).
* :func:`smooth_system`: a copy of a force-field System with its LJ (NonbondedForce or
  CHARMM's tabulated form, 1-4 pairs included) and Coulomb smoothed by one width,
  optionally only for a region of atoms (exact at width 0, or refused naming the pair).
* :class:`GaussLJState`: read/set the width on a System or Context (range-checked).
* :class:`AnnealedLangevinIntegrator`, :func:`anneal_simulation`, :class:`WidthReporter`,
  :func:`homotopy_minimize`: annealing the width.

Imports only OpenMM and the ASE-free core (``ase_gausslj.core``, ``ase_gausslj.schedules``):
works without ASE installed. See ``docs/openmm.md``.

The public names are resolved on first use (PEP 562), as in ``ase_gausslj``: ``import
openmm_gausslj`` loads neither OpenMM's force code paths nor numba/scipy until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the submodule of this package that defines it
_EXPORTS: dict[str, str] = {
    "smoothed_forces": "compat",
    "ConformerSearchResult": "conformers",
    "search_conformers": "conformers",
    "WIDTH_PARAMETER": "expressions",
    "FORCE_FIELD_R_CORE": "factory",
    "smooth_system": "factory",
    "smoothed_lj_bond_force": "forces",
    "smoothed_lj_force": "forces",
    "AnnealedLangevinIntegrator": "integrators",
    "WidthReporter": "integrators",
    "anneal_simulation": "integrators",
    "homotopy_minimize": "integrators",
    "schedule_widths": "integrators",
    "GaussLJState": "state",
    "max_width_for_system": "state",
    "smoothed_force_indices": "state",
    "DEFAULT_GRID": "table",
    "TABLE_NAME": "table",
    "TableGrid": "table",
    "make_table_function": "table",
    "table_values": "table",
    "TORSION_WIDTH_PARAMETER": "torsions",
    "get_torsion_width": "torsions",
    "set_torsion_width": "torsions",
    "smooth_torsions": "torsions",
    "torsion_force_indices": "torsions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'openmm_gausslj' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
