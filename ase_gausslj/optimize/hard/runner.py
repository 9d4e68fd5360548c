"""A small basin-hopping loop over the strategy protocol, with a CPU-time budget.

:func:`basin_hop` drives any ``take_step`` / ``accept_test`` / ``quench`` triple (the
protocol of :mod:`ase_gausslj.optimize.basinhopping`) for one walker and records when each
new best was found (``time.process_time`` seconds); :func:`lj_quench` builds the project's
compiled LJ quench (:class:`~ase_gausslj.optimize.quench.CompiledQuench`, ~1-5 ms per LJ75
quench). The population and tempering runners reuse :class:`Budget` and :class:`Tracker`.
It exists to measure the strategies now; ``global_minimize`` takes them once it accepts
injected strategies.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..clusters import container_radius, random_cluster
from ..moves import Metropolis, RandomDisplacement
from ..results import ENERGY_TOL

__all__ = ["Budget", "Tracker", "HardResult", "lj_quench", "basin_hop", "default_patience"]


def default_patience(n_atoms: int) -> int:
    """Quenches without a new best before a restart (``global_minimize``'s rule)."""
    return max(100, 5 * int(n_atoms))


def lj_quench(n_atoms: int, *, gtol: float = 1e-3, widths: Sequence[float] = (),
              width_gtol: float = 1e-3, p_smooth: float = 1.0, polish_gtol: float = 1e-5,
              maxiter: int = 2000):
    """The compiled LJ quench (reduced units): loose ``gtol``, new bests polished."""
    from ...core.energy import SmoothedLJ
    from ..quench import CompiledQuench

    return CompiledQuench(SmoothedLJ().energy_gradient, widths=tuple(widths),
                          width_gtol=width_gtol, p_smooth=p_smooth, gtol=gtol,
                          maxiter=maxiter, radius=container_radius(n_atoms),
                          polish_gtol=polish_gtol)


@dataclass
class Budget:
    """When a run stops: CPU seconds, quench count or the target energy (reached within
    ``target_tol``)."""

    cpu_limit: float | None = None
    max_quenches: int | None = None
    target: float | None = None
    target_tol: float = 1e-4

    def __post_init__(self) -> None:
        if self.cpu_limit is None and self.max_quenches is None:
            raise ValueError("Budget: give cpu_limit or max_quenches")
        if self.cpu_limit is not None and not (self.cpu_limit > 0
                                               and math.isfinite(self.cpu_limit)):
            raise ValueError(f"cpu_limit must be positive, got {self.cpu_limit!r}")

    def hit(self, e: float) -> bool:
        return self.target is not None and e <= self.target + self.target_tol


@dataclass
class HardResult:
    """Outcome of one run: best minimum, counts and the trace of new bests."""

    energy: float
    positions: np.ndarray
    n_quenches: int
    cpu: float
    time_to_target: float | None
    trace: list = field(default_factory=list)  # [cpu_s, n_quench, energy] per new best
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready fields (no positions)."""
        return {"best": self.energy, "quenches": self.n_quenches, "cpu": self.cpu,
                "time_to_target": self.time_to_target, "trace": self.trace, **self.info}


class Tracker:
    """Best minimum, quench count and CPU clock of one run (shared by all runners)."""

    def __init__(self, budget: Budget, quench, clock: Callable[[], float] = time.process_time):
        self.budget = budget
        self.quench = quench
        self.clock = clock
        self.t0 = clock()
        self.n = 0
        self.best_e = math.inf
        self.best_x: np.ndarray | None = None
        self.trace: list = []
        self.hit_time: float | None = None

    def elapsed(self) -> float:
        return self.clock() - self.t0

    def record(self, x: np.ndarray, e: float) -> None:
        """Count one quench; polish and store ``(x, e)`` when it is a new best."""
        self.n += 1
        if e < self.best_e - ENERGY_TOL:
            x, e = self.quench.polish(x, e)
            self.best_x, self.best_e = np.array(x), float(e)
            t = self.elapsed()
            self.trace.append([t, self.n, self.best_e])
            if self.hit_time is None and self.budget.hit(self.best_e):
                self.hit_time = t

    def done(self) -> bool:
        b = self.budget
        if self.hit_time is not None:
            return True
        if b.max_quenches is not None and self.n >= b.max_quenches:
            return True
        return b.cpu_limit is not None and self.n > 0 and self.elapsed() >= b.cpu_limit

    def result(self, **info) -> HardResult:
        return HardResult(self.best_e, self.best_x, self.n, self.elapsed(), self.hit_time,
                          self.trace, info)


def basin_hop(n_atoms: int, budget: Budget, rng: np.random.Generator, *, quench=None,
              take_step=None, accept_test=None, patience: int | None = None,
              x0: np.ndarray | None = None) -> HardResult:
    """One basin-hopping walker over the protocol until ``budget`` ends.

    Defaults: the compiled loose quench, random displacement 0.4 sigma, Metropolis at
    ``k_B T = 0.8`` epsilon and a restart from a fresh random cluster after ``patience``
    quenches without a new best (:func:`default_patience`; 0 never restarts).
    """
    quench = quench if quench is not None else lj_quench(n_atoms)
    take_step = take_step if take_step is not None else RandomDisplacement(0.4)
    accept_test = accept_test if accept_test is not None else Metropolis(0.8)
    patience = default_patience(n_atoms) if patience is None else int(patience)
    tr = Tracker(budget, quench)
    cur_x, cur_e, since = None, math.inf, 0
    while not tr.done():
        if cur_x is None:
            start = random_cluster(n_atoms, rng) if x0 is None or tr.n else np.array(x0)
            cur_x, cur_e = quench(start, rng, deep=True)
            tr.record(cur_x, cur_e)
            since = 0
            continue
        x, e = quench(take_step(cur_x, rng), rng)
        best_before = tr.best_e
        tr.record(x, e)
        since = 0 if tr.best_e < best_before else since + 1
        if accept_test(e, cur_e, rng):
            cur_x, cur_e = x, e
        if patience > 0 and since >= patience:
            cur_x = None
    return tr.result(restarts_rule=patience)
