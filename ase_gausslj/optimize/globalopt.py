"""Global minimization of Lennard-Jones clusters: basin hopping with optional smoothing.

Three methods share one driver, :func:`global_minimize`, on plain arrays in reduced
units (lengths in sigma, energies in epsilon):

``'bh'``
    Basin hopping (Wales & Doye 1997) on the plain LJ: random displacement of every
    atom, an L-BFGS quench, an evaporation guard that brings escaped atoms back to the
    cluster surface, Metropolis acceptance at ``temperature`` (``temperature=0`` is
    monotonic basin hopping, MBH), and a restart from a fresh random cluster after
    ``patience`` quenches without a new best.
``'smoothed-bh'``
    The same search, but every quench is a two-phase local search (in the spirit of
    Locatelli & Schoen 2002): first minimize the Gaussian-smoothed energy ``E_w`` at each
    width of ``widths`` (coarse to fine), then the plain energy ``E_0``. Moves,
    acceptance, guard and restarts are identical to ``'bh'``.
``'homotopy'``
    Repeated Gaussian homotopy continuation (:func:`ase_gausslj.homotopy.homotopy_minimize`)
    from random starts, the best result kept; for comparison.

Every method runs until a wall-clock (or process-CPU) budget, an optional maximum number
of quenches, or an optional target energy is reached. The search state (random
generator, current and best structure, trace) is saved to JSON and a run can be resumed
from it. Several independent starts run in parallel with ``executor=`` (a
``concurrent.futures`` pool or a Dask ``distributed.Client``).

References
----------
.. [1] D. J. Wales and J. P. K. Doye, "Global optimization by basin-hopping and the
   lowest energy structures of Lennard-Jones clusters containing up to 110 atoms",
   J. Phys. Chem. A 101, 5111 (1997).
.. [2] M. Locatelli and F. Schoen, "Fast global optimization of difficult Lennard-Jones
   clusters", Comput. Optim. Appl. 21, 55 (2002).
.. [3] A. Ram and S. Ram, "Analytic Gaussian Convolution for Faster Molecular
   Optimization and Sampling", ICML GenBio workshop (2025).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ..core.validation import check_positions

__all__ = [
    "METHODS",
    "DEFAULT_WIDTHS",
    "GlobalOptResult",
    "global_minimize",
    "global_minimize_atoms",
    "random_cluster",
    "random_displacement",
    "evaporation_guard",
    "container_radius",
    "metropolis_accept",
    "add_cli",
    "LJ_GLOBAL_MINIMA",
]

LJ_GLOBAL_MINIMA = {
    3: -3.0,
    7: -16.505384,
    13: -44.326801,
    38: -173.928427,
    55: -279.248470,
    75: -397.492331,
    100: -557.039820,
    150: -893.310258,
    250: -1579.8,  # as quoted by Ram & Ram (2025)
    500: -3382.7,  # as quoted by Ram & Ram (2025)
}
"""Putative global minima of LJ_N (reduced units): the Cambridge Cluster Database, and
the paper's values for N = 250 and 500."""

METHODS = ("bh", "smoothed-bh", "homotopy")
"""Names accepted by ``global_minimize(method=...)``."""

DEFAULT_WIDTHS = (0.3,)
"""Default smoothing ladder of ``'smoothed-bh'`` (reduced units; see docs/globalopt.md)."""

_STATE_VERSION = 1
_ENERGY_TOL = 1e-7  # a new best must be lower by at least this (reduced energy)

EnergyGradient = Callable[[np.ndarray, float], "tuple[float, np.ndarray]"]


# --------------------------------------------------------------------------------------
# Building blocks: starts, moves, guard, acceptance
# --------------------------------------------------------------------------------------


