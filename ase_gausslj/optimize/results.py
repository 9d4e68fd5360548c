"""Results: of a local minimization, a global search (one start or several), a homotopy run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = ["LocalResult", "GlobalOptResult", "merge_runs", "StageRecord", "HomotopyResult"]

ENERGY_TOL = 1e-7  # a new best must be lower by at least this (reduced energy)


class LocalResult(NamedTuple):
    """Outcome of a local minimization (a tuple, so ``x, e, *_ = result`` works).

    Attributes
    ----------
    x : ndarray
        Final (for Adam: best) configuration, flat.
    energy : float
        Its energy.
    grad_norm : float
        Norm of the gradient there: the norm of the convergence test for the compiled
        minimizers (``norm=``; the largest component for the ``'compiled'`` L-BFGS
        backend), the 2-norm for scipy's L-BFGS-B, FIRE and Adam.
    steps : int
        Iterations done.
    n_evals : int
        Energy+gradient evaluations.
    converged : bool
        Whether the gradient criterion (not the step cap) stopped it.
    """

    x: np.ndarray
    energy: float
    grad_norm: float
    steps: int
    n_evals: int
    converged: bool


@dataclass
class GlobalOptResult:
    """Outcome of :func:`global_minimize`.

    Attributes
    ----------
    energy : float
        Best energy found (plain, unsmoothed energy).
    positions : ndarray, shape (N, 3)
        Best structure, centred at the origin.
    method : str
        The method that produced it.
    seed : int or None
        The seed of this run (of the best start for a multistart).
    n_minimizations : int
        Quenches done (for ``'homotopy'``: homotopy runs): the budget's unit.
    n_restarts : int
        Restarts from a fresh random cluster.
    elapsed : float
        Seconds used (on the clock of ``clock=``), including any resumed part; the only
        field that differs between two runs with the same seed (with ``trace[:, 0]``).
    trace : ndarray, shape (K, 3)
        Rows ``(time, n_minimizations, best_energy)`` at each new best.
    stop_reason : str
        ``'max_minimizations'`` (the quench budget), ``'target'``, ``'time_limit'`` or
        ``'interrupted'``.
    runs : list of GlobalOptResult
        Every start of a multistart run (empty for a single run).
    state : dict or None
        The resumable state (what ``state_file`` holds); pass it as ``resume=``.
    interrupted : bool
        True when Ctrl-C ended the run: the result is the best found until then (the
        quench in progress is dropped, so ``state`` resumes cleanly).
    strategy : str
        The walk that ran (``global_minimize(strategy=)`` resolved: ``'displacement'``,
        ``'surface'``, ``'pt-surface'``, or ``'custom'`` for the caller's ``take_step``,
        ``accept_test`` or ``quench``).
    """

    energy: float
    positions: np.ndarray
    method: str
    seed: int | None
    n_minimizations: int
    n_restarts: int
    elapsed: float
    trace: np.ndarray
    stop_reason: str
    runs: list[GlobalOptResult] = field(default_factory=list)
    state: dict | None = field(default=None, repr=False)
    interrupted: bool = False
    strategy: str = "displacement"

    def time_to_energy(self, target: float, tol: float = 1e-4) -> float | None:
        """First time the best energy was ``<= target + tol``, or None if never."""
        if self.runs:
            times = [r.time_to_energy(target, tol) for r in self.runs]
            times = [t for t in times if t is not None]
            return min(times) if times else None
        hit = np.nonzero(self.trace[:, 2] <= target + tol)[0] if len(self.trace) else []
        return float(self.trace[hit[0], 0]) if len(hit) else None

    def to_dict(self) -> dict:
        """A JSON-serializable summary (positions as nested lists, no state)."""
        return {
            "energy": self.energy,
            "positions": np.asarray(self.positions).tolist(),
            "method": self.method,
            "seed": self.seed,
            "n_minimizations": self.n_minimizations,
            "n_restarts": self.n_restarts,
            "elapsed": self.elapsed,
            "trace": np.asarray(self.trace).tolist(),
            "stop_reason": self.stop_reason,
            "runs": [r.to_dict() for r in self.runs],
            "interrupted": self.interrupted,
            "strategy": self.strategy,
        }


def _merge_traces(runs: Sequence[GlobalOptResult]) -> np.ndarray:
    """Best energy over all parallel starts vs time (starts run concurrently)."""
    rows = np.concatenate([r.trace for r in runs if len(r.trace)], axis=0)
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    keep, best = [], math.inf
    for row in rows:
        if row[2] < best - ENERGY_TOL:
            best = row[2]
            keep.append(row)
    return np.asarray(keep).reshape(-1, 3)


def merge_runs(runs: Sequence[GlobalOptResult], method: str,
               interrupted: bool = False) -> GlobalOptResult:
    """One result for independent starts: the best of them, with every start in ``runs``."""
    best = min(runs, key=lambda r: r.energy)
    return GlobalOptResult(
        energy=best.energy, positions=best.positions, method=method, seed=best.seed,
        n_minimizations=sum(r.n_minimizations for r in runs),
        n_restarts=sum(r.n_restarts for r in runs),
        elapsed=max(r.elapsed for r in runs), trace=_merge_traces(runs),
        stop_reason="interrupted" if interrupted else best.stop_reason, runs=list(runs),
        state=None, interrupted=interrupted or any(r.interrupted for r in runs),
        strategy=best.strategy,
    )


@dataclass
class StageRecord:
    """One width of a homotopy run.

    Attributes
    ----------
    width : float
        The width of this stage.
    steps : int
        Optimizer iterations spent at this width.
    n_evals : int
        Energy+gradient evaluations at this width.
    energy : float
        Best smoothed energy reached at this width (the configuration handed on).
    energy_lj : float
        Unsmoothed energy of that configuration.
    grad_norm : float
        2-norm of the smoothed gradient at that configuration.
    converged : bool
        Whether the stage stopped on its gradient criterion (for ``protocol='paper'``:
        whether the width trigger fired) rather than on its step budget.
    """

    width: float
    steps: int
    n_evals: int
    energy: float
    energy_lj: float
    grad_norm: float
    converged: bool


@dataclass
class HomotopyResult:
    """Outcome of :func:`homotopy_minimize`.

    Attributes
    ----------
    positions : ndarray, shape (N, 3)
        Final configuration (the best one of the last stage).
    energy : float
        Its unsmoothed (width 0) energy.
    grad_norm : float
        2-norm of the unsmoothed gradient there.
    history : list of StageRecord
        One record per width visited, in order.
    reached_zero : bool
        Whether the run reached the unsmoothed stage (width 0). A paper-protocol run
        whose trigger never fires stays at its first width.
    n_steps, n_evals : int
        Totals over all stages.
    wall_time : float
        Seconds.
    protocol, optimizer : str or None
        As resolved.
    seed : int or None
        The seed of a random start.
    interrupted : bool
        True when Ctrl-C ended the run: ``positions`` is the configuration handed on by
        the last finished stage (the start if none finished).
    dispersed : bool
        The homotopy ended with its atoms apart; ``dispersal`` says why (list of str).
    plain_energy : float or None
        Energy of the plain minimization from the same start (``compare_plain``).
    plain_evals : int
        Its energy evaluations (the extra cost of ``compare_plain``).
    used_plain : bool
        ``positions``/``energy`` are that plain minimum (it was lower).
    """

    positions: np.ndarray
    energy: float
    grad_norm: float
    history: list[StageRecord]
    reached_zero: bool
    n_steps: int
    n_evals: int
    wall_time: float
    protocol: str | None
    optimizer: str
    seed: int | None = None
    interrupted: bool = False
    dispersed: bool = False
    dispersal: list[str] = field(default_factory=list)
    plain_energy: float | None = None
    plain_evals: int = 0
    used_plain: bool = False

    @property
    def success(self) -> bool:
        """Reached width 0, not dispersed, not interrupted."""
        return self.reached_zero and not self.dispersed and not self.interrupted

    @property
    def widths_visited(self) -> int:
        """Number of stages (distinct widths) the run visited, width 0 included."""
        return len(self.history)

    def to_dict(self, positions: bool = False) -> dict:
        """JSON-friendly dictionary (positions omitted unless asked for)."""
        d = asdict(self)
        d["widths_visited"] = self.widths_visited
        d["success"] = self.success
        if positions:
            d["positions"] = self.positions.tolist()
        else:
            d.pop("positions")
        return d
