"""Switching smoothing on without heating the system, and the Drude refusal.

Setting the width of a running simulation from 0 to 0.05 nm at once raises the potential
energy of a peptide by thousands of kJ/mol at fixed positions (Ace-AGGFM-NME, amber14
vacuum: +5,700 kJ/mol); the structure then rolls down the smoothed surface and a 1/ps
thermostat cannot carry that heat away: the first 200 steps average ~2,100 K (issue 18,
chignolin: 2,300-2,750 K). A minimization at the new width instead cools it (~200 K, the
kinetic energy spreads into the now-relaxed potential). What works (measured, see
docs/openmm.md "Switching smoothing on"): move the width there over :data:`RAMP_STEPS`
steps with a strong collision rate :data:`RAMP_FRICTION`, so that the released energy goes
to the bath as it is released, then go on at the user's friction.

:class:`~openmm_gausslj.AnnealedLangevinIntegrator` does this on the device (its ramp-in);
:func:`ramp_width` does it from Python with any thermostated integrator (used by
:func:`~openmm_gausslj.anneal_simulation`).
"""

from __future__ import annotations

import openmm as mm
import openmm.unit as unit

from ..forces.expressions import WIDTH_PARAMETER
from ..inputs import positive_int, width_nm

__all__ = ["RAMP_STEPS", "RAMP_FRICTION", "SETTLE_STEPS", "ramp_width", "refuse_drude"]

RAMP_STEPS = 400
"""Default ramp-in length (steps): 0.8 ps at 2 fs (measured, docs/openmm.md)."""

RAMP_FRICTION = 100.0
"""Default collision rate (1/ps) during the ramp-in (measured, docs/openmm.md)."""

SETTLE_STEPS = 400
"""Default steps at the ramp friction after a ramp-in (measured, docs/openmm.md)."""

_RAMP_STAGES = 20  # Python-side stages: each width change re-integrates OpenMM's LRC


def refuse_drude(system: mm.System, who: str) -> None:
    """``ValueError`` if ``system`` has a ``DrudeForce`` (thermostatting it would be wrong).

    A single-temperature Langevin integrator heats the Drude oscillators to the bath
    temperature instead of keeping them cold (near their energy minimum), so the
    polarization is wrong; OpenMM's Drude integrators keep two temperatures.
    """
    drude = getattr(mm, "DrudeForce", None)
    if drude is None:
        return
    for k, f in enumerate(system.getForces()):
        if isinstance(f, drude):
            raise ValueError(
                f"system has a DrudeForce (force {k}): {who} would thermostat the Drude "
                "particles at the bath temperature (their oscillators must stay cold). Use "
                "openmm.DrudeLangevinIntegrator (or DrudeNoseHooverIntegrator) in an "
                "app.Simulation and anneal the width stage-wise with "
                "openmm_gausslj.anneal_simulation(simulation, widths, steps_per_width)")


def _thermostat(integrator):
    """``(set_friction or None, temperature in K or None)`` of an OpenMM integrator."""
    setter = getter = None
    if hasattr(integrator, "setFriction") and hasattr(integrator, "getFriction"):
        setter, getter = integrator.setFriction, integrator.getFriction
    temp = None
    if hasattr(integrator, "getTemperature"):
        t = integrator.getTemperature()
        temp = t.value_in_unit(unit.kelvin) if unit.is_quantity(t) else float(t)
    return (setter, getter), temp


def ramp_width(context: mm.Context, width, *, steps: int = RAMP_STEPS,
               friction: float = RAMP_FRICTION, parameter: str = WIDTH_PARAMETER,
               set_width=None, step=None, settle_steps: int = SETTLE_STEPS) -> int:
    """Move the width of a running context to ``width`` over ``steps`` steps of its integrator.

    The width moves linearly in ``min(steps, 20)`` stages, then ``settle_steps`` more
    steps are taken at the target (the structure goes on relaxing). A Langevin integrator
    (``setFriction``) runs ramp and settling at ``friction`` (1/ps) and gets its own
    collision rate back afterwards; another thermostated integrator (``getTemperature``) gets its
    velocities redrawn at its temperature after each stage; an integrator without a
    thermostat is only ramped. Returns the number of steps taken (0 if the width already
    equals ``width``). ``set_width(w)`` replaces ``context.setParameter(parameter, w)``
    (e.g. to move a coupled torsion width along); ``step(k)`` replaces
    ``integrator.step(k)`` (``simulation.step``, so that reporters see the ramp).
    """
    target = width_nm(width, "width")
    n = positive_int(steps, "steps")
    start = context.getParameter(parameter)
    if start == target:
        return 0
    integrator = context.getIntegrator()
    if set_width is None:
        def set_width(w: float) -> None:
            context.setParameter(parameter, w)
    (set_friction, get_friction), temp = _thermostat(integrator)
    old = get_friction() if set_friction is not None else None
    if set_friction is not None:
        set_friction(float(friction))
    stages = min(n, _RAMP_STAGES)
    done = 0
    try:
        for s in range(1, stages + 1):
            set_width(start + (target - start) * s / stages)
            k = n * s // stages - done
            (integrator.step if step is None else step)(k)
            done += k
            if set_friction is None and temp is not None:
                context.setVelocitiesToTemperature(temp * unit.kelvin)
        if settle_steps:
            (integrator.step if step is None else step)(int(settle_steps))
            done += int(settle_steps)
    finally:
        if set_friction is not None:
            set_friction(old)
    return done
