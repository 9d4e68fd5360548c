"""Global minimization of Lennard-Jones clusters: the :func:`global_minimize` entry.

Three methods, each a preset of the strategies of the one basin-hopping loop
(:mod:`.basinhopping`: ``take_step``, ``accept_test``, ``quench``, ``callback``, any of them
replaceable by the caller's, scipy-style), on plain arrays in reduced units (lengths in
sigma, energies in epsilon) unless an objective and scales are given:

``'bh'``
    Basin hopping (Wales & Doye 1997) on the plain LJ: random displacement of every
    atom, an L-BFGS quench, an evaporation guard, Metropolis acceptance at
    ``temperature`` (``temperature=0`` is monotonic basin hopping), and a restart from a
    fresh random cluster after ``patience`` quenches without a new best.
``'smoothed-bh'``
    The same search, but every quench is two-phase (Locatelli & Schoen 2002): minimize
    the Gaussian-smoothed energy at each width of ``widths``, then the plain energy.
``'homotopy'``
    Repeated Gaussian homotopy continuation (:func:`.homotopy.homotopy_minimize`) from
    random starts, on the same objective, the best result kept; for comparison.

The budget is a number of quenches (``max_minimizations``, alias ``budget``: a count
everywhere in gausslj), so a seeded run repeats bit for bit; a time cap (``time_limit``,
seconds) and a target energy are optional extra stops. Defaults:
:data:`ase_gausslj.defaults.GLOBAL_OPT` (shared with ``gausslj optimize``).
Ctrl-C returns the best found so far (``interrupted=True``).
The layers: options in :mod:`.options` (:class:`BHOptions`, checked once here), strategies
in :mod:`.moves` and :mod:`.quench`, the loop in :mod:`.basinhopping`, resumable state in
:mod:`.checkpoint`, geometry in :mod:`.clusters`.

References
----------
.. [1] D. J. Wales and J. P. K. Doye, J. Phys. Chem. A 101, 5111 (1997).
.. [2] M. Locatelli and F. Schoen, Comput. Optim. Appl. 21, 55 (2002).
.. [3] A. Ram and S. Ram, ICML GenBio workshop (2025).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.defaults import R_CORE
from ..core.validation import check_positions, count, positive
from ..defaults import GLOBAL_METHODS, GLOBAL_OPT
from ..io import check_writable
from .basinhopping import Strategies, run_single
from .clusters import LJ_GLOBAL_MINIMA, container_radius, random_cluster
from .moves import evaporation_guard, metropolis_accept, random_displacement
from .options import BHOptions, check_budget, check_options, resolve_strategy
from .quench import Objective
from .results import GlobalOptResult, merge_runs

__all__ = [
    "METHODS",
    "BHOptions",
    "GlobalOptResult",
    "global_minimize",
    "random_cluster",
    "random_displacement",
    "evaporation_guard",
    "container_radius",
    "metropolis_accept",
    "LJ_GLOBAL_MINIMA",
]

METHODS = GLOBAL_METHODS
"""Names accepted by ``global_minimize(method=...)``."""


def _default_objective(r_core: float = R_CORE) -> Objective:
    from ..core.energy import SmoothedLJ  # lazy: keeps this module light to import

    return SmoothedLJ(r_core=r_core).energy_gradient


class _StopFlag:
    """Set by the first interrupted start so that a serial multistart stops there."""

    def __init__(self) -> None:
        self.set = False


def _run_start(flag: _StopFlag, *args) -> GlobalOptResult | None:
    if flag.set:
        return None
    res = run_single(*args)
    if res is None or res.interrupted:
        flag.set = True
    return res


def global_minimize(
    n_atoms_or_positions: int | np.ndarray,
    *,
    method: str = GLOBAL_OPT.method,
    options: BHOptions | None = None,
    take_step: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    accept_test: Callable[[float, float, np.random.Generator], bool] | None = None,
    quench: Any = None,
    callback: Callable[[np.ndarray, float, bool], Any] | None = None,
    seed: int | None = None,
    budget: int | None = None,
    executor: Any = None,
    state_file: str | os.PathLike | None = None,
    resume: dict | None = None,
    objective: Objective | None = None,
    progress: bool = False,
    **kwargs: Any,
) -> GlobalOptResult:
    """Search for the global minimum of an LJ cluster (reduced units by default).

    The search options are the fields of :class:`BHOptions` (``options=``), each also
    accepted as a keyword (``global_minimize(38, temperature=1.0)``; a keyword overrides
    ``options``). The four strategies of a step can be replaced, scipy-style (any left
    None is the ``method``'s preset, in the objective's units):

    Parameters
    ----------
    n_atoms_or_positions : int or array_like, shape (N, 3)
        Number of atoms (random start) or a starting structure.
    method : {'bh', 'smoothed-bh', 'homotopy'}
        The preset (see the module docstring): which quench, and whether every step is a
        fresh start (``'homotopy'``).
    options : BHOptions, optional
        The search options (defaults: :data:`ase_gausslj.defaults.GLOBAL_OPT`).
    take_step : callable, optional
        ``take_step(x, rng) -> x`` on positions (N, 3); default: every atom displaced
        uniformly in ``[-step, step]^3``.
    accept_test : callable, optional
        ``accept_test(e_new, e_old, rng) -> bool``; default: Metropolis at
        ``temperature``.
    quench : callable, optional
        ``quench(x, rng, deep=False) -> (x, e)``: the local search after a step
        (``deep=True`` for a fresh start); with a ``polish(x, e) -> (x, e)`` method it is
        applied to every new best. Default: the method's quench (L-BFGS to ``gtol``,
        evaporation guard, centring; ``'smoothed-bh'``: through ``widths`` first).
    callback : callable, optional
        ``callback(x, e, accepted)`` after every quench (``accepted``: whether the
        minimum became the current one); returning True stops the run
        (``stop_reason='callback'``).
    seed : int, optional
        Seed of the random generator; a multistart derives one seed per start from it.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run ``n_starts`` independent starts in parallel (anything with ``submit(fn, *args)``
        returning futures with ``result()``).
    state_file : path, optional
        JSON file with the resumable state (its directory is checked before the run):
        loaded if it exists, written every
        ``checkpoint_every`` seconds and at the end. For ``n_starts > 1`` one file per
        start, ``<state_file>.<k>``.
    resume : dict, optional
        A state (``result.state``) to continue from; ``budget`` and
        ``max_minimizations`` count from the very start of that run.
    objective : callable, optional
        ``objective(x_flat, width) -> (E, grad_flat)``; default
        ``SmoothedLJ().energy_gradient`` (all pairs, reduced units). Must be picklable
        for a process pool.
    progress : bool
        Show a tqdm progress bar (single start only).
    budget : int, optional
        Alias of ``BHOptions.max_minimizations`` (quenches). A non-integer ``budget`` (the
        seconds it meant before issue 18) is a TypeError pointing to ``time_limit``.
    **kwargs
        Any field of :class:`~ase_gausslj.optimize.options.BHOptions` (the search options,
        documented there: budget, time cap, target, temperature, step, widths, tolerances,
        units, ...); overrides the same field of ``options``.

    Returns
    -------
    GlobalOptResult
        The best result; for a multistart, ``runs`` holds every start. After Ctrl-C the
        best found so far, with ``interrupted=True`` (KeyboardInterrupt propagates only
        if no quench had finished).

    Raises
    ------
    ValueError
        For a bad option (named), an unwritable ``state_file`` directory (before the run),
        a ``resume`` state made with other settings, or a damaged state (file or
        ``resume``; named): every field is checked and the stored energies are recomputed
        from the stored positions, so a forged or mixed-up state is never returned.

    Examples
    --------
    >>> res = global_minimize(13, method="bh", max_minimizations=50, seed=0)  # doctest: +SKIP
    >>> round(res.energy, 4)  # doctest: +SKIP
    -44.3268
    """
    if isinstance(n_atoms_or_positions, (int, np.integer)):
        start, n_atoms = None, int(n_atoms_or_positions)
    else:
        start = check_positions(n_atoms_or_positions, "n_atoms_or_positions")
        n_atoms = start.shape[0]
    if n_atoms < 2:
        raise ValueError(f"n_atoms_or_positions must describe >= 2 atoms, got {n_atoms}")
    if options is not None and not isinstance(options, BHOptions):
        raise TypeError(f"options must be a BHOptions, got {type(options).__name__}")
    opts = (options or BHOptions()).replace(**kwargs)
    opts = opts.replace(max_minimizations=check_budget(budget, opts.max_minimizations))
    custom = [k for k, v in (("take_step", take_step), ("accept_test", accept_test),
                             ("quench", quench), ("objective", objective)) if v is not None]
    strategy = resolve_strategy(opts, method, n_atoms, custom=custom,
                                resumable=state_file is not None or resume is not None)
    objective = _default_objective() if objective is None else objective
    settings, stop = check_options(opts, method, n_atoms, objective)
    n_starts = count(GLOBAL_OPT.n_starts if opts.n_starts is None else opts.n_starts,
                     "n_starts", 1)
    if strategy == "pt-surface":
        return _tempering(settings, stop, seed, start, n_starts, opts.clock, callback,
                          executor, state_file, resume)
    if strategy == "surface":
        from .hard.surface import SurfaceMove  # lazy: keeps this module light to import

        take_step = SurfaceMove()
    strategies = Strategies.preset(settings, objective, take_step=take_step,
                                   accept_test=accept_test, quench=quench, callback=callback)
    res = _engine(settings, strategies, objective, seed, start, stop, n_starts, opts,
                  executor, state_file, resume, progress, method)
    res.strategy = strategy
    for r in res.runs:
        r.strategy = strategy
    return res


def _engine(settings, strategies, objective, seed, start, stop, n_starts, opts, executor,
            state_file, resume, progress, method) -> GlobalOptResult:
    """Run ``n_starts`` starts of the one basin-hopping loop (:func:`run_single`)."""
    state_file = None if state_file is None else os.fspath(check_writable(state_file,
                                                                          "state_file"))
    every = positive(opts.checkpoint_every, "checkpoint_every")
    if n_starts == 1:
        res = run_single(settings, strategies, objective, seed, start, stop, state_file,
                         resume, every, opts.clock, progress)
        if res is None:  # Ctrl-C before the first quench finished: nothing to return
            raise KeyboardInterrupt
        return res
    if resume is not None:
        raise ValueError("resume= is for a single start; use state_file= for a multistart")
    from ..parallel import map_jobs  # lazy: multiprocessing, for several starts only

    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n_starts)]
    flag = _StopFlag()
    jobs = [(flag, settings, strategies, objective, seeds[k], start, stop,
             None if state_file is None else f"{state_file}.{k}", None, every,
             opts.clock, False) for k in range(n_starts)]
    runs = [r for r in map_jobs(_run_start, jobs, executor=executor, partial=True)
            if r is not None]
    if not runs:
        raise KeyboardInterrupt
    return merge_runs(runs, method, interrupted=flag.set or len(runs) < n_starts)


def _tempering(settings, stop, seed, start, n_starts, clock, callback, executor, state_file,
               resume) -> GlobalOptResult:
    """``strategy='pt-surface'``: every start is :func:`.hard.tempering.parallel_tempering`
    (4 replicas, surface moves) on the compiled LJ quench with ``settings``' tolerances."""
    if state_file is not None or resume is not None:
        raise ValueError("strategy='pt-surface' keeps no resumable state: drop state_file/"
                         "resume, or pass strategy='surface' or 'displacement'")
    seeds = ([seed] if n_starts == 1 else [int(s.generate_state(1)[0]) for s in
                                           np.random.SeedSequence(seed).spawn(n_starts)])
    from ..parallel import map_jobs  # lazy: multiprocessing

    flag = _StopFlag()
    jobs = [(flag, settings, stop, s, start, clock, callback) for s in seeds]
    runs = [r for r in map_jobs(_tempering_start, jobs, executor=executor, partial=True)
            if r is not None]
    if not runs:
        raise KeyboardInterrupt
    if n_starts == 1:
        return runs[0]
    res = merge_runs(runs, settings.method, interrupted=flag.set or len(runs) < n_starts)
    res.strategy = "pt-surface"
    return res


