"""Smoothed Coulomb for force-field Systems, as a correction to the exact electrostatics.

The Gaussian-smoothed Coulomb pair term is ``qq erf(r / 2w) / r = qq / r - qq erfc(r / 2w) / r``.
Every electrostatics method of ``NonbondedForce`` (NoCutoff, reaction field, Ewald, PME) and
every exception (plain ``qq / r``) shares the singular part ``qq / r``, so the smoothing is
one short-ranged *correction* ``-qq erfc(r / 2w) / r`` added next to the untouched
``NonbondedForce``:

* no long-range correction and no switching function (the correction is not LJ; putting
  it into the LJ force made OpenMM integrate ``krf r^2 - crf`` to infinity and abort);
* zero at width 0 (exact, whatever the method);
* inside a cutoff ``rc`` it needs ``w <= rc / 8`` (``erfc(4) = 1.5e-8``): a larger width is
  refused by the state/integrators and divides the energy by zero in OpenMM.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import openmm as mm

from .expressions import (
    ERFC_TABLE_NAME,
    ERFC_U_MAX,
    SAFE_R,
    WIDTH_PARAMETER,
    coulomb_correction_expression,
    coulomb_correction_terms,
    coulomb_max_parameter,
)

__all__ = [
    "COULOMB_NAME",
    "COULOMB_EXCEPTIONS_NAME",
    "NO_COULOMB_LIMIT",
    "coulomb_width_limit",
    "coulomb_correction_force",
    "coulomb_exception_force",
    "erfc_table_function",
    "CoulombCorrection",
    "ERFC_NODES",
]

COULOMB_NAME = "GaussLJCoulomb"
COULOMB_EXCEPTIONS_NAME = "GaussLJCoulombExceptions"
NO_COULOMB_LIMIT = 1.0e6  # nm; the guard value when nothing truncates the correction
_ERFC_REACH = 8.0  # erfc(rc / 2w) <= erfc(4) = 1.5e-8 for w <= rc / 8
ERFC_NODES = 401
"""Nodes of the ``erfc`` table on ``[0, 5]``: natural cubic spline error below 1e-8
(``h^4 max|erfc| * 5/384``, h = 0.0125), tested against ``math.erfc``."""


def erfc_table_function(nodes: int = ERFC_NODES) -> mm.Continuous1DFunction:
    """``erfc(u)`` on ``[0, ERFC_U_MAX]`` as a ``Continuous1DFunction`` (zero beyond).

    ``erfc'' = 0`` at ``u = 0`` and ``~0`` at ``u = 5``: the natural spline's end conditions
    hold, so uniform nodes suffice.
    """
    u = np.linspace(0.0, ERFC_U_MAX, int(nodes))
    # full precision: 401 values are ~15 kB of XML, and rounding would cost 5e-8 of qq / r
    return mm.Continuous1DFunction([math.erfc(v) for v in u], 0.0, ERFC_U_MAX)


def coulomb_width_limit(method: int, cutoff: float) -> float:
    """Largest width (nm) the correction represents: ``cutoff / 8`` with a cutoff."""
    if method == mm.CustomNonbondedForce.NoCutoff:
        return NO_COULOMB_LIMIT
    return float(cutoff) / _ERFC_REACH


@dataclass(frozen=True)
class CoulombCorrection:
    """The smoothed-Coulomb correction to carry inside a smoothed LJ pair force.

    ``charges`` (e, per particle), ``limit`` (nm: the largest width, ``cutoff / 8`` of the
    correction), ``cutoff`` (nm, or None: the force's own), for
    :func:`openmm_gausslj.forces.lj.smoothed_lj_force`.
    """

    charges: np.ndarray
    limit: float
    cutoff: float | None = None

    def add_to(self, force: mm.CustomNonbondedForce, width: float, width_parameter: str):
        """Add the correction's table and constant width limit to ``force``."""
        force.addTabulatedFunction(ERFC_TABLE_NAME, erfc_table_function())
        force.addGlobalParameter(coulomb_max_parameter(width_parameter), self.limit)


def _add_width_parameters(force, width: float, limit: float, width_parameter: str) -> None:
    force.addGlobalParameter(width_parameter, width)
    force.addGlobalParameter(coulomb_max_parameter(width_parameter), limit)


def coulomb_correction_force(
    charges: np.ndarray,
    exclusions: Sequence[tuple[int, int]],
    *,
    method: int,
    cutoff: float,
    width: float = 0.0,
    groups: Sequence[tuple[Sequence[int], Sequence[int]]] = (),
    width_parameter: str = WIDTH_PARAMETER,
) -> mm.CustomNonbondedForce:
    """``CustomNonbondedForce`` with ``-ONE_4PI_EPS0 q_i q_j erfc(r / 2w) / r`` per pair.

    Parameters
    ----------
    charges : ndarray
        Per-particle charges (e), as in the ``NonbondedForce`` it corrects.
    exclusions : sequence of (int, int)
        Every exception of that ``NonbondedForce`` (handled by
        :func:`coulomb_exception_force`).
    method, cutoff : int, float
        ``CustomNonbondedForce`` method and cutoff (nm) matching the ``NonbondedForce``.
    width : float
        Initial width (nm), already checked by the caller.
    groups : sequence of (atoms, atoms)
        Interaction groups (region selection); empty = every pair.
    width_parameter : str
        The width's global parameter.
    """
    term, extra = coulomb_correction_terms("charge1*charge2", "gr", width_parameter)
    force = mm.CustomNonbondedForce("; ".join([term.replace(" - ", "-", 1).lstrip()] + extra
                                              + [SAFE_R]))
    force.setName(COULOMB_NAME)
    force.addTabulatedFunction(ERFC_TABLE_NAME, erfc_table_function())
    _add_width_parameters(force, width, coulomb_width_limit(method, cutoff), width_parameter)
    force.addPerParticleParameter("charge")
    for q in charges:
        force.addParticle([float(q)])
    for i, j in exclusions:
        force.addExclusion(int(i), int(j))
    force.setNonbondedMethod(method)
    if method != mm.CustomNonbondedForce.NoCutoff:
        force.setCutoffDistance(float(cutoff))
    for a, b in groups:
        force.addInteractionGroup([int(i) for i in a], [int(i) for i in b])
    return force


def coulomb_exception_force(
    pairs: Sequence[tuple[int, int]],
    charge_products: Sequence[float],
    *,
    width: float = 0.0,
    periodic: bool = False,
    width_parameter: str = WIDTH_PARAMETER,
) -> mm.CustomBondForce:
    """``CustomBondForce`` with ``-ONE_4PI_EPS0 qq erfc(r / 2w) / r`` per exception (1-4 pair).

    Exceptions are plain ``qq / r`` in every ``NonbondedForce`` method (no cutoff), so the
    correction has no width limit.
    """
    force = mm.CustomBondForce(coulomb_correction_expression("chargeprod", "r", width_parameter))
    force.setName(COULOMB_EXCEPTIONS_NAME)
    _add_width_parameters(force, width, NO_COULOMB_LIMIT, width_parameter)
    force.addPerBondParameter("chargeprod")
    for (i, j), qq in zip(pairs, charge_products, strict=True):
        force.addBond(int(i), int(j), [float(qq)])
    force.setUsesPeriodicBoundaryConditions(bool(periodic))
    return force
