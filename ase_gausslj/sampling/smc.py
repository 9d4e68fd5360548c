"""Annealed sampling of LJ clusters: the paper's ULA annealing and real SMC.

The sampler moves ``R`` replicas through a sequence of targets ``pi_t ∝ exp(-U_t)`` with

.. math::

    U_t(X) = \\lambda_t \\frac{|X|^2}{2 \\sigma_p^2}
             + (1 - \\lambda_t) \\frac{E_{s_t}(X)}{kT},

where ``E_s`` is the smoothed cluster energy of :class:`~ase_gausslj.targets.LJClusterTarget`
(smoothed LJ of width ``s`` plus harmonic confinement) and ``N(0, sigma_p^2)`` is the prior
(``sigma_p = 1.5``). All configurations live in the centre-of-mass-free subspace.

Paths (Ram & Ram 2025, Sec. 5.2.1):

* ``'gaussian'``: ``lambda = 0``; ``n_burnin`` moves at ``width_start`` (1.5), then the
  width goes linearly from ``width_start`` to ``width_end`` (0.025) over ``n_steps - 1``
  steps and the last step is the unsmoothed target (width 0).
* ``'mixture-linear'``: width 0, ``lambda_t = 1 - t / n_steps``.
* ``'mixture-geometric'``: width 0, ``lambda_t = ratio**t`` (ratio 0.95), last step 0.
* ``'gaussian-adaptive'`` (needs ``resample=True``): the next width is the smallest one
  whose conditional effective sample size (CESS) stays above ``cess_target * R``;
  ``moves_per_level`` moves per width.

Modes:

* ``resample=False`` is the paper's protocol: no weights, one move per step; the paper's
  mutation is ULA with a fixed step size.
* ``resample=True`` is sequential Monte Carlo: incremental log weights
  ``-(U_t(x) - U_{t-1}(x))``, systematic resampling when the ESS falls below
  ``ess_threshold * R``, and an estimate of ``log Z`` of the final target (on the COM-free
  subspace; see :mod:`ase_gausslj.targets`). The run starts from the prior (exactly
  sampled); for the Gaussian paths a CESS-adaptive bridge ``lambda: 1 -> 0`` at
  ``width_start`` comes first, so the first weights do not collapse, followed by
  ``n_burnin`` moves at ``width_start``.

Mutations: ``'ula'`` (unadjusted Langevin) and ``'mala'`` (Metropolis-adjusted). With
``adapt_step=True`` the global step size follows the mean Metropolis acceptance
probability (for ULA the would-be acceptance) towards ``target_accept``.

Per-replica care for the regularized core: a replica with overlapping atoms sits on a
gradient of hundreds of epsilon/sigma; with one global step its proposals overshoot and
are rejected forever (a prototype left ~5 % of LJ2 replicas stuck). Two remedies, both
exact for MALA: (i) taming, ``h_x = h / (1 + h max_i |grad_i U(x)| / max_drift)`` per replica,
with the reverse step ``h_y`` in the Metropolis ratio (default for MALA); (ii) a
per-replica step factor ``exp(step_jitter * N(0, 1))`` drawn independently of the state
(a mixture of invariant kernels is invariant). In SMC mode such replicas also carry
negligible weight and are resampled away.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import logsumexp

from ..core.validation import check_finite_nonneg
from .targets import LJClusterTarget, com_free_dim, project_com_free

__all__ = [
    "PATHS",
    "MUTATIONS",
    "SMCResult",
    "run_smc",
    "run_smc_repeats",
    "path_schedule",
    "ess",
    "conditional_ess",
    "systematic_resample",
    "min_pair_distance",
    "add_cli",
]

PATHS = ("gaussian", "mixture-linear", "mixture-geometric", "gaussian-adaptive")
MUTATIONS = ("ula", "mala")


# ---------------------------------------------------------------------------- weights
def ess(log_weights) -> float:
    """Effective sample size ``(sum w)^2 / sum w^2`` from (unnormalized) log weights."""
    lw = np.asarray(log_weights, dtype=np.float64)
    if lw.ndim != 1 or lw.size == 0:
        raise ValueError(f"log_weights must be a non-empty 1-D array, got shape {lw.shape}")
    return float(np.exp(2.0 * logsumexp(lw) - logsumexp(2.0 * lw)))


def conditional_ess(log_weights, log_increments) -> float:
    """Conditional ESS ``R (sum W_i w_i)^2 / sum W_i w_i^2`` (Zhou, Johansen & Aston 2016).

    ``W`` are the current normalized weights (from ``log_weights``) and ``w`` the
    incremental weights ``exp(log_increments)``. Equals ``R`` when the increments are
    constant and the sample size (``R``) is the scale, whatever ``W``.
    """
    lw = np.asarray(log_weights, dtype=np.float64)
    li = np.asarray(log_increments, dtype=np.float64)
    lw = lw - logsumexp(lw)
    return float(lw.size * np.exp(2.0 * logsumexp(lw + li) - logsumexp(lw + 2.0 * li)))


def systematic_resample(weights, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: indices ``i`` drawn so that ``E[count_i] = R W_i``.

    Parameters
    ----------
    weights : array_like, shape (R,)
        Non-negative weights (need not be normalized).
    rng : numpy.random.Generator
        Random source (one uniform is drawn).

    Returns
    -------
    ndarray of int, shape (R,)
        Sorted ancestor indices.
    """
    w = check_finite_nonneg(weights, "weights")
    if w.ndim != 1 or w.size == 0 or w.sum() <= 0:
        raise ValueError("weights must be a non-empty 1-D array with a positive sum")
    n = w.size
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    u = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(cdf, u, side="right"), n - 1)


