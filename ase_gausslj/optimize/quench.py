"""Quench strategies of basin hopping: the local search after each step.

* :class:`PlainQuench`: L-BFGS on the plain energy (width 0), then the evaporation guard;
* :class:`SmoothedQuench`: first minimize the smoothed energy at each width of a ladder
  (coarse to fine, loose tolerance: it only picks a basin), then as :class:`PlainQuench`
  (two-phase local search in the spirit of Locatelli & Schoen 2002);
* :class:`HomotopyQuench`: a whole Gaussian-homotopy run from the given start
  (:func:`~ase_gausslj.optimize.homotopy.homotopy_minimize`) on the *caller's* objective,
  then an L-BFGS polish at width 0;
* :class:`CompiledQuench`: :class:`PlainQuench` or :class:`SmoothedQuench` on the compiled
  L-BFGS and guard (:func:`~ase_gausslj.optimize.compiled.quench.lj_quench`: ladder, width
  0, guard, centring) when the objective is the project's ``SmoothedLJ`` (``minimizer='compiled'``).

A quench is called ``quench(x, rng, deep=False) -> (x, e)`` and has ``polish(x, e)``; a
user's quench (``global_minimize(quench=...)``) needs only the call.

Every quench works on the caller's objective ``objective(x_flat, width) -> (E, grad)`` in
the caller's units; settings in reduced units are scaled by ``length_scale`` and
``energy_scale`` here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..schedules import PlateauSchedule, WidthSchedule, as_schedule
from .local import lbfgs, lj_potential
from .moves import GUARD_ROUNDS

__all__ = ["Objective", "PlainQuench", "SmoothedQuench", "HomotopyQuench", "CompiledQuench"]

Objective = Callable[[np.ndarray, float], "tuple[float, np.ndarray]"]

class PlainQuench:
    """L-BFGS on the plain energy, then the evaporation guard.

    Parameters
    ----------
    objective : callable
        ``objective(x_flat, width) -> (E, grad_flat)`` in the caller's units.
    gtol : float
        Gradient tolerance of the plain minimization (caller's energy/length units).
    maxiter : int
        L-BFGS iteration cap per minimization.
    radius : float
        Evaporation-guard radius (caller's length unit).
    minimizer : str
        L-BFGS backend (see :mod:`ase_gausslj.optimize.local`).
    polish_gtol : float
        Tolerance of :meth:`polish` (0: no polish); lets the search quench loosely and
        re-minimize only its new bests.
    """

    def __init__(self, objective: Objective, *, gtol: float, maxiter: int, radius: float,
                 minimizer: str = "scipy", polish_gtol: float = 0.0):
        self.objective = objective
        self.gtol = float(gtol)
        self.maxiter = int(maxiter)
        self.radius = float(radius)
        self.minimizer = minimizer
        self.polish_gtol = float(polish_gtol)

    def polish(self, x: np.ndarray, e: float) -> tuple[np.ndarray, float]:
        """A new best: re-minimized at width 0 to ``polish_gtol`` (if > 0), centred.

        The energy returned is the objective's at the returned positions (one evaluation
        per new best), so a result, or a resumed state, reports the energy of its
        positions bit for bit.
        """
        if self.polish_gtol > 0.0:
            xp, ep = self.minimize(x, 0.0, self.polish_gtol)
            if ep <= e:
                x = xp - xp.mean(axis=0)
        return x, self._energy(x)

    def _energy(self, x: np.ndarray) -> float:
        return float(self.objective(np.ravel(x), 0.0)[0])

    def minimize(self, x: np.ndarray, width: float, gtol: float) -> tuple[np.ndarray, float]:
        """L-BFGS on the energy at ``width``; ``(positions (N, 3), energy)``."""
        obj = self.objective
        if self.minimizer == "compiled":
            from .compiled import LJObjective  # lazy: numba

            fg = LJObjective(lj_potential(obj), width)
        else:
            def fg(v):
                e, g = obj(v, width)
                return float(e), np.asarray(g, dtype=np.float64)

        res = lbfgs(fg, np.asarray(x, dtype=np.float64).ravel(), steps=self.maxiter,
                    gtol=gtol, backend=self.minimizer)
        return res.x.reshape(-1, 3), res.energy

    def _final(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        from .compiled.quench import guard  # the one guard (numba)

        x, e = self.minimize(x, 0.0, self.gtol)
        # the same block of draws as CompiledQuench, so both backends see one stream
        normals = rng.normal(size=(GUARD_ROUNDS, *x.shape))
        for k in range(GUARD_ROUNDS):
            x = np.array(x, dtype=np.float64)
            if guard(x.ravel(), self.radius, normals[k], np.empty(len(x) + 3)) == 0:
                break
            x, e = self.minimize(x, 0.0, self.gtol)
        return x - x.mean(axis=0), e

    def __call__(self, x: np.ndarray, rng: np.random.Generator,
                 deep: bool = False) -> tuple[np.ndarray, float]:
        """Quench ``x``; ``(centred positions, plain energy)`` (``deep``: unused here)."""
        return self._final(x, rng)


class SmoothedQuench(PlainQuench):
    """Minimize at each width of ``widths`` (caller's length unit), then as plain.

    ``width_gtol`` is the (loose) tolerance of the smoothed minimizations. With
    ``p_smooth < 1`` only that fraction of the quenches is smoothed (one uniform draw
    per quench; an occasional smoothed "deep" quench), the others are plain; a
    ``deep=True`` call (a fresh start) is always smoothed.
    """

    def __init__(self, objective: Objective, *, widths: Sequence[float], width_gtol: float,
                 p_smooth: float = 1.0, **kwargs):
        super().__init__(objective, **kwargs)
        self.widths = tuple(float(w) for w in widths)
        self.width_gtol = float(width_gtol)
        self.p_smooth = float(p_smooth)

    def smoothed(self, rng: np.random.Generator, deep: bool) -> bool:
        """Whether this quench goes through the widths (draws only when 0 < p < 1)."""
        if deep or self.p_smooth >= 1.0:
            return True
        return self.p_smooth > 0.0 and bool(rng.random() < self.p_smooth)

    def __call__(self, x: np.ndarray, rng: np.random.Generator,
                 deep: bool = False) -> tuple[np.ndarray, float]:
        if self.smoothed(rng, deep):
            for w in self.widths:
                x, _ = self.minimize(x, w, self.width_gtol)
        return self._final(x, rng)


def scale_schedule(spec, length_scale: float, energy_scale: float) -> WidthSchedule:
    """A width schedule in reduced units (any ``as_schedule`` spec) in the caller's units."""
    sched = as_schedule(spec)
    if length_scale == 1.0 and energy_scale == 1.0:
        return sched
    if isinstance(sched, PlateauSchedule):
        out = PlateauSchedule(sched.widths[0] * length_scale, sched.factor,
                              sched.floor * length_scale,
                              sched.gtol * energy_scale / length_scale)
        if len(out) != len(sched):  # floating-point rounding moved the floor test
            raise ValueError("widths: the scaled plateau schedule lost a width; pass an "
                             "explicit list of widths")
        return out
    return as_schedule([w * length_scale for w in sched.widths])


class HomotopyQuench(PlainQuench):
    """A Gaussian-homotopy run on the caller's objective, then an L-BFGS polish at 0.

    ``homotopy_kwargs`` go to :func:`~ase_gausslj.optimize.homotopy.homotopy_minimize`;
    its ``widths``, ``gtol`` and ``lr`` are in reduced units and scaled here.
    """

    def __init__(self, objective: Objective, *, homotopy_kwargs: dict, length_scale: float,
                 energy_scale: float, **kwargs):
        super().__init__(objective, **kwargs)
        kw = dict(homotopy_kwargs)
        for name in ("objective", "epsilon", "sigma", "r_core", "width_max"):
            if name in kw:
                raise ValueError(f"homotopy_kwargs: {name!r} is set by global_minimize "
                                 "(the homotopy runs on its objective)")
        if kw.get("widths") is not None:  # None: the default schedule, scaled by sigma
            kw["widths"] = scale_schedule(kw["widths"], length_scale, energy_scale)
        # sigma: the length unit of the default widths and of the dispersal check
        kw["sigma"] = length_scale
        kw.setdefault("compare_plain", False)  # the search keeps the best anyway
        if kw.get("gtol") is not None:
            kw["gtol"] = float(kw["gtol"]) * energy_scale / length_scale
        if kw.get("lr") is not None:
            kw["lr"] = float(kw["lr"]) * length_scale
        kw.setdefault("minimizer", self.minimizer)
        self.homotopy_kwargs = kw

    def __call__(self, x: np.ndarray, rng: np.random.Generator,
                 deep: bool = False) -> tuple[np.ndarray, float]:
        from .homotopy import homotopy_minimize

        out = homotopy_minimize(x, objective=self.objective, **self.homotopy_kwargs)
        if out.interrupted:  # a Ctrl-C inside the run ends the whole search
            raise KeyboardInterrupt
        x, e = self.minimize(out.positions, 0.0, self.gtol)
        return x - x.mean(axis=0), e


class CompiledQuench(SmoothedQuench):
    """Smoothed phases (``widths``, may be empty), width 0 and the guard, compiled.

    The rules of :class:`SmoothedQuench` (``p_smooth`` included; :class:`PlainQuench`
    for ``widths=()``) with the compiled L-BFGS
    (:func:`~ase_gausslj.optimize.compiled.lbfgs_minimize` defaults: memory 10, max step
    0.5); the :class:`~ase_gausslj.optimize.compiled.QuenchArgs` (kernel arguments of
    every width, tolerances) are built once per cluster size, so a quench costs its energy
    evaluations and a few microseconds. The guard's random directions are drawn from
    ``rng`` for every quench (a fixed-size block), so a seeded run repeats bit for bit.
    ``objective`` must be a ``SmoothedLJ``'s ``energy_gradient``.
    """

    def __init__(self, objective: Objective, *, widths: Sequence[float] = (),
                 width_gtol: float = 1e-3, **kwargs):
        super().__init__(objective, widths=widths, width_gtol=width_gtol,
                         minimizer="compiled", **kwargs)
        self._qa = None  # built on the first call (needs the number of atoms)
        self._n = 0

    def _args(self, n: int):
        """``(QuenchArgs, smoothed phases or None)`` for ``n`` atoms (built once)."""
        if self._qa is None or self._n != n:
            from .compiled import phase_args, quench_args

            pot = lj_potential(self.objective)
            self._qa = (quench_args(pot, n, gtol=self.gtol, width_gtol=self.width_gtol,
                                    polish_gtol=self.polish_gtol, maxiter=self.maxiter,
                                    radius=self.radius),
                        phase_args(pot, self.widths, n))
            self._n = n
        return self._qa

    def __getstate__(self):  # numba records are rebuilt after pickling (process pools)
        return dict(self.__dict__, _qa=None, _n=0)

    def __call__(self, x: np.ndarray, rng: np.random.Generator,
                 deep: bool = False) -> tuple[np.ndarray, float]:
        from .compiled.quench import lj_quench

        x = np.array(x, dtype=np.float64).ravel()  # a private copy: quenched in place
        n = x.size // 3
        qa, phases = self._args(n)
        p1 = len(self.widths) if self.widths and self.smoothed(rng, deep) else 0
        e, _ = lj_quench(x, qa, phases, 0, p1, rng.normal(size=(GUARD_ROUNDS, n, 3)))
        return x.reshape(n, 3), float(e)

    def polish(self, x: np.ndarray, e: float) -> tuple[np.ndarray, float]:
        """As :meth:`PlainQuench.polish`, the minimization compiled."""
        from .compiled.quench import energy, polish

        y = np.array(x, dtype=np.float64).ravel()
        qa = self._args(y.size // 3)[0]
        polish(y, e, qa)
        return y.reshape(-1, 3), energy(y, qa, self.objective)
