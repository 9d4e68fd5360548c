"""Argument checks shared by the Python layer (the numba kernels never validate)."""

from __future__ import annotations

import numpy as np

__all__ = ["check_finite", "check_finite_nonneg", "check_positions", "check_width"]


def check_finite(x, name: str) -> np.ndarray:
    """Return ``x`` as a float64 array; ValueError naming ``name`` if it has NaN/inf."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {x!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_finite_nonneg(x, name: str) -> np.ndarray:
    """Like :func:`check_finite` and also reject negative entries."""
    arr = check_finite(x, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got a minimum of {arr.min()!r}")
    return arr


def check_width(width, name: str = "width") -> float:
    """A scalar Gaussian width: finite and >= 0."""
    arr = check_finite_nonneg(width, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def check_positions(positions, name: str = "positions", batched: bool = False) -> np.ndarray:
    """Positions as a C-contiguous float64 ``(N, 3)`` (or ``(R, N, 3)`` if batched)."""
    arr = check_finite(positions, name)
    want = 3 if batched else 2
    if arr.ndim != want or arr.shape[-1] != 3:
        shape = "(R, N, 3)" if batched else "(N, 3)"
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return np.ascontiguousarray(arr)
