"""Result of an annealed-flow-transport run, saved like :class:`~ase_gausslj.sampling.smc.SMCResult`
(numpy only: reading results needs no JAX)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..sampling.pairfiles import load_pair, save_pair
from ..sampling.reference import energy_w1

__all__ = ["AFTResult"]


@dataclass
class AFTResult:
    """Outcome of :func:`ase_gausslj.neural.aft.run_aft` (the test-set particles).

    Attributes
    ----------
    positions : ndarray (R, N, 3)
        Final test particles (COM-free).
    lj_energies, energies : ndarray (R,)
        Unsmoothed LJ energy and total energy (LJ + confinement), from the project's
        numba kernels (not from the JAX code).
    log_weights : ndarray (R,)
        Final normalized log weights.
    log_z : float
        Estimate of ``log Z`` of the final target ``exp(-E/kT)`` on the COM-free subspace.
    stages : list of dict
        Per stage: ESS after reweighting, whether it resampled, mean mutation acceptance,
        and for flow stages the train/validation loss per epoch, the chosen epoch and the
        number of non-positive Jacobian determinants (folds; 0 expected).
    config : dict
        The :class:`~ase_gausslj.neural.aft.AFTConfig` fields and derived values.
    wall_time : float
        Seconds.
    """

    positions: np.ndarray
    lj_energies: np.ndarray
    energies: np.ndarray
    log_weights: np.ndarray
    log_z: float
    stages: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    wall_time: float = 0.0

    @property
    def weights(self) -> np.ndarray:
        """Normalized weights."""
        w = np.exp(self.log_weights - np.max(self.log_weights))
        return w / w.sum()

    @property
    def min_lj_energy(self) -> float:
        """Smallest LJ energy over the test particles (the paper's Table 4 metric)."""
        return float(np.min(self.lj_energies))

    @property
    def mean_lj_energy(self) -> float:
        """Weighted mean LJ energy of the test particles."""
        return float(np.sum(self.weights * self.lj_energies))

    def compare(self, reference_energies, reference_mean: float) -> dict:
        """Bias in ``<E_LJ>`` and weighted W1 distance of the LJ energies to a reference."""
        return {
            "bias_mean_lj_energy": self.mean_lj_energy - float(reference_mean),
            "w1_lj_energy": energy_w1(self.lj_energies, reference_energies, self.weights),
        }

    def summary(self) -> dict:
        """Scalars for reports (JSON-serializable)."""
        last = self.stages[-1] if self.stages else {}
        return {
            "min_lj_energy": self.min_lj_energy,
            "mean_lj_energy": self.mean_lj_energy,
            "log_z": self.log_z,
            "final_ess": last.get("ess"),
            "n_resample": int(sum(bool(s.get("resampled")) for s in self.stages)),
            "n_nonpositive_det": int(sum(s.get("n_nonpositive_det", 0) for s in self.stages)),
            "wall_time": self.wall_time,
        }

    _ARRAYS = ("positions", "lj_energies", "energies", "log_weights")

    def save(self, prefix) -> tuple[Path, Path]:
        """Write ``prefix.json`` (config, summary, stages) and ``prefix.npz`` (arrays).

        As :meth:`SMCResult.save <ase_gausslj.sampling.results.SMCResult.save>`: the
        prefix is extended (never cut at a dot), both files are atomic and the JSON
        records the npz's hash, so :meth:`load` refuses a mixed pair.
        """
        doc = {"config": self.config, "summary": self.summary(), "log_z": self.log_z,
               "stages": self.stages, "wall_time": self.wall_time}
        return save_pair(prefix, doc, {k: getattr(self, k) for k in self._ARRAYS})

    @classmethod
    def load(cls, prefix) -> AFTResult:
        """Read a result written by :meth:`save` (``ValueError`` naming the files if mixed)."""
        doc, arrays = load_pair(prefix, cls._ARRAYS)
        return cls(**arrays, log_z=doc["log_z"], stages=doc["stages"], config=doc["config"],
                   wall_time=doc["wall_time"])
