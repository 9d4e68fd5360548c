"""Sampling targets: Lennard-Jones clusters with a harmonic confinement (reduced units).

The energy of a cluster of ``N`` atoms at positions ``X`` (lengths in sigma, energies in
epsilon) is

.. math::

    E(X) = \\sum_{i<j} V(r_{ij}) + \\frac{c}{2} \\sum_i |x_i - \\bar x|^2 ,

with ``V`` the regularized LJ pair potential (affine below ``r_core``) and ``c`` the
harmonic confinement (``c = 0`` allowed). The smoothed energy ``E_s`` replaces ``V`` by
the Gaussian-smoothed ``V_s`` of width ``s`` (the harmonic term is not smoothed). The
target density is ``exp(-E / kT)``.

``E`` is invariant under translations, so ``exp(-E/kT)`` is not normalizable in the
centre-of-mass (COM) direction. The samplers of :mod:`ase_gausslj.sampling.smc` therefore work on
the COM-free subspace ``{X : sum_i x_i = 0}`` of dimension ``d = 3 (N - 1)`` with its
induced Lebesgue measure (orthonormal coordinates); :meth:`LJClusterTarget.project` maps
a configuration onto it. Every log normalizing constant in this package refers to that
measure: e.g. the harmonic term alone has ``log Z = (d / 2) log(2 pi kT / c)``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import numpy as np

from ..core.defaults import R_CORE, WIDTH_LIMIT, WIDTH_MAX
from ..core.validation import check_finite_nonneg, check_positions, check_width

__all__ = ["LJClusterTarget", "com_free_dim", "project_com_free"]

SERIAL_PAIRS = 300_000
"""Batches with fewer pair terms than this call the backend with one numba thread: the
parallel launch costs more than it saves on small batches (and on loaded machines a
descheduled worker thread can stall a call by a scheduler time slice, ~10 ms)."""


@contextmanager
def _numba_threads(n: int):
    try:
        import numba
    except ImportError:  # pragma: no cover
        yield
        return
    old = numba.get_num_threads()
    n = min(n, numba.config.NUMBA_NUM_THREADS)
    if n == old:
        yield
        return
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _max_threads() -> int:
    import numba  # noqa: PLC0415

    return numba.get_num_threads()


def com_free_dim(n_atoms: int) -> int:
    """Dimension ``3 (N - 1)`` of the COM-free configuration space of ``N`` atoms."""
    return 3 * (int(n_atoms) - 1)


def project_com_free(x: np.ndarray) -> np.ndarray:
    """Subtract the (unweighted) centre of mass over the atom axis (axis ``-2``)."""
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=-2, keepdims=True)


class LJClusterTarget:
    """LJ cluster with harmonic confinement: batched energies and gradients.

    Parameters
    ----------
    n_atoms : int
        Number of atoms ``N`` (>= 2).
    harmonic : float, optional
        Confinement constant ``c >= 0`` (epsilon / sigma^2). Default 1.0.
    kT : float, optional
        Temperature in units of epsilon (> 0). Default 1.0.
    r_core : float, optional
        Core radius of the regularized LJ (sigma). Default ``R_CORE`` (0.8, the paper's).
    width_max : float, optional
        Largest smoothing width the pair backend must support. Default ``WIDTH_MAX``.
    lj : bool, optional
        If False the LJ term is dropped (pure harmonic target with known normalizing
        constant; used for analytic checks). Default True.
    backend : object, optional
        Anything with ``batch_energy_forces(positions (R, N, 3), width) -> (E (R,),
        F (R, N, 3))`` for the LJ part. Default:
        :class:`ase_gausslj.core.energy.SmoothedLJ` with ``r_core`` and ``width_max``.

    Notes
    -----
    All ``energy*`` methods take positions of shape ``(R, N, 3)`` (``R`` replicas) or
    ``(N, 3)`` and return per-replica arrays; gradients have the shape of the positions.
    """

    def __init__(
        self,
        n_atoms: int,
        *,
        harmonic: float = 1.0,
        kT: float = 1.0,
        r_core: float = R_CORE,
        width_max: float = WIDTH_MAX,
        lj: bool = True,
        backend: Any | None = None,
    ) -> None:
        if isinstance(n_atoms, bool) or not isinstance(n_atoms, (int, np.integer)):
            raise ValueError(f"n_atoms must be an integer, got {n_atoms!r}")
        if n_atoms < 2:
            raise ValueError(f"n_atoms must be >= 2, got {n_atoms}")
        self.n_atoms = int(n_atoms)
        self.harmonic = float(check_finite_nonneg(harmonic, "harmonic"))
        kT = float(check_finite_nonneg(kT, "kT"))
        if kT <= 0:
            raise ValueError(f"kT must be > 0, got {kT}")
        self.kT = kT
        self.r_core = float(check_finite_nonneg(r_core, "r_core"))
        self.width_max = check_width(width_max, "width_max", maximum=WIDTH_LIMIT,
                                     limit_name="core.defaults.WIDTH_LIMIT")
        self.lj = bool(lj)
        self._backend = backend

    # ------------------------------------------------------------------ helpers
    @property
    def dim(self) -> int:
        """Dimension of the COM-free configuration space, ``3 (N - 1)``."""
        return com_free_dim(self.n_atoms)

    @property
    def backend(self):
        """The LJ pair backend (created on first use)."""
        if self._backend is None:
            from ..core.energy import SmoothedLJ  # noqa: PLC0415  (lazy: heavy import)

            self._backend = SmoothedLJ(r_core=self.r_core, width_max=self.width_max)
        return self._backend

    def _one_species_lj(self) -> bool:
        """Whether the backend is a one-species SmoothedLJ (the batched kernel's case)."""
        from ..core.batch import supports  # noqa: PLC0415  (lazy: numba)
        from ..core.energy import SmoothedLJ  # noqa: PLC0415

        return isinstance(self.backend, SmoothedLJ) and supports(self.backend)

    def project(self, x) -> np.ndarray:
        """Return ``x`` with its centre of mass removed (see :func:`project_com_free`)."""
        return project_com_free(x)

    def _batched(self, x) -> tuple[np.ndarray, bool]:
        x = np.asarray(x, dtype=np.float64)
        single = x.ndim == 2
        x = check_positions(x[None] if single else x, "positions", batched=True)
        if x.shape[1] != self.n_atoms:
            raise ValueError(
                f"positions must have {self.n_atoms} atoms, got shape {x.shape}"
            )
        return x, single

    # ------------------------------------------------------------------ energies
    def lj_energy_gradient(self, x, width: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed LJ energy and its gradient (``= -forces``) per replica.

        Parameters
        ----------
        x : array_like, shape (R, N, 3) or (N, 3)
            Positions.
        width : float
            Smoothing width ``s >= 0`` (0 = the regularized LJ itself).

        Returns
        -------
        energy : ndarray, shape (R,) (or float for unbatched input)
        gradient : ndarray, same shape as ``x``
        """
        width = check_width(width, "width", maximum=self.width_max,
                            limit_name="the target's width_max")
        xb, single = self._batched(x)
        if not self.lj:
            e, g = np.zeros(xb.shape[0]), np.zeros_like(xb)
        else:
            r, n = xb.shape[:2]
            serial = r * n * (n - 1) // 2 < SERIAL_PAIRS
            if self._one_species_lj():
                # one species: the fused width-0 loop of core.batch (~2x the general one)
                from ..core.batch import batch_energy_forces_unchecked  # noqa: PLC0415

                e, f = batch_energy_forces_unchecked(self.backend, xb, width,
                                                     threads=1 if serial else _max_threads())
            else:
                from ..core.energy import SmoothedLJ  # noqa: PLC0415

                # a SmoothedLJ skips its own width check (done above); any other backend
                # gets the public call
                batch = (self.backend._batch_unchecked if isinstance(self.backend, SmoothedLJ)
                         else self.backend.batch_energy_forces)
                if serial:
                    with _numba_threads(1):
                        e, f = batch(xb, width)
                else:
                    e, f = batch(xb, width)
            e, g = np.asarray(e, dtype=np.float64), -np.asarray(f, dtype=np.float64)
        return (float(e[0]), g[0]) if single else (e, g)

    def harmonic_energy_gradient(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Harmonic confinement ``(c/2) sum_i |x_i - xbar|^2`` and its gradient."""
        xb, single = self._batched(x)
        d = xb - xb.mean(axis=1, keepdims=True)
        e = 0.5 * self.harmonic * np.einsum("rij,rij->r", d, d)
        g = self.harmonic * d  # the xbar-dependence drops out: sum_i d_i = 0
        return (float(e[0]), g[0]) if single else (e, g)

    def energy_gradient(self, x, width: float = 0.0):
        """Total energy ``E_s`` (smoothed LJ + harmonic), its gradient and the LJ part.

        Returns
        -------
        energy, gradient, lj_energy
            Per-replica total energies (R,), gradients (R, N, 3), LJ energies (R,)
            (at the given width).
        """
        e_lj, g_lj = self.lj_energy_gradient(x, width)
        e_h, g_h = self.harmonic_energy_gradient(x)
        return e_lj + e_h, g_lj + g_h, e_lj

    def energy(self, x, width: float = 0.0):
        """Total energy ``E_s`` per replica."""
        return self.energy_gradient(x, width)[0]

    def log_density(self, x, width: float = 0.0):
        """Unnormalized log density ``-E_s / kT`` per replica."""
        return -self.energy(x, width) / self.kT

    def harmonic_log_z(self) -> float:
        """``log Z`` of the harmonic term alone on the COM-free subspace (needs c > 0)."""
        if self.harmonic <= 0:
            raise ValueError("harmonic must be > 0 for a normalizable harmonic target")
        return 0.5 * self.dim * np.log(2.0 * np.pi * self.kT / self.harmonic)

    def to_dict(self) -> dict:
        """Parameters as a JSON-serializable dict."""
        return {
            "n_atoms": self.n_atoms,
            "harmonic": self.harmonic,
            "kT": self.kT,
            "r_core": self.r_core,
            "width_max": self.width_max,
            "lj": self.lj,
        }

    def __repr__(self) -> str:
        return (
            f"LJClusterTarget(n_atoms={self.n_atoms}, harmonic={self.harmonic}, "
            f"kT={self.kT}, r_core={self.r_core}, lj={self.lj})"
        )
