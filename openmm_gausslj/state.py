"""The thermodynamic state of the smoothing: the width, read from and written to OpenMM.

Modelled on openmmtools' ``AlchemicalState``: a small object holding the width that can be
read from a ``System`` (default parameter values) or a ``Context`` and applied to either,
checking that the width stays inside the table (:func:`max_width_for_system`).
"""

from __future__ import annotations

import math

import openmm as mm
import openmm.unit as unit

from .exactness import warn_if_inexact
from .forces.compiled import computation_of, set_python_default
from .forces.expressions import (  # noqa: F401
    WIDTH_PARAMETER,
    coulomb_max_parameter,
    global_defaults,
    smoothed_force_indices,
    uses_table,
    width_max_parameter,
)
from .inputs import coincident_pairs, width_nm

__all__ = [
    "GaussLJState",
    "max_width_for_system",
    "smoothed_force_indices",
    "check_width_for_system",
    "check_no_coincident",
]


def _default(force: mm.Force, name: str) -> float:
    return global_defaults(force)[name]


def _lj_force_limit(f: mm.Force, ymax: float) -> float:
    """``ymax * min sigma`` over the LJ pairs (eps > 0) of one smoothed LJ force."""
    best = math.inf
    if isinstance(f, mm.PythonForce):  # the compiled engine keeps its limit (nm) itself
        comp = computation_of(f)
        return comp.width_limit if comp is not None and comp.lj else best
    if isinstance(f, mm.CustomNonbondedForce):
        tabs = {f.getTabulatedFunctionName(k): f.getTabulatedFunction(k)
                for k in range(f.getNumTabulatedFunctions())}
        if "gausslj_sig" in tabs:  # per-type-pair tables (CHARMM)
            types = {int(round(f.getParticleParameters(i)[0])) for i in range(f.getNumParticles())}
            nt, _, sig = tabs["gausslj_sig"].getFunctionParameters()
            _, _, eps = tabs["gausslj_eps"].getFunctionParameters()
            for a in types:
                for b in types:
                    if eps[a + nt * b] > 0:
                        best = min(best, ymax * sig[a + nt * b])
            return best
        for i in range(f.getNumParticles()):
            sig, eps = f.getParticleParameters(i)[:2]
            if eps > 0:
                best = min(best, ymax * sig)
        return best
    for i in range(f.getNumBonds()):
        _, params = f.getBondParameters(i)
        if params[1] > 0:
            best = min(best, ymax * params[0])
    return best


def width_limits(system: mm.System, parameter: str = WIDTH_PARAMETER) -> tuple[float, float]:
    """``(table limit, Coulomb limit)`` in nm: ``width_max * min sigma`` over the smoothed LJ
    pairs with ``epsilon > 0``, and ``cutoff / 8`` of the smoothed Coulomb (inf if none)."""
    lj = math.inf
    for k in smoothed_force_indices(system, parameter):
        f = system.getForce(k)
        lj = min(lj, _lj_force_limit(f, _default(f, width_max_parameter(parameter))))
    coul = math.inf
    cmax = coulomb_max_parameter(parameter)
    for f in system.getForces():
        names = global_defaults(f)
        if cmax in names and parameter in names:
            coul = min(coul, names[cmax])
    return lj, coul


def max_width_for_system(system: mm.System, parameter: str = WIDTH_PARAMETER) -> float:
    """Largest width (nm) every smoothed pair of ``system`` can take.

    ``width_max_reduced * min(sigma)`` over the smoothed LJ forces' pairs with
    ``epsilon > 0`` and, for the smoothed Coulomb correction, ``cutoff / 8``; ``inf`` if
    nothing limits it.
    """
    return min(width_limits(system, parameter))


def check_width_for_system(width, system: mm.System, name: str = "width",
                           parameter: str = WIDTH_PARAMETER) -> float:
    """``width`` (nm) checked against the binding limit for ``system`` (``ValueError``).

    The message names the limit that binds: the table's range, or ``cutoff / 8`` of the
    smoothed Coulomb correction (``erfc(r / 2w) / r`` must have decayed at the cutoff).
    """
    lj, coul = width_limits(system, parameter)
    if coul < lj:
        why = ("nm: cutoff / 8 of the smoothed Coulomb correction, where erfc(r / 2w) / r "
               "has decayed (the table alone would allow "
               f"{lj:.4g} nm); a shorter coulomb_cutoff lowers it, a longer cutoff raises it")
    else:
        why = "nm, the table's range for this system: width_max times the smallest sigma"
    return width_nm(width, name, maximum=min(lj, coul), limit_name=why)


def _exclusion_set(force: mm.CustomNonbondedForce) -> set[tuple[int, int]]:
    return {tuple(sorted(force.getExclusionParticles(k))) for k in range(force.getNumExclusions())}


