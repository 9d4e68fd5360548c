"""The one on-disk cache for computed arrays (the reduced table, the OpenMM grid values).

Entries are ``.npz`` files under ``$GAUSSLJ_CACHE_DIR`` (default ``~/.cache/gausslj``; an
empty string disables the disk cache). The file name is a hash of the *key*: a dict that
must hold every input that changes the values (grid parameters, quadrature settings, code
version), so a change of any of them can never reuse stale values. Writes are atomic (a
temporary file in the same directory, then ``os.replace``), so a reader never sees half a
file; an unreadable entry (truncated, empty, wrong arrays) is treated as missing: a warning,
then the caller recomputes and replaces it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .validation import check_directory

__all__ = ["cache_dir", "cache_path", "load_arrays", "save_arrays", "cached_arrays"]


def cache_dir() -> Path | None:
    """The cache directory, or None when ``GAUSSLJ_CACHE_DIR`` is set to ''."""
    d = os.environ.get("GAUSSLJ_CACHE_DIR")
    if d is None:
        return Path.home() / ".cache" / "gausslj"
    # a file there would disable the cache silently (every run rebuilds the table)
    return check_directory(Path(d), "GAUSSLJ_CACHE_DIR") if d else None


def _digest(key: Mapping) -> str:
    text = json.dumps(dict(key), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_path(name: str, key: Mapping) -> Path | None:
    """Where the entry ``name`` with ``key`` lives (None when caching is disabled)."""
    d = cache_dir()
    return None if d is None else d / f"{name}-{_digest(key)}.npz"


def load_arrays(name: str, key: Mapping, expect: Mapping[str, tuple] | None = None):
    """The arrays stored for ``(name, key)``, or None if absent or unreadable.

    ``expect`` maps array names to shapes; an entry lacking one of them, with another
    shape or with non-finite values counts as unreadable.
    """
    path = cache_path(name, key)
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.array(data[k]) for k in data.files}
        for k, shape in (expect or {}).items():
            a = arrays[k]
            if a.shape != tuple(shape) or not np.isfinite(a).all():
                raise ValueError(f"array {k!r} has shape {a.shape} or non-finite values")
        return arrays
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        warnings.warn(
            f"gausslj: ignoring unreadable cache file {path} ({type(exc).__name__}: {exc}); "
            "recomputing it", RuntimeWarning, stacklevel=2,
        )
        return None


def save_arrays(name: str, key: Mapping, arrays: Mapping[str, np.ndarray]) -> Path | None:
    """Store ``arrays`` atomically; a read-only cache only costs a recomputation later."""
    path = cache_path(name, key)
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return None
    return path


def cached_arrays(name: str, key: Mapping, compute, expect: Mapping[str, tuple] | None = None):
    """``load_arrays`` or, failing that, ``compute()`` (a dict of arrays) and save it."""
    arrays = load_arrays(name, key, expect)
    if arrays is None:
        arrays = dict(compute())
        save_arrays(name, key, arrays)
    return arrays
