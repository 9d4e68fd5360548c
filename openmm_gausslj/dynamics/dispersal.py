"""Did a smoothed run fall apart? The dispersal check of homotopy and annealing results.

At large widths the smoothed LJ well is shallow (a gas, issue 18): molecules that held
together can drift beyond each other's LJ range, and nothing brings them back at width 0.
:func:`homotopy_minimize_context` and :func:`anneal_simulation` compare the end with the start
and report it in their result (``StageResult.dispersed``, ``.success``) with a
``RuntimeWarning``, never as success:

* **fragments apart**: molecules (connected by bonds, constraints or exceptions) that were
  within ``reach`` (1 nm, beyond LJ range) of each other at the start are split into more
  groups at the end. In a periodic System only molecules of more than 5 particles count
  (solvent and ions diffuse by design);
* **energy far above the start**: the exact (width 0) energy at the end exceeds the
  start's by more than a margin (homotopy: 0, a minimization must not end above where it
  began; annealing: ``3 N k_B T``, twice equipartition).
"""

from __future__ import annotations

import warnings

import numpy as np
import openmm as mm
import openmm.unit as unit
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..contacts import box_nm, pairs_within

__all__ = ["StageResult", "Snapshot", "molecules", "snapshot", "judge", "thermal_margin",
           "REACH_NM"]

REACH_NM = 1.0
"""Two molecules closer than this (nm, beyond the LJ range ~2.5 sigma) are in contact."""

_SOLVENT_MAX = 5  # periodic systems: molecules up to this size are solvent/ions


class StageResult(list):
    """``[(width, energy in kJ/mol)]`` per stage, plus what became of the structure.

    Attributes
    ----------
    success : bool
        False when the run dispersed (see :attr:`message`).
    dispersed : bool
        Fragments drifted apart or the exact energy ended far above the start.
    message : str
        Why, or ``"ok"``.
    energy_start, energy_end : float
        Exact (width 0) potential energies, kJ/mol.
    groups_start, groups_end : int
        Groups of molecules in mutual contact (``REACH_NM``) at the start and the end.
    """

    success: bool = True
    dispersed: bool = False
    message: str = "ok"
    energy_start: float = float("nan")
    energy_end: float = float("nan")
    groups_start: int = 1
    groups_end: int = 1


class Snapshot:
    """Exact energy and contact groups of a context at one moment."""

    def __init__(self, energy: float, groups: int, n: int) -> None:
        self.energy, self.groups, self.n = energy, groups, n


def molecules(system: mm.System) -> list[np.ndarray]:
    """Particle indices of each molecule: bonds, constraints and nonbonded exceptions."""
    n = system.getNumParticles()
    i, j = [], []
    for k in range(system.getNumConstraints()):
        a, b, _ = system.getConstraintParameters(k)
        i.append(a), j.append(b)
    for f in system.getForces():
        if isinstance(f, mm.HarmonicBondForce):
            for k in range(f.getNumBonds()):
                a, b = f.getBondParameters(k)[:2]
                i.append(a), j.append(b)
        elif isinstance(f, mm.NonbondedForce):
            for k in range(f.getNumExceptions()):
                a, b = f.getExceptionParameters(k)[:2]
                i.append(a), j.append(b)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    order = np.argsort(label, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(label[order])) + 1)


def _groups(system: mm.System, pos: np.ndarray, mols: list[np.ndarray]) -> int:
    periodic = system.usesPeriodicBoundaryConditions()
    keep = [m for m in mols if not periodic or len(m) > _SOLVENT_MAX]
    if len(keep) <= 1:
        return len(keep)
    owner = np.concatenate([np.full(len(m), k) for k, m in enumerate(keep)])
    atoms = np.concatenate(keep)
    pairs = pairs_within(pos[atoms], REACH_NM, box_nm(system, periodic))
    a, b = owner[pairs[:, 0]], owner[pairs[:, 1]]
    cross = a != b
    graph = coo_matrix((np.ones(cross.sum()), (a[cross], b[cross])),
                       shape=(len(keep), len(keep)))
    return int(connected_components(graph, directed=False)[0])


def _exact_energy(context: mm.Context, parameter: str) -> float:
    """Potential energy at width 0 (and torsion width 0), the context left as it was."""
    from ..forces.torsions import get_torsion_width, set_torsion_width, torsion_force_indices

    w = context.getParameter(parameter)
    tau = get_torsion_width(context) if torsion_force_indices(context.getSystem()) else 0.0
    context.setParameter(parameter, 0.0)
    if tau:
        set_torsion_width(context, 0.0)
    e = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
        unit.kilojoule_per_mole)
    context.setParameter(parameter, w)
    if tau:
        set_torsion_width(context, tau)
    return float(e)


def snapshot(context: mm.Context, parameter: str, mols=None) -> Snapshot:
    """Exact energy and contact groups of ``context`` now."""
    system = context.getSystem()
    mols = molecules(system) if mols is None else mols
    pos = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(
        unit.nanometer)
    return Snapshot(_exact_energy(context, parameter), _groups(system, pos, mols),
                    system.getNumParticles())


def judge(stages: list, start: Snapshot, end: Snapshot, margin: float,
          what: str) -> StageResult:
    """The result of a run: stages plus the dispersal verdict (warns when dispersed)."""
    out = StageResult(stages)
    out.energy_start, out.energy_end = start.energy, end.energy
    out.groups_start, out.groups_end = start.groups, end.groups
    reasons = []
    if end.groups > start.groups:
        reasons.append(f"molecules drifted apart: {start.groups} group(s) in contact "
                       f"(within {REACH_NM} nm) at the start, {end.groups} at the end")
    rise = end.energy - start.energy
    if not np.isfinite(end.energy) or rise > margin:
        reasons.append(f"the exact energy ended {rise:.1f} kJ/mol above the start "
                       f"({start.energy:.1f} -> {end.energy:.1f}; margin {margin:.1f})")
    if reasons:
        out.dispersed, out.success = True, False
        out.message = f"{what} dispersed: " + "; ".join(reasons) + \
            ". Start narrower (smaller widths) or minimize without smoothing"
        warnings.warn(out.message, RuntimeWarning, stacklevel=3)
    return out


def thermal_margin(context: mm.Context) -> float:
    """``3 N k_B T`` (kJ/mol): twice equipartition, T the integrator's (300 K if unknown)."""
    integ = context.getIntegrator()
    t = 300.0
    if hasattr(integ, "getTemperature"):
        q = integ.getTemperature()
        t = q.value_in_unit(unit.kelvin) if unit.is_quantity(q) else float(q)
    kt = (unit.MOLAR_GAS_CONSTANT_R * t * unit.kelvin).value_in_unit(unit.kilojoule_per_mole)
    return 3.0 * context.getSystem().getNumParticles() * kt
