"""ASE-facing optimizers: Gaussian homotopy as an ASE optimizer, global minimization of Atoms.

* :class:`GaussianHomotopy` runs any ASE optimizer class at each width of a schedule on an
  ``Atoms`` whose calculator has a ``width`` parameter (e.g.
  :class:`~ase_gausslj.adapters.calculator.GaussianLJ`), finishing at width 0;
* :func:`global_minimize_atoms` runs :func:`~ase_gausslj.optimize.globalopt.global_minimize`
  on any ASE calculator, in its units (Angstrom, eV), through :class:`_ASEObjective`.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ..optimize.globalopt import global_minimize
from ..schedules import GeometricSchedule, WidthSchedule, as_schedule

__all__ = ["GaussianHomotopy", "global_minimize_atoms"]


class GaussianHomotopy:
    """ASE-optimizer-like Gaussian homotopy over an :class:`~ase.Atoms`.

    For each width of the schedule, sets ``atoms.calc.set(width=w)`` and runs an inner
    ASE optimizer; finishes at width 0.

    Parameters
    ----------
    atoms : ase.Atoms
        With a calculator that has a ``width`` parameter (e.g. ``GaussianLJ``).
    optimizer : type, optional
        An ASE optimizer class (``FIRE`` (default), ``BFGS``, ``LBFGS``, ``MDMin``,
        ``GPMin``, ``BFGSLineSearch``, ...), instantiated once per width.
    widths : schedule spec, optional
        Widths in Å (the calculator's length unit); default the paper's geometric
        widths scaled by the calculator's ``sigma`` when it is a single number
        (``sigma * 0.95**k`` down to ``0.025 sigma``), then 0.
    logfile : str, file or None
        ``'-'`` (default) for stdout, a path, or None; shared by all stages.
    trajectory : str, Trajectory or None
        One trajectory over all stages.
    optimizer_kwargs : dict, optional
        Extra keywords for the optimizer class.
    fmax_smoothed : float, optional
        Force tolerance (eV/Å) at the smoothed widths; default the ``fmax`` of
        :meth:`run`.
    steps_per_width : int, optional
        Step cap at each smoothed width; default the ``steps`` of :meth:`run`.

    Attributes
    ----------
    stages : list of dict
        Per width: ``width``, ``energy`` (at that width), ``steps``, ``converged``.
    """

    def __init__(self, atoms, optimizer=None, widths=None, *, logfile="-", trajectory=None,
                 optimizer_kwargs=None, fmax_smoothed: float | None = None,
                 steps_per_width: int | None = None):
        calc = atoms.calc
        if calc is None or "width" not in getattr(calc, "parameters", {}):
            raise ValueError("atoms: its calculator must have a 'width' parameter "
                             "(e.g. GaussianLJ)")
        if optimizer is None:
            from ase.optimize import FIRE

            optimizer = FIRE
        if not callable(optimizer):
            raise ValueError(f"optimizer must be an ASE optimizer class, got {optimizer!r}")
        if widths is None:
            sig = calc.parameters.get("sigma", 1.0)
            sig = list(sig.values()) if isinstance(sig, dict) else sig
            scale = float(np.max(sig))
            widths = GeometricSchedule(scale, 0.95, 0.025 * scale)
        self.atoms = atoms
        self.optimizer = optimizer
        self.schedule: WidthSchedule = as_schedule(widths)
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.fmax_smoothed = fmax_smoothed
        self.steps_per_width = steps_per_width
        self.observers: list = []
        self.stages: list[dict] = []
        self.nsteps = 0
        self._logfile = logfile
        self._trajectory = trajectory

    def attach(self, function, interval: int = 1, *args, **kwargs) -> None:
        """Attach an observer to every inner optimizer (ASE semantics)."""
        self.observers.append((function, interval, args, kwargs))

    def _log(self, fd, msg: str) -> None:
        if fd is not None:
            fd.write(msg + "\n")
            fd.flush()

    def run(self, fmax: float = 0.05, steps: int = 1000) -> bool:
        """Anneal through the schedule.

        Parameters
        ----------
        fmax : float
            Force tolerance (eV/Å) of the final, unsmoothed stage (and of the smoothed
            stages unless ``fmax_smoothed`` was given).
        steps : int
            Maximum optimizer steps per width (``steps_per_width`` overrides it for the
            smoothed widths).

        Returns
        -------
        bool
            Whether the final (width 0) stage converged to ``fmax``.
        """
        from ase.io.trajectory import Trajectory

        if not fmax > 0:
            raise ValueError(f"fmax must be > 0, got {fmax!r}")
        if int(steps) != steps or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        own_log = isinstance(self._logfile, str) and self._logfile != "-"
        fd = (sys.stdout if self._logfile == "-" else
              open(self._logfile, "a") if own_log else self._logfile)  # noqa: SIM115
        traj = self._trajectory
        own_traj = isinstance(traj, str)
        if own_traj:
            traj = Trajectory(traj, "w", self.atoms)
        converged = False
        try:
            ws = list(self.schedule.widths)
            for k, w in enumerate(ws):
                final = k == len(ws) - 1
                self.atoms.calc.set(width=w)
                f_tol = fmax if (final or self.fmax_smoothed is None) else self.fmax_smoothed
                n = steps if (final or self.steps_per_width is None) else self.steps_per_width
                self._log(fd, f"GaussianHomotopy: stage {k + 1}/{len(ws)} width {w:.6g}")
                opt = self.optimizer(self.atoms, logfile=fd, trajectory=traj,
                                     **self.optimizer_kwargs)
                for function, interval, args, kwargs in self.observers:
                    opt.attach(function, interval, *args, **kwargs)
                conv = bool(opt.run(fmax=f_tol, steps=n))
                self.nsteps += opt.nsteps
                e = float(self.atoms.get_potential_energy())
                self.stages.append({"width": float(w), "energy": e, "steps": int(opt.nsteps),
                                    "converged": conv})
                converged = conv if final else converged
        finally:
            if own_traj:
                traj.close()
            if own_log:
                fd.close()
        return converged


class _ASEObjective:
    """``(x_flat, width) -> (E, grad)`` through an ASE calculator that takes ``width``."""

    def __init__(self, atoms, calculator):
        self.atoms = atoms.copy()
        self.atoms.calc = calculator
        self.calc = calculator
        self.width = None

    def __call__(self, x: np.ndarray, width: float):
        if width != self.width:
            if width != 0.0 or "width" in getattr(self.calc, "parameters", {}):
                self.calc.set(width=float(width))
                self.calc.reset()
            self.width = width
        self.atoms.positions = np.asarray(x, dtype=np.float64).reshape(-1, 3)
        e = self.atoms.get_potential_energy()
        f = self.atoms.get_forces()
        return float(e), -np.asarray(f, dtype=np.float64).ravel()


def global_minimize_atoms(atoms, calculator=None, *, sigma: float | None = None,
                          epsilon: float | None = None, **kwargs):
    """Global minimization of an ASE ``Atoms`` with any calculator that has a width.

    The calculator must accept ``calc.set(width=...)`` (width in Angstrom, 0 = plain);
    for ``method='bh'`` any calculator works (the width stays 0 and ``set`` is only
    called if the calculator has a ``width`` parameter). Moves, widths and the guard
    radius are given in units of ``sigma`` and the temperature in units of ``epsilon``
    (taken from the calculator's parameters ``sigma``/``epsilon`` when they are scalars,
    else 1).

    Parameters
    ----------
    atoms : ase.Atoms
        Starting structure (its positions are the start unless ``random_start=True``);
        it is not modified.
    calculator : ase Calculator, optional
        Defaults to ``atoms.calc``.
    sigma, epsilon : float, optional
        Length and energy scales (override the calculator's parameters).
    **kwargs
        Passed to :func:`global_minimize` (``method``, ``budget``, ``seed``, ...).
        ``random_start=True`` starts from a random cluster instead of ``atoms``.

    Returns
    -------
    best : ase.Atoms
        Copy of ``atoms`` at the best structure found, with the calculator attached.
    result : GlobalOptResult
        The full result.
    """
    calc = calculator if calculator is not None else atoms.calc
    if calc is None:
        raise ValueError("calculator must be given (or attached to atoms)")
    params = getattr(calc, "parameters", {}) or {}

    def scale(value, key):
        if value is None:
            value = params.get(key, 1.0)
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = 1.0  # per-atom arrays: keep reduced-looking defaults
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{key} must be positive and finite, got {value!r}")
        return value

    sig = scale(sigma, "sigma")
    eps = scale(epsilon, "epsilon")
    random_start = kwargs.pop("random_start", False)
    if "objective" in kwargs:
        raise ValueError("objective is built from calculator; do not pass it")
    obj = _ASEObjective(atoms, calc)
    first = len(atoms) if random_start else atoms.get_positions()
    res = global_minimize(first, objective=obj, length_scale=sig, energy_scale=eps, **kwargs)
    best = atoms.copy()
    best.positions = res.positions + atoms.get_positions().mean(axis=0)
    best.calc = calc
    if "width" in getattr(calc, "parameters", {}):
        calc.set(width=0.0)
        calc.reset()
    return best, res
