"""Annealing the width in OpenMM: a device-side integrator, a stage-by-stage helper,
a reporter column and homotopy minimization.

* :class:`AnnealedLangevinIntegrator`: Langevin dynamics (BAOAB splitting, i.e. "Langevin
  middle") as a ``CustomIntegrator`` that also moves the width parameter along a linear
  or geometric schedule, one update per step, entirely on the device.
* :func:`anneal_simulation`: stage-by-stage annealing of an ``app.Simulation`` with any
  integrator (one ``setParameter`` per stage).
* :class:`WidthReporter`: a reporter writing step, width and potential energy.
* :func:`homotopy_minimize`: ``LocalEnergyMinimizer`` at each width of a decreasing
  sequence, then at width 0 (Gaussian homotopy continuation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import openmm as mm
import openmm.unit as unit

from ase_gausslj.schedules import (
    ExplicitSchedule,
    LinearSchedule,
    WidthSchedule,
    check_anneal_range,
    check_non_increasing,
)

from .expressions import WIDTH_PARAMETER
from .inputs import positive_int, scalar_float, width_nm
from .reporters import WidthReporter  # noqa: F401  (re-exported; lived here in 0.1)
from .state import GaussLJState, check_no_coincident, check_width_for_system

__all__ = [
    "AnnealedLangevinIntegrator",
    "anneal_simulation",
    "WidthReporter",
    "homotopy_minimize",
    "schedule_widths",
]

_SCHEDULES = ("linear", "geometric")


def _anneal_range(width_start, width_end, schedule: str) -> tuple[float, float]:
    """The schedule's end points in nm, checked by the package's one annealing rule."""
    if schedule not in _SCHEDULES:
        raise ValueError(f"schedule must be one of {_SCHEDULES}, got {schedule!r}")
    w0, w1 = check_anneal_range(width_nm(width_start, "width_start"),
                                width_nm(width_end, "width_end"))
    if schedule == "geometric" and w1 <= 0:
        raise ValueError("a geometric schedule needs width_start > 0 and width_end > 0")
    return w0, w1


def _width_at(w0: float, w1: float, frac: float, schedule: str) -> float:
    """The width a fraction ``frac`` in [0, 1] along the schedule (as on the device)."""
    if schedule == "linear":
        return w0 + (w1 - w0) * frac
    return w0 * (w1 / w0) ** frac


def width_schedule(width_start, width_end, n_steps: int, schedule: str = "linear"
                   ) -> WidthSchedule:
    """The schedule ``w_0 .. w_n`` as an ``ase_gausslj.schedules.WidthSchedule``.

    Like every schedule of the package it ends at 0: the widths after ``n`` steps are
    ``widths[:n_steps + 1]`` (a final 0 is appended when ``width_end > 0``).
    """
    w0, w1 = _anneal_range(width_start, width_end, schedule)
    n = positive_int(n_steps, "n_steps")
    if schedule == "linear":
        return LinearSchedule(w0, n + 1, stop=w1)
    return ExplicitSchedule([_width_at(w0, w1, k / n, schedule) for k in range(n + 1)])


def schedule_widths(width_start, width_end, n_steps: int, schedule: str = "linear") -> np.ndarray:
    """Widths ``w_0 .. w_n`` (nm) of a schedule; ``w_k`` is the width after ``k`` steps.

    ``linear``: ``w0 + (w1 - w0) k / n``; ``geometric``: ``w0 (w1 / w0)^(k / n)`` (both
    widths > 0). Beyond ``n`` the width stays at ``w1``. Annealing never increases the
    width: ``width_end > width_start`` is a ``ValueError``
    (``ase_gausslj.schedules.check_anneal_range``).
    """
    n = positive_int(n_steps, "n_steps")
    return np.asarray(width_schedule(width_start, width_end, n, schedule).widths[: n + 1])


def _add_baoab_step(integrator: mm.CustomIntegrator, schedule: str, parameter: str,
                    followers: tuple = ()) -> None:
    """``V/2 R/2 O R/2 [width update] V/2`` with constraints after every drift and kick."""

    def drift() -> None:
        integrator.addComputePerDof("x", "x + 0.5*dt*v")
        integrator.addComputePerDof("x1", "x")
        integrator.addConstrainPositions()
        integrator.addComputePerDof("v", "v + (x - x1)/(0.5*dt)")

    integrator.addPerDofVariable("x1", 0.0)
    integrator.addUpdateContextState()
    integrator.addComputePerDof("v", "v + 0.5*dt*f/m")
    integrator.addConstrainVelocities()
    drift()
    integrator.addComputePerDof("v", "a*v + b*sqrt(kT/m)*gaussian")
    integrator.addConstrainVelocities()
    drift()
    integrator.addComputeGlobal("gausslj_step", "gausslj_step + 1")
    frac = "min(gausslj_step, gausslj_nsteps)/gausslj_nsteps"
    if schedule == "linear":
        expr = f"gausslj_w0 + (gausslj_w1 - gausslj_w0)*{frac}"
    else:
        expr = f"gausslj_w0*(gausslj_w1/gausslj_w0)^({frac})"
    integrator.addComputeGlobal(parameter, expr)
    for name, follower in followers:  # parameters that follow the width, before the kick
        integrator.addComputeGlobal(name, follower)
    integrator.addComputePerDof("v", "v + 0.5*dt*f/m")
    integrator.addConstrainVelocities()


def integrator_arguments(temperature, friction, timestep, width_start, width_end, n_steps,
                         schedule, parameter, system):
    """Checked ``(T in K, friction in 1/ps, dt in ps, w0, w1, n)`` of the annealed integrator."""
    t_k = scalar_float(temperature, unit.kelvin, "temperature", minimum=0.0)
    gamma = scalar_float(friction, unit.picosecond**-1, "friction", minimum=0.0)
    dt = scalar_float(timestep, unit.picosecond, "timestep", minimum=0.0, strict=True)
    w0, w1 = _anneal_range(width_start, width_end, schedule)
    n = positive_int(n_steps, "n_steps")
    if system is not None:  # the schedule never exceeds width_start
        check_width_for_system(w0, system, "width_start", parameter)
    return t_k, gamma, dt, w0, w1, n


def build_annealed_langevin(integrator, t_k, gamma, dt, w0, w1, n, schedule, parameter,
                            add_kt: bool = True, torsion_width_start=None) -> None:
    """Global variables (the whole schedule lives there) and the BAOAB steps."""
    a = math.exp(-gamma * dt)
    values = [("a", a), ("b", math.sqrt(max(0.0, 1.0 - a * a))),
              ("gausslj_step", 0.0), ("gausslj_nsteps", float(n)), ("gausslj_w0", w0),
              ("gausslj_w1", w1), ("gausslj_geometric", float(schedule == "geometric"))]
    if add_kt:
        values.append(("kT", (unit.MOLAR_GAS_CONSTANT_R * t_k * unit.kelvin).value_in_unit(
            unit.kilojoule_per_mole)))
    for name, value in values:
        integrator.addGlobalVariable(name, value)
    followers = ()
    if torsion_width_start is not None:
        followers = (_torsion_follower(integrator, torsion_width_start, w0, parameter),)
    _add_baoab_step(integrator, schedule, parameter, followers)


def _torsion_start(tau0, w0: float) -> float:
    """The checked ``torsion_width_start``; the coupling ``tau0 * w / w0`` needs ``w0 > 0``."""
    from .torsions import check_torsion_width

    tau = check_torsion_width(tau0, "torsion_width_start")
    if w0 <= 0.0:
        raise ValueError("torsion_width_start needs a first width > 0 (it follows the LJ width)")
    return tau


def _torsion_follower(integrator, tau0, w0: float, parameter: str) -> tuple[str, str]:
    """``(gausslj_torsion_width, tau0 * width / w0)``: the torsion width follows the LJ's."""
    from .torsions import TORSION_WIDTH_PARAMETER

    tau = _torsion_start(tau0, w0)
    integrator.addGlobalVariable("gausslj_tau0", tau)
    return TORSION_WIDTH_PARAMETER, f"gausslj_tau0*{parameter}/{w0!r}"


