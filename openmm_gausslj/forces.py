"""OpenMM forces for the Gaussian-smoothed Lennard-Jones potential.

The smoothed pair energy of particles ``i, j`` at distance ``r`` is

    E_ij(r) = eps_ij * F(r / sig_ij, w / sig_ij)

with ``F(x, y)`` the reduced smoothed LJ potential (``ase_gausslj.core.potential.smoothed_lj``),
``eps_ij = sqrt(eps_i eps_j)``, ``sig_ij = (sig_i + sig_j) / 2`` (Lorentz-Berthelot) and ``w``
the Gaussian width, a global context parameter (:data:`WIDTH_PARAMETER`, in nm) that can be
changed at any time with ``context.setParameter`` or on the device by a ``CustomIntegrator``.

Units (OpenMM's): distances, ``sigma`` and the width in nm, ``epsilon`` in kJ/mol. Every
argument also accepts an ``openmm.unit`` quantity, which is converted.

A width beyond the table (``w / sig_ij > y_max`` for a pair with ``eps_ij > 0``) is never
evaluated silently: the expression divides by ``step(y_max - y)``, i.e. the energy and forces
become infinite or NaN, so the run fails loudly; :class:`openmm_gausslj.state.GaussLJState` and
the integrators raise ``ValueError`` before setting such a width.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import openmm as mm
import openmm.unit as unit

from ase_gausslj.core.potential import lj_affine_coefficients
from ase_gausslj.core.validation import check_finite_nonneg

from .table import (
    DEFAULT_GRID,
    TABLE_NAME,
    TableGrid,
    make_table_function,
    table_values,
    tail_coefficients,
)

__all__ = [
    "WIDTH_PARAMETER",
    "TABLE_NAME",
    "TableGrid",
    "DEFAULT_GRID",
    "table_values",
    "make_table_function",
    "smoothed_lj_force",
    "smoothed_lj_bond_force",
    "to_nm",
    "to_kj",
    "max_width",
    "safe_sigmas",
    "tail_coefficients",
    "width_max_parameter",
    "ONE_4PI_EPS0",
]

WIDTH_PARAMETER = "gausslj_width"
"""Default name of the global context parameter holding the width (nm)."""

ONE_4PI_EPS0 = 138.93545764438198
"""Coulomb constant in kJ mol^-1 nm e^-2, as OpenMM's ``NonbondedForce`` uses it."""

_NAN_GUARD_FLOOR = 1e-10  # nm; smallest width used inside erf(r / 2w) (width 0 = plain 1/r)


def width_max_parameter(width_parameter: str = WIDTH_PARAMETER) -> str:
    """Name of the (constant) global parameter holding the table's reduced ``y_max``."""
    return f"{width_parameter}_max_reduced"


# --------------------------------------------------------------------------- units
def _strip(value, target_unit, name: str):
    if unit.is_quantity(value):
        try:
            return value.value_in_unit(target_unit)
        except TypeError as exc:
            raise ValueError(f"{name} has incompatible units {value.unit}") from exc
    if isinstance(value, (list, tuple)) and value and unit.is_quantity(value[0]):
        return [v.value_in_unit(target_unit) for v in value]
    return value


def to_nm(value, name: str = "value"):
    """Length in nm: a float/array, or an ``openmm.unit`` quantity (converted)."""
    return _strip(value, unit.nanometer, name)


def to_kj(value, name: str = "value"):
    """Energy in kJ/mol: a float/array, or an ``openmm.unit`` quantity (converted)."""
    return _strip(value, unit.kilojoule_per_mole, name)


