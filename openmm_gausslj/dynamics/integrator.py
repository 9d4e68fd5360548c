"""The device-side annealing integrator: BAOAB Langevin that moves the width every step.

* :class:`AnnealedLangevinIntegrator`: a ``CustomIntegrator`` whose steps also move the
  width parameter along the schedule, after a ramp-in from the context's width (so that
  switching smoothing on does not heat the system, :mod:`openmm_gausslj.dynamics.switch_on`).
* :class:`AnnealingInterface`: its Python interface, read from global variables (restored
  on copies and XML round trips).

The schedule's formulas are in :mod:`openmm_gausslj.dynamics.schedules`; the Python-side
drivers (stage-wise annealing, homotopy minimization) in :mod:`openmm_gausslj.dynamics.drivers`.
"""

from __future__ import annotations

import math

import openmm as mm
import openmm.unit as unit

from ase_gausslj.core.validation import count

from ..exactness import warn_if_inexact
from ..forces.expressions import WIDTH_PARAMETER
from ..inputs import positive_int, scalar_float
from ..state import GaussLJState, check_width_for_system
from .schedules import anneal_range, width_at
from .switch_on import RAMP_FRICTION, RAMP_STEPS, SETTLE_STEPS, refuse_drude

__all__ = [
    "AnnealedLangevinIntegrator",
    "AnnealingInterface",
    "build_annealed_langevin",
    "integrator_arguments",
]


def _add_baoab_step(integrator: mm.CustomIntegrator, schedule: str, parameter: str,
                    followers: tuple = ()) -> None:
    """``V/2 R/2 O R/2 [width update] V/2`` with constraints after every drift and kick.

    The first step captures the context's width (``gausslj_wr``); if it differs from
    ``width_start`` the first ``gausslj_ramp`` steps move it there linearly (the ramp-in,
    with the O step at the ramp friction, which lasts ``gausslj_settle`` steps more),
    then the schedule runs its ``n_steps``.
    """

    def drift() -> None:
        integrator.addComputePerDof("x", "x + 0.5*dt*v")
        integrator.addComputePerDof("x1", "x")
        integrator.addConstrainPositions()
        integrator.addComputePerDof("v", "v + (x - x1)/(0.5*dt)")

    integrator.addPerDofVariable("x1", 0.0)
    integrator.addComputeGlobal("gausslj_step", "gausslj_step + 1")
    first = "select(gausslj_step - 1, {old}, {new})"  # the new value on the first step only
    integrator.addComputeGlobal("gausslj_wr", first.format(old="gausslj_wr", new=parameter))
    integrator.addComputeGlobal("gausslj_rn", first.format(
        old="gausslj_rn", new="gausslj_ramp*step(abs(gausslj_w0 - gausslj_wr) - 1e-12)"))
    integrator.addComputeGlobal("gausslj_on", "step(gausslj_rn - gausslj_step)")
    # the ramp friction lasts through the ramp and, after one, the settle steps
    integrator.addComputeGlobal(
        "gausslj_hot", "step(gausslj_rn + gausslj_settle*step(gausslj_rn - 0.5) - gausslj_step)")
    integrator.addUpdateContextState()
    integrator.addComputePerDof("v", "v + 0.5*dt*f/m")
    integrator.addConstrainVelocities()
    drift()
    integrator.addComputePerDof(
        "v", "(a + gausslj_hot*(gausslj_ra - a))*v"
        " + (b + gausslj_hot*(gausslj_rb - b))*sqrt(kT/m)*gaussian")
    integrator.addConstrainVelocities()
    drift()
    frac = "min(max(gausslj_step - gausslj_rn, 0), gausslj_nsteps)/gausslj_nsteps"
    if schedule == "linear":
        expr = f"gausslj_w0 + (gausslj_w1 - gausslj_w0)*{frac}"
    else:
        expr = f"gausslj_w0*(gausslj_w1/gausslj_w0)^({frac})"
    ramp = "gausslj_wr + (gausslj_w0 - gausslj_wr)*gausslj_step/max(gausslj_rn, 1)"
    integrator.addComputeGlobal(parameter, f"select(gausslj_on, {ramp}, {expr})")
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
    w0, w1 = anneal_range(width_start, width_end, schedule)
    n = positive_int(n_steps, "n_steps")
    if system is not None:  # the schedule never exceeds width_start
        check_width_for_system(w0, system, "width_start", parameter)
    return t_k, gamma, dt, w0, w1, n


