"""Resumable state of one basin-hopping run: a plain JSON-able dict.

The state holds the random generator, the current and best structures, the counters and
the trace, plus a *key* of the settings that shape the trajectory; a state is resumed only
under the same key, so a resumed run is identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import stat
from typing import Any

import numpy as np

from ..io import write_json

__all__ = ["STATE_VERSION", "new_state", "save_state", "load_state", "check_state",
           "copy_state", "validate_state", "check_energies"]

STATE_VERSION = 3
"""Version 2 added the quench settings (gtol, maxiter, radius, minimizer) to the key;
version 3 ``p_smooth`` and ``polish_gtol`` (and ``minimizer`` now defaults to the compiled
one for the built-in LJ)."""


_FIELDS = frozenset({"version", "settings", "seed", "rng", "start", "cur_x", "cur_e", "best_x",
                     "best_e", "trace", "n_min", "n_restarts", "since_best", "elapsed",
                     "stop_reason"})


def new_state(key: dict[str, Any], seed: int | None, start: np.ndarray | None) -> dict:
    """A fresh state for settings ``key``, generator seeded by ``seed``.

    Parameters
    ----------
    key : dict
        JSON-able settings that must match on resume.
    seed : int or None
        Seed of :func:`numpy.random.default_rng`.
    start : ndarray (N, 3) or None
        Starting structure (None: a random cluster).
    """
    rng = np.random.default_rng(seed)
    return {
        "version": STATE_VERSION,
        "settings": key,
        "seed": seed,
        "rng": rng.bit_generator.state,
        "start": None if start is None else np.asarray(start).tolist(),
        "cur_x": None,
        "cur_e": None,
        "best_x": None,
        "best_e": None,
        "trace": [],
        "n_min": 0,
        "n_restarts": 0,
        "since_best": 0,
        "elapsed": 0.0,
        "stop_reason": None,
    }


def save_state(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` to ``path`` atomically."""
    write_json(path, state, indent=None)


def load_state(path: str | os.PathLike) -> dict | None:
    """The state stored at ``path``, or None when there is no file.

    Raises
    ------
    ValueError
        Naming the file, when it is not a regular file, not JSON, or not a state
        (:func:`validate_state`); nothing in it is trusted.
    """
    if not os.path.lexists(path):
        return None
    where = f"state file {os.fspath(path)!r}"
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the open
            raise ValueError("not a regular file")
        with open(path, encoding="utf-8") as fh:
            state = json.load(fh)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise ValueError(f"{where} cannot be read as a saved state ({exc}); remove it "
                         "to start afresh") from None
    return validate_state(state, where)


def copy_state(state: dict) -> dict:
    """A private deep copy (JSON round trip, as a file would give)."""
    return json.loads(json.dumps(state))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(float(v)))


def _check_positions(v, n_atoms: int, field: str) -> None:
    ok = (isinstance(v, list) and len(v) == n_atoms
          and all(isinstance(r, list) and len(r) == 3 and all(map(_is_real, r)) for r in v))
    if not ok:
        raise ValueError(f"{field!r} must be null or {n_atoms} rows of 3 finite numbers")


def _check_rng(rng) -> None:
    gen = np.random.default_rng()
    try:
        gen.bit_generator.state = rng
        ok = gen.bit_generator.state == rng  # the setter silently coerces some values
    except (TypeError, ValueError, KeyError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"'rng' is not a {type(gen.bit_generator).__name__} state")