def min_pair_distance(x) -> np.ndarray:
    """Smallest interatomic distance of each replica of ``x`` (R, N, 3)."""
    x = np.asarray(x, dtype=np.float64)
    d = x[:, :, None, :] - x[:, None, :, :]
    r2 = np.einsum("rijk,rijk->rij", d, d)
    n = x.shape[1]
    r2[:, np.arange(n), np.arange(n)] = np.inf
    return np.sqrt(r2.min(axis=(1, 2)))


# ---------------------------------------------------------------------------- schedules
def path_schedule(
    path: str,
    n_steps: int,
    *,
    width_start: float = 1.5,
    width_end: float = 0.025,
    n_burnin: int = 10,
    ratio: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed schedules ``(widths, lambdas)`` of the paper's paths, one entry per step.

    For ``'gaussian'`` the first ``n_burnin`` entries are the burn-in at ``width_start``,
    then ``n_steps - 1`` widths linear from ``width_start`` to ``width_end``, then 0.
    For the mixture paths the widths are 0 and ``lambda`` decreases from below 1 to 0
    (the prior, ``lambda = 1``, is the initial distribution and is not a step).
    """
    if path not in ("gaussian", "mixture-linear", "mixture-geometric"):
        raise ValueError(f"path must be one of the fixed paths, got {path!r}")
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if path == "gaussian":
        if n_burnin < 0:
            raise ValueError(f"n_burnin must be >= 0, got {n_burnin}")
        if not 0 <= width_end <= width_start:
            raise ValueError(
                f"need 0 <= width_end <= width_start, got width_end={width_end}, "
                f"width_start={width_start}"
            )
        anneal = np.linspace(width_start, width_end, n_steps - 1) if n_steps > 1 else []
        widths = np.concatenate([np.full(n_burnin, width_start), anneal, [0.0]])
        return widths, np.zeros_like(widths)
    t = np.arange(1, n_steps + 1, dtype=np.float64)
    if path == "mixture-linear":
        lam = 1.0 - t / n_steps
    else:
        if not 0 < ratio < 1:
            raise ValueError(f"ratio must be in (0, 1), got {ratio}")
        lam = ratio**t
    lam[-1] = 0.0
    return np.zeros(n_steps), lam


# ---------------------------------------------------------------------------- result
@dataclass
class SMCResult:
    """Outcome of :func:`run_smc`.

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
        subspace; None in the paper mode (no weights).
    ess : ndarray
        ESS after each reweighting (before any resampling); ``R`` in the paper mode.
    min_energy_trace : ndarray
        Per step, the minimum over replicas of the LJ energy at that step's width
        (evaluated for the replicas entering the step).
    widths, lambdas : ndarray
        The schedule actually run (one entry per step).
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
        r_core = self.config.get("r_core", 0.8)
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
        }

    _ARRAYS = ("positions", "lj_energies", "energies", "log_weights")
    _TRACES = (
        "ess",
        "min_energy_trace",
        "widths",
        "lambdas",
        "acceptance",
        "step_sizes",
        "log_z_trace",
    )

    def save(self, prefix) -> tuple[Path, Path]:
        """Write ``prefix.json`` (config, summary, traces) and ``prefix.npz`` (arrays)."""
        prefix = Path(prefix)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        npz = prefix.with_suffix(".npz")
        js = prefix.with_suffix(".json")
        np.savez_compressed(npz, **{k: getattr(self, k) for k in self._ARRAYS})
        doc = {
            "config": self.config,
            "summary": self.summary(),
            "log_z": self.log_z,
            "n_resample": self.n_resample,
            "wall_time": self.wall_time,
            "traces": {
                k: [None if not np.isfinite(v) else float(v) for v in getattr(self, k)]
                for k in self._TRACES
            },
        }
        js.write_text(json.dumps(doc))
        return js, npz

    @classmethod
    def load(cls, prefix) -> SMCResult:
        """Read a result written by :meth:`save`."""
        prefix = Path(prefix)
        doc = json.loads(prefix.with_suffix(".json").read_text())
        with np.load(prefix.with_suffix(".npz")) as z:
            arrays = {k: z[k] for k in cls._ARRAYS}
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
        )


