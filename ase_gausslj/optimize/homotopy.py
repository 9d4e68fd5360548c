"""Gaussian homotopy (width annealing) minimization.

Two layers over one idea — minimize the smoothed energy ``E_s`` at a decreasing sequence
of widths, each stage seeded by the previous one, and finish on the unsmoothed energy:

* :func:`homotopy_minimize` works on plain ``(N, 3)`` arrays in any consistent units
  (reduced LJ units by default) and is the fast path the benchmarks use; it implements
  the paper's protocol exactly (``protocol='paper'``), a fixed-budget variant
  (``protocol='budget'``) and an L-BFGS default. :func:`multistart` runs it over seeds
  through any :class:`concurrent.futures.Executor`.
* :class:`GaussianHomotopy` drives an ASE :class:`~ase.Atoms` whose calculator has a
  ``width`` parameter (e.g. :class:`~ase_gausslj.calculator.GaussianLJ`) with any ASE
  optimizer class per width.

References
----------
.. [1] A. Ram and S. Ram, "Analytic Gaussian Convolution for Faster Molecular
   Optimization and Sampling", ICML GenBio workshop (2025), Sec. 5.1 and App. D.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field

import numpy as np

from ..core.validation import check_positions
from ..schedules import GeometricSchedule, PlateauSchedule, WidthSchedule, as_schedule

__all__ = [
    "StageRecord",
    "HomotopyResult",
    "MultistartResult",
    "homotopy_minimize",
    "multistart",
    "GaussianHomotopy",
    "limit_blas_threads",
    "add_cli",
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

_OPTIMIZERS = ("lbfgs", "fire", "adam")
_PROTOCOLS = (None, "paper", "budget")


@contextlib.contextmanager
def limit_blas_threads(n: int = 1):
    """Limit BLAS threads (via threadpoolctl when installed; otherwise a no-op).

    scipy's L-BFGS-B on a small shared machine ran 25x slower with multithreaded
    BLAS; set ``OPENBLAS_NUM_THREADS=1`` before starting Python if threadpoolctl is
    not available.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


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

    @property
    def widths_visited(self) -> int:
        """Number of stages (distinct widths) the run visited, width 0 included."""
        return len(self.history)

    def to_dict(self, positions: bool = False) -> dict:
        """JSON-friendly dictionary (positions omitted unless asked for)."""
        d = asdict(self)
        d["widths_visited"] = self.widths_visited
        if positions:
            d["positions"] = self.positions.tolist()
        else:
            d.pop("positions")
        return d


@dataclass
class MultistartResult:
    """Outcome of :func:`multistart`: all runs, best first."""

    results: list[HomotopyResult] = field(default_factory=list)

    @property
    def best(self) -> HomotopyResult:
        """The run with the lowest final energy."""
        return self.results[0]

    @property
    def energies(self) -> np.ndarray:
        """Final energies, sorted ascending."""
        return np.array([r.energy for r in self.results])


# --------------------------------------------------------------------------------------
# inner minimizers on flat arrays: f(x) -> (E, grad)
# --------------------------------------------------------------------------------------
def _adam(fg, x, *, lr, steps, patience, lr_factor, gtol, eps=1e-8, b1=0.9, b2=0.999):
    """Adam (torch semantics) with a plateau LR rule; keeps the best configuration.

    Stops after ``steps`` updates or when ``||grad|| < gtol``. Returns
    ``(x_best, e_best, g_best_norm, steps_done, n_evals, triggered)``.
    """
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    best_e, best_x, best_gn = math.inf, x.copy(), math.inf
    bad = 0
    t = 0
    n_evals = 0
    triggered = False
    while True:
        e, g = fg(x)
        n_evals += 1
        gn = float(np.sqrt(g @ g))
        if e < best_e:
            best_e, best_x, best_gn, bad = float(e), x.copy(), gn, 0
        else:
            bad += 1
            if bad > patience:
                lr *= lr_factor
                bad = 0
        if gn < gtol:
            triggered = True
            break
        if t >= steps:
            break
        t += 1
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        mhat = m / (1.0 - b1**t)
        vhat = v / (1.0 - b2**t)
        x = x - lr * mhat / (np.sqrt(vhat) + eps)
    return best_x, best_e, best_gn, t, n_evals, triggered