_SCHEDULE_VARIABLES = {"kT", "gausslj_step", "gausslj_nsteps", "gausslj_w0", "gausslj_w1",
                       "gausslj_geometric"}


class AnnealingInterface:
    """Methods of the annealed integrators, reading everything from global variables.

    Because nothing lives in Python attributes, a copy or an XML round trip regains the
    whole interface by a class change (:meth:`restore_interface`; openmmtools does the same
    with its ``ThermostatedIntegrator`` subclasses).
    """

    @property
    def width_start(self) -> float:
        return self.getGlobalVariableByName("gausslj_w0")

    @property
    def width_end(self) -> float:
        return self.getGlobalVariableByName("gausslj_w1")

    @property
    def n_steps(self) -> int:
        return int(round(self.getGlobalVariableByName("gausslj_nsteps")))

    @property
    def schedule(self) -> str:
        return "geometric" if self.getGlobalVariableByName("gausslj_geometric") else "linear"

    @property
    def parameter(self) -> str:
        """The width's context parameter (the global the schedule step computes)."""
        return _schedule_target(self)

    def getTemperature(self) -> unit.Quantity:  # noqa: N802 (openmmtools' integrator API)
        """Heat-bath temperature (kelvin), read from the ``kT`` global variable."""
        kt = self.getGlobalVariableByName("kT") * unit.kilojoule_per_mole
        return (kt / unit.MOLAR_GAS_CONSTANT_R).in_units_of(unit.kelvin)

    def setTemperature(self, temperature) -> None:  # noqa: N802 (openmmtools' integrator API)
        """Set the heat-bath temperature (kelvin or a Quantity), as openmmtools' integrators.

        Lets ``openmmtools.states.ThermodynamicState`` drive this integrator.
        """
        t_k = scalar_float(temperature, unit.kelvin, "temperature", minimum=0.0)
        kt = (unit.MOLAR_GAS_CONSTANT_R * t_k * unit.kelvin).value_in_unit(
            unit.kilojoule_per_mole)
        self.setGlobalVariableByName("kT", kt)

    @classmethod
    def restore_interface(cls, integrator: mm.Integrator) -> bool:
        """Give a copied or XML-deserialized ``CustomIntegrator`` this class back.

        OpenMM's copies (``context.getIntegrator()``, ``XmlSerializer``) are plain
        ``CustomIntegrator`` s; the schedule lives in global variables, so the interface
        (temperature, :meth:`width_at`, :meth:`reset`) can be restored. Returns ``False``
        (and leaves the object alone) if it is not one of these integrators.
        """
        if not isinstance(integrator, mm.CustomIntegrator):
            return False
        names = {integrator.getGlobalVariableName(k)
                 for k in range(integrator.getNumGlobalVariables())}
        if not _SCHEDULE_VARIABLES <= names or _schedule_target(integrator) is None:
            return False
        integrator.__class__ = cls
        return True

    def width_at(self, step: int) -> float:
        """Scheduled width (nm) after ``step`` steps."""
        frac = min(max(int(step), 0), self.n_steps) / self.n_steps
        return _width_at(self.width_start, self.width_end, frac, self.schedule)

    def reset(self, context: mm.Context) -> None:
        """Restart the schedule: step counter 0, the context's width = ``width_start``
        and, if coupled, its torsion width = ``torsion_width_start``.

        Positions are not looked at (reset may come before ``setPositions``); see
        :func:`openmm_gausslj.state.check_no_coincident` for coincident particles.
        """
        self.setGlobalVariableByName("gausslj_step", 0.0)
        names = {self.getGlobalVariableName(k) for k in range(self.getNumGlobalVariables())}
        # a coupled torsion width starts at torsion_width_start too, not at the first step
        tau0 = self.getGlobalVariableByName("gausslj_tau0") if "gausslj_tau0" in names else None
        GaussLJState(self.width_start, self.parameter, torsion_width=tau0).apply_to_context(
            context)

    @property
    def step_count(self) -> int:
        """Steps taken since construction or the last :meth:`reset`."""
        return int(round(self.getGlobalVariableByName("gausslj_step")))


