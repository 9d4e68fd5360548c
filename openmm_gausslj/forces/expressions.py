"""Lepton expressions of the smoothed pair energy, in the openmmtools style.

An expression is a list of ``;``-separated statements: the energy first, then the named
sub-expressions it uses (Lepton resolves them bottom-up). The energy of a pair is

    eps * F(x, y)  [+ ONE_4PI_EPS0 * qq * (erf(r / 2w) / r + krf r^2 - crf)]

with ``x = r / sigma``, ``y = w / sigma`` and ``F`` the reduced smoothed LJ: the 2-D table
(:mod:`openmm_gausslj.forces.table`) inside its reach, the analytic heat-kernel series
beyond, and, with ``exact_at_zero``, the analytic regularized LJ at width exactly 0.

Both terms are finite at ``r = 0`` (the table starts at ``x = 0``; the Coulomb term uses
``erf(u)/u -> 2/sqrt(pi)``), so coincident particles have a finite energy.
"""

from __future__ import annotations

import openmm as mm

from ase_gausslj.core.potential import lj_affine_coefficients

from .table import TABLE_NAME, TableGrid, series_coefficients

__all__ = [
    "ONE_4PI_EPS0",
    "WIDTH_PARAMETER",
    "width_max_parameter",
    "reduced_expression",
    "coulomb_terms",
    "coulomb_correction_expression",
    "coulomb_correction_terms",
    "ERFC_TABLE_NAME",
    "uses_table",
    "smoothed_force_indices",
    "ERFC_U_MAX",
    "coulomb_max_parameter",
    "SAFE_R",
    "guard_term",
    "global_defaults",
]

WIDTH_PARAMETER = "gausslj_width"
"""Default name of the global context parameter holding the width (nm)."""

ONE_4PI_EPS0 = 138.93545764438198
"""Coulomb constant in kJ mol^-1 nm e^-2, as OpenMM's ``NonbondedForce`` uses it."""

SAFE_R = "gr = select(step(r), r, 0)"
"""The pair distance of a ``CustomNonbondedForce``, 0 where OpenMM's CPU kernel gives NaN.

The CPU platform computes ``r = r2 * rsqrt(r2)``, NaN at ``r2 = 0``; ``step(NaN) = 0``.
"""

_NAN_GUARD_FLOOR = 1e-10  # nm; smallest width used inside erf(r / 2w) (width 0 = plain 1/r)
_GUARD_SLACK = 1.000001  # w / sigma computed in single precision may overshoot y_max by ~1e-7;
# the table's ghost nodes above sqrt(y_max) keep the spline exact there
_TWO_OVER_SQRT_PI = 1.1283791670955126


def width_max_parameter(width_parameter: str = WIDTH_PARAMETER) -> str:
    """Name of the (constant) global parameter holding the table's reduced ``y_max``."""
    return f"{width_parameter}_max_reduced"


def _horner(coef: list[float], var: str) -> str:
    """``c0 + c1 v + c2 v^2 + ...`` in Horner form."""
    out = repr(coef[-1])
    for c in coef[-2::-1]:
        out = f"{c!r} + {var}*({out})"
    return out


def guard_term(y_max: str) -> str:
    """``step(y_max - gy)`` (with the single-precision slack): the table's width guard."""
    return f"step({y_max}*{_GUARD_SLACK!r} - gy)"


_OUT_OF_TABLE = 4.0  # z of pairs the table does not serve: beyond its range, where it is 0


def reduced_expression(
    eps: str, x: str, y: str, grid: TableGrid, width_parameter: str, exact_at_zero: bool
) -> list[str]:
    """Lepton statements: energy ``eps * F(x, y)`` with the out-of-table guard.

    ``F`` is the table inside its reach ``x < b(y)`` and the heat-kernel series beyond
    (:mod:`openmm_gausslj.forces.table`). Pairs beyond the reach and pairs with ``eps = 0`` get
    a ``z`` beyond the table (a ``Continuous2DFunction`` is zero there, at almost no cost),
    the latter also a harmless ``x``.
    The energy is divided by ``step(y_max - y)``: a width beyond the table is never
    evaluated silently (the energy becomes infinite or NaN). With ``exact_at_zero`` the
    width-0 core uses the analytic affine regularized LJ; beyond the core, width 0 is the
    plain LJ ``4 x^-6 (x^-6 - 1)`` in any case (the series at ``q = 0``).
    """
    guard = guard_term(width_max_parameter(width_parameter))
    table = f"{TABLE_NAME}(gz, gp)"
    if exact_at_zero:
        a, b = lj_affine_coefficients(grid.r_core)
        table = f"select(gy, {table}, {a!r} + {b!r}*gx)"
    a6, a12 = series_coefficients(grid)
    return [
        f"{eps}*select(gfar, gser, {table})/{guard}",
        "gser = 4*gi6*(gi6*gs12 - gs6)",
        f"gs12 = {_horner(a12, 'gq')}",
        f"gs6 = {_horner(a6, 'gq')}",
        "gq = gy*gy*gi2",
        "gi6 = gi2*gi2*gi2",
        "gi2 = 1/(gxs*gxs)",
        f"gxs = select({eps}, gx, 1)",
        # beyond the reach and without LJ: z out of the table's range, where it costs ~0
        f"gz = select(gfar, {_OUT_OF_TABLE!r}, {grid.z_expression('gu', 'gu*gu')})",
        f"gu = {grid.scale_expression('gx', 'gy')}",
        f"gfar = select({eps}, step(gx - ({grid.reach_expression('gy')})), 1)",
        "gp = sqrt(gy)",
        f"gx = {x}",
        f"gy = {y}",
    ]


