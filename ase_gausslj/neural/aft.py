"""Annealed flow transport (AFT; Arbel, Matthews & Doucet 2021, Algorithm 2) for LJ clusters.

Targets live on the COM-free subspace (see :mod:`ase_gausslj.sampling.targets`). With the
initial Gaussian ``N0 = N(0, sigma0^2 I)`` and the cluster energy
``E_s(X) = sum V_s(r_ij) + (c/2) |X|^2`` (``|X|^2 = sum_i |x_i - xbar|^2``), the final target
is ``gamma(X) = exp(-E_0(X) / kT)``; by default ``c = kT / sigma0^2``, so the confinement is
the initial Gaussian itself and the final target is ``N0(X) exp(-E_LJ(X) / kT)``. The paper's
"energy rescaled by 1/40" is ``kT = 40``. Two annealing paths ``gamma_0, ..., gamma_K``:

* ``'gaussian'``: ``gamma_k = exp(-E_{s_k} / kT)``, widths ``s_0 > ... > s_K = 0`` (paper:
  1.1, 0.6, 0). ``gamma_0`` is reached from ``N0`` by one importance reweighting (no flow),
  then resampling and mutation, so the ``log Z`` estimate stays unbiased.
* ``'mixture'``: ``gamma_k = N0^lambda_k gamma^(1 - lambda_k)``, ``lambda`` from 1 to 0
  (default 1, 0.5, 0): ``gamma_0 = N0`` is sampled exactly.

Each stage ``k >= 1`` (Algorithm 2): train a flow ``T_k`` on the weighted *train* particles by
minimizing ``sum_i W_i [-log gamma_k(T x_i) - log|det J(x_i)|] + mu sum_i W_i log|det J|^2``
with Adam, keeping the parameters with the lowest loss on the *validation* particles; then
for each of the train, validation and test sets: transport ``x <- T_k(x)``, multiply the
weights by ``gamma_k(T x) |det J| / gamma_{k-1}(x)``, resample (systematic) when the ESS drops
below ``ess_threshold * n`` and mutate with ULA or MALA steps targeting ``gamma_k``. The test
set gives the estimates (``log Z`` by the product of the mean incremental weights).
Weights, ESS and resampling are those of :mod:`ase_gausslj.sampling.weights`.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..core.validation import check_finite_nonneg
from ..sampling.targets import LJClusterTarget, project_com_free
from ..sampling.weights import ess, normalize_log_weights, reweight, systematic_resample
from ..schedules import check_non_increasing
from .aft_result import AFTResult
from .flows import EquivariantFlow
from .jax_energy import make_callback_lj_energy, make_lj_energy

__all__ = ["AFTConfig", "run_aft", "PATHS", "stage_parameters"]

PATHS = ("gaussian", "mixture")


@dataclass
class AFTConfig:
    """Parameters of :func:`run_aft` (defaults: the paper's Table 4 protocol where known)."""

    path: str = "gaussian"
    n_atoms: int = 3
    widths: tuple = (1.1, 0.6, 0.0)
    lambdas: tuple = (1.0, 0.5, 0.0)
    sigma0: float = 1.1
    kT: float = 40.0
    harmonic: float | None = None  # None: kT / sigma0^2 (confinement = N0)
    n_train: int = 2000
    n_val: int = 500
    n_test: int = 1000
    epochs: int = 150
    lr: float = 2e-4
    batch_size: int = 100
    logdet_penalty: float = 0.01
    mutation: str = "ula"
    n_mcmc: int = 10
    step_size: float = 0.01
    ess_threshold: float = 0.3
    flow_steps: int = 8
    flow_basis: int = 16
    energy_backend: str = "callback"
    seed: int = 0

    def validate(self) -> AFTConfig:
        """Check every field; ValueError naming the field."""
        if self.path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}, got {self.path!r}")
        if self.mutation not in ("ula", "mala"):
            raise ValueError(f"mutation must be 'ula' or 'mala', got {self.mutation!r}")
        if self.energy_backend not in ("callback", "jnp"):
            raise ValueError(f"energy_backend must be 'callback' or 'jnp', got "
                             f"{self.energy_backend!r}")
        for name in ("n_atoms", "n_train", "n_val", "n_test", "epochs", "batch_size",
                     "flow_steps", "flow_basis"):
            val = getattr(self, name)
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        if self.n_mcmc < 0:
            raise ValueError(f"n_mcmc must be >= 0, got {self.n_mcmc}")
        for name in ("sigma0", "kT", "lr", "step_size"):
            if float(check_finite_nonneg(getattr(self, name), name)) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        check_finite_nonneg(self.logdet_penalty, "logdet_penalty")
        if not 0 <= self.ess_threshold <= 1:
            raise ValueError(f"ess_threshold must be in [0, 1], got {self.ess_threshold}")
        seq = self.widths if self.path == "gaussian" else self.lambdas
        name = "widths" if self.path == "gaussian" else "lambdas"
        seq = np.asarray(check_finite_nonneg(seq, name), dtype=float)
        if seq.ndim != 1 or seq.size < 2:
            raise ValueError(f"{name} needs at least two entries, got {seq.tolist()}")
        check_non_increasing(seq, name)
        if seq[-1] != 0.0:
            raise ValueError(f"{name} must end at 0 (the final target), got {seq[-1]}")
        if self.path == "mixture" and seq[0] != 1.0:
            raise ValueError(f"lambdas must start at 1 (the initial Gaussian), got {seq[0]}")
        return self

    @property
    def confinement(self) -> float:
        """Harmonic constant ``c`` of the target."""
        return self.kT / self.sigma0**2 if self.harmonic is None else float(self.harmonic)


