"""Argument conversion and checks at the OpenMM boundary (units, widths, arrays, methods).

Every public entry of :mod:`openmm_gausslj` converts and checks its arguments here, once,
so that bad input is a ``ValueError``/``TypeError`` naming the argument and never reaches
OpenMM (where it would surface as NaN energies or an ``OpenMMException``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import openmm as mm
import openmm.unit as unit

from ase_gausslj.core.validation import check_finite, check_finite_nonneg, check_width

__all__ = [
    "smooth_options",
    "resolve_engine",
    "cpu_is_fastest",
    "to_nm",
    "to_kj",
    "width_nm",
    "scalar_float",
    "positive_int",
    "per_particle",
    "charges_array",
    "nonbonded_method",
    "index_pairs",
    "check_parameter_name",
    "coincident_pairs",
]

_METHODS = {
    "nocutoff": mm.CustomNonbondedForce.NoCutoff,
    "cutoffnonperiodic": mm.CustomNonbondedForce.CutoffNonPeriodic,
    "cutoffperiodic": mm.CustomNonbondedForce.CutoffPeriodic,
}


def _strip(value, target_unit, name: str):
    if unit.is_quantity(value):
        try:
            return value.value_in_unit(target_unit)
        except TypeError as exc:
            raise ValueError(f"{name} has incompatible units {value.unit}") from exc
    if isinstance(value, (list, tuple)) and value and unit.is_quantity(value[0]):
        return [_strip(v, target_unit, name) for v in value]
    return value


def to_nm(value, name: str = "value"):
    """Length in nm: a float/array, or an ``openmm.unit`` quantity (converted)."""
    return _strip(value, unit.nanometer, name)


def to_kj(value, name: str = "value"):
    """Energy in kJ/mol: a float/array, or an ``openmm.unit`` quantity (converted)."""
    return _strip(value, unit.kilojoule_per_mole, name)


def width_nm(value, name: str = "width", *, maximum: float | None = None,
             limit_name: str = "") -> float:
    """A width in nm (float or length quantity) through the package's one width check."""
    return check_width(to_nm(value, name), name, maximum=maximum, limit_name=limit_name)


def scalar_float(value, target_unit, name: str, *, minimum: float | None = None,
                 strict: bool = False) -> float:
    """A finite scalar in ``target_unit`` (quantities converted), optionally bounded below."""
    if target_unit is not None:
        value = _strip(value, target_unit, name)
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a finite number, got {value!r}") from exc
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and (v < minimum or (strict and v == minimum)):
        op = ">" if strict else ">="
        raise ValueError(f"{name} must be {op} {minimum}, got {v!r}")
    return v


def positive_int(value, name: str) -> int:
    """A positive integer (bools and non-integral numbers refused)."""
    try:
        ok = not isinstance(value, bool) and int(value) == value and int(value) >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def per_particle(values, n: int | None, name: str, conv, *, other: str = "") -> np.ndarray:
    """Non-negative per-particle (or per-pair) values: ``n`` floats, a scalar broadcast.

    ``other`` names the argument that fixed ``n``, for the mismatch message.
    """
    arr = check_finite_nonneg(conv(values, name), name)
    if arr.ndim == 0:
        if n is None:
            raise ValueError(f"{name} must be per-particle when the particle count is not given")
        arr = np.full(n, float(arr))
    if arr.ndim != 1 or (n is not None and arr.size != n):
        by = f" (one per particle of {other})" if other else ""
        raise ValueError(f"{name} must have shape ({n},){by}, got {arr.shape}")
    return arr.astype(np.float64)


def charges_array(values, name: str = "charges", target_unit=unit.elementary_charge):
    """Charges (e; or charge products, e^2) as a finite float64 1-D array (signs allowed)."""
    try:
        arr = check_finite(_strip(values, target_unit, name), name)
    except ValueError:
        raw = np.asarray(_strip(values, target_unit, name))
        if raw.ndim == 1 and raw.dtype.kind == "f":  # say which entry, as for sigma
            bad = int(np.flatnonzero(~np.isfinite(raw))[0])
            raise ValueError(
                f"{name} must be finite, got {float(raw[bad])!r} at index {bad}") from None
        raise
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    return arr


