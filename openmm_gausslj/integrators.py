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

from .forces import WIDTH_PARAMETER, _scalar_nm
from .state import GaussLJState, max_width_for_system

__all__ = [
    "AnnealedLangevinIntegrator",
    "anneal_simulation",
    "WidthReporter",
    "homotopy_minimize",
    "schedule_widths",
]

_SCHEDULES = ("linear", "geometric")


def schedule_widths(width_start, width_end, n_steps: int, schedule: str = "linear") -> np.ndarray:
    """Widths ``w_0 .. w_n`` (nm) of a schedule; ``w_k`` is the width after ``k`` steps.

    ``linear``: ``w0 + (w1 - w0) k / n``; ``geometric``: ``w0 (w1 / w0)^(k / n)`` (both
    widths > 0). Beyond ``n`` the width stays at ``w1``.
    """
    w0 = _scalar_nm(width_start, "width_start")
    w1 = _scalar_nm(width_end, "width_end")
    n = _check_steps(n_steps)
    _check_schedule(schedule, w0, w1)
    k = np.arange(n + 1) / n
    if schedule == "linear":
        return w0 + (w1 - w0) * k
    return w0 * (w1 / w0) ** k


def _check_steps(n_steps) -> int:
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or int(n_steps) < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    return int(n_steps)


def _check_schedule(schedule: str, w0: float, w1: float) -> None:
    if schedule not in _SCHEDULES:
        raise ValueError(f"schedule must be one of {_SCHEDULES}, got {schedule!r}")
    if schedule == "geometric" and (w0 <= 0 or w1 <= 0):
        raise ValueError("a geometric schedule needs width_start > 0 and width_end > 0")


def _strip_unit(value, u, name: str) -> float:
    if unit.is_quantity(value):
        value = value.value_in_unit(u)
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


