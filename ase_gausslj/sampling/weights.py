"""Importance weights of a particle population: normalization, ESS, CESS, resampling.

Every function works on *log* weights (unnormalized unless said otherwise) so that weights
spanning hundreds of orders of magnitude stay representable. A log weight of ``-inf`` is a
zero weight; NaN is never accepted silently: :func:`reweight` maps NaN increments (an energy
that could not be evaluated) to ``-inf`` explicitly, and the other functions reject NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..core.validation import check_finite_nonneg

__all__ = [
    "normalize_log_weights",
    "ess",
    "conditional_ess",
    "systematic_resample",
    "reweight",
]


def _log_weights(log_weights, name: str = "log_weights") -> np.ndarray:
    lw = np.asarray(log_weights, dtype=np.float64)
    if lw.ndim != 1 or lw.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {lw.shape}")
    if np.isnan(lw).any():
        raise ValueError(f"{name} contains NaN")
    return lw


def normalize_log_weights(log_weights) -> np.ndarray:
    """Log weights shifted so that ``logsumexp(result) == 0`` (weights summing to one).

    Parameters
    ----------
    log_weights : array_like, shape (R,)
        Unnormalized log weights; ``-inf`` entries are zero weights.

    Returns
    -------
    ndarray, shape (R,)

    Raises
    ------
    ValueError
        If the array is empty, not 1-D, has NaN, or every weight is zero.
    """
    lw = _log_weights(log_weights)
    total = logsumexp(lw)
    if not np.isfinite(total):
        raise ValueError(f"log_weights must have a finite log-sum-exp, got {total!r}")
    return lw - total


def ess(log_weights) -> float:
    """Effective sample size ``(sum w)^2 / sum w^2`` from (unnormalized) log weights."""
    lw = _log_weights(log_weights)
    return float(np.exp(2.0 * logsumexp(lw) - logsumexp(2.0 * lw)))


def conditional_ess(log_weights, log_increments) -> float:
    """Conditional ESS ``R (sum W_i w_i)^2 / sum W_i w_i^2`` (Zhou, Johansen & Aston 2016).

    ``W`` are the current normalized weights (from ``log_weights``) and ``w`` the
    incremental weights ``exp(log_increments)``. Equals ``R`` when the increments are
    constant and the sample size (``R``) is the scale, whatever ``W``.
    """
    lw = _log_weights(log_weights)
    li = np.asarray(log_increments, dtype=np.float64)
    if li.shape != lw.shape:
        raise ValueError(
            f"log_increments must have the shape of log_weights {lw.shape}, got {li.shape}"
        )
    lw = lw - logsumexp(lw)
    return float(lw.size * np.exp(2.0 * logsumexp(lw + li) - logsumexp(lw + 2.0 * li)))


def systematic_resample(weights, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: indices ``i`` drawn so that ``E[count_i] = R W_i``.

    Parameters
    ----------
    weights : array_like, shape (R,)
        Non-negative weights (need not be normalized).
    rng : numpy.random.Generator
        Random source (one uniform is drawn).

    Returns
    -------
    ndarray of int, shape (R,)
        Sorted ancestor indices.
    """
    w = check_finite_nonneg(weights, "weights")
    if w.ndim != 1 or w.size == 0 or w.sum() <= 0:
        raise ValueError("weights must be a non-empty 1-D array with a positive sum")
    n = w.size
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    u = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(cdf, u, side="right"), n - 1)


def reweight(log_weights, log_increments) -> tuple[np.ndarray, float]:
    """Multiply the weights by ``exp(log_increments)``.

    Parameters
    ----------
    log_weights : array_like, shape (R,)
        Current (unnormalized) log weights.
    log_increments : array_like, shape (R,)
        Incremental log weights, e.g. ``-(U_new(x) - U_old(x))``. NaN (an energy that
        could not be evaluated) counts as a zero weight.

    Returns
    -------
    new_log_weights : ndarray, shape (R,)
        ``normalized(log_weights) + log_increments`` (not normalized again).
    log_z_increment : float
        ``log sum_i W_i w_i``: the increment of the running ``log Z`` estimate.
    """
    lw = normalize_log_weights(log_weights)
    inc = np.asarray(log_increments, dtype=np.float64)
    if inc.shape != lw.shape:
        raise ValueError(
            f"log_increments must have the shape of log_weights {lw.shape}, got {inc.shape}"
        )
    inc = np.where(np.isnan(inc), -np.inf, inc)
    new = lw + inc
    return new, float(logsumexp(new))
