"""Names kept for code written against gausslj 0.1 (the factory has grown past them)."""

from __future__ import annotations

import openmm as mm

from ase_gausslj.core.defaults import R_CORE

from .expressions import WIDTH_PARAMETER
from .factory import smooth_system
from .table import DEFAULT_GRID, TableGrid

__all__ = ["smoothed_forces"]


def smoothed_forces(
    nb: mm.NonbondedForce,
    *,
    width=0.0,
    smooth_coulomb: bool = False,
    width_parameter: str = WIDTH_PARAMETER,
    grid: TableGrid = DEFAULT_GRID,
    exact_at_zero: bool = True,
) -> list[mm.Force]:
    """The forces that replace one ``NonbondedForce`` (the 0.1 building block).

    Smooths a System holding only ``nb`` with :func:`~openmm_gausslj.smooth_system` and
    the 0.1 defaults (LJ only, the paper's core ``R_CORE`` unless ``grid`` says otherwise)
    and returns its forces: the charges-only ``NonbondedForce`` (if any charge), the
    smoothed pair force and, when there are LJ exceptions, their bond force. New code
    should call :func:`~openmm_gausslj.smooth_system`, which also smooths Coulomb and
    other LJ forms.
    """
    if not isinstance(nb, mm.NonbondedForce):
        raise TypeError(f"nb must be an openmm.NonbondedForce, got {type(nb).__name__}")
    system = mm.System()
    for _ in range(nb.getNumParticles()):
        system.addParticle(1.0)
    system.addForce(mm.XmlSerializer.clone(nb))
    if grid is DEFAULT_GRID and grid.r_core != R_CORE:
        grid = TableGrid(r_core=R_CORE)
    out = smooth_system(system, width, smooth_coulomb=smooth_coulomb, grid=grid,
                        width_parameter=width_parameter, exact_at_zero=exact_at_zero)
    # clones: the forces of `out` die with it
    return [mm.XmlSerializer.clone(out.getForce(k)) for k in range(out.getNumForces())]