class AnnealedLangevinIntegrator(mm.CustomIntegrator):
    """Langevin (BAOAB) integrator that anneals the smoothing width on the device.

    Each step is ``V/2 R/2 O R/2 [width update] V/2``: half kick, half drift,
    Ornstein-Uhlenbeck velocity update, half drift, then the width moves to its value
    for the next step and the second half kick uses the forces at the new positions and
    the new width (so there is one force evaluation per step). After ``n_steps`` steps
    the width stays at ``width_end``. Constraints are applied after every drift and kick.

    Parameters
    ----------
    temperature : float or Quantity
        Kelvin.
    friction : float or Quantity
        Collision rate (1/ps).
    timestep : float or Quantity
        Step (ps).
    width_start, width_end : float or Quantity
        Schedule end points (nm).
    n_steps : int
        Steps over which the width moves.
    schedule : {"linear", "geometric"}
        Schedule shape (see :func:`schedule_widths`).
    parameter : str
        Name of the width context parameter.
    system : openmm.System, optional
        If given, both widths are checked against the table's range for this System.

    Notes
    -----
    The context's width should equal ``width_start`` before the first step:
    :meth:`reset` sets it (and the step counter). The global variable
    ``gausslj_step`` counts the steps taken.
    """

    def __init__(
        self,
        temperature,
        friction,
        timestep,
        width_start,
        width_end,
        n_steps: int,
        schedule: str = "linear",
        parameter: str = WIDTH_PARAMETER,
        system: mm.System | None = None,
    ) -> None:
        t_k = _strip_unit(temperature, unit.kelvin, "temperature")
        gamma = _strip_unit(friction, unit.picosecond**-1, "friction")
        dt = _strip_unit(timestep, unit.picosecond, "timestep")
        if t_k < 0 or gamma < 0 or dt <= 0:
            raise ValueError("temperature and friction must be >= 0 and timestep > 0")
        w0 = _scalar_nm(width_start, "width_start")
        w1 = _scalar_nm(width_end, "width_end")
        n = _check_steps(n_steps)
        _check_schedule(schedule, w0, w1)
        if system is not None:
            wmax = max_width_for_system(system, parameter)
            if max(w0, w1) > wmax * (1 + 1e-12):
                raise ValueError(
                    f"schedule reaches width {max(w0, w1)} nm beyond the table's range "
                    f"{wmax} nm for this system"
                )
        super().__init__(dt)
        self.width_start, self.width_end, self.n_steps = w0, w1, n
        self.schedule, self.parameter = schedule, parameter
        kt = (unit.MOLAR_GAS_CONSTANT_R * t_k * unit.kelvin).value_in_unit(unit.kilojoule_per_mole)
        a = math.exp(-gamma * dt)
        self.addGlobalVariable("a", a)
        self.addGlobalVariable("b", math.sqrt(max(0.0, 1.0 - a * a)))
        self.addGlobalVariable("kT", kt)
        self.addGlobalVariable("gausslj_step", 0.0)
        self.addGlobalVariable("gausslj_nsteps", float(n))
        self.addGlobalVariable("gausslj_w0", w0)
        self.addGlobalVariable("gausslj_w1", w1)
        self.addPerDofVariable("x1", 0.0)
        self.addUpdateContextState()
        self.addComputePerDof("v", "v + 0.5*dt*f/m")
        self.addConstrainVelocities()
        self._drift()
        self.addComputePerDof("v", "a*v + b*sqrt(kT/m)*gaussian")
        self.addConstrainVelocities()
        self._drift()
        self.addComputeGlobal("gausslj_step", "gausslj_step + 1")
        frac = "min(gausslj_step, gausslj_nsteps)/gausslj_nsteps"
        if schedule == "linear":
            expr = f"gausslj_w0 + (gausslj_w1 - gausslj_w0)*{frac}"
        else:
            expr = f"gausslj_w0*(gausslj_w1/gausslj_w0)^({frac})"
        self.addComputeGlobal(parameter, expr)
        self.addComputePerDof("v", "v + 0.5*dt*f/m")
        self.addConstrainVelocities()

    def _drift(self) -> None:
        self.addComputePerDof("x", "x + 0.5*dt*v")
        self.addComputePerDof("x1", "x")
        self.addConstrainPositions()
        self.addComputePerDof("v", "v + (x - x1)/(0.5*dt)")

    def width_at(self, step: int) -> float:
        """Scheduled width (nm) after ``step`` steps."""
        k = min(max(int(step), 0), self.n_steps) / self.n_steps
        if self.schedule == "linear":
            return self.width_start + (self.width_end - self.width_start) * k
        return self.width_start * (self.width_end / self.width_start) ** k

    def reset(self, context: mm.Context) -> None:
        """Restart the schedule: step counter 0 and the context's width = ``width_start``."""
        self.setGlobalVariableByName("gausslj_step", 0.0)
        GaussLJState(self.width_start, self.parameter).apply_to_context(context)

    @property
    def step_count(self) -> int:
        """Steps taken since construction or the last :meth:`reset`."""
        return int(round(self.getGlobalVariableByName("gausslj_step")))


def anneal_simulation(
    simulation,
    widths: Iterable,
    steps_per_width: int,
    *,
    parameter: str = WIDTH_PARAMETER,
    minimize: bool = False,
    callback: Callable[[float, object], None] | None = None,
) -> list[tuple[float, float]]:
    """Anneal an ``app.Simulation`` stage by stage with its own integrator.

    For each width (nm) the context parameter is set (checked against the table's range)
    and ``steps_per_width`` steps are taken (optionally preceded by a local
    minimization). Returns ``[(width, potential energy in kJ/mol)]`` at the end of each
    stage; ``callback(width, simulation)`` is called after each stage.
    """
    ws = [_scalar_nm(w, "widths") for w in widths]
    if not ws:
        raise ValueError("widths must not be empty")
    n = int(steps_per_width)
    if n < 0:
        raise ValueError(f"steps_per_width must be >= 0, got {steps_per_width}")
    context = simulation.context
    wmax = max_width_for_system(context.getSystem(), parameter)
    if max(ws) > wmax * (1 + 1e-12):
        raise ValueError(f"widths reach {max(ws)} nm, beyond the table's range {wmax} nm")
    out = []
    for w in ws:
        context.setParameter(parameter, w)
        if minimize:
            simulation.minimizeEnergy()
        if n:
            simulation.step(n)
        e = context.getState(getEnergy=True).getPotentialEnergy()
        out.append((w, e.value_in_unit(unit.kilojoule_per_mole)))
        if callback is not None:
            callback(w, simulation)
    return out


