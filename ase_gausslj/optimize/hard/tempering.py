"""Basin hopping with parallel tempering over temperatures and Gaussian widths (BHPT).

Replica ``k`` walks by basin hopping at ``k_B T_k`` (Metropolis on the quenched energies),
its quench optionally passing first through the smoothed surface at width ``w_k > 0``
(the funnel-level view: surface arrangements that differ by a little merge at a moderate
width; every quench still ends at width 0, so all replicas compare plain energies). Every
``swap_every`` rounds neighbouring replicas try to exchange configurations with the
parallel-tempering rule :func:`swap_probability` (Strodel, Lee, Whittleston & Wales,
"BHPT", 2010). Reduced units.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from ..clusters import random_cluster
from ..moves import Metropolis, RandomDisplacement
from .budget import Budget, HardResult, Tracker, lj_quench

__all__ = ["swap_probability", "geometric_temperatures", "parallel_tempering"]


def swap_probability(e_i: float, e_j: float, t_i: float, t_j: float) -> float:
    """Probability of exchanging the configurations of replicas at ``t_i`` and ``t_j``.

    ``min(1, exp((1/t_i - 1/t_j) (e_i - e_j)))``: detailed balance for the product of the
    two Boltzmann distributions ``exp(-e_i/t_i - e_j/t_j)``; a lower energy always moves
    to the colder replica.
    """
    if not (t_i > 0 and t_j > 0):
        raise ValueError(f"temperatures must be positive, got {t_i!r}, {t_j!r}")
    if not (math.isfinite(e_i) and math.isfinite(e_j)):
        return 0.0
    a = (1.0 / t_i - 1.0 / t_j) * (e_i - e_j)
    return 1.0 if a >= 0 else math.exp(a)


def geometric_temperatures(t_min: float, t_max: float, n: int) -> tuple[float, ...]:
    """``n`` temperatures from ``t_min`` to ``t_max`` in geometric progression."""
    if not (0 < t_min <= t_max) or n < 1:
        raise ValueError(f"need 0 < t_min <= t_max and n >= 1, got {t_min}, {t_max}, {n}")
    if n == 1:
        return (float(t_min),)
    return tuple(float(t) for t in np.geomspace(t_min, t_max, n))


def _replica_quenches(n_atoms: int, widths: Sequence[float], quench_kwargs: dict) -> list:
    """One compiled quench per distinct width (0: plain), shared by replicas."""
    cache: dict[float, object] = {}
    for w in widths:
        if w not in cache:
            cache[w] = lj_quench(n_atoms, widths=(w,) if w > 0 else (), **quench_kwargs)
    return [cache[w] for w in widths]


def parallel_tempering(n_atoms: int, budget: Budget, rng: np.random.Generator, *,
                       temperatures: Sequence[float] = (0.6, 0.85, 1.2, 1.7),
                       widths: Sequence[float] | None = None, take_step=None,
                       swap_every: int = 1, quench_kwargs: dict | None = None,
                       x0: np.ndarray | None = None, callback=None,
                       clock: Callable[[], float] = time.process_time) -> HardResult:
    """Run BHPT until ``budget`` ends; every quench counts against the budget.

    Parameters
    ----------
    n_atoms : int
        Cluster size.
    budget : Budget
        CPU seconds / quench count / target energy.
    rng : numpy.random.Generator
        Random generator (starts, steps, acceptance, swaps).
    temperatures : sequence of float
        ``k_B T`` of the replicas (epsilon), coldest first.
    widths : sequence of float, optional
        Gaussian width of each replica's smoothed phase (sigma; 0: plain quench).
        Default all 0 (tempering over temperatures only).
    take_step : callable, optional
        The step of every replica (default random displacement 0.4 sigma).
    swap_every : int
        Rounds (one quench per replica) between swap attempts.
    quench_kwargs : dict, optional
        Passed to :func:`~.runner.lj_quench`.
    x0 : array_like, shape (n_atoms, 3), optional
        Start of every replica (default: one random cluster each).
    callback : callable, optional
        ``callback(x, e, accepted)`` after every quench; True stops the run.
    clock : callable
        The clock of ``budget.cpu_limit`` (default CPU seconds of the process).

    Returns
    -------
    HardResult
        ``info`` holds the swap rate, the ladder, ``stop_reason`` (``'target'``,
        ``'budget'``, ``'callback'`` or ``'interrupted'``: Ctrl-C keeps the best so far).
    """
    temps = [float(t) for t in temperatures]
    widths = [0.0] * len(temps) if widths is None else [float(w) for w in widths]
    if len(widths) != len(temps) or any(w < 0 for w in widths):
        raise ValueError("widths: one width >= 0 per temperature")
    if int(swap_every) != swap_every or swap_every < 1:
        raise ValueError(f"swap_every must be a positive integer, got {swap_every!r}")
    quenches = _replica_quenches(n_atoms, widths, quench_kwargs or {})
    accepts = [Metropolis(t) for t in temps]
    step = take_step if take_step is not None else RandomDisplacement(0.4)
    tr = Tracker(budget, quenches[0], clock=clock)
    xs: list = [None] * len(temps)
    es = [math.inf] * len(temps)
    stop, rounds, tried, swapped = "budget", 0, 0, 0
    try:
        for k, q in enumerate(quenches):
            start = random_cluster(n_atoms, rng) if x0 is None else np.array(x0, dtype=float)
            xs[k], es[k] = q(start, rng, deep=True)
            tr.record(xs[k], es[k])
        while not tr.done():
            for k, q in enumerate(quenches):
                x, e = q(step(xs[k], rng), rng)
                tr.record(x, e)
                accepted = bool(accepts[k](e, es[k], rng))
                if accepted:
                    xs[k], es[k] = x, e
                if callback is not None and callback(np.asarray(x), e, accepted) is True:
                    stop = "callback"  # at once, like the engine
                    break
            if stop == "callback":
                break
            rounds += 1
            if rounds % swap_every == 0:
                tried, swapped = _swap_round(xs, es, temps, rng, tried, swapped)
    except KeyboardInterrupt:
        if tr.best_x is None:
            raise
        stop = "interrupted"
    if stop == "budget" and tr.hit_time is not None:
        stop = "target"
    return tr.result(swap_rate=swapped / max(tried, 1), temperatures=temps, widths=widths,
                     stop_reason=stop)


def _swap_round(xs: list, es: list, temps: list, rng: np.random.Generator, tried: int,
                swapped: int) -> tuple[int, int]:
    """One sweep of neighbour swaps (even or odd pairs, drawn), in place."""
    for k in range(int(rng.integers(0, 2)), len(temps) - 1, 2):
        tried += 1
        if rng.random() < swap_probability(es[k], es[k + 1], temps[k], temps[k + 1]):
            xs[k], xs[k + 1] = xs[k + 1], xs[k]
            es[k], es[k + 1] = es[k + 1], es[k]
            swapped += 1
    return tried, swapped