def coulomb_terms(
    prefactor: str, r: str, width_parameter: str, krf: float = 0.0, crf: float = 0.0
) -> tuple[str, list[str]]:
    """The smoothed Coulomb term to append to the energy, and its sub-expressions.

    ``erf(r / 2w) / r`` is written ``erf(u) / u / 2w`` with ``u = r / 2w`` and the limit
    ``2 / sqrt(pi)`` at ``u = 0``, finite at ``r = 0`` for ``w > 0``. At width 0 a floor
    of 1e-10 nm keeps ``erf`` defined (``erf(r / 2e-10) = 1`` beyond 1e-9 nm: plain 1/r).
    """
    terms = "gcoul"
    if krf != 0.0 or crf != 0.0:
        terms += f" + {krf!r}*{r}^2 - {crf!r}"
    return f" + {ONE_4PI_EPS0!r}*{prefactor}*({terms})", [
        f"gcoul = select(gu, erf(gu)/gu, {_TWO_OVER_SQRT_PI!r})/(2*gwc)",
        f"gu = {r}/(2*gwc)",
        f"gwc = max({width_parameter}, {_NAN_GUARD_FLOOR!r})",
    ]


def coulomb_max_parameter(width_parameter: str = WIDTH_PARAMETER) -> str:
    """Name of the (constant) global parameter: largest width (nm) of the Coulomb correction."""
    return f"{width_parameter}_max_coulomb"


ERFC_TABLE_NAME = "gausslj_erfc"
"""Name of the tabulated ``erfc(u)`` inside the forces carrying the Coulomb correction."""

ERFC_U_MAX = 5.0
"""The ``erfc`` table ends at ``u = r / 2w = 5`` (``erfc(5) = 1.5e-12``); it is 0 beyond."""


def coulomb_correction_terms(
    prefactor: str, r: str, width_parameter: str, cutoff: float | None = None
) -> tuple[str, list[str]]:
    """``-ONE_4PI_EPS0 * qq * erfc(r / 2w) / r``: the term to append and its sub-expressions.

    Added to an exact Coulomb pair term (``qq / r``, reaction field or PME, all of which
    share the ``1/r`` singular part) it gives the Gaussian-smoothed ``qq erf(r / 2w) / r``.
    ``erfc`` is the tabulated :data:`ERFC_TABLE_NAME` (:func:`erfc_table_function`): zero,
    and nearly free, beyond ``u = 5``, i.e. for all but the closest pairs (Lepton's ``erfc``
    costs as much as the whole LJ). The correction fits inside a cutoff ``rc`` for
    ``w <= rc / 8`` (``erfc(4) = 1.5e-8``); beyond that width (the constant global parameter
    :func:`coulomb_max_parameter`) the energy is divided by zero (never silently
    truncated). ``cutoff`` (nm) multiplies it by ``step(cutoff - r)`` (a correction cutoff
    shorter than its force's). At width 0 the floor 1e-10 nm puts every real distance
    beyond the table: exactly 0.
    """
    guard = f"step({coulomb_max_parameter(width_parameter)}*{_GUARD_SLACK!r} - {width_parameter})"
    cut = "" if cutoff is None else f"*step({float(cutoff)!r} - {r})"
    return f" - {ONE_4PI_EPS0!r}*{prefactor}*gerfc/{r}/{guard}{cut}", [
        f"gerfc = {ERFC_TABLE_NAME}({r}/(2*gwc))",
        f"gwc = max({width_parameter}, {_NAN_GUARD_FLOOR!r})",
    ]


def coulomb_correction_expression(prefactor: str, r: str, width_parameter: str) -> str:
    """Lepton energy ``-ONE_4PI_EPS0 * qq * erfc(r / 2w) / r`` with Lepton's own ``erfc``.

    For forces that cannot hold a tabulated function (``CustomBondForce``: the few
    exception pairs); otherwise as :func:`coulomb_correction_terms`.
    """
    guard = f"step({coulomb_max_parameter(width_parameter)}*{_GUARD_SLACK!r} - {width_parameter})"
    return (
        f"-{ONE_4PI_EPS0!r}*{prefactor}*erfc({r}/(2*gwc))/{r}/{guard}; "
        f"gwc = max({width_parameter}, {_NAN_GUARD_FLOOR!r})"
    )


def global_defaults(force: mm.Force) -> dict[str, float]:
    """The global parameters of ``force`` and their default values (custom forces and
    ``PythonForce`` alike; empty for a force without any)."""
    if isinstance(force, mm.PythonForce):
        return {str(k): float(v) for k, v in dict(force.getGlobalParameters()).items()}
    if not hasattr(force, "getNumGlobalParameters"):
        return {}
    return {force.getGlobalParameterName(k): float(force.getGlobalParameterDefaultValue(k))
            for k in range(force.getNumGlobalParameters())}


def uses_table(force: mm.Force, parameter: str) -> bool:
    """Whether ``force`` is a smoothed LJ force with the width ``parameter``: a custom force
    carrying the table, or the compiled engine's ``"GaussLJ"`` ``PythonForce``."""
    if isinstance(force, mm.PythonForce):
        return (force.getName() in ("GaussLJ", "GaussLJExceptions")
                and parameter in global_defaults(force))
    if not isinstance(force, (mm.CustomNonbondedForce, mm.CustomCompoundBondForce)):
        return False
    names = {force.getGlobalParameterName(k) for k in range(force.getNumGlobalParameters())}
    tables = {force.getTabulatedFunctionName(k) for k in range(force.getNumTabulatedFunctions())}
    return parameter in names and TABLE_NAME in tables


def smoothed_force_indices(system: mm.System, parameter: str = WIDTH_PARAMETER) -> list[int]:
    """Indices of the forces of ``system`` built by :mod:`openmm_gausslj.forces.lj`."""
    return [k for k in range(system.getNumForces()) if uses_table(system.getForce(k), parameter)]
