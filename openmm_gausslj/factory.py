"""Smooth an existing OpenMM ``System``: replace every ``NonbondedForce``'s LJ part.

:func:`smooth_system` returns a copy of a System in which the Lennard-Jones part of each
``NonbondedForce`` is carried by the smoothed force of :mod:`openmm_gausslj.forces`:

* per-particle LJ -> a ``CustomNonbondedForce`` (same cutoff method and distance, same
  switching function, same long-range correction flag; every exception of the original
  becomes an exclusion);
* exceptions with nonzero epsilon (1-4 pairs) -> a ``CustomCompoundBondForce`` using the
  same table with the exception's own sigma and epsilon;
* charges stay in the ``NonbondedForce`` (PME, Ewald, reaction field keep working), whose
  epsilons are set to 0, unless ``smooth_coulomb=True`` (allowed only without Ewald/PME),
  which moves the charges too, with the smoothed Coulomb kernel ``erf(r / 2w) / r``.

At width 0 the smoothed System reproduces the original's energies and forces to the
table's accuracy (~1e-8 relative for LJ; any pair closer than ``r_core * sigma_ij`` sees
the regularized, affine core instead of the bare LJ).
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import openmm as mm
import openmm.unit as unit

from ase_gausslj.core.defaults import R_CORE, WIDTH_MAX

from .expressions import WIDTH_PARAMETER
from .forces import smoothed_lj_bond_force, smoothed_lj_force
from .inputs import check_parameter_name, width_nm
from .table import DEFAULT_GRID, TableGrid

__all__ = ["smooth_system", "smoothed_forces"]

_NB = mm.NonbondedForce
_METHOD_MAP = {
    _NB.NoCutoff: mm.CustomNonbondedForce.NoCutoff,
    _NB.CutoffNonPeriodic: mm.CustomNonbondedForce.CutoffNonPeriodic,
    _NB.CutoffPeriodic: mm.CustomNonbondedForce.CutoffPeriodic,
    _NB.Ewald: mm.CustomNonbondedForce.CutoffPeriodic,
    _NB.PME: mm.CustomNonbondedForce.CutoffPeriodic,
}
_E2 = unit.elementary_charge**2


class _Parameters(NamedTuple):
    """A NonbondedForce's parameters as plain arrays (nm, kJ/mol, e)."""

    charge: np.ndarray
    sigma: np.ndarray
    epsilon: np.ndarray
    exceptions: list[tuple[int, int, float, float, float]]  # i, j, qq, sigma, epsilon


def _check_supported(nb: mm.NonbondedForce, smooth_coulomb: bool) -> None:
    """ValueError for what the split cannot represent (LJPME, Ewald Coulomb moved, offsets)."""
    method = nb.getNonbondedMethod()
    if method == _NB.LJPME:
        raise ValueError("NonbondedForce uses LJPME; smooth_system supports only cutoff LJ")
    if smooth_coulomb and method in (_NB.Ewald, _NB.PME):
        raise ValueError(
            "smooth_coulomb=True needs a non-Ewald NonbondedForce method "
            "(NoCutoff, CutoffNonPeriodic, CutoffPeriodic); this one uses Ewald/PME"
        )
    kinds = (
        ("particle", nb.getNumParticleParameterOffsets, nb.getParticleParameterOffset),
        ("exception", nb.getNumExceptionParameterOffsets, nb.getExceptionParameterOffset),
    )
    for kind, count, get in kinds:
        for k in range(count()):
            param, idx, _, ss, es = get(k)
            if ss != 0.0 or es != 0.0:
                raise ValueError(
                    f"NonbondedForce {kind} parameter offset {k} ({param!r}, {kind} {idx}) "
                    "changes sigma/epsilon; smooth_system does not support LJ offsets"
                )


def _read_parameters(nb: mm.NonbondedForce) -> _Parameters:
    n = nb.getNumParticles()
    q, sig, eps = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        qi, si, ei = nb.getParticleParameters(i)
        q[i] = qi.value_in_unit(unit.elementary_charge)
        sig[i] = si.value_in_unit(unit.nanometer)
        eps[i] = ei.value_in_unit(unit.kilojoule_per_mole)
    exc = []
    for k in range(nb.getNumExceptions()):
        i, j, qq, s, e = nb.getExceptionParameters(k)
        exc.append((i, j, qq.value_in_unit(_E2), s.value_in_unit(unit.nanometer),
                    e.value_in_unit(unit.kilojoule_per_mole)))
    return _Parameters(q, sig, eps, exc)


def _width_limit(p: _Parameters, grid: TableGrid) -> float:
    """Largest width (nm) inside the table for every LJ pair and LJ exception."""
    sig = [float(np.min(p.sigma[p.epsilon > 0]))] if np.any(p.epsilon > 0) else []
    sig += [s for *_, s, e in p.exceptions if e > 0]
    return grid.width_max * min(sig) if sig else np.inf


def _charges_only(nb: mm.NonbondedForce) -> mm.NonbondedForce:
    """A copy of ``nb`` with every epsilon 0 (charges, PME, exceptions' qq kept)."""
    charges = copy.deepcopy(nb)
    for i in range(nb.getNumParticles()):
        qi, si, _ = nb.getParticleParameters(i)
        charges.setParticleParameters(i, qi, si, 0.0)
    for k in range(nb.getNumExceptions()):
        i, j, qq, s, _ = nb.getExceptionParameters(k)
        charges.setExceptionParameters(k, i, j, qq, s, 0.0)
    charges.setUseDispersionCorrection(False)
    return charges


