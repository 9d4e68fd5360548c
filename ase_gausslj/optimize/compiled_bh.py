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
(:func:`bh_chunk`), so a step costs its quench plus a few microseconds. Random numbers come
from a ``numpy.random.Generator`` seeded once and drawn in fixed-shape blocks per chunk
(displacements, acceptance uniforms, guard directions), so a run is repeatable bit for
bit for a seed and a number of quenches; a CPU-time budget (checked between chunks) only
decides where a run stops.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba as nb
import numpy as np

from .compiled import NORMS, _positive, kernel_args, lbfgs_core

__all__ = ["LeanBHResult", "bh_chunk", "lean_basin_hopping", "lj_quench"]

_ENERGY_TOL = 1e-7  # a new best must be lower by at least this (as in globalopt)
_GUARD_ROUNDS = 3


@nb.njit(cache=True)
def _guard(x, radius, normals):
    """Evaporation guard of ``globalopt.evaporation_guard`` in place; returns atoms moved.

    ``normals`` (N, 3) are standard normal draws; escaped atom ``a`` uses row ``a``.
    """
    pos = x.reshape((-1, 3))
    n = pos.shape[0]
    centre = np.empty(3)
    for c in range(3):
        centre[c] = np.median(pos[:, c])
    escaped = np.zeros(n, dtype=np.bool_)
    n_moved = 0
    for a in range(n):
        d2 = 0.0
        for c in range(3):
            d2 += (pos[a, c] - centre[c]) ** 2
        if math.sqrt(d2) > radius:
            escaped[a] = True
            n_moved += 1
    if n_moved == 0:
        return 0
    r_surf = 0.0
    if n_moved < n:
        centre[:] = 0.0
        for a in range(n):
            if not escaped[a]:
                centre += pos[a]
        centre /= n - n_moved
        for a in range(n):
            if not escaped[a]:
                d2 = 0.0
                for c in range(3):
                    d2 += (pos[a, c] - centre[c]) ** 2
                r_surf = max(r_surf, math.sqrt(d2))
    r_surf = min(max(r_surf, 0.5), radius)
    for a in range(n):
        if escaped[a]:
            vn = math.sqrt(normals[a, 0] ** 2 + normals[a, 1] ** 2 + normals[a, 2] ** 2)
            for c in range(3):
                pos[a, c] = centre[c] + r_surf * normals[a, c] / vn
    return n_moved


@nb.njit(cache=True)
def lj_quench(x, types, nspec, phases, n_smooth, gtols, norm, max_iter, m, maxstep,
              max_rise, radius, normals):
    """Quench flat ``x`` in place (smoothed phases, width 0, guard); returns ``(e, n_fev)``.

    ``phases`` is a tuple of kernel-argument tuples: ``phases[:n_smooth]`` the smoothed
    widths (tolerance ``gtols[p]``), ``phases[n_smooth]`` width 0 (``gtols[n_smooth]``).
    ``normals`` (3, N, 3) feed the guard rounds. ``x`` is centred at the end.
    """
    n_fev = 0
    for p in range(n_smooth):
        r = lbfgs_core(x, types, nspec, phases[p], gtols[p], norm, max_iter, m, maxstep,
                       max_rise)
        n_fev += r[3]
    ka = phases[n_smooth]
    r = lbfgs_core(x, types, nspec, ka, gtols[n_smooth], norm, max_iter, m, maxstep, max_rise)
    e = r[0]
    n_fev += r[3]
    for k in range(_GUARD_ROUNDS):
        if _guard(x, radius, normals[k]) == 0:
            break
        r = lbfgs_core(x, types, nspec, ka, gtols[n_smooth], norm, max_iter, m, maxstep,
                       max_rise)
        e = r[0]
        n_fev += r[3]
    pos = x.reshape((-1, 3))
    for c in range(3):
        mean = pos[:, c].mean()
        pos[:, c] -= mean
    return e, n_fev