def nonbonded_method(method) -> int:
    """A ``CustomNonbondedForce`` method from its name (any case, ``_`` ignored) or constant."""
    if isinstance(method, str):
        key = method.replace("_", "").replace(" ", "").lower()
        if key not in _METHODS:
            raise ValueError(
                "nonbonded_method must be one of NoCutoff, CutoffNonPeriodic, "
                f"CutoffPeriodic, got {method!r}"
            )
        return _METHODS[key]
    if isinstance(method, bool) or not isinstance(method, (int, np.integer)):
        raise TypeError(
            f"nonbonded_method must be a str or a CustomNonbondedForce constant, got {method!r}"
        )
    if method not in _METHODS.values():
        raise ValueError(f"nonbonded_method {method!r} is not a CustomNonbondedForce method")
    return int(method)


def index_pairs(pairs: Iterable, n: int | None, name: str) -> list[tuple[int, int]]:
    """Pairs of distinct particle indices in ``[0, n)`` (any bound when ``n`` is None)."""
    out = []
    for k, pair in enumerate(pairs):
        try:
            i, j = (int(x) for x in pair)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}[{k}] must be a pair of particle indices, "
                             f"got {pair!r}") from exc
        if i == j or min(i, j) < 0 or (n is not None and max(i, j) >= n):
            bound = f" in [0, {n})" if n is not None else " >= 0"
            raise ValueError(f"{name}[{k}] = {pair!r} must be two distinct indices{bound}")
        out.append((i, j))
    return out


def check_parameter_name(name, what: str = "width_parameter") -> str:
    """A Lepton identifier for a global parameter."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{what} must be an identifier string, got {name!r}")
    return name


def coincident_pairs(positions, name: str = "positions") -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of particles at exactly the same position (O(N log N))."""
    pos = np.asarray(to_nm(positions, name), dtype=np.float64).reshape(-1, 3)
    if len(pos) < 2:
        return []
    _, inverse, counts = np.unique(pos, axis=0, return_inverse=True, return_counts=True)
    pairs = []
    for group in np.flatnonzero(counts > 1):
        members = np.flatnonzero(inverse.reshape(-1) == group)
        pairs += [(int(a), int(b)) for k, a in enumerate(members) for b in members[k + 1:]]
    return pairs


def cpu_is_fastest() -> bool:
    """Whether OpenMM's fastest platform on this machine (the one a ``Context`` picks when
    none is named) is the CPU or Reference one."""
    best = max(range(mm.Platform.getNumPlatforms()),
               key=lambda k: mm.Platform.getPlatform(k).getSpeed())
    return mm.Platform.getPlatform(best).getName() in ("CPU", "Reference")


def resolve_engine(engine: str, not_compiled: str | None) -> str:
    """``engine`` of :func:`~openmm_gausslj.smooth_system` with ``'auto'`` made concrete:
    ``'compiled'`` where it applies (``not_compiled`` None; else it says why not) and
    OpenMM's fastest platform here is the CPU (measured faster there at fixed and at
    annealed widths, docs/openmm.md "Engines"), else ``'custom'`` (GPU platforms run it
    natively). An explicit ``'compiled'`` that does not apply is a ``ValueError``."""
    if engine not in ("auto", "custom", "compiled"):
        raise ValueError(f"engine must be 'auto', 'custom' or 'compiled', got {engine!r}")
    if engine == "compiled" and not_compiled:
        raise ValueError(f"engine='compiled' cannot smooth this System: {not_compiled}; "
                         "use engine='custom'")
    if engine != "auto":
        return engine
    return "compiled" if not not_compiled and cpu_is_fastest() else "custom"


def smooth_options(smooth_coulomb, solute_solvent, exact_14, coulomb_cutoff, engine,
                   not_compiled: str | None = None) -> dict:
    """The checked switches of :func:`~openmm_gausslj.smooth_system` (``coulomb_cutoff`` in
    nm or None); ``not_compiled`` as in :func:`resolve_engine`."""
    engine = resolve_engine(engine, not_compiled)
    cut = None if coulomb_cutoff is None else scalar_float(
        coulomb_cutoff, unit.nanometer, "coulomb_cutoff", minimum=0.0, strict=True)
    return dict(smooth_coulomb=bool(smooth_coulomb), solute_solvent=bool(solute_solvent),
                exact_14=bool(exact_14), coulomb_cutoff=cut, engine=engine)
