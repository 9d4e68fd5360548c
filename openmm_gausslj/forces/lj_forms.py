"""Recognise the Lennard-Jones forms of a force-field ``System`` (and refuse the rest).

Two LJ forms exist in OpenMM force fields:

* ``NonbondedForce``: per-particle sigma/epsilon (Lorentz-Berthelot) and exceptions with
  their own sigma/epsilon (1-4 pairs); charges in the same force;
* CHARMM (``charmm36.xml`` through ``app.ForceField``): a ``CustomNonbondedForce``
  ``acoef(type1, type2)/r^12 - bcoef(type1, type2)/r^6`` with per-type-pair tables (NBFIX),
  ``sigma_ij^6 = A / B``, ``eps_ij = B^2 / (4 A)``, plus a ``CustomBondForce``
  ``c*epsilon*((sigma/r)^12-(sigma/r)^6)`` for the 1-4 pairs (``c = 4 * lj14scale``).

Anything else that carries LJ (any other ``CustomNonbondedForce``, a bond force with
``sigma``/``epsilon`` parameters in another form such as openmmtools' alchemical softcore,
``AmoebaVdwForce``, or forces already smoothed) is a ``ValueError`` naming the force: never a
silent no-op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import openmm as mm
import openmm.unit as unit

from ..inputs import charges_array

__all__ = ["PairLJ", "BondLJ", "read_lj_forms", "NB_METHODS"]

_NB = mm.NonbondedForce
_CNB = mm.CustomNonbondedForce
NB_METHODS = {
    _NB.NoCutoff: _CNB.NoCutoff,
    _NB.CutoffNonPeriodic: _CNB.CutoffNonPeriodic,
    _NB.CutoffPeriodic: _CNB.CutoffPeriodic,
    _NB.Ewald: _CNB.CutoffPeriodic,
    _NB.PME: _CNB.CutoffPeriodic,
}
_E2 = unit.elementary_charge**2
_CHARMM_PAIR = "acoef(type1,type2)/r^12-bcoef(type1,type2)/r^6"
_CHARMM_14 = re.compile(r"^([0-9.eE+-]+)\*epsilon\*\(\(sigma/r\)\^12-\(sigma/r\)\^6\)$")


def _squash(expr: str) -> str:
    return re.sub(r"\s+", "", expr).rstrip(";")


@dataclass
class PairLJ:
    """The pair LJ of one nonbonded force, with its cutoff semantics.

    ``types is None``: per-particle Lorentz-Berthelot ``sigma``/``epsilon``. Otherwise
    ``sigma``/``epsilon`` are ``(ntypes, ntypes)`` tables indexed by ``types``.
    """

    index: int
    sigma: np.ndarray
    epsilon: np.ndarray
    types: np.ndarray | None
    exclusions: list[tuple[int, int]]
    method: int
    cutoff: float
    switch: float | None
    long_range: bool
    group: int

    @property
    def n(self) -> int:
        return len(self.sigma) if self.types is None else len(self.types)

    def pair_parameters(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(sigma_ij, eps_ij)`` of particle pairs."""
        if self.types is None:
            return (0.5 * (self.sigma[i] + self.sigma[j]),
                    np.sqrt(self.epsilon[i] * self.epsilon[j]))
        ti, tj = self.types[i], self.types[j]
        return self.sigma[ti, tj], self.epsilon[ti, tj]

    def min_sigma(self) -> float:
        """Smallest sigma_ij over pairs with eps_ij > 0 (inf if none)."""
        if self.types is None:
            real = self.epsilon > 0
            return float(self.sigma[real].min()) if np.any(real) else np.inf
        used = np.unique(self.types)
        sub_e = self.epsilon[np.ix_(used, used)]
        sub_s = self.sigma[np.ix_(used, used)]
        return float(sub_s[sub_e > 0].min()) if np.any(sub_e > 0) else np.inf


@dataclass
class BondLJ:
    """Explicit LJ pairs (1-4) with their own sigma/epsilon (effective, prefactor folded)."""

    index: int
    pairs: list[tuple[int, int]]
    sigma: np.ndarray
    epsilon: np.ndarray
    periodic: bool
    group: int


