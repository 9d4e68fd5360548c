"""Options of the annealed samplers, validated once at the boundary (:class:`SMCOptions`)."""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass

import numpy as np

from ..core.defaults import R_CORE, WIDTH_LIMIT
from ..core.validation import check_width, count
from ..schedules import check_anneal_range

__all__ = ["PATHS", "MUTATIONS", "SMCOptions"]

PATHS = ("gaussian", "mixture-linear", "mixture-geometric", "gaussian-adaptive")
MUTATIONS = ("ula", "mala")


def _real(name: str, value, lo: float, hi: float, *, lo_open: bool, hi_open: bool) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {value!r}") from exc
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be finite and in {left}{lo:g}, {hi:g}{right}, got {value!r}")
    return v


@dataclass(frozen=True)
class SMCOptions:
    """Every option of :func:`~ase_gausslj.sampling.smc.run_smc` (defaults: the paper's
    protocol, except the path).

    The default path is ``'mixture-geometric'``, not the paper's ``'gaussian'``: at these
    defaults (1,000 replicas, 10,000 ULA steps, h = 1e-3, no weights) on LJ13 (c = 1, kT =
    1) the Gaussian (smoothing) path was biased by +4.2 to +4.5 eps in <E_LJ> against the
    1,000-chain MALA reference, the geometric mixture by +1.7 to +2.0 and the linear one by
    +2.1 to +2.3 (3 seeds each; the geometric one lowest in all 3), at 0.7x the CPU of the
    Gaussian path (docs/when-to-smooth.md, ``results/when_to_smooth/part_smc-default.json``).
    ``path='gaussian'`` gives the paper's protocol.

    Constructing it validates each option (ValueError naming the option). The mutation-
    dependent defaults (None for ``adapt_step``, ``step_jitter``, ``max_drift``) are
    resolved by :attr:`adapt`, :attr:`jitter` and :attr:`drift`.

    Attributes
    ----------
    path : str
        One of :data:`PATHS` (see :mod:`ase_gausslj.sampling.smc`).
    n_replicas, n_steps : int
        Replicas ``R`` (>= 1) and annealing steps of the fixed paths (>= 1).
    mutation : str
        ``'ula'`` or ``'mala'``.
    step_size : float
        Initial (or, without adaptation, fixed) Langevin step ``h`` (> 0).
    resample : bool
        True: SMC (weights, resampling, log Z); False: the paper's unweighted protocol.
    harmonic, kT, r_core : float
        Target parameters (confinement ``c >= 0``, temperature > 0, LJ core radius).
    seed : int or None
        Seed of ``numpy.random.default_rng``.
    width_start, width_end : float
        Gaussian paths: the width anneals from ``width_start`` to ``width_end`` (never
        increasing: ``width_end <= width_start``), then 0.
    n_burnin : int
        Moves at ``width_start`` before annealing (Gaussian paths).
    ratio : float
        Per-step factor of the geometric mixture path, in (0, 1).
    prior_std : float
        Std of the prior ``N(0, prior_std^2 I)`` from which the replicas start.
    adapt_step : bool or None
        Adapt the step size to ``target_accept``; None: True for MALA, False for ULA.
    target_accept, adapt_rate : float
        Acceptance target in (0, 1) and final Robbins-Monro gain (> 0).
    step_jitter : float or None
        Std of the per-replica log step factor (>= 0); None: 0.5 for MALA, 0 for ULA.
    max_drift : float or None
        Taming bound in sigma (> 0); None: 0.5 for MALA, off for ULA (the paper's ULA).
    ess_threshold : float
        Resample when ``ESS < ess_threshold * R``; in (0, 1].
    cess_target : float
        CESS fraction kept per level by the adaptive schedules; in (0, 1).
    moves_per_level : int
        Moves per level of the adaptive schedules (>= 1).
    min_width_ratio : float
        ``'gaussian-adaptive'``: each level keeps at least this fraction of the width
        until ``width_end`` is reached; in [0, 1).
    final_moves : int
        Extra moves at the final target (>= 0).
    """

    path: str = "mixture-geometric"  # measured best at these defaults (docstring)
    n_replicas: int = 1000
    n_steps: int = 10_000
    mutation: str = "ula"
    step_size: float = 1e-3
    resample: bool = False
    harmonic: float = 1.0
    kT: float = 1.0
    seed: int | None = 0
    width_start: float = 1.5
    width_end: float = 0.025
    n_burnin: int = 10
    ratio: float = 0.95
    prior_std: float = 1.5
    adapt_step: bool | None = None
    target_accept: float = 0.6
    adapt_rate: float = 0.05
    step_jitter: float | None = None
    max_drift: float | None = None
    ess_threshold: float = 0.5
    cess_target: float = 0.95
    moves_per_level: int = 20
    min_width_ratio: float = 0.9
    final_moves: int = 0
    r_core: float = R_CORE

    def __post_init__(self) -> None:
        if self.path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}, got {self.path!r}")
        if self.mutation not in MUTATIONS:
            raise ValueError(f"mutation must be one of {MUTATIONS}, got {self.mutation!r}")
        if self.path == "gaussian-adaptive" and not self.resample:
            raise ValueError("path='gaussian-adaptive' needs weights: use resample=True")
        for name in ("resample", "adapt_step"):
            value = getattr(self, name)
            none_ok = name == "adapt_step" and value is None
            if not (isinstance(value, (bool, np.bool_)) or none_ok):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        for name, minimum in (("n_replicas", 1), ("n_steps", 1), ("n_burnin", 0),
                              ("moves_per_level", 1), ("final_moves", 0)):
            count(getattr(self, name), name, minimum)
        if self.seed is not None:
            count(self.seed, "seed", 0)
        inf = math.inf
        for name, lo, hi, lo_open, hi_open in (
            ("step_size", 0.0, inf, True, True), ("prior_std", 0.0, inf, True, True),
            ("adapt_rate", 0.0, inf, True, True), ("harmonic", 0.0, inf, False, True),
            ("kT", 0.0, inf, True, True), ("r_core", 0.0, inf, False, True),
            ("ratio", 0.0, 1.0, True, True), ("target_accept", 0.0, 1.0, True, True),
            ("cess_target", 0.0, 1.0, True, True), ("min_width_ratio", 0.0, 1.0, False, True),
            ("ess_threshold", 0.0, 1.0, True, False),
        ):
            _real(name, getattr(self, name), lo, hi, lo_open=lo_open, hi_open=hi_open)
        check_width(self.width_start, "width_start", maximum=WIDTH_LIMIT,
                    limit_name="core.defaults.WIDTH_LIMIT, the largest table")
        check_anneal_range(self.width_start, self.width_end)
        if self.step_jitter is not None:
            _real("step_jitter", self.step_jitter, 0.0, inf, lo_open=False, hi_open=True)
        if self.max_drift is not None:
            _real("max_drift", self.max_drift, 0.0, inf, lo_open=True, hi_open=True)

    @classmethod
    def build(cls, options: SMCOptions | None = None, **kwargs) -> SMCOptions:
        """``options`` with ``kwargs`` replaced (validated); TypeError for unknown names."""
        names = [f.name for f in dataclasses.fields(cls)]
        for key in kwargs:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"unknown SMC option {key!r}{hint}")
        if options is None:
            return cls(**kwargs)
        if not isinstance(options, cls):
            raise TypeError(f"options must be an SMCOptions, got {type(options).__name__}")
        return dataclasses.replace(options, **kwargs) if kwargs else options

    @property
    def mala(self) -> bool:
        """True for Metropolis-adjusted moves."""
        return self.mutation == "mala"

    @property
    def adapt(self) -> bool:
        """``adapt_step`` with its mutation-dependent default resolved."""
        return self.mala if self.adapt_step is None else bool(self.adapt_step)

    @property
    def jitter(self) -> float:
        """``step_jitter`` resolved (0.5 for MALA, 0 for ULA when None)."""
        if self.step_jitter is None:
            return 0.5 if self.mala else 0.0
        return float(self.step_jitter)

    @property
    def drift(self) -> float | None:
        """``max_drift`` resolved (0.5 for MALA, None = no taming for ULA when None)."""
        if self.max_drift is None:
            return 0.5 if self.mala else None
        return float(self.max_drift)

    def to_dict(self) -> dict:
        """The options, with the mutation-dependent defaults resolved (JSON-serializable)."""
        return dict(dataclasses.asdict(self), adapt_step=self.adapt,
                    step_jitter=self.jitter, max_drift=self.drift)
