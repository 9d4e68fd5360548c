"""The one on-disk cache for computed arrays (the reduced table, the OpenMM grid values).

Entries are ``.npz`` files under ``$GAUSSLJ_CACHE_DIR`` (default ``~/.cache/gausslj``; an
empty string disables the disk cache). The file name is a hash of the *key*: a dict that
must hold every input that changes the values (grid parameters, quadrature settings, code
version), so a change of any of them can never reuse stale values. Writes are atomic (a
temporary file in the same directory, then ``os.replace``), so a reader never sees half a
file.

A cache file is never trusted: an entry is used only if it is a regular file holding
exactly the expected members, each a float64 ``.npy`` array of the expected shape with
finite values, the zip CRCs intact. Sizes are checked from the zip directory *before*
anything is decompressed, and non-regular files (FIFO, device, directory) are refused
before they are opened, so a hostile or damaged entry can cost neither a hang nor memory.
Anything else is a damaged entry: a warning naming the file, then the caller recomputes
and the entry is rewritten. When the cache directory is not writable, entries go to a
per-user fallback (``~/.cache/gausslj``, else ``<tempdir>/gausslj-cache-<uid>``), with one
warning, so a read-only cache costs one build, not one per run.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from .validation import check_directory

__all__ = ["cache_dir", "cache_path", "load_arrays", "save_arrays", "cached_arrays",
           "DamagedCacheEntry"]

# room for the .npy header (numpy pads it to a multiple of 64 bytes; 4 KiB is generous)
_NPY_HEADER_MAX = 4096
_WARNED_DIRS: set[str] = set()


class DamagedCacheEntry(ValueError):
    """A cache file that is not exactly what was stored (the message names the file)."""


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


def _file_name(name: str, key: Mapping) -> str:
    return f"{name}-{_digest(key)}.npz"


def cache_path(name: str, key: Mapping) -> Path | None:
    """Where the entry ``name`` with ``key`` lives (None when caching is disabled)."""
    d = cache_dir()
    return None if d is None else d / _file_name(name, key)


def _fallback_dirs(primary: Path) -> list[Path]:
    """Per-user writable places used when ``primary`` is not writable."""
    home = Path.home() / ".cache" / "gausslj"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    tmp = Path(tempfile.gettempdir()) / f"gausslj-cache-{uid}"
    return [d for d in (home, tmp) if d != primary]


def _usable_dir(d: Path) -> bool:
    """``d`` exists (or was made) as a real directory we may write, not a planted one."""
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = d.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or not os.access(d, os.W_OK | os.X_OK):
        return False
    if d.is_relative_to(tempfile.gettempdir()) and hasattr(os, "getuid"):
        # a shared temp dir: only our own, private directory (another user could plant one)
        return st.st_uid == os.getuid() and not st.st_mode & 0o022
    return True


def _member_limits(expect: Mapping[str, tuple]) -> dict[str, tuple[tuple, int]]:
    return {f"{k}.npy": (tuple(int(n) for n in shape), 8 * int(np.prod(shape, dtype=np.int64)))
            for k, shape in expect.items()}


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple, nbytes: int):
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            hdr = np.lib.format.read_array_header_1_0(fh, max_header_size=_NPY_HEADER_MAX)
        elif version == (2, 0):
            hdr = np.lib.format.read_array_header_2_0(fh, max_header_size=_NPY_HEADER_MAX)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        got_shape, fortran, dtype = hdr
        if dtype != np.dtype(np.float64):
            raise ValueError(f"{info.filename} has dtype {dtype}, expected float64")
        if tuple(got_shape) != shape:
            raise ValueError(f"{info.filename} has shape {tuple(got_shape)}, expected {shape}")
        data = fh.read(nbytes)
        if len(data) != nbytes or fh.read(1):  # the last read also checks the CRC
            raise ValueError(f"{info.filename} has {len(data)} data bytes, expected {nbytes}")
    arr = np.frombuffer(data, dtype=np.float64).reshape(shape, order="F" if fortran else "C")
    arr = np.array(arr, order="C")  # writable, C-contiguous, owns its memory
    if not np.isfinite(arr).all():
        raise ValueError(f"{info.filename} has non-finite values")
    return arr


def _read_entry(path: Path, expect: Mapping[str, tuple]) -> dict[str, np.ndarray]:
    """The arrays of the entry at ``path``; DamagedCacheEntry if it is not exact."""
    limits = _member_limits(expect)
    try:
        st = os.stat(path)  # follows a symlink: its target must be a regular file too
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        budget = sum(n + _NPY_HEADER_MAX for _, n in limits.values()) + 4096 * (len(limits) + 1)
        if st.st_size > budget:
            raise ValueError(f"{st.st_size} bytes, expected at most {budget}")
        # O_NONBLOCK: a FIFO swapped in after the stat cannot block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ValueError("not a regular file")
            with zipfile.ZipFile(fh) as zf:
                infos = zf.infolist()
                names = [i.filename for i in infos]
                if sorted(names) != sorted(limits):
                    raise ValueError(f"members {names}, expected {sorted(limits)}")
                for info in infos:  # sizes from the zip directory, before decompressing
                    _, nbytes = limits[info.filename]
                    if info.file_size > nbytes + _NPY_HEADER_MAX:
                        raise ValueError(f"{info.filename} declares {info.file_size} bytes, "
                                         f"expected about {nbytes}")
                arrays = {}
                for info in infos:
                    shape, nbytes = limits[info.filename]
                    arrays[info.filename[:-4]] = _read_member(zf, info, shape, nbytes)
    except Exception as exc:  # noqa: BLE001 - whatever fails to read is a damaged entry
        raise DamagedCacheEntry(f"damaged cache file {path}: {exc}") from exc
    return arrays


def _warn(message: str) -> None:
    warnings.warn(f"gausslj: {message}", RuntimeWarning, stacklevel=3)


def load_arrays(name: str, key: Mapping, expect: Mapping[str, tuple]):
    """The arrays stored for ``(name, key)``, or None if absent or damaged (warned).

    ``expect`` maps array names to shapes: an entry is used only if it holds exactly
    these arrays, as finite float64 of these shapes. The fallback directories (see the
    module docstring) are searched after the cache directory.
    """
    primary = cache_path(name, key)
    if primary is None:
        return None
    damaged = False
    for path in [primary] + [d / primary.name for d in _fallback_dirs(primary.parent)]:
        if not os.path.lexists(path):
            continue
        try:
            arrays = _read_entry(path, expect)
        except DamagedCacheEntry as exc:
            damaged = damaged or path == primary
            _warn(f"{exc}; rebuilding it")
            continue
        if damaged:  # a good copy elsewhere repairs the damaged entry
            try:
                _write(primary, arrays)
            except OSError:
                pass
        return arrays
    return None


def _write(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        # replaces whatever damaged entry is there (a symlink is replaced, not followed)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_arrays(name: str, key: Mapping, arrays: Mapping[str, np.ndarray]) -> Path | None:
    """Store ``arrays`` atomically; where they went (None: caching disabled or impossible).

    When the cache directory cannot take the entry, the first usable fallback directory
    does, with one warning per directory and process.
    """
    primary = cache_path(name, key)
    if primary is None:
        return None
    arrays = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}
    reason = "not a writable directory"
    for d in [primary.parent] + _fallback_dirs(primary.parent):
        if not _usable_dir(d):
            continue
        try:
            _write(d / primary.name, arrays)
        except OSError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            continue
        if d != primary.parent and str(primary.parent) not in _WARNED_DIRS:
            _WARNED_DIRS.add(str(primary.parent))
            _warn(f"cache directory {primary.parent} cannot hold {primary.name} ({reason}); "
                  f"cache entries go to {d} instead")
        return d / primary.name
    return None


def cached_arrays(name: str, key: Mapping, compute: Callable[[], Mapping[str, np.ndarray]],
                  expect: Mapping[str, tuple]):
    """``load_arrays`` or, failing that, ``compute()`` (a dict of arrays) and save it."""
    arrays = load_arrays(name, key, expect)
    if arrays is None:
        arrays = dict(compute())
        save_arrays(name, key, arrays)
    return arrays
