"""Budgets, trackers and results of the hard-cluster runners (no engine import).

:class:`Budget` (CPU seconds, quench count, target), :class:`Tracker` (best minimum, count,
clock of one run), :class:`HardResult` and :func:`lj_quench` (the project's compiled LJ
quench, ~1-5 ms per LJ75 quench) are shared by the multi-walker runners (tempering,
population) and by ``global_minimize``'s tempering strategy, so they live apart from
:mod:`.runner` (which drives the engine and so imports it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...defaults import GLOBAL_OPT
from ..clusters import container_radius
from ..results import ENERGY_TOL

__all__ = ["Budget", "Tracker", "HardResult", "lj_quench"]


def lj_quench(n_atoms: int, *, gtol: float = GLOBAL_OPT.gtol, widths: Sequence[float] = (),
              width_gtol: float = GLOBAL_OPT.width_gtol, p_smooth: float = GLOBAL_OPT.p_smooth,
              polish_gtol: float = 1e-5, maxiter: int = GLOBAL_OPT.maxiter,
              radius: float | None = None):
    """The compiled LJ quench (reduced units) with ``global_minimize``'s defaults: loose
    ``gtol``, new bests polished, the evaporation guard at ``radius`` (default
    :func:`container_radius`)."""
    from ...core.energy import SmoothedLJ
    from ..quench import CompiledQuench

    return CompiledQuench(SmoothedLJ().energy_gradient, widths=tuple(widths),
                          width_gtol=width_gtol, p_smooth=p_smooth, gtol=gtol,
                          maxiter=maxiter,
                          radius=container_radius(n_atoms) if radius is None else radius,
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
