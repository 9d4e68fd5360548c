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

from ..inputs import (
    charges_array,
    check_parameter_name,
    index_pairs,
    per_particle,
    scalar_float,
    to_kj,
    to_nm,
    width_nm,
)
from ..inputs import (
    nonbonded_method as as_nonbonded_method,
)
from .coulomb import CoulombCorrection
from .expressions import (
    SAFE_R,
    WIDTH_PARAMETER,
    coulomb_correction_terms,
    coulomb_terms,
    reduced_expression,
    width_max_parameter,
)
from .table import (
    DEFAULT_GRID,
    TABLE_NAME,
    TableGrid,
    make_table_function,
)

__all__ = [
    "smoothed_lj_force",
    "smoothed_lj_bond_force",
    "smoothed_lj_type_force",
    "set_cutoff",
    "safe_sigmas",
    "table_width_limit",
]

_NO_LJ_SIGMA = 1.0e3  # nm; sigma of LJ-less particles when no particle has LJ (y stays tiny)


def safe_sigmas(sigma: np.ndarray, epsilon: np.ndarray, name: str = "sigma") -> np.ndarray:
    """Sigmas with those of ``epsilon == 0`` particles (or pairs) replaced by a harmless value.

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
        raise ValueError(f"{name} must be > 0 where epsilon > 0 (index {i})")
    sigma[~real] = 2.0 * float(sigma[real].max()) if np.any(real) else _NO_LJ_SIGMA
    return sigma


def table_width_limit(sigma: np.ndarray, grid: TableGrid) -> tuple[float, str]:
    """Largest width (nm) the table covers for these (safe) sigmas, and where it comes from."""
    smin = float(np.min(sigma)) if len(sigma) else np.inf
    return grid.width_max * smin, (
        f"nm: the table's width_max {grid.width_max!r} times the smallest sigma "
        f"{smin!r} nm of this system"
    )


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


def _particle_arrays(sigma, epsilon, charges):
    """Per-particle (sigma, epsilon, charges or None), all of one length."""
    q = None if charges is None else charges_array(charges)
    n, other = (q.size, "charges") if q is not None else (None, "")
    if n is None and np.ndim(to_nm(sigma, "sigma")) == 1:
        n, other = len(to_nm(sigma, "sigma")), "sigma"
    eps = per_particle(epsilon, n, "epsilon", to_kj, other=other)
    sig = per_particle(sigma, eps.size, "sigma", to_nm, other=other or "epsilon")
    return safe_sigmas(sig, eps), eps, q


def _reaction_field(method: int, cutoff: float, dielectric) -> tuple[float, float]:
    """``(krf, crf)`` of OpenMM's reaction field (zero without a cutoff)."""
    if method == mm.CustomNonbondedForce.NoCutoff:
        return 0.0, 0.0
    e = scalar_float(dielectric, None, "reaction_field_dielectric", minimum=0.0, strict=True)
    return (e - 1.0) / (2.0 * e + 1.0) / cutoff**3, 3.0 * e / (2.0 * e + 1.0) / cutoff


def set_cutoff(force: mm.CustomNonbondedForce, method: int, cutoff: float,
               switch_distance=None, use_long_range_correction: bool = False) -> None:
    """Cutoff, switching function and long-range correction of a CustomNonbondedForce.

    The one place both :func:`smoothed_lj_force` (user arguments) and
    :func:`~openmm_gausslj.smooth_system` (copied from the force it replaces) set them;
    nothing is set for NoCutoff.
    """
    force.setNonbondedMethod(method)
    if method == mm.CustomNonbondedForce.NoCutoff:
        return
    force.setCutoffDistance(cutoff)
    if switch_distance is not None:
        rs = scalar_float(switch_distance, unit.nanometer, "switch_distance", minimum=0.0)
        if not rs < cutoff:
            raise ValueError(f"switch_distance ({rs}) must be < cutoff ({cutoff})")
        force.setUseSwitchingFunction(True)
        force.setSwitchingDistance(rs)
    if use_long_range_correction:
        if method != mm.CustomNonbondedForce.CutoffPeriodic:
            raise ValueError("use_long_range_correction requires CutoffPeriodic")
        force.setUseLongRangeCorrection(True)


