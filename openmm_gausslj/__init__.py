"""OpenMM integration of the Gaussian-smoothed Lennard-Jones potential (gausslj).

* :func:`smoothed_lj_force` / :func:`smoothed_lj_bond_force`: the smoothed LJ as a
  ``CustomNonbondedForce`` / ``CustomCompoundBondForce`` with the width as the global
  parameter :data:`WIDTH_PARAMETER` (nm).
* :func:`smooth_system`: a copy of a force-field System with every NonbondedForce's LJ
  part smoothed (exact at width 0).
* :class:`GaussLJState`: read/set the width on a System or Context (range-checked).
* :class:`AnnealedLangevinIntegrator`, :func:`anneal_simulation`, :class:`WidthReporter`,
  :func:`homotopy_minimize`: annealing the width.

See ``docs/openmm.md``.
"""

from .factory import smooth_system, smoothed_forces
from .forces import (
    DEFAULT_GRID,
    TABLE_NAME,
    WIDTH_PARAMETER,
    TableGrid,
    make_table_function,
    smoothed_lj_bond_force,
    smoothed_lj_force,
    table_values,
)
from .integrators import (
    AnnealedLangevinIntegrator,
    WidthReporter,
    anneal_simulation,
    homotopy_minimize,
    schedule_widths,
)
from .state import GaussLJState, max_width_for_system, smoothed_force_indices

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
