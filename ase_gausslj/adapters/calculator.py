"""ASE calculator for the Gaussian-smoothed Lennard-Jones potential.

:class:`GaussianLJ` is a drop-in replacement for :class:`ase.calculators.lj.LennardJones`
with one extra parameter, the Gaussian ``width`` (Å). At ``width=0`` it reproduces
``LennardJones`` (same ``rc``, ``ro``, ``smooth`` semantics) for every configuration
without a pair closer than ``r_core * sigma``; for ``width > 0`` every property is that of
the smoothed energy ``E_s = sum_{i<j} V_s(r_ij)`` (Ram & Ram 2025, Eq. 1).

The pair sums run in :class:`ase_gausslj.energy.SmoothedLJ` (numba kernels over a
reduced 2-D ``(r, width)`` table), so annealing the width costs no table rebuild.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.data import atomic_numbers, chemical_symbols
from ase.stress import full_3x3_to_voigt_6_stress

from ..core.validation import check_finite, check_finite_nonneg, check_width

__all__ = ["GaussianLJ"]


def _per_atom(value, name: str, numbers: np.ndarray, positive: bool = True):
    """Resolve a float / per-element mapping / per-atom array to a float or (N,) array."""
    if isinstance(value, Mapping):
        table: dict[int, float] = {}
        for key, v in value.items():
            if isinstance(key, str):
                if key not in atomic_numbers:
                    raise ValueError(f"{name}: unknown chemical symbol {key!r}")
                z = atomic_numbers[key]
            else:
                z = int(key)
            table[z] = float(check_finite(v, f"{name}[{key!r}]"))
        missing = sorted(set(numbers.tolist()) - set(table))
        if missing:
            syms = [chemical_symbols[z] for z in missing]
            raise ValueError(f"{name} has no value for element(s) {syms}")
        arr = np.array([table[z] for z in numbers], dtype=np.float64)
    else:
        arr = check_finite(value, name)
        if arr.ndim == 0:
            arr = float(arr)
        elif arr.shape != (len(numbers),):
            raise ValueError(
                f"{name} must be a float, a per-element dict or a per-atom array of shape "
                f"({len(numbers)},), got shape {arr.shape}")
    if np.any(np.asarray(arr) < 0.0) or (positive and np.any(np.asarray(arr) == 0.0)):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}")
    if isinstance(arr, np.ndarray) and np.all(arr == arr[0]):
        return float(arr[0])
    return arr


class GaussianLJ(Calculator):
    """Gaussian-smoothed Lennard-Jones calculator (a smoothed ``LennardJones``).

    Parameters
    ----------
    epsilon : float, dict or array_like, optional
        Well depth in eV (default 1.0): one float, a per-element mapping (chemical symbol
        or atomic number -> value) or a per-atom array. Pairs are combined by
        Lorentz-Berthelot, ``eps_ij = sqrt(eps_i eps_j)``.
    sigma : float, dict or array_like, optional
        LJ length in Å (default 1.0), same forms; ``sig_ij = (sig_i + sig_j) / 2``.
    width : float, optional
        The Gaussian width ``s`` in Å (per-coordinate standard deviation of the
        smoothing), default 0 (plain regularized LJ). ``width / sig_ij`` must not exceed
        ``width_max``. Change it with ``calc.set(width=...)``, which invalidates results.
    rc : float or None, optional
        Cutoff in Å. ``None`` (default): **all pairs** on a non-periodic system (the
        paper's ``E_s``, no shift, no taper); on a system periodic along any axis,
        ``3 * max(sigma)`` as in ``LennardJones``.
    ro : float or None, optional
        Onset of the smooth cutoff (``smooth=True``), default ``0.66 * rc``.
    smooth : bool, optional
        ``False`` (default): pair energies are shifted to vanish at ``rc``, the forces
        jump there (``LennardJones`` ``smooth=False``). ``True``: pair energies are
        multiplied by ``LennardJones``'s cutoff function between ``ro`` and ``rc``.
        The shift / taper act on the *smoothed* pair energy ``V_s``.
    r_core : float, optional
        Core radius in units of ``sigma`` (default 0.8, the paper's) below which LJ is
        continued affinely; required for ``width > 0`` to be finite.
    width_max : float, optional
        Largest reduced width ``width / sigma`` the table covers (default 2.0).
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator`.

    Notes
    -----
    Properties: ``energy``, ``free_energy`` (= energy), ``energies`` (half of each pair
    energy to each atom), ``forces``, ``stress`` and ``stresses`` (Voigt, eV/Å^3; like
    ``LennardJones`` they are available whenever the cell has rank 3, even without pbc).
    Agreement with ``LennardJones`` at ``width=0`` holds when no pair is closer than
    ``r_core * sigma`` (inside, this potential is affine, LJ's is not).

    Examples
    --------
    >>> from ase.cluster import Icosahedron
    >>> atoms = Icosahedron('Ar', 2, latticeconstant=5.26)
    >>> atoms.calc = GaussianLJ(epsilon=0.0104, sigma=3.40, width=0.3)
    >>> e_smoothed = atoms.get_potential_energy()
    >>> atoms.calc.set(width=0.0)  # results are discarded, next call recomputes
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress",
                              "stresses"]
    default_parameters = {
        "epsilon": 1.0,
        "sigma": 1.0,
        "width": 0.0,
        "rc": None,
        "ro": None,
        "smooth": False,
        "r_core": 0.8,
        "width_max": 2.0,
    }
    nolabel = True
    discard_results_on_any_change = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._driver = None
        self._driver_key = None

    # -- convenience -------------------------------------------------------------------
    @property
    def width(self) -> float:
        """The current Gaussian width in Å (``calc.width = w`` is ``calc.set(width=w)``)."""
        return float(self.parameters.width)

    @width.setter
    def width(self, value: float) -> None:
        self.set(width=value)

    def set(self, **kwargs):
        """Set parameters; any change (the width included) discards cached results."""
        if "width" in kwargs:
            kwargs["width"] = check_width(kwargs["width"], "width")
        return super().set(**kwargs)

    # -- internals ---------------------------------------------------------------------
    def _get_driver(self, numbers: np.ndarray):
        from ..core.energy import SmoothedLJ  # deferred: keeps `import ase_gausslj` light

        p = self.parameters
        eps = _per_atom(p.epsilon, "epsilon", numbers, positive=False)
        sig = _per_atom(p.sigma, "sigma", numbers)
        key = (np.asarray(eps).tobytes(), np.asarray(sig).tobytes(), float(p.r_core),
               float(p.width_max))
        if self._driver is None or key != self._driver_key:
            self._driver = SmoothedLJ(eps, sig, r_core=float(p.r_core),
                                      width_max=float(p.width_max))
            self._driver_key = key
        return self._driver, sig

    def _cutoff(self, sig, periodic: bool):
        """Resolve (cutoff, cutoff_mode, taper_start) from rc / ro / smooth."""
        p = self.parameters
        rc = p.rc
        if rc is None:
            if not periodic:
                return None, "none", None
            rc = 3.0 * float(np.max(sig))
        rc = float(check_finite_nonneg(rc, "rc"))
        if rc <= 0.0:
            raise ValueError(f"rc must be > 0, got {rc!r}")
        if not p.smooth:
            return rc, "shift", None
        ro = 0.66 * rc if p.ro is None else float(check_finite_nonneg(p.ro, "ro"))
        if not ro < rc:
            raise ValueError(f"ro must be < rc, got ro={ro!r}, rc={rc!r}")
        return rc, "taper", ro

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        """Compute the requested properties (see :class:`GaussianLJ`)."""
        if properties is None:
            properties = self.implemented_properties
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        width = check_width(self.parameters.width, "width")
        driver, sig = self._get_driver(atoms.numbers)
        periodic = bool(np.any(atoms.pbc))
        cutoff, mode, taper_start = self._cutoff(sig, periodic)
        has_cell = atoms.cell.rank == 3
        want_virial = has_cell and ("stress" in properties or "stresses" in properties)
        want_per_atom = "energies" in properties or "stresses" in properties
        positions = np.ascontiguousarray(atoms.positions, dtype=np.float64)

        if cutoff is None and not want_virial and not want_per_atom:
            energy, forces = driver.energy_forces(positions, width)
            self.results["energy"] = float(energy)
            self.results["free_energy"] = float(energy)
            self.results["forces"] = np.asarray(forces)
            return

        res = driver.compute(
            positions, width, cutoff=cutoff,
            cell=atoms.cell.array if periodic else None,
            pbc=atoms.pbc if periodic else None,
            cutoff_mode=mode, taper_start=taper_start,
            virial=want_virial, per_atom=want_per_atom)
        self.results["energy"] = float(res.energy)
        self.results["free_energy"] = float(res.energy)
        self.results["forces"] = np.asarray(res.forces)
        if want_per_atom:
            self.results["energies"] = np.asarray(res.energies)
        if want_virial:
            volume = atoms.get_volume()
            self.results["stress"] = full_3x3_to_voigt_6_stress(res.virial) / volume
            if want_per_atom:
                self.results["stresses"] = (
                    full_3x3_to_voigt_6_stress(res.atom_virials) / volume)
