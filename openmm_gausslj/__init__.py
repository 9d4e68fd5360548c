"""OpenMM integration of the Gaussian-smoothed Lennard-Jones potential (gausslj).

* :func:`smoothed_lj_force` / :func:`smoothed_lj_bond_force`: the smoothed LJ as a
  ``CustomNonbondedForce`` / ``CustomCompoundBondForce`` with the width as the global
  parameter :data:`WIDTH_PARAMETER` (nm).
* :func:`smooth_system`: a copy of a force-field System with its LJ (NonbondedForce or
  CHARMM's tabulated form, 1-4 pairs included) and Coulomb smoothed by one width,
  optionally only for a region of atoms (exact at width 0, or refused naming the pair).
* :class:`GaussLJState`: read/set the width on a System or Context (range-checked).
* :class:`AnnealedLangevinIntegrator`, :func:`anneal_simulation`, :class:`WidthReporter`,
  :func:`homotopy_minimize_context`: annealing the width.
* :func:`search_conformers`: conformer search of a molecule (plain, smoothed, replica exchange).

Layout: ``forces/`` (the smoothed pair, bond, Coulomb and torsion forces, their expressions
and tables, the LJ forms read from force fields), ``factory`` (:func:`smooth_system`),
``state`` (the width of a System or Context), ``dynamics/`` (integrator, schedules,
drivers, switch-on ramp, dispersal checks), ``molecules/`` (conformer search, stereo
checks and guard, peptide builder), ``inputs`` (argument checks), ``exactness`` and
``contacts`` (width-0 exactness and close pairs).

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
    "ConformerSearchResult": "molecules.conformers",
    "search_conformers": "molecules.conformers",
    "WIDTH_PARAMETER": "forces.expressions",
    "FORCE_FIELD_R_CORE": "factory",
    "smooth_system": "factory",
    "smoothed_lj_bond_force": "forces.lj",
    "smoothed_lj_force": "forces.lj",
    "AnnealedLangevinIntegrator": "dynamics.integrator",
    "WidthReporter": "dynamics.reporters",
    "anneal_simulation": "dynamics.drivers",
    "homotopy_minimize_context": "dynamics.drivers",
    "schedule_widths": "dynamics.schedules",
    "GaussLJState": "state",
    "max_width_for_system": "state",
    "smoothed_force_indices": "forces.expressions",
    "DEFAULT_GRID": "forces.table",
    "TABLE_NAME": "forces.table",
    "TableGrid": "forces.table",
    "make_table_function": "forces.table",
    "table_values": "forces.table",
    "TORSION_WIDTH_PARAMETER": "forces.torsions",
    "get_torsion_width": "forces.torsions",
    "set_torsion_width": "forces.torsions",
    "smooth_torsions": "forces.torsions",
    "torsion_force_indices": "forces.torsions",
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
