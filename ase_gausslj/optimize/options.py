"""The options of :func:`~ase_gausslj.optimize.globalopt.global_minimize`, checked once.

:class:`BHOptions` holds every option of a search (reduced units: lengths in sigma,
energies in epsilon) with the defaults of :data:`ase_gausslj.defaults.GLOBAL_OPT`;
``global_minimize(options=BHOptions(...))`` and the keyword form
``global_minimize(n, temperature=1.0, ...)`` are the same call. :func:`check_options`
validates them once, at the public boundary, and returns the run's settings
(:class:`~.basinhopping.BHSettings`) and stop rule; nothing below re-checks them.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.validation import check_sequence, check_width, count, positive
from ..defaults import GLOBAL_METHODS, GLOBAL_OPT, GLOBAL_STRATEGIES, best_strategy
from ..schedules import check_non_increasing
from .basinhopping import BHSettings, StopRule
from .clusters import container_radius
from .local import resolve_minimizer

__all__ = ["BHOptions", "check_options", "check_budget", "default_patience",
           "resolve_strategy"]


def default_patience(n_atoms: int) -> int:
    """Quenches without a new best before a restart, when ``patience`` is not given."""
    return max(100, 5 * int(n_atoms))


@dataclass(frozen=True)
class BHOptions:
    """Options of a basin-hopping search (:func:`~.globalopt.global_minimize`).

    Build one and pass it as ``options=``, or give the same names as keywords (a keyword
    overrides the field of ``options``). Unset (None) fields take their documented
    default when the search starts (e.g. ``patience``: ``max(100, 5 N)``).

    Parameters
    ----------
    max_minimizations : int, optional
        The budget (``global_minimize(budget=)`` is its alias): stop after this many
        quenches per start (homotopy runs for ``'homotopy'``). Default
        ``GLOBAL_OPT.max_minimizations`` (1000) unless ``time_limit`` is given. With a
        seed, a run that stops here (or at ``target_energy``) repeats bit for bit.
    time_limit : float, optional
        An optional cap in seconds per start (on ``clock``). A run stopped by it is not
        repeatable.
        It is checked between quenches, after the first: an expired cap ends the run
        normally (``stop_reason='time_limit'``) with at least one quench's result.
    n_starts : int, optional
        Number of independent starts (default 1). Without ``global_minimize(executor=)``
        they run one after another.
    temperature : float
        Metropolis ``k_B T`` in epsilon; 0 gives monotonic basin hopping.
    step : float
        Half-edge of the random displacement cube, in sigma.
    widths : sequence of float
        Smoothing ladder of ``'smoothed-bh'`` (sigma), each minimized before ``E_0``.
    patience : int, optional
        Restart from a fresh random cluster after this many quenches without a new best
        (default ``max(100, 5 N)``; 0 disables restarts).
    gtol : float
        Gradient tolerance of the final (plain) quench (largest component),
        epsilon/sigma. Default 1e-3: loose quenches, new bests polished to 1e-5
        (``polish_gtol``); measured best in docs/when-to-smooth.md.
    width_gtol : float
        Gradient tolerance of the smoothed quenches (loose: they only pick a basin).
    maxiter : int
        Maximum L-BFGS iterations per quench.
    radius : float, optional
        Evaporation-guard radius in sigma (default :func:`container_radius`).
    target_energy : float, optional
        Stop when the best energy is ``<= target_energy + target_tol``.
    target_tol : float
        Tolerance of the target test.
    checkpoint_every : float
        Seconds between state saves.
    clock : {'wall', 'process'}
        ``'wall'`` measures ``time_limit`` with :func:`time.perf_counter`; ``'process'`` with
        :func:`time.process_time` (CPU seconds of the worker, fair on shared machines).
    length_scale, energy_scale : float
        Units of the objective: ``step``, ``widths``, ``radius`` are multiplied by
        ``length_scale`` and ``temperature`` by ``energy_scale`` (the ASE entry point sets
        them to sigma and epsilon).
    homotopy_kwargs : dict, optional
        Extra keyword arguments for :func:`.homotopy.homotopy_minimize` (reduced units:
        ``widths``, ``gtol`` and ``lr`` are scaled like the other options). The homotopy
        runs on ``objective``, in its units.
    minimizer : str, optional
        L-BFGS implementation (:data:`.local.LBFGS_BACKENDS`). Default: ``'compiled'``
        (numba; ladder, quench and guard in one call) when ``objective`` is the project's
        ``SmoothedLJ`` (the default objective), ``'scipy'`` for any other objective.
    p_smooth : float
        ``'smoothed-bh'``: the fraction of quenches that go through ``widths`` (one
        uniform draw per quench; fresh starts always do). 1 (default): every quench;
        e.g. 0.1: an occasional smoothed "deep" quench among plain ones (see
        docs/globalopt.md for where each wins).
    polish_gtol : float, optional
        Re-minimize every new best to this tolerance before it is recorded (0: never).
        Default: 1e-5 when ``gtol`` is looser than that, else 0. It lets a search quench
        loosely (``gtol=1e-3`` saves ~40% of the evaluations) and still report tightly
        converged minima.
    strategy : {'auto', 'displacement', 'surface', 'pt-surface'}
        The walk of ``'bh'`` on the built-in LJ (reduced units): random displacement of
        every atom, surface moves, or 4 replicas in parallel tempering with surface moves
        (``k_B T`` 0.6-1.7 epsilon, their own ladder: ``temperature`` and ``step`` are
        not used). ``'auto'`` (default): the measured best for the size
        (:func:`~ase_gausslj.defaults.best_strategy`, results/hard/README.md), and
        ``'displacement'`` whenever a ``take_step``/``accept_test``/``quench``, an
        ``objective``, units or another method is given. The result's ``strategy`` says
        which one ran (``'custom'`` when the caller's ``take_step``, ``accept_test`` or
        ``quench`` did).
    """

    max_minimizations: int | None = None
    time_limit: float | None = None
    target_energy: float | None = None
    target_tol: float = GLOBAL_OPT.target_tol
    n_starts: int = GLOBAL_OPT.n_starts
    temperature: float = GLOBAL_OPT.temperature
    step: float = GLOBAL_OPT.step
    widths: Sequence[float] = GLOBAL_OPT.widths
    p_smooth: float = GLOBAL_OPT.p_smooth
    patience: int | None = None
    gtol: float = GLOBAL_OPT.gtol
    width_gtol: float = GLOBAL_OPT.width_gtol
    polish_gtol: float | None = None
    maxiter: int = GLOBAL_OPT.maxiter
    radius: float | None = None
    minimizer: str | None = None
    homotopy_kwargs: dict | None = None
    length_scale: float = 1.0
    energy_scale: float = 1.0
    checkpoint_every: float = GLOBAL_OPT.checkpoint_every
    clock: str = GLOBAL_OPT.clock
    strategy: str = GLOBAL_OPT.strategy

    def replace(self, **changes) -> BHOptions:
        """A copy with ``changes``; an unknown name is a TypeError naming it."""
        names = {f.name for f in dataclasses.fields(self)}
        for name in changes:
            if name not in names:
                raise TypeError(f"global_minimize() got an unexpected keyword argument "
                                f"{name!r}")
        return dataclasses.replace(self, **changes)


def check_budget(budget, max_minimizations):
    """``budget`` is a count of quenches (alias of ``max_minimizations``), never seconds.

    Before issue 18 ``global_minimize(budget=)`` meant seconds; a float is refused rather
    than silently read as a count (``budget=2000`` once ran 395 s).
    """
    if budget is None:
        return max_minimizations
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
        raise TypeError(f"budget is a number of quenches (an int), got {budget!r}; for a "
                        "cap in seconds use time_limit= (budget meant seconds before "
                        "gausslj 0.x, issue 18)")
    if max_minimizations is not None:
        raise ValueError("budget and max_minimizations are the same option (quenches); "
                         "give one")
    warnings.warn(f"budget={budget} counts quenches (it meant seconds before issue 18); "
                  "pass max_minimizations= for quenches or time_limit= for seconds",
                  FutureWarning, stacklevel=4)
    return budget


def _stop_rule(o: BHOptions) -> StopRule:
    limit = None if o.time_limit is None else positive(o.time_limit, "time_limit")
    max_min = o.max_minimizations
    if max_min is not None:
        max_min = count(max_min, "max_minimizations", 1)
    elif limit is None:
        max_min = GLOBAL_OPT.max_minimizations
    target = o.target_energy
    if target is not None and not math.isfinite(float(target)):
        raise ValueError(f"target_energy must be finite, got {target!r}")
    return StopRule(max_min, limit, None if target is None else float(target),
                    float(o.target_tol))


def _ladder(widths, method: str) -> tuple[float, ...]:
    widths = tuple(check_width(w, "widths") for w in check_sequence(widths, "widths"))
    if any(w == 0 for w in widths):
        raise ValueError(f"widths must be positive, got {widths!r}")
    if method == "smoothed-bh" and not widths:
        raise ValueError("widths must not be empty for method='smoothed-bh'")
    check_non_increasing(widths, "widths")  # a ladder anneals: coarse to fine
    return widths


def check_options(o: BHOptions, method: str, n_atoms: int,
                  objective) -> tuple[BHSettings, StopRule]:
    """Validate ``o`` once; the run's :class:`BHSettings` and :class:`StopRule`."""
    if method not in GLOBAL_METHODS:
        raise ValueError(f"method must be one of {GLOBAL_METHODS}, got {method!r}")
    if o.clock not in ("wall", "process"):
        raise ValueError(f"clock must be 'wall' or 'process', got {o.clock!r}")
    if isinstance(o.p_smooth, (bool, str)) or not 0.0 <= float(o.p_smooth) <= 1.0:
        raise ValueError(f"p_smooth must be a number in [0, 1], got {o.p_smooth!r}")
    gtol = positive(o.gtol, "gtol")
    polish_gtol = o.polish_gtol
    if polish_gtol is None:  # a loose search polishes its new bests to scipy's default
        polish_gtol = 1e-5 if gtol > 1e-5 else 0.0
    elif polish_gtol != 0:
        polish_gtol = positive(polish_gtol, "polish_gtol")
    settings = BHSettings(
        method=method, n_atoms=n_atoms,
        temperature=positive(o.temperature, "temperature", strict=False),
        step=positive(o.step, "step"), widths=_ladder(o.widths, method),
        patience=(default_patience(n_atoms) if o.patience is None
                  else count(o.patience, "patience", 0)),
        gtol=gtol, width_gtol=positive(o.width_gtol, "width_gtol"),
        maxiter=count(o.maxiter, "maxiter", 1),
        radius=(container_radius(n_atoms) if o.radius is None
                else positive(o.radius, "radius")),
        length_scale=positive(o.length_scale, "length_scale"),
        energy_scale=positive(o.energy_scale, "energy_scale"),
        homotopy_kwargs=dict(o.homotopy_kwargs or {}),
        minimizer=resolve_minimizer(o.minimizer, objective),
        p_smooth=float(o.p_smooth), polish_gtol=float(polish_gtol),
    )
    return settings, _stop_rule(o)


