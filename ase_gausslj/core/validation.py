"""Argument checks shared by the Python layer (the numba kernels never validate).

Checks sit on hot paths (an optimizer calls the energy thousands of times), so they use
one reduction where numpy would use several.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["check_finite", "check_finite_nonneg", "check_positions", "check_width",
           "check_periodic_images"]


def _all_finite(arr: np.ndarray) -> bool:
    # a single sum propagates NaN/inf; only if it is not finite look closer (the sum of
    # finite values can overflow)
    if arr.size == 0:
        return True
    total = float(np.add.reduce(arr, axis=None))
    return math.isfinite(total) or bool(np.isfinite(arr).all())


def check_finite(x, name: str) -> np.ndarray:
    """Return ``x`` as a float64 array; ValueError naming ``name`` if it has NaN/inf."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {x!r}") from exc
    if not _all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_finite_nonneg(x, name: str) -> np.ndarray:
    """Like :func:`check_finite` and also reject negative entries."""
    arr = check_finite(x, name)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be >= 0, got a minimum of {arr.min()!r}")
    return arr


def check_width(
    width, name: str = "width", *, maximum: float | None = None, limit_name: str = ""
) -> float:
    """A scalar Gaussian width: finite, >= 0 and, if ``maximum`` is given, <= ``maximum``.

    The one width check of the package: every entry point calls it with its own argument
    name and, where a table bounds the width, the table's limit (``limit_name`` says
    where the limit comes from, e.g. "the table's width_max").
    """
    try:
        w = float(width)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a finite scalar >= 0, got {width!r}") from exc
    if not math.isfinite(w) or w < 0:
        raise ValueError(f"{name} must be a finite scalar >= 0, got {width!r}")
    if maximum is not None and w > maximum:
        where = f" ({limit_name})" if limit_name else ""
        raise ValueError(f"{name} = {w!r} is beyond the largest supported width "
                         f"{maximum!r}{where}")
    return w


def check_positions(positions, name: str = "positions", batched: bool = False) -> np.ndarray:
    """Positions as a C-contiguous float64 ``(N, 3)`` (or ``(R, N, 3)`` if batched)."""
    arr = check_finite(positions, name)
    want = 3 if batched else 2
    if arr.ndim != want or arr.shape[-1] != 3:
        shape = "(R, N, 3)" if batched else "(N, 3)"
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return np.ascontiguousarray(arr)


#: Most image bins one atom may scan in a periodic neighbour search, and most pairs a
#: periodic pair list may hold (~40 bytes each); beyond them a search would run for hours
#: inside numba (where Ctrl-C cannot stop it) or exhaust memory.
MAX_IMAGE_BINS = 1_000_000
MAX_PERIODIC_PAIRS = 200_000_000


def check_periodic_images(cell: np.ndarray, pbc: np.ndarray, cutoff: float, n_atoms: int,
                          name: str = "cell") -> None:
    """Refuse a periodic neighbour search that cannot finish: ValueError naming ``name``.

    ``cell`` is full rank (rows are lattice vectors). Along a periodic direction ``k``
    the search visits ``2 ceil(cutoff / h_k) + 1`` image layers, ``h_k`` the distance
    between lattice planes (``1 / |b_k|``, the cell's perpendicular width); a nearly
    singular cell has a tiny ``h_k`` and asks for millions of layers. The pair count is
    estimated from the density when every direction is periodic.
    """
    cell = np.asarray(cell, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool)
    if not pbc.any():
        return
    widths = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)
    layers = np.where(pbc, 2.0 * np.ceil(cutoff / widths) + 1.0, 1.0)
    bins = float(np.prod(layers))
    if not bins <= MAX_IMAGE_BINS:
        k = int(np.argmin(np.where(pbc, widths, np.inf)))
        raise ValueError(
            f"{name}: the cutoff (with skin) {cutoff:.6g} spans {layers[k]:.3g} periodic "
            f"images along lattice vector {k}, whose lattice planes are only "
            f"{widths[k]:.3g} apart (a nearly singular cell?); a search over "
            f"{bins:.3g} image cells per atom is refused (limit {MAX_IMAGE_BINS:.0e})")
    if pbc.all():
        volume = abs(float(np.linalg.det(cell)))
        pairs = 0.5 * n_atoms * n_atoms * (4.0 / 3.0 * math.pi * cutoff**3) / volume
        if not pairs <= MAX_PERIODIC_PAIRS:
            raise ValueError(
                f"{name}: {n_atoms} atoms in a cell of volume {volume:.3g} with cutoff "
                f"(with skin) {cutoff:.6g} give ~{pairs:.3g} periodic pairs; more than "
                f"{MAX_PERIODIC_PAIRS:.0e} is refused (a nearly singular cell or a cutoff "
                "far beyond the cell?)")