def _check_fields(st: dict) -> None:
    n = st["settings"].get("n_atoms") if isinstance(st["settings"], dict) else None
    if not _is_int(n) or n < 1:
        raise ValueError("'settings' has no valid 'n_atoms'")
    for k in ("n_min", "n_restarts", "since_best"):
        if not _is_int(st[k]) or st[k] < 0:
            raise ValueError(f"{k!r} must be an integer >= 0, got {st[k]!r}")
    if st["seed"] is not None and not _is_int(st["seed"]):
        raise ValueError(f"'seed' must be null or an integer, got {st['seed']!r}")
    if not _is_real(st["elapsed"]) or st["elapsed"] < 0:
        raise ValueError(f"'elapsed' must be a finite number >= 0, got {st['elapsed']!r}")
    if st["stop_reason"] is not None and not isinstance(st["stop_reason"], str):
        raise ValueError(f"'stop_reason' must be null or a string, got {st['stop_reason']!r}")
    _check_rng(st["rng"])
    for x, e in (("start", None), ("cur_x", "cur_e"), ("best_x", "best_e")):
        if st[x] is not None:
            _check_positions(st[x], n, x)
        if e is None:
            continue
        if (st[x] is None) != (st[e] is None):
            raise ValueError(f"{x!r} and {e!r} must both be null or both be set")
        if st[e] is not None and not _is_real(st[e]):
            raise ValueError(f"{e!r} must be a finite number, got {st[e]!r}")
    trace = st["trace"]
    if not (isinstance(trace, list) and all(
            isinstance(t, list) and len(t) == 3 and all(map(_is_real, t)) for t in trace)):
        raise ValueError("'trace' must be a list of [time, quenches, energy] triples")
    if (st["best_e"] is None) != (not trace) or (trace and trace[-1][2] != st["best_e"]):
        raise ValueError("'best_e' is not the last energy of 'trace'")
    counts = [t[1] for t in trace]
    if counts != sorted(counts) or (counts and counts[-1] > st["n_min"]):
        raise ValueError("'trace' quench counts are not increasing up to 'n_min'")


def validate_state(state: Any, where: str = "resume state") -> dict:
    """``state`` if it has exactly the fields and types of :func:`new_state`'s dict.

    ``where`` names the source in the ValueError (e.g. the state file). The energies are
    checked against the positions by :func:`check_energies`, which needs the objective.
    """
    if not isinstance(state, dict):
        raise ValueError(f"{where} is not a saved state: it holds a {type(state).__name__}, "
                         "expected an object of fields")
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"{where} has version {state.get('version')!r}, "
                         f"expected {STATE_VERSION}")
    missing = sorted(_FIELDS - state.keys())
    extra = sorted(state.keys() - _FIELDS)
    if missing or extra:
        raise ValueError(f"{where} is not a saved state: missing fields {missing}, "
                         f"unknown fields {extra}")
    try:
        _check_fields(state)
    except ValueError as exc:
        raise ValueError(f"{where} is damaged: {exc}") from None
    return state


def check_energies(state: dict, energy, where: str = "resume state",
                   rtol: float = 1e-9) -> None:
    """Refuse a state whose stored energies are not those of its stored positions.

    Accepted energies are replaced in ``state`` by the recomputed ones.

    ``energy(x (N, 3)) -> float`` is the plain (width 0) objective; ``best_e`` and
    ``cur_e`` are recomputed, so a forged or mixed-up state cannot pass off another
    structure's energy as the result.
    """
    for x, e in (("best_x", "best_e"), ("cur_x", "cur_e")):
        if state[x] is None:
            continue
        try:
            got = float(energy(np.asarray(state[x], dtype=np.float64)))
        except (ValueError, FloatingPointError) as exc:
            raise ValueError(f"{where} is damaged: {x!r} cannot be evaluated ({exc})") from None
        want = float(state[e])
        if not abs(got - want) <= rtol * max(1.0, abs(got)):
            raise ValueError(f"{where} is damaged: {e!r} = {want!r} but the energy of "
                             f"{x!r} is {got!r}")
        # within the tolerance, the recomputed value is the truth: a result's energy is
        # always the energy of its positions, bit for bit
        state[e] = got
        if e == "best_e" and state["trace"] and state["trace"][-1][2] == want:
            state["trace"][-1] = [*state["trace"][-1][:2], got]


def check_state(state: dict, key: dict[str, Any], where: str = "resume state") -> dict:
    """``state`` (a private copy) if it can be resumed under settings ``key``."""
    try:
        state = copy_state(state)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} is not a saved state ({exc})") from None
    state = validate_state(state, where)
    if state["settings"] != copy_state(key):
        raise ValueError(f"{where} was made with different settings: "
                         f"{state['settings']} != {key}")
    return state
