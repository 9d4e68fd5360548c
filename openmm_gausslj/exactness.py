"""Exactness you can see: is width 0 the original force field for these coordinates?

At width 0 the smoothed LJ is the *regularized* LJ, affine below ``r_core * sigma_ij``. Any
smoothed pair closer than that (typical of as-built structures: ``Modeller.addSolvent``
boxes, openmmtools' water boxes) makes width 0 differ from the original System, by tens
to thousands of kJ/mol. :func:`exactness_report` finds those pairs in a *smoothed* System
(a neighbour search, ``cKDTree``, O(N log N)) and the energy difference, pair by pair in
closed form (``eps [4 (x^-12 - x^-6) - (a + b x)]``); :func:`warn_if_inexact` turns it into
a ``UserWarning`` naming a few pairs, their count, the difference and the cure (minimize).

Where it runs (docs/openmm.md, "Exactness you can see"): ``smooth_system(positions=)``
(an error there), and once per Context at the first ``GaussLJState.apply_to_context``,
``AnnealedLangevinIntegrator.reset``, ``anneal_simulation`` and ``homotopy_minimize_context``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import openmm as mm
import openmm.unit as unit

from ase_gausslj.core.potential import lj_affine_coefficients

from .contacts import core_contacts
from .forces.compiled import computation_of
from .forces.expressions import WIDTH_PARAMETER, global_defaults, smoothed_force_indices
from .forces.lj_forms import BondLJ, PairLJ

__all__ = ["R_CORE_PARAMETER", "ExactnessReport", "exactness_report", "pair_energy_difference",
           "warn_if_inexact"]

R_CORE_PARAMETER = "gausslj_r_core"
"""Global parameter (unused by the expression) where ``smooth_system`` records ``r_core``."""

_SHOWN = 5


@dataclass
class ExactnessReport:
    """Smoothed LJ pairs inside the core and what they cost at width 0."""

    pairs: list = field(default_factory=list)  # (r / sigma_ij, i, j, r in nm), closest first
    energy_difference: float = 0.0  # E(width 0) - E(original), kJ/mol
    r_core: float = float("nan")

    @property
    def exact(self) -> bool:
        return not self.pairs

    def message(self) -> str:
        x0, i0, j0, r0 = self.pairs[0]
        rest = ", ".join(f"{i}-{j} ({r:.4f} nm, {x:.3f} sigma_ij)"
                         for x, i, j, r in self.pairs[1:_SHOWN])
        more = f" and {len(self.pairs) - _SHOWN} more" if len(self.pairs) > _SHOWN else ""
        also = f"; also {rest}{more}" if rest else ""
        return (f"{len(self.pairs)} smoothed LJ pair(s) inside the regularized core "
                f"(r_core = {self.r_core} sigma_ij): atoms {i0} and {j0} are {r0:.4f} nm "
                f"apart, {x0:.3f} sigma_ij{also}. At width 0 this System differs from the "
                f"original by {self.energy_difference:+.1f} kJ/mol there (the core's affine "
                "wall replaces r^-12). Minimize the structure first (e.g. "
                "simulation.minimizeEnergy() on the original System, or "
                "openmm.LocalEnergyMinimizer at width 0), pass a smaller r_core, or leave "
                "these atoms out of `atoms`")


def _r_core(force: mm.Force) -> float | None:
    return global_defaults(force).get(R_CORE_PARAMETER)


def _pair_form(k: int, f: mm.CustomNonbondedForce) -> tuple[PairLJ, list]:
    names = [f.getPerParticleParameterName(m) for m in range(f.getNumPerParticleParameters())]
    params = np.array([f.getParticleParameters(i) for i in range(f.getNumParticles())])
    types = None
    if "type" in names:
        tabs = {f.getTabulatedFunctionName(m): f.getTabulatedFunction(m)
                for m in range(f.getNumTabulatedFunctions())}
        nt, _, sig = tabs["gausslj_sig"].getFunctionParameters()
        eps = tabs["gausslj_eps"].getFunctionParameters()[2]
        sigma = np.reshape(sig, (nt, nt), order="F")
        epsilon = np.reshape(eps, (nt, nt), order="F")
        types = np.rint(params[:, names.index("type")]).astype(int)
    else:
        sigma, epsilon = params[:, names.index("sigma")], params[:, names.index("epsilon")]
    groups = [tuple(np.array(sorted(s), dtype=np.int64) for s in f.getInteractionGroupParameters(m))
              for m in range(f.getNumInteractionGroups())]
    exclusions = [tuple(f.getExclusionParticles(m)) for m in range(f.getNumExclusions())]
    pair = PairLJ(k, np.asarray(sigma, float), np.asarray(epsilon, float), types, exclusions,
                  f.getNonbondedMethod(), f.getCutoffDistance().value_in_unit(unit.nanometer)
                  if hasattr(f.getCutoffDistance(), "value_in_unit") else f.getCutoffDistance(),
                  None, False, f.getForceGroup())
    return pair, groups


def _bond_form(k: int, f: mm.CustomCompoundBondForce) -> BondLJ:
    names = [f.getPerBondParameterName(m) for m in range(f.getNumPerBondParameters())]
    pairs, sig, eps = [], [], []
    for m in range(f.getNumBonds()):
        (i, j), p = f.getBondParameters(m)
        pairs.append((int(i), int(j)))
        sig.append(p[names.index("sigma")])
        eps.append(p[names.index("epsilon")])
    return BondLJ(k, pairs, np.array(sig), np.array(eps),
                  f.usesPeriodicBoundaryConditions(), f.getForceGroup())


def _forms(system: mm.System, parameter: str):
    pairs, bonds, r_core = [], [], None
    for k in smoothed_force_indices(system, parameter):
        f = system.getForce(k)
        rc = _r_core(f)
        if rc is None:  # built by hand (forces.py), not by smooth_system: core unknown
            continue
        r_core = rc
        if isinstance(f, mm.PythonForce):
            comp = computation_of(f)
            if hasattr(comp, "bond_lj"):
                bonds.append(comp.bond_lj(k, f.getForceGroup()))
            else:
                pairs.append((comp.pair_lj(k, f.getForceGroup()), []))
        elif isinstance(f, mm.CustomNonbondedForce):
            pairs.append(_pair_form(k, f))
        else:
            bonds.append(_bond_form(k, f))
    return pairs, bonds, r_core


def _pair_epsilon(pairs, bonds, i: int, j: int) -> float:
    for b in bonds:  # a 1-4 pair is a bond here (its nonbonded pair is excluded)
        for m, p in enumerate(b.pairs):
            if p == (i, j) or p == (j, i):
                return float(b.epsilon[m])
    for pair, _ in pairs:
        eps = pair.pair_parameters(np.array([i]), np.array([j]))[1]
        if eps[0] > 0:
            return float(eps[0])
    return 0.0


def pair_energy_difference(pairs, bonds, found, r_core: float) -> float:
    """``E(width 0) - E(original)`` (kJ/mol) of the pairs ``found`` inside the core."""
    a, b = lj_affine_coefficients(r_core)
    diff = 0.0
    for x, i, j, _ in found:
        eps = _pair_epsilon(pairs, bonds, i, j)
        diff += eps * ((a + b * x) - 4.0 * (x**-12 - x**-6))
    return diff


def exactness_report(system: mm.System, positions, parameter: str = WIDTH_PARAMETER
                     ) -> ExactnessReport:
    """Pairs of a smoothed ``system`` inside the core at ``positions`` and the width-0 error."""
    pairs, bonds, r_core = _forms(system, parameter)
    if r_core is None:
        return ExactnessReport()
    found = core_contacts(system, pairs, bonds, positions, r_core)
    return ExactnessReport(found, pair_energy_difference(pairs, bonds, found, r_core), r_core)


def _positions_set(pos: np.ndarray) -> bool:
    """False for a Context whose positions were never set (all at the origin)."""
    return len(pos) < 2 or bool(np.any(pos != pos[0]))


def warn_if_inexact(context: mm.Context, parameter: str = WIDTH_PARAMETER,
                    stacklevel: int = 3) -> ExactnessReport | None:
    """Warn (once per Context) if width 0 is not the original at the context's positions."""
    if getattr(context, "_gausslj_exactness_checked", False):
        return None
    pos = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(
        unit.nanometer)
    if not _positions_set(pos):
        return None
    report = exactness_report(context.getSystem(), pos, parameter)
    try:
        context._gausslj_exactness_checked = True
    except AttributeError:  # a proxy that refuses attributes: check again next time
        pass
    if not report.exact:
        warnings.warn(report.message(), UserWarning, stacklevel=stacklevel)
    return report
