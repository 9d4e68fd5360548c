"""The basin-hopping engine: strategies (step, acceptance, quench, callback) in one loop.

The package's only basin-hopping loop. :class:`BHSettings` holds the checked options of one
search in reduced units and builds the preset strategies (:mod:`.moves`, :mod:`.quench`)
in the caller's units; :class:`Strategies` holds the four callables a step uses, any of
them a user's (scipy's ``basinhopping`` protocol):

* ``take_step(x, rng) -> x`` (positions (N, 3));
* ``accept_test(e_new, e_old, rng) -> bool``;
* ``quench(x, rng, deep=False) -> (x, e)``, optionally with ``polish(x, e) -> (x, e)``
  (applied to every new best);
* ``callback(x, e, accepted) -> bool | None`` after every quench; True stops the run
  (``stop_reason='callback'``).

Where compiling pays, it is inside the strategies: the preset quench for the project's LJ
is the compiled L-BFGS and guard with a little Python around them (smoothed phases only
when asked for, so a plain search compiles only the width-0 loop); the loop itself costs a few
microseconds per step (measured: within ~5 % of a loop compiled whole, results/engine/).
:class:`StopRule` says when to stop; :func:`run_single` runs one resumable start
(:mod:`.checkpoint`) and returns a :class:`~ase_gausslj.optimize.results.GlobalOptResult`.
The budget unit is the quench: with a seed and no time limit a run repeats bit for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..io import interruptible
from .checkpoint import check_energies, check_state, load_state, new_state, save_state
from .clusters import random_cluster
from .moves import Metropolis, RandomDisplacement
from .quench import CompiledQuench, HomotopyQuench, Objective, PlainQuench, SmoothedQuench
from .results import ENERGY_TOL, GlobalOptResult

__all__ = ["BHSettings", "Strategies", "StopRule", "run_single"]


@dataclass(frozen=True)
class BHSettings:
    """Options of one search (reduced units: lengths in sigma, energies in epsilon).

    ``length_scale`` and ``energy_scale`` convert them to the objective's units.
    """

    method: str
    n_atoms: int
    temperature: float
    step: float
    widths: tuple[float, ...]
    patience: int
    gtol: float
    width_gtol: float
    maxiter: int
    radius: float
    length_scale: float = 1.0
    energy_scale: float = 1.0
    homotopy_kwargs: dict = field(default_factory=dict)
    minimizer: str = "scipy"
    p_smooth: float = 1.0
    polish_gtol: float = 0.0

    def key(self) -> dict:
        """The settings a resumed state must share (everything that shapes the run)."""
        d = asdict(self)
        for name in ("length_scale", "energy_scale", "homotopy_kwargs"):
            d.pop(name)
        d["widths"] = list(self.widths)
        return d

    def take_step(self) -> RandomDisplacement:
        return RandomDisplacement(self.step * self.length_scale)

    def accept_test(self) -> Metropolis:
        return Metropolis(self.temperature * self.energy_scale)

    def quench(self, objective: Objective) -> PlainQuench:
        unit_grad = self.energy_scale / self.length_scale
        common = dict(gtol=self.gtol * unit_grad, maxiter=self.maxiter,
                      radius=self.radius * self.length_scale, minimizer=self.minimizer)
        common["polish_gtol"] = self.polish_gtol * unit_grad
        smooth = dict(widths=[w * self.length_scale for w in self.widths],
                      width_gtol=self.width_gtol * unit_grad, p_smooth=self.p_smooth)
        if self.minimizer == "compiled" and self.method != "homotopy":
            common.pop("minimizer")
            if self.method != "smoothed-bh":
                smooth = {}
            return CompiledQuench(objective, **smooth, **common)
        if self.method == "smoothed-bh":
            return SmoothedQuench(objective, **smooth, **common)
        if self.method == "homotopy":
            return HomotopyQuench(objective, homotopy_kwargs=self.homotopy_kwargs,
                                  length_scale=self.length_scale,
                                  energy_scale=self.energy_scale, **common)
        return PlainQuench(objective, **common)

    def fresh(self, rng: np.random.Generator) -> np.ndarray:
        """A random start in the objective's units."""
        return random_cluster(self.n_atoms, rng) * self.length_scale


