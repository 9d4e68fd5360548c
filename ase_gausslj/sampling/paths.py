"""Annealing paths of the samplers: fixed ``(width, lambda)`` schedules and the CESS bisection.

Paths (Ram & Ram 2025, Sec. 5.2.1), as sequences of targets
``U_t = lambda_t |X|^2 / (2 sigma_p^2) + (1 - lambda_t) E_{s_t}(X) / kT``:

* ``'gaussian'``: ``lambda = 0``; ``n_burnin`` moves at ``width_start``, then the widths of
  :class:`~ase_gausslj.schedules.LinearSchedule` from ``width_start`` to ``width_end``
  over ``n_steps - 1`` steps, and the last step is the unsmoothed target (width 0).
* ``'mixture-linear'``: width 0, ``lambda_t = 1 - t / n_steps``.
* ``'mixture-geometric'``: width 0, ``lambda_t = ratio**t``, last step 0.

Width paths follow the project rule of :mod:`ase_gausslj.schedules`: annealing widths never
increase (:func:`~ase_gausslj.schedules.check_anneal_range`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..schedules import LinearSchedule, check_anneal_range, check_non_increasing

__all__ = ["FIXED_PATHS", "path_schedule", "gaussian_anneal_widths", "bisect_param"]

FIXED_PATHS = ("gaussian", "mixture-linear", "mixture-geometric")


def gaussian_anneal_widths(width_start: float, width_end: float, n: int) -> np.ndarray:
    """The ``n`` annealing widths ``linspace(width_start, width_end, n)`` (empty for n = 0).

    Built with :class:`~ase_gausslj.schedules.LinearSchedule`, whose final 0 (added when
    ``width_end > 0``) is not part of the annealing: the samplers add their own last step.
    """
    width_start, width_end = check_anneal_range(width_start, width_end)
    if n == 0:
        return np.zeros(0)
    return np.asarray(LinearSchedule(width_start, n, stop=width_end).widths[:n])


def path_schedule(
    path: str,
    n_steps: int,
    *,
    width_start: float = 1.5,
    width_end: float = 0.025,
    n_burnin: int = 10,
    ratio: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed schedules ``(widths, lambdas)`` of the paper's paths, one entry per step.

    For ``'gaussian'`` the first ``n_burnin`` entries are the burn-in at ``width_start``,
    then ``n_steps - 1`` widths linear from ``width_start`` to ``width_end``, then 0.
    For the mixture paths the widths are 0 and ``lambda`` decreases from below 1 to 0
    (the prior, ``lambda = 1``, is the initial distribution and is not a step).
    """
    if path not in FIXED_PATHS:
        raise ValueError(f"path must be one of the fixed paths, got {path!r}")
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if path == "gaussian":
        if n_burnin < 0:
            raise ValueError(f"n_burnin must be >= 0, got {n_burnin}")
        anneal = gaussian_anneal_widths(width_start, width_end, n_steps - 1)
        widths = np.concatenate([np.full(n_burnin, float(width_start)), anneal, [0.0]])
        check_non_increasing(widths, "widths")
        return widths, np.zeros_like(widths)
    t = np.arange(1, n_steps + 1, dtype=np.float64)
    if path == "mixture-linear":
        lam = 1.0 - t / n_steps
    else:
        if not 0 < ratio < 1:
            raise ValueError(f"ratio must be in (0, 1), got {ratio}")
        lam = ratio**t
    lam[-1] = 0.0
    return np.zeros(n_steps), lam


def bisect_param(f: Callable[[float], float], lo: float, hi: float, n_iter: int = 12) -> float:
    """Largest move from ``hi`` towards ``lo`` with ``f(p) >= 0`` (``f(hi) >= 0`` assumed).

    Used by the adaptive schedules with ``f`` = CESS fraction minus its target. When even
    the smallest trial step misses the target, ``lo`` side of the last bracket is returned
    so that the schedule always progresses.
    """
    if f(lo) >= 0:
        return lo
    start = hi
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        if f(mid) >= 0:
            hi = mid
        else:
            lo = mid
    if hi == start:  # even the smallest trial step misses the target: force progress
        hi = lo
    return hi