def _fire(fg, x, *, steps, gtol, dt=0.1, maxstep=0.2, dtmax=1.0, nmin=5, finc=1.1,
          fdec=0.5, astart=0.1, fa=0.99):
    """FIRE (Bitzek et al. 2006, unit masses) on a flat array."""
    v = np.zeros_like(x)
    a, n_pos = astart, 0
    t, n_evals = 0, 0
    while True:
        e, g = fg(x)
        n_evals += 1
        gn = float(np.sqrt(g @ g))
        if gn < gtol or t >= steps:
            return x, float(e), gn, t, n_evals, gn < gtol
        t += 1
        f = -g
        vf = float(v @ f)
        if vf > 0.0:
            v = (1.0 - a) * v + a * f / gn * float(np.sqrt(v @ v))
            if n_pos > nmin:
                dt = min(dt * finc, dtmax)
                a *= fa
            n_pos += 1
        else:
            v[:] = 0.0
            a, n_pos = astart, 0
            dt *= fdec
        v = v + dt * f
        dr = dt * v
        norm = float(np.sqrt(dr @ dr))
        if norm > maxstep:
            dr *= maxstep / norm
        x = x + dr


def _lbfgs(fg, x, *, steps, gtol):
    """scipy L-BFGS-B (BLAS threads limited to one)."""
    from scipy.optimize import minimize

    with limit_blas_threads(1):
        res = minimize(fg, x, jac=True, method="L-BFGS-B",
                       options={"maxiter": int(steps), "gtol": gtol, "ftol": 1e-13,
                                "maxcor": 20})
    g = np.asarray(res.jac)
    gn = float(np.sqrt(g @ g))
    return np.asarray(res.x), float(res.fun), gn, int(res.nit), int(res.nfev), gn < gtol or (
        res.status == 0)


