"""A result stored as a pair of files, ``<prefix>.json`` + ``<prefix>.npz``, that cannot mix.

The npz is written first, then the JSON, each atomically; the JSON records the npz's file
name, SHA-256 and array shapes. A kill between the two writes leaves a JSON beside an npz
of another save: :func:`load_pair` sees the hash differ and raises, naming both files,
instead of returning one run's configuration beside another run's arrays.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..io import check_writable, npz_bytes, write_bytes, write_json

__all__ = ["pair_paths", "save_pair", "load_pair"]

_SUFFIXES = (".json", ".npz")


def pair_paths(prefix: str | os.PathLike) -> tuple[Path, Path]:
    """``(prefix.json, prefix.npz)``; the prefix is extended, never cut.

    ``run.v1`` -> ``run.v1.json``, ``run.v1.npz`` (``Path.with_suffix`` would make it
    ``run.json``); a prefix already ending in ``.json`` or ``.npz`` names the pair.
    """
    text = os.fspath(prefix)
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(Path(text).name) > len(suffix):
            text = text[: -len(suffix)]
            break
    return Path(text + ".json"), Path(text + ".npz")


def save_pair(prefix, doc: dict, arrays: dict[str, np.ndarray], *,
              indent: int | None = 1) -> tuple[Path, Path]:
    """Write ``arrays`` to ``prefix.npz`` and ``doc`` (+ the npz record) to ``prefix.json``."""
    js, npz = pair_paths(prefix)
    js.parent.mkdir(parents=True, exist_ok=True)
    for path in (npz, js):  # refuse a directory/FIFO/device before writing either file
        check_writable(path, "prefix")
    data = npz_bytes(**arrays)
    record = {"file": npz.name, "sha256": hashlib.sha256(data).hexdigest(),
              "shapes": {k: list(np.shape(v)) for k, v in arrays.items()}}
    write_bytes(npz, data)
    write_json(js, {**doc, "npz": record}, indent=indent)
    return js, npz


def load_pair(prefix, names: tuple[str, ...]) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON document and the arrays ``names`` of a pair written by :func:`save_pair`.

    Raises
    ------
    ValueError
        Naming the files: unreadable JSON, an npz that is not the one the JSON records
        (other hash), missing arrays, or shapes that disagree (with the record, with each
        other, or with the ``n_atoms`` of the stored configuration).
    """
    js, npz = pair_paths(prefix)
    try:
        doc = json.loads(js.read_text())
    except ValueError as exc:
        raise ValueError(f"{js}: not a result file ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{js}: not a result file (a JSON object expected)")
    record = doc.get("npz")
    if record is not None:
        digest = hashlib.sha256(npz.read_bytes()).hexdigest()
        if digest != record.get("sha256"):
            raise ValueError(f"{npz} is not the array file {js} was saved with (SHA-256 "
                             f"{digest[:12]}, recorded {str(record.get('sha256'))[:12]}): "
                             "the pair was mixed (a save interrupted between the two "
                             "files?) or damaged")
    try:
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in names}
    except KeyError as exc:
        raise ValueError(f"{npz}: array {exc} missing") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{npz}: not a readable npz ({exc})") from None
    _check_shapes(js, npz, doc, record, arrays)
    return doc, arrays


def _check_shapes(js: Path, npz: Path, doc: dict, record: dict | None,
                  arrays: dict[str, np.ndarray]) -> None:
    if record is not None:
        for k, a in arrays.items():
            want = record.get("shapes", {}).get(k)
            if want is not None and list(a.shape) != list(want):
                raise ValueError(f"{npz}: array {k!r} has shape {a.shape}, {js} records {want}")
    pos = arrays.get("positions")
    if pos is None:
        return
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"{npz}: positions of shape {pos.shape}, expected (R, N, 3)")
    n_atoms = (doc.get("config") or {}).get("n_atoms")
    if n_atoms is not None and pos.shape[1] != n_atoms:
        raise ValueError(f"{npz} holds {pos.shape[1]} atoms per replica but {js} describes "
                         f"a run of {n_atoms} atoms: the files belong to different runs")
    for k, a in arrays.items():
        if k != "positions" and a.ndim == 1 and a.shape[0] != pos.shape[0]:
            raise ValueError(f"{npz}: {k!r} has {a.shape[0]} entries for {pos.shape[0]} "
                             "replicas")
