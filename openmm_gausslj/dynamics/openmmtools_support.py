"""openmmtools integration (optional extra ``gausslj[openmmtools]``).

:class:`openmm_gausslj.GaussLJState` already implements openmmtools' composable-state
protocol without importing it. This module adds what needs openmmtools' classes:

* :class:`ThermostatedAnnealedLangevinIntegrator`: the annealed BAOAB integrator as an
  openmmtools ``ThermostatedIntegrator``, so that ``ThermodynamicState`` can set its
  temperature even on the plain ``CustomIntegrator`` a ``Context`` hands back (openmmtools
  restores the class from a hash global variable), as in ``ContextCache`` and MCMC moves.

Importing it raises ``ImportError`` when openmmtools is not installed.
"""

from __future__ import annotations

import openmm.unit as unit
from openmmtools.integrators import ThermostatedIntegrator

from ..forces.expressions import WIDTH_PARAMETER
from .integrator import AnnealingInterface, build_annealed_langevin, integrator_arguments
from .switch_on import RAMP_FRICTION, RAMP_STEPS, SETTLE_STEPS, refuse_drude

__all__ = ["ThermostatedAnnealedLangevinIntegrator"]


class ThermostatedAnnealedLangevinIntegrator(AnnealingInterface, ThermostatedIntegrator):
    """:class:`openmm_gausslj.AnnealedLangevinIntegrator` as an openmmtools integrator.

    Same arguments and dynamics (BAOAB with the width schedule on the device, the
    ramp-in included).
    """

    def __init__(self, temperature, friction, timestep, width_start, width_end,
                 n_steps: int, schedule: str = "linear", parameter: str = WIDTH_PARAMETER,
                 system=None, ramp_steps: int = RAMP_STEPS, ramp_friction=RAMP_FRICTION,
                 settle_steps: int = SETTLE_STEPS) -> None:
        if system is not None:
            refuse_drude(system, type(self).__name__)
        t_k, gamma, dt, w0, w1, n = integrator_arguments(
            temperature, friction, timestep, width_start, width_end, n_steps, schedule,
            parameter, system)
        ThermostatedIntegrator.__init__(self, t_k * unit.kelvin, dt)  # adds kT and the hash
        build_annealed_langevin(self, t_k, gamma, dt, w0, w1, n, schedule, parameter,
                                add_kt=False, ramp_steps=ramp_steps,
                                ramp_friction=ramp_friction, settle_steps=settle_steps)