def _resolve(protocol, optimizer, widths, max_steps, steps_per_width, final_steps, gtol, lr):
    if protocol not in _PROTOCOLS:
        raise ValueError(f"protocol must be one of {_PROTOCOLS}, got {protocol!r}")
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
        optimizer = optimizer or "lbfgs"
        lr = 0.1 if lr is None else lr
        gtol = 1e-5 if gtol is None else gtol
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {_OPTIMIZERS}, got {optimizer!r}")
    schedule = as_schedule(widths)
    n_stages = len(schedule)
    if protocol == "budget":
        # the paper's total budget split evenly over the widths (width 0 included)
        per = max(1, int(max_steps) // n_stages)
        steps_per_width = per if steps_per_width is None else steps_per_width
        if final_steps is None:
            final_steps = max(1, int(max_steps) - per * (n_stages - 1))
    else:
        if steps_per_width is None:
            steps_per_width = 1000 if optimizer == "lbfgs" else 2000
        if final_steps is None:
            final_steps = 10_000 if protocol is None else steps_per_width
    for name, val in (("steps_per_width", steps_per_width), ("final_steps", final_steps)):
        if int(val) != val or val < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {val!r}")
    if not (gtol > 0 and math.isfinite(gtol)):
        raise ValueError(f"gtol must be a positive finite number, got {gtol!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    return (optimizer, schedule, max_steps, int(steps_per_width), int(final_steps),
            float(gtol), float(lr))


def homotopy_minimize(
    positions,
    *,
    widths=None,
    optimizer: str | None = None,
    epsilon=1.0,
    sigma=1.0,
    r_core: float = 0.8,
    width_max: float = 2.0,
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
        Default: the paper's widths ``1.0 * 0.95**k`` down to 0.025, then 0 (with the
        gradient trigger for ``protocol='paper'``).
    optimizer : {'lbfgs', 'fire', 'adam'}, optional
        Inner minimizer; default ``'adam'`` for the paper/budget protocols, otherwise
        ``'lbfgs'``.
    epsilon, sigma : float or array_like (N,)
        LJ parameters (Lorentz-Berthelot for per-atom arrays); lengths and widths are
        in the units of ``sigma``.
    r_core : float
        Core radius in units of sigma (default 0.8).
    width_max : float
        Largest reduced width of the table (default 2.0).
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
        Total step budget (``'paper'``/``'budget'``; default 10,000).
    steps_per_width : int, optional
        Step cap per smoothed width (``'budget'``: ``max_steps // len(schedule)``).
    final_steps : int, optional
        Step cap at width 0.
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

    Returns
    -------
    HomotopyResult

    Examples
    --------
    >>> res = homotopy_minimize(13, seed=0)
    >>> round(res.energy, 3)  # doctest: +SKIP
    -44.327
    """
    from ..core.energy import SmoothedLJ  # deferred: heavy

    if isinstance(positions, (int, np.integer)) and not isinstance(positions, bool):
        if positions < 2:
            raise ValueError(f"positions: need at least 2 atoms, got {positions}")
        x0 = np.random.default_rng(seed).standard_normal((int(positions), 3))
    else:
        x0 = check_positions(positions, "positions")
    optimizer, schedule, max_steps, spw, final_steps, gtol, lr = _resolve(
        protocol, optimizer, widths, max_steps, steps_per_width, final_steps, gtol, lr)
    driver = SmoothedLJ(epsilon, sigma, r_core=r_core, width_max=width_max)
    t0 = time.perf_counter()
    shape = x0.shape

    def fg_at(w):
        return lambda x: driver.energy_gradient(x, w)

    def lj(x):
        e, g = driver.energy_gradient(x, 0.0)
        return float(e), float(np.sqrt(g @ g))

    def stage(w, x, steps, trig_gtol):
        fg = fg_at(w)
        if optimizer == "adam":
            return _adam(fg, x, lr=lr, steps=steps, patience=patience, lr_factor=lr_factor,
                         gtol=trig_gtol)
        if optimizer == "fire":
            return _fire(fg, x, steps=steps, gtol=trig_gtol)
        return _lbfgs(fg, x, steps=steps, gtol=trig_gtol)

    history: list[StageRecord] = []
    x = x0.reshape(-1).copy()
    total = 0

    def record(w, res):
        x_best, e_best, gn, steps, nev, conv = res
        e_lj = float(e_best) if w == 0.0 else lj(x_best)[0]
        rec = StageRecord(float(w), int(steps), int(nev), float(e_best), e_lj, float(gn),
                          bool(conv))
        history.append(rec)
        if callback is not None:
            callback(rec)
        return x_best

    if protocol == "paper":
        # one shared budget; the width advances only when the gradient trigger fires
        ws = list(schedule.widths)
        k = 0
        while True:
            w = ws[k]
            res = stage(w, x, max(0, int(max_steps) - total), gtol)
            total += res[3]
            x = record(w, res)
            fired = res[5]
            if not fired or k == len(ws) - 1 or total >= max_steps:
                break
            k += 1
    else:
        ws = list(schedule.widths)
        for k, w in enumerate(ws):
            steps = final_steps if k == len(ws) - 1 else spw
            res = stage(w, x, steps, gtol)
            total += res[3]
            x = record(w, res)
    if polish:
        res = _lbfgs(fg_at(0.0), x, steps=10_000, gtol=1e-6)
        total += res[3]
        x = record(0.0, res)

    e, gn = lj(x)
    return HomotopyResult(
        positions=x.reshape(shape), energy=e, grad_norm=gn, history=history,
        reached_zero=history[-1].width == 0.0, n_steps=total,
        n_evals=sum(h.n_evals for h in history), wall_time=time.perf_counter() - t0,
        protocol=protocol, optimizer=optimizer, seed=seed)


def _run_seed(n_or_positions, seed, kwargs):
    return homotopy_minimize(n_or_positions, seed=seed, **kwargs)


def multistart(
    positions,
    *,
    seeds: int | Sequence[int] = 5,
    executor: Executor | None = None,
    progress: bool = False,
    **kwargs,
) -> MultistartResult:
    """Run :func:`homotopy_minimize` from several random starts.

    Parameters
    ----------
    positions : int or array_like (R, N, 3)
        Number of atoms (random ``N(0, 1)`` starts, one per seed) or explicit starts.
    seeds : int or sequence of int
        ``range(seeds)`` or the seeds themselves (one run each). Ignored for explicit
        starts except as labels.
    executor : concurrent.futures.Executor, optional
        Where to run: ``None`` runs serially in-process; a
        :class:`~concurrent.futures.ProcessPoolExecutor` uses local cores; a
        ``dask.distributed`` ``client.get_executor()`` spreads over a cluster.
    progress : bool
        Show a tqdm progress bar.
    **kwargs
        Passed to :func:`homotopy_minimize`.

    Returns
    -------
    MultistartResult
        All runs, sorted by final energy (``.best`` is the lowest).
    """
    if isinstance(positions, (int, np.integer)) and not isinstance(positions, bool):
        seeds = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else list(seeds)
        jobs = [(int(positions), s) for s in seeds]
    else:
        starts = check_positions(positions, "positions", batched=True)
        seeds = (list(range(len(starts))) if isinstance(seeds, (int, np.integer))
                 else list(seeds))
        if len(seeds) != len(starts):
            raise ValueError(f"seeds: need {len(starts)} labels, got {len(seeds)}")
        jobs = [(starts[i], s) for i, s in enumerate(seeds)]
    if not jobs:
        raise ValueError("seeds: need at least one run")
    from tqdm.auto import tqdm

    results: list[HomotopyResult] = []
    bar = tqdm(total=len(jobs), disable=not progress, desc="multistart")
    if executor is None:
        for p, s in jobs:
            results.append(_run_seed(p, s, kwargs))
            bar.update()
    else:
        futures = [executor.submit(_run_seed, p, s, kwargs) for p, s in jobs]
        for fut in futures:
            results.append(fut.result())
            bar.update()
    bar.close()
    results.sort(key=lambda r: r.energy)
    return MultistartResult(results)


# --------------------------------------------------------------------------------------
# ASE driver
# --------------------------------------------------------------------------------------
class GaussianHomotopy:
    """ASE-optimizer-like Gaussian homotopy over an :class:`~ase.Atoms`.

    For each width of the schedule, sets ``atoms.calc.set(width=w)`` and runs an inner
    ASE optimizer; finishes at width 0.

    Parameters
    ----------
    atoms : ase.Atoms
        With a calculator that has a ``width`` parameter (e.g. ``GaussianLJ``).
    optimizer : type, optional
        An ASE optimizer class (``FIRE`` (default), ``BFGS``, ``LBFGS``, ``MDMin``,
        ``GPMin``, ``BFGSLineSearch``, ...), instantiated once per width.
    widths : schedule spec, optional
        Widths in Å (the calculator's length unit); default the paper's geometric
        widths scaled by the calculator's ``sigma`` when it is a single number
        (``sigma * 0.95**k`` down to ``0.025 sigma``), then 0.
    logfile : str, file or None
        ``'-'`` (default) for stdout, a path, or None; shared by all stages.
    trajectory : str, Trajectory or None
        One trajectory over all stages.
    optimizer_kwargs : dict, optional
        Extra keywords for the optimizer class.
    fmax_smoothed : float, optional
        Force tolerance (eV/Å) at the smoothed widths; default the ``fmax`` of
        :meth:`run`.
    steps_per_width : int, optional
        Step cap at each smoothed width; default the ``steps`` of :meth:`run`.

    Attributes
    ----------
    stages : list of dict
        Per width: ``width``, ``energy`` (at that width), ``steps``, ``converged``.
    """

    def __init__(self, atoms, optimizer=None, widths=None, *, logfile="-", trajectory=None,
                 optimizer_kwargs=None, fmax_smoothed: float | None = None,
                 steps_per_width: int | None = None):
        calc = atoms.calc
        if calc is None or "width" not in getattr(calc, "parameters", {}):
            raise ValueError("atoms: its calculator must have a 'width' parameter "
                             "(e.g. GaussianLJ)")
        if optimizer is None:
            from ase.optimize import FIRE

            optimizer = FIRE
        if not callable(optimizer):
            raise ValueError(f"optimizer must be an ASE optimizer class, got {optimizer!r}")
        if widths is None:
            sig = calc.parameters.get("sigma", 1.0)
            sig = list(sig.values()) if isinstance(sig, dict) else sig
            scale = float(np.max(sig))
            widths = GeometricSchedule(scale, 0.95, 0.025 * scale)
        self.atoms = atoms
        self.optimizer = optimizer
        self.schedule: WidthSchedule = as_schedule(widths)
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.fmax_smoothed = fmax_smoothed
        self.steps_per_width = steps_per_width
        self.observers: list = []
        self.stages: list[dict] = []
        self.nsteps = 0
        self._logfile = logfile
        self._trajectory = trajectory

    def attach(self, function, interval: int = 1, *args, **kwargs) -> None:
        """Attach an observer to every inner optimizer (ASE semantics)."""
        self.observers.append((function, interval, args, kwargs))

    def _log(self, fd, msg: str) -> None:
        if fd is not None:
            fd.write(msg + "\n")
            fd.flush()

    def run(self, fmax: float = 0.05, steps: int = 1000) -> bool:
        """Anneal through the schedule.

        Parameters
        ----------
        fmax : float
            Force tolerance (eV/Å) of the final, unsmoothed stage (and of the smoothed
            stages unless ``fmax_smoothed`` was given).
        steps : int
            Maximum optimizer steps per width (``steps_per_width`` overrides it for the
            smoothed widths).

        Returns
        -------
        bool
            Whether the final (width 0) stage converged to ``fmax``.
        """
        from ase.io.trajectory import Trajectory

        if not fmax > 0:
            raise ValueError(f"fmax must be > 0, got {fmax!r}")
        if int(steps) != steps or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        own_log = isinstance(self._logfile, str) and self._logfile != "-"
        fd = (sys.stdout if self._logfile == "-" else
              open(self._logfile, "a") if own_log else self._logfile)  # noqa: SIM115
        traj = self._trajectory
        own_traj = isinstance(traj, str)
        if own_traj:
            traj = Trajectory(traj, "w", self.atoms)
        converged = False
        try:
            ws = list(self.schedule.widths)
            for k, w in enumerate(ws):
                final = k == len(ws) - 1
                self.atoms.calc.set(width=w)
                f_tol = fmax if (final or self.fmax_smoothed is None) else self.fmax_smoothed
                n = steps if (final or self.steps_per_width is None) else self.steps_per_width
                self._log(fd, f"GaussianHomotopy: stage {k + 1}/{len(ws)} width {w:.6g}")
                opt = self.optimizer(self.atoms, logfile=fd, trajectory=traj,
                                     **self.optimizer_kwargs)
                for function, interval, args, kwargs in self.observers:
                    opt.attach(function, interval, *args, **kwargs)
                conv = bool(opt.run(fmax=f_tol, steps=n))
                self.nsteps += opt.nsteps
                e = float(self.atoms.get_potential_energy())
                self.stages.append({"width": float(w), "energy": e, "steps": int(opt.nsteps),
                                    "converged": conv})
                converged = conv if final else converged
        finally:
            if own_traj:
                traj.close()
            if own_log:
                fd.close()
        return converged


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def add_cli(subparsers) -> None:
    """Add the ``homotopy`` subcommand to an :mod:`argparse` subparsers object."""
    p = subparsers.add_parser(
        "homotopy", help="Gaussian homotopy minimization of an LJ cluster (reduced units)",
        description="Minimize an N-atom LJ cluster from random N(0,1) starts by annealing "
                    "the Gaussian width (Ram & Ram 2025).")
    p.add_argument("n_atoms", type=int, help="number of atoms")
    p.add_argument("--runs", type=int, default=5, help="number of random starts (seeds)")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--protocol", choices=["default", "paper", "budget"], default="default")
    p.add_argument("--optimizer", choices=list(_OPTIMIZERS), default=None)
    p.add_argument("--no-homotopy", action="store_true",
                   help="plain minimization at width 0 (the baseline)")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--polish", action="store_true", help="final L-BFGS at width 0")
    p.add_argument("--workers", type=int, default=1, help="process pool size")
    p.add_argument("--json", default=None, help="write results to this JSON file")
    p.set_defaults(func=_cli_main)


def _cli_main(args) -> int:
    kwargs = {
        "protocol": None if args.protocol == "default" else args.protocol,
        "optimizer": args.optimizer,
        "max_steps": args.max_steps,
        "polish": args.polish,
    }
    if args.no_homotopy:
        kwargs["widths"] = [0.0]
    seeds = list(range(args.seed, args.seed + args.runs))
    if args.workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.workers) as ex:
            ms = multistart(args.n_atoms, seeds=seeds, executor=ex, progress=True, **kwargs)
    else:
        ms = multistart(args.n_atoms, seeds=seeds, progress=True, **kwargs)
    for r in sorted(ms.results, key=lambda r: r.seed):
        print(f"seed {r.seed}: E = {r.energy:.4f}  widths visited {r.widths_visited}  "
              f"steps {r.n_steps}  {r.wall_time:.1f} s")
    e = ms.energies
    print(f"best {e.min():.4f}  median {np.median(e):.4f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([r.to_dict() for r in ms.results], fh, indent=1)
    return 0