def smoothed_forces(
    nb: mm.NonbondedForce,
    *,
    width=0.0,
    smooth_coulomb: bool = False,
    width_parameter: str = WIDTH_PARAMETER,
    grid: TableGrid = DEFAULT_GRID,
    exact_at_zero: bool = True,
) -> tuple[mm.NonbondedForce | None, mm.CustomNonbondedForce, mm.CustomCompoundBondForce | None]:
    """Split one ``NonbondedForce`` into (charges-only NonbondedForce, pair force, 1-4 force).

    Returns new forces; ``nb`` is not modified. The first element is ``None`` when
    ``smooth_coulomb`` moved the charges too; the last is ``None`` when no exception has a
    nonzero epsilon (or charge product, with ``smooth_coulomb``). ``ValueError`` if
    ``width`` is beyond the table for some LJ pair or exception of ``nb``.
    """
    if not isinstance(nb, _NB):
        raise TypeError(f"nb must be an openmm.NonbondedForce, got {type(nb).__name__}")
    _check_supported(nb, smooth_coulomb)
    p = _read_parameters(nb)
    width = width_nm(width, "width", maximum=_width_limit(p, grid), limit_name=(
        f"nm: the table's width_max {grid.width_max!r} times the smallest LJ sigma of "
        "this system"))
    custom_method = _METHOD_MAP[nb.getNonbondedMethod()]
    periodic = custom_method == mm.CustomNonbondedForce.CutoffPeriodic
    common = dict(width=width, width_parameter=width_parameter, grid=grid,
                  exact_at_zero=exact_at_zero)
    pair = smoothed_lj_force(
        p.sigma, p.epsilon, nonbonded_method=custom_method, cutoff=nb.getCutoffDistance(),
        switch_distance=(nb.getSwitchingDistance() if nb.getUseSwitchingFunction()
                         and custom_method != mm.CustomNonbondedForce.NoCutoff else None),
        use_long_range_correction=bool(periodic and nb.getUseDispersionCorrection()),
        exclusions=[(i, j) for i, j, *_ in p.exceptions],
        charges=p.charge if smooth_coulomb else None,
        reaction_field_dielectric=nb.getReactionFieldDielectric(), **common,
    )
    pair.setForceGroup(nb.getForceGroup())
    moved = [x for x in p.exceptions if x[4] != 0.0 or (smooth_coulomb and x[2] != 0.0)]
    bonds = None
    if moved:
        bonds = smoothed_lj_bond_force(
            [(x[0], x[1]) for x in moved], [x[3] for x in moved], [x[4] for x in moved],
            charge_products=[x[2] for x in moved] if smooth_coulomb else None,
            periodic=bool(periodic and nb.getExceptionsUsePeriodicBoundaryConditions()),
            **common,
        )
        bonds.setForceGroup(nb.getForceGroup())
    return (None if smooth_coulomb else _charges_only(nb)), pair, bonds


def smooth_system(
    system: mm.System,
    width=0.0,
    *,
    smooth_coulomb: bool = False,
    r_core: float = R_CORE,
    width_max: float = WIDTH_MAX,
    width_parameter: str = WIDTH_PARAMETER,
    grid: TableGrid | None = None,
    exact_at_zero: bool = True,
) -> mm.System:
    """Copy of ``system`` with each ``NonbondedForce``'s LJ part replaced by the smoothed one.

    Parameters
    ----------
    system : openmm.System
        The original (not modified).
    width : float or Quantity
        Initial width (nm), the default value of the global parameter ``width_parameter``;
        ``ValueError`` (naming the largest allowed width) beyond the table's range.
    smooth_coulomb : bool
        Also smooth the charges (``erf(r / 2w) / r``); only for NoCutoff and the
        reaction-field cutoff methods, ``ValueError`` with Ewald/PME.
    r_core : float
        Core radius of the regularized LJ in units of each pair's sigma.
    width_max : float
        Largest reduced width ``w / sigma_ij`` the table covers; the largest width in nm
        is ``width_max * min(sigma)`` over particles with ``epsilon > 0``
        (see :func:`openmm_gausslj.state.max_width_for_system`).
    width_parameter : str
        Name of the global context parameter holding the width (nm).
    grid : TableGrid, optional
        Full control of the table grid (overrides ``r_core`` and ``width_max``).
    exact_at_zero : bool
        At width exactly 0 evaluate the analytic (regularized) LJ instead of the table, so
        the copy reproduces the original to rounding (default); ``False`` uses the table
        at every width (~1e-8 relative at width 0 for pairs beyond 0.85 sigma_ij).

    Returns
    -------
    openmm.System
        The smoothed copy. Semantics kept: cutoff method and distance, switching function,
        long-range (dispersion) correction flag (recomputed by OpenMM, by numerical
        integration per pair of particle classes, whenever the width changes: cheap for
        the few classes of a force field, noticeable when annealing every step),
        exclusions, 1-4 exceptions, force groups.
    """
    if not isinstance(system, mm.System):
        raise ValueError(f"system must be an openmm.System, got {type(system).__name__}")
    width_nm(width, "width")
    check_parameter_name(width_parameter)
    if grid is None:
        grid = TableGrid(width_max=width_max, r_core=r_core)
    elif not isinstance(grid, TableGrid):
        raise TypeError(f"grid must be a TableGrid, got {type(grid).__name__}")
    out = copy.deepcopy(system)
    nb_indices = [k for k in range(out.getNumForces()) if isinstance(out.getForce(k), _NB)]
    if not nb_indices:
        raise ValueError("system has no NonbondedForce to smooth")
    new_forces = [
        smoothed_forces(out.getForce(k), width=width, smooth_coulomb=smooth_coulomb,
                        width_parameter=width_parameter, grid=grid,
                        exact_at_zero=exact_at_zero)
        for k in nb_indices
    ]
    for k in sorted(nb_indices, reverse=True):
        out.removeForce(k)
    for forces in new_forces:
        for f in forces:
            if f is not None:
                out.addForce(f)
    return out
