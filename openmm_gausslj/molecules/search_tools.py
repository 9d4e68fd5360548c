"""Pieces of the conformer search: budget, counted minimization, distinct minima, widths.

Kept apart from :mod:`openmm_gausslj.molecules.conformers` (the search loops) so each stays short.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import openmm as mm
import openmm.unit as unit

from ..forces.expressions import WIDTH_PARAMETER
from ..forces.torsions import (
    TORSION_WIDTH_PARAMETER,
    set_torsion_width,
    smooth_torsions,
    torsion_force_indices,
)
from .stereo import STEREO_FORCE_NAME

#: force evaluations kept free for a quench beyond its iteration limit: once stopped,
#: OpenMM's minimizer still runs its constraint rounds (k grows 10x per round), each
#: reporting at least one more iteration; 7 extra were the most seen on alanine dipeptide
QUENCH_RESERVE = 16

__all__ = ["QUENCH_RESERVE", "Budget", "Conformer", "MinimaSet", "WidthControl", "minimize_counted",
           "heavy_atom_indices", "make_context"]


class Budget:
    """Work counted in force evaluations: MD steps (per replica) + minimizer iterations.

    ``steps`` is an upper bound: a search starts a cycle only when the whole cycle and a
    quench (``QUENCH_RESERVE`` + 1 iterations) fit (:meth:`can_afford`), and a quench
    stops at the steps left minus that reserve. ``cpu_seconds`` (process CPU time) is only
    a cap: a seeded run is repeatable only when the step count ends it.
    """

    def __init__(self, steps: int, cpu_seconds: float | None = None):
        self.steps = int(steps)
        self.cpu_seconds = cpu_seconds
        self.used = 0
        self._t0 = time.process_time()

    @property
    def cpu(self) -> float:
        """CPU seconds since the budget was created."""
        return time.process_time() - self._t0

    @property
    def exhausted(self) -> bool:
        """True once the steps (or the CPU cap) are spent."""
        over_time = self.cpu_seconds is not None and self.cpu >= self.cpu_seconds
        return self.used >= self.steps or over_time

    @property
    def remaining(self) -> int:
        """Force evaluations left."""
        return max(self.steps - self.used, 0)

    def can_afford(self, n: int) -> bool:
        """True when ``n`` more evaluations fit in the steps and the CPU cap is not spent."""
        return not self.exhausted and self.remaining >= n

    def charge(self, n: int) -> None:
        self.used += int(n)


class _Counter(mm.MinimizationReporter):
    """Counts L-BFGS iterations (each costs at least one force evaluation); stops at ``limit``
    (OpenMM's ``maxIterations`` applies per round of its constraint loop, not in total)."""

    def __init__(self, limit: int):
        super().__init__()
        self.iterations = 0
        self.limit = limit

    def report(self, iteration, x, grad, args):  # noqa: ARG002 (OpenMM's signature)
        self.iterations += 1
        return self.iterations >= self.limit


def minimize_counted(context: mm.Context, budget: Budget, *, tolerance: float,
                     max_iterations: int) -> float:
    """Minimize ``context`` in place, charge the iterations to ``budget``; the energy.

    The L-BFGS is stopped after ``min(max_iterations, budget.remaining - QUENCH_RESERVE)``
    iterations (at least one); OpenMM's constraint rounds may add a few, which the reserve
    absorbs. Every iteration reported is charged.
    """
    limit = max(1, min(max_iterations, budget.remaining - QUENCH_RESERVE))
    counter = _Counter(limit)
    mm.LocalEnergyMinimizer.minimize(context, tolerance, limit, counter)
    budget.charge(max(counter.iterations, 1))
    state = context.getState(getEnergy=True)
    return state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


@dataclass
class Conformer:
    """One distinct minimum: energy (kJ/mol), positions (nm), when it was first found."""

    energy: float
    positions: np.ndarray
    found_step: int
    found_cpu_s: float
    hits: int = 1
    #: against the start structure (with a topology): peptide bonds now cis, centres inverted
    to_cis: list[str] | None = None
    inverted: list[str] | None = None

    def to_dict(self, *, with_positions: bool = True) -> dict:
        d = {"energy": self.energy, "found_step": self.found_step,
             "found_cpu_s": self.found_cpu_s, "hits": self.hits,
             "to_cis": self.to_cis, "inverted": self.inverted}
        if with_positions:
            d["positions_nm"] = self.positions.tolist()
        return d


@dataclass
class MinimaSet:
    """Distinct minima: heavy-atom RMSD (nm, after optimal superposition) above a threshold.

    A new minimum within ``rmsd_threshold`` of a stored one is the same conformer: the
    lower energy (and its positions) is kept, the first-found step and time stay.
    """

    heavy: np.ndarray
    rmsd_threshold: float
    conformers: list[Conformer] = field(default_factory=list)

    def __post_init__(self):
        try:
            import mdtraj  # installed with openmmtools; its RMSD aligns (QCP) in C
        except ImportError as exc:
            raise ImportError("search_conformers needs mdtraj for the RMSD of minima: "
                              "pip install mdtraj (or conda install -c conda-forge mdtraj)"
                              ) from exc

        self._md = mdtraj
        top = mdtraj.Topology()
        res = top.add_residue("X", top.add_chain())
        for _ in range(len(self.heavy)):
            top.add_atom("C", mdtraj.element.carbon, res)
        self._top = top

    def _rmsd_to_all(self, heavy_xyz: np.ndarray) -> np.ndarray:
        md = self._md
        stored = np.array([c.positions[self.heavy] for c in self.conformers], dtype=np.float32)
        target = md.Trajectory(heavy_xyz[None].astype(np.float32), self._top)
        return md.rmsd(md.Trajectory(stored, self._top), target, 0)

    def add(self, energy: float, positions: np.ndarray, step: int, cpu: float) -> bool:
        """Record a minimum; True when it is a new conformer."""
        if self.conformers:
            rmsd = self._rmsd_to_all(positions[self.heavy])
            k = int(np.argmin(rmsd))
            if rmsd[k] < self.rmsd_threshold:
                old = self.conformers[k]
                old.hits += 1
                if energy < old.energy:
                    old.energy, old.positions = energy, positions.copy()
                return False
        self.conformers.append(Conformer(energy, positions.copy(), step, cpu))
        return True

    def sorted(self) -> list[Conformer]:
        return sorted(self.conformers, key=lambda c: c.energy)


def heavy_atom_indices(system: mm.System, topology=None) -> np.ndarray:
    """Non-hydrogen atoms: by element with a topology, else particles heavier than 4.5 Da."""
    if topology is not None:
        idx = [a.index for a in topology.atoms()
               if a.element is None or a.element.symbol not in ("H", "D")]
    else:
        idx = [i for i in range(system.getNumParticles())
               if system.getParticleMass(i).value_in_unit(unit.dalton) > 4.5]
    if len(idx) < 3:
        raise ValueError(f"need at least 3 heavy atoms for an RMSD, got {len(idx)}")
    return np.asarray(idx)


class WidthControl:
    """The widths a search anneals on one Context: torsion (rad) and, if present, LJ (nm)."""

    def __init__(self, system: mm.System):
        self.has_torsion = bool(torsion_force_indices(system, TORSION_WIDTH_PARAMETER))
        names = {f.getGlobalParameterName(k) for f in system.getForces()
                 if hasattr(f, "getNumGlobalParameters") and f.getName() != STEREO_FORCE_NAME
                 for k in range(f.getNumGlobalParameters())}
        self.has_lj = WIDTH_PARAMETER in names

    def apply(self, context: mm.Context, torsion: float, lj: float) -> None:
        if self.has_torsion:
            set_torsion_width(context, torsion)
        if self.has_lj:
            context.setParameter(WIDTH_PARAMETER, lj)


def with_smoothed_torsions(system: mm.System) -> mm.System:
    """A copy of ``system`` whose torsions are smoothed (width 0), unless already smoothed."""
    out = copy.deepcopy(system)
    if not torsion_force_indices(out, TORSION_WIDTH_PARAMETER):
        smooth_torsions(out, 0.0)
    return out


def make_context(system: mm.System, integrator: mm.Integrator, platform,
                 properties: dict | None) -> mm.Context:
    """A Context on ``platform`` (a name or Platform) with optional properties."""
    if isinstance(platform, str):
        platform = mm.Platform.getPlatformByName(platform)
    return mm.Context(system, integrator, platform, dict(properties or {}))