def _centred_sq(x):
    d = x - jnp.mean(x, axis=-2, keepdims=True)
    return jnp.sum(d * d, axis=(-2, -1))


def stage_parameters(cfg: AFTConfig) -> list[tuple[float, float]]:
    """``(width, lambda)`` of ``gamma_0, ..., gamma_K``: one log density serves both paths,
    ``log gamma = lambda log N0 - (1 - lambda) E_width / kT``."""
    if cfg.path == "gaussian":
        return [(float(w), 0.0) for w in cfg.widths]
    return [(0.0, float(lam)) for lam in cfg.lambdas]


@functools.lru_cache(maxsize=8)
def _kernels(n_atoms, kt, c, sigma0, backend, widths, flow_steps, flow_basis, lr, mu, h,
             mutation):
    """Jitted pieces shared by every stage, path and seed of one configuration (compiling
    them costs seconds each; the width and lambda are traced arguments)."""
    import equinox as eqx  # noqa: PLC0415

    target = LJClusterTarget(n_atoms, harmonic=c, kT=kt)
    d = 3 * (n_atoms - 1)
    if backend == "callback":
        e_w = make_callback_lj_energy(target)
    else:
        tables = [make_lj_energy(w, target.r_core) for w in sorted(set(widths) | {0.0})]
        grid = jnp.asarray(sorted(set(widths) | {0.0}))

        def e_w(x, w):
            return jax.lax.switch(jnp.argmin(jnp.abs(grid - w)), tables, x)

    def log_gamma(x, w, lam):
        log_n0 = -0.5 * _centred_sq(x) / sigma0**2 - 0.5 * d * math.log(2 * math.pi * sigma0**2)
        return lam * log_n0 - (1.0 - lam) * (e_w(x, w) + 0.5 * c * _centred_sq(x)) / kt

    static = eqx.partition(EquivariantFlow(None, n_basis=flow_basis, n_steps=flow_steps),
                           eqx.is_inexact_array)[1]
    opt = optax.adam(lr)

    def loss_fn(params, x, lw, w, lam):
        wt = jax.nn.softmax(lw)
        y, logdet = eqx.combine(params, static).forward_trace(x)
        return jnp.sum(wt * (-log_gamma(y, w, lam) - logdet)) + mu * jnp.sum(wt * logdet**2)

    @jax.jit
    def update(params, state, x, lw, w, lam):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, lw, w, lam)
        upd, state = opt.update(grads, state, params)
        return optax.apply_updates(params, upd), state, loss

    def val_grad(x, w, lam):
        def f(z):
            lp = log_gamma(z, w, lam)
            return jnp.sum(lp), lp

        (_, lp), g = jax.value_and_grad(f, has_aux=True)(x)
        return lp, g

    def centred(z):
        return z - jnp.mean(z, axis=-2, keepdims=True)

    @jax.jit
    def mcmc_step(x, key, w, lam):
        lp, g = val_grad(x, w, lam)
        noise = centred(jax.random.normal(key, x.shape, dtype=x.dtype))
        y = x + h * centred(g) + math.sqrt(2.0 * h) * noise
        if mutation == "ula":
            return y, jnp.ones(x.shape[0])
        lpy, gy = val_grad(y, w, lam)
        fwd = jnp.sum((y - x - h * centred(g)) ** 2, axis=(-2, -1))
        bwd = jnp.sum((x - y - h * centred(gy)) ** 2, axis=(-2, -1))
        log_a = lpy - lp - (bwd - fwd) / (4.0 * h)
        acc = jnp.minimum(1.0, jnp.exp(jnp.where(jnp.isnan(log_a), -jnp.inf, log_a)))
        take = jax.random.uniform(jax.random.fold_in(key, 1), acc.shape) < acc
        return jnp.where(take[:, None, None], y, x), acc

    return {
        "target": target,
        "log_gamma": jax.jit(log_gamma),
        "opt": opt,
        "update": update,
        "val_loss": jax.jit(loss_fn),
        "forward": jax.jit(lambda p, x: eqx.combine(p, static).forward(x)),
        "mcmc_step": mcmc_step,
    }


