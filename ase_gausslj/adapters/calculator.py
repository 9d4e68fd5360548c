"""ASE calculator for the Gaussian-smoothed Lennard-Jones potential.

:class:`GaussianLJ` is a drop-in replacement for :class:`ase.calculators.lj.LennardJones`
with one extra parameter, the Gaussian ``width`` (Å). At ``width=0`` it reproduces
``LennardJones`` (same ``rc``, ``ro``, ``smooth`` semantics) for every configuration
without a pair closer than ``r_core * sigma``; for ``width > 0`` every property is that of
the smoothed energy ``E_s = sum_{i<j} V_s(r_ij)`` (Ram & Ram 2025, Eq. 1).

The pair sums run in :class:`ase_gausslj.core.energy.SmoothedLJ` (numba kernels over a
reduced 2-D ``(r, width)`` table), so annealing the width costs no table rebuild.

Checks happen at two boundaries: :meth:`GaussianLJ.set` (every parameter, by name and
value, also for the constructor) and :meth:`GaussianLJ.calculate` (the atoms, and what
depends on them: per-element values, the width relative to ``sigma``).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping

import numpy as np
from ase.calculators.calculator import (
    Calculator,
    Parameters,
    PropertyNotImplementedError,
    all_changes,
)
from ase.data import atomic_numbers, chemical_symbols
from ase.stress import full_3x3_to_voigt_6_stress

from ..core.defaults import R_CORE, WIDTH_LIMIT, WIDTH_MAX
from ..core.validation import (
    check_finite,
    check_finite_nonneg,
    check_r_core,
    check_width,
    positive,
)

__all__ = ["GaussianLJ"]


def _species_value(value, name: str, strict: bool):
    """Check the form of a float / per-element mapping / per-atom array (not yet its size)."""
    if isinstance(value, Mapping):
        out = {}
        for key, v in value.items():
            if isinstance(key, str) and key not in atomic_numbers:
                raise ValueError(f"{name}: unknown chemical symbol {key!r}")
            z = atomic_numbers[key] if isinstance(key, str) else int(key)
            out[z] = positive(v, f"{name}[{key!r}]", strict=strict)
        return out
    arr = check_finite_nonneg(value, name)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a float, a per-element dict or a 1-D per-atom "
                         f"array, got shape {arr.shape}")
    if strict and np.any(arr == 0.0):
        raise ValueError(f"{name} must be > 0")
    return float(arr) if arr.ndim == 0 else arr


def _per_atom(value, name: str, numbers: np.ndarray):
    """Resolve a checked species value to a float or an ``(N,)`` array for these atoms."""
    if isinstance(value, Mapping):
        missing = sorted(set(numbers.tolist()) - set(value))
        if missing:
            syms = [chemical_symbols[z] for z in missing]
            raise ValueError(f"{name} has no value for element(s) {syms}")
        arr = np.array([value[z] for z in numbers], dtype=np.float64)
    elif np.ndim(value) == 0:
        return float(value)
    else:
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != (len(numbers),):
            raise ValueError(f"{name} must be a float, a per-element dict or a per-atom "
                             f"array of shape ({len(numbers)},), got shape {arr.shape}")
    if arr.size and np.all(arr == arr[0]):
        return float(arr[0])
    return arr


def _optional(check):
    return lambda v, name: None if v is None else check(v, name)


def _boolean(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


# parameter -> check(value, name) returning the normalized value; the keys are exactly
# GaussianLJ.default_parameters (a test keeps them equal)
_CHECKS = {
    "epsilon": lambda v, n: _species_value(v, n, strict=False),
    "sigma": lambda v, n: _species_value(v, n, strict=True),
    "width": lambda v, n: check_width(v, n),
    "rc": _optional(positive),
    "ro": _optional(lambda v, n: positive(v, n, strict=False)),
    "smooth": _boolean,
    "r_core": check_r_core,
    "width_max": lambda v, n: check_width(positive(v, n), n, maximum=WIDTH_LIMIT,
                                          limit_name="core.defaults.WIDTH_LIMIT"),
}


def _same(a, b, tol: float) -> bool:
    """ASE's ``equal(a, b, atol=tol)`` (shapes equal, ``|a - b| <= tol`` everywhere);
    float arrays in one compiled pass that stops at the first difference."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype == np.float64 and b.dtype == np.float64:
        from ..core.verlet import within  # deferred: keeps `import ase_gausslj` light

        return within(a.reshape(-1), b.reshape(-1), float(tol))
    return bool(np.array_equal(a, b) or np.allclose(a, b, rtol=0.0, atol=tol))