@dataclass
class LJForms:
    """What :func:`read_lj_forms` found: the NonbondedForce(s) and the LJ carriers."""

    nonbonded: list[int] = field(default_factory=list)
    pairs: list[PairLJ] = field(default_factory=list)
    bonds: list[BondLJ] = field(default_factory=list)


def _describe(k: int, force: mm.Force) -> str:
    return f"force {k} ({type(force).__name__} {force.getName()!r})"


def nonbonded_pair_lj(k: int, nb: mm.NonbondedForce) -> tuple[PairLJ, BondLJ, np.ndarray, list]:
    """PairLJ, the LJ exceptions, the charges and all exceptions ``(i, j, qq, sig, eps)``."""
    n = nb.getNumParticles()
    q, sig, eps = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        qi, si, ei = nb.getParticleParameters(i)
        q[i] = qi.value_in_unit(unit.elementary_charge)
        sig[i] = si.value_in_unit(unit.nanometer)
        eps[i] = ei.value_in_unit(unit.kilojoule_per_mole)
    exc = []
    for m in range(nb.getNumExceptions()):
        i, j, qq, s, e = nb.getExceptionParameters(m)
        exc.append((i, j, qq.value_in_unit(_E2), s.value_in_unit(unit.nanometer),
                    e.value_in_unit(unit.kilojoule_per_mole)))
    # refused here like a NaN sigma (forces.py): OpenMM would return NaN energies
    charges_array(q, f"charges of {_describe(k, nb)}")
    charges_array(np.array([x[2] for x in exc]),
                  f"exception charge products of {_describe(k, nb)}")
    method = NB_METHODS[nb.getNonbondedMethod()]
    cutoff = nb.getCutoffDistance().value_in_unit(unit.nanometer)
    switch = (nb.getSwitchingDistance().value_in_unit(unit.nanometer)
              if nb.getUseSwitchingFunction() and method != _CNB.NoCutoff else None)
    pair = PairLJ(k, sig, eps, None, [(i, j) for i, j, *_ in exc], method, cutoff, switch,
                  bool(method == _CNB.CutoffPeriodic and nb.getUseDispersionCorrection()),
                  nb.getForceGroup())
    lj_exc = [x for x in exc if x[4] != 0.0]
    bonds = BondLJ(k, [(x[0], x[1]) for x in lj_exc], np.array([x[3] for x in lj_exc]),
                   np.array([x[4] for x in lj_exc]),
                   bool(method == _CNB.CutoffPeriodic
                        and nb.getExceptionsUsePeriodicBoundaryConditions()),
                   nb.getForceGroup())
    return pair, bonds, q, exc


def _check_nonbonded(k: int, nb: mm.NonbondedForce) -> None:
    what = _describe(k, nb)
    if nb.getNonbondedMethod() == _NB.LJPME:
        raise ValueError(f"{what} uses LJPME; smooth_system supports only cutoff LJ")
    kinds = (
        ("particle", nb.getNumParticleParameterOffsets, nb.getParticleParameterOffset),
        ("exception", nb.getNumExceptionParameterOffsets, nb.getExceptionParameterOffset),
    )
    for kind, count, get in kinds:
        for m in range(count()):
            param, idx, _, ss, es = get(m)
            if ss != 0.0 or es != 0.0:
                raise ValueError(
                    f"{what}: {kind} parameter offset {m} ({param!r}, {kind} {idx}) changes "
                    "sigma/epsilon; the smoothed LJ has no per-parameter offsets (charge "
                    "offsets are kept)"
                )