# ---------------------------------------------------------------------------- sampler
class _State:
    """Replicas and cached energy terms at one width."""

    def __init__(self, target: LJClusterTarget, x: np.ndarray, prior_var: float):
        self.target = target
        self.prior_var = prior_var
        self.x = x
        self.width: float | None = None
        self.n_evals = 0

    def evaluate(self, width: float) -> None:
        e_lj, g_lj = self.target.lj_energy_gradient(self.x, width)
        e_h, g_h = self.target.harmonic_energy_gradient(self.x)
        self.e_lj, self.e_tot, self.g_tot = e_lj, e_lj + e_h, g_lj + g_h
        self.e_prior = 0.5 * np.einsum("rij,rij->r", self.x, self.x) / self.prior_var
        self.width = width
        self.n_evals += 1

    def ensure(self, width: float) -> None:
        if self.width is None or self.width != width:
            self.evaluate(width)

    def potential(self, lam: float) -> np.ndarray:
        return lam * self.e_prior + (1.0 - lam) * self.e_tot / self.target.kT

    def grad(self, lam: float) -> np.ndarray:
        return lam * self.x / self.prior_var + (1.0 - lam) * self.g_tot / self.target.kT

    def take(self, idx: np.ndarray) -> None:
        self.x = self.x[idx]
        if self.width is not None:
            for k in ("e_lj", "e_tot", "g_tot", "e_prior"):
                setattr(self, k, getattr(self, k)[idx])

    def copy_from(self, other: _State, mask: np.ndarray) -> None:
        for k in ("x", "e_lj", "e_tot", "g_tot", "e_prior"):
            getattr(self, k)[mask] = getattr(other, k)[mask]


def _tamed(h: np.ndarray, grad: np.ndarray, max_drift: float | None) -> np.ndarray:
    """Per-replica step ``h / (1 + h max_i |grad_i U| / max_drift)``: no atom drifts
    farther than ``max_drift``."""
    if not max_drift:
        return h
    gn = np.sqrt(np.einsum("rij,rij->ri", grad, grad).max(axis=1))
    return h / (1.0 + h * gn / max_drift)


