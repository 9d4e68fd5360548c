"""Results that survive: atomic, safe output files and interrupt-safe long runs.

Rules every output of the package follows (one place, so they cannot drift):

* **Atomic**: written to a temporary file in the target's directory, then ``os.replace``;
  an interruption never leaves half a file.
* **Only regular files are replaced.** A directory, FIFO, device or socket at the path is
  refused with a ``ValueError`` naming it (before a long run by :func:`check_writable`,
  and again just before the rename). A **symlink is written through**: the file it points
  to is replaced and the link is kept, as ``open(path, "w")`` would do; a link to a
  non-regular file (``/dev/null``, a FIFO) is refused like the file itself.
* **Permissions as ``open()``**: a new file gets ``0o666 & ~umask``; a replaced file keeps
  its mode.
* Long runs wrap their loop in :func:`interruptible` (Ctrl-C ends the loop and keeps what
  was found); the command line also turns SIGTERM into the same interruption
  (:func:`signals_as_interrupt`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_json", "write_npz", "write_text", "write_bytes", "to_jsonable",
           "Interrupted", "interruptible", "check_writable", "output_target",
           "signals_as_interrupt", "file_sha256", "SCRATCH_DIR", "scratch_path"]

#: where examples and benchmarks write unless told otherwise: untracked (``.gitignore``),
#: so a run never rewrites the tracked ``results/`` that README's numbers come from
SCRATCH_DIR = "gausslj-results"


def scratch_path(*parts: str) -> str:
    """A default output path under :data:`SCRATCH_DIR` (relative to the working directory)."""
    return os.path.join(SCRATCH_DIR, *parts)


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


def output_target(path: str | os.PathLike, name: str = "path") -> Path:
    """Where writing ``path`` lands: symlinks followed; refuses what is not a regular file.

    Raises
    ------
    ValueError
        If ``path`` (or what a symlink at it points to) is a directory, FIFO, device or
        socket, or the link cannot be resolved; the message names ``name`` and the path.
    """
    target = Path(os.path.realpath(os.fspath(path)))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:  # e.g. a symlink loop
        raise ValueError(f"{name}: cannot use {os.fspath(path)!r} ({exc.strerror})") from None
    via = "" if os.fspath(target) == os.path.abspath(path) else f" (a link to {str(target)!r})"
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{name}: {os.fspath(path)!r}{via} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{name}: {os.fspath(path)!r}{via} is not a regular file (FIFO, "
                         "device or socket); outputs only replace regular files")
    return target


def check_writable(path: str | os.PathLike | None, name: str, *,
                   make_parent: bool = False) -> Path | None:
    """Fail before a long run, not after it, when ``path`` cannot receive an output.

    Refuses a missing (unless ``make_parent``: created) or read-only directory and anything
    at ``path`` that is not a regular file (see :func:`output_target`); returns ``path``
    (None stays None).
    """
    if path is None:
        return None
    path = Path(path)
    parent = output_target(path, name).parent
    if make_parent:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"{name}: cannot create directory {str(parent)!r} "
                             f"({exc.strerror})") from None
    if not parent.is_dir():
        raise ValueError(f"{name}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: directory {str(parent)!r} is not writable")
    return path


def _umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


def _write_atomic(path: str | os.PathLike, fill: Callable[[Any], None]) -> Path:
    """Write through ``fill(binary_file)`` to a temporary file, then rename onto ``path``."""
    target = output_target(path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)  # a replaced file keeps its mode
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    with _shielded():
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fill(fh)
            os.chmod(tmp, mode)
            output_target(path)  # again: something may have appeared there meanwhile
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (the directory must exist)."""
    return _write_atomic(path, lambda fh: fh.write(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (the directory must exist)."""
    return write_bytes(path, text.encode())


def write_npz(path: str | os.PathLike, **arrays) -> Path:
    """``numpy.savez_compressed`` to ``path`` atomically (the directory must exist)."""
    return _write_atomic(path, lambda fh: np.savez_compressed(fh, **arrays))


def write_json(path: str | os.PathLike, data: Any, *, indent: int | None = 1) -> Path:
    """Write ``data`` as JSON to ``path`` atomically."""
    return write_text(path, json.dumps(to_jsonable(data), indent=indent) + "\n")


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (ties a JSON record to the npz beside it)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def npz_bytes(**arrays) -> bytes:
    """The bytes ``numpy.savez_compressed`` would write (to hash them before writing)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


class Interrupted:
    """Set by :func:`interruptible` when the block was ended by Ctrl-C (or SIGTERM)."""

    def __init__(self) -> None:
        self.flag = False

    def __bool__(self) -> bool:
        return self.flag


@contextlib.contextmanager
def interruptible() -> Iterator[Interrupted]:
    """Swallow ``KeyboardInterrupt`` inside the block; the yielded flag says it happened.

    Use it around a run's main loop; after the block, build the (partial) result, mark it
    interrupted, write it, and (in a CLI) exit 130 (143 after SIGTERM).
    """
    state = Interrupted()
    try:
        yield state
    except KeyboardInterrupt:
        state.flag = True


class _SignalState:
    """What :func:`signals_as_interrupt` saw: the first signal and whether one is pending."""

    def __init__(self) -> None:
        self.signum: int | None = None  # the first SIGINT/SIGTERM received
        self.pending = False  # received during an atomic write: raised when it ends
        self.shield = 0  # depth of atomic writes in progress
        self.count = 0


_ACTIVE: _SignalState | None = None


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """An atomic write in progress: a signal waits until the file is in place."""
    st = _ACTIVE
    if st is None:
        yield
        return
    st.shield += 1
    try:
        yield
    finally:
        st.shield -= 1
        if st.shield == 0 and st.pending:
            st.pending = False
            raise KeyboardInterrupt


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[_SignalState]:
    """Inside the block, SIGTERM (what schedulers send) interrupts like Ctrl-C.

    Both signals raise ``KeyboardInterrupt``, so :func:`interruptible` ends the run and
    the caller writes what it has; the yielded object's ``signum`` says which signal came
    first (the CLI exits ``128 + signum``: 130 after SIGINT, 143 after SIGTERM). A signal
    arriving during an atomic write is raised once the file is in place. A second SIGTERM
    ends the process at once (exit 143), as without this handler. Handlers are installed
    only in the main thread and only over the default ones; they are restored on exit.
    """
    global _ACTIVE
    state = _SignalState()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum, frame):  # noqa: ARG001 (signal's signature)
        state.count += 1
        if state.signum is None:
            state.signum = signum
        elif signum == signal.SIGTERM and state.count > 1:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if state.shield:
            state.pending = True
            return
        raise KeyboardInterrupt

    previous = {}
    for signum, default in ((signal.SIGINT, signal.default_int_handler),
                            (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(signum) is default:
            previous[signum] = signal.signal(signum, handler)
    outer, _ACTIVE = _ACTIVE, state
    try:
        yield state
    finally:
        _ACTIVE = outer
        for signum, old in previous.items():
            signal.signal(signum, old)