class _Set:
    """One particle population (train, validation or test) with its log weights."""

    def __init__(self, x: np.ndarray):
        self.x = x
        self.lw = np.full(x.shape[0], -math.log(x.shape[0]))
        self.log_z = 0.0
        self.ess: list[float] = []
        self.resampled: list[bool] = []
        self.accept: list[float] = []

    def reweight(self, log_inc: np.ndarray) -> None:
        lw, dz = reweight(self.lw, log_inc)
        self.log_z += dz
        self.lw = normalize_log_weights(lw)
        self.ess.append(ess(self.lw))

    def maybe_resample(self, threshold: float, rng: np.random.Generator) -> None:
        n = self.x.shape[0]
        do = self.ess[-1] < threshold * n
        if do:
            idx = systematic_resample(np.exp(self.lw), rng)
            self.x = self.x[idx]
            self.lw = np.full(n, -math.log(n))
        self.resampled.append(bool(do))


def _fresh_params(cfg: AFTConfig):
    import equinox as eqx  # noqa: PLC0415

    flow = EquivariantFlow(None, n_basis=cfg.flow_basis, n_steps=cfg.flow_steps)
    return eqx.partition(flow, eqx.is_inexact_array)[0]


def _train_flow(kern, stage, tr: _Set, va: _Set, cfg: AFTConfig, key):
    """Adam on the weighted AFT loss; the parameters with the lowest validation loss win."""
    w, lam = (jnp.asarray(v, dtype=jnp.float64) for v in stage)
    params = _fresh_params(cfg)
    state = kern["opt"].init(params)
    xv, lwv = jnp.asarray(va.x), jnp.asarray(va.lw)
    best = (float(kern["val_loss"](params, xv, lwv, w, lam)), params, 0)
    train_hist, val_hist = [], []
    n = tr.x.shape[0]
    bs = min(cfg.batch_size, n)
    for epoch in range(cfg.epochs):
        key, sub = jax.random.split(key)
        perm = np.asarray(jax.random.permutation(sub, n))
        losses = []
        for start in range(0, n - bs + 1, bs):
            idx = perm[start : start + bs]
            params, state, loss = kern["update"](params, state, jnp.asarray(tr.x[idx]),
                                                 jnp.asarray(tr.lw[idx]), w, lam)
            losses.append(float(loss))
        train_hist.append(float(np.mean(losses)))
        vl = float(kern["val_loss"](params, xv, lwv, w, lam))
        val_hist.append(vl)
        if np.isfinite(vl) and vl < best[0]:
            best = (vl, params, epoch + 1)
    return best[1], {"train_loss": train_hist, "val_loss": val_hist, "best_epoch": best[2]}