def container_radius(n_atoms: int, density: float = 0.9, margin: float = 2.0) -> float:
    """Radius beyond which an atom counts as evaporated (reduced units).

    The radius of a sphere holding ``n_atoms`` at number ``density`` plus ``margin``.

    Parameters
    ----------
    n_atoms : int
        Number of atoms, >= 1.
    density : float
        Number density in atoms per sigma**3 (close-packed LJ is about 1).
    margin : float
        Extra distance in sigma added to the packing radius.

    Returns
    -------
    float
        The container radius in sigma.
    """
    n_atoms = int(n_atoms)
    if n_atoms < 1:
        raise ValueError(f"n_atoms must be >= 1, got {n_atoms}")
    if not (density > 0 and math.isfinite(density)):
        raise ValueError(f"density must be positive and finite, got {density!r}")
    return (3.0 * n_atoms / (4.0 * math.pi * density)) ** (1.0 / 3.0) + float(margin)


def random_cluster(
    n_atoms: int, rng: np.random.Generator, density: float = 0.9
) -> np.ndarray:
    """Uniform random points in the sphere that holds ``n_atoms`` at ``density``.

    Parameters
    ----------
    n_atoms : int
        Number of atoms, >= 2.
    rng : numpy.random.Generator
        Random generator.
    density : float
        Number density (atoms per sigma**3).

    Returns
    -------
    ndarray, shape (n_atoms, 3)
        Positions in sigma, centred at the origin.
    """
    n_atoms = int(n_atoms)
    if n_atoms < 2:
        raise ValueError(f"n_atoms must be >= 2, got {n_atoms}")
    radius = container_radius(n_atoms, density, margin=0.0)
    v = rng.normal(size=(n_atoms, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    r = radius * rng.random(n_atoms) ** (1.0 / 3.0)
    return v * r[:, None]


def random_displacement(
    positions: np.ndarray, step: float, rng: np.random.Generator
) -> np.ndarray:
    """Displace every atom uniformly in the cube ``[-step, step]**3`` (Wales & Doye).

    Parameters
    ----------
    positions : ndarray, shape (N, 3)
        Current positions.
    step : float
        Half-edge of the displacement cube, > 0.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    ndarray, shape (N, 3)
        New positions (the input is not modified).
    """
    positions = check_positions(positions)
    if not (step > 0 and math.isfinite(step)):
        raise ValueError(f"step must be positive and finite, got {step!r}")
    return positions + rng.uniform(-step, step, size=positions.shape)


def evaporation_guard(
    positions: np.ndarray, radius: float, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Bring atoms that left the container back to the cluster surface.

    An atom is *escaped* if its distance from the centroid of the other atoms' median
    centre exceeds ``radius``. Each escaped atom is placed at a random direction from the
    centre, at the largest distance of the atoms still bound (so that it lands on the
    surface and binds in the next quench).

    Parameters
    ----------
    positions : ndarray, shape (N, 3)
        Positions.
    radius : float
        Container radius (see :func:`container_radius`), > 0.
    rng : numpy.random.Generator
        Random generator (used only if some atom escaped).

    Returns
    -------
    positions : ndarray, shape (N, 3)
        Guarded positions (a copy).
    n_moved : int
        How many atoms were brought back.
    """
    positions = check_positions(positions).copy()
    if not (radius > 0 and math.isfinite(radius)):
        raise ValueError(f"radius must be positive and finite, got {radius!r}")
    # The median is robust: a few far-away atoms do not drag the centre.
    centre = np.median(positions, axis=0)
    dist = np.linalg.norm(positions - centre, axis=1)
    escaped = dist > radius
    n_moved = int(escaped.sum())
    if n_moved == 0:
        return positions, 0
    bound = ~escaped
    if bound.any():
        centre = positions[bound].mean(axis=0)
        r_surf = float(np.linalg.norm(positions[bound] - centre, axis=1).max())
    else:
        r_surf = 0.0
    r_surf = min(max(r_surf, 0.5), radius)
    v = rng.normal(size=(n_moved, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    positions[escaped] = centre + r_surf * v
    return positions, n_moved


def metropolis_accept(
    e_new: float, e_old: float, temperature: float, rng: np.random.Generator
) -> bool:
    """Metropolis acceptance of a basin-hopping step.

    Downhill (or equal) steps are always accepted. With ``temperature == 0`` the rule is
    monotonic (uphill steps always rejected, no random number drawn); otherwise an
    uphill step is accepted with probability ``exp(-(e_new - e_old) / temperature)``.

    Parameters
    ----------
    e_new, e_old : float
        Energies of the proposed and the current minimum.
    temperature : float
        ``k_B T`` in energy units, >= 0.
    rng : numpy.random.Generator
        Random generator (one uniform draw per uphill step when ``temperature > 0``).

    Returns
    -------
    bool
        Whether to accept.
    """
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be finite and >= 0, got {temperature!r}")
    if not math.isfinite(e_new):
        return False
    delta = e_new - e_old
    if delta <= 0.0:
        return True
    if temperature == 0.0:
        return False
    return bool(rng.random() < math.exp(-delta / temperature))


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------


@dataclass
class GlobalOptResult:
    """Outcome of :func:`global_minimize`.

    Attributes
    ----------
    energy : float
        Best energy found (plain, unsmoothed energy).
    positions : ndarray, shape (N, 3)
        Best structure, centred at the origin.
    method : str
        The method that produced it.
    seed : int or None
        The seed of this run (of the best start for a multistart).
    n_minimizations : int
        Quenches done (for ``'homotopy'``: homotopy runs).
    n_restarts : int
        Restarts from a fresh random cluster.
    elapsed : float
        Seconds used (on the clock of ``clock=``), including any resumed part.
    trace : ndarray, shape (K, 3)
        Rows ``(time, n_minimizations, best_energy)`` at each new best.
    stop_reason : str
        ``'budget'``, ``'max_minimizations'`` or ``'target'``.
    runs : list of GlobalOptResult
        Every start of a multistart run (empty for a single run).
    state : dict or None
        The resumable state (what ``state_file`` holds); pass it as ``resume=``.
    """

    energy: float
    positions: np.ndarray
    method: str
    seed: int | None
    n_minimizations: int
    n_restarts: int
    elapsed: float
    trace: np.ndarray
    stop_reason: str
    runs: list[GlobalOptResult] = field(default_factory=list)
    state: dict | None = field(default=None, repr=False)

    def time_to_energy(self, target: float, tol: float = 1e-4) -> float | None:
        """First time the best energy was ``<= target + tol``, or None if never."""
        if self.runs:
            times = [r.time_to_energy(target, tol) for r in self.runs]
            times = [t for t in times if t is not None]
            return min(times) if times else None
        hit = np.nonzero(self.trace[:, 2] <= target + tol)[0] if len(self.trace) else []
        return float(self.trace[hit[0], 0]) if len(hit) else None

    def to_dict(self) -> dict:
        """A JSON-serializable summary (positions as nested lists, no state)."""
        return {
            "energy": self.energy,
            "positions": np.asarray(self.positions).tolist(),
            "method": self.method,
            "seed": self.seed,
            "n_minimizations": self.n_minimizations,
            "n_restarts": self.n_restarts,
            "elapsed": self.elapsed,
            "trace": np.asarray(self.trace).tolist(),
            "stop_reason": self.stop_reason,
            "runs": [r.to_dict() for r in self.runs],
        }


# --------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------


@dataclass
class _Settings:
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
    length_scale: float
    energy_scale: float
    homotopy_kwargs: dict


def _default_objective(r_core: float = 0.8) -> EnergyGradient:
    from ..core.energy import SmoothedLJ  # lazy: keeps this module importable on its own

    return SmoothedLJ(r_core=r_core).energy_gradient


class _Search:
    """One independent basin-hopping / homotopy run (resumable)."""

    def __init__(self, settings: _Settings, objective: EnergyGradient, clock: Callable):
        self.s = settings
        self.objective = objective
        self.clock = clock
        self.n_evals = 0

    # ---- local search -----------------------------------------------------------
    def _minimize(self, x: np.ndarray, width: float, gtol: float) -> tuple[np.ndarray, float]:
        obj = self.objective

        def fun(v):
            self.n_evals += 1
            e, g = obj(v, width)
            return float(e), np.asarray(g, dtype=np.float64)

        res = minimize(
            fun,
            x.ravel(),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.s.maxiter, "gtol": gtol, "ftol": 1e-12, "maxcor": 20},
        )
        return res.x.reshape(-1, 3), float(res.fun)

    def quench(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """Local search of the method (two-phase for smoothed-bh), then the guard."""
        s = self.s
        ws = s.widths if s.method == "smoothed-bh" else ()
        unit_grad = s.energy_scale / s.length_scale
        for w in ws:
            x, _ = self._minimize(x, w * s.length_scale, s.width_gtol * unit_grad)
        gtol = s.gtol * unit_grad
        x, e = self._minimize(x, 0.0, gtol)
        for _ in range(3):
            x, moved = evaporation_guard(x, s.radius * s.length_scale, rng)
            if not moved:
                break
            x, e = self._minimize(x, 0.0, gtol)
        return x - x.mean(axis=0), e

    def fresh(self, rng: np.random.Generator) -> np.ndarray:
        return random_cluster(self.s.n_atoms, rng) * self.s.length_scale

    def homotopy_once(self, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        from .homotopy import homotopy_minimize  # lazy: written in another module

        x0 = self.fresh(rng)
        out = homotopy_minimize(x0, **self.s.homotopy_kwargs)
        x = np.asarray(getattr(out, "positions", out), dtype=np.float64).reshape(-1, 3)
        # Polish on the plain energy with the same objective as the other methods.
        x, e = self._minimize(x, 0.0, self.s.gtol * self.s.energy_scale / self.s.length_scale)
        return x - x.mean(axis=0), e

    # ---- the loop ---------------------------------------------------------------
    def run(
        self,
        st: dict,
        budget: float,
        max_minimizations: int | None,
        target_energy: float | None,
        target_tol: float,
        state_file: str | None,
        checkpoint_every: float,
        progress: bool,
    ) -> dict:
        s = self.s
        rng = np.random.default_rng()
        rng.bit_generator.state = st["rng"]
        t0 = self.clock() - st["elapsed"]
        last_save = self.clock()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=float(budget), unit="s", desc=f"{s.method} N={s.n_atoms}",
                       bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s {postfix}")

        def now() -> float:
            return self.clock() - t0

        def record(x, e):
            st["best_x"] = x.tolist()
            st["best_e"] = e
            st["trace"].append([now(), st["n_min"], e])
            st["since_best"] = 0

        def hit_target() -> bool:
            return (
                target_energy is not None
                and st["best_e"] is not None
                and st["best_e"] <= target_energy + target_tol
            )

        stop_reason = None
        while True:
            if hit_target():
                stop_reason = "target"
            elif max_minimizations is not None and st["n_min"] >= max_minimizations:
                stop_reason = "max_minimizations"
            elif now() >= budget:
                stop_reason = "budget"
            if stop_reason:
                break
            if s.method == "homotopy":
                x, e = self.homotopy_once(rng)
                st["n_min"] += 1
                st["n_restarts"] += 1
                if st["best_e"] is None or e < st["best_e"] - _ENERGY_TOL:
                    record(x, e)
            elif st["cur_x"] is None:
                # (Re)start from a fresh random cluster.
                x, e = self.quench(self.fresh(rng), rng)
                st["n_min"] += 1
                st["cur_x"], st["cur_e"] = x.tolist(), e
                st["since_best"] += 1
                if st["best_e"] is None or e < st["best_e"] - _ENERGY_TOL:
                    record(x, e)
            else:
                cur = np.asarray(st["cur_x"])
                trial = random_displacement(cur, s.step * s.length_scale, rng)
                x, e = self.quench(trial, rng)
                st["n_min"] += 1
                st["since_best"] += 1
                if metropolis_accept(e, st["cur_e"], s.temperature * s.energy_scale, rng):
                    st["cur_x"], st["cur_e"] = x.tolist(), e
                if e < st["best_e"] - _ENERGY_TOL:
                    record(x, e)
                if s.patience > 0 and st["since_best"] >= s.patience:
                    st["cur_x"], st["cur_e"] = None, None
                    st["since_best"] = 0
                    st["n_restarts"] += 1
            st["elapsed"] = now()
            st["rng"] = rng.bit_generator.state
            if bar is not None:
                bar.n = min(st["elapsed"], float(budget))
                bar.set_postfix_str(f"best {st['best_e']:.6f} n_min {st['n_min']}")
            if state_file and self.clock() - last_save >= checkpoint_every:
                _save_state(state_file, st)
                last_save = self.clock()
        st["elapsed"] = now()
        st["rng"] = rng.bit_generator.state
        st["stop_reason"] = stop_reason
        if bar is not None:
            bar.close()
        if state_file:
            _save_state(state_file, st)
        return st


def _save_state(path: str, st: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump(st, fh)
    os.replace(tmp, path)


def _load_state(path: str) -> dict | None:
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def _settings_key(s: _Settings) -> dict:
    return {
        "method": s.method,
        "n_atoms": s.n_atoms,
        "temperature": s.temperature,
        "step": s.step,
        "widths": list(s.widths),
        "patience": s.patience,
    }


def _new_state(settings: _Settings, seed: int | None, start: np.ndarray | None) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "version": _STATE_VERSION,
        "settings": _settings_key(settings),
        "seed": seed,
        "rng": rng.bit_generator.state,
        "start": None if start is None else np.asarray(start).tolist(),
        "cur_x": None,
        "cur_e": None,
        "best_x": None,
        "best_e": None,
        "trace": [],
        "n_min": 0,
        "n_restarts": 0,
        "since_best": 0,
        "elapsed": 0.0,
        "stop_reason": None,
    }


def _result_from_state(st: dict) -> GlobalOptResult:
    best = np.asarray(st["best_x"], dtype=np.float64).reshape(-1, 3)
    trace = np.asarray(st["trace"], dtype=np.float64).reshape(-1, 3)
    return GlobalOptResult(
        energy=float(st["best_e"]),
        positions=best,
        method=st["settings"]["method"],
        seed=st["seed"],
        n_minimizations=int(st["n_min"]),
        n_restarts=int(st["n_restarts"]),
        elapsed=float(st["elapsed"]),
        trace=trace,
        stop_reason=str(st["stop_reason"]),
        state=st,
    )


def _run_single(
    settings: _Settings,
    objective: EnergyGradient | None,
    seed: int | None,
    start: np.ndarray | None,
    budget: float,
    max_minimizations: int | None,
    target_energy: float | None,
    target_tol: float,
    state_file: str | None,
    resume: dict | None,
    checkpoint_every: float,
    clock: str,
    progress: bool,
) -> GlobalOptResult:
    if objective is None:
        objective = _default_objective()
    clk = time.perf_counter if clock == "wall" else time.process_time
    st = resume
    if st is None and state_file:
        st = _load_state(state_file)
    if st is not None:
        if st.get("version") != _STATE_VERSION:
            raise ValueError(f"resume state has version {st.get('version')}, "
                             f"expected {_STATE_VERSION}")
        if st["settings"] != _settings_key(settings):
            raise ValueError(
                "resume state was made with different settings: "
                f"{st['settings']} != {_settings_key(settings)}"
            )
        st = json.loads(json.dumps(st))  # private copy
    else:
        st = _new_state(settings, seed, start)
    search = _Search(settings, objective, clk)
    if st["n_min"] == 0 and st["start"] is not None and settings.method != "homotopy":
        rng = np.random.default_rng()
        rng.bit_generator.state = st["rng"]
        x, e = search.quench(np.asarray(st["start"]), rng)
        st.update(cur_x=x.tolist(), cur_e=e, best_x=x.tolist(), best_e=e, n_min=1,
                  trace=[[0.0, 1, e]], rng=rng.bit_generator.state)
    st = search.run(st, budget, max_minimizations, target_energy, target_tol,
                    state_file, checkpoint_every, progress)
    return _result_from_state(st)


def global_minimize(
    n_atoms_or_positions: int | np.ndarray,
    *,
    method: str = "bh",
    budget: float = 60.0,
    max_minimizations: int | None = None,
    seed: int | None = None,
    executor: Any = None,
    n_starts: int | None = None,
    temperature: float = 0.8,
    step: float = 0.4,
    widths: Sequence[float] = DEFAULT_WIDTHS,
    patience: int | None = None,
    gtol: float = 1e-5,
    width_gtol: float = 1e-3,
    maxiter: int = 2000,
    radius: float | None = None,
    target_energy: float | None = None,
    target_tol: float = 1e-4,
    state_file: str | os.PathLike | None = None,
    resume: dict | None = None,
    checkpoint_every: float = 10.0,
    clock: str = "wall",
    objective: EnergyGradient | None = None,
    length_scale: float = 1.0,
    energy_scale: float = 1.0,
    homotopy_kwargs: dict | None = None,
    progress: bool = False,
) -> GlobalOptResult:
    """Search for the global minimum of an LJ cluster (reduced units by default).

    Parameters
    ----------
    n_atoms_or_positions : int or array_like, shape (N, 3)
        Number of atoms (random start) or a starting structure.
    method : {'bh', 'smoothed-bh', 'homotopy'}
        Search method (see the module docstring).
    budget : float
        Time budget in seconds per start (on ``clock``), > 0.
    max_minimizations : int, optional
        Stop after this many quenches (homotopy runs for ``'homotopy'``).
    seed : int, optional
        Seed of the random generator; a multistart derives one seed per start from it.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run ``n_starts`` independent starts in parallel (anything with ``submit(fn, *args)``
        returning futures with ``result()``).
    n_starts : int, optional
        Number of independent starts (default 1). Without ``executor`` they run one
        after another.
    temperature : float
        Metropolis ``k_B T`` in epsilon; 0 gives monotonic basin hopping.
    step : float
        Half-edge of the random displacement cube, in sigma.
    widths : sequence of float
        Smoothing ladder of ``'smoothed-bh'`` (sigma), each minimized before ``E_0``.
    patience : int, optional
        Restart from a fresh random cluster after this many quenches without a new best
        (default ``max(100, 5 N)``; 0 disables restarts).
    gtol : float
        Gradient tolerance of the final (plain) quench, epsilon/sigma.
    width_gtol : float
        Gradient tolerance of the smoothed quenches (loose: they only pick a basin).
    maxiter : int
        Maximum L-BFGS iterations per quench.
    radius : float, optional
        Evaporation-guard radius in sigma (default :func:`container_radius`).
    target_energy : float, optional
        Stop when the best energy is ``<= target_energy + target_tol``.
    target_tol : float
        Tolerance of the target test.
    state_file : path, optional
        JSON file with the resumable state: loaded if it exists, written every
        ``checkpoint_every`` seconds and at the end. For ``n_starts > 1`` one file per
        start, ``<state_file>.<k>``.
    resume : dict, optional
        A state (``result.state``) to continue from; ``budget`` and
        ``max_minimizations`` count from the very start of that run.
    checkpoint_every : float
        Seconds between state saves.
    clock : {'wall', 'process'}
        ``'wall'`` measures the budget with :func:`time.perf_counter`; ``'process'`` with
        :func:`time.process_time` (CPU seconds of the worker, fair on shared machines).
    objective : callable, optional
        ``objective(x_flat, width) -> (E, grad_flat)``; default
        ``SmoothedLJ().energy_gradient`` (all pairs, reduced units). Must be picklable
        for a process pool.
    length_scale, energy_scale : float
        Units of the objective: ``step``, ``widths``, ``radius`` are multiplied by
        ``length_scale`` and ``temperature`` by ``energy_scale`` (the ASE entry point sets
        them to sigma and epsilon).
    homotopy_kwargs : dict, optional
        Extra keyword arguments for :func:`ase_gausslj.homotopy.homotopy_minimize`.
    progress : bool
        Show a tqdm progress bar (single start only).

    Returns
    -------
    GlobalOptResult
        The best result; for a multistart, ``runs`` holds every start.

    Examples
    --------
    >>> res = global_minimize(13, method="bh", budget=5.0, seed=0)  # doctest: +SKIP
    >>> round(res.energy, 4)  # doctest: +SKIP
    -44.3268
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    start = None
    if isinstance(n_atoms_or_positions, (int, np.integer)):
        n_atoms = int(n_atoms_or_positions)
    else:
        start = check_positions(n_atoms_or_positions, "n_atoms_or_positions")
        n_atoms = start.shape[0]
    if n_atoms < 2:
        raise ValueError(f"n_atoms_or_positions must describe >= 2 atoms, got {n_atoms}")
    if not (budget > 0 and math.isfinite(budget)):
        raise ValueError(f"budget must be positive and finite, got {budget!r}")
    if max_minimizations is not None and int(max_minimizations) < 1:
        raise ValueError(f"max_minimizations must be >= 1, got {max_minimizations!r}")
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be finite and >= 0, got {temperature!r}")
    if not (step > 0 and math.isfinite(step)):
        raise ValueError(f"step must be positive and finite, got {step!r}")
    widths = tuple(float(w) for w in widths)
    if any(not (w > 0 and math.isfinite(w)) for w in widths):
        raise ValueError(f"widths must be positive and finite, got {widths!r}")
    if method == "smoothed-bh" and not widths:
        raise ValueError("widths must not be empty for method='smoothed-bh'")
    if patience is None:
        patience = max(100, 5 * n_atoms)
    if int(patience) < 0:
        raise ValueError(f"patience must be >= 0, got {patience!r}")
    for name, val in (("gtol", gtol), ("width_gtol", width_gtol),
                      ("length_scale", length_scale), ("energy_scale", energy_scale)):
        if not (val > 0 and math.isfinite(val)):
            raise ValueError(f"{name} must be positive and finite, got {val!r}")
    if clock not in ("wall", "process"):
        raise ValueError(f"clock must be 'wall' or 'process', got {clock!r}")
    if radius is None:
        radius = container_radius(n_atoms)
    elif not (radius > 0 and math.isfinite(radius)):
        raise ValueError(f"radius must be positive and finite, got {radius!r}")
    n_starts = 1 if n_starts is None else int(n_starts)
    if n_starts < 1:
        raise ValueError(f"n_starts must be >= 1, got {n_starts}")
    settings = _Settings(
        method=method, n_atoms=n_atoms, temperature=float(temperature), step=float(step),
        widths=widths, patience=int(patience), gtol=float(gtol),
        width_gtol=float(width_gtol), maxiter=int(maxiter), radius=float(radius),
        length_scale=float(length_scale), energy_scale=float(energy_scale),
        homotopy_kwargs=dict(homotopy_kwargs or {}),
    )
    state_file = None if state_file is None else os.fspath(state_file)
    common = (budget, None if max_minimizations is None else int(max_minimizations),
              target_energy, float(target_tol))

    if n_starts == 1:
        return _run_single(settings, objective, seed, start, *common, state_file,
                           resume, float(checkpoint_every), clock, progress)

    if resume is not None:
        raise ValueError("resume= is for a single start; use state_file= for a multistart")
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n_starts)]
    args = [
        (settings, objective, seeds[k], start, *common,
         None if state_file is None else f"{state_file}.{k}", None,
         float(checkpoint_every), clock, False)
        for k in range(n_starts)
    ]
    if executor is None:
        runs = [_run_single(*a) for a in args]
    else:
        futures = [executor.submit(_run_single, *a) for a in args]
        runs = [f.result() for f in futures]
    best = min(runs, key=lambda r: r.energy)
    return GlobalOptResult(
        energy=best.energy, positions=best.positions, method=method, seed=best.seed,
        n_minimizations=sum(r.n_minimizations for r in runs),
        n_restarts=sum(r.n_restarts for r in runs),
        elapsed=max(r.elapsed for r in runs), trace=_merge_traces(runs),
        stop_reason=best.stop_reason, runs=runs, state=None,
    )


def _merge_traces(runs: Sequence[GlobalOptResult]) -> np.ndarray:
    """Best energy over all parallel starts vs time (starts run concurrently)."""
    rows = np.concatenate([r.trace for r in runs if len(r.trace)], axis=0)
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    keep, best = [], math.inf
    for row in rows:
        if row[2] < best - _ENERGY_TOL:
            best = row[2]
            keep.append(row)
    return np.asarray(keep).reshape(-1, 3)


# --------------------------------------------------------------------------------------
# ASE entry point
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def add_cli(subparsers) -> Any:
    """Add the ``optimize`` subcommand to an ``argparse`` subparsers object.

    The subcommand sets ``func`` (call ``args.func(args)``), which runs
    :func:`global_minimize` and prints a JSON summary; ``--output`` saves the full result
    and ``--xyz`` the best structure.
    """
    p = subparsers.add_parser(
        "optimize", help="global minimization of an LJ cluster (basin hopping +/- smoothing)",
        description="Global minimization of an N-atom LJ cluster in reduced units.",
    )
    p.add_argument("n_atoms", type=int, help="number of atoms")
    p.add_argument("--method", choices=METHODS, default="smoothed-bh")
    p.add_argument("--budget", type=float, default=60.0, help="seconds per start")
    p.add_argument("--max-minimizations", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--n-starts", type=int, default=1)
    p.add_argument("--workers", type=int, default=1, help="process-pool size for n-starts")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--step", type=float, default=0.4)
    p.add_argument("--widths", type=float, nargs="+", default=list(DEFAULT_WIDTHS))
    p.add_argument("--target-energy", type=float, default=None)
    p.add_argument("--clock", choices=("wall", "process"), default="wall")
    p.add_argument("--state", default=None, help="resumable JSON state file")
    p.add_argument("--output", default=None, help="write the result as JSON")
    p.add_argument("--xyz", default=None, help="write the best structure as XYZ")
    p.add_argument("--progress", action="store_true")
    p.set_defaults(func=_cli_optimize)
    return p


def _cli_optimize(args) -> int:
    kwargs = dict(
        method=args.method, budget=args.budget, max_minimizations=args.max_minimizations,
        seed=args.seed, n_starts=args.n_starts, temperature=args.temperature,
        step=args.step, widths=args.widths, target_energy=args.target_energy,
        clock=args.clock, state_file=args.state, progress=args.progress and args.n_starts == 1,
    )
    if args.workers > 1 and args.n_starts > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.workers) as ex:
            res = global_minimize(args.n_atoms, executor=ex, **kwargs)
    else:
        res = global_minimize(args.n_atoms, **kwargs)
    summary = {k: v for k, v in res.to_dict().items()
               if k not in ("positions", "runs", "trace")}
    summary["trace_points"] = len(res.trace)
    known = LJ_GLOBAL_MINIMA.get(int(args.n_atoms))
    if known is not None:
        summary["known_global_minimum"] = known
        summary["gap"] = res.energy - known
    print(json.dumps(summary, indent=1))
    if known is not None:
        # the human-readable line goes to stderr so stdout stays one JSON document
        print(f"LJ{args.n_atoms}: best energy {res.energy:.6f}, known global minimum "
              f"{known:.6f}, gap {res.energy - known:.6f}", file=sys.stderr)
    if args.output:
        with open(args.output, "w") as fh:
            json.dump(res.to_dict(), fh)
    if args.xyz:
        with open(args.xyz, "w") as fh:
            fh.write(f"{len(res.positions)}\nE={res.energy:.8f} method={res.method}\n")
            for p in res.positions:
                fh.write(f"X {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}\n")
    return 0
