"""Tables sized to the widths a force can actually see (issue 21: a smaller System XML).

A smoothed System allows widths up to the table's limit ``w_lim = width_max * s_min`` (nm,
``s_min`` the smallest LJ sigma over all its smoothed LJ forces). A force whose smallest LJ
sigma is ``s`` therefore never sees reduced widths beyond ``w_lim / s``; when that is well
below the grid's ``width_max`` (the 1-4 pairs of a peptide, whose smallest sigma is
0.177 nm against the amide hydrogen's 0.107 nm), the force gets
a table with that smaller ``width_max`` at the same node spacing (so the same accuracy),
and its width guard ``step(y_max - y)`` the same smaller ``y_max`` (never silently off
the table).
"""

from __future__ import annotations

import math

import openmm as mm

from .expressions import guard_term, width_max_parameter
from .table import TABLE_NAME, TableGrid, make_table_function

__all__ = ["sized_grid", "size_tables"]

_SHRINK_BELOW = 0.9  # resize only when the table shrinks by more than 10 %


def _round_up(y: float, digits: int = 3) -> float:
    """``y`` rounded up to ``digits`` significant digits (so similar systems share a cache)."""
    scale = 10.0 ** (math.floor(math.log10(y)) - digits + 1)
    return math.ceil(y / scale * (1 - 1e-12)) * scale


def sized_grid(grid: TableGrid, y_need: float) -> TableGrid | None:
    """``grid`` with ``width_max`` cut to ``y_need`` at no larger node spacing, or None.

    None when the cut would save less than 10 % of the ``p`` range (the caller keeps
    ``grid``). The ``p`` nodes keep their spacing; the ``z`` nodes cover the smaller
    reach at the same spacing.
    """
    if not (math.isfinite(y_need) and y_need > 0):
        return None
    y_new = _round_up(y_need)
    if y_new >= _SHRINK_BELOW * grid.width_max:
        return None
    g = grid.ghost
    dp = math.sqrt(grid.width_max) / (grid.np_ - 1 - 2 * g)
    np_ = max(16 + 2 * g, math.ceil(math.sqrt(y_new) / dp) + 1 + 2 * g)
    dz = grid.z_end() / (grid.nz - 1 - 2 * g)
    kw = dict(zip(("nz", "np_", "a", "c1", "c2", "width_max", "r_core", "ghost", "k_reach",
                   "terms6", "terms12", "k_scale"), grid.key(), strict=True))
    kw.update(width_max=y_new, np_=np_)
    probe = TableGrid(**kw)  # its z_end at the new width range fixes nz
    kw["nz"] = max(16 + 2 * g, math.ceil(probe.z_end() / dz) + 1 + 2 * g)
    return TableGrid(**kw)


def _min_lj_sigma(force: mm.Force) -> float:
    from ..state import _lj_force_limit

    return _lj_force_limit(force, 1.0)


def size_tables(forces, grid: TableGrid, limit: float, width_parameter: str) -> None:
    """Give each table-carrying force of ``forces`` the table its widths need (in place).

    ``limit`` is the System's table limit (nm; the Coulomb limit is left out, so the
    smoothed LJ is the same function with or without smoothed Coulomb). The global parameter
    ``width_max_parameter`` keeps ``grid.width_max`` (one value per Context); a resized
    force's guard uses its own, smaller ``y_max``.
    """
    if not math.isfinite(limit):
        return
    for f in forces:
        if not isinstance(f, (mm.CustomNonbondedForce, mm.CustomCompoundBondForce)):
            continue
        names = [f.getTabulatedFunctionName(k) for k in range(f.getNumTabulatedFunctions())]
        if TABLE_NAME not in names:
            continue
        sub = sized_grid(grid, limit / _min_lj_sigma(f))
        if sub is None:
            continue
        old = guard_term(width_max_parameter(width_parameter))
        expr = f.getEnergyFunction()
        if expr.count(old) != 1:
            raise RuntimeError(f"force {f.getName()!r}: width guard not found once")
        f.setEnergyFunction(expr.replace(old, guard_term(repr(sub.width_max))))
        table = make_table_function(sub)
        f.getTabulatedFunction(names.index(TABLE_NAME)).setFunctionParameters(
            *table.getFunctionParameters())
