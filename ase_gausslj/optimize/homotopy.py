"""Gaussian homotopy (width annealing) minimization on plain arrays.

Minimize the smoothed energy ``E_s`` at a decreasing sequence of widths, each stage seeded
by the previous one, and finish on the unsmoothed energy. :func:`homotopy_minimize`
implements the paper's protocol exactly (``protocol='paper'``), a fixed-budget variant
(``protocol='budget'``) and an L-BFGS default, on the default reduced-unit
:class:`~ase_gausslj.core.energy.SmoothedLJ` or on any ``objective(x, width)``.
:func:`~ase_gausslj.optimize.multistart.multistart` runs it over seeds; the ASE optimizer
:class:`~ase_gausslj.adapters.optimizers.GaussianHomotopy` drives an ``Atoms``.

References
----------
.. [1] A. Ram and S. Ram, "Analytic Gaussian Convolution for Faster Molecular
   Optimization and Sampling", ICML GenBio workshop (2025), Sec. 5.1 and App. D.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..core.defaults import R_CORE, WIDTH_MAX
from ..core.validation import check_positions, check_width, count, positive
from ..defaults import HOMOTOPY, HOMOTOPY_OPTIMIZERS
from ..io import interruptible
from ..schedules import GeometricSchedule, PlateauSchedule, WidthSchedule, as_schedule
from .dispersal import default_schedule, dispersal, warn_dispersed
from .local import (
    LocalResult,
    adam,
    check_minimizer,
    fire,
    lbfgs,
    limit_blas_threads,
    lj_potential,
    resolve_minimizer,
)
from .results import HomotopyResult, StageRecord

__all__ = [
    "PAPER",
    "StageRecord",
    "HomotopyResult",
    "homotopy_minimize",
    "check_options",
    "default_schedule",
    "limit_blas_threads",
]

PAPER = {
    "optimizer": "adam",
    "lr": 0.1,
    "patience": 1000,
    "lr_factor": 0.1,
    "max_steps": 10_000,
    "start": 1.0,
    "factor": 0.95,
    "floor": 0.025,
    "gtol": 1e-5,
}
"""Ram & Ram (2025), App. D: the constants of ``protocol='paper'``."""

_OPTIMIZERS = HOMOTOPY_OPTIMIZERS
_PROTOCOLS = (None, "paper", "budget")


Objective = Callable[[np.ndarray, float], "tuple[float, np.ndarray]"]


@dataclass(frozen=True)
class _Plan:
    """The resolved, checked options of one run."""

    protocol: str | None
    optimizer: str
    schedule: WidthSchedule
    max_steps: int
    steps_per_width: int
    final_steps: int
    gtol: float
    lr: float
    patience: int
    lr_factor: float
    minimizer: str | None  # None until the objective is known (see resolve_minimizer)


def _resolve(protocol, optimizer, widths, max_steps, steps_per_width, final_steps, gtol, lr,
             patience, lr_factor, minimizer, length=1.0, r_core=R_CORE) -> _Plan:
    """Fill protocol defaults and check every option once."""
    if protocol not in _PROTOCOLS:
        raise ValueError(f"protocol must be one of {_PROTOCOLS}, got {protocol!r}")
    for name, val in (("max_steps", max_steps), ("steps_per_width", steps_per_width),
                      ("final_steps", final_steps)):
        if val is not None:
            count(val, name)
    if protocol in ("paper", "budget"):
        optimizer = optimizer or "adam"
        lr = PAPER["lr"] if lr is None else lr
        if gtol is None:  # a PlateauSchedule carries its own trigger
            gtol = widths.gtol if isinstance(widths, PlateauSchedule) else PAPER["gtol"]
        max_steps = PAPER["max_steps"] if max_steps is None else max_steps
        if widths is None:
            widths = (PlateauSchedule(PAPER["start"], PAPER["factor"], PAPER["floor"], gtol)
                      if protocol == "paper" else
                      GeometricSchedule(PAPER["start"], PAPER["factor"], PAPER["floor"]))
    else:
        optimizer = optimizer or HOMOTOPY.optimizer
        lr = HOMOTOPY.lr if lr is None else lr
        gtol = HOMOTOPY.gtol if gtol is None else gtol
        max_steps = PAPER["max_steps"] if max_steps is None else max_steps
        if widths is None:
            widths = default_schedule(length, r_core)
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {_OPTIMIZERS}, got {optimizer!r}")
    schedule = as_schedule(widths)  # the one place that refuses increasing widths
    n_stages = len(schedule)
    if protocol == "budget":
        # the paper's total budget split evenly over the widths (width 0 included)
        per = max(1, int(max_steps) // n_stages)
        steps_per_width = per if steps_per_width is None else steps_per_width
        if final_steps is None:
            final_steps = max(1, int(max_steps) - per * (n_stages - 1))
    else:
        if steps_per_width is None:
            steps_per_width = HOMOTOPY.steps_per_width * (1 if optimizer == "lbfgs" else 2)
        if final_steps is None:
            final_steps = HOMOTOPY.final_steps if protocol is None else steps_per_width
    if not 0.0 < float(lr_factor) <= 1.0:
        raise ValueError(f"lr_factor must be in (0, 1], got {lr_factor!r}")
    return _Plan(protocol, optimizer, schedule, int(max_steps), int(steps_per_width),
                 int(final_steps), positive(gtol, "gtol"), positive(lr, "lr"),
                 count(patience, "patience", 0), float(lr_factor),
                 None if minimizer in (None, "auto") else check_minimizer(minimizer))


def _start(positions, seed) -> np.ndarray:
    if isinstance(positions, (int, np.integer)) and not isinstance(positions, bool):
        if positions < 2:
            raise ValueError(f"positions: need at least 2 atoms, got {positions}")
        return np.random.default_rng(seed).standard_normal((int(positions), 3))
    return check_positions(positions, "positions")


def _default_objective(epsilon, sigma, r_core, width_max, schedule) -> Objective:
    from ..core.energy import SmoothedLJ  # deferred: heavy

    # the table bounds the reduced width: the smallest pair sigma binds first
    limit = float(width_max) * float(np.min(sigma))
    for w in schedule.widths:
        check_width(w, "widths", maximum=limit, limit_name="width_max * sigma")
    return SmoothedLJ(epsilon, sigma, r_core=r_core, width_max=width_max).energy_gradient


class _Stages:
    """Runs the stages of a plan on ``objective``, recording each one."""

    def __init__(self, plan: _Plan, objective: Objective, callback):
        self.plan = plan
        self.objective = objective
        self.callback = callback
        self.history: list[StageRecord] = []
        self.total = 0
        self.x: np.ndarray | None = None  # the configuration handed on so far

    def fg(self, w: float):
        obj = self.objective
        if self.plan.minimizer == "compiled":
            from .compiled import LJObjective  # lazy: numba

            # the compiled backend reads (potential, width) from it and never calls it
            return LJObjective(lj_potential(obj), w)

        def f(x):
            e, g = obj(x, w)
            return float(e), np.asarray(g, dtype=np.float64)

        return f

    def plain(self, x: np.ndarray) -> tuple[float, float]:
        e, g = self.fg(0.0)(x)
        return e, float(np.sqrt(g @ g))

    def stage(self, w: float, x: np.ndarray, steps: int, gtol: float) -> LocalResult:
        p = self.plan
        if p.optimizer == "adam":
            return adam(self.fg(w), x, lr=p.lr, steps=steps, patience=p.patience,
                        lr_factor=p.lr_factor, gtol=gtol)
        if p.optimizer == "fire":
            if p.minimizer == "compiled":  # the same FIRE, compiled (no Python per step)
                from .compiled import fire_minimize

                return fire_minimize(x, w, potential=lj_potential(self.objective), gtol=gtol,
                                     max_iter=steps, norm="l2")
            return fire(self.fg(w), x, steps=steps, gtol=gtol)
        return lbfgs(self.fg(w), x, steps=steps, gtol=gtol, backend=p.minimizer)

    def record(self, w: float, res: LocalResult) -> np.ndarray:
        e_lj = float(res.energy) if w == 0.0 else self.plain(res.x)[0]
        rec = StageRecord(float(w), int(res.steps), int(res.n_evals), float(res.energy),
                          e_lj, float(res.grad_norm), bool(res.converged))
        self.history.append(rec)
        self.total += res.steps
        self.x = res.x
        if self.callback is not None:
            self.callback(rec)
        return res.x

    def run(self, x: np.ndarray, polish: bool) -> np.ndarray:
        """All stages from ``x``; returns the configuration handed on by the last one."""
        p = self.plan
        self.x = x
        ws = list(p.schedule.widths)
        if p.protocol == "paper":
            # one shared budget; the width advances only when the gradient trigger fires
            for k, w in enumerate(ws):
                res = self.stage(w, x, max(0, p.max_steps - self.total), p.gtol)
                x = self.record(w, res)
                if not res.converged or k == len(ws) - 1 or self.total >= p.max_steps:
                    break
        else:
            for k, w in enumerate(ws):
                steps = p.final_steps if k == len(ws) - 1 else p.steps_per_width
                x = self.record(w, self.stage(w, x, steps, p.gtol))
        if polish:
            x = self.record(0.0, lbfgs(self.fg(0.0), x, steps=10_000, gtol=1e-6,
                                       backend=p.minimizer))
        return x


def homotopy_minimize(
    positions,
    *,
    widths=None,
    optimizer: str | None = None,
    epsilon=1.0,
    sigma=1.0,
    r_core: float = R_CORE,
    width_max: float = WIDTH_MAX,
    protocol: str | None = None,
    max_steps: int | None = None,
    steps_per_width: int | None = None,
    final_steps: int | None = None,
    gtol: float | None = None,
    lr: float | None = None,
    patience: int = PAPER["patience"],
    lr_factor: float = PAPER["lr_factor"],
    polish: bool = False,
    seed: int | None = None,
    callback: Callable[[StageRecord], None] | None = None,
    objective: Objective | None = None,
    minimizer: str | None = None,
    compare_plain: bool | None = None,
) -> HomotopyResult:
    """Minimize the LJ energy by annealing the Gaussian width to 0.

    At each width of the schedule the smoothed energy ``E_s`` is minimized starting
    from the configuration handed on by the previous width; the last stage is width 0
    (the unsmoothed, regularized LJ).

    Parameters
    ----------
    positions : array_like (N, 3) or int
        Starting configuration, or a number of atoms for a random start with i.i.d.
        ``N(0, 1)`` coordinates (the paper's) drawn from ``seed``.
    widths : schedule spec, optional
        Anything :func:`~ase_gausslj.schedules.as_schedule` accepts (a
        :class:`~ase_gausslj.schedules.WidthSchedule`, a list of widths, ``'paper'``,
        ``'geometric'``, ...); ``[0.0]`` gives plain (non-homotopy) minimization.
        Default for ``protocol=None``: :func:`default_schedule` (first width ~0.3 sigma,
        where the smoothed pair well still binds by 0.04 eps; factor 0.8 down to 0.025
        sigma, then 0; lengths scaled by the smallest ``sigma``). For
        ``'paper'``/``'budget'``: the paper's widths ``1.0 * 0.95**k`` down to 0.025,
        then 0 (with the gradient trigger for ``'paper'``); they disperse free clusters.
    optimizer : {'lbfgs', 'fire', 'adam'}, optional
        Inner minimizer; default ``'adam'`` for the paper/budget protocols, otherwise
        ``'lbfgs'``.
    epsilon, sigma : float or array_like (N,)
        LJ parameters (Lorentz-Berthelot for per-atom arrays); lengths and widths are
        in the units of ``sigma``.
    r_core : float
        Core radius in units of sigma (default :data:`~ase_gausslj.core.defaults.R_CORE`).
    width_max : float
        Largest reduced width of the table (default
        :data:`~ase_gausslj.core.defaults.WIDTH_MAX`).
    protocol : {None, 'paper', 'budget'}
        ``'paper'``: Ram & Ram App. D exactly — Adam, lr 0.1, lr / 10 after 1000 steps
        without improvement, 10,000 steps in total, width 1.0 multiplied by 0.95 each
        time the gradient 2-norm falls below 1e-5, floor 0.025 then width 0, best
        configuration of each width handed on (each width restarts Adam and its lr).
        ``'budget'``: the same Adam and widths, but each width gets a fixed share of
        the 10,000 steps (so all 73 widths are visited). ``None`` (default): L-BFGS to
        ``gtol`` at each width (at most ``steps_per_width`` iterations), then L-BFGS at
        width 0 for up to ``final_steps``.
    max_steps : int, optional
        Total step budget (``'paper'``/``'budget'``; default 10,000), >= 1.
    steps_per_width : int, optional
        Step cap per smoothed width (``'budget'``: ``max_steps // len(schedule)``), >= 1.
    final_steps : int, optional
        Step cap at width 0, >= 1.
    gtol : float, optional
        Gradient tolerance: the paper's trigger for ``'paper'`` (2-norm, default 1e-5);
        for L-BFGS, scipy's projected-gradient tolerance; for FIRE and Adam, the
        2-norm of the gradient.
    lr, patience, lr_factor : float, int, float
        Adam learning rate (default 0.1) and plateau rule (divide by ``1/lr_factor``
        after ``patience`` steps without improvement).
    polish : bool
        Finish with an L-BFGS minimization at width 0 (any protocol).
    seed : int, optional
        Seed of the random start (ignored, but recorded, when positions are given).
    callback : callable, optional
        Called with each :class:`StageRecord` as a stage finishes.

    objective : callable, optional
        ``objective(x_flat, width) -> (E, grad_flat)`` in the caller's units (widths in
        its length unit); replaces the default reduced-unit
        :class:`~ase_gausslj.core.energy.SmoothedLJ` (``epsilon`` and ``width_max`` are
        then unused; ``sigma`` still sets the length scale of the default widths and of
        the dispersal check).
    minimizer : str, optional
        L-BFGS implementation (:data:`.local.LBFGS_BACKENDS`). Default: ``'compiled'``
        (numba) for the project's ``SmoothedLJ`` objective (the default one),
        ``'scipy'`` for any other ``objective``.
    compare_plain : bool, optional
        Also minimize the plain energy from the same start (same optimizer, width 0) and
        return that minimum when it is lower (``used_plain=True``; ``plain_energy``
        records it either way). Default: True for ``protocol=None`` (one homotopy is not
        lower than one plain minimization from every start: measured in
        docs/when-to-smooth.md), False for the paper's protocols.

    Returns
    -------
    HomotopyResult
        ``dispersed=True`` (and a :class:`~.dispersal.HomotopyDispersedWarning`) when the
        homotopy ended with atoms out of LJ range of the rest, much larger than the start,
        or above the start energy (:func:`.dispersal.dispersal`); ``success`` is then
        False. After Ctrl-C: the configuration of the last finished stage,
        ``interrupted=True``.

    Raises
    ------
    ValueError
        A bad option, named (``max_steps``, ``steps_per_width``, ``widths`` increasing or
        beyond the table, ...), before any work.

    Examples
    --------
    >>> res = homotopy_minimize(13, seed=0)
    >>> round(res.energy, 3)  # doctest: +SKIP
    -44.327
    """
    x0 = _start(positions, seed)
    plan = _resolve(protocol, optimizer, widths, max_steps, steps_per_width, final_steps,
                    gtol, lr, patience, lr_factor, minimizer, float(np.min(sigma)), r_core)
    if compare_plain is None:
        compare_plain = HOMOTOPY.compare_plain and protocol is None
    if objective is None:
        objective = _default_objective(epsilon, sigma, r_core, width_max, plan.schedule)
    elif not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    plan = replace(plan, minimizer=resolve_minimizer(plan.minimizer, objective))
    t0 = time.perf_counter()
    stages = _Stages(plan, objective, callback)
    with interruptible() as interrupted:
        stages.run(x0.reshape(-1).copy(), polish)
    x = stages.x  # after Ctrl-C: what the last finished stage handed on
    e, gn = stages.plain(x)
    history = stages.history
    reasons = [] if interrupted else dispersal(
        x, x0, sigma=float(np.max(sigma)), energy=e, start_energy=stages.plain(x0.ravel())[0])
    if reasons:
        warn_dispersed(reasons, "homotopy_minimize")
    plain = None
    if compare_plain and not interrupted and plan.schedule.widths[0] > 0.0:
        with interruptible() as interrupted:
            plain = stages.stage(0.0, x0.reshape(-1).copy(), plan.final_steps, plan.gtol)
        if not interrupted and plain.energy < e - 1e-8 * max(1.0, abs(e)):
            x, (e, gn) = plain.x, stages.plain(plain.x)
    return HomotopyResult(
        positions=x.reshape(x0.shape), energy=e, grad_norm=gn, history=history,
        reached_zero=bool(history) and history[-1].width == 0.0, n_steps=stages.total,
        n_evals=sum(h.n_evals for h in history), wall_time=time.perf_counter() - t0,
        protocol=plan.protocol, optimizer=plan.optimizer, seed=seed,
        interrupted=bool(interrupted), dispersed=bool(reasons), dispersal=reasons,
        plain_energy=None if plain is None or interrupted else float(plain.energy),
        plain_evals=0 if plain is None else int(plain.n_evals),
        used_plain=plain is not None and not interrupted and x is plain.x)


def check_options(**kwargs) -> None:
    """Check :func:`homotopy_minimize` options without running (for multi-run callers).

    Raises TypeError for an unknown keyword and ValueError for a bad value, naming it.
    """
    import inspect

    sig = inspect.signature(homotopy_minimize)
    bound = sig.bind_partial(None, **kwargs)
    bound.apply_defaults()
    a = bound.arguments
    plan = _resolve(a["protocol"], a["optimizer"], a["widths"], a["max_steps"],
                    a["steps_per_width"], a["final_steps"], a["gtol"], a["lr"], a["patience"],
                    a["lr_factor"], a["minimizer"], float(np.min(a["sigma"])), a["r_core"])
    if a["objective"] is None:
        for w in plan.schedule.widths:
            check_width(w, "widths", maximum=float(a["width_max"]) * float(np.min(a["sigma"])),
                        limit_name="width_max * sigma")