@nb.njit(cache=True)
def bh_chunk(cur, best, energies, counters, disp, unif, normals, step, temperature,
             patience, target, trace_n, trace_e, types, nspec, phases, n_smooth, gtols,
             norm, max_iter, m, maxstep, max_rise, radius):
    """Up to ``len(unif)`` basin-hopping steps from ``cur`` (flat, updated in place).

    ``disp`` (K, 3N) uniform in [-1, 1], ``unif`` (K,) uniform, ``normals`` (K, 3, N, 3);
    ``energies = [cur_e, best_e]`` and ``counters = [n_min, since_best, n_fev]`` are
    updated in place; new bests are written to ``best`` and appended to
    ``trace_n``/``trace_e``. Returns ``(status, n_trace)``: status 0 all steps done,
    1 ``best_e <= target``, 2 ``patience`` exhausted (the caller restarts).
    """
    n = cur.size
    trial = np.empty(n)
    n_trace = 0
    for k in range(unif.size):
        for j in range(n):
            trial[j] = cur[j] + step * disp[k, j]
        e, nf = lj_quench(trial, types, nspec, phases, n_smooth, gtols, norm, max_iter, m,
                       maxstep, max_rise, radius, normals[k])
        counters[0] += 1
        counters[1] += 1
        counters[2] += nf
        delta = e - energies[0]
        if math.isfinite(e) and (delta <= 0.0 or (
                temperature > 0.0 and unif[k] < math.exp(-delta / temperature))):
            cur[:] = trial
            energies[0] = e
        if e < energies[1] - _ENERGY_TOL:
            best[:] = trial
            energies[1] = e
            counters[1] = 0
            trace_n[n_trace] = counters[0]
            trace_e[n_trace] = e
            n_trace += 1
        if energies[1] <= target:
            return 1, n_trace
        if patience > 0 and counters[1] >= patience:
            return 2, n_trace
    return 0, n_trace


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
    budget: float | None
    target: float
    chunk: int
    qargs: tuple


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
    budget: float | None = None,
    target_energy: float | None = None,
    target_tol: float = 1e-4,
    chunk: int = 16,
    potential=None,
    memory: int = 10,
    maxstep: float = 0.5,
    max_rise: float = 1e-4,
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
    budget : float, optional
        CPU seconds (``time.process_time``), checked between chunks.
    target_energy : float, optional
        Stop once the best energy is ``<= target_energy + target_tol``.
    chunk : int
        Basin-hopping steps per compiled call (the budget's granularity; it also fixes
        the blocks of random draws, so keep it fixed to repeat a run).
    potential : SmoothedLJ, optional
        Pair potential (default reduced LJ); lengths in its unit.
    memory, maxstep, max_rise :
        L-BFGS settings (:func:`ase_gausslj.optimize.compiled.lbfgs_minimize`).

    Returns
    -------
    LeanBHResult
    """
    n = _check_count(n_atoms, "n_atoms", 2)
    if max_quenches is None and budget is None and target_energy is None:
        raise ValueError("give at least one of max_quenches, budget, target_energy")
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
        budget=None if budget is None else _positive(budget, "budget"),
        target=-math.inf if target_energy is None else float(target_energy) + float(target_tol),
        chunk=_check_count(chunk, "chunk", 1),
        qargs=(types, nspec, phases, len(widths), gtols, NORMS["max"],
               _check_count(max_iter, "max_iter", 1), _check_count(memory, "memory", 1),
               _positive(maxstep, "maxstep"), _positive(max_rise, "max_rise"),
               radius),
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
        elif cfg.budget is not None and clock() - t0 >= cfg.budget:
            reason = "budget"
        else:
            reason = None
        if reason:
            break
        if fresh:
            x = _random_cluster(n, rng).ravel()
            e, nf = lj_quench(x, *cfg.qargs, rng.normal(size=(_GUARD_ROUNDS, n, 3)))
            counters += (1, 1, nf)
            cur[:] = x
            energies[0] = e
            if e < energies[1] - _ENERGY_TOL:
                best[:] = x
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
            rng.random(k), rng.normal(size=(k, _GUARD_ROUNDS, n, 3)), cfg.step,
            cfg.temperature, cfg.patience, cfg.target, trace_n, trace_e, *cfg.qargs,
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