def _move(
    state: _State,
    width: float,
    lam: float,
    h: float,
    *,
    mala: bool,
    need_accept: bool,
    need_energy: bool,
    jitter: float,
    rng: np.random.Generator,
    max_drift: float | None = None,
) -> float:
    """One Langevin move of every replica; returns the mean acceptance probability.

    The proposal is ``y = x - h_x grad U(x) + sqrt(2 h_x) xi`` on the COM-free subspace
    (dimension ``d``) with ``h_x = _tamed(h s, grad U(x))``, ``s`` a state-independent
    per-replica factor. The Metropolis ratio uses the exact reverse density with
    ``h_y``, so MALA stays exact with taming.
    """
    state.ensure(width)
    r, n = state.x.shape[:2]
    dim = com_free_dim(n)
    hs = h * np.exp(jitter * rng.standard_normal(r)) if jitter > 0 else np.full(r, h)
    xi = project_com_free(rng.standard_normal(state.x.shape))
    g_x = state.grad(lam)
    hx = _tamed(hs, g_x, max_drift)
    hb = hx[:, None, None]
    y = state.x - hb * g_x + np.sqrt(2.0 * hb) * xi
    y = project_com_free(y)
    if not (mala or need_accept or need_energy):
        state.x = y
        state.width = None  # energies are stale
        return float("nan")
    prop = _State(state.target, y, state.prior_var)
    prop.evaluate(width)
    state.n_evals += 1
    if not (mala or need_accept):
        state.x, state.width = y, width
        for k in ("e_lj", "e_tot", "g_tot", "e_prior"):
            setattr(state, k, getattr(prop, k))
        return float("nan")
    u_x, u_y = state.potential(lam), prop.potential(lam)
    g_y = prop.grad(lam)
    hy = _tamed(hs, g_y, max_drift)
    back = state.x - y + hy[:, None, None] * g_y
    log_q_back = -np.einsum("rij,rij->r", back, back) / (4.0 * hy) - 0.5 * dim * np.log(hy)
    log_q_fwd = -0.5 * np.einsum("rij,rij->r", xi, xi) - 0.5 * dim * np.log(hx)
    with np.errstate(invalid="ignore"):
        log_alpha = -(u_y - u_x) + log_q_back - log_q_fwd
    log_alpha = np.where(np.isnan(log_alpha), -np.inf, log_alpha)
    acc_prob = np.exp(np.minimum(log_alpha, 0.0))
    if mala:
        accept = np.log(rng.random(r)) < log_alpha
    else:
        accept = np.ones(r, dtype=bool)
    state.copy_from(prop, accept)
    return float(acc_prob.mean())


def _bisect_param(f, lo: float, hi: float, n_iter: int = 12) -> float:
    """Largest move from ``hi`` towards ``lo`` with ``f(p) >= 0`` (f(hi) >= 0 assumed)."""
    if f(lo) >= 0:
        return lo
    start = hi
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        if f(mid) >= 0:
            hi = mid
        else:
            lo = mid
    if hi == start:  # even the smallest trial step misses the target: force progress
        hi = lo
    return hi