def _schedule_target(integrator) -> str | None:
    for k in range(integrator.getNumComputations()):
        kind, variable, expr = integrator.getComputationStep(k)
        if kind == mm.CustomIntegrator.ComputeGlobal and "gausslj_w0" in expr:
            return variable
    return None


class AnnealedLangevinIntegrator(AnnealingInterface, mm.CustomIntegrator):
    """Langevin (BAOAB) integrator that anneals the smoothing width on the device.

    Each step is ``V/2 R/2 O R/2 [width update] V/2``: the width moves to its value for
    the next step before the second half kick, so that kick uses the forces at the new
    positions and the new width (one force evaluation per step). After ``n_steps`` steps
    the width stays at ``width_end``. Constraints are applied after every drift and kick.

    Parameters
    ----------
    temperature, friction, timestep : float or Quantity
        Kelvin (>= 0), collision rate (1/ps, >= 0), step (ps, > 0).
    width_start, width_end : float or Quantity
        Schedule end points (nm), ``width_end <= width_start`` (annealing only removes
        smoothing).
    n_steps : int
        Steps over which the width moves.
    schedule : {"linear", "geometric"}
        Schedule shape (see :func:`schedule_widths`).
    parameter : str
        Name of the width context parameter.
    system : openmm.System, optional
        If given, ``width_start`` is checked against the table's range for this System.
    torsion_width_start : float, optional
        Couple the torsion width (radians, ``gausslj_torsion_width``; see
        :func:`openmm_gausslj.torsions.smooth_torsions`) to the LJ width: after each step
        it is ``torsion_width_start * width / width_start``, so one schedule drives both
        and both reach 0 together. Periodic and RB torsions follow on the device; a
        smoothed CMAP cannot (its map is rebuilt from Python by ``set_torsion_width``).

    Notes
    -----
    The context's width should equal ``width_start`` before the first step:
    :meth:`reset` sets it (and the step counter). The global variable
    ``gausslj_step`` counts the steps taken.
    """

    def __init__(self, temperature, friction, timestep, width_start, width_end,
                 n_steps: int, schedule: str = "linear", parameter: str = WIDTH_PARAMETER,
                 system: mm.System | None = None, torsion_width_start=None) -> None:
        t_k, gamma, dt, w0, w1, n = integrator_arguments(
            temperature, friction, timestep, width_start, width_end, n_steps, schedule,
            parameter, system)
        super().__init__(dt)
        build_annealed_langevin(self, t_k, gamma, dt, w0, w1, n, schedule, parameter,
                                torsion_width_start=torsion_width_start)


