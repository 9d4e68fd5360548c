"""Global minimization of Lennard-Jones clusters: the :func:`global_minimize` entry.

Three methods share one runner (:mod:`.basinhopping`), on plain arrays in reduced units
(lengths in sigma, energies in epsilon) unless an objective and scales are given:

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
The layers: strategies in :mod:`.moves` and :mod:`.quench`, the loop in
:mod:`.basinhopping`, resumable state in :mod:`.checkpoint`, geometry in :mod:`.clusters`.

References
----------
.. [1] D. J. Wales and J. P. K. Doye, J. Phys. Chem. A 101, 5111 (1997).
.. [2] M. Locatelli and F. Schoen, Comput. Optim. Appl. 21, 55 (2002).
.. [3] A. Ram and S. Ram, ICML GenBio workshop (2025).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.defaults import R_CORE
from ..core.validation import check_positions, check_sequence, check_width, count, positive
from ..defaults import GLOBAL_METHODS, GLOBAL_OPT
from ..io import check_writable
from ..parallel import map_jobs
from ..schedules import check_non_increasing
from .basinhopping import BHSettings, StopRule, run_single
from .clusters import LJ_GLOBAL_MINIMA, container_radius, random_cluster
from .local import resolve_minimizer
from .moves import evaporation_guard, metropolis_accept, random_displacement
from .quench import Objective
from .results import GlobalOptResult, merge_runs

__all__ = [
    "METHODS",
    "DEFAULT_WIDTHS",
    "DEFAULT_QUENCHES",
    "DEFAULT_TEMPERATURE",
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

# historical names of the defaults (one definition: ase_gausslj.defaults.GLOBAL_OPT)
DEFAULT_WIDTHS = GLOBAL_OPT.widths
DEFAULT_TEMPERATURE = GLOBAL_OPT.temperature
DEFAULT_QUENCHES = GLOBAL_OPT.max_minimizations


def __getattr__(name: str):
    # global_minimize_atoms moved to the ASE adapters; resolved lazily so that this module
    # never imports ASE (kept for ``ase_gausslj._EXPORTS`` and existing scripts)
    if name == "global_minimize_atoms":
        from ..adapters.optimizers import global_minimize_atoms

        return global_minimize_atoms
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _default_objective(r_core: float = R_CORE) -> Objective:
    from ..core.energy import SmoothedLJ  # lazy: keeps this module light to import

    return SmoothedLJ(r_core=r_core).energy_gradient


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
                  FutureWarning, stacklevel=3)
    return budget


def _stop_rule(max_minimizations, time_limit, target_energy, target_tol) -> StopRule:
    limit = None if time_limit is None else positive(time_limit, "time_limit")
    if max_minimizations is not None:
        max_minimizations = count(max_minimizations, "max_minimizations", 1)
    elif limit is None:
        max_minimizations = GLOBAL_OPT.max_minimizations
    if target_energy is not None and not math.isfinite(float(target_energy)):
        raise ValueError(f"target_energy must be finite, got {target_energy!r}")
    return StopRule(max_minimizations, limit,
                    None if target_energy is None else float(target_energy),
                    float(target_tol))


def _settings(method, n_atoms, temperature, step, widths, patience, gtol, width_gtol,
              maxiter, radius, length_scale, energy_scale, homotopy_kwargs,
              minimizer, objective, p_smooth, polish_gtol) -> BHSettings:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    temperature = positive(temperature, "temperature", strict=False)
    widths = tuple(check_width(w, "widths") for w in check_sequence(widths, "widths"))
    if any(w == 0 for w in widths):
        raise ValueError(f"widths must be positive, got {widths!r}")
    if method == "smoothed-bh" and not widths:
        raise ValueError("widths must not be empty for method='smoothed-bh'")
    check_non_increasing(widths, "widths")  # a ladder anneals: coarse to fine
    patience = max(100, 5 * n_atoms) if patience is None else count(patience, "patience", 0)
    if isinstance(p_smooth, (bool, str)) or not 0.0 <= float(p_smooth) <= 1.0:
        raise ValueError(f"p_smooth must be a number in [0, 1], got {p_smooth!r}")
    gtol = positive(gtol, "gtol")
    if polish_gtol is None:  # a loose search polishes its new bests to scipy's default
        polish_gtol = 1e-5 if gtol > 1e-5 else 0.0
    elif polish_gtol != 0:
        polish_gtol = positive(polish_gtol, "polish_gtol")
    return BHSettings(
        method=method, n_atoms=n_atoms, temperature=float(temperature),
        step=positive(step, "step"), widths=widths, patience=patience,
        gtol=gtol, width_gtol=positive(width_gtol, "width_gtol"),
        maxiter=count(maxiter, "maxiter", 1),
        radius=container_radius(n_atoms) if radius is None else positive(radius, "radius"),
        length_scale=positive(length_scale, "length_scale"),
        energy_scale=positive(energy_scale, "energy_scale"),
        homotopy_kwargs=dict(homotopy_kwargs or {}),
        minimizer=resolve_minimizer(minimizer, objective),
        p_smooth=float(p_smooth), polish_gtol=float(polish_gtol),
    )


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
    max_minimizations: int | None = None,
    budget: int | None = None,
    time_limit: float | None = None,
    seed: int | None = None,
    executor: Any = None,
    n_starts: int = GLOBAL_OPT.n_starts,
    temperature: float = GLOBAL_OPT.temperature,
    step: float = GLOBAL_OPT.step,
    widths: Sequence[float] = GLOBAL_OPT.widths,
    patience: int | None = None,
    gtol: float = GLOBAL_OPT.gtol,
    width_gtol: float = GLOBAL_OPT.width_gtol,
    maxiter: int = GLOBAL_OPT.maxiter,
    radius: float | None = None,
    target_energy: float | None = None,
    target_tol: float = GLOBAL_OPT.target_tol,
    state_file: str | os.PathLike | None = None,
    resume: dict | None = None,
    checkpoint_every: float = GLOBAL_OPT.checkpoint_every,
    clock: str = GLOBAL_OPT.clock,
    objective: Objective | None = None,
    length_scale: float = 1.0,
    energy_scale: float = 1.0,
    homotopy_kwargs: dict | None = None,
    minimizer: str | None = None,
    p_smooth: float = GLOBAL_OPT.p_smooth,
    polish_gtol: float | None = None,
    progress: bool = False,
) -> GlobalOptResult:
    """Search for the global minimum of an LJ cluster (reduced units by default).

    Parameters
    ----------
    n_atoms_or_positions : int or array_like, shape (N, 3)
        Number of atoms (random start) or a starting structure.
    method : {'bh', 'smoothed-bh', 'homotopy'}
        Search method (see the module docstring).
    max_minimizations, budget : int, optional
        The budget (one option, two names): stop after this many quenches per start
        (homotopy runs for ``'homotopy'``). Default ``GLOBAL_OPT.max_minimizations``
        (1000) unless ``time_limit`` is given. With a seed, a run that stops here (or at
        ``target_energy``) repeats bit for bit. A non-integer ``budget`` (the seconds it
        meant before issue 18) is a TypeError pointing to ``time_limit``.
    time_limit : float, optional
        An optional cap in seconds per start (on ``clock``). A run stopped by it is not
        repeatable.
        It is checked between quenches, after the first: an expired cap ends the run
        normally (``stop_reason='time_limit'``) with at least one quench's result.
    seed : int, optional
        Seed of the random generator; a multistart derives one seed per start from it.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run ``n_starts`` independent starts in parallel (anything with ``submit(fn, *args)``
        returning futures with ``result()``).
    n_starts : int, optional
        Number of independent starts (default 1). Without ``executor`` they run one
        after another.
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
    state_file : path, optional
        JSON file with the resumable state (its directory is checked before the run):
        loaded if it exists, written every
        ``checkpoint_every`` seconds and at the end. For ``n_starts > 1`` one file per
        start, ``<state_file>.<k>``.
    resume : dict, optional
        A state (``result.state``) to continue from; ``budget`` and
        ``max_minimizations`` count from the very start of that run.
    checkpoint_every : float
        Seconds between state saves.
    clock : {'wall', 'process'}
        ``'wall'`` measures ``time_limit`` with :func:`time.perf_counter`; ``'process'`` with
        :func:`time.process_time` (CPU seconds of the worker, fair on shared machines).
    objective : callable, optional
        ``objective(x_flat, width) -> (E, grad_flat)``; default
        ``SmoothedLJ().energy_gradient`` (all pairs, reduced units). Must be picklable
        for a process pool.
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
    progress : bool
        Show a tqdm progress bar (single start only).

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
    if objective is None:
        objective = _default_objective()
    settings = _settings(method, n_atoms, temperature, step, widths, patience, gtol,
                         width_gtol, maxiter, radius, length_scale, energy_scale,
                         homotopy_kwargs, minimizer, objective, p_smooth, polish_gtol)
    max_minimizations = check_budget(budget, max_minimizations)
    stop = _stop_rule(max_minimizations, time_limit, target_energy, target_tol)
    if clock not in ("wall", "process"):
        raise ValueError(f"clock must be 'wall' or 'process', got {clock!r}")
    n_starts = GLOBAL_OPT.n_starts if n_starts is None else count(n_starts, "n_starts", 1)
    state_file = None if state_file is None else os.fspath(check_writable(state_file,
                                                                          "state_file"))
    checkpoint_every = positive(checkpoint_every, "checkpoint_every")
    if n_starts == 1:
        res = run_single(settings, objective, seed, start, stop, state_file, resume,
                         checkpoint_every, clock, progress)
        if res is None:  # Ctrl-C before the first quench finished: nothing to return
            raise KeyboardInterrupt
        return res
    if resume is not None:
        raise ValueError("resume= is for a single start; use state_file= for a multistart")
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n_starts)]
    flag = _StopFlag()
    jobs = [(flag, settings, objective, seeds[k], start, stop,
             None if state_file is None else f"{state_file}.{k}", None, checkpoint_every,
             clock, False) for k in range(n_starts)]
    runs = [r for r in map_jobs(_run_start, jobs, executor=executor, partial=True) if r is not None]
    if not runs:
        raise KeyboardInterrupt
    return merge_runs(runs, method, interrupted=flag.set or len(runs) < n_starts)