def run_smc(
    n_atoms: int,
    *,
    path: str = "gaussian",
    n_replicas: int = 1000,
    n_steps: int = 10_000,
    mutation: str = "ula",
    step_size: float = 1e-3,
    resample: bool = False,
    harmonic: float = 1.0,
    kT: float = 1.0,
    seed: int | None = 0,
    width_start: float = 1.5,
    width_end: float = 0.025,
    n_burnin: int = 10,
    ratio: float = 0.95,
    prior_std: float = 1.5,
    adapt_step: bool | None = None,
    target_accept: float = 0.6,
    adapt_rate: float = 0.05,
    step_jitter: float | None = None,
    max_drift: float | None = None,
    ess_threshold: float = 0.5,
    cess_target: float = 0.95,
    moves_per_level: int = 20,
    min_width_ratio: float = 0.9,
    final_moves: int = 0,
    r_core: float = 0.8,
    progress: bool = False,
    target: LJClusterTarget | None = None,
) -> SMCResult:
    """Annealed Langevin sampling / sequential Monte Carlo for an LJ cluster.

    Parameters
    ----------
    n_atoms : int
        Cluster size (LJ13, LJ55, ...).
    path : {'gaussian', 'mixture-linear', 'mixture-geometric', 'gaussian-adaptive'}
        Annealing path (see the module docstring).
    n_replicas : int
        Number of replicas ``R``.
    n_steps : int
        Number of annealing steps (for ``'gaussian'`` plus ``n_burnin``); ignored by
        ``'gaussian-adaptive'``, whose number of levels follows from ``cess_target``.
    mutation : {'ula', 'mala'}
        Langevin move. ULA is the paper's.
    step_size : float
        Initial (or fixed) step ``h`` of ``x' = x - h grad U + sqrt(2 h) xi`` with
        ``U = E / kT`` (at kT = 1, the paper's ULA convention).
    resample : bool
        False: the paper's protocol (no weights). True: SMC with weights, resampling and
        ``log_z``.
    harmonic : float
        Confinement constant ``c`` (0 allowed; then ``log_z`` is meaningless).
    kT : float
        Temperature (epsilon).
    seed : int or None
        Seed of the ``numpy`` generator (runs are repeatable).
    width_start, width_end : float
        Gaussian path endpoints (the last step is always width 0).
    n_burnin : int
        Moves at ``width_start`` before annealing (Gaussian paths).
    ratio : float
        Per-step factor of the geometric mixture path.
    prior_std : float
        Standard deviation of the prior ``N(0, prior_std^2 I)``; the initial replicas are
        drawn from it.
    adapt_step : bool, optional
        Adapt the global step size to ``target_accept``. Default: True for MALA,
        False for ULA (the paper's fixed step).
    target_accept, adapt_rate : float
        Acceptance target and the final Robbins-Monro gain on ``log h`` (the gain of
        the ``k``-th update is ``max(adapt_rate, 2 / sqrt(k + 1))``).
    step_jitter : float, optional
        Std of the per-replica log step factor. Default 0.5 for MALA, 0 for ULA.
    max_drift : float, optional
        Taming: the step of a replica is ``h / (1 + h max_i |grad_i U| / max_drift)``,
        so no atom drifts farther than ``max_drift`` (sigma); MALA's Metropolis ratio accounts for
        it exactly. Replicas with overlapping atoms (huge gradients in the regularized
        core) then take small, accepted steps out instead of being rejected forever.
        Default 0.5 for MALA, None (off: the paper's plain ULA) for ULA.
    ess_threshold : float
        Resample when ``ESS < ess_threshold * R``.
    cess_target : float
        CESS fraction kept per level by the adaptive schedules.
    moves_per_level : int
        Moves per level of the adaptive schedules.
    min_width_ratio : float
        ``'gaussian-adaptive'``: each level keeps at least this fraction of the current
        width until ``width_end`` is reached (then the width goes to 0). The CESS alone
        would jump over the opening of the LJ well, which no replica has visited yet.
    final_moves : int
        Extra moves at the final target.
    r_core : float
        Core radius of the regularized LJ.
    progress : bool
        Show a tqdm progress bar.
    target : LJClusterTarget, optional
        Use this target instead of building one from ``n_atoms``, ``harmonic``, ``kT``
        and ``r_core`` (e.g. the pure harmonic target of the analytic checks).

    Returns
    -------
    SMCResult
    """
    t0 = time.perf_counter()
    config = {k: v for k, v in locals().items() if k not in ("target", "t0")}
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    if mutation not in MUTATIONS:
        raise ValueError(f"mutation must be one of {MUTATIONS}, got {mutation!r}")
    for name, val in (("n_replicas", n_replicas), ("n_steps", n_steps)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    for name, val in (
        ("step_size", step_size),
        ("prior_std", prior_std),
        ("adapt_rate", adapt_rate),
    ):
        if not (np.isfinite(val) and val > 0):
            raise ValueError(f"{name} must be finite and > 0, got {val!r}")
    for name, val in (("target_accept", target_accept), ("cess_target", cess_target)):
        if not (np.isfinite(val) and 0 < val < 1):
            raise ValueError(f"{name} must be in (0, 1), got {val!r}")
    if not (np.isfinite(min_width_ratio) and 0 <= min_width_ratio < 1):
        raise ValueError(f"min_width_ratio must be in [0, 1), got {min_width_ratio!r}")
    if not (np.isfinite(ess_threshold) and 0 < ess_threshold <= 1):
        raise ValueError(f"ess_threshold must be in (0, 1], got {ess_threshold!r}")
    if path == "gaussian-adaptive" and not resample:
        raise ValueError("path='gaussian-adaptive' needs weights: use resample=True")
    if not (np.isfinite(width_start) and width_start >= 0):
        raise ValueError(f"width_start must be finite and >= 0, got {width_start!r}")
    if moves_per_level < 1 or final_moves < 0 or n_burnin < 0:
        raise ValueError("moves_per_level must be >= 1, final_moves and n_burnin >= 0")
    mala = mutation == "mala"
    if adapt_step is None:
        adapt_step = mala
    if step_jitter is None:
        step_jitter = 0.5 if mala else 0.0
    if max_drift is None and mala:
        max_drift = 0.5
    if max_drift is not None and not (np.isfinite(max_drift) and max_drift > 0):
        raise ValueError(f"max_drift must be finite and > 0, got {max_drift!r}")
    if step_jitter < 0:
        raise ValueError(f"step_jitter must be >= 0, got {step_jitter!r}")
    config.update(adapt_step=adapt_step, step_jitter=step_jitter, max_drift=max_drift)

    if target is None:
        target = LJClusterTarget(
            n_atoms,
            harmonic=harmonic,
            kT=kT,
            r_core=r_core,
            width_max=max(2.0, float(width_start)),
        )
    elif target.n_atoms != n_atoms:
        raise ValueError(f"target has {target.n_atoms} atoms, n_atoms is {n_atoms}")
    config["target"] = target.to_dict()
    rng = np.random.default_rng(seed)
    prior_var = float(prior_std) ** 2
    x0 = project_com_free(prior_std * rng.standard_normal((n_replicas, n_atoms, 3)))
    state = _State(target, x0, prior_var)
    r = n_replicas

    logw = np.zeros(r)
    log_z = 0.5 * com_free_dim(n_atoms) * math.log(2.0 * math.pi * prior_var)
    tr_ess, tr_min, tr_w, tr_lam, tr_acc, tr_h, tr_lz = [], [], [], [], [], [], []
    n_res = 0
    h = float(step_size)
    cur = (width_start if path.startswith("gaussian") else 0.0, 1.0)  # (width, lambda)

    def reweight_to(width: float, lam: float) -> None:
        nonlocal logw, log_z, n_res
        state.ensure(cur[0])
        u_old = state.potential(cur[1])
        state.ensure(width)
        inc = -(state.potential(lam) - u_old)
        inc = np.where(np.isnan(inc), -np.inf, inc)
        lw_norm = logw - logsumexp(logw)
        log_z += float(logsumexp(lw_norm + inc))
        tr_lz.append(log_z)
        logw = lw_norm + inc
        e = ess(logw)
        tr_ess.append(e)
        if e < ess_threshold * r:
            idx = systematic_resample(np.exp(logw - logw.max()), rng)
            state.take(idx)
            logw = np.zeros(r)
            n_res += 1

    n_adapt = 0

    def step(width: float, lam: float, n_moves: int = 1) -> None:
        nonlocal h, cur, n_adapt
        if resample:
            reweight_to(width, lam)
        else:
            tr_ess.append(float(r))
            tr_lz.append(float("nan"))
        cur = (width, lam)
        state.ensure(width)
        tr_min.append(float(np.min(state.e_lj)))
        tr_w.append(width)
        tr_lam.append(lam)
        accs = []
        for _ in range(n_moves):
            acc = _move(
                state,
                width,
                lam,
                h,
                mala=mala,
                need_accept=adapt_step,
                need_energy=resample,
                jitter=step_jitter,
                rng=rng,
                max_drift=max_drift,
            )
            accs.append(acc)
            if adapt_step and np.isfinite(acc):
                # Robbins-Monro on log h; the gain decays to adapt_rate (fast early tuning)
                gain = max(adapt_rate, 2.0 * (n_adapt + 1.0) ** -0.5)
                n_adapt += 1
                h = float(np.clip(h * math.exp(gain * (acc - target_accept)), 1e-8, 1.0))
        tr_acc.append(float(np.mean(accs)))
        tr_h.append(h)

    def cess_gap(width: float, lam: float) -> float:
        """CESS fraction minus target for moving from ``cur`` to (width, lam)."""
        state.ensure(cur[0])
        u_old = state.potential(cur[1])
        if width == cur[0]:
            u_new = lam * state.e_prior + (1 - lam) * state.e_tot / target.kT
        else:
            e_lj, _ = target.lj_energy_gradient(state.x, width)
            e_h, _ = target.harmonic_energy_gradient(state.x)
            u_new = lam * state.e_prior + (1 - lam) * (e_lj + e_h) / target.kT
        inc = np.where(np.isnan(u_new - u_old), -np.inf, -(u_new - u_old))
        return conditional_ess(logw, inc) / r - cess_target

    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None

    if path == "gaussian-adaptive":
        n_total = None
    elif resample and path == "gaussian":
        n_total = None
    else:
        widths, lams = path_schedule(
            path, n_steps, width_start=width_start, width_end=width_end,
            n_burnin=n_burnin, ratio=ratio,
        )
        n_total = widths.size
    bar = tqdm(total=n_total, disable=not progress, desc=f"smc {path} N={n_atoms}",
               mininterval=1.0) if tqdm else None

    def tick(k: int = 1) -> None:
        if bar is not None:
            bar.update(k)

    if path.startswith("gaussian") and resample:
        # CESS-adaptive bridge prior -> exp(-E_{width_start}/kT), then burn-in moves.
        while cur[1] > 0:
            lam = _bisect_param(lambda p: cess_gap(width_start, p), 0.0, cur[1])
            step(width_start, lam, moves_per_level)
            tick()
        for _ in range(n_burnin):
            step(width_start, 0.0)
            tick()
        if path == "gaussian":
            anneal = np.linspace(width_start, width_end, n_steps - 1) if n_steps > 1 else []
            for w in [*anneal, 0.0]:
                step(float(w), 0.0)
                tick()
        else:
            while cur[0] > 0:
                # CESS cannot see regions no replica visits yet (the LJ well opens only
                # below width ~0.1), so the width may shrink at most by min_width_ratio
                # per level down to width_end, and then goes to 0.
                lo = min_width_ratio * cur[0] if cur[0] > width_end else 0.0
                w = _bisect_param(lambda p: cess_gap(p, 0.0), lo, cur[0])
                step(w, 0.0, moves_per_level)
                tick()
    else:
        for w, lam in zip(widths, lams, strict=True):
            step(float(w), float(lam))
            tick()
    for _ in range(final_moves):
        step(0.0, 0.0)
        tick()
    if bar is not None:
        bar.close()
    state.ensure(0.0)
    logw = logw - logsumexp(logw)
    return SMCResult(
        positions=state.x,
        lj_energies=state.e_lj.copy(),
        energies=state.e_tot.copy(),
        log_weights=logw,
        log_z=float(log_z) if resample else None,
        ess=np.asarray(tr_ess),
        min_energy_trace=np.asarray(tr_min),
        widths=np.asarray(tr_w),
        lambdas=np.asarray(tr_lam),
        acceptance=np.asarray(tr_acc),
        step_sizes=np.asarray(tr_h),
        log_z_trace=np.asarray(tr_lz),
        n_resample=n_res,
        config=config,
        wall_time=time.perf_counter() - t0,
    )


def _run_one(n_atoms: int, kwargs: dict) -> SMCResult:
    return run_smc(n_atoms, **kwargs)


def run_smc_repeats(
    n_atoms: int, seeds, *, executor: Any | None = None, **kwargs
) -> list[SMCResult]:
    """Independent runs of :func:`run_smc`, one per seed, optionally in parallel.

    Parameters
    ----------
    n_atoms : int
    seeds : iterable of int
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Anything with ``submit(fn, *args) -> future`` whose futures have ``result()``
        (e.g. ``ProcessPoolExecutor`` or a Dask ``Client``). None runs serially.
    **kwargs
        Passed to :func:`run_smc` (``seed`` is set per run).

    Returns
    -------
    list of SMCResult, in the order of ``seeds``.
    """
    jobs = [dict(kwargs, seed=int(s)) for s in seeds]
    if executor is None:
        return [_run_one(n_atoms, kw) for kw in jobs]
    futures = [executor.submit(_run_one, n_atoms, kw) for kw in jobs]
    return [f.result() for f in futures]


# ---------------------------------------------------------------------------- CLI
def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register the ``smc`` subcommand on an ``argparse`` subparsers object.

    The parser's default ``func`` is the entry point: ``args.func(args) -> int``.
    """
    p = subparsers.add_parser(
        "smc",
        help="annealed Langevin / SMC sampling of an LJ cluster",
        description="Sample exp(-E/kT) of an LJ cluster by annealing the Gaussian width "
        "(or a prior mixture); prints the paper's metric and SMC diagnostics.",
    )
    p.add_argument("--n-atoms", type=int, default=13)
    p.add_argument("--path", choices=PATHS, default="gaussian")
    p.add_argument("--replicas", type=int, default=1000)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--mutation", choices=MUTATIONS, default="ula")
    p.add_argument("--step-size", type=float, default=1e-3)
    p.add_argument("--resample", action="store_true", help="real SMC (weights, log Z)")
    p.add_argument("--harmonic", type=float, default=1.0, help="confinement c (0 allowed)")
    p.add_argument("--kT", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=int, default=1, help="independent runs (seeds seed..)")
    p.add_argument("--width-start", type=float, default=1.5)
    p.add_argument("--width-end", type=float, default=0.025)
    p.add_argument("--burnin", type=int, default=10)
    p.add_argument("--adapt-step", choices=("auto", "yes", "no"), default="auto")
    p.add_argument("--final-moves", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="process pool size for --runs")
    p.add_argument("--output", type=str, default=None, help="prefix for .json/.npz files")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cli_main)
    return p


def _cli_main(args: argparse.Namespace) -> int:
    adapt = {"auto": None, "yes": True, "no": False}[args.adapt_step]
    kwargs = dict(
        path=args.path,
        n_replicas=args.replicas,
        n_steps=args.steps,
        mutation=args.mutation,
        step_size=args.step_size,
        resample=args.resample,
        harmonic=args.harmonic,
        kT=args.kT,
        width_start=args.width_start,
        width_end=args.width_end,
        n_burnin=args.burnin,
        adapt_step=adapt,
        final_moves=args.final_moves,
        progress=not args.no_progress and args.workers <= 1,
    )
    seeds = range(args.seed, args.seed + args.runs)
    if args.workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.workers) as ex:
            results = run_smc_repeats(args.n_atoms, seeds, executor=ex, **kwargs)
    else:
        results = run_smc_repeats(args.n_atoms, seeds, **kwargs)
    mins = []
    for seed, res in zip(seeds, results, strict=True):
        s = res.summary()
        mins.append(s["min_lj_energy"])
        print(json.dumps({"seed": seed, **s}))
        if args.output:
            res.save(f"{args.output}_seed{seed}")
    if len(mins) > 1:
        print(f"min LJ energy over replicas: {np.mean(mins):.3f} +- {np.std(mins):.3f} "
              f"({len(mins)} runs)")
    return 0