def check_no_coincident(context: mm.Context, parameter: str = WIDTH_PARAMETER) -> None:
    """``ValueError`` if two coincident particles of ``context`` meet in a smoothed pair force.

    OpenMM's ``CustomNonbondedForce`` kernels divide dE/dr by r (Reference) or compute
    ``r = r2 * rsqrt(r2)`` (CPU), so a pair at exactly r = 0 has NaN forces whatever the
    expression. Excluded pairs (a Drude particle on its parent atom) and the bond forces
    of 1-4 pairs (finite at r = 0) are fine. O(N log N) when nothing coincides.
    """
    pos = context.getState(getPositions=True).getPositions(asNumpy=True)
    pairs = coincident_pairs(pos.value_in_unit(unit.nanometer))
    if not pairs:
        return
    system = context.getSystem()
    for k in smoothed_force_indices(system, parameter):
        force = system.getForce(k)
        if not isinstance(force, mm.CustomNonbondedForce):
            continue
        excluded = _exclusion_set(force)
        for i, j in pairs:
            if (i, j) not in excluded:
                raise ValueError(
                    f"positions: particles {i} and {j} coincide (r = 0), where OpenMM's "
                    "custom nonbonded kernels give NaN forces; move one of them"
                )


class GaussLJState:
    """The smoothing width as a thermodynamic state (like openmmtools' AlchemicalState).

    Parameters
    ----------
    width : float or Quantity
        Width in nm.
    parameter : str
        Name of the global context parameter.
    torsion_width : float, optional
        Angular width (radians) of the smoothed torsions (``gausslj_torsion_width``, from
        ``smooth_system(..., torsion_width=...)``); ``None`` (default) leaves them alone.
        Applying the state sets both widths; a smoothed CMAP is rebuilt in the Context.

    Examples
    --------
    >>> state = GaussLJState.from_context(context)          # doctest: +SKIP
    >>> state.width = 0.05 * unit.nanometer                  # doctest: +SKIP
    >>> state.apply_to_context(context)                      # doctest: +SKIP
    """

    def __init__(self, width=0.0, parameter: str = WIDTH_PARAMETER, torsion_width=None) -> None:
        self.parameter = str(parameter)
        self.width = width
        self.torsion_width = torsion_width

    @property
    def torsion_width(self) -> float | None:
        """Torsion width in radians, or None when the state leaves the torsions alone."""
        return self._torsion_width

    @torsion_width.setter
    def torsion_width(self, value) -> None:
        from .forces.torsions import check_torsion_width

        self._torsion_width = None if value is None else check_torsion_width(value)

    @property
    def width(self) -> float:
        """Width in nm (set with a float in nm or a length quantity)."""
        return self._width

    @width.setter
    def width(self, value) -> None:
        self._width = width_nm(value, "width")

    @property
    def width_quantity(self) -> unit.Quantity:
        """Width as an ``openmm.unit`` quantity."""
        return self._width * unit.nanometer

    @property
    def gausslj_width(self) -> float:
        """Alias of :attr:`width` (the default parameter's name, as openmmtools users write)."""
        return self._width

    @gausslj_width.setter
    def gausslj_width(self, value) -> None:
        self.width = value

    def __repr__(self) -> str:
        tau = "" if self._torsion_width is None else f", torsion_width={self._torsion_width!r}"
        return f"GaussLJState(width={self._width!r}, parameter={self.parameter!r}{tau})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, GaussLJState) and other.parameter == self.parameter
                and other.width == self.width and other.torsion_width == self.torsion_width)

    __hash__ = None  # mutable

    def __getstate__(self, **kwargs) -> dict:
        """Serialization (openmmtools' ``utils.serialize`` and pickle)."""
        out = {"width": self._width, "parameter": self.parameter}
        if self._torsion_width is not None:  # unset: the key is left out (no torsion smoothing)
            out["torsion_width"] = self._torsion_width
        return out

    def __setstate__(self, state: dict) -> None:
        self.parameter = str(state["parameter"])
        self._width = width_nm(state["width"], "width")
        self.torsion_width = state.get("torsion_width")

    @classmethod
    def from_system(cls, system: mm.System, parameter: str = WIDTH_PARAMETER) -> GaussLJState:
        """State with the default width stored in the smoothed forces of ``system``."""
        idx = smoothed_force_indices(system, parameter)
        if not idx:
            raise ValueError(f"system has no smoothed force with parameter {parameter!r}")
        widths = {_default(system.getForce(k), parameter) for k in idx}
        if len(widths) != 1:
            raise ValueError(f"smoothed forces disagree on the default {parameter}: {widths}")
        return cls(widths.pop(), parameter, _torsion_width_of(system))

    @classmethod
    def from_context(cls, context: mm.Context, parameter: str = WIDTH_PARAMETER) -> GaussLJState:
        """State with the width currently set in ``context``."""
        try:
            w = context.getParameter(parameter)
        except Exception as exc:  # OpenMMException
            raise ValueError(f"context has no parameter {parameter!r}") from exc
        return cls(w, parameter, _torsion_width_of(context))

    def check_system(self, system: mm.System) -> None:
        """``ValueError`` if the width is beyond the table for some pair of ``system``."""
        check_width_for_system(self._width, system, "width", self.parameter)

    def apply_to_system(self, system: mm.System) -> None:
        """Set the default width of every smoothed force of ``system`` (checked)."""
        if not smoothed_force_indices(system, self.parameter):
            raise ValueError(f"system has no smoothed force with parameter {self.parameter!r}")
        self.check_system(system)
        for k in _parameter_force_indices(system, self.parameter):
            f = system.getForce(k)
            if isinstance(f, mm.PythonForce):
                set_python_default(system, k, self.parameter, self._width)
                continue
            for j in range(f.getNumGlobalParameters()):
                if f.getGlobalParameterName(j) == self.parameter:
                    f.setGlobalParameterDefaultValue(j, self._width)
        if self._torsion_width is not None:
            _set_torsion_width(system, self._torsion_width)

    def apply_to_context(self, context: mm.Context) -> None:
        """Set the width in ``context`` (checked against the context's System)."""
        self.check_system(context.getSystem())
        warn_if_inexact(context, self.parameter)  # once per Context: width 0 is the original?
        try:
            context.setParameter(self.parameter, self._width)
        except Exception as exc:  # OpenMMException
            raise ValueError(f"context has no parameter {self.parameter!r}") from exc
        if self._torsion_width is not None:
            _set_torsion_width(context, self._torsion_width)

    # ---- openmmtools' composable-state protocol (IComposableState, matched by duck typing) ----

    def check_system_consistency(self, system: mm.System) -> None:
        """``ComposableStateError`` (a ``ValueError``) if ``system``'s width is not this one."""
        try:
            other = GaussLJState.from_system(system, self.parameter)
        except ValueError as exc:
            raise _state_error(str(exc)) from exc
        if other.width != self._width:
            raise _state_error(f"system has {self.parameter} = {other.width}, "
                               f"the state {self._width}")
        if self._torsion_width is not None and other.torsion_width != self._torsion_width:
            raise _state_error(f"system has torsion width {other.torsion_width}, "
                               f"the state {self._torsion_width}")

    def _standardize_system(self, system: mm.System) -> None:
        """The standard System has width 0: states differing in width share one System."""
        idx = smoothed_force_indices(system, self.parameter)
        if not idx:
            raise _state_error(f"system has no smoothed force with parameter {self.parameter!r}")
        tau = None if self._torsion_width is None else 0.0
        GaussLJState(0.0, self.parameter, tau).apply_to_system(system)

    def _on_setattr(self, standard_system, attribute_name, old_composable_state) -> bool:
        """Changing the width never changes the standard System."""
        return False

    def _find_force_groups_to_update(self, context, current_context_state, memo) -> set:
        """Force groups holding the width parameter, if the width changes."""
        if "groups" not in memo:
            from .forces.torsions import torsion_force_indices

            system = context.getSystem()
            memo["groups"] = {system.getForce(k).getForceGroup()
                              for k in _parameter_force_indices(system, self.parameter)}
            memo["torsion_groups"] = {system.getForce(k).getForceGroup()
                                      for k in torsion_force_indices(system)}
        groups = set()
        if getattr(current_context_state, "width", None) != self._width:
            groups |= memo["groups"]
        if (self._torsion_width is not None
                and getattr(current_context_state, "torsion_width", None) != self._torsion_width):
            groups |= memo["torsion_groups"]
        return groups


