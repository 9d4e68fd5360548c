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
"""

from .compat import smoothed_forces
from .conformers import ConformerSearchResult, search_conformers
from .expressions import WIDTH_PARAMETER
from .factory import FORCE_FIELD_R_CORE, smooth_system
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
from .torsions import (
    TORSION_WIDTH_PARAMETER,
    get_torsion_width,
    set_torsion_width,
    smooth_torsions,
    torsion_force_indices,
)

__all__ = [
    "ConformerSearchResult",
    "TORSION_WIDTH_PARAMETER",
    "get_torsion_width",
    "search_conformers",
    "set_torsion_width",
    "smooth_torsions",
    "smoothed_forces",
    "torsion_force_indices",
    "AnnealedLangevinIntegrator",
    "DEFAULT_GRID",
    "FORCE_FIELD_R_CORE",
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
    "smoothed_lj_bond_force",
    "smoothed_lj_force",
    "table_values",
]