def ramp_arguments(ramp_steps, ramp_friction, dt: float) -> tuple[int, float, float]:
    """Checked ramp-in ``(steps, a, b)``: O-step coefficients at the ramp friction."""
    n = count(ramp_steps, "ramp_steps", minimum=0)
    gamma = scalar_float(ramp_friction, unit.picosecond**-1, "ramp_friction", minimum=0.0)
    a = math.exp(-gamma * dt)
    return n, a, math.sqrt(max(0.0, 1.0 - a * a))


def build_annealed_langevin(integrator, t_k, gamma, dt, w0, w1, n, schedule, parameter,
                            add_kt: bool = True, torsion_width_start=None,
                            ramp_steps=RAMP_STEPS, ramp_friction=RAMP_FRICTION,
                            settle_steps=SETTLE_STEPS) -> None:
    """Global variables (the whole schedule lives there) and the BAOAB steps."""
    a = math.exp(-gamma * dt)
    nr, ra, rb = ramp_arguments(ramp_steps, ramp_friction, dt)
    values = [("a", a), ("b", math.sqrt(max(0.0, 1.0 - a * a))),
              ("gausslj_step", 0.0), ("gausslj_nsteps", float(n)), ("gausslj_w0", w0),
              ("gausslj_w1", w1), ("gausslj_geometric", float(schedule == "geometric")),
              ("gausslj_ramp", float(nr)), ("gausslj_ra", ra), ("gausslj_rb", rb),
              ("gausslj_wr", w0), ("gausslj_rn", 0.0), ("gausslj_on", 0.0),
              ("gausslj_settle", float(count(settle_steps, "settle_steps", minimum=0))),
              ("gausslj_hot", 0.0)]
    if add_kt:
        values.append(("kT", (unit.MOLAR_GAS_CONSTANT_R * t_k * unit.kelvin).value_in_unit(
            unit.kilojoule_per_mole)))
    for name, value in values:
        integrator.addGlobalVariable(name, value)
    followers = ()
    if torsion_width_start is not None:
        followers = (_torsion_follower(integrator, torsion_width_start, w0, parameter),)
    _add_baoab_step(integrator, schedule, parameter, followers)


def torsion_start(tau0, w0: float) -> float:
    """The checked ``torsion_width_start``; the coupling ``tau0 * w / w0`` needs ``w0 > 0``."""
    from ..forces.torsions import check_torsion_width

    tau = check_torsion_width(tau0, "torsion_width_start")
    if w0 <= 0.0:
        raise ValueError("torsion_width_start needs a first width > 0 (it follows the LJ width)")
    return tau


def _torsion_follower(integrator, tau0, w0: float, parameter: str) -> tuple[str, str]:
    """``(gausslj_torsion_width, tau0 * width / w0)``: the torsion width follows the LJ's."""
    from ..forces.torsions import TORSION_WIDTH_PARAMETER

    tau = torsion_start(tau0, w0)
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

    @property
    def ramp_steps(self) -> int:
        """Steps of the ramp-in (0: none; the width jumps to ``width_start`` at reset)."""
        return int(round(self.getGlobalVariableByName("gausslj_ramp")))

    def width_at(self, step: int) -> float:
        """Scheduled width (nm) after ``step`` steps (the ramp-in included once it started)."""
        k, nr = max(int(step), 0), int(round(self.getGlobalVariableByName("gausslj_rn")))
        if k <= nr and nr:
            wr = self.getGlobalVariableByName("gausslj_wr")
            return wr + (self.width_start - wr) * k / nr
        frac = min(k - nr, self.n_steps) / self.n_steps
        return width_at(self.width_start, self.width_end, frac, self.schedule)

    def reset(self, context: mm.Context) -> None:
        """Restart the schedule: step counter 0; the width ramps in or is set.

        With ``ramp_steps > 0`` (default) the context's width is left where it is and the
        first ``ramp_steps`` steps move it to ``width_start`` (if it differs) at the ramp
        friction, so switching smoothing on does not heat the system (a coupled torsion
        width follows); with ``ramp_steps=0`` the width is set to ``width_start`` at once
        (and a coupled torsion width to ``torsion_width_start``). Checks the context's
        System (``width_start`` in range, no Drude particles). Positions are not looked at
        (reset may come before ``setPositions``); see
        :func:`openmm_gausslj.state.check_no_coincident` for coincident particles.
        """
        system = context.getSystem()
        refuse_drude(system, type(self).__name__)
        check_width_for_system(self.width_start, system, "width_start", self.parameter)
        warn_if_inexact(context, self.parameter)  # skipped before setPositions
        self.setGlobalVariableByName("gausslj_step", 0.0)
        self.setGlobalVariableByName("gausslj_rn", 0.0)
        if self.ramp_steps == 0:  # a coupled torsion width starts at torsion_width_start too
            names = {self.getGlobalVariableName(k) for k in range(self.getNumGlobalVariables())}
            tau0 = self.getGlobalVariableByName("gausslj_tau0") if "gausslj_tau0" in names \
                else None
            GaussLJState(self.width_start, self.parameter, torsion_width=tau0).apply_to_context(
                context)

    @property
    def step_count(self) -> int:
        """Steps taken since construction or the last :meth:`reset`."""
        return int(round(self.getGlobalVariableByName("gausslj_step")))