def _torsion_width_of(target) -> float | None:
    """The torsion width of a System/Context with smoothed torsions, else None."""
    from .forces.torsions import get_torsion_width, torsion_force_indices

    system = target.getSystem() if isinstance(target, mm.Context) else target
    return get_torsion_width(target) if torsion_force_indices(system) else None


def _set_torsion_width(target, tau: float) -> None:
    from .forces.torsions import set_torsion_width, torsion_force_indices

    system = target.getSystem() if isinstance(target, mm.Context) else target
    if not torsion_force_indices(system):
        raise ValueError("torsion_width: the system has no smoothed torsions "
                         "(smooth_system(..., torsion_width=...) adds them)")
    set_torsion_width(target, tau)


def _parameter_force_indices(system: mm.System, parameter: str) -> list[int]:
    """Every force with the global parameter (the LJ, Coulomb and torsion forces)."""
    out = []
    for k, f in enumerate(system.getForces()):
        if parameter in global_defaults(f):
            out.append(k)
    return out


def _state_error(message: str) -> Exception:
    """openmmtools' ``ComposableStateError`` (also a ``ValueError``) when it is installed."""
    try:
        from openmmtools.states import ComposableStateError
    except ImportError:
        return ValueError(message)

    class GaussLJStateError(ComposableStateError, ValueError):
        pass

    return GaussLJStateError(message)