def _tempering_start(flag: _StopFlag, settings, stop, seed, start, clock,
                     callback) -> GlobalOptResult | None:
    from .hard.budget import Budget
    from .hard.surface import SurfaceMove
    from .hard.tempering import parallel_tempering

    if flag.set:
        return None
    budget = Budget(cpu_limit=stop.time_limit, max_quenches=stop.max_minimizations,
                    target=stop.target_energy, target_tol=stop.target_tol)
    kw = dict(gtol=settings.gtol, maxiter=settings.maxiter, radius=settings.radius,
              polish_gtol=settings.polish_gtol)
    try:
        r = parallel_tempering(
            settings.n_atoms, budget, np.random.default_rng(seed), take_step=SurfaceMove(),
            quench_kwargs=kw, x0=start, callback=callback,
            clock=time.perf_counter if clock == "wall" else time.process_time)
    except KeyboardInterrupt:  # before the first quench finished
        flag.set = True
        return None
    reason = r.info["stop_reason"]
    if reason == "budget":
        reason = ("max_minimizations" if stop.max_minimizations is not None
                  and r.n_quenches >= stop.max_minimizations else "time_limit")
    flag.set = flag.set or reason == "interrupted"
    return GlobalOptResult(
        energy=float(r.energy), positions=np.asarray(r.positions).reshape(-1, 3),
        method=settings.method, seed=seed, n_minimizations=int(r.n_quenches), n_restarts=0,
        elapsed=float(r.cpu), trace=np.asarray(r.trace, dtype=np.float64).reshape(-1, 3),
        stop_reason=reason, interrupted=reason == "interrupted", strategy="pt-surface")
