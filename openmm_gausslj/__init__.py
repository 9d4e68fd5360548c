"""OpenMM integration of the Gaussian-smoothed Lennard-Jones potential (gausslj).

* :func:`smoothed_lj_force` / :func:`smoothed_lj_bond_force`: the smoothed LJ as a
  ``CustomNonbondedForce`` / ``CustomCompoundBondForce`` with the width as the global
  parameter :data:`WIDTH_PARAMETER` (nm).
* :func:`smooth_system`: a copy of a force-field System with every NonbondedForce's LJ
  part smoothed (exact at width 0).
* :class:`GaussLJState`: read/set the width on a System or Context (range-checked).
* :class:`AnnealedLangevinIntegrator`, :func:`anneal_simulation`, :class:`WidthReporter`,
  :func:`homotopy_minimize`: annealing the width.

Imports only OpenMM and the ASE-free core (``ase_gausslj.core``, ``ase_gausslj.schedules``):
works without ASE installed. See ``docs/openmm.md``.
"""

from .expressions import WIDTH_PARAMETER
from .factory import smooth_system, smoothed_forces
from .forces import smoothed_lj_bond_force, smoothed_lj_force
from .integrators import (
    AnnealedLangevinIntegrator,
    WidthReporter,
    anneal_simulation,
    homotopy_minimize,
    schedule_widths,
)
from .state import GaussLJState, max_width_for_system, smoothed_force_indices
from .table import DEFAULT_GRID, TABLE_NAME, TableGrid, make_table_function, table_values

__all__ = [
    "AnnealedLangevinIntegrator",
    "DEFAULT_GRID",
    "GaussLJState",
    "TABLE_NAME",
    "TableGrid",
    "WIDTH_PARAMETER",
    "WidthReporter",
    "anneal_simulation",
    "homotopy_minimize",
    "make_table_function",
    "max_width_for_system",
    "schedule_widths",
    "smooth_system",
    "smoothed_force_indices",
    "smoothed_forces",
    "smoothed_lj_bond_force",
    "smoothed_lj_force",
    "table_values",
]
