"""The stereo guard of the smoothed paths that work on a live Context.

:func:`openmm_gausslj.dynamics.drivers.homotopy_minimize_context` and
:func:`~openmm_gausslj.dynamics.drivers.anneal_simulation` run inside a :class:`StereoGuard`:
the peptide bonds and stereocentres are read before, restraints
(:func:`openmm_gausslj.molecules.stereo.add_stereo_restraints`,
active only while a width is > 0) are
added to the context's System for the run and removed afterwards (two
``Context.reinitialize(preserveState=True)``), and what changed is reported in the result
(:class:`StageEnergies`) and by a ``RuntimeWarning``.
"""

from __future__ import annotations

import warnings

import openmm as mm
import openmm.unit as unit

from .stereo import (
    STEREO_FORCE_NAME,
    StereoReport,
    add_stereo_restraints,
    compare_stereo,
    find_stereo_sites,
)

__all__ = ["StereoGuard", "StageEnergies", "STEREO_GUARDS", "DEFAULT_STEREO_GUARD",
           "guard_parameters"]

#: ``"restrain"``: check and restrain; ``"check"``: check and report only; ``"off"``.
STEREO_GUARDS = ("restrain", "check", "off")
#: Measured (docs/openmm.md, "Stereochemistry under smoothing"): without restraints
#: amber14 peptides flip bonds to cis at 0.04-0.05 nm; with them no flip was seen.
DEFAULT_STEREO_GUARD = "restrain"


def guard_parameters(parameter: str) -> tuple[str, str]:
    """The widths that switch the restraints on: the LJ's and the torsions'."""
    from ..forces.torsions import TORSION_WIDTH_PARAMETER

    return parameter, TORSION_WIDTH_PARAMETER


class StageEnergies(list):
    """``[(width, energy)]`` of the stages, with ``stereo``: the :class:`StereoReport` of
    the run (``None`` when no topology was given or the guard was off)."""

    stereo: StereoReport | None = None


def _positions(context: mm.Context):
    return context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(
        unit.nanometer)


class StereoGuard:
    """Context manager around a smoothed run on ``context`` (see the module docstring)."""

    def __init__(self, context: mm.Context, topology, mode: str, parameters: tuple[str, ...]):
        if mode not in STEREO_GUARDS:
            raise ValueError(f"stereo_guard must be one of {STEREO_GUARDS}, got {mode!r}")
        self.context, self.parameters = context, tuple(parameters)
        self.mode = "off" if topology is None else mode
        self.topology = topology
        self.sites = self.start = self._index = None
        self.report: StereoReport | None = None

    def __enter__(self) -> StereoGuard:
        if self.mode == "off":
            return self
        self.sites = find_stereo_sites(self.topology)
        if self.topology.getNumAtoms() != self.context.getSystem().getNumParticles():
            raise ValueError(f"topology has {self.topology.getNumAtoms()} atoms, the context "
                             f"{self.context.getSystem().getNumParticles()}")
        self.start = _positions(self.context)
        system = self.context.getSystem()  # the Context's own System (not a copy)
        present = any(f.getName() == STEREO_FORCE_NAME for f in system.getForces())
        has_sites = len(self.sites.omegas) + len(self.sites.centres) > 0
        if self.mode == "restrain" and has_sites and not present:
            self._index = add_stereo_restraints(system, self.topology, self.start,
                                                parameters=self.parameters, sites=self.sites)
            self.context.reinitialize(preserveState=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._index is not None:  # give the user's System back as it was
            self.context.getSystem().removeForce(self._index)
            self._index = None
            self.context.reinitialize(preserveState=True)
        if exc_type is None and self.mode != "off":
            self.report = compare_stereo(self.sites, self.start, _positions(self.context))
            self.report.guarded = self.mode == "restrain"
            if self.report.changed:
                warnings.warn(f"stereochemistry changed during the smoothed run "
                              f"({self.report.summary()})", RuntimeWarning, stacklevel=3)

    def result(self, stages: list) -> list:
        """``stages`` with ``.stereo`` set (a plain list becomes a :class:`StageEnergies`)."""
        out = StageEnergies(stages) if type(stages) is list else stages
        out.stereo = self.report
        return out
