"""Resumable state of one basin-hopping run: a plain JSON-able dict.

The state holds the random generator, the current and best structures, the counters and
the trace, plus a *key* of the settings that shape the trajectory; a state is resumed only
under the same key, so a resumed run is identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..io import write_json

__all__ = ["STATE_VERSION", "new_state", "save_state", "load_state", "check_state",
           "copy_state"]

STATE_VERSION = 3
"""Version 2 added the quench settings (gtol, maxiter, radius, minimizer) to the key;
version 3 ``p_smooth`` and ``polish_gtol`` (and ``minimizer`` now defaults to the compiled
one for the built-in LJ)."""


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
    """The state stored at ``path``, or None when there is no file."""
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def copy_state(state: dict) -> dict:
    """A private deep copy (JSON round trip, as a file would give)."""
    return json.loads(json.dumps(state))


def check_state(state: dict, key: dict[str, Any]) -> dict:
    """``state`` (a private copy) if it can be resumed under settings ``key``."""
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"resume state has version {state.get('version')}, "
                         f"expected {STATE_VERSION}")
    if state["settings"] != copy_state(key):
        raise ValueError("resume state was made with different settings: "
                         f"{state['settings']} != {key}")
    return copy_state(state)