def _charmm_pair_lj(k: int, f: mm.CustomNonbondedForce) -> PairLJ:
    what = _describe(k, f)
    tabs = {f.getTabulatedFunctionName(m): f.getTabulatedFunction(m)
            for m in range(f.getNumTabulatedFunctions())}
    ok = (_squash(f.getEnergyFunction()) == _CHARMM_PAIR and set(tabs) == {"acoef", "bcoef"}
          and f.getNumPerParticleParameters() == 1 and f.getNumGlobalParameters() == 0
          and f.getNumComputedValues() == 0 and f.getNumInteractionGroups() == 0
          and all(isinstance(t, mm.Discrete2DFunction) for t in tabs.values()))
    if not ok:
        raise ValueError(
            f"{what} is a CustomNonbondedForce that smooth_system does not recognise (energy "
            f"{f.getEnergyFunction()!r}); only NonbondedForce and the CHARMM form "
            f"'{_CHARMM_PAIR}' with Discrete2DFunction tables are smoothed, so this force "
            "would stay unsmoothed: remove it or express its LJ in a recognised form"
        )
    nx, _, a = tabs["acoef"].getFunctionParameters()
    _, _, b = tabs["bcoef"].getFunctionParameters()
    a = np.asarray(a, dtype=np.float64).reshape(nx, nx)
    b = np.asarray(b, dtype=np.float64).reshape(nx, nx)
    if np.any((a > 0) != (b > 0)) or np.any(a < 0) or np.any(b < 0):
        raise ValueError(f"{what}: an A/B pair is not a Lennard-Jones pair (A, B > 0 or both 0)")
    real = a > 0
    sig = np.ones_like(a)
    eps = np.zeros_like(a)
    sig[real] = (a[real] / b[real]) ** (1.0 / 6.0)
    eps[real] = b[real] ** 2 / (4.0 * a[real])
    types = np.array([int(round(f.getParticleParameters(i)[0]))
                      for i in range(f.getNumParticles())])
    method = f.getNonbondedMethod()
    return PairLJ(k, sig, eps, types,
                  [tuple(f.getExclusionParticles(m)) for m in range(f.getNumExclusions())],
                  method, f.getCutoffDistance().value_in_unit(unit.nanometer),
                  (f.getSwitchingDistance().value_in_unit(unit.nanometer)
                   if f.getUseSwitchingFunction() else None),
                  bool(f.getUseLongRangeCorrection()), f.getForceGroup())


def _lj_bond(k: int, f: mm.Force) -> BondLJ | None:
    """The CHARMM 1-4 CustomBondForce, None for bond forces without LJ; else ValueError."""
    names = {f.getPerBondParameterName(m) for m in range(f.getNumPerBondParameters())}
    match = _CHARMM_14.match(_squash(f.getEnergyFunction()))
    if isinstance(f, mm.CustomBondForce) and match and names == {"sigma", "epsilon"} \
            and f.getNumGlobalParameters() == 0:
        scale = float(match.group(1)) / 4.0
        pairs, sig, eps = [], [], []
        for m in range(f.getNumBonds()):
            i, j, (s, e) = f.getBondParameters(m)
            pairs.append((i, j))
            sig.append(s)
            eps.append(scale * e)
        return BondLJ(k, pairs, np.array(sig), np.array(eps),
                      f.usesPeriodicBoundaryConditions(), f.getForceGroup())
    if names & {"sigma", "epsilon"}:
        raise ValueError(
            f"{_describe(k, f)} has per-bond sigma/epsilon but not the CHARMM 1-4 form "
            f"'4*epsilon*((sigma/r)^12-(sigma/r)^6)' (energy {f.getEnergyFunction()!r}); "
            "smooth_system would leave its LJ unsmoothed"
        )
    return None


def read_lj_forms(system: mm.System) -> LJForms:
    """Every LJ carrier of ``system``; ``ValueError`` for any LJ it cannot smooth."""
    out = LJForms()
    for k, f in enumerate(system.getForces()):
        if f.getName().startswith("GaussLJ"):
            raise ValueError(f"{_describe(k, f)} is already smoothed; pass the original System")
        if isinstance(f, _NB):
            _check_nonbonded(k, f)
            out.nonbonded.append(k)
        elif isinstance(f, mm.CustomNonbondedForce):
            out.pairs.append(_charmm_pair_lj(k, f))
        elif isinstance(f, (mm.CustomBondForce, mm.CustomCompoundBondForce)):
            bond = _lj_bond(k, f)
            if bond is not None:
                out.bonds.append(bond)
        elif type(f).__name__ in ("AmoebaVdwForce", "AmoebaMultipoleForce"):
            raise ValueError(f"{_describe(k, f)} is not supported by smooth_system")
    if not out.nonbonded and not out.pairs:
        raise ValueError("system has no NonbondedForce (or CHARMM LJ force) to smooth")
    return out