class WidthReporter:
    """Reporter writing ``step, width (nm), potential energy (kJ/mol)`` as CSV.

    Add it next to a ``StateDataReporter`` to get the width column of an annealing run.

    Parameters
    ----------
    file : str or file-like
        Output path or open text stream.
    reportInterval : int
        Steps between reports.
    parameter : str
        Width context parameter.
    """

    def __init__(self, file, reportInterval: int, parameter: str = WIDTH_PARAMETER) -> None:
        if int(reportInterval) < 1:
            raise ValueError(f"reportInterval must be >= 1, got {reportInterval}")
        self._interval = int(reportInterval)
        self._parameter = parameter
        self._own = isinstance(file, str)
        self._out = open(file, "w") if self._own else file  # noqa: SIM115
        self._header = False

    def describeNextReport(self, simulation):  # noqa: N802 (OpenMM API)
        steps = self._interval - simulation.currentStep % self._interval
        return (steps, False, False, False, True, None)

    def report(self, simulation, state) -> None:
        """Write one line."""
        if not self._header:
            self._out.write('#"Step","Width (nm)","Potential Energy (kJ/mole)"\n')
            self._header = True
        w = simulation.context.getParameter(self._parameter)
        e = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        self._out.write(f"{simulation.currentStep},{w!r},{e!r}\n")
        self._out.flush()

    def close(self) -> None:
        """Close the file if the reporter opened it."""
        if self._own:
            self._out.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def homotopy_minimize(
    context: mm.Context,
    widths: Iterable,
    *,
    tolerance=10.0,
    max_iterations: int = 0,
    parameter: str = WIDTH_PARAMETER,
    final_width: float | None = 0.0,
) -> list[tuple[float, float]]:
    """Gaussian homotopy: ``LocalEnergyMinimizer`` at each width, then at ``final_width``.

    Parameters
    ----------
    context : openmm.Context
        Positions are updated in place.
    widths : iterable of float or Quantity
        Widths (nm), usually decreasing.
    tolerance : float or Quantity
        Minimizer tolerance (kJ/mol/nm, root-mean-square force).
    max_iterations : int
        Per stage; 0 = until converged.
    final_width : float or None
        Last stage's width (default 0, the unsmoothed potential); ``None`` to skip.

    Returns
    -------
    list of (width, energy)
        Energy (kJ/mol) after each stage.
    """
    ws = [_scalar_nm(w, "widths") for w in widths]
    if final_width is not None:
        ws.append(_scalar_nm(final_width, "final_width"))
    tol = _strip_unit(tolerance, unit.kilojoule_per_mole / unit.nanometer, "tolerance")
    wmax = max_width_for_system(context.getSystem(), parameter)
    if ws and max(ws) > wmax * (1 + 1e-12):
        raise ValueError(f"widths reach {max(ws)} nm, beyond the table's range {wmax} nm")
    out = []
    for w in ws:
        context.setParameter(parameter, w)
        mm.LocalEnergyMinimizer.minimize(context, tol, int(max_iterations))
        e = context.getState(getEnergy=True).getPotentialEnergy()
        out.append((w, e.value_in_unit(unit.kilojoule_per_mole)))
    return out
