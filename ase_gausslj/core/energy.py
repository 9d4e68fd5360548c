"""System-level driver: ``E_s(X) = sum_{i<j} eps_ij V_s(r_ij)`` over plain arrays.

The driver is unit-agnostic: positions, ``sigma``, the width and cutoffs share one length
unit, energies come out in the unit of ``epsilon`` (reduced units with the defaults, eV/Å
from the ASE calculator). Mixtures use Lorentz-Berthelot rules and the one reduced table:
``V_ij(r) = eps_ij F(r / sig_ij, s / sig_ij)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from . import kernels
from .closed_forms import kink_coefficients, lj_affine_coefficients
from .defaults import R_CORE, WIDTH_LIMIT, WIDTH_MAX
from .neighbors import check_compute_options
from .pair_terms import N_RSEG, Cutoff, SliceArgs, outputs
from .validation import (
    check_finite,
    check_finite_nonneg,
    check_positions,
    check_r_core,
    check_width,
)

if TYPE_CHECKING:
    from .verlet import CSRList, VerletList

# the table, the Verlet list and its kernels are imported where first used: a width-0,
# all-pairs run (the main job) needs none of them (~0.1 s of imports and decorations)

__all__ = ["PairResult", "SmoothedLJ"]

_check_width_max = check_width  # the constructor's check of width_max (not a per-call one)

_EXACT_BELOW = 1e-8
_NO_CELL = np.zeros((3, 3))


@dataclass
class PairResult:
    """Result of :meth:`SmoothedLJ.compute`.

    ``virial`` is ``sum_pairs V'(r)/r d⊗d`` with ``d = x_j - x_i`` (ASE's stress is
    ``virial / volume``); ``atom_virials`` splits it half and half between the two atoms.
    """

    energy: float
    forces: np.ndarray
    energies: np.ndarray | None = None
    virial: np.ndarray | None = None
    atom_virials: np.ndarray | None = None


class SmoothedLJ:
    """Gaussian-smoothed LJ pair sum with numba kernels.

    Parameters
    ----------
    epsilon, sigma : float or array_like (N,)
        Well depth and length; per-atom arrays are combined by Lorentz-Berthelot
        (``eps_ij = sqrt(eps_i eps_j)``, ``sig_ij = (sig_i + sig_j) / 2``).
    r_core : float
        Regularization radius in units of ``sig_ij`` (paper: ``R_CORE`` = 0.8).
    width_max : float
        Largest reduced width ``width / sig_ij`` the table must cover.

    Notes
    -----
    Table slices (one per pair type and width) are cached, so annealing the width costs
    ~0.2-0.5 ms per new width (measured 0.44 ms), never a table rebuild. ``width == 0``
    uses the analytic regularized LJ (exact, no table), and so do reduced widths below
    1e-8, where it is closer to ``V_s`` than the table's interpolation (so a tiny width
    gives width 0's result to ~1e-9, not the table's ~1e-7), except for a pair inside the
    core closer than ~1e3 widths, where smoothing the affine core's kink would move the
    energy by up to ``|b| 4 s / sqrt(pi)`` (~1.7e3 s eps) and the force by up to ``|b|``.

    The table is loaded (or built, ~9 CPU-s without its disk cache) on the first use of
    a width > 0 (:attr:`table`): a width-0 run never needs it.
    """

    def __init__(
        self, epsilon=1.0, sigma=1.0, *, r_core: float = R_CORE, width_max: float = WIDTH_MAX
    ):
        eps = check_finite(epsilon, "epsilon")
        sig = check_finite(sigma, "sigma")
        if np.any(eps < 0):
            raise ValueError("epsilon must be >= 0")
        if np.any(sig <= 0):
            raise ValueError("sigma must be > 0")
        self.per_atom = eps.ndim > 0 or sig.ndim > 0
        if self.per_atom:
            eps, sig = np.broadcast_arrays(np.atleast_1d(eps), np.atleast_1d(sig))
            if eps.ndim != 1:
                raise ValueError("epsilon and sigma must be scalars or 1-D per-atom arrays")
            pairs = np.stack([eps, sig], axis=1)
            uniq, types = np.unique(pairs, axis=0, return_inverse=True)
            self.types = types.astype(np.int64).ravel()
            self.species_eps = uniq[:, 0].copy()
            self.species_sig = uniq[:, 1].copy()
        else:
            self.types = None
            self.species_eps = np.array([float(eps)])
            self.species_sig = np.array([float(sig)])
        self.nspec = len(self.species_eps)
        ei, ej = np.meshgrid(self.species_eps, self.species_eps, indexing="ij")
        si, sj = np.meshgrid(self.species_sig, self.species_sig, indexing="ij")
        self.eps_ij = np.sqrt(ei * ej).ravel()
        self.sig_ij = (0.5 * (si + sj)).ravel()
        # the table's own checks, here: a bad value fails at construction, not at the
        # first width > 0 (once per driver; the per-call width checks are check_width's)
        self.r_core = check_r_core(r_core)
        width_max = _check_width_max(width_max, "width_max", maximum=WIDTH_LIMIT,
                                     limit_name="core.defaults.WIDTH_LIMIT")
        if width_max <= 0:
            raise ValueError(f"width_max must be > 0, got {width_max}")
        self.width_max = width_max
        a, b = lj_affine_coefficients(self.r_core)
        # the table's ``core`` (same values), for width 0 without the table
        self._core = np.array([a, b, self.r_core, *kink_coefficients(self.r_core)])
        self._table = None
        self._verlet: VerletList | None = None
        self._init_caches()

    def _init_caches(self) -> None:
        # the paper's homotopy visits 73 widths: keep them all
        self._slices = lru_cache(maxsize=256)(self._make_slices)

    def __getstate__(self) -> dict:
        # an lru_cache of a bound method does not pickle (process pools, Dask, ASE's
        # Atoms with a calculator): drop the caches, the copy rebuilds them on demand
        state = self.__dict__.copy()
        del state["_slices"]
        state["_verlet"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_caches()

    @property
    def table(self):
        """The reduced table (:func:`~.table.get_table`), loaded on first use."""
        if self._table is None:
            from .table import get_table

            self._table = get_table(r_core=self.r_core, width_max=self.width_max)
        return self._table

    # -- parameters per width ---------------------------------------------------------
    def _types_for(self, n: int) -> np.ndarray:
        if self.types is None:
            return np.zeros(n, dtype=np.int64)
        if len(self.types) != n:
            raise ValueError(
                f"positions has {n} atoms but epsilon/sigma were given for {len(self.types)}"
            )
        return self.types

    def _make_slices(self, width: float, cutoff: float | None) -> SliceArgs:
        """Stacked per-type kernel arguments at this width (cached)."""
        nt = self.eps_ij.size
        red = width / self.sig_ij
        # below _EXACT_BELOW (reduced) the analytic width-0 form is closer to V_s than the
        # table's interpolation (its error, ~15 s relative at the kink, is under the
        # table's ~1e-7 there), so tiny widths reproduce width 0 exactly
        exact = width == 0.0 or bool(np.all(red < _EXACT_BELOW))
        prm = np.zeros((nt, 3))
        prm[:, 0] = self.eps_ij
        prm[:, 1] = 1.0 / self.sig_ij
        if exact:
            # no table: the kernels' exact paths read prm and core alone; the segment
            # fields are placeholders of the table's dtypes (one numba type for all widths)
            seg = _exact_layout(self._core)
            coef = np.zeros((nt, 1, 4))
            ta = np.zeros((nt, 1))
            tb = np.zeros((nt, 1))
            ssc = np.zeros((nt, 3))
        else:
            table = self.table
            if np.any(red > table.width_max):
                # the table names its limit; the message says which width and pair type
                t = int(np.argmax(red))
                try:
                    table.check_width(float(red[t]), "width")
                except ValueError as exc:
                    raise ValueError(
                        f"width {width} is {red[t]:.4g} sigma_ij for pair type {t}: {exc}; "
                        "pass a larger width_max"
                    ) from None
            red = np.minimum(red, table.width_max)  # within rounding of it (checked above)
            # one slice per distinct reduced width: (a, b) and (b, a), and pairs of equal
            # sigma_ij, share it (8 OpenMM classes: 64 pair types, 36 slices)
            uniq, which = np.unique(red, return_inverse=True)
            slices = [table.slice_unchecked(float(w)) for w in uniq]
            which = which.ravel()
            seg = slices[0]
            coef = np.empty((nt, *seg.coef.shape))
            for t in range(nt):  # one copy (a stack then a gather would be two)
                coef[t] = slices[which[t]].coef
            ta = np.stack([s.tail_a for s in slices])[which]
            tb = np.stack([s.tail_b for s in slices])[which]
            ssc = np.stack([s.scalars for s in slices])[which]
        args = SliceArgs(
            exact=bool(exact), prm=prm, coef=coef, seg_lo=seg.seg_lo, seg_inv_h=seg.seg_inv_h,
            seg_off=seg.seg_off, seg_n=seg.seg_n, core=seg.core, scalars=ssc, tail_a=ta,
            tail_b=tb,
        )
        if cutoff is not None:
            # energy shift of each type at the cutoff (ASE smooth=False semantics)
            for t in range(nt):
                e, _ = kernels.pair_values(np.array([float(cutoff)]), t, args)
                prm[t, 2] = e[0]
        return args

    def kernel_args(self, width: float, cutoff: float | None = None) -> SliceArgs:
        """Validated, cached :class:`~ase_gausslj.core.pair_terms.SliceArgs` for ``width``
        (the kernels' argument; advanced use)."""
        return self._slices(check_width(width), None if cutoff is None else float(cutoff))

    def _kernel_args_unchecked(self, width: float) -> SliceArgs:
        """:meth:`kernel_args` (no cutoff) for a float ``width`` its caller validated."""
        return self._slices(width, None)

    def pair(self, r, width: float, t: int = 0):
        """Pair energy and dV/dr of pair type ``t`` at distances ``r`` (no cutoff)."""
        r = np.ascontiguousarray(check_finite_nonneg(r, "r"), dtype=np.float64).ravel()
        return kernels.pair_values(r, int(t), self.kernel_args(width))

    # -- sums -------------------------------------------------------------------------
    def energy_forces(self, positions, width: float):
        """Energy and forces, all pairs (the paper's setting); the lean hot path."""
        return self._energy_forces_unchecked(positions, check_width(width))

    def _energy_forces_unchecked(self, positions, width: float):
        """:meth:`energy_forces` for a ``width`` its caller validated (``check_width``
        once at the public boundary, e.g. the ASE calculator)."""
        pos = check_positions(positions)
        types = self._types_for(len(pos))
        forces = np.empty(pos.shape)
        args = self._slices(width, None)
        if args.exact:  # the width-0 loop alone: a width-0 run compiles no table path
            e = kernels.allpairs_exact(pos, types, self.nspec, args.prm, args.core, forces)
        else:
            e = kernels.allpairs_forces(pos, types, self.nspec, args, forces)
        _check_result(e, forces, pos)
        return float(e), forces

    def energy_gradient(self, x, width: float):
        """``(E, dE/dx)`` for flat coordinates ``x`` (3N,), all pairs (for scipy)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1 or x.size % 3:
            raise ValueError(f"x must be a flat array of length 3N, got shape {x.shape}")
        e, f = self.energy_forces(x.reshape(-1, 3), width)
        return e, -f.ravel()

    def compute(
        self,
        positions,
        width: float,
        *,
        cutoff: float | None = None,
        cell=None,
        pbc=None,
        cutoff_mode: str = "none",
        taper_start: float | None = None,
        virial: bool = False,
        per_atom: bool = False,
        skin: float | None = None,
    ) -> PairResult:
        """Energy, forces and optionally per-atom energies and virials.

        Parameters
        ----------
        positions : array_like (N, 3)
        width : float
            Gaussian width ``s >= 0`` (same length unit as positions).
        cutoff : float, optional
            Pair cutoff. ``None`` with no periodic direction means all pairs.
        cell : array_like (3, 3), optional
            Lattice vectors as rows (orthorhombic or triclinic).
        pbc : bool or array_like of 3 bools, optional
        cutoff_mode : {'none', 'shift', 'taper', 'switch'}
            'shift' subtracts ``V_s(cutoff)`` from every pair inside the cutoff; 'taper'
            multiplies by ASE's smooth cutoff function between ``taper_start`` and
            ``cutoff``; 'switch' by OpenMM's switching function (``1 - 10 x^3 + 15 x^4 -
            6 x^5``, ``x = (r - taper_start) / (cutoff - taper_start)``).
        virial, per_atom : bool
            Also return the virial / per-atom energies (and per-atom virials if both).
        skin : float, optional
            Verlet-list skin (default 0.3 * max sigma); the list is rebuilt when an atom
            moved more than skin/2 or the cell changed.
        """
        return self._compute_unchecked(
            positions, check_width(width), cutoff=cutoff, cell=cell, pbc=pbc,
            cutoff_mode=cutoff_mode, taper_start=taper_start, virial=virial,
            per_atom=per_atom, skin=skin)

    def _compute_unchecked(self, positions, width: float, *, cutoff=None, cell=None,
                           pbc=None, cutoff_mode="none", taper_start=None, virial=False,
                           per_atom=False, skin=None) -> PairResult:
        """:meth:`compute` for a ``width`` its caller validated (positions and options
        are still checked here: they arrive as given)."""
        pos = check_positions(positions)
        n = len(pos)
        types = self._types_for(n)
        cutoff, cell, periodic, mode, ro2, skin = check_compute_options(
            cutoff, cell, pbc, cutoff_mode, taper_start, skin
        )
        args = self._slices(width, cutoff if mode == 1 else None)
        out = outputs(np.empty((n, 3)), np.zeros(n) if per_atom else None,
                      np.zeros((3, 3)) if virial else None,
                      np.zeros((n, 3, 3)) if (per_atom and virial) else None)
        if cutoff is None:
            e = kernels.allpairs(pos, types, self.nspec, args, out)
        else:
            nl = self.neighbor_list(pos, cutoff, cell, periodic, skin, types)
            from .csr_kernels import csr_pairs

            e = csr_pairs(pos, nl.ghost_src, nl.ghost_shift, nl.start, nl.nbr, nl.ext_types,
                          self.nspec, Cutoff(cutoff * cutoff, mode, ro2), args, out)
        _check_result(e, out.forces, pos)
        return PairResult(
            energy=float(e),
            forces=out.forces,
            energies=out.energies if per_atom else None,
            virial=out.virial if virial else None,
            atom_virials=out.atom_vir if (per_atom and virial) else None,
        )

    def neighbor_list(self, pos, cutoff, cell, periodic, skin=None, types=None) -> CSRList:
        """The Verlet list kept across calls (rebuilt only when :class:`VerletList` says
        so), as an immutable :class:`CSRList`."""
        if skin is None:
            skin = 0.3 * float(self.species_sig.max())
        # one attribute read once: a thread sharing this driver sees one consistent list
        verlet = self._verlet
        if verlet is None or verlet.skin != skin:
            from .verlet import VerletList

            verlet = self._verlet = VerletList(skin)
        cell_arr = _NO_CELL if cell is None else cell
        if types is None:
            types = self._types_for(len(pos))
        return verlet.update(pos, cutoff, cell_arr, periodic, types)

    def batch_energy_forces(self, positions, width: float):
        """All-pairs energies (R,) and forces (R, N, 3) for replicas (R, N, 3)."""
        return self._batch_unchecked(positions, check_width(width))

    def _batch_unchecked(self, positions, width: float):
        """:meth:`batch_energy_forces` for a ``width`` its caller validated."""
        pos = check_positions(positions, batched=True)
        r, n, _ = pos.shape
        types = self._types_for(n)
        args = self._slices(width, None)
        energies = np.empty(r)
        forces = np.empty((r, n, 3))
        kernels.allpairs_batch(pos, types, self.nspec, args, energies, forces)
        _check_result(float(np.add.reduce(energies)), forces, pos)
        return energies, forces


class _ExactLayout(NamedTuple):
    seg_lo: np.ndarray
    seg_inv_h: np.ndarray
    seg_off: np.ndarray
    seg_n: np.ndarray
    core: np.ndarray


def _exact_layout(core: np.ndarray) -> _ExactLayout:
    """Segment placeholders of a width-0 :class:`SliceArgs` (zeros: every bound test
    sends a pair to the rare path, should a table path ever read them) and ``core``."""
    nseg = N_RSEG + 1  # the r segments and the r^2 rows; N_RSEG + 3 bounds (_r2_bounds)
    return _ExactLayout(np.zeros(nseg + 2), np.zeros(nseg), np.zeros(nseg, dtype=np.int64),
                        np.zeros(nseg, dtype=np.int64), core)


#: Coordinates beyond this overflow the squared pair distances (d^2 ~ 12 |x|^2).
_MAX_COORDINATE = 1e150


def _check_result(e: float, forces: np.ndarray, pos: np.ndarray) -> None:
    """Never a NaN: energy and forces finite, or an error saying why (one reduction)."""
    if math.isfinite(e) and math.isfinite(float(np.add.reduce(forces, axis=None))):
        return
    big = float(np.abs(pos).max()) if pos.size else 0.0
    if big > _MAX_COORDINATE:
        raise ValueError(f"positions: coordinates up to {big:.3g} overflow the pair "
                         f"distances; keep them below {_MAX_COORDINATE:.0e}")
    raise FloatingPointError("non-finite energy or forces (overlapping atoms at width 0?)")