def _stage_widths(widths: Iterable, context: mm.Context, parameter: str) -> list[float]:
    """Stage widths in nm: non-empty, non-increasing, inside the table for the context."""
    ws = [width_nm(w, "widths") for w in widths]
    if not ws:
        raise ValueError("widths must not be empty")
    check_non_increasing(ws, "widths")
    check_width_for_system(ws[0], context.getSystem(), "widths[0]", parameter)
    check_no_coincident(context, parameter)
    return ws


def _stage_setter(context: mm.Context, parameter: str, w0: float, torsion_width_start):
    """``set(w)``: the width and, if coupled, the torsion width ``tau0 * w / w0``."""
    if torsion_width_start is None:
        return lambda w: context.setParameter(parameter, w)
    from .torsions import set_torsion_width

    tau0 = _torsion_start(torsion_width_start, w0)

    def set_widths(w: float) -> None:
        context.setParameter(parameter, w)
        set_torsion_width(context, tau0 * w / w0)  # rebuilds a smoothed CMAP too

    return set_widths


def anneal_simulation(
    simulation,
    widths: Iterable,
    steps_per_width: int,
    *,
    parameter: str = WIDTH_PARAMETER,
    minimize: bool = False,
    callback: Callable[[float, object], None] | None = None,
    torsion_width_start=None,
) -> list[tuple[float, float]]:
    """Anneal an ``app.Simulation`` stage by stage with its own integrator.

    For each width (nm) the context parameter is set (checked against the table's range)
    and ``steps_per_width`` steps are taken (optionally preceded by a local
    minimization). Returns ``[(width, potential energy in kJ/mol)]`` at the end of each
    stage; ``callback(width, simulation)`` is called after each stage. With
    ``torsion_width_start`` (radians) the torsion width follows the width,
    ``tau = torsion_width_start * w / widths[0]`` (smoothed CMAP included).
    """
    n = 0 if steps_per_width == 0 else positive_int(steps_per_width, "steps_per_width")
    context = simulation.context
    ws = _stage_widths(widths, context, parameter)
    set_widths = _stage_setter(context, parameter, ws[0], torsion_width_start)
    out = []
    for w in ws:
        set_widths(w)
        if minimize:
            simulation.minimizeEnergy()
        if n:
            simulation.step(n)
        e = context.getState(getEnergy=True).getPotentialEnergy()
        out.append((w, e.value_in_unit(unit.kilojoule_per_mole)))
        if callback is not None:
            callback(w, simulation)
    return out