def _pair_expression(grid, width_parameter, exact_at_zero, reaction_field, correction) -> str:
    """The CustomNonbondedForce energy: LJ, plus Coulomb when ``reaction_field`` is given,
    plus the smoothed-Coulomb correction when ``correction`` is given (one pair loop)."""
    lines = reduced_expression(
        "geps", "gr/gsig", f"{width_parameter}/gsig", grid, width_parameter, exact_at_zero
    )
    if reaction_field is not None:
        term, extra = coulomb_terms("charge1*charge2", "gr", width_parameter, *reaction_field)
        lines[0] += term
        lines += extra
    if correction is not None:
        term, extra = coulomb_correction_terms("charge1*charge2", "gr", width_parameter,
                                               correction.cutoff)
        lines[0] += term
        lines += extra
    lines += ["geps = sqrt(epsilon1*epsilon2)", "gsig = 0.5*(sigma1 + sigma2)", SAFE_R]
    return "; ".join(lines)


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
    coulomb_correction: CoulombCorrection | None = None,
) -> mm.CustomNonbondedForce:
    """A ``CustomNonbondedForce`` for the smoothed LJ pair energy ``eps_ij F(r/sig_ij, w/sig_ij)``.

    Parameters
    ----------
    sigma, epsilon : array_like or Quantity
        Per-particle LJ parameters (nm, kJ/mol), combined by Lorentz-Berthelot; one may be
        a scalar, broadcast to the other's (or ``charges``') length. Particles with
        ``epsilon = 0`` get a harmless sigma.
    width : float or Quantity
        Initial value of the global parameter ``width_parameter`` (nm), at most the
        table's range ``grid.width_max * min(sigma)`` (``ValueError`` beyond).
    nonbonded_method : str or int
        ``"NoCutoff"``, ``"CutoffNonPeriodic"``, ``"CutoffPeriodic"`` or the constant.
    cutoff, switch_distance : float or Quantity
        Cutoff (nm; LJ truncated, not shifted, as in ``NonbondedForce``) and, if given,
        the start of OpenMM's switching function; both ignored for NoCutoff.
    use_long_range_correction : bool
        OpenMM's numerical long-range correction (CutoffPeriodic only), recomputed every
        time the width changes: cheap for a few particle classes, slow for many.
    exclusions : iterable of (int, int)
        Excluded pairs.
    charges : array_like or Quantity, optional
        If given, the smoothed Coulomb ``q_i q_j erf(r / 2w) / r`` (plus the reaction-field
        terms ``krf r^2 - crf`` with a cutoff, as ``NonbondedForce``) is added, with
        ``reaction_field_dielectric`` (> 0).
    width_parameter : str
        Name of the global width parameter.
    grid : TableGrid
        Table grid (its ``width_max`` is the largest reduced width, ``r_core`` the core).
    exact_at_zero : bool
        At width exactly 0 use the analytic regularized LJ instead of the table, so the
        force reproduces ``NonbondedForce`` LJ to rounding (a few flops per pair).
    table_function : openmm.Continuous2DFunction, optional
        A prebuilt table for ``grid`` (from :func:`make_table_function`).
    coulomb_correction : CoulombCorrection, optional
        Also carry ``-ONE_4PI_EPS0 q_i q_j erfc(r / 2w) / r`` (the correction that smooths
        an exact ``NonbondedForce``'s Coulomb, :mod:`openmm_gausslj.forces.coulomb`) in the same
        pair loop; not with ``charges``.

    Returns
    -------
    openmm.CustomNonbondedForce
        Per-particle parameters ``sigma``, ``epsilon`` (and ``charge``); global parameters
        ``width_parameter`` and its ``_max_reduced`` companion (a constant).

    Notes
    -----
    Coincident particles (r = 0) get a finite energy, but OpenMM's nonbonded kernels
    divide dE/dr by r, so their forces are NaN on every platform (see ``docs/openmm.md``).
    """
    if coulomb_correction is not None:
        if charges is not None:
            raise ValueError("give charges or coulomb_correction, not both")
        charges = coulomb_correction.charges
    sig, eps, q = _particle_arrays(sigma, epsilon, charges)
    limit, where = table_width_limit(sig, grid)
    w0 = width_nm(width, "width", maximum=limit, limit_name=where)
    method = as_nonbonded_method(nonbonded_method)
    rc = scalar_float(cutoff, unit.nanometer, "cutoff", minimum=0.0, strict=True)
    rf = (None if q is None or coulomb_correction is not None
          else _reaction_field(method, rc, reaction_field_dielectric))
    force = _pair_force(sig, eps, q, w0, check_parameter_name(width_parameter), grid,
                        exact_at_zero, table_function, rf, coulomb_correction)
    for i, j in index_pairs(exclusions, eps.size, "exclusions"):
        force.addExclusion(i, j)
    set_cutoff(force, method, rc, switch_distance, use_long_range_correction)
    return force


