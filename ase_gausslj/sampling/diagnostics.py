"""Sample diagnostics: convergence across chains, distances between energy samples, geometry,
and the health checks of a running sampler (divergence, evaporation)."""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = [
    "split_rhat", "energy_w1", "min_pair_distance", "check_diverged", "warn_if_evaporated",
    "DIVERGED_EXTENT", "EVAPORATED_DISTANCE", "EVAPORATION_MIN_REPLICAS",
]

DIVERGED_EXTENT = 1e6
"""A coordinate beyond this many sigma (or a non-finite one) means the Langevin
discretization diverged (e.g. ``step_size * harmonic / kT > 2`` for ULA): no physical
annealing at a finite temperature reaches it, while an unstable step grows geometrically."""

EVAPORATED_DISTANCE = 4.0
"""A replica whose closest pair is farther than this (sigma; ``|V| < 0.001 epsilon``) has
no LJ bond left: it has evaporated."""

EVAPORATION_MIN_REPLICAS = 16
"""The evaporation warning needs at least this many replicas: a few prior-like LJ2
replicas are all :data:`EVAPORATED_DISTANCE` apart by chance (probability ~0.33 each),
sixteen of them practically never (~2e-8)."""

_CHUNK = 1_000_000  # pair entries per block of min_pair_distance (bounds the memory)


def split_rhat(samples) -> float:
    """Split-R-hat (Gelman et al.) of ``samples`` with shape (n_draws, n_chains)."""
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 4:
        raise ValueError(f"samples must have shape (n_draws >= 4, n_chains), got {s.shape}")
    half = s.shape[0] // 2
    chains = np.concatenate([s[:half], s[half : 2 * half]], axis=1)
    n = chains.shape[0]
    means = chains.mean(axis=0)
    w = chains.var(axis=0, ddof=1).mean()
    b = n * means.var(ddof=1)
    var_hat = (n - 1) / n * w + b / n
    return float(math.sqrt(var_hat / w))


def energy_w1(values, reference, weights=None) -> float:
    """Wasserstein-1 distance between a (weighted) energy sample and a reference sample."""
    from scipy.stats import wasserstein_distance  # noqa: PLC0415  (scipy.stats takes ~1 s)

    return float(wasserstein_distance(np.ravel(values), np.ravel(reference), u_weights=weights))


def min_pair_distance(x) -> np.ndarray:
    """Smallest interatomic distance of each replica of ``x`` (R, N, 3).

    Computed in blocks of replicas so that memory stays bounded for large ``R N^2``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] != 3 or x.shape[1] < 2:
        raise ValueError(f"x must have shape (R, N >= 2, 3), got {x.shape}")
    n = x.shape[1]
    block = max(1, _CHUNK // (n * n))
    out = np.empty(x.shape[0])
    diag = np.arange(n)
    for start in range(0, x.shape[0], block):
        xb = x[start : start + block]
        d = xb[:, :, None, :] - xb[:, None, :, :]
        r2 = np.einsum("rijk,rijk->rij", d, d)
        r2[:, diag, diag] = np.inf
        out[start : start + block] = np.sqrt(r2.min(axis=(1, 2)))
    return out


def check_diverged(x, where: str, step_size: float) -> None:
    """FloatingPointError if positions ``x`` are non-finite or beyond :data:`DIVERGED_EXTENT`.

    ``where`` (e.g. the current width) and ``step_size`` go into the message.
    """
    extent = float(np.max(np.abs(x)))
    if not extent <= DIVERGED_EXTENT:  # also catches NaN
        what = ("non-finite positions" if not math.isfinite(extent)
                else f"coordinates up to {extent:.3g} sigma")
        raise FloatingPointError(
            f"the sampler diverged at {where}: {what} (step_size {step_size!r} is unstable; "
            "reduce it or use mutation='mala')"
        )


def warn_if_evaporated(x, lj_energies, *, stacklevel: int = 2) -> bool:
    """RuntimeWarning (and True) when every replica of ``x`` (R, N, 3) has evaporated.

    Evaporated: no pair closer than :data:`EVAPORATED_DISTANCE`, so the LJ energies are all
    ~0. Needs ``R >= EVAPORATION_MIN_REPLICAS``. A warning, not an error: an unbound target
    (no confinement, high kT) legitimately does this; a too-large step does it too.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < EVAPORATION_MIN_REPLICAS or not np.all(
            min_pair_distance(x) > EVAPORATED_DISTANCE):
        return False
    warnings.warn(
        f"all {x.shape[0]} replicas evaporated (no pair closer than {EVAPORATED_DISTANCE} "
        f"sigma; LJ energies ~0, largest |E_LJ| {np.max(np.abs(lj_energies)):.2g}): the step "
        "size may be too large, or the target (harmonic=0, high kT) does not bind the cluster",
        RuntimeWarning, stacklevel=stacklevel + 1,
    )
    return True