def resolve_strategy(o: BHOptions, method: str, n_atoms: int, *, custom: list[str],
                     resumable: bool = False) -> str:
    """The strategy that runs: ``o.strategy``, or for ``'auto'`` the size's measured best.

    ``resumable`` (a ``state_file`` or ``resume`` was given): ``'auto'`` then never picks
    ``'pt-surface'``, which keeps no resumable state, and runs plain ``'displacement'``
    instead (the result's ``strategy`` says so).

    ``custom`` names what the caller supplied (``'take_step'``, ``'objective'``, ...). The
    per-size winners were measured on the built-in LJ in reduced units with the presets,
    so ``'auto'`` is plain ``'displacement'`` as soon as any of that differs; an explicit
    surface or tempering strategy there is a ValueError naming the conflict.
    """
    name = o.strategy
    if name not in GLOBAL_STRATEGIES:
        raise ValueError(f"strategy must be one of {GLOBAL_STRATEGIES}, got {name!r}")
    units = [k for k in ("length_scale", "energy_scale") if getattr(o, k) != 1.0]
    others = ([f"method={method!r}"] if method != "bh" else []) + list(custom) + units
    if name == "auto":
        name = "displacement" if others else best_strategy(n_atoms)
        if resumable and name == "pt-surface":
            name = "displacement"
    elif name != "displacement" and others:
        raise ValueError(f"strategy={name!r} runs the built-in LJ in reduced units with "
                         f"method='bh'; it cannot be combined with {', '.join(others)}")
    # the caller's own step, acceptance or quench ran: not one of the named walks
    return "custom" if set(custom) - {"objective"} else name
