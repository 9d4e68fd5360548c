"""One walker of the engine (global_minimize) with injected strategies, on a CPU clock.

:func:`basin_hop` is one walker of :func:`~ase_gausslj.optimize.globalopt.global_minimize`
(the one engine) with injected strategies, on a CPU clock. :class:`Budget`,
:class:`Tracker`, :class:`HardResult` and :func:`lj_quench` live in :mod:`.budget` (shared
with the multi-walker runners and the engine's tempering strategy) and are re-exported here.
"""

from __future__ import annotations

import time

import numpy as np

from ..globalopt import global_minimize
from ..options import default_patience
from .budget import Budget, HardResult, Tracker, lj_quench

__all__ = ["Budget", "Tracker", "HardResult", "lj_quench", "basin_hop", "default_patience"]


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
        accept_test=accept_test, patience=rule,
        strategy="displacement")  # the walk is take_step's, never the per-size default
    trace = [[float(t), int(k), float(e)] for t, k, e in res.trace]
    hit = next((t for t, _, e in trace if budget.hit(e)), None)
    return HardResult(float(res.energy), np.asarray(res.positions), int(res.n_minimizations),
                      time.process_time() - t0, hit, trace, {"restarts_rule": rule})