def _check_atoms(atoms) -> None:
    """The parts of ``atoms`` a user can corrupt behind ASE's back (cell, pbc)."""
    cell = np.asarray(atoms.cell)
    if cell.shape != (3, 3):
        raise ValueError(f"atoms.cell must be a 3x3 matrix, got shape {cell.shape}")
    check_finite(cell, "atoms.cell")
    pbc = np.asarray(atoms.pbc)
    if pbc.shape != (3,):
        raise ValueError(f"atoms.pbc must have 3 entries, got shape {pbc.shape}")
    for axis in np.flatnonzero(pbc):
        if not np.any(cell[axis]):
            raise ValueError(f"atoms.cell: periodic axis {axis} has a zero cell vector")


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
        Core radius in units of ``sigma`` (default :data:`~ase_gausslj.core.defaults.R_CORE`,
        the paper's) below which LJ is continued affinely; needed for ``width > 0``.
    width_max : float, optional
        Largest reduced width ``width / sigma`` the table covers (default
        :data:`~ase_gausslj.core.defaults.WIDTH_MAX`).
    **kwargs
        ASE's own :class:`~ase.calculators.calculator.Calculator` keywords (``restart``,
        ``label``, ``atoms``, ``directory``, ...).

    Raises
    ------
    TypeError
        For an unknown parameter (the message names the closest valid one): ASE would
        store it silently, so ``GaussianLJ(widht=0.3)`` would compute at width 0.
    ValueError
        For a bad value, naming the parameter.

    Notes
    -----
    Properties: ``energy``, ``free_energy`` (= energy), ``energies`` (half of each pair
    energy to each atom), ``forces``, ``stress`` and ``stresses`` (Voigt, eV/Å^3; like
    ``LennardJones`` they are available whenever the cell has rank 3, even without pbc).
    Agreement with ``LennardJones`` at ``width=0`` holds when no pair is closer than
    ``r_core * sigma`` (inside, this potential is affine, LJ's is not). Empty ``Atoms``
    give energy 0 and forces of shape ``(0, 3)``, as ``LennardJones``.

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
        "r_core": R_CORE,
        "width_max": WIDTH_MAX,
    }
    nolabel = True
    discard_results_on_any_change = True

    def __init__(self, **kwargs):
        self._driver = None
        self._driver_key = None
        self._atoms_checked = None  # (cell, pbc) bytes that passed _check_atoms
        # ASE keeps the last atoms and results on the calculator: without a lock, a thread
        # can read the results another thread's calculation just stored (or its atoms)
        self._lock = threading.RLock()
        super().__init__(**kwargs)  # calls self.set(**parameters)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]  # a lock does not pickle; every copy gets its own
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def get_property(self, name, atoms=None, allow_calculation=True):
        """ASE's ``get_property`` (same rules and results), one thread at a time (the
        calculator is thread-safe: the state check, the calculation and the read of
        ``results`` are one step). The atoms are copied once per calculation (ASE's
        base class copies them a second time in ``calculate``) and no working directory
        is made: this calculator writes no files."""
        with self._lock:
            if name not in self.implemented_properties:
                raise PropertyNotImplementedError(f"{name} property not implemented")
            if atoms is None:
                atoms = self.atoms
                system_changes = []
            else:
                system_changes = self.check_state(atoms)
                if system_changes:
                    self.atoms = None
                    self.results = {}
            if name not in self.results:
                if not allow_calculation:
                    return None
                self.atoms = atoms.copy()
                self._calculate(None, [name], system_changes)
            if name not in self.results:
                raise PropertyNotImplementedError(f"{name} not present in this calculation")
            result = self.results[name]
            return result.copy() if isinstance(result, np.ndarray) else result

    def check_state(self, atoms, tol=1e-15):
        """What changed since the last calculation: ASE's ``compare_atoms`` (same
        result), with float arrays compared in one compiled pass that stops at the
        first difference (ASE's ``allclose`` over the positions cost 0.13 ms a call at
        4,000 atoms, a twentieth of the pair loop)."""
        old = self.atoms
        if old is None:
            return all_changes[:]
        check = set(all_changes) - set(self.ignored_changes)
        changes = []
        for prop in ("cell", "pbc"):
            if prop in check:
                check.remove(prop)
                if not _same(getattr(old, prop), getattr(atoms, prop), tol):
                    changes.append(prop)
        arrays1, arrays2 = set(old.arrays), set(atoms.arrays)
        changes += sorted(check & (arrays1 ^ arrays2))
        for prop in sorted(check & arrays1 & arrays2):
            if not _same(old.arrays[prop], atoms.arrays[prop], tol):
                changes.append(prop)
        return changes

    # -- convenience -------------------------------------------------------------------
    @property
    def width(self) -> float:
        """The current Gaussian width in Å (``calc.width = w`` is ``calc.set(width=w)``)."""
        return float(self.parameters.width)

    @width.setter
    def width(self, value: float) -> None:
        self.set(width=value)

    def set(self, **kwargs):
        """Set parameters (checked here, once); any change discards cached results.

        Raises
        ------
        TypeError
            For a name that is not a parameter of :class:`GaussianLJ`.
        ValueError
            For a bad value, naming the parameter.
        """
        if "parameters" in kwargs:  # ASE's form: a file of parameters, then overrides
            loaded = Parameters.read(kwargs.pop("parameters"))
            loaded.update(kwargs)
            kwargs = dict(loaded)
        for name in kwargs:
            if name not in _CHECKS:
                close = difflib.get_close_matches(name, list(_CHECKS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"GaussianLJ got an unknown parameter {name!r}{hint} "
                                f"(valid: {', '.join(_CHECKS)})")
        checked = {name: _CHECKS[name](value, name) for name, value in kwargs.items()}
        with self._lock:  # not while another thread calculates with the old parameters
            rc = checked.get("rc", self.parameters.get("rc"))
            ro = checked.get("ro", self.parameters.get("ro"))
            if rc is not None and ro is not None and not ro < rc:
                raise ValueError(f"ro must be < rc, got ro={ro!r}, rc={rc!r}")
            return super().set(**checked)

    # -- internals ---------------------------------------------------------------------
    def _get_driver(self, numbers: np.ndarray):
        from ..core.energy import SmoothedLJ  # deferred: keeps `import ase_gausslj` light

        p = self.parameters
        eps = _per_atom(p.epsilon, "epsilon", numbers)
        sig = _per_atom(p.sigma, "sigma", numbers)
        key = (np.asarray(eps).tobytes(), np.asarray(sig).tobytes(), p.r_core, p.width_max)
        if self._driver is None or key != self._driver_key:
            self._driver = SmoothedLJ(eps, sig, r_core=p.r_core, width_max=p.width_max)
            self._driver_key = key
        return self._driver, sig

    def _cutoff(self, sig, periodic: bool):
        """Resolve (cutoff, cutoff_mode, taper_start) from rc / ro / smooth (all checked)."""
        p = self.parameters
        rc = p.rc
        if rc is None:
            if not periodic:
                return None, "none", None
            rc = 3.0 * float(np.max(sig))
        if not p.smooth:
            return rc, "shift", None
        ro = 0.66 * rc if p.ro is None else p.ro
        if not ro < rc:  # only reachable with the default rc and an explicit ro
            raise ValueError(f"ro must be < rc, got ro={ro!r}, rc={rc!r}")
        return rc, "taper", ro

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        """Compute the requested properties (see :class:`GaussianLJ`)."""
        with self._lock:
            self._calculate(atoms, properties, system_changes)

    def _calculate(self, atoms, properties, system_changes) -> None:
        """The calculation for ``atoms`` (copied into ``self.atoms``; None: the atoms
        already there)."""
        if properties is None:
            properties = self.implemented_properties
        if atoms is not None:
            self.atoms = atoms.copy()
        atoms = self.atoms
        # cell and pbc as last checked: skip the check (MD and optimizers move atoms only)
        seen = (atoms.cell.array.tobytes(), np.asarray(atoms.pbc).tobytes())
        if seen != self._atoms_checked:
            _check_atoms(atoms)
            self._atoms_checked = seen
        if len(atoms) == 0:
            self._store_empty(atoms)
            return
        driver, sig = self._get_driver(atoms.numbers)
        # the one width check of a calculation (the driver's unchecked entry points follow)
        width = check_width(self.parameters.width, "width",
                            maximum=self.parameters.width_max * float(np.min(sig)),
                            limit_name="width_max * the smallest sigma")
        periodic = bool(np.any(atoms.pbc))
        cutoff, mode, taper_start = self._cutoff(sig, periodic)
        want_virial = ("stress" in properties
                       or "stresses" in properties) and atoms.cell.rank == 3
        want_per_atom = "energies" in properties or "stresses" in properties
        positions = atoms.positions  # the driver checks them (finite, (N, 3))

        if cutoff is None and not want_virial and not want_per_atom:
            energy, forces = driver._energy_forces_unchecked(positions, width)
            self._store(energy, forces)
            return
        res = driver._compute_unchecked(
            positions, width, cutoff=cutoff,
            cell=atoms.cell.array if periodic else None,
            pbc=atoms.pbc if periodic else None,
            cutoff_mode=mode, taper_start=taper_start,
            virial=want_virial, per_atom=want_per_atom)
        self._store(res.energy, res.forces)
        if want_per_atom:
            self.results["energies"] = np.asarray(res.energies)
        if want_virial:
            volume = atoms.get_volume()
            self.results["stress"] = full_3x3_to_voigt_6_stress(res.virial) / volume
            if want_per_atom:
                self.results["stresses"] = (
                    full_3x3_to_voigt_6_stress(res.atom_virials) / volume)

    def _store(self, energy, forces) -> None:
        self.results["energy"] = float(energy)
        self.results["free_energy"] = float(energy)
        self.results["forces"] = np.asarray(forces)

    def _store_empty(self, atoms) -> None:
        """No atoms: zero energy, ``(0, 3)`` forces (what ``LennardJones`` returns)."""
        self._store(0.0, np.zeros((0, 3)))
        self.results["energies"] = np.zeros(0)
        if atoms.cell.rank == 3:
            self.results["stress"] = np.zeros(6)
            self.results["stresses"] = np.zeros((0, 6))
