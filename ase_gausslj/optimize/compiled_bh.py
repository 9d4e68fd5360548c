"""A lean basin-hopping loop for LJ clusters, compiled with numba.

The rules are those of :mod:`ase_gausslj.optimize.globalopt` (``'bh'`` and
``'smoothed-bh'``): every atom displaced uniformly in ``[-step, step]^3``; a quench (for
smoothed BH, L-BFGS at each width of ``widths`` with ``width_gtol``, then at width 0 with
``gtol``); the evaporation guard (atoms farther than ``radius`` from the median centre are
put back on the surface of the bound atoms, in a random direction, and the cluster is
quenched again, at most three times); centring; Metropolis acceptance at ``temperature``;
a new best needs a drop of 1e-7; after ``patience`` quenches without a new best the walk
restarts from a fresh random cluster.

What differs is where it runs: a chunk of steps runs in one numba call
(:func:`~ase_gausslj.optimize.compiled_steps.bh_chunk`), so a step costs its quench plus
a few microseconds. Random numbers come from a ``numpy.random.Generator`` seeded once and
drawn in fixed-shape blocks per chunk (displacements, acceptance uniforms, smoothing
picks, guard directions), so a run is repeatable bit for bit for a seed and a number of
quenches; a CPU-time cap (``time_limit``) (checked between chunks) only decides where a run stops.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .compiled import NORMS, _positive, kernel_args
from .compiled_steps import (
    _ENERGY_TOL,
    _GUARD_ROUNDS,
    _guard,  # noqa: F401  (historical location, used by tests)
    bh_chunk,
    lj_quench,
    polish,
)

__all__ = ["LeanBHResult", "bh_chunk", "lean_basin_hopping", "lj_quench"]


@dataclass
class LeanBHResult:
    """Outcome of :func:`lean_basin_hopping` (reduced units of the potential).

    ``trace`` rows are ``(cpu_seconds, n_quenches, best_energy)`` at each new best; times
    are those at the end of the chunk that found the best (exact for the last one when
    the run stopped on ``target_energy``).
    """

    energy: float
    positions: np.ndarray
    n_quenches: int
    n_restarts: int
    n_fev: int
    elapsed: float
    trace: np.ndarray
    stop_reason: str

    def time_to_energy(self, target: float, tol: float = 1e-4) -> float | None:
        """First CPU time at which the best energy was ``<= target + tol``, else None."""
        hit = np.nonzero(self.trace[:, 2] <= target + tol)[0] if len(self.trace) else []
        return float(self.trace[hit[0], 0]) if len(hit) else None


def _random_cluster(n, rng, density=0.9):
    """``globalopt.random_cluster``: uniform points in the sphere of ``n`` at ``density``."""
    radius = (3.0 * n / (4.0 * math.pi * density)) ** (1.0 / 3.0)
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v * (radius * rng.random(n) ** (1.0 / 3.0))[:, None]


def _probability(value, name):
    if isinstance(value, (bool, str)) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _choice(value, name, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


@dataclass
class _Config:
    """Validated settings of one run; ``qargs`` are the trailing arguments of lj_quench."""

    n: int
    step: float
    temperature: float
    patience: int
    max_quenches: int | None
    time_limit: float | None
    target: float
    chunk: int
    n_smooth: int
    p_smooth: float
    ladder: str
    restart: str
    polish_gtol: float
    head: tuple  # (types, nspec, phases): the arguments of lj_quench before the picks
    qargs: tuple  # the arguments of lj_quench after the picks (but the guard normals)

    def picks(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """The smoothed phases ``[p0, p1)`` of ``k`` quenches (no draws when fixed)."""
        out = np.zeros((k, 2), dtype=np.int64)
        if self.n_smooth == 0 or self.p_smooth == 0.0:
            return out
        if self.ladder == "one":  # one width of the ladder per quench, uniformly
            p = rng.integers(self.n_smooth, size=k)
            out[:, 0], out[:, 1] = p, p + 1
        else:
            out[:, 1] = self.n_smooth
        if self.p_smooth < 1.0:  # an occasional smoothed quench; the others plain
            out[rng.random(k) >= self.p_smooth] = 0
        return out


def lean_basin_hopping(
    n_atoms: int,
    *,
    seed: int | None = None,
    temperature: float = 0.8,
    step: float = 0.4,
    widths=(),
    width_gtol: float = 1e-3,
    gtol: float = 1e-5,
    max_iter: int = 2000,
    patience: int | None = None,
    radius: float | None = None,
    max_quenches: int | None = None,
    time_limit: float | None = None,
    target_energy: float | None = None,
    target_tol: float = 1e-4,
    chunk: int = 16,
    potential=None,
    memory: int = 10,
    maxstep: float = 0.5,
    max_rise: float = 1e-4,
    p_smooth: float = 1.0,
    ladder: str = "all",
    smooth_iter: int | None = None,
    restart: str = "random",
    polish_gtol: float | None = None,
) -> LeanBHResult:
    """Basin hopping (``widths=()``) or smoothed basin hopping on an LJ cluster, compiled.

    Parameters
    ----------
    n_atoms : int
        Cluster size, >= 2.
    seed : int, optional
        Seed of the ``numpy.random.Generator`` (starts, moves, acceptance, guard).
    temperature, step, patience, radius, gtol, width_gtol, max_iter :
        As in :func:`ase_gausslj.optimize.globalopt.global_minimize` (``patience`` default
        ``max(100, 5 N)``, 0 disables restarts; ``radius`` default: packing radius at
        density 0.9 plus 2 sigma; ``max_iter`` per L-BFGS phase).
    widths : sequence of float
        Smoothing ladder (``()``: plain BH; ``(0.3,)``: ``'smoothed-bh'``'s default).
    max_quenches : int, optional
        Stop after this many quenches (the deterministic budget).
    time_limit : float, optional
        CPU seconds (``time.process_time``), checked between chunks: a cap, not a budget
        (budgets count quenches everywhere; ``max_quenches`` is this engine's).
    target_energy : float, optional
        Stop once the best energy is ``<= target_energy + target_tol``.
    chunk : int
        Basin-hopping steps per compiled call (the time limit's granularity; it also fixes
        the blocks of random draws, so keep it fixed to repeat a run).
    potential : SmoothedLJ, optional
        Pair potential (default reduced LJ); lengths in its unit.
    memory, maxstep, max_rise :
        L-BFGS settings (:func:`ase_gausslj.optimize.compiled.lbfgs_minimize`).
    p_smooth : float
        Probability that a step's quench goes through the smoothed phases (1: every
        quench, as ``'smoothed-bh'``; e.g. 0.1: an occasional smoothed "deep" quench).
    ladder : {'all', 'one'}
        A smoothed quench minimizes at every width of ``widths`` in turn (``'all'``) or
        at one width drawn uniformly from them (``'one'``: width per quench from a ladder).
    smooth_iter : int, optional
        Iteration cap of each smoothed phase (default ``max_iter``): a cheaper phase.
    restart : {'random', 'best'}
        After ``patience`` quenches without a new best: a fresh random cluster, or the
        best minimum displaced by ``2 step`` and quenched through all of ``widths``
        (a homotopy restart from the best minimum).
    polish_gtol : float, optional
        Re-minimize every new best to this tolerance (max gradient component) before it
        is recorded; default: ``min(gtol, 1e-5)`` when ``gtol > 1e-5``, else no polish.
        It lets the walk quench loosely (``gtol=1e-3`` saves ~40% of a quench's
        evaluations) and still report tightly converged minima.

    Returns
    -------
    LeanBHResult
    """
    n = _check_count(n_atoms, "n_atoms", 2)
    max_iter = _check_count(max_iter, "max_iter", 1)
    if max_quenches is None and time_limit is None and target_energy is None:
        raise ValueError("give at least one of max_quenches, time_limit, target_energy")
    if not (isinstance(temperature, (int, float)) and temperature >= 0
            and math.isfinite(temperature)):
        raise ValueError(f"temperature must be finite and >= 0, got {temperature!r}")
    widths = tuple(_positive(w, "widths") for w in widths)
    gtols = np.array([_positive(width_gtol, "width_gtol")] * len(widths)
                     + [_positive(gtol, "gtol")])
    types, nspec, ka0 = kernel_args(potential, 0.0, n)
    phases = tuple(kernel_args(potential, w, n)[2] for w in widths) + (ka0,)
    radius = ((3.0 * n / (4.0 * math.pi * 0.9)) ** (1.0 / 3.0) + 2.0 if radius is None
              else _positive(radius, "radius"))
    cfg = _Config(
        n=n, step=_positive(step, "step"), temperature=float(temperature),
        patience=max(100, 5 * n) if patience is None else _check_count(patience, "patience", 0),
        max_quenches=None if max_quenches is None else _check_count(max_quenches,
                                                                    "max_quenches", 1),
        time_limit=None if time_limit is None else _positive(time_limit, "time_limit"),
        target=-math.inf if target_energy is None else float(target_energy) + float(target_tol),
        chunk=_check_count(chunk, "chunk", 1), n_smooth=len(widths),
        p_smooth=_probability(p_smooth, "p_smooth"),
        ladder=_choice(ladder, "ladder", ("all", "one")),
        restart=_choice(restart, "restart", ("random", "best")),
        polish_gtol=(_positive(polish_gtol, "polish_gtol") if polish_gtol is not None
                     else (1e-5 if gtol > 1e-5 else 0.0)),
        head=(types, nspec, phases),
        qargs=(gtols, NORMS["max"], max_iter,
               max_iter if smooth_iter is None else _check_count(smooth_iter, "smooth_iter", 1),
               _check_count(memory, "memory", 1), _positive(maxstep, "maxstep"),
               _positive(max_rise, "max_rise"), radius),
    )
    return _run(cfg, np.random.default_rng(seed))


def _run(cfg: _Config, rng: np.random.Generator) -> LeanBHResult:
    """The loop: fresh starts in Python, chunks of steps in :func:`bh_chunk`."""
    n = cfg.n
    clock = time.process_time
    t0 = clock()
    energies = np.array([math.inf, math.inf])  # cur_e, best_e
    counters = np.zeros(3, dtype=np.int64)  # n_min, since_best, n_fev
    cur = np.empty(3 * n)
    best = np.empty(3 * n)
    trace: list[tuple[float, int, float]] = []
    trace_n = np.empty(cfg.chunk, dtype=np.int64)
    trace_e = np.empty(cfg.chunk)
    n_restarts = 0
    fresh = True
    while True:
        if energies[1] <= cfg.target:
            reason = "target"
        elif cfg.max_quenches is not None and counters[0] >= cfg.max_quenches:
            reason = "max_quenches"
        elif cfg.time_limit is not None and counters[0] > 0 and clock() - t0 >= cfg.time_limit:
            reason = "time_limit"  # (never before the first quench: a result always exists)
        else:
            reason = None
        if reason:
            break
        if fresh:
            if cfg.restart == "best" and n_restarts > 0:
                x = best + rng.uniform(-2.0 * cfg.step, 2.0 * cfg.step, size=3 * n)
            else:
                x = _random_cluster(n, rng).ravel()
            e, nf = lj_quench(x, *cfg.head, 0, cfg.n_smooth, *cfg.qargs,
                              rng.normal(size=(_GUARD_ROUNDS, n, 3)))
            counters += (1, 1, nf)
            cur[:] = x
            energies[0] = e
            if e < energies[1] - _ENERGY_TOL:
                best[:] = x
                _, nm, it, _, mem, ms, mr, _ = cfg.qargs
                e = polish(best, e, *cfg.head, cfg.polish_gtol, nm, it, mem, ms, mr)
                energies[1] = e
                counters[1] = 0
                trace.append((clock() - t0, int(counters[0]), float(e)))
            fresh = False
            continue
        k = cfg.chunk
        if cfg.max_quenches is not None:
            k = min(k, cfg.max_quenches - int(counters[0]))
        status, n_tr = bh_chunk(
            cur, best, energies, counters, rng.uniform(-1.0, 1.0, size=(k, 3 * n)),
            rng.random(k), cfg.picks(k, rng), rng.normal(size=(k, _GUARD_ROUNDS, n, 3)),
            cfg.step, cfg.temperature, cfg.patience, cfg.target, trace_n, trace_e,
            cfg.polish_gtol, *cfg.head, *cfg.qargs,
        )
        now = clock() - t0
        trace.extend((now, int(trace_n[i]), float(trace_e[i])) for i in range(n_tr))
        if status == 2:
            n_restarts += 1
            counters[1] = 0
            fresh = True
    return LeanBHResult(
        energy=float(energies[1]), positions=best.reshape(n, 3).copy(),
        n_quenches=int(counters[0]), n_restarts=n_restarts, n_fev=int(counters[2]),
        elapsed=clock() - t0, trace=np.asarray(trace, dtype=float).reshape(-1, 3),
        stop_reason=reason,
    )
