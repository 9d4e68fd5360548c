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

from ..core.defaults import R_CORE
from ..defaults import HOMOTOPY
from ..optimize.dispersal import dispersal, warn_dispersed
from ..optimize.globalopt import global_minimize
from ..optimize.homotopy import default_schedule
from ..schedules import WidthSchedule, as_schedule

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
        Widths in Å (the calculator's length unit); default
        :func:`~ase_gausslj.optimize.homotopy.default_schedule` scaled by the smallest
        ``sigma`` of the calculator: first width ~0.3 sigma (the smoothed pair well still
        binds by 0.04 eps; the paper's 1 sigma makes a gas), factor 0.8 down to
        0.025 sigma, then 0.
    logfile : str, file or None
        ``'-'`` (default) for stdout, a path, or None; shared by all stages.
    trajectory : str, Trajectory or None
        One trajectory over all stages.
    optimizer_kwargs : dict, optional
        Extra keywords for the optimizer class.
    fmax_smoothed : float, optional
        Force tolerance (eV/Å) at the smoothed widths; default the smaller of the
        ``fmax`` of :meth:`run` and 0.05 epsilon/sigma of the calculator (ASE's 0.05 eV/Å
        is 16 eps/sigma for argon: the smoothed stages would stop at once, far apart).
    steps_per_width : int, optional
        Step cap at each smoothed width; default the ``steps`` of :meth:`run`.
    compare_plain : bool
        Also run the optimizer at width 0 from the start and keep that minimum when it
        is lower (default True: one homotopy is not lower than one plain minimization
        from every start; see docs/when-to-smooth.md).

    Attributes
    ----------
    stages : list of dict
        Per width: ``width``, ``energy`` (at that width), ``steps``, ``converged``.
    dispersed : bool
        The homotopy ended with atoms out of LJ range of the rest, much larger than the
        start or above its energy (``dispersal`` lists why); :meth:`run` then returns
        False and warns (:class:`~ase_gausslj.optimize.dispersal.HomotopyDispersedWarning`).
    homotopy_energy, plain_energy : float or None
        Final energies of the homotopy and of the plain comparison.
    used_plain : bool
        The atoms hold the plain minimum (it was lower).
    """

    def __init__(self, atoms, optimizer=None, widths=None, *, logfile="-", trajectory=None,
                 optimizer_kwargs=None, fmax_smoothed: float | None = None,
                 steps_per_width: int | None = None,
                 compare_plain: bool = HOMOTOPY.compare_plain):
        calc = atoms.calc
        if calc is None or "width" not in getattr(calc, "parameters", {}):
            raise ValueError("atoms: its calculator must have a 'width' parameter "
                             "(e.g. GaussianLJ)")
        if optimizer is None:
            from ase.optimize import FIRE

            optimizer = FIRE
        if not callable(optimizer):
            raise ValueError(f"optimizer must be an ASE optimizer class, got {optimizer!r}")
        sig, eps = (_param_values(calc, k) for k in ("sigma", "epsilon"))
        self._sigma_max = float(np.max(sig))
        self._force_unit = float(np.min(eps)) / self._sigma_max
        if widths is None:
            widths = default_schedule(float(np.min(sig)),
                                      float(calc.parameters.get("r_core", R_CORE)))
        self.compare_plain = bool(compare_plain)
        self.dispersed = False
        self.dispersal: list[str] = []
        self.homotopy_energy: float | None = None
        self.plain_energy: float | None = None
        self.used_plain = False
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
            Force tolerance (eV/Å) of the final, unsmoothed stage (and of the plain
            comparison).
        steps : int
            Maximum optimizer steps per width (``steps_per_width`` overrides it for the
            smoothed widths).

        Returns
        -------
        bool
            Whether the final (width 0) stage converged to ``fmax`` and the homotopy did
            not disperse (a dispersed run returns False even when the plain comparison
            left the atoms in a good minimum).
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
        try:
            start = self.atoms.get_positions()
            self.atoms.calc.set(width=0.0)
            e_start = float(self.atoms.get_potential_energy())
            converged = self._anneal(fd, traj, fmax, steps)
            e = self.homotopy_energy = float(self.atoms.get_potential_energy())
            self.dispersal = dispersal(self.atoms.get_positions(), start,
                                       sigma=self._sigma_max, energy=e, start_energy=e_start,
                                       geometry=not self.atoms.pbc.any())
            self.dispersed = bool(self.dispersal)
            if self.dispersed:
                warn_dispersed(self.dispersal, "GaussianHomotopy")
            if self.compare_plain and self.schedule.widths[0] > 0.0:
                converged = self._plain(fd, traj, start, fmax, steps, converged)
        finally:
            if own_traj:
                traj.close()
            if own_log:
                fd.close()
        return converged and not self.dispersed

    def _optimize(self, fd, traj, fmax: float, steps: int) -> tuple[bool, int]:
        opt = self.optimizer(self.atoms, logfile=fd, trajectory=traj, **self.optimizer_kwargs)
        for function, interval, args, kwargs in self.observers:
            opt.attach(function, interval, *args, **kwargs)
        conv = bool(opt.run(fmax=fmax, steps=steps))
        self.nsteps += opt.nsteps
        return conv, int(opt.nsteps)

    def _anneal(self, fd, traj, fmax: float, steps: int) -> bool:
        ws = list(self.schedule.widths)
        f_smooth = (min(fmax, HOMOTOPY.fmax_smoothed * self._force_unit)
                    if self.fmax_smoothed is None else self.fmax_smoothed)
        converged = False
        for k, w in enumerate(ws):
            final = k == len(ws) - 1
            self.atoms.calc.set(width=w)
            n = steps if (final or self.steps_per_width is None) else self.steps_per_width
            self._log(fd, f"GaussianHomotopy: stage {k + 1}/{len(ws)} width {w:.6g}")
            conv, nsteps = self._optimize(fd, traj, fmax if final else f_smooth, n)
            self.stages.append({"width": float(w),
                                "energy": float(self.atoms.get_potential_energy()),
                                "steps": nsteps, "converged": conv})
            converged = conv if final else converged
        return converged

    def _plain(self, fd, traj, start, fmax: float, steps: int, converged: bool) -> bool:
        """Plain minimization from ``start``; keep it when lower. Returns ``converged``."""
        x_h = self.atoms.get_positions()
        self.atoms.calc.set(width=0.0)
        self.atoms.positions = start
        self._log(fd, "GaussianHomotopy: plain minimization from the start (comparison)")
        conv, _ = self._optimize(fd, traj, fmax, steps)
        self.plain_energy = float(self.atoms.get_potential_energy())
        e_h = float(self.homotopy_energy)
        self.used_plain = self.plain_energy < e_h - 1e-8 * max(1.0, abs(e_h))
        if self.used_plain:
            return conv
        self.atoms.positions = x_h
        return converged


def _param_values(calc, key: str) -> np.ndarray:
    """A calculator parameter (number, per-atom array or per-species dict) as an array."""
    v = calc.parameters.get(key, 1.0)
    v = list(v.values()) if isinstance(v, dict) else v
    return np.atleast_1d(np.asarray(v, dtype=np.float64))


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