def _mutate(pop: _Set, kern, stage, cfg: AFTConfig, key) -> None:
    w, lam = (jnp.asarray(v, dtype=jnp.float64) for v in stage)
    x = jnp.asarray(pop.x)
    accs = []
    for _ in range(cfg.n_mcmc):
        key, sub = jax.random.split(key)
        x, acc = kern["mcmc_step"](x, sub, w, lam)
        accs.append(float(jnp.mean(acc)))
    pop.x = np.asarray(x)
    pop.accept.append(float(np.mean(accs)) if accs else float("nan"))


def run_aft(config: AFTConfig | None = None, **overrides) -> AFTResult:
    """Run annealed flow transport; see the module docstring.

    Parameters
    ----------
    config : AFTConfig, optional
        Parameters (default: the paper's Table 4 protocol, Gaussian path).
    **overrides
        Fields of :class:`AFTConfig` to replace.

    Returns
    -------
    AFTResult
        Test-set particles, weights, ``log Z`` and per-stage diagnostics.
    """
    cfg = AFTConfig(**{**asdict(config or AFTConfig()), **overrides}).validate()
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    key = jax.random.PRNGKey(cfg.seed)
    kern = _kernels(cfg.n_atoms, float(cfg.kT), float(cfg.confinement), float(cfg.sigma0),
                    cfg.energy_backend, tuple(float(w) for w in cfg.widths), cfg.flow_steps,
                    cfg.flow_basis, float(cfg.lr), float(cfg.logdet_penalty),
                    float(cfg.step_size), cfg.mutation)
    target, log_gamma = kern["target"], kern["log_gamma"]
    params_k = stage_parameters(cfg)
    sets = {name: _Set(project_com_free(rng.normal(scale=cfg.sigma0, size=(n, cfg.n_atoms, 3))))
            for name, n in (("train", cfg.n_train), ("val", cfg.n_val), ("test", cfg.n_test))}
    stages = []
    if cfg.path == "gaussian":  # N0 -> gamma_0 by importance weights, then move
        for pop in sets.values():
            xj = jnp.asarray(pop.x)
            pop.reweight(np.asarray(log_gamma(xj, *params_k[0]) - log_gamma(xj, 0.0, 1.0)))
            pop.maybe_resample(cfg.ess_threshold, rng)
            key, sub = jax.random.split(key)
            _mutate(pop, kern, params_k[0], cfg, sub)
        stages.append({"stage": 0, "flow": False, "width": params_k[0][0],
                       "lambda": params_k[0][1]})
    for k in range(1, len(params_k)):
        key, kt = jax.random.split(key)
        params, hist = _train_flow(kern, params_k[k], sets["train"], sets["val"], cfg, kt)
        n_neg = 0
        for pop in sets.values():
            xj = jnp.asarray(pop.x)
            y, logdet, sign = kern["forward"](params, xj)
            n_neg += int(jnp.sum(sign <= 0))
            inc = log_gamma(y, *params_k[k]) + logdet - log_gamma(xj, *params_k[k - 1])
            pop.x = np.asarray(y)
            pop.reweight(np.asarray(inc))
            pop.maybe_resample(cfg.ess_threshold, rng)
            key, sub = jax.random.split(key)
            _mutate(pop, kern, params_k[k], cfg, sub)
        stages.append({"stage": k, "flow": True, "width": params_k[k][0],
                       "lambda": params_k[k][1], "n_nonpositive_det": n_neg, **hist})
    test = sets["test"]
    for i, st in enumerate(stages):
        st.update(ess=test.ess[i], resampled=test.resampled[i], accept=test.accept[i])
    e_lj, _ = target.lj_energy_gradient(test.x, 0.0)
    return AFTResult(
        positions=test.x,
        lj_energies=np.asarray(e_lj),
        energies=np.asarray(target.energy(test.x, 0.0)),
        log_weights=test.lw,
        log_z=float(test.log_z),
        stages=stages,
        config={**asdict(cfg), "confinement": cfg.confinement, "r_core": target.r_core},
        wall_time=time.perf_counter() - t0,
    )
