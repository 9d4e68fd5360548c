"""Annealing the width of an OpenMM Context from Python, stage by stage.

* :func:`anneal_simulation`: stage-by-stage annealing of an ``app.Simulation`` with any
  integrator (one ``setParameter`` per stage, ramping in from the context's width).
* :func:`homotopy_minimize_context`: ``LocalEnergyMinimizer`` at each width of a decreasing
  sequence, then at width 0 (Gaussian homotopy continuation of a Context, in place). Named
  apart from ``ase_gausslj.homotopy_minimize``, which minimizes bare positions with the
  package's own optimizers and returns a ``HomotopyResult``.

The device-side alternative (the width moves every step) is
:class:`~openmm_gausslj.dynamics.integrator.AnnealedLangevinIntegrator`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import openmm as mm
import openmm.unit as unit

from ase_gausslj.core.validation import count
from ase_gausslj.schedules import check_non_increasing

from ..exactness import warn_if_inexact
from ..forces.expressions import WIDTH_PARAMETER
from ..inputs import positive_int, scalar_float, width_nm
from ..molecules.stereo_guard import DEFAULT_STEREO_GUARD, StereoGuard, guard_parameters
from ..state import check_no_coincident, check_width_for_system
from .dispersal import StageResult, judge, snapshot, thermal_margin
from .integrator import torsion_start
from .switch_on import RAMP_STEPS, ramp_width

__all__ = ["anneal_simulation", "homotopy_minimize_context"]


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
    from ..forces.torsions import set_torsion_width

    tau0 = torsion_start(torsion_width_start, w0)

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
    ramp_steps: int = RAMP_STEPS,
    stereo_guard: str = DEFAULT_STEREO_GUARD,
) -> StageResult:
    """Anneal an ``app.Simulation`` stage by stage with its own integrator.

    For each width (nm) the context parameter is set (checked against the table's range)
    and ``steps_per_width`` steps are taken (optionally preceded by a local
    minimization). Returns a :class:`~openmm_gausslj.dynamics.dispersal.StageResult`:
    ``[(width, potential energy in kJ/mol)]`` at the end of each stage, with ``success``
    False (and a ``RuntimeWarning``) when the run dispersed (molecules drifted apart, or
    the exact energy ended more than ``3 N k_B T`` above the start, checked when the
    last width is 0).
    ``callback(width, simulation)`` is called after each stage. With
    ``torsion_width_start`` (radians) the torsion width follows the width,
    ``tau = torsion_width_start * w / widths[0]`` (smoothed CMAP included).

    With dynamics (``steps_per_width > 0``) and a context whose width differs from
    ``widths[0]`` (an exact structure at 0), the width first ramps there over
    ``ramp_steps`` steps (:func:`~openmm_gausslj.dynamics.switch_on.ramp_width`: a Langevin
    integrator at 100/ps meanwhile), so switching smoothing on does not heat the system;
    ``ramp_steps=0`` jumps.

    ``stereo_guard``: as in :func:`homotopy_minimize_context`, with the Simulation's topology
    (``result.stereo``).
    """
    n = 0 if steps_per_width == 0 else positive_int(steps_per_width, "steps_per_width")
    context = simulation.context
    ws = _stage_widths(widths, context, parameter)
    set_widths = _stage_setter(context, parameter, ws[0], torsion_width_start)
    warn_if_inexact(context, parameter)
    start = snapshot(context, parameter)
    out = []
    guard = StereoGuard(context, getattr(simulation, "topology", None), stereo_guard,
                        guard_parameters(parameter))
    with guard:  # the ramp too: it runs at widths > 0
        if n and ramp_steps:
            ramp_width(context, ws[0], steps=ramp_steps, parameter=parameter,
                       set_width=set_widths, step=simulation.step)
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
    margin = thermal_margin(context) if ws[-1] == 0.0 else float("inf")  # exact end only
    return guard.result(judge(out, start, snapshot(context, parameter), margin,
                              "anneal_simulation"))


def homotopy_minimize_context(
    context: mm.Context,
    widths: Iterable,
    *,
    tolerance=10.0,
    max_iterations: int = 0,
    parameter: str = WIDTH_PARAMETER,
    final_width: float | None = 0.0,
    torsion_width_start=None,
    topology=None,
    stereo_guard: str = DEFAULT_STEREO_GUARD,
) -> StageResult:
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
    topology : openmm.app.Topology, optional
        The molecule's topology: enables the stereo guard (without it nothing is checked).
    stereo_guard : {"restrain", "check", "off"}
        With ``topology``: peptide bonds and stereocentres compared before and after
        (``result.stereo``; a ``RuntimeWarning`` on a change) and, by default, restrained
        while the width is > 0 (:mod:`openmm_gausslj.molecules.stereo_guard`).

    Returns
    -------
    StageResult
        ``[(width, energy in kJ/mol)]`` after each stage; ``success`` is False (with a
        ``RuntimeWarning``) when the homotopy dispersed: molecules in contact at the start
        drifted apart, or the exact energy ended above the start's (by more than
        ``max(1, 1e-4 |E_start|)`` kJ/mol: worse than not minimizing at all). ``stereo``: the
        :class:`~openmm_gausslj.molecules.stereo.StereoReport` (``None`` without ``topology``).
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
    max_iterations = count(max_iterations, "max_iterations", minimum=0)
    set_widths = _stage_setter(context, parameter, ws[0], torsion_width_start)
    warn_if_inexact(context, parameter)
    start = snapshot(context, parameter)
    out = []
    guard = StereoGuard(context, topology, stereo_guard, guard_parameters(parameter))
    with guard:
        for w in ws:
            set_widths(w)
            mm.LocalEnergyMinimizer.minimize(context, tol, max_iterations)
            e = context.getState(getEnergy=True).getPotentialEnergy()
            out.append((w, e.value_in_unit(unit.kilojoule_per_mole)))
    margin = max(1.0, 1e-4 * abs(start.energy)) if ws[-1] == 0.0 else float("inf")
    return guard.result(judge(out, start, snapshot(context, parameter), margin,
                              "homotopy_minimize_context"))