def homotopy_minimize(
    context: mm.Context,
    widths: Iterable,
    *,
    tolerance=10.0,
    max_iterations: int = 0,
    parameter: str = WIDTH_PARAMETER,
    final_width: float | None = 0.0,
    torsion_width_start=None,
) -> list[tuple[float, float]]:
    """Gaussian homotopy: ``LocalEnergyMinimizer`` at each width, then at ``final_width``.

    Parameters
    ----------
    context : openmm.Context
        Positions are updated in place.
    widths : iterable of float or Quantity
        Widths (nm), non-increasing (a ``WidthSchedule`` works too).
    tolerance : float or Quantity
        Minimizer tolerance (kJ/mol/nm, root-mean-square force).
    max_iterations : int
        Per stage; 0 = until converged.
    final_width : float or None
        Last stage's width (default 0, the unsmoothed potential); ``None`` to skip.
    torsion_width_start : float, optional
        Couple the torsion width (radians): ``tau = torsion_width_start * w / widths[0]``.

    Returns
    -------
    list of (width, energy)
        Energy (kJ/mol) after each stage.
    """
    ws = _stage_widths(widths, context, parameter)
    if final_width is not None:
        final = width_nm(final_width, "final_width")
        if final > ws[-1]:
            raise ValueError(f"final_width ({final!r}) must not exceed the last width "
                             f"({ws[-1]!r}): annealing only removes smoothing")
        ws.append(final)
    tol = scalar_float(tolerance, unit.kilojoule_per_mole / unit.nanometer, "tolerance",
                       minimum=0.0, strict=True)
    if isinstance(max_iterations, bool) or int(max_iterations) != max_iterations \
            or max_iterations < 0:
        raise ValueError(f"max_iterations must be an integer >= 0, got {max_iterations!r}")
    set_widths = _stage_setter(context, parameter, ws[0], torsion_width_start)
    out = []
    for w in ws:
        set_widths(w)
        mm.LocalEnergyMinimizer.minimize(context, tol, int(max_iterations))
        e = context.getState(getEnergy=True).getPotentialEnergy()
        out.append((w, e.value_in_unit(unit.kilojoule_per_mole)))
    return out
