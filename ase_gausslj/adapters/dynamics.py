"""Width annealing for ASE dynamics: :class:`AnnealedLangevin` and a schedule observer.

The Gaussian width of a calculator with a ``width`` parameter (e.g.
:class:`~ase_gausslj.adapters.calculator.GaussianLJ`) follows a
:class:`~ase_gausslj.schedules.WidthSchedule` step by step:

* :class:`AnnealedLangevin` is :class:`ase.md.langevin.Langevin` (same keywords:
  ``temperature_K``, ``friction``, ``rng``, ``fixcm``, ``logfile``, ``trajectory``, ...)
  whose step ``n`` is taken on the potential at ``schedule.width_at(n, steps_per_width)``.
  ``fixcm`` defaults to ``False``, as current ASE asks (``fixcm=True`` is deprecated since
  ASE 3.28 and warns on every construction); fix the centre of mass with
  ``atoms.set_constraint(ase.constraints.FixCom())`` instead.
* :class:`WidthScheduleObserver` can be attached to *any* ASE dynamics or optimizer
  (``dyn.attach(observer)``) and sets the width from the dynamics' step counter, or,
  with a :class:`~ase_gausslj.schedules.PlateauSchedule`, applies the paper's
  gradient-norm trigger to the current forces.
"""

from __future__ import annotations

import operator

import numpy as np
from ase.md.langevin import Langevin

from ..core.validation import check_finite_nonneg
from ..schedules import PlateauSchedule, WidthSchedule, as_schedule

__all__ = ["AnnealedLangevin", "WidthScheduleObserver"]


def _check_calc(atoms):
    calc = atoms.calc
    if calc is None or "width" not in getattr(calc, "parameters", {}):
        raise ValueError("atoms: its calculator must have a 'width' parameter "
                         "(e.g. GaussianLJ)")
    return calc


def _check_spw(steps_per_width) -> int:
    try:
        # operator.index accepts ints and integer numpy scalars, never 1.5 or "2"
        spw = operator.index(steps_per_width)
    except TypeError:
        spw = None
    if spw is None or isinstance(steps_per_width, (bool, np.bool_)) or spw < 1:
        raise ValueError(f"steps_per_width must be a positive integer, got {steps_per_width!r}")
    return spw


def _check_scalar(value, name: str, *, strict: bool) -> None:
    """Finite and >= 0 (> 0 if ``strict``); ``None`` passes (Langevin's own default)."""
    if value is None:
        return
    arr = check_finite_nonneg(value, name)  # friction may be per-atom
    if strict and (arr.size == 0 or np.any(arr == 0.0)):
        raise ValueError(f"{name} must be > 0, got {value!r}")


def _check_langevin_args(timestep, kwargs: dict) -> None:
    """Reject what ASE's Langevin accepts and then turns into NaN positions."""
    if timestep is None:
        raise ValueError("timestep must be a finite number > 0, got None")
    _check_scalar(timestep, "timestep", strict=True)
    for name in ("temperature_K", "temperature", "friction"):
        _check_scalar(kwargs.get(name), name, strict=False)


_GLOBAL_RNG = "numpy.random"  # stands for the module in a pickled AnnealedLangevin