def _schedule_target(integrator) -> str | None:
    """The context parameter the schedule computes (not one of the integrator's globals)."""
    own = {integrator.getGlobalVariableName(k) for k in range(integrator.getNumGlobalVariables())}
    for k in range(integrator.getNumComputations()):
        kind, variable, expr = integrator.getComputationStep(k)
        if kind == mm.CustomIntegrator.ComputeGlobal and "gausslj_w0" in expr \
                and variable not in own:
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
        Schedule shape (see :func:`~openmm_gausslj.dynamics.schedules.schedule_widths`).
    parameter : str
        Name of the width context parameter.
    system : openmm.System, optional
        If given, ``width_start`` is checked against the table's range for this System.
    torsion_width_start : float, optional
        Couple the torsion width (radians, ``gausslj_torsion_width``; see
        :func:`openmm_gausslj.forces.torsions.smooth_torsions`) to the LJ width: after each step
        it is ``torsion_width_start * width / width_start``, so one schedule drives both
        and both reach 0 together. Periodic and RB torsions follow on the device; a
        smoothed CMAP cannot (its map is rebuilt from Python by ``set_torsion_width``).
    ramp_steps : int
        Ramp-in (default :data:`~openmm_gausslj.dynamics.switch_on.RAMP_STEPS`): if the context's
        width at the first step differs from ``width_start`` (e.g. an exact structure at
        width 0), the first ``ramp_steps`` steps move it there linearly, then the schedule
        runs its ``n_steps``. Switching 0 -> 0.05 nm at once heats a peptide to
        thousands of K (docs/openmm.md, "Switching smoothing on"). 0: no ramp.
    ramp_friction : float or Quantity
        Collision rate (1/ps) during the ramp-in (default
        :data:`~openmm_gausslj.dynamics.switch_on.RAMP_FRICTION`): carries the released potential
        energy to the bath while the structure relaxes to the smoothed surface.
    settle_steps : int
        After a ramp-in, steps more at ``ramp_friction`` (default
        :data:`~openmm_gausslj.dynamics.switch_on.SETTLE_STEPS`; the schedule already runs): the
        relaxation goes on after the ramp (chignolin: 364 K in steps 401-1,000 without).

    Notes
    -----
    :meth:`reset` sets the step counter to 0 (and, with ``ramp_steps=0``, the width to
    ``width_start``). The global variable ``gausslj_step`` counts the steps taken.
    Drude systems (a ``DrudeForce``) are refused (``system=`` or :meth:`reset`): this
    integrator would thermostat the Drude particles at ``temperature``.
    """

    def __init__(self, temperature, friction, timestep, width_start, width_end,
                 n_steps: int, schedule: str = "linear", parameter: str = WIDTH_PARAMETER,
                 system: mm.System | None = None, torsion_width_start=None,
                 ramp_steps: int = RAMP_STEPS, ramp_friction=RAMP_FRICTION,
                 settle_steps: int = SETTLE_STEPS) -> None:
        if system is not None:
            refuse_drude(system, type(self).__name__)
        t_k, gamma, dt, w0, w1, n = integrator_arguments(
            temperature, friction, timestep, width_start, width_end, n_steps, schedule,
            parameter, system)
        super().__init__(dt)
        build_annealed_langevin(self, t_k, gamma, dt, w0, w1, n, schedule, parameter,
                                torsion_width_start=torsion_width_start,
                                ramp_steps=ramp_steps, ramp_friction=ramp_friction,
                                settle_steps=settle_steps)
