"""Ground truth for the samplers: many long MALA chains with convergence diagnostics.

At fixed width 0 the MALA kernel of :mod:`ase_gausslj.sampling.kernels` (tamed, Metropolis-adjusted,
step size adapted during burn-in only and then frozen) is exact; running many chains from
two different kinds of start (the broad prior ``N(0, 1.5^2)`` and a compact random
cluster, both without overlapping atoms) and checking that their energy statistics agree,
with the split-R-hat across chains, shows convergence. The samples are independent of any annealing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .diagnostics import energy_w1, split_rhat
from .kernels import LangevinKernel, Particles, StepSizeAdapter
from .targets import LJClusterTarget, project_com_free

__all__ = ["ReferenceResult", "reference_mala", "split_rhat", "energy_w1"]

PRIOR_STD = 1.5
"""Std of the broad start ``N(0, 1.5^2)`` (the samplers' prior)."""


@dataclass
class ReferenceResult:
    """Output of :func:`reference_mala`.

    Attributes
    ----------
    lj_energies : ndarray (n_draws, n_chains)
        Unsmoothed LJ energies of the kept (thinned, post-burn-in) states.
    energies : ndarray (n_draws, n_chains)
        Total energies (LJ + harmonic).
    init : list of str
        Start kind of each chain.
    step_size : float
        Frozen MALA step size.
    acceptance : float
        Mean acceptance after burn-in.
    """

    lj_energies: np.ndarray
    energies: np.ndarray
    init: list
    step_size: float
    acceptance: float
    config: dict = field(default_factory=dict)
    wall_time: float = 0.0

    def diagnostics(self) -> dict:
        """Convergence checks: split-R-hat, start-kind and half-vs-half comparisons."""
        e = self.lj_energies
        init = np.asarray(self.init)
        out = {
            "mean_lj_energy": float(e.mean()),
            "std_lj_energy": float(e.std()),
            "rhat_lj_energy": split_rhat(e),
            "n_samples": int(e.size),
            "first_half_mean": float(e[: e.shape[0] // 2].mean()),
            "second_half_mean": float(e[e.shape[0] // 2 :].mean()),
            "acceptance": self.acceptance,
            "step_size": self.step_size,
        }
        # standard error from chain means (chains are independent)
        chain_means = e.mean(axis=0)
        out["stderr_mean"] = float(chain_means.std(ddof=1) / math.sqrt(chain_means.size))
        for kind in np.unique(init):
            out[f"mean_lj_energy_from_{kind}"] = float(e[:, init == kind].mean())
        return out


def _random_start(
    rng: np.random.Generator, n_chains: int, n_atoms: int, kind: str, min_dist: float = 0.95
) -> np.ndarray:
    """Random clusters without overlaps (no pair closer than ``min_dist``).

    Atoms are added one at a time, each drawn until it keeps ``min_dist`` from the atoms
    already placed: ``kind='prior'`` draws from ``N(0, 1.5^2 I)``, ``kind='compact'``
    uniformly from a ball of radius ``0.75 N^(1/3)`` (close to the liquid density).
    Chains that start with overlapping atoms can stay jammed in the regularized core for
    thousands of MALA steps, which would bias the reference.
    """
    radius = 0.75 * n_atoms ** (1.0 / 3.0)
    x = np.empty((n_chains, n_atoms, 3))
    for c in range(n_chains):
        for i in range(n_atoms):
            for _ in range(10_000):
                if kind == "prior":
                    p = 1.5 * rng.standard_normal(3)
                else:
                    p = rng.standard_normal(3)
                    p *= radius * rng.random() ** (1.0 / 3.0) / np.linalg.norm(p)
                if i == 0 or np.min(np.linalg.norm(x[c, :i] - p, axis=1)) >= min_dist:
                    break
            else:  # pragma: no cover - the ball is far from full
                raise RuntimeError("could not place an atom without overlap")
            x[c, i] = p
    return x


def reference_mala(
    n_atoms: int,
    *,
    harmonic: float = 1.0,
    kT: float = 1.0,
    n_chains: int = 1000,
    n_steps: int = 5000,
    burn_in: int = 1000,
    thin: int = 10,
    step_size: float = 1e-3,
    target_accept: float = 0.6,
    max_drift: float = 0.5,
    seed: int | None = 0,
    progress: bool = False,
) -> ReferenceResult:
    """Long MALA chains at width 0 for ``exp(-E / kT)`` of an LJ cluster.

    Half of the chains start from ``N(0, 1.5^2)``, half from compact random clusters,
    both without overlapping atoms (see :func:`_random_start`).
    The step size adapts to ``target_accept`` during ``burn_in`` and is then frozen, so
    the kept states (every ``thin``-th of the remaining ``n_steps - burn_in``) come from an
    exact, fixed Metropolis kernel.
    """
    for name, val, lo in (("n_chains", n_chains, 2), ("thin", thin, 1), ("burn_in", burn_in, 0)):
        if isinstance(val, bool) or int(val) != val or val < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {val!r}")
    if n_steps <= burn_in:
        raise ValueError(f"n_steps ({n_steps!r}) must exceed burn_in ({burn_in!r})")
    t0 = time.perf_counter()
    config = {k: v for k, v in locals().items() if k != "t0"}
    target = LJClusterTarget(n_atoms, harmonic=harmonic, kT=kT)
    rng = np.random.default_rng(seed)
    half = n_chains // 2
    x = np.concatenate(
        [_random_start(rng, half, n_atoms, "prior"),
         _random_start(rng, n_chains - half, n_atoms, "compact")]
    )
    init = ["prior"] * half + ["compact"] * (n_chains - half)
    chains = Particles(target, project_com_free(x), PRIOR_STD**2)
    kernel = LangevinKernel(mala=True, jitter=0.0, max_drift=max_drift)
    adapter = StepSizeAdapter(float(step_size), target_accept, rate=0.02)
    keep_lj, keep_tot, accs = [], [], []
    from tqdm.auto import tqdm

    for k in tqdm(range(n_steps), disable=not progress, desc=f"reference LJ{n_atoms}",
                  mininterval=1.0):
        acc = kernel.move(chains, 0.0, 0.0, adapter.step_size, rng)
        if k < burn_in:
            adapter.update(acc)
        else:
            accs.append(acc)
            if (k - burn_in) % thin == 0:
                keep_lj.append(chains.e_lj.copy())
                keep_tot.append(chains.e_tot.copy())
    return ReferenceResult(
        lj_energies=np.asarray(keep_lj),
        energies=np.asarray(keep_tot),
        init=init,
        step_size=adapter.step_size,
        acceptance=float(np.mean(accs)),
        config=config,
        wall_time=time.perf_counter() - t0,
    )
