"""Annealed sampling of LJ clusters: the paper's ULA annealing and real SMC.

The sampler moves ``R`` replicas through a sequence of targets ``pi_t ∝ exp(-U_t)`` with

.. math::

    U_t(X) = \\lambda_t \\frac{|X|^2}{2 \\sigma_p^2}
             + (1 - \\lambda_t) \\frac{E_{s_t}(X)}{kT},

where ``E_s`` is the smoothed cluster energy of
:class:`~ase_gausslj.sampling.targets.LJClusterTarget` (smoothed LJ of width ``s`` plus
harmonic confinement) and ``N(0, sigma_p^2)`` is the prior (``sigma_p = 1.5``). All
configurations live in the centre-of-mass-free subspace.

Paths: the fixed ones of :mod:`ase_gausslj.sampling.paths` (``'gaussian'``,
``'mixture-linear'``, ``'mixture-geometric'``) and ``'gaussian-adaptive'`` (needs
``resample=True``): the next width is the smallest one whose conditional effective sample
size (CESS) stays above ``cess_target * R``; ``moves_per_level`` moves per width.

Modes:

* ``resample=False`` is the paper's protocol: no weights, one move per step; the paper's
  mutation is ULA with a fixed step size.
* ``resample=True`` is sequential Monte Carlo: incremental log weights
  ``-(U_t(x) - U_{t-1}(x))``, systematic resampling when the ESS falls below
  ``ess_threshold * R``, and an estimate of ``log Z`` of the final target (on the COM-free
  subspace; see :mod:`ase_gausslj.sampling.targets`). The run starts from the prior (exactly
  sampled); for the Gaussian paths a CESS-adaptive bridge ``lambda: 1 -> 0`` at
  ``width_start`` comes first, so the first weights do not collapse, followed by
  ``n_burnin`` moves at ``width_start``.

Mutations (:mod:`ase_gausslj.sampling.kernels`): ``'ula'`` (unadjusted Langevin) and
``'mala'`` (Metropolis-adjusted, tamed). With ``adapt_step=True`` the global step size
follows the mean Metropolis acceptance probability (for ULA the would-be acceptance)
towards ``target_accept``.

The pieces, in the manner of blackjax: :class:`SMCSampler` ``.init(rng) -> SMCState``,
``.step(state, width, lam, rng) -> SMCState``, ``.levels(state)`` (the path),
``.result(state)``; :func:`run_smc` is the convenience entry built on them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp

from ..core.defaults import WIDTH_MAX
from ..io import interruptible
from ..parallel import map_jobs
from .diagnostics import (
    DIVERGED_EXTENT,
    EVAPORATED_DISTANCE,
    EVAPORATION_MIN_REPLICAS,
    check_diverged,
    min_pair_distance,
    warn_if_evaporated,
)
from .kernels import LangevinKernel, Particles, StepSizeAdapter
from .options import MUTATIONS, PATHS, SMCOptions
from .paths import bisect_param, gaussian_anneal_widths, path_schedule
from .results import SMCResult
from .targets import LJClusterTarget, com_free_dim, project_com_free
from .weights import conditional_ess, ess, reweight, systematic_resample

__all__ = [
    "PATHS", "MUTATIONS", "SMCOptions", "SMCResult", "SMCState", "SMCSampler", "run_smc",
    "run_smc_repeats", "path_schedule", "ess", "conditional_ess", "systematic_resample",
    "min_pair_distance", "DIVERGED_EXTENT", "EVAPORATED_DISTANCE",
    "EVAPORATION_MIN_REPLICAS",
]

_TRACES = ("ess", "log_z", "min_energy", "width", "lam", "acceptance", "step_size")


@dataclass
class SMCState:
    """Everything a step of :class:`SMCSampler` reads and updates.

    Attributes
    ----------
    particles : Particles
        Replicas with cached energies.
    log_weights : ndarray (R,)
        Current (unnormalized) log weights; zeros in the paper mode.
    log_z : float
        Running ``log Z`` estimate of the current target (prior's ``log Z`` at the start).
    width, lam : float
        The current target.
    adapter : StepSizeAdapter
        The global step size (``adapter.step_size``) and its adaptation counter.
    n_resample : int
        Resampling events so far.
    trace : dict of list
        Per completed step: ESS, ``log Z``, minimum LJ energy, width, lambda,
        mean acceptance and step size.
    """

    particles: Particles
    log_weights: np.ndarray
    log_z: float
    width: float
    lam: float
    adapter: StepSizeAdapter
    n_resample: int = 0
    trace: dict = field(default_factory=lambda: {k: [] for k in _TRACES})


class SMCSampler:
    """Annealed Langevin / SMC sampler of ``target`` with ``options``.

    Parameters
    ----------
    target : LJClusterTarget
    options : SMCOptions
    """

    def __init__(self, target: LJClusterTarget, options: SMCOptions):
        if not isinstance(options, SMCOptions):
            raise TypeError(f"options must be an SMCOptions, got {type(options).__name__}")
        self.target, self.options = target, options
        self.kernel = LangevinKernel(mala=options.mala, jitter=options.jitter,
                                     max_drift=options.drift)

    def init(self, rng: np.random.Generator) -> SMCState:
        """Replicas drawn exactly from the prior ``N(0, prior_std^2)`` (COM-free)."""
        o = self.options
        shape = (o.n_replicas, self.target.n_atoms, 3)
        x0 = project_com_free(o.prior_std * rng.standard_normal(shape))
        prior_var = float(o.prior_std) ** 2
        log_z = 0.5 * com_free_dim(self.target.n_atoms) * math.log(2.0 * math.pi * prior_var)
        return SMCState(
            particles=Particles(self.target, x0, prior_var),
            log_weights=np.zeros(o.n_replicas),
            log_z=log_z,
            width=o.width_start if o.path.startswith("gaussian") else 0.0,
            lam=1.0,
            adapter=StepSizeAdapter(float(o.step_size), o.target_accept, o.adapt_rate),
        )

    # ------------------------------------------------------------------ one step
    def _increments(self, state: SMCState, width: float, lam: float) -> np.ndarray:
        p = state.particles
        p.ensure(state.width)
        u_old = p.potential(state.lam)
        p.ensure(width)
        return -(p.potential(lam) - u_old)

    def _reweight(self, state: SMCState, width: float, lam: float,
                  rng: np.random.Generator) -> tuple[float, float]:
        logw, dlog_z = reweight(state.log_weights, self._increments(state, width, lam))
        e = ess(logw)
        state.log_weights, state.log_z = logw, state.log_z + dlog_z
        if e < self.options.ess_threshold * logw.size:
            state.particles.take(systematic_resample(np.exp(logw - logw.max()), rng))
            state.log_weights = np.zeros(logw.size)
            state.n_resample += 1
        return e, state.log_z

    def step(self, state: SMCState, width: float, lam: float, rng: np.random.Generator,
             n_moves: int = 1) -> SMCState:
        """Move to the target ``(width, lam)``: reweight (SMC), then ``n_moves`` moves.

        The state is updated in place (its arrays are numpy arrays) and returned. The
        trace gets one row when the step completes.

        Raises
        ------
        FloatingPointError
            If a replica's positions become non-finite or exceed :data:`DIVERGED_EXTENT`
            (the Langevin step is unstable: reduce ``step_size``).
        """
        o = self.options
        if o.resample:
            e, log_z = self._reweight(state, width, lam, rng)
        else:
            e, log_z = float(o.n_replicas), float("nan")
        state.width, state.lam = width, lam
        p = state.particles
        p.ensure(width)
        row = {"ess": e, "log_z": log_z, "min_energy": float(np.min(p.e_lj)),
               "width": width, "lam": lam}
        accs = []
        for _ in range(n_moves):
            acc = self.kernel.move(p, width, lam, state.adapter.step_size, rng,
                                   need_accept=o.adapt, need_energy=o.resample)
            accs.append(acc)
            if o.adapt:
                state.adapter.update(acc)
        check_diverged(p.x, f"width {width:g}, lambda {lam:g}", self.options.step_size)
        row.update(acceptance=float(np.mean(accs)), step_size=state.adapter.step_size)
        for k, v in row.items():
            state.trace[k].append(v)
        return state

    # ------------------------------------------------------------------ the path
    def _cess_gap(self, state: SMCState, width: float, lam: float) -> float:
        """CESS fraction minus its target for moving from the current target to (width, lam)."""
        p = state.particles
        p.ensure(state.width)
        u_old = p.potential(state.lam)
        if width == state.width:
            e_tot = p.e_tot
        else:
            e_lj, _ = self.target.lj_energy_gradient(p.x, width)
            e_h, _ = self.target.harmonic_energy_gradient(p.x)
            e_tot = e_lj + e_h
        u_new = lam * p.e_prior + (1 - lam) * e_tot / self.target.kT
        inc = np.where(np.isnan(u_new - u_old), -np.inf, -(u_new - u_old))
        return conditional_ess(state.log_weights, inc) / self.options.n_replicas - \
            self.options.cess_target

    def n_levels(self) -> int | None:
        """Number of steps :meth:`levels` yields, or None when it adapts to the state."""
        o = self.options
        if o.path == "gaussian-adaptive" or (o.resample and o.path == "gaussian"):
            return None
        return len(path_schedule(o.path, o.n_steps, width_start=o.width_start,
                                 width_end=o.width_end, n_burnin=o.n_burnin,
                                 ratio=o.ratio)[0]) + o.final_moves

    def levels(self, state: SMCState) -> Iterator[tuple[float, float, int]]:
        """The path as ``(width, lam, n_moves)`` per step; adaptive parts read ``state``.

        ``state`` must be the object that :meth:`step` updates in place.
        """
        o = self.options
        if o.path.startswith("gaussian") and o.resample:
            # CESS-adaptive bridge prior -> exp(-E_{width_start}/kT), then burn-in moves.
            while state.lam > 0:
                lam = bisect_param(lambda q: self._cess_gap(state, o.width_start, q), 0.0,
                                   state.lam)
                yield o.width_start, lam, o.moves_per_level
            for _ in range(o.n_burnin):
                yield o.width_start, 0.0, 1
            if o.path == "gaussian":
                for w in [*gaussian_anneal_widths(o.width_start, o.width_end, o.n_steps - 1),
                          0.0]:
                    yield float(w), 0.0, 1
            else:
                while state.width > 0:
                    # CESS cannot see regions no replica visits yet (the LJ well opens only
                    # below width ~0.1), so the width may shrink at most by min_width_ratio
                    # per level down to width_end, and then goes to 0.
                    lo = o.min_width_ratio * state.width if state.width > o.width_end else 0.0
                    w = bisect_param(lambda q: self._cess_gap(state, q, 0.0), lo, state.width)
                    yield w, 0.0, o.moves_per_level
        else:
            widths, lams = path_schedule(o.path, o.n_steps, width_start=o.width_start,
                                         width_end=o.width_end, n_burnin=o.n_burnin,
                                         ratio=o.ratio)
            for w, lam in zip(widths, lams, strict=True):
                yield float(w), float(lam), 1
        for _ in range(o.final_moves):
            yield 0.0, 0.0, 1

    # ------------------------------------------------------------------ the result
    def result(self, state: SMCState, **extra) -> SMCResult:
        """:class:`SMCResult` of ``state`` (energies at width 0); ``extra`` sets fields.

        Warns (``RuntimeWarning``) when every replica (of at least
        ``EVAPORATION_MIN_REPLICAS``) has evaporated (no pair closer than
        :data:`EVAPORATED_DISTANCE`): the LJ energies are then all ~0, which is what
        ``harmonic=0`` or a high ``kT`` give, and also what a too-large ULA step gives.
        """
        p = state.particles
        p.ensure(0.0)
        if self.target.lj:
            warn_if_evaporated(p.x, p.e_lj, stacklevel=3)
        t = {k: np.asarray(v, dtype=np.float64) for k, v in state.trace.items()}
        return SMCResult(
            positions=p.x, lj_energies=p.e_lj.copy(), energies=p.e_tot.copy(),
            log_weights=state.log_weights - logsumexp(state.log_weights),
            log_z=float(state.log_z) if self.options.resample else None,
            ess=t["ess"], min_energy_trace=t["min_energy"], widths=t["width"],
            lambdas=t["lam"], acceptance=t["acceptance"], step_sizes=t["step_size"],
            log_z_trace=t["log_z"], n_resample=state.n_resample, **extra,
        )


def run_smc(n_atoms: int, options: SMCOptions | None = None, *,
            target: LJClusterTarget | None = None, progress: bool = False,
            **kwargs) -> SMCResult:
    """Annealed Langevin sampling / sequential Monte Carlo for an LJ cluster.

    Parameters
    ----------
    n_atoms : int
        Cluster size ``N``.
    options : SMCOptions, optional
        All sampler options; default ``SMCOptions()`` (the paper's protocol).
    target : LJClusterTarget, optional
        Use this target instead of building one from ``n_atoms`` and the options
        ``harmonic``, ``kT`` and ``r_core`` (e.g. the pure harmonic target of the
        analytic checks).
    progress : bool
        Show a tqdm progress bar.
    **kwargs
        Any field of :class:`SMCOptions` (``path``, ``n_replicas``, ``n_steps``,
        ``mutation``, ``step_size``, ``resample``, ``seed``, ...), overriding
        ``options``. Each is validated here (ValueError naming it; TypeError for an
        unknown name).

    Returns
    -------
    SMCResult
        ``interrupted=True`` when Ctrl-C stopped the run: the state reached is returned.

    Raises
    ------
    FloatingPointError
        The Langevin step diverged (non-finite or astronomically large positions; see
        :meth:`SMCSampler.step`): raised at once, since no result would be usable.

    Warns
    -----
    RuntimeWarning
        Every replica evaporated (all LJ energies ~0; see :meth:`SMCSampler.result`):
        a warning, not an error, since an unbound target legitimately does this.
    """
    t0 = time.perf_counter()
    opts = SMCOptions.build(options, **kwargs)
    if target is None:
        target = LJClusterTarget(n_atoms, harmonic=opts.harmonic, kT=opts.kT,
                                 r_core=opts.r_core,
                                 width_max=max(WIDTH_MAX, float(opts.width_start)))
    elif target.n_atoms != n_atoms:
        raise ValueError(f"target has {target.n_atoms} atoms, n_atoms is {n_atoms}")
    config = {"n_atoms": n_atoms, **opts.to_dict(), "progress": progress,
              "target": target.to_dict()}
    sampler = SMCSampler(target, opts)
    rng = np.random.default_rng(opts.seed)
    state = sampler.init(rng)
    from tqdm.auto import tqdm

    with tqdm(total=sampler.n_levels(), disable=not progress, mininterval=1.0,
              desc=f"smc {opts.path} N={n_atoms}") as bar, interruptible() as stopped:
        for width, lam, n_moves in sampler.levels(state):
            state = sampler.step(state, width, lam, rng, n_moves)
            bar.update()
    return sampler.result(state, config=config, interrupted=bool(stopped),
                          wall_time=time.perf_counter() - t0)


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
        Anything with ``submit(fn, *args) -> future`` (see
        :func:`ase_gausslj.parallel.map_jobs`). None runs serially.
    **kwargs
        Passed to :func:`run_smc` (``seed`` is set per run).

    Returns
    -------
    list of SMCResult, in the order of ``seeds``. Run serially, an interrupted run (Ctrl-C)
    ends the list: it is the last entry, flagged ``interrupted``.
    """
    # fail before any run starts (and before a pool is used) when an option is bad
    SMCOptions.build(kwargs.get("options"),
                     **{k: v for k, v in kwargs.items()
                        if k not in ("options", "target", "progress", "seed")})
    jobs = [(n_atoms, dict(kwargs, seed=int(s))) for s in seeds]
    if executor is not None:  # interrupted: the runs that came back (partial ones flagged)
        return [r for r in map_jobs(_run_one, jobs, executor=executor, partial=True)
                if r is not None]
    done: list[SMCResult] = []

    def run(n: int, kw: dict) -> SMCResult:
        done.append(_run_one(n, kw))
        if done[-1].interrupted:
            raise KeyboardInterrupt  # stop the fan-out; the partial run is kept
        return done[-1]

    with interruptible():
        map_jobs(run, jobs)
    return done
