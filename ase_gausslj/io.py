"""Results that survive: atomic JSON/npz writes and interrupt-safe long runs.

Every long run writes through :func:`write_json` (a temporary file, then ``os.replace``), so
an interruption never leaves half a file, and wraps its loop in :func:`interruptible`, so
Ctrl-C ends the loop, keeps what was found and lets the caller write it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_json", "write_npz", "write_text", "to_jsonable", "Interrupted", "interruptible"]


def to_jsonable(obj: Any) -> Any:
    """numpy scalars/arrays and tuples -> plain JSON types (recursively)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else (1e308 if obj > 0 else -1e308)
    return obj


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (the directory must exist)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_npz(path: str | os.PathLike, **arrays) -> Path:
    """``numpy.savez_compressed`` to ``path`` atomically (the directory must exist)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, data: Any, *, indent: int | None = 1) -> Path:
    """Write ``data`` as JSON to ``path`` atomically."""
    return write_text(path, json.dumps(to_jsonable(data), indent=indent) + "\n")


def check_writable(path: str | os.PathLike | None, name: str) -> Path | None:
    """Fail before a long run, not after it, when ``path``'s directory does not exist."""
    if path is None:
        return None
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{name}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{name}: directory {str(parent)!r} is not writable")
    return path


class Interrupted:
    """Set by :func:`interruptible` when the block was ended by Ctrl-C."""

    def __init__(self) -> None:
        self.flag = False

    def __bool__(self) -> bool:
        return self.flag


@contextlib.contextmanager
def interruptible() -> Iterator[Interrupted]:
    """Swallow ``KeyboardInterrupt`` inside the block; the yielded flag says it happened.

    Use it around a run's main loop; after the block, build the (partial) result, mark it
    interrupted, write it, and (in a CLI) exit 130.
    """
    state = Interrupted()
    try:
        yield state
    except KeyboardInterrupt:
        state.flag = True


__all__.append("check_writable")