class AnnealedLangevin(Langevin):
    """Langevin dynamics whose Gaussian width follows a schedule.

    Parameters
    ----------
    atoms : ase.Atoms
        With a calculator that has a ``width`` parameter.
    timestep : float
        Time step in ASE units.
    schedule : schedule spec
        Anything :func:`~ase_gausslj.schedules.as_schedule` accepts; widths in Å. After
        the last width the dynamics continues at width 0.
    steps_per_width : int, optional
        MD steps taken at each width (default 1).
    **kwargs
        Passed to :class:`ase.md.langevin.Langevin` (``temperature_K``, ``friction``,
        ``rng``, ``fixcm``, ``logfile``, ``trajectory``, ``loginterval``, ...).
        ``fixcm`` defaults to ``False`` (see the module notes).

    Raises
    ------
    ValueError
        For a ``timestep`` that is not > 0, a negative or non-finite ``temperature_K``
        (``temperature``) or ``friction``, a ``steps_per_width`` that is not a positive
        integer, or a calculator without a ``width`` parameter, naming the argument.

    Notes
    -----
    Step ``n`` (counted by ``self.nsteps``) integrates the potential at width
    ``schedule.width_at(n, steps_per_width)``: both half-kicks of the step use that
    width, so a step that changes the width costs one extra force evaluation.

    Examples
    --------
    >>> from ase import units
    >>> dyn = AnnealedLangevin(atoms, 5 * units.fs, LinearSchedule(1.0, 200),
    ...                        temperature_K=30, friction=0.01,
    ...                        rng=np.random.default_rng(0))  # doctest: +SKIP
    >>> dyn.run(250)  # doctest: +SKIP
    """

    def __init__(self, atoms, timestep: float, schedule, *, steps_per_width: int = 1,
                 **kwargs):
        self.calc = _check_calc(atoms)
        self.schedule: WidthSchedule = as_schedule(schedule)
        self.steps_per_width = _check_spw(steps_per_width)
        _check_langevin_args(timestep, kwargs)
        kwargs.setdefault("fixcm", False)  # True is deprecated and warns (ASE >= 3.28)
        super().__init__(atoms, timestep, **kwargs)
        self.calc.set(width=self.current_width)

    def __getstate__(self) -> dict:
        # ASE's default rng is the numpy.random module, which does not pickle: the copy
        # draws from numpy's global generator of its own process, as the original does
        state = self.__dict__.copy()
        if state.get("rng") is np.random:
            state["rng"] = _GLOBAL_RNG
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state.get("rng"), str) and state["rng"] == _GLOBAL_RNG:
            state["rng"] = np.random
        self.__dict__.update(state)

    @property
    def current_width(self) -> float:
        """The width used by the next step."""
        return self.schedule.width_at(self.nsteps, self.steps_per_width)

    def step(self, forces=None):
        """One Langevin step at the scheduled width (see class notes)."""
        w = self.current_width
        if w != self.atoms.calc.parameters.width:
            self.atoms.calc.set(width=w)
            forces = None
        return super().step(forces)


class WidthScheduleObserver:
    """Attachable observer that anneals the calculator's width.

    Parameters
    ----------
    atoms : ase.Atoms
        With a calculator that has a ``width`` parameter.
    schedule : schedule spec
        Widths (Å). With a :class:`~ase_gausslj.schedules.PlateauSchedule` the width
        advances when the 2-norm of the forces (eV/Å) falls below its ``gtol``;
        otherwise it follows the step counter.
    dynamics : ase Dynamics, optional
        Whose ``nsteps`` is the step counter; without it, calls are counted.
    steps_per_width : int, optional
        Steps at each width (default 1).

    Examples
    --------
    >>> dyn = VelocityVerlet(atoms, 1 * units.fs)  # doctest: +SKIP
    >>> dyn.attach(WidthScheduleObserver(atoms, LinearSchedule(0.5, 100), dyn))
    ...  # doctest: +SKIP

    Notes
    -----
    ASE calls observers after each step (and once before the first): the width set by
    the call after step ``n`` is the one step ``n + 1`` uses. ASE dynamics cache their
    forces, so the first step after a change still uses forces computed at the old
    width for its first half-kick; use :class:`AnnealedLangevin` where that matters.
    """

    def __init__(self, atoms, schedule, dynamics=None, steps_per_width: int = 1):
        self.atoms = atoms
        _check_calc(atoms)
        self.schedule: WidthSchedule = as_schedule(schedule)
        self.dynamics = dynamics
        self.steps_per_width = _check_spw(steps_per_width)
        self.calls = 0
        self.history: list[float] = []
        if isinstance(self.schedule, PlateauSchedule):
            self.schedule.reset()

    def __call__(self) -> None:
        """Set the width for the next step."""
        calc = self.atoms.calc
        if isinstance(self.schedule, PlateauSchedule):
            f = self.atoms.get_forces()
            self.schedule.update(float(np.sqrt(np.sum(f * f))))
            w = self.schedule.width
        else:
            step = self.dynamics.nsteps if self.dynamics is not None else self.calls
            w = self.schedule.width_at(step, self.steps_per_width)
        self.calls += 1
        if w != calc.parameters.width:
            calc.set(width=w)
        self.history.append(w)
