"""Argument checks shared by the Python layer (the numba kernels never validate).

Checks sit on hot paths (an optimizer calls the energy thousands of times), so they use
one reduction where numpy would use several.
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = [
    "R_CORE_RANGE",
    "check_directory",
    "check_finite",
    "check_finite_nonneg",
    "check_periodic_images",
    "check_positions",
    "check_r_core",
    "check_sequence",
    "check_width",
    "count",
    "positive",
]

#: The core radii (units of sigma) the reduced tables are built for; one range for every
#: path (exact quadrature, ASE table, OpenMM table), so no path accepts what another refuses.
#: Below ~2e-24 the affine core's slope ``r_core**-13`` overflows a float.
R_CORE_RANGE = (0.3, 1.0)


def _is_bool(x) -> bool:
    # True is an int to Python; as a width or a count it is always a slip
    return isinstance(x, (bool, np.bool_)) or (
        isinstance(x, np.ndarray) and x.dtype == np.bool_)


def _all_finite(arr: np.ndarray) -> bool:
    # a single sum propagates NaN/inf; only if it is not finite look closer (the sum of
    # finite values can overflow)
    if arr.size == 0:
        return True
    total = float(np.add.reduce(arr, axis=None))
    return math.isfinite(total) or bool(np.isfinite(arr).all())


def check_finite(x, name: str) -> np.ndarray:
    """Return ``x`` as a float64 array; ValueError naming ``name`` if it has NaN/inf.

    Booleans are refused (``True`` would silently be 1.0).
    """
    if _is_bool(x):
        raise ValueError(f"{name} must be numeric, got the boolean {x!r}")
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
        raise ValueError(f"{name} must be >= 0, got a minimum of {float(arr.min())!r}")
    return arr


def check_width(
    width, name: str = "width", *, maximum: float | None = None, limit_name: str = ""
) -> float:
    """A scalar Gaussian width: finite, >= 0 and, if ``maximum`` is given, <= ``maximum``.

    The one width check of the package: every entry point calls it with its own argument
    name and, where a table bounds the width, the table's limit (``limit_name`` says
    where the limit comes from, e.g. "the table's width_max").
    """
    if _is_bool(width):
        raise ValueError(f"{name} must be a finite scalar >= 0, got the boolean {width!r}")
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


def positive(value, name: str, *, strict: bool = True) -> float:
    """A finite real scalar, ``> 0`` (``strict``) or ``>= 0``; ValueError naming ``name``.

    Refuses booleans, strings and arrays (``float('3')`` would accept a string).
    """
    op = "> 0" if strict else ">= 0"
    if _is_bool(value) or isinstance(value, (str, bytes)) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a finite number {op}, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number {op}, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (strict and v == 0):
        raise ValueError(f"{name} must be a finite number {op}, got {value!r}")
    return v


def count(value, name: str, minimum: int = 1) -> int:
    """An integer ``>= minimum`` (integral floats accepted; booleans refused)."""
    try:
        ok = (not _is_bool(value) and not isinstance(value, (str, bytes))
              and np.ndim(value) == 0 and int(value) == value and int(value) >= minimum)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_r_core(r_core, name: str = "r_core") -> float:
    """A core radius (units of sigma) within :data:`R_CORE_RANGE`."""
    lo, hi = R_CORE_RANGE
    v = positive(r_core, name)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}] (units of sigma, the range the "
                         f"smoothed tables are built for), got {r_core!r}")
    return v


def check_sequence(values, name: str) -> list:
    """A sequence of values (list, tuple, 1-D array); a bare scalar or string is refused
    with a message naming ``name`` (iterating it would fail far from the call)."""
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}")
    return list(values)


def check_directory(path, name: str):
    """``path`` as given, refused when something other than a directory is there.

    A path that does not exist yet is fine (the caller creates it); a file, FIFO or
    device there would make every use fail quietly, so the error names ``name`` (e.g. the
    environment variable that set it).
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{name} = {os.fspath(path)!r} is not a directory; point it at a "
                         "directory (or set it to '' to disable the cache)")
    return path


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
