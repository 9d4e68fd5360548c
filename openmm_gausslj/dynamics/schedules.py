"""Width schedules of the annealing integrators (linear or geometric), as widths or as an
``ase_gausslj.schedules.WidthSchedule``.

The device-side integrator (:mod:`openmm_gausslj.dynamics.integrator`) evaluates the same
formulas per step; :func:`width_at` is their one Python copy.
"""

from __future__ import annotations

import numpy as np

from ase_gausslj.schedules import (
    ExplicitSchedule,
    LinearSchedule,
    WidthSchedule,
    check_anneal_range,
)

from ..inputs import positive_int, width_nm

__all__ = ["SCHEDULES", "anneal_range", "schedule_widths", "width_at", "width_schedule"]

SCHEDULES = ("linear", "geometric")


def anneal_range(width_start, width_end, schedule: str) -> tuple[float, float]:
    """The schedule's end points in nm, checked by the package's one annealing rule."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    w0, w1 = check_anneal_range(width_nm(width_start, "width_start"),
                                width_nm(width_end, "width_end"))
    if schedule == "geometric" and w1 <= 0:
        raise ValueError("a geometric schedule needs width_start > 0 and width_end > 0")
    return w0, w1


def width_at(w0: float, w1: float, frac: float, schedule: str) -> float:
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
    w0, w1 = anneal_range(width_start, width_end, schedule)
    n = positive_int(n_steps, "n_steps")
    if schedule == "linear":
        return LinearSchedule(w0, n + 1, stop=w1)
    return ExplicitSchedule([width_at(w0, w1, k / n, schedule) for k in range(n + 1)])


def schedule_widths(width_start, width_end, n_steps: int, schedule: str = "linear") -> np.ndarray:
    """Widths ``w_0 .. w_n`` (nm) of a schedule; ``w_k`` is the width after ``k`` steps.

    ``linear``: ``w0 + (w1 - w0) k / n``; ``geometric``: ``w0 (w1 / w0)^(k / n)`` (both
    widths > 0). Beyond ``n`` the width stays at ``w1``. Annealing never increases the
    width: ``width_end > width_start`` is a ``ValueError``
    (``ase_gausslj.schedules.check_anneal_range``).
    """
    n = positive_int(n_steps, "n_steps")
    return np.asarray(width_schedule(width_start, width_end, n, schedule).widths[: n + 1])
