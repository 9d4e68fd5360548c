"""Langevin move kernels (ULA and tamed MALA) and the one step-size adaptation.

The moves target the annealed potential of :mod:`ase_gausslj.sampling.smc`,

.. math::

    U_{s,\\lambda}(X) = \\lambda \\frac{|X|^2}{2 \\sigma_p^2}
                       + (1 - \\lambda) \\frac{E_s(X)}{kT},

on the centre-of-mass-free subspace. :class:`Particles` holds the replicas with their energy
terms cached at one width; :class:`LangevinKernel` moves all replicas at once;
:class:`StepSizeAdapter` tunes the global step size towards a target acceptance. The SMC
driver and the reference sampler (:mod:`ase_gausslj.sampling.reference`) share them.

Per-replica care for the regularized core: a replica with overlapping atoms sits on a
gradient of hundreds of epsilon/sigma; with one global step its proposals overshoot and
are rejected forever (a prototype left ~5 % of LJ2 replicas stuck). Two remedies, both
exact for MALA: (i) taming, ``h_x = h / (1 + h max_i |grad_i U(x)| / max_drift)`` per
replica, with the reverse step ``h_y`` in the Metropolis ratio; (ii) a per-replica step
factor ``exp(jitter * N(0, 1))`` drawn independently of the state (a mixture of invariant
kernels is invariant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .fused import energy_terms, langevin_proposal
from .targets import LJClusterTarget, com_free_dim

__all__ = ["Particles", "LangevinKernel", "StepSizeAdapter", "tamed_step_sizes"]

_CACHED = ("e_lj", "e_tot", "g_tot", "e_prior")


class Particles:
    """Replicas ``x`` (R, N, 3) and their energy terms cached at one width.

    Parameters
    ----------
    target : LJClusterTarget
        Energies and gradients.
    x : ndarray, shape (R, N, 3)
        COM-free positions (not copied).
    prior_var : float
        Variance ``sigma_p^2`` of the Gaussian prior term of the annealed potential.

    Attributes
    ----------
    width : float or None
        Width at which ``e_lj`` (LJ energy), ``e_tot`` (LJ + harmonic), ``g_tot`` (its
        gradient) and ``e_prior`` (``|x|^2 / (2 sigma_p^2)``) were computed; None when
        they are stale.
    """

    def __init__(self, target: LJClusterTarget, x: np.ndarray, prior_var: float):
        self.target = target
        self.prior_var = prior_var
        self.x = x
        self.width: float | None = None
        self.n_evals = 0

    def evaluate(self, width: float) -> None:
        """Compute the cached energy terms at ``width``."""
        e_lj, g_lj = self.target.lj_energy_gradient(self.x, width)
        if _plain_harmonic(self.target) and self.x.flags.c_contiguous:
            g = np.array(g_lj, dtype=np.float64, order="C")  # the caller's array stays
            e_tot, self.e_prior = energy_terms(self.x, np.asarray(e_lj, dtype=np.float64), g,
                                               self.target.harmonic, float(self.prior_var))
            self.e_lj, self.e_tot, self.g_tot = e_lj, e_tot, g
        else:
            e_h, g_h = self.target.harmonic_energy_gradient(self.x)
            self.e_lj, self.e_tot, self.g_tot = e_lj, e_lj + e_h, g_lj + g_h
            self.e_prior = 0.5 * np.einsum("rij,rij->r", self.x, self.x) / self.prior_var
        self.width = width
        self.n_evals += 1

    def ensure(self, width: float) -> None:
        """Evaluate at ``width`` unless the cache already holds that width."""
        if self.width is None or self.width != width:
            self.evaluate(width)

    def potential(self, lam: float) -> np.ndarray:
        """``U_{s,lambda}`` per replica at the cached width."""
        return lam * self.e_prior + (1.0 - lam) * self.e_tot / self.target.kT

    def grad(self, lam: float) -> np.ndarray:
        """Gradient of :meth:`potential`."""
        return lam * self.x / self.prior_var + (1.0 - lam) * self.g_tot / self.target.kT

    def take(self, idx: np.ndarray) -> None:
        """Keep replicas ``idx`` (resampling), with their cached terms."""
        self.x = self.x[idx]
        if self.width is not None:
            for k in _CACHED:
                setattr(self, k, getattr(self, k)[idx])

    def copy_from(self, other: Particles, mask: np.ndarray) -> None:
        """Replace the replicas selected by ``mask`` by those of ``other`` (same width)."""
        for k in ("x", *_CACHED):
            getattr(self, k)[mask] = getattr(other, k)[mask]


def _plain_harmonic(target) -> bool:
    """The target's harmonic term is :class:`LJClusterTarget`'s own (so the compiled
    :func:`.fused.energy_terms` may compute it)."""
    return (isinstance(target, LJClusterTarget) and type(target).harmonic_energy_gradient
            is LJClusterTarget.harmonic_energy_gradient)


def tamed_step_sizes(h: np.ndarray, grad: np.ndarray, max_drift: float | None) -> np.ndarray:
    """Per-replica step ``h / (1 + h max_i |grad_i U| / max_drift)``.

    No atom drifts farther than ``max_drift`` in one step; ``max_drift`` None (or 0) turns
    taming off and returns ``h``.
    """
    if not max_drift:
        return h
    gn = np.sqrt(np.einsum("rij,rij->ri", grad, grad).max(axis=1))
    return h / (1.0 + h * gn / max_drift)


@dataclass(frozen=True)
class LangevinKernel:
    """Langevin proposal ``y = x - h_x grad U(x) + sqrt(2 h_x) xi`` on the COM-free subspace.

    Parameters
    ----------
    mala : bool
        Metropolis-adjust (exact for the current target) or not (ULA).
    jitter : float
        Std of the state-independent per-replica log step factor (0: none).
    max_drift : float or None
        Taming bound (sigma) of :func:`tamed_step_sizes`; None: no taming.
    """

    mala: bool = False
    jitter: float = 0.0
    max_drift: float | None = None

    def move(
        self,
        particles: Particles,
        width: float,
        lam: float,
        h: float,
        rng: np.random.Generator,
        *,
        need_accept: bool = True,
        need_energy: bool = True,
    ) -> float:
        """Move every replica once; return the mean (would-be) acceptance probability.

        ``h_x = tamed(h s, grad U(x))`` with ``s`` the per-replica jitter factor; the
        Metropolis ratio uses the exact reverse density with ``h_y``, so MALA stays exact
        with taming. For ULA, ``need_accept=False`` skips the acceptance (NaN is returned)
        and ``need_energy=False`` also skips the energies at the new positions (the cache
        is then marked stale). Random draws, in order: the jitter (if any), the noise, the
        accept uniforms (MALA).
        """
        particles.ensure(width)
        r, n = particles.x.shape[:2]
        hs = h * np.exp(self.jitter * rng.standard_normal(r)) if self.jitter > 0 else np.full(r, h)
        xi = rng.standard_normal(particles.x.shape)
        y, hx, finite = langevin_proposal(  # xi projected in place
            np.ascontiguousarray(particles.x, dtype=np.float64),
            np.ascontiguousarray(particles.g_tot, dtype=np.float64), xi,
            np.ascontiguousarray(hs, dtype=np.float64), float(lam), float(particles.prior_var),
            float(particles.target.kT), float(self.max_drift or 0.0))
        if not finite:  # fail here, not as "NaN positions" in the energy call
            raise FloatingPointError(
                f"the Langevin proposal has non-finite positions (step size {h:g} unstable)"
            )
        if not (self.mala or need_accept or need_energy):
            particles.x = y
            particles.width = None  # energies are stale
            return float("nan")
        prop = Particles(particles.target, y, particles.prior_var)
        prop.evaluate(width)
        particles.n_evals += 1
        if not (self.mala or need_accept):
            particles.x, particles.width = y, width
            for k in _CACHED:
                setattr(particles, k, getattr(prop, k))
            return float("nan")
        log_alpha = self._log_alpha(particles, prop, lam, hs, hx, xi, com_free_dim(n))
        acc_prob = np.exp(np.minimum(log_alpha, 0.0))
        accept = np.log(rng.random(r)) < log_alpha if self.mala else np.ones(r, dtype=bool)
        particles.copy_from(prop, accept)
        return float(acc_prob.mean())

    def _log_alpha(self, cur: Particles, prop: Particles, lam: float, hs, hx, xi, dim: int):
        """Log Metropolis-Hastings ratio; NaN (an unevaluable energy) becomes -inf."""
        u_x, u_y = cur.potential(lam), prop.potential(lam)
        g_y = prop.grad(lam)
        hy = tamed_step_sizes(hs, g_y, self.max_drift)
        back = cur.x - prop.x + hy[:, None, None] * g_y
        log_q_back = -np.einsum("rij,rij->r", back, back) / (4.0 * hy) - 0.5 * dim * np.log(hy)
        log_q_fwd = -0.5 * np.einsum("rij,rij->r", xi, xi) - 0.5 * dim * np.log(hx)
        with np.errstate(invalid="ignore"):
            log_alpha = -(u_y - u_x) + log_q_back - log_q_fwd
        return np.where(np.isnan(log_alpha), -np.inf, log_alpha)


@dataclass
class StepSizeAdapter:
    """Robbins-Monro adaptation of ``log h`` towards a target acceptance.

    The ``k``-th update (``k = 0, 1, ...``) multiplies ``h`` by
    ``exp(gain_k (acc - target_accept))`` with ``gain_k = max(rate, 2 / sqrt(k + 1))``:
    fast early tuning, then a gain that settles at ``rate``. ``h`` stays in
    ``[h_min, h_max]``. Updates with a non-finite acceptance are ignored.

    Parameters
    ----------
    step_size : float
        Initial ``h``.
    target_accept : float
        Acceptance probability aimed at, in (0, 1).
    rate : float
        Final gain.
    """

    step_size: float
    target_accept: float = 0.6
    rate: float = 0.05
    h_min: float = 1e-8
    h_max: float = 1.0
    n_updates: int = 0

    def update(self, acceptance: float) -> float:
        """Apply one update; return the new step size."""
        if math.isfinite(acceptance):
            gain = max(self.rate, 2.0 * (self.n_updates + 1.0) ** -0.5)
            self.n_updates += 1
            h = self.step_size * math.exp(gain * (acceptance - self.target_accept))
            self.step_size = float(np.clip(h, self.h_min, self.h_max))
        return self.step_size
