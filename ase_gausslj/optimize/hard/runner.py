"""CPU-time budgets and results of the hard-cluster runners.

:func:`basin_hop` is one walker of :func:`~ase_gausslj.optimize.globalopt.global_minimize`
(the one engine) with injected strategies, on a CPU clock; :func:`lj_quench` builds the
project's compiled LJ quench (:class:`~ase_gausslj.optimize.quench.CompiledQuench`, ~1-5 ms
per LJ75 quench). The multi-walker runners (tempering, population) reuse :class:`Budget`
and :class:`Tracker`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...defaults import GLOBAL_OPT
from ..clusters import container_radius
from ..globalopt import global_minimize
from ..options import default_patience
from ..results import ENERGY_TOL

__all__ = ["Budget", "Tracker", "HardResult", "lj_quench", "basin_hop", "default_patience"]


def lj_quench(n_atoms: int, *, gtol: float = GLOBAL_OPT.gtol, widths: Sequence[float] = (),
              width_gtol: float = GLOBAL_OPT.width_gtol, p_smooth: float = GLOBAL_OPT.p_smooth,
              polish_gtol: float = 1e-5, maxiter: int = GLOBAL_OPT.maxiter):
    """The compiled LJ quench (reduced units) with ``global_minimize``'s defaults: loose
    ``gtol``, new bests polished."""
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
    """One basin-hopping walker until ``budget`` ends: :func:`global_minimize`, the one
    engine, with the given strategies and a CPU clock, reported as a :class:`HardResult`.

    Defaults are the engine's (loose compiled quench, random displacement 0.4 sigma,
    Metropolis at ``k_B T = 0.8`` epsilon, a restart after :func:`default_patience`
    quenches without a new best; 0 never restarts). The seed is drawn from ``rng``.
    """
    rule = default_patience(n_atoms) if patience is None else int(patience)
    t0 = time.process_time()
    res = global_minimize(
        n_atoms if x0 is None else np.asarray(x0, dtype=float), seed=int(rng.integers(2**62)),
        max_minimizations=(budget.max_quenches if budget.max_quenches is not None
                           else 10**12),
        time_limit=budget.cpu_limit, target_energy=budget.target,
        target_tol=budget.target_tol, clock="process", quench=quench, take_step=take_step,
        accept_test=accept_test, patience=rule)
    trace = [[float(t), int(k), float(e)] for t, k, e in res.trace]
    hit = next((t for t, _, e in trace if budget.hit(e)), None)
    return HardResult(float(res.energy), np.asarray(res.positions), int(res.n_minimizations),
                      time.process_time() - t0, hit, trace, {"restarts_rule": rule})