@dataclass(frozen=True)
class Strategies:
    """The callables of one basin-hopping step (see the module docstring).

    ``fresh_starts``: every step quenches a fresh random cluster (``deep=True``) instead
    of stepping from the current minimum (the ``'homotopy'`` preset).
    """

    take_step: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    accept_test: Callable[[float, float, np.random.Generator], bool]
    quench: Any
    callback: Callable[[np.ndarray, float, bool], Any] | None = None
    fresh_starts: bool = False

    @classmethod
    def preset(cls, settings: BHSettings, objective: Objective, *, take_step=None,
               accept_test=None, quench=None, callback=None) -> Strategies:
        """The strategies of ``settings.method``, any of them replaced by the caller's."""
        for name, fn in (("take_step", take_step), ("accept_test", accept_test),
                         ("quench", quench), ("callback", callback)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        return cls(take_step or settings.take_step(), accept_test or settings.accept_test(),
                   quench or settings.quench(objective), callback,
                   fresh_starts=settings.method == "homotopy")

    def custom(self) -> list[str]:
        """Names of the strategies that are not the presets' (recorded in the state)."""
        preset = (RandomDisplacement, Metropolis, PlainQuench)
        return [name for name, fn, kind in zip(
            ("take_step", "accept_test", "quench"),
            (self.take_step, self.accept_test, self.quench), preset, strict=True)
            if not isinstance(fn, kind)] + (["callback"] if self.callback else [])

    def polish(self, x: np.ndarray, e: float) -> tuple[np.ndarray, float]:
        fn = getattr(self.quench, "polish", None)
        return (x, e) if fn is None else fn(x, e)


@dataclass(frozen=True)
class StopRule:
    """When a run stops: quench count, target energy or an optional time cap (seconds).

    The time cap is checked between quenches and only after the first one, so a run
    always returns a result (``stop_reason='time_limit'``) however small the cap.
    """

    max_minimizations: int | None = None
    time_limit: float | None = None
    target_energy: float | None = None
    target_tol: float = 1e-4

    def reason(self, st: dict, elapsed: float) -> str | None:
        if (self.target_energy is not None and st["best_e"] is not None
                and st["best_e"] <= self.target_energy + self.target_tol):
            return "target"
        if self.max_minimizations is not None and st["n_min"] >= self.max_minimizations:
            return "max_minimizations"
        # a time limit ends a run only once it has a result (the first quench), so an
        # expired limit is a normal end, never an empty, interrupted-looking one
        if (self.time_limit is not None and elapsed >= self.time_limit
                and st["best_e"] is not None):
            return "time_limit"
        return None


class _Progress:
    """A tqdm line counting quenches, with the best energy (no-op when disabled)."""

    def __init__(self, enabled: bool, settings: BHSettings, stop: StopRule, done: int):
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=stop.max_minimizations, initial=done, unit="quench",
                            desc=f"{settings.method} N={settings.n_atoms}")

    def update(self, st: dict) -> None:
        if self.bar is not None:
            self.bar.n = st["n_min"]
            self.bar.set_postfix_str(f"best {st['best_e']:.6f}", refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Runner:
    """One basin-hopping start over a state dict, with the given strategies."""

    def __init__(self, settings: BHSettings, strategies: Strategies,
                 clock: Callable[[], float]):
        self.s = settings
        self.clock = clock
        self.st = strategies

    @staticmethod
    def _better(st: dict, e: float) -> bool:
        return st["best_e"] is None or e < st["best_e"] - ENERGY_TOL

    def start(self, st: dict, x: np.ndarray, rng: np.random.Generator,
              now: Callable[[], float]) -> bool:
        """Quench a start (fresh or given) as the current minimum; True: callback stop."""
        st_ = self.st
        x, e = st_.quench(x, rng, deep=True)
        st["n_min"] += 1
        if st_.fresh_starts:
            st["n_restarts"] += 1
        else:
            st["cur_x"], st["cur_e"] = np.asarray(x).tolist(), e
            st["since_best"] += 1
        if self._better(st, e):
            self._record(st, *st_.polish(x, e), now)
        return self._callback(x, e, not st_.fresh_starts)

    def step(self, st: dict, rng: np.random.Generator, now: Callable[[], float]) -> bool:
        """One quench and its bookkeeping; True when the callback asks to stop."""
        s, st_ = self.s, self.st
        if st_.fresh_starts or st["cur_x"] is None:
            return self.start(st, self.s.fresh(rng), rng, now)
        trial = st_.take_step(np.asarray(st["cur_x"]), rng)
        x, e = st_.quench(trial, rng)
        st["n_min"] += 1
        st["since_best"] += 1
        accepted = bool(st_.accept_test(e, st["cur_e"], rng))
        if accepted:
            st["cur_x"], st["cur_e"] = np.asarray(x).tolist(), e
        if self._better(st, e):
            self._record(st, *st_.polish(x, e), now)
        if s.patience > 0 and st["since_best"] >= s.patience:
            st["cur_x"], st["cur_e"] = None, None
            st["since_best"] = 0
            st["n_restarts"] += 1
        return self._callback(x, e, accepted)

    def _callback(self, x, e: float, accepted: bool) -> bool:
        cb = self.st.callback
        return cb is not None and cb(np.asarray(x), e, accepted) is True

    @staticmethod
    def _record(st: dict, x: np.ndarray, e: float, now: Callable[[], float]) -> None:
        st["best_x"], st["best_e"] = np.asarray(x).tolist(), float(e)  # already polished
        st["trace"].append([now(), st["n_min"], e])
        st["since_best"] = 0

    def run(self, st: dict, stop: StopRule, state_file: str | None, checkpoint_every: float,
            progress: bool) -> tuple[dict, bool]:
        """Run until ``stop``; ``(state, interrupted)``. Ctrl-C keeps the last full step."""
        rng = np.random.default_rng()
        rng.bit_generator.state = st["rng"]
        t0 = self.clock() - st["elapsed"]
        last_save = self.clock()
        bar = _Progress(progress, self.s, stop, st["n_min"])
        reason = None
        with interruptible() as interrupted:
            while (reason := stop.reason(st, self.clock() - t0)) is None:
                work = dict(st, trace=list(st["trace"]))  # committed only when complete
                halt = self.step(work, rng, lambda: self.clock() - t0)
                work["elapsed"] = self.clock() - t0
                work["rng"] = rng.bit_generator.state
                st = work
                bar.update(st)
                if halt:
                    reason = "callback"
                    break
                if state_file and self.clock() - last_save >= checkpoint_every:
                    save_state(state_file, st)
                    last_save = self.clock()
        bar.close()
        if interrupted:
            reason = "interrupted"
        else:
            st["elapsed"] = self.clock() - t0
        st["stop_reason"] = reason
        if state_file:
            save_state(state_file, st)
        return st, bool(interrupted)


def _result(st: dict, interrupted: bool) -> GlobalOptResult:
    return GlobalOptResult(
        energy=float(st["best_e"]),
        positions=np.asarray(st["best_x"], dtype=np.float64).reshape(-1, 3),
        method=st["settings"]["method"],
        seed=st["seed"],
        n_minimizations=int(st["n_min"]),
        n_restarts=int(st["n_restarts"]),
        elapsed=float(st["elapsed"]),
        trace=np.asarray(st["trace"], dtype=np.float64).reshape(-1, 3),
        stop_reason=str(st["stop_reason"]),
        state=st,
        interrupted=interrupted,
    )


def run_single(settings: BHSettings, strategies: Strategies, objective: Objective,
               seed: int | None, start: np.ndarray | None, stop: StopRule,
               state_file: str | None = None, resume: dict | None = None,
               checkpoint_every: float = 10.0, clock: str = "wall",
               progress: bool = False) -> GlobalOptResult | None:
    """One resumable start; None if Ctrl-C came before the first quench finished.

    A state (``resume`` or the contents of ``state_file``) must have been made with the
    same :meth:`BHSettings.key` (and the same user strategies, by name); the quench budget
    counts from the start of that run.
    """
    clk = time.perf_counter if clock == "wall" else time.process_time
    key = settings.key()
    custom = strategies.custom()
    if custom:  # a state made with other strategies is not this run's
        key["custom_strategies"] = custom
    st, where = None, "resume"
    if resume is not None:
        st = check_state(resume, key, where)
    elif state_file:
        where = f"state file {state_file!r}"
        st = load_state(state_file)
        st = None if st is None else check_state(st, key, where)
    if st is None:
        st = new_state(key, seed, start)
    else:  # the stored energies must be those of the stored positions
        check_energies(st, lambda x: objective(x.ravel(), 0.0)[0], where)
    runner = _Runner(settings, strategies, clk)
    if st["n_min"] == 0 and st["start"] is not None and not strategies.fresh_starts:
        rng = np.random.default_rng()
        rng.bit_generator.state = st["rng"]
        with interruptible() as interrupted:
            x, e = strategies.polish(*strategies.quench(np.asarray(st["start"]), rng))
        if interrupted:
            return None
        x = np.asarray(x).tolist()
        st.update(cur_x=x, cur_e=e, best_x=x, best_e=e, n_min=1,
                  trace=[[0.0, 1, e]], rng=rng.bit_generator.state)
    st, interrupted = runner.run(st, stop, state_file, checkpoint_every, progress)
    if st["best_e"] is None or not math.isfinite(st["best_e"]):
        return None
    return _result(st, interrupted)
