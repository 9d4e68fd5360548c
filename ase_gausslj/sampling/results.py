"""Sampler results on disk: :class:`SMCResult` (JSON + npz) and parameter-keyed reuse.

A stored result is only reused for the parameters it was computed with:
:func:`params_key` names a result by a hash of its parameters and :func:`load_matching`
returns a stored document only if the parameters stored in it equal the requested ones.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from ..core.defaults import R_CORE
from ..io import to_jsonable
from ..io import write_npz as save_npz  # noqa: F401  (kept under this name)
from .diagnostics import min_pair_distance
from .pairfiles import load_pair, pair_paths, save_pair

__all__ = ["SMCResult", "params_key", "canonical_params", "load_matching", "save_npz",
           "pair_paths"]


def canonical_params(params: dict) -> dict:
    """``params`` as JSON would give it back (tuples -> lists, numpy -> Python)."""
    return json.loads(json.dumps(to_jsonable(params), sort_keys=True))


def params_key(params: dict, n: int = 12) -> str:
    """A short hex digest of ``params`` (order-independent), for file names."""
    text = json.dumps(canonical_params(params), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def load_matching(path, params: dict, *, key: str | None = "params") -> dict | None:
    """The JSON document at ``path`` if its ``key`` entry equals ``params``, else None.

    With ``key=None`` the document itself holds the parameters next to other entries
    (a flat row): its entries for the names in ``params`` are compared.

    A missing file gives None silently; a file computed with other parameters (or without
    stored parameters) gives None with a ``UserWarning`` naming the first differences, so
    the caller recomputes instead of silently reusing a stale result.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        warnings.warn(f"{path}: unreadable ({exc}); recomputing", stacklevel=2)
        return None
    want = canonical_params(params)
    if not isinstance(doc, dict):
        have = None
    elif key is None:
        have = {k: doc[k] for k in want if k in doc} or None
    else:
        have = doc.get(key)
    if have == want:
        return doc
    if not isinstance(have, dict):
        diff = "no stored parameters"
    else:
        keys = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        diff = ", ".join(f"{k}: stored {have.get(k)!r}, wanted {want.get(k)!r}" for k in keys[:4])
    warnings.warn(f"{path} was computed with other parameters ({diff}); recomputing",
                  stacklevel=2)
    return None


