"""The basin-hopping runner: strategies (step, acceptance, quench) driven by one loop.

:class:`BHSettings` holds the options of one search in reduced units and builds the three
strategies (:mod:`.moves`, :mod:`.quench`) in the caller's units; :class:`StopRule` says when
to stop; :func:`run_single` runs one resumable start (:mod:`.checkpoint`) and returns a
:class:`~ase_gausslj.optimize.results.GlobalOptResult`.

The budget unit is the quench: with a seed and no time limit a run repeats bit for bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..io import interruptible
from .checkpoint import check_energies, check_state, load_state, new_state, save_state
from .clusters import random_cluster
from .moves import Metropolis, RandomDisplacement
from .quench import CompiledQuench, HomotopyQuench, Objective, PlainQuench, SmoothedQuench
from .results import ENERGY_TOL, GlobalOptResult

__all__ = ["BHSettings", "StopRule", "run_single"]


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
    """One basin-hopping (or repeated-homotopy) start over a state dict."""

    def __init__(self, settings: BHSettings, objective: Objective, clock: Callable[[], float]):
        self.s = settings
        self.clock = clock
        self.take_step = settings.take_step()
        self.accept_test = settings.accept_test()
        self.quench = settings.quench(objective)

    def _better(self, st: dict, e: float) -> bool:
        return st["best_e"] is None or e < st["best_e"] - ENERGY_TOL

    def step(self, st: dict, rng: np.random.Generator, now: Callable[[], float]) -> None:
        """One quench and its bookkeeping (``st`` changes only after the quench)."""
        s = self.s
        if s.method == "homotopy" or st["cur_x"] is None:
            # (Re)start from a fresh random cluster (every homotopy run is a fresh start).
            x, e = self.quench(s.fresh(rng), rng, deep=True)
            st["n_min"] += 1
            if s.method == "homotopy":
                st["n_restarts"] += 1
            else:
                st["cur_x"], st["cur_e"] = x.tolist(), e
                st["since_best"] += 1
            if self._better(st, e):
                x, e = self.quench.polish(x, e)
                self._record(st, x, e, now)
            return
        trial = self.take_step(np.asarray(st["cur_x"]), rng)
        x, e = self.quench(trial, rng)
        st["n_min"] += 1
        st["since_best"] += 1
        if self.accept_test(e, st["cur_e"], rng):
            st["cur_x"], st["cur_e"] = x.tolist(), e
        if self._better(st, e):
            x, e = self.quench.polish(x, e)
            self._record(st, x, e, now)
        if s.patience > 0 and st["since_best"] >= s.patience:
            st["cur_x"], st["cur_e"] = None, None
            st["since_best"] = 0
            st["n_restarts"] += 1

    @staticmethod
    def _record(st: dict, x: np.ndarray, e: float, now: Callable[[], float]) -> None:
        st["best_x"], st["best_e"] = x.tolist(), e  # x, e: already polished by the quench
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
                self.step(work, rng, lambda: self.clock() - t0)
                work["elapsed"] = self.clock() - t0
                work["rng"] = rng.bit_generator.state
                st = work
                bar.update(st)
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


def run_single(settings: BHSettings, objective: Objective, seed: int | None,
               start: np.ndarray | None, stop: StopRule, state_file: str | None = None,
               resume: dict | None = None, checkpoint_every: float = 10.0,
               clock: str = "wall", progress: bool = False) -> GlobalOptResult | None:
    """One resumable start; None if Ctrl-C came before the first quench finished.

    A state (``resume`` or the contents of ``state_file``) must have been made with the
    same :meth:`BHSettings.key`; the quench budget counts from the start of that run.
    """
    clk = time.perf_counter if clock == "wall" else time.process_time
    key = settings.key()
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
    runner = _Runner(settings, objective, clk)
    if st["n_min"] == 0 and st["start"] is not None and settings.method != "homotopy":
        rng = np.random.default_rng()
        rng.bit_generator.state = st["rng"]
        with interruptible() as interrupted:
            x, e = runner.quench.polish(*runner.quench(np.asarray(st["start"]), rng))
        if interrupted:
            return None
        st.update(cur_x=x.tolist(), cur_e=e, best_x=x.tolist(), best_e=e, n_min=1,
                  trace=[[0.0, 1, e]], rng=rng.bit_generator.state)
    st, interrupted = runner.run(st, stop, state_file, checkpoint_every, progress)
    if st["best_e"] is None or not math.isfinite(st["best_e"]):
        return None
    return _result(st, interrupted)