def _pair_force(sig, eps, q, w0: float, width_parameter: str, grid: TableGrid,
                exact_at_zero: bool, table_function, rf, correction) -> mm.CustomNonbondedForce:
    """The "GaussLJ" pair force with its parameters and particles (checked arguments)."""
    force = mm.CustomNonbondedForce(_pair_expression(
        grid, width_parameter, exact_at_zero, rf, correction))
    force.setName("GaussLJ")
    _add_common_parameters(
        force, force.addPerParticleParameter, "charge" if q is not None else None,
        width_parameter, w0, grid, table_function,
    )
    if correction is not None:
        correction.add_to(force, w0, width_parameter)
    for i in range(eps.size):
        force.addParticle([sig[i], eps[i]] if q is None else [sig[i], eps[i], q[i]])
    return force


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
    cutoff, no reaction field). ``width`` is checked against the table's range for the
    pairs with ``epsilon > 0``; ``exact_at_zero`` and ``table_function`` as in
    :func:`smoothed_lj_force`. Coincident pairs (r = 0) get a finite energy and zero force.
    """
    pairs = index_pairs(pairs, None, "pairs")
    m = len(pairs)
    eps = per_particle(epsilon, m, "epsilon", to_kj, other="pairs")
    sig = safe_sigmas(per_particle(sigma, m, "sigma", to_nm, other="pairs"), eps)
    limit, where = table_width_limit(sig, grid)
    w0 = width_nm(width, "width", maximum=limit, limit_name=where)
    check_parameter_name(width_parameter)
    lines = reduced_expression(
        "epsilon", "gr/sigma", f"{width_parameter}/sigma", grid, width_parameter, exact_at_zero
    )
    qq = None
    if charge_products is not None:
        qq = charges_array(charge_products, "charge_products", unit.elementary_charge**2)
        if qq.size != m:
            raise ValueError(f"charge_products must have shape ({m},) (one per pair), "
                             f"got {qq.shape}")
        term, extra = coulomb_terms("chargeprod", "gr", width_parameter)
        lines[0] += term
        lines += extra
    lines.append("gr = distance(p1, p2)")
    force = mm.CustomCompoundBondForce(2, "; ".join(lines))
    force.setName("GaussLJExceptions")
    _add_common_parameters(
        force, force.addPerBondParameter, "chargeprod" if qq is not None else None,
        width_parameter, w0, grid, table_function,
    )
    for k, (i, j) in enumerate(pairs):
        force.addBond([i, j], [sig[k], eps[k]] if qq is None else [sig[k], eps[k], qq[k]])
    force.setUsesPeriodicBoundaryConditions(bool(periodic))
    return force


def smoothed_lj_type_force(
    types: Sequence[int],
    sigma_table: np.ndarray,
    epsilon_table: np.ndarray,
    *,
    width: float = 0.0,
    width_parameter: str = WIDTH_PARAMETER,
    grid: TableGrid = DEFAULT_GRID,
    exact_at_zero: bool = True,
    table_function: mm.Continuous2DFunction | None = None,
) -> mm.CustomNonbondedForce:
    """The smoothed LJ with per-type-pair ``sigma``/``epsilon`` tables (CHARMM, NBFIX).

    ``types[i]`` indexes the symmetric ``(ntypes, ntypes)`` tables (nm, kJ/mol) through
    ``Discrete2DFunction`` s; type pairs with ``epsilon = 0`` get a harmless sigma. The
    caller sets the cutoff, exclusions and interaction groups (as for the force it
    replaces); ``width`` must already be checked against ``grid.width_max * min sigma``.
    """
    eps = np.asarray(epsilon_table, dtype=np.float64)
    sig = np.asarray(sigma_table, dtype=np.float64).copy()
    nt = eps.shape[0]
    if eps.shape != (nt, nt) or sig.shape != (nt, nt):
        raise ValueError(f"sigma_table and epsilon_table must be square, got {sig.shape}, "
                         f"{eps.shape}")
    sig.ravel()[:] = safe_sigmas(sig.ravel(), eps.ravel(), "sigma_table")
    lines = reduced_expression("geps", "gr/gsig", f"{width_parameter}/gsig", grid,
                               width_parameter, exact_at_zero)
    lines += ["geps = gausslj_eps(gtype1, gtype2)", "gsig = gausslj_sig(gtype1, gtype2)",
              "gtype1 = type1", "gtype2 = type2", SAFE_R]
    force = mm.CustomNonbondedForce("; ".join(lines))
    force.setName("GaussLJ")
    force.addGlobalParameter(width_parameter, float(width))
    force.addGlobalParameter(width_max_parameter(width_parameter), grid.width_max)
    force.addPerParticleParameter("type")
    # Discrete2DFunction is x-fastest: values[i + nt*j] = table[i, j] (tables are symmetric)
    force.addTabulatedFunction("gausslj_eps", mm.Discrete2DFunction(nt, nt, eps.ravel("F")))
    force.addTabulatedFunction("gausslj_sig", mm.Discrete2DFunction(nt, nt, sig.ravel("F")))
    force.addTabulatedFunction(
        TABLE_NAME, make_table_function(grid) if table_function is None else table_function
    )
    for t in types:
        force.addParticle([float(t)])
    return force