@dataclass
class SMCResult:
    """Outcome of :func:`~ase_gausslj.sampling.smc.run_smc`.

    Attributes
    ----------
    positions : ndarray (R, N, 3)
        Final replicas (COM-free).
    lj_energies, energies : ndarray (R,)
        Unsmoothed LJ energy and total energy (LJ + harmonic) of each replica.
    log_weights : ndarray (R,)
        Final normalized log weights (``logsumexp = 0``); uniform without resampling.
    log_z : float or None
        Estimate of ``log Z`` of the final target ``exp(-E/kT)`` on the COM-free
        subspace; None in the paper mode (no weights). For an interrupted run it refers to
        the target reached, not the final one.
    ess : ndarray
        ESS after each reweighting (before any resampling); ``R`` in the paper mode.
    min_energy_trace : ndarray
        Per step, the minimum over replicas of the LJ energy at that step's width
        (evaluated for the replicas entering the step).
    widths, lambdas : ndarray
        The schedule actually run (one entry per completed step).
    acceptance, step_sizes : ndarray
        Mean (would-be) Metropolis acceptance and global step size per step
        (acceptance is NaN where it was not computed).
    log_z_trace : ndarray
        Running ``log Z`` estimate of each step's target (NaN in the paper mode).
    n_resample : int
        Number of resampling events.
    config : dict
        Every argument of the run (JSON-serializable).
    wall_time : float
        Seconds.
    interrupted : bool
        True when the run was stopped early (Ctrl-C): the arrays hold the state reached.
    """

    positions: np.ndarray
    lj_energies: np.ndarray
    energies: np.ndarray
    log_weights: np.ndarray
    log_z: float | None
    ess: np.ndarray
    min_energy_trace: np.ndarray
    widths: np.ndarray
    lambdas: np.ndarray
    acceptance: np.ndarray
    step_sizes: np.ndarray
    log_z_trace: np.ndarray
    n_resample: int = 0
    config: dict = field(default_factory=dict)
    wall_time: float = 0.0
    interrupted: bool = False

    @property
    def weights(self) -> np.ndarray:
        """Normalized weights."""
        return np.exp(self.log_weights - logsumexp(self.log_weights))

    @property
    def min_lj_energy(self) -> float:
        """The paper's metric: minimum LJ energy over the final replicas."""
        return float(np.min(self.lj_energies))

    def weighted_mean(self, values) -> float:
        """Weighted mean of per-replica ``values``."""
        return float(np.sum(self.weights * np.asarray(values, dtype=np.float64)))

    @property
    def mean_lj_energy(self) -> float:
        """Weighted mean LJ energy of the final replicas."""
        return self.weighted_mean(self.lj_energies)

    @property
    def n_in_core(self) -> int:
        """Replicas with some pair closer than ``r_core`` (stuck in the regularized core)."""
        r_core = self.config.get("r_core", R_CORE)
        return int(np.sum(min_pair_distance(self.positions) < r_core))

    def summary(self) -> dict:
        """Scalars for reports (JSON-serializable)."""
        return {
            "min_lj_energy": self.min_lj_energy,
            "mean_lj_energy": self.mean_lj_energy,
            "final_ess": float(self.ess[-1]) if self.ess.size else None,
            "log_z": self.log_z,
            "n_resample": self.n_resample,
            "n_in_core": self.n_in_core,
            "n_steps_run": int(self.widths.size),
            "final_step_size": float(self.step_sizes[-1]) if self.step_sizes.size else None,
            "wall_time": self.wall_time,
            "interrupted": self.interrupted,
        }

    _ARRAYS = ("positions", "lj_energies", "energies", "log_weights")
    _TRACES = ("ess", "min_energy_trace", "widths", "lambdas", "acceptance", "step_sizes",
               "log_z_trace")

    def save(self, prefix) -> tuple[Path, Path]:
        """Write ``prefix.json`` (config, summary, traces) and ``prefix.npz`` (arrays).

        ``prefix`` is extended, never cut: ``run.v1`` gives ``run.v1.json``/``run.v1.npz``
        (a trailing ``.json`` or ``.npz`` is taken as the pair's name). Both files are
        written atomically, the npz first; the JSON records the npz's SHA-256 and shapes,
        so :meth:`load` refuses an npz from another save (e.g. after a kill between the
        two writes).
        """
        doc = {
            "config": self.config,
            "summary": self.summary(),
            "log_z": self.log_z,
            "n_resample": self.n_resample,
            "wall_time": self.wall_time,
            "interrupted": self.interrupted,
            "traces": {
                k: [None if not np.isfinite(v) else float(v) for v in getattr(self, k)]
                for k in self._TRACES
            },
        }
        return save_pair(prefix, doc, {k: getattr(self, k) for k in self._ARRAYS}, indent=None)

    @classmethod
    def load(cls, prefix) -> SMCResult:
        """Read a result written by :meth:`save`.

        Raises
        ------
        ValueError
            Naming the files, when the npz is not the one the JSON was saved with, or the
            arrays disagree in shape with each other or with the configuration.
        """
        doc, arrays = load_pair(prefix, cls._ARRAYS)
        traces = {
            k: np.array([np.nan if v is None else v for v in doc["traces"][k]], dtype=float)
            for k in cls._TRACES
        }
        return cls(
            **arrays,
            **traces,
            log_z=doc["log_z"],
            n_resample=doc["n_resample"],
            config=doc["config"],
            wall_time=doc["wall_time"],
            interrupted=bool(doc.get("interrupted", False)),
        )
