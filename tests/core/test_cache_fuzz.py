"""Fuzzing layer over cache files: every damaged entry is rebuilt (warning naming the file)
and gives the freshly computed values; no variant hangs, eats memory or yields other numbers.

The entries are written by hand (zipfile, numpy.lib.format) so each damage is exactly the
one named; the reference values are those of the deterministic ``compute`` itself.
"""

from __future__ import annotations

import io
import os
import tempfile
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ase_gausslj.core import cache

SHAPE = (4, 5)
EXPECT = {"values": SHAPE, "derivs": SHAPE}
KEY = {"what": "fuzz", "n": 1}


def _fresh() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {"values": rng.normal(size=SHAPE) * 40.0, "derivs": rng.normal(size=SHAPE)}


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return _fresh()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Cache, home and temp dirs all inside tmp_path (the fallbacks too)."""
    for d in ("cache", "home", "tmp"):
        (tmp_path / d).mkdir()
    monkeypatch.setenv("GAUSSLJ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(cache, "_WARNED_DIRS", set(), raising=False)
    return tmp_path


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=True)
    return buf.getvalue()


def _zip(members: list[tuple[str, bytes]], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are a damage we want
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return buf.getvalue()


def _good_members():
    return [(f"{k}.npy", _npy(v)) for k, v in _fresh().items()]


def _valid_bytes() -> bytes:
    return _zip(_good_members())


def _with(name: str, arr) -> bytes:
    good = dict(_good_members())
    good[f"{name}.npy"] = _npy(arr)
    return _zip(list(good.items()))


def _fifo(path):
    os.mkfifo(path)


def _directory(path):
    os.mkdir(path)
    (path / "inner").write_bytes(_valid_bytes())


def _dev_zero(path):
    os.symlink("/dev/zero", path)


def _dangling(path):
    os.symlink(path.parent / "nowhere", path)


V = _fresh()["values"]
BYTES = {
    "empty": lambda: b"",
    "garbage": lambda: bytes(range(256)) * 8,
    "truncated": lambda: _valid_bytes()[: len(_valid_bytes()) // 2],
    "truncated-tail": lambda: _valid_bytes()[:-10],
    "bool": lambda: _with("values", V > 0),
    "int": lambda: _with("values", V.astype(np.int64)),
    "float32": lambda: _with("values", V.astype(np.float32)),
    "big-endian": lambda: _with("values", V.astype(">f8")),
    "complex": lambda: _with("values", V.astype(np.complex128)),
    "string": lambda: _with("values", V.astype(str)),
    "object": lambda: _with("values", V.astype(object)),
    "wrong-shape": lambda: _with("values", V.T),
    "one-row-more": lambda: _with("values", np.vstack([V, V[:1]])),
    "nan": lambda: _with("values", np.where(V > 0, np.nan, V)),
    "inf": lambda: _with("derivs", np.full(SHAPE, np.inf)),
    "extra-member": lambda: _zip([*_good_members(), ("extra.npy", _npy(np.zeros(3)))]),
    "missing-member": lambda: _zip(_good_members()[:1]),
    "duplicate-member": lambda: _zip([*_good_members(), _good_members()[0]]),
    "renamed-member": lambda: _zip([("values.npy", _npy(V)), ("derivs", _npy(V))]),
    "not-npy": lambda: _zip([("values.npy", b"hello"), ("derivs.npy", b"world")]),
}
NODES = {"fifo": _fifo, "directory": _directory, "dev-zero": _dev_zero, "dangling": _dangling}


def _damage(path, variant):
    if variant in BYTES:
        path.write_bytes(BYTES[variant]())
    else:
        NODES[variant](path)


def _check_rebuilt(path, variant):
    compute = Counter()
    with pytest.warns(RuntimeWarning) as rec:
        arrays = cache.cached_arrays("fuzz", KEY, compute, expect=EXPECT)
    assert compute.calls == 1, variant
    for k, v in _fresh().items():
        np.testing.assert_array_equal(arrays[k], v)
        assert arrays[k].dtype == np.float64
    assert any(str(path) in str(w.message) for w in rec), [str(w.message) for w in rec]


@pytest.mark.parametrize("variant", [*BYTES, *NODES])
def test_damaged_entry_is_rebuilt_never_trusted(env, variant):
    path = cache.cache_path("fuzz", KEY)
    path.parent.mkdir(parents=True, exist_ok=True)
    _damage(path, variant)
    _check_rebuilt(path, variant)
    # repaired: the next run reads it back silently, computing nothing
    compute = Counter()
    with warnings.catch_warnings():
        if variant != "directory":  # a directory is never deleted: it keeps being named
            warnings.simplefilter("error")
        again = cache.cached_arrays("fuzz", KEY, compute, expect=EXPECT)
    assert compute.calls == 0
    np.testing.assert_array_equal(again["values"], V)
    if variant != "directory":
        assert path.is_file() and not path.is_symlink()


def test_valid_entries_load(env):
    """Control: the writer's own entry, a Fortran-ordered one and a symlink to a good
    regular file are all read exactly, without recomputation."""
    path = cache.cache_path("fuzz", KEY)
    path.parent.mkdir(parents=True, exist_ok=True)
    for data in (_valid_bytes(), _with("values", np.asfortranarray(V))):
        path.unlink(missing_ok=True)
        path.write_bytes(data)
        compute = Counter()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = cache.cached_arrays("fuzz", KEY, compute, expect=EXPECT)
        assert compute.calls == 0
        np.testing.assert_array_equal(got["values"], V)
        assert got["values"].flags.c_contiguous and got["values"].flags.writeable
    target = env / "elsewhere.npz"
    target.write_bytes(_valid_bytes())
    path.unlink()
    path.symlink_to(target)
    got = cache.load_arrays("fuzz", KEY, EXPECT)
    np.testing.assert_array_equal(got["derivs"], _fresh()["derivs"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_byte_damage_never_gives_other_numbers(env, data):
    good = _valid_bytes()
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
    pos = data.draw(st.integers(0, len(good) - 1))
    if kind == "flip":
        bad = bytearray(good)
        bad[pos] ^= data.draw(st.integers(1, 255))
        bad = bytes(bad)
    elif kind == "truncate":
        bad = good[:pos]
    else:
        bad = good[:pos] + data.draw(st.binary(min_size=1, max_size=16)) + good[pos:]
    path = cache.cache_path("fuzz", KEY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bad)
    compute = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arrays = cache.cached_arrays("fuzz", KEY, compute, expect=EXPECT)
    # loaded (an undamaged field changed, e.g. a local-header date) or rebuilt: the same
    for k, v in _fresh().items():
        np.testing.assert_array_equal(arrays[k], v)


def _peak_during(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_huge_member_is_refused_before_decompressing(env):
    """Members are sized from the zip directory before anything is decompressed (issue
    19: an extra 4 GB member was decompressed, 50 s and 7.9 GB RSS, then accepted)."""
    big = {"values": (1000, 1000)}  # an 8 MB entry, as large as the real table's
    path = cache.cache_path("fuzz", KEY)
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = bytes(1 << 20)

    def bomb(names):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in names:  # 100 MB of zeros each, ~100 KB compressed
                with zf.open(name, "w") as fh:
                    fh.write(_npy(np.zeros(0))[:128])
                    for _ in range(100):
                        fh.write(chunk)
        assert path.stat().st_size < 1_000_000

    for names, match in [(["values.npy", "extra.npy"], "extra"), (["values.npy"], "declares")]:
        bomb(names)

        def load(match=match):
            with pytest.warns(RuntimeWarning, match=match):
                assert cache.load_arrays("fuzz", KEY, big) is None

        assert _peak_during(load) < 5_000_000
    # a file larger than any valid entry is refused from its size alone
    path.write_bytes(bytes(9_000_000 + 10 * 4096))
    with pytest.warns(RuntimeWarning, match="bytes, expected at most"):
        assert cache.load_arrays("fuzz", KEY, big) is None


def test_unwritable_cache_dir_builds_once_then_uses_fallback(env, monkeypatch):
    # a directory below a regular file can be created by no one (root included)
    (env / "a-file").write_text("x")
    monkeypatch.setenv("GAUSSLJ_CACHE_DIR", str(env / "a-file" / "cache"))
    compute = Counter()
    with pytest.warns(RuntimeWarning, match="a-file") as rec:
        first = cache.cached_arrays("fuzz", KEY, compute, expect=EXPECT)
    assert compute.calls == 1 and len(rec) == 1
    assert "instead" in str(rec[0].message) and str(env / "home") in str(rec[0].message)
    np.testing.assert_array_equal(first["values"], V)
    # a new process: no rebuild, no warning (the fallback entry is found)
    monkeypatch.setattr(cache, "_WARNED_DIRS", set(), raising=False)
    compute = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = cache.cached_arrays("fuzz", KEY, compute, expect=EXPECT)
    assert compute.calls == 0
    np.testing.assert_array_equal(again["values"], V)


def test_fallback_to_private_tempdir_when_home_is_unusable(env, monkeypatch):
    (env / "a-file").write_text("x")
    monkeypatch.setenv("GAUSSLJ_CACHE_DIR", str(env / "a-file" / "cache"))
    monkeypatch.setenv("HOME", str(env / "a-file"))
    with pytest.warns(RuntimeWarning, match="instead"):
        where = cache.save_arrays("fuzz", KEY, _fresh())
    assert where is not None and where.parent.parent == env / "tmp"
    assert where.parent.stat().st_mode & 0o777 == 0o700
    # a temp directory another user could have planted (group/other-writable) is not used
    os.chmod(where.parent, 0o777)
    monkeypatch.setattr(cache, "_WARNED_DIRS", set(), raising=False)
    assert cache.save_arrays("fuzz", KEY, _fresh()) is None


@pytest.mark.parametrize("dtype", [bool, np.int64, str])
def test_table_cache_with_wrong_dtype_gives_the_fresh_table(env, dtype):
    """End to end (issue 19: a bool entry gave E = 3.0006 instead of 37.607): the table
    rebuilt from a damaged entry equals a fresh build and the energy is right."""
    from ase_gausslj.core.table import SmoothedLJTable

    first = SmoothedLJTable(width_max=0.05, width_step=0.3)
    path = cache.cache_path("table", first.cache_key())
    forged = {"values": first.values.astype(dtype), "derivs": first.derivs.astype(dtype)}
    path.write_bytes(_zip([(f"{k}.npy", _npy(v)) for k, v in forged.items()]))
    with pytest.warns(RuntimeWarning, match="damaged cache file .*(dtype|bytes)"):
        again = SmoothedLJTable(width_max=0.05, width_step=0.3)
    assert not again.loaded_from_cache
    np.testing.assert_array_equal(again.values, first.values)
    np.testing.assert_array_equal(again.derivs, first.derivs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SmoothedLJTable(width_max=0.05, width_step=0.3).loaded_from_cache