def _scalar_nm(value, name: str) -> float:
    arr = check_finite_nonneg(to_nm(value, name), name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


# --------------------------------------------------------------------------- expressions
def _reduced_expression(
    eps: str, x: str, y: str, grid: TableGrid, width_parameter: str, exact_at_zero: bool
) -> list[str]:
    """Lepton statements: energy ``eps * F(x, y)`` with the out-of-table guard.

    With ``exact_at_zero`` the width-0 case uses the analytic regularized LJ (so a smoothed
    System at width 0 reproduces the original to rounding); otherwise the table is used
    at every width.
    """
    guard = f"step({width_max_parameter(width_parameter)} - gy)"
    table = f"select(step(gx - {grid.x_tail!r}), gtail, {TABLE_NAME}(gz, gp))/{guard}"
    lines = []
    if exact_at_zero:
        a, b = lj_affine_coefficients(grid.r_core)
        lines.append(f"{eps}*select(gy, {table}, glj)")
        lines.append(f"glj = select(step(gx - {grid.r_core!r}), 4*gi6*(gi6 - 1), {a!r} + {b!r}*gx)")
    else:
        lines.append(f"{eps}*{table}")
    coef = tail_coefficients(grid)
    horner = "0"
    for c in coef[:0:-1]:
        horner = f"gq*({c!r} + {horner})" if horner != "0" else f"gq*{c!r}"
    lines.append(f"gtail = -4*gi6*(1 + {horner})")
    lines.append("gq = gy*gy/gx2")
    lines.append("gi6 = 1/(gx2*gx2*gx2)")
    lines += [
        f"gz = {grid.z_expression('gx', 'gx2')}",
        "gx2 = gx*gx",
        "gp = sqrt(gy)",
        f"gx = {x}",
        f"gy = {y}",
    ]
    return lines


def _coulomb_terms(prefactor: str, r: str, width_parameter: str, krf: float, crf: float):
    terms = f"erf({r}/(2*gwc))/{r}"
    if krf != 0.0 or crf != 0.0:
        terms += f" + {krf!r}*{r}^2 - {crf!r}"
    return (
        f" + {ONE_4PI_EPS0!r}*{prefactor}*({terms})",
        f"gwc = max({width_parameter}, {_NAN_GUARD_FLOOR!r})",
    )


_METHODS = {
    "nocutoff": mm.CustomNonbondedForce.NoCutoff,
    "cutoffnonperiodic": mm.CustomNonbondedForce.CutoffNonPeriodic,
    "cutoffperiodic": mm.CustomNonbondedForce.CutoffPeriodic,
}


def _method(nonbonded_method) -> int:
    if isinstance(nonbonded_method, str):
        key = nonbonded_method.replace("_", "").replace(" ", "").lower()
        if key not in _METHODS:
            raise ValueError(
                f"nonbonded_method must be one of NoCutoff, CutoffNonPeriodic, "
                f"CutoffPeriodic, got {nonbonded_method!r}"
            )
        return _METHODS[key]
    if nonbonded_method not in _METHODS.values():
        raise ValueError(
            f"nonbonded_method {nonbonded_method!r} is not a CustomNonbondedForce method"
        )
    return int(nonbonded_method)


def _per_particle(values, n: int | None, name: str, conv) -> np.ndarray:
    arr = check_finite_nonneg(conv(values, name), name)
    if arr.ndim == 0:
        if n is None:
            raise ValueError(f"{name} must be per-particle when the particle count is not given")
        arr = np.full(n, float(arr))
    if arr.ndim != 1 or (n is not None and arr.size != n):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return arr.astype(np.float64)


def safe_sigmas(sigma: np.ndarray, epsilon: np.ndarray) -> np.ndarray:
    """Sigmas with those of ``epsilon == 0`` particles replaced by a harmless value.

    Such particles contribute nothing to LJ, but a zero or tiny sigma would make
    ``y = w / sig_ij`` leave the table (and ``0 * inf`` is NaN). Replacing their sigma by
    twice the largest sigma keeps every such pair's reduced width below that of a real
    pair. Raises ``ValueError`` if a particle with ``epsilon > 0`` has ``sigma <= 0``.
    """
    sigma = np.asarray(sigma, dtype=np.float64).copy()
    epsilon = np.asarray(epsilon, dtype=np.float64)
    real = epsilon > 0
    if np.any(sigma[real] <= 0):
        i = int(np.flatnonzero(real & (sigma <= 0))[0])
        raise ValueError(f"sigma must be > 0 where epsilon > 0 (particle {i})")
    big = 2.0 * float(sigma[real].max()) if np.any(real) else 1.0
    sigma[~real] = max(big, 1e-3)
    return sigma


def max_width(min_sigma: float, width_max: float = 2.0) -> float:
    """Largest width (nm) the table covers for a pair with ``sig_ij = min_sigma`` (nm)."""
    return float(min_sigma) * float(width_max)


def _add_common_parameters(
    force, add_param, charge_name, width_parameter, w0, grid, table_function
) -> None:
    """Width parameters, per-particle/per-bond sigma, epsilon (and charge), and the table."""
    force.addGlobalParameter(width_parameter, w0)
    force.addGlobalParameter(width_max_parameter(width_parameter), grid.width_max)
    add_param("sigma")
    add_param("epsilon")
    if charge_name is not None:
        add_param(charge_name)
    force.addTabulatedFunction(
        TABLE_NAME, make_table_function(grid) if table_function is None else table_function
    )


def smoothed_lj_force(
    sigma,
    epsilon,
    *,
    width=0.0,
    nonbonded_method="NoCutoff",
    cutoff=1.0,
    switch_distance=None,
    use_long_range_correction: bool = False,
    exclusions: Iterable[tuple[int, int]] = (),
    charges=None,
    reaction_field_dielectric: float = 78.3,
    width_parameter: str = WIDTH_PARAMETER,
    grid: TableGrid = DEFAULT_GRID,
    exact_at_zero: bool = True,
    table_function: mm.Continuous2DFunction | None = None,
) -> mm.CustomNonbondedForce:
    """A ``CustomNonbondedForce`` for the smoothed LJ pair energy ``eps_ij F(r/sig_ij, w/sig_ij)``.

    Parameters
    ----------
    sigma, epsilon : array_like or Quantity
        Per-particle LJ parameters (nm, kJ/mol), combined by Lorentz-Berthelot. One of
        them may be a scalar, broadcast to the particle count of the other (or of
        ``charges``). Particles with ``epsilon = 0`` get a harmless sigma.
    width : float or Quantity
        Initial (default) value of the global parameter ``width_parameter`` (nm).
    nonbonded_method : str or int
        ``"NoCutoff"``, ``"CutoffNonPeriodic"``, ``"CutoffPeriodic"`` or the
        ``CustomNonbondedForce`` constant.
    cutoff : float or Quantity
        Cutoff distance (nm); ignored for NoCutoff. LJ is truncated, not shifted, as in
        ``NonbondedForce``.
    switch_distance : float or Quantity, optional
        If given, OpenMM's switching function acts between it and the cutoff.
    use_long_range_correction : bool
        OpenMM's numerical long-range correction (periodic cutoff only). It is recomputed
        every time the width changes (a numerical integral per pair of particle classes):
        cheap for a few classes, slow while annealing many-class systems.
    exclusions : iterable of (int, int)
        Excluded pairs.
    charges : array_like or Quantity, optional
        If given, the smoothed Coulomb ``q_i q_j erf(r / 2w) / r`` (plus the reaction-field
        terms ``krf r^2 - crf`` with a cutoff, as ``NonbondedForce``) is added.
    reaction_field_dielectric : float
        Dielectric for the reaction field (cutoff methods with charges).
    width_parameter : str
        Name of the global width parameter.
    grid : TableGrid
        Table grid (its ``width_max`` is the largest reduced width, ``r_core`` the core).
    exact_at_zero : bool
        At width exactly 0 use the analytic regularized LJ instead of the table, so the
        force reproduces ``NonbondedForce`` LJ to rounding (costs a few flops per pair).
    table_function : openmm.Continuous2DFunction, optional
        A prebuilt table for ``grid`` (e.g. from :func:`make_table_function` with
        precomputed ``values``); by default one is made from :func:`table_values`.

    Returns
    -------
    openmm.CustomNonbondedForce
        Per-particle parameters ``sigma``, ``epsilon`` (and ``charge``); global parameters
        ``width_parameter`` and its ``_max_reduced`` companion (a constant).
    """
    n = None
    if charges is not None:
        q = _charges_array(_strip(charges, unit.elementary_charge, "charges"))
        n = q.size
    if n is None and np.ndim(to_nm(sigma, "sigma")) == 1:
        n = len(to_nm(sigma, "sigma"))
    eps = _per_particle(epsilon, n, "epsilon", to_kj)
    n = eps.size
    sig = _per_particle(sigma, n, "sigma", to_nm)
    sig = safe_sigmas(sig, eps)
    w0 = _scalar_nm(width, "width")
    method = _method(nonbonded_method)

    lines = _reduced_expression(
        "geps", "r/gsig", f"{width_parameter}/gsig", grid, width_parameter, exact_at_zero
    )
    if charges is not None:
        krf = crf = 0.0
        if method != mm.CustomNonbondedForce.NoCutoff:
            rc = _scalar_nm(cutoff, "cutoff")
            e = float(reaction_field_dielectric)
            krf = (e - 1.0) / (2.0 * e + 1.0) / rc**3
            crf = 3.0 * e / (2.0 * e + 1.0) / rc
        term, extra = _coulomb_terms("charge1*charge2", "r", width_parameter, krf, crf)
        lines[0] += term
        lines.append(extra)
    lines += ["geps = sqrt(epsilon1*epsilon2)", "gsig = 0.5*(sigma1 + sigma2)"]
    force = mm.CustomNonbondedForce("; ".join(lines))
    force.setName("GaussLJ")
    _add_common_parameters(
        force, force.addPerParticleParameter, "charge" if charges is not None else None,
        width_parameter, w0, grid, table_function,
    )
    for i in range(n):
        params = [float(sig[i]), float(eps[i])]
        if charges is not None:
            params.append(float(q[i]))
        force.addParticle(params)
    for i, j in exclusions:
        force.addExclusion(int(i), int(j))
    force.setNonbondedMethod(method)
    if method != mm.CustomNonbondedForce.NoCutoff:
        rc = _scalar_nm(cutoff, "cutoff")
        if rc <= 0:
            raise ValueError(f"cutoff must be > 0, got {rc}")
        force.setCutoffDistance(rc)
        if switch_distance is not None:
            rs = _scalar_nm(switch_distance, "switch_distance")
            if not rs < rc:
                raise ValueError(f"switch_distance ({rs}) must be < cutoff ({rc})")
            force.setUseSwitchingFunction(True)
            force.setSwitchingDistance(rs)
        if use_long_range_correction:
            if method != mm.CustomNonbondedForce.CutoffPeriodic:
                raise ValueError("use_long_range_correction requires CutoffPeriodic")
            force.setUseLongRangeCorrection(True)
    return force


def _charges_array(values) -> np.ndarray:
    """Charges as a finite float64 1-D array (signs allowed)."""
    from ase_gausslj.core.validation import check_finite

    arr = check_finite(values, "charges")
    if arr.ndim != 1:
        raise ValueError(f"charges must be a 1-D array, got shape {arr.shape}")
    return arr


def smoothed_lj_bond_force(
    pairs: Sequence[tuple[int, int]],
    sigma,
    epsilon,
    *,
    charge_products=None,
    width=0.0,
    periodic: bool = False,
    width_parameter: str = WIDTH_PARAMETER,
    grid: TableGrid = DEFAULT_GRID,
    exact_at_zero: bool = True,
    table_function: mm.Continuous2DFunction | None = None,
) -> mm.CustomCompoundBondForce:
    """A ``CustomCompoundBondForce`` applying the smoothed LJ to explicit pairs.

    Used for ``NonbondedForce`` exceptions (1-4 pairs) with their own ``sigma``,
    ``epsilon`` (per pair, nm and kJ/mol; not combined). If ``charge_products`` is given,
    the smoothed Coulomb ``qq erf(r / 2w) / r`` is added (as exceptions in OpenMM: no
    cutoff, no reaction field). ``exact_at_zero`` and ``table_function`` as in
    :func:`smoothed_lj_force`.
    """
    pairs = [(int(i), int(j)) for i, j in pairs]
    m = len(pairs)
    sig = _per_particle(sigma, m, "sigma", to_nm)
    eps = _per_particle(epsilon, m, "epsilon", to_kj)
    if np.any(sig[eps > 0] <= 0):
        raise ValueError("sigma must be > 0 for pairs with epsilon > 0")
    sig = np.where(eps > 0, sig, 1.0)
    w0 = _scalar_nm(width, "width")
    lines = _reduced_expression(
        "epsilon", "gr/sigma", f"{width_parameter}/sigma", grid, width_parameter, exact_at_zero
    )
    if charge_products is not None:
        qq = np.asarray(_strip(charge_products, unit.elementary_charge**2, "charge_products"))
        qq = np.asarray(qq, dtype=np.float64).reshape(-1)
        if qq.size != m or not np.all(np.isfinite(qq)):
            raise ValueError(f"charge_products must be {m} finite values")
        term, extra = _coulomb_terms("chargeprod", "gr", width_parameter, 0.0, 0.0)
        lines[0] += term
        lines.append(extra)
    lines.append("gr = distance(p1, p2)")
    force = mm.CustomCompoundBondForce(2, "; ".join(lines))
    force.setName("GaussLJExceptions")
    _add_common_parameters(
        force, force.addPerBondParameter,
        "chargeprod" if charge_products is not None else None,
        width_parameter, w0, grid, table_function,
    )
    for k, (i, j) in enumerate(pairs):
        params = [float(sig[k]), float(eps[k])]
        if charge_products is not None:
            params.append(float(qq[k]))
        force.addBond([i, j], params)
    force.setUsesPeriodicBoundaryConditions(bool(periodic))
    return force
