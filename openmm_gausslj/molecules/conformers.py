"""Conformer search on an OpenMM System: plain, smoothed and replica exchange over widths.

:func:`search_conformers` returns the distinct minima it found (kJ/mol, ascending), each
with its positions and the work and CPU time at which it was first found. Three methods
share the final exact minimization, the bookkeeping of distinct minima and the budget
(MD steps per replica + L-BFGS iterations, i.e. force evaluations; a CPU-seconds cap is
optional):

* ``plain``: cycles of hot Langevin MD (``temperature``) for ``(1 - anneal_fraction)`` of
  ``cycle_steps``, cooling linearly to ``low_temperature`` for the rest, then an exact
  quench (L-BFGS); the trajectory continues from the cooled state. This is simulated
  annealing with quenches, what one does without gausslj.
* ``smoothed``: the same loop, but the hot phase runs with the torsions (and, when the
  System carries the smoothed LJ of :func:`openmm_gausslj.smooth_system`, the LJ) smoothed
  at ``torsion_width`` / ``lj_width``, and the cooling phase anneals both widths linearly
  to 0 in ``anneal_stages`` stages before the exact quench. The widths are coupled: both
  follow the same fraction ``1 - stage / anneal_stages`` of their start value.
* ``hrex``: Hamiltonian replica exchange over ``replicas`` widths (fractions ``0 ..
  1`` of the start widths, evenly spaced) at ``temperature``; neighbour swaps every
  ``exchange_interval`` steps (Metropolis on the reduced energy difference); a snapshot of
  the width-0 replica is quenched every ``cycle_steps / replicas`` steps, so all three
  methods quench once per ``cycle_steps`` of budget.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import openmm as mm
import openmm.unit as unit

from ase_gausslj.core.validation import count
from ase_gausslj.io import interruptible

from ..dynamics.switch_on import RAMP_STEPS, SETTLE_STEPS, ramp_width
from ..forces.expressions import WIDTH_PARAMETER
from ..forces.torsions import TORSION_WIDTH_MAX
from ..inputs import positive_int, scalar_float
from .search_tools import (
    QUENCH_RESERVE,
    Budget,
    Conformer,
    MinimaSet,
    WidthControl,
    heavy_atom_indices,
    make_context,
    minimize_counted,
    with_smoothed_torsions,
)
from .stereo import add_stereo_restraints, compare_stereo, find_stereo_sites

__all__ = ["METHODS", "ConformerSearchResult", "Conformer", "search_conformers"]

METHODS = ("plain", "smoothed", "hrex")
_KB = (unit.MOLAR_GAS_CONSTANT_R).value_in_unit(unit.kilojoule_per_mole / unit.kelvin)


@dataclass
class ConformerSearchResult:
    """What a search found: distinct minima (ascending energy) and the best-so-far trace."""

    method: str
    seed: int
    budget: int
    conformers: list[Conformer]
    steps_used: int
    cpu_seconds: float
    n_quenches: int
    history: list[tuple[int, float, float]] = field(default_factory=list)  # step, cpu, best
    exchange_acceptance: float | None = None
    interrupted: bool = False
    stereo_guard: bool = False  # omega/chirality restraints were on while smoothed

    @property
    def n_stereo_changed(self) -> int | None:
        """Conformers with a cis flip or an inverted centre (``None`` without a topology)."""
        if not self.conformers or self.conformers[0].to_cis is None:
            return None
        return sum(bool(c.to_cis or c.inverted) for c in self.conformers)

    @property
    def energies(self) -> np.ndarray:
        return np.array([c.energy for c in self.conformers])

    @property
    def best_energy(self) -> float:
        return float(self.conformers[0].energy) if self.conformers else float("inf")

    def to_dict(self, *, with_positions: bool = False) -> dict:
        return {
            "method": self.method, "seed": self.seed, "budget": self.budget,
            "steps_used": self.steps_used, "cpu_seconds": self.cpu_seconds,
            "n_quenches": self.n_quenches, "best_energy": self.best_energy,
            "exchange_acceptance": self.exchange_acceptance,
            "interrupted": self.interrupted, "stereo_guard": self.stereo_guard,
            "n_stereo_changed": self.n_stereo_changed,
            "history": [list(h) for h in self.history],
            "conformers": [c.to_dict(with_positions=with_positions) for c in self.conformers],
        }


@dataclass
class _Run:
    """Shared state of one search (options already checked)."""

    opts: dict
    budget: Budget
    minima: MinimaSet
    quench_ctx: mm.Context
    n_quenches: int = 0
    history: list = field(default_factory=list)

    def quench(self, positions) -> None:
        """Exact minimization of a snapshot; record the minimum and the best-so-far."""
        self.quench_ctx.setPositions(positions)
        energy = minimize_counted(self.quench_ctx, self.budget,
                                  tolerance=self.opts["minimize_tolerance"],
                                  max_iterations=self.opts["max_minimize_iterations"])
        self.n_quenches += 1
        if not np.isfinite(energy):
            return  # a blown-up snapshot: nothing to record
        pos = self.quench_ctx.getState(getPositions=True).getPositions(asNumpy=True)
        self.minima.add(energy, pos.value_in_unit(unit.nanometer), self.budget.used,
                        self.budget.cpu)
        best = min(c.energy for c in self.minima.conformers)
        self.history.append((self.budget.used, self.budget.cpu, best))


QUENCH_COST = QUENCH_RESERVE + 1  # budget a quench needs at least (one iteration + reserve)


def _langevin(temperature: float, opts: dict, seed: int) -> mm.LangevinMiddleIntegrator:
    integ = mm.LangevinMiddleIntegrator(temperature, opts["friction"], opts["timestep"])
    integ.setRandomNumberSeed(int(seed) % 2**31)
    return integ


def _md(ctx: mm.Context, steps: int, run: _Run) -> None:
    ctx.getIntegrator().step(steps)
    run.budget.charge(steps)


def _switch_on(ctx: mm.Context, widths: WidthControl, tw: float, lw: float, run: _Run,
               limit: int) -> int:
    """Set the widths ``(tw, lw)``; an LJ width that grows ramps in (issue 18) over at most
    ``limit`` steps of the run's MD (budget charged). Returns the steps taken."""
    n = min(run.opts["ramp_steps"], limit)
    if not (widths.has_lj and n and lw > ctx.getParameter(WIDTH_PARAMETER)):
        widths.apply(ctx, tw, lw)
        return 0

    def set_widths(w: float) -> None:  # the torsion width follows the LJ width
        widths.apply(ctx, tw * w / lw, w)

    return ramp_width(ctx, lw, steps=n, settle_steps=min(SETTLE_STEPS, limit - n),
                      set_width=set_widths, step=lambda k: _md(ctx, k, run))


def _annealing_loop(run: _Run, system: mm.System, positions, *, smoothed: bool) -> None:
    """``plain`` and ``smoothed``: hot phase, cooling (+ width anneal), exact quench."""
    o = run.opts
    integ = _langevin(o["temperature"], o, o["seed"])
    ctx = make_context(system, integ, o["platform"], o["platform_properties"])
    widths = WidthControl(system)
    ctx.setPositions(positions)
    ctx.setVelocitiesToTemperature(o["temperature"], o["seed"])
    stages = o["anneal_stages"]
    hot = max(1, round(o["cycle_steps"] * (1 - o["anneal_fraction"])))
    per_stage = max(1, (o["cycle_steps"] - hot) // stages)
    tw, lw = (o["torsion_width"], o["lj_width"]) if smoothed else (0.0, 0.0)
    # a cycle starts only when it and its quench fit: the budget is an upper bound
    while run.budget.can_afford(hot + stages * per_stage + QUENCH_COST):
        integ.setTemperature(o["temperature"])
        # the ramp (and its settling) is part of the hot phase: a cycle costs the same
        _md(ctx, hot - _switch_on(ctx, widths, tw, lw, run, hot), run)
        for s in range(1, stages + 1):
            frac = 1.0 - s / stages
            widths.apply(ctx, tw * frac, lw * frac)
            integ.setTemperature(o["low_temperature"] + (o["temperature"] - o["low_temperature"])
                                 * frac)
            _md(ctx, per_stage, run)
        run.quench(ctx.getState(getPositions=True).getPositions(asNumpy=True))


def _hrex_loop(run: _Run, system: mm.System, positions) -> float:
    """Replica exchange over widths; returns the neighbour-swap acceptance rate."""
    o = run.opts
    n = o["replicas"]
    fracs = np.linspace(0.0, 1.0, n)
    ctxs, widths = [], WidthControl(system)
    for r in range(n):  # one System copy each: CMAP maps are rebuilt per context
        integ = _langevin(o["temperature"], o, o["seed"] * 1000 + r)
        ctx = make_context(copy.deepcopy(system), integ, o["platform"], o["platform_properties"])
        ctx.setPositions(positions)
        ctx.setVelocitiesToTemperature(o["temperature"], o["seed"] * 1000 + r)
        ctxs.append(ctx)
    slot = list(range(n))  # slot[r]: index of the width (fraction) context r holds now
    for r in range(n):  # the ramps share one cycle's steps
        _switch_on(ctxs[r], widths, o["torsion_width"] * fracs[r], o["lj_width"] * fracs[r],
                   run, o["cycle_steps"] // n)
    beta = 1.0 / (_KB * o["temperature"])
    rng = np.random.default_rng(o["seed"])
    interval = o["exchange_interval"]
    harvest = max(interval, o["cycle_steps"] // n // interval * interval)
    tried = accepted = step = 0

    def energy(ctx):
        return ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
            unit.kilojoule_per_mole)

    def put(ctx, k):
        widths.apply(ctx, o["torsion_width"] * fracs[k], o["lj_width"] * fracs[k])

    while run.budget.can_afford(n * interval + QUENCH_COST * ((step + interval) % harvest == 0)):
        for ctx in ctxs:
            _md(ctx, interval, run)
        step += interval
        holder = {slot[r]: r for r in range(n)}  # width index -> context
        for k in range(step // interval % 2, n - 1, 2):  # alternate even / odd pairs
            a, b = holder[k], holder[k + 1]
            e_aa, e_bb = energy(ctxs[a]), energy(ctxs[b])
            put(ctxs[a], k + 1)
            put(ctxs[b], k)
            e_ab, e_ba = energy(ctxs[a]), energy(ctxs[b])
            tried += 1
            delta = beta * (e_ab + e_ba - e_aa - e_bb)
            if np.isfinite(delta) and (delta <= 0 or rng.random() < np.exp(-delta)):
                accepted += 1
                slot[a], slot[b] = k + 1, k
            else:
                put(ctxs[a], k)
                put(ctxs[b], k + 1)
        if step % harvest == 0:
            zero = next(r for r in range(n) if slot[r] == 0)
            run.quench(ctxs[zero].getState(getPositions=True).getPositions(asNumpy=True))
    return accepted / tried if tried else float("nan")


def _options(system, method, budget, seed, kw) -> dict:
    if not isinstance(system, mm.System):
        raise TypeError(f"system must be an openmm.System, got {type(system).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    o = {"method": method, "budget": positive_int(budget, "budget"),
         "seed": int(scalar_float(seed, None, "seed", minimum=0))}
    k_, ps, nm = unit.kelvin, unit.picosecond, unit.nanometer
    o["temperature"] = scalar_float(kw["temperature"], k_, "temperature", minimum=0, strict=True)
    o["low_temperature"] = scalar_float(kw["low_temperature"], k_, "low_temperature",
                                        minimum=0, strict=True)
    if o["low_temperature"] > o["temperature"]:
        raise ValueError(f"low_temperature ({o['low_temperature']}) must be <= temperature "
                         f"({o['temperature']})")
    o["timestep"] = scalar_float(kw["timestep"], ps, "timestep", minimum=0, strict=True)
    o["friction"] = scalar_float(kw["friction"], ps**-1, "friction", minimum=0, strict=True)
    o["torsion_width"] = scalar_float(kw["torsion_width"], unit.radian, "torsion_width",
                                      minimum=0)
    if o["torsion_width"] > TORSION_WIDTH_MAX:
        raise ValueError(f"torsion_width must be <= pi, got {o['torsion_width']}")
    o["lj_width"] = scalar_float(kw["lj_width"], nm, "lj_width", minimum=0)
    o["rmsd_threshold"] = scalar_float(kw["rmsd_threshold"], nm, "rmsd_threshold",
                                       minimum=0, strict=True)
    o["minimize_tolerance"] = scalar_float(kw["minimize_tolerance"],
                                           unit.kilojoule_per_mole / nm, "minimize_tolerance",
                                           minimum=0, strict=True)
    fraction = scalar_float(kw["anneal_fraction"], None, "anneal_fraction", minimum=0)
    if fraction >= 1:
        raise ValueError(f"anneal_fraction must be in [0, 1), got {fraction}")
    o["anneal_fraction"] = fraction
    for name in ("cycle_steps", "anneal_stages", "replicas", "exchange_interval",
                 "max_minimize_iterations"):
        o[name] = positive_int(kw[name], name)
    if method == "hrex" and o["replicas"] < 2:
        raise ValueError(f"replicas must be >= 2 for hrex, got {o['replicas']}")
    cap = kw["cpu_seconds"]
    o["cpu_seconds"] = None if cap is None else scalar_float(cap, unit.second, "cpu_seconds",
                                                             minimum=0, strict=True)
    o["ramp_steps"] = count(kw["ramp_steps"], "ramp_steps", minimum=0)
    o["platform"], o["platform_properties"] = kw["platform"], kw["platform_properties"]
    return o


def _positions(system: mm.System, positions) -> np.ndarray:
    """Positions in nm as a finite ``(N, 3)`` array, or ``ValueError``."""
    pos = np.asarray(unit.Quantity(positions).value_in_unit(unit.nanometer)
                     if unit.is_quantity(positions) else positions, dtype=np.float64)
    if pos.shape != (system.getNumParticles(), 3) or not np.isfinite(pos).all():
        raise ValueError(f"positions must be finite with shape ({system.getNumParticles()}, 3),"
                         f" got {pos.shape}")
    return pos


def _prepare(system: mm.System, pos: np.ndarray, o: dict, topology, stereo_guard: bool):
    """The search's System (torsions smoothed, stereo restraints if guarded), the exact
    quench Context, the stereo sites and whether the guard is on."""
    method = o["method"]
    work = with_smoothed_torsions(system) if method != "plain" else copy.deepcopy(system)
    quench_sys = copy.deepcopy(work)
    sites = None if topology is None else find_stereo_sites(topology)
    guarded = bool(stereo_guard) and sites is not None and method != "plain"
    if guarded:
        add_stereo_restraints(work, topology, pos, sites=sites)
    quench_ctx = make_context(quench_sys, mm.VerletIntegrator(0.001), o["platform"],
                              o["platform_properties"])
    WidthControl(quench_sys).apply(quench_ctx, 0.0, 0.0)  # quench on the exact potential
    return work, quench_ctx, sites, guarded


def search_conformers(system: mm.System, positions, *, method: str = "smoothed",
                      budget: int = 20_000, seed: int = 0, temperature=600.0,
                      low_temperature=300.0, cycle_steps: int = 1000, anneal_fraction=0.5,
                      anneal_stages: int = 10, timestep=0.001, friction=5.0,
                      torsion_width=1.0, lj_width=0.0, replicas: int = 4,
                      exchange_interval: int = 50, rmsd_threshold=0.05,
                      minimize_tolerance=1.0, max_minimize_iterations: int = 2000,
                      cpu_seconds=None, topology=None, platform="CPU",
                      platform_properties: dict | None = None,
                      stereo_guard: bool = True,
                      ramp_steps: int = RAMP_STEPS) -> ConformerSearchResult:
    """Search the distinct low-energy minima of ``system`` from ``positions``.

    Parameters
    ----------
    system : openmm.System
        The exact system (not modified). It may already carry smoothed LJ forces
        (:func:`openmm_gausslj.smooth_system`, width parameter ``gausslj_width``): the
        quench always runs at width 0, and ``smoothed``/``hrex`` anneal the LJ width from
        ``lj_width``. Torsions are smoothed internally (:mod:`openmm_gausslj.forces.torsions`).
    positions : array (N, 3) or Quantity
        Start positions (nm).
    method : {"plain", "smoothed", "hrex"}
        See the module docstring.
    budget : int
        Force evaluations: MD steps (summed over replicas) + minimizer iterations. The run
        stops at the first quench that ends past it.
    seed : int
        Seeds velocities, Langevin noise and exchanges.
    temperature, low_temperature : float or Quantity
        Hot-phase and end-of-cooling temperatures (K); ``hrex`` runs at ``temperature``.
    cycle_steps : int
        MD steps between quenches (per replica-step for ``hrex``: one quench per
        ``cycle_steps`` of budget in every method).
    anneal_fraction, anneal_stages
        Fraction of a cycle spent cooling (and annealing widths), and its stages.
    timestep, friction : float or Quantity
        Langevin (middle) integrator settings (ps, 1/ps).
    torsion_width : float
        Start torsion width (radians, ``<= pi``) of ``smoothed`` and the widest ``hrex``
        replica.
    lj_width : float
        Start LJ width (nm), used only when the System has smoothed LJ forces.
    replicas, exchange_interval : int
        ``hrex`` replicas (widths evenly spaced from 0) and steps between swap attempts.
    rmsd_threshold : float
        Heavy-atom RMSD (nm, after superposition) above which two minima are distinct.
    minimize_tolerance, max_minimize_iterations
        L-BFGS settings of each quench (kJ/mol/nm).
    cpu_seconds : float, optional
        A cap on CPU time (process time); the step budget is what makes runs repeatable.
    topology : openmm.app.Topology, optional
        Picks heavy atoms by element (else by mass > 4.5 Da) and enables the stereo
        checks: each conformer's ``to_cis``/``inverted`` against ``positions``.
    stereo_guard : bool
        With ``topology``, ``smoothed``/``hrex`` restrain omega and the stereocentres while
        a width is > 0 (:func:`openmm_gausslj.molecules.stereo.add_stereo_restraints`; exactly 0 at
        width 0, so the quench and the width-0 replica are exact). Measured in
        docs/molecules.md: without it torsion smoothing finds cis minima.
    platform, platform_properties
        OpenMM platform (name or object) and its properties.
    ramp_steps : int
        With ``lj_width > 0``, the LJ width (and the torsion width with it) ramps in from 0
        over up to ``ramp_steps`` steps at the ramp friction, then settles there
        (:func:`~openmm_gausslj.dynamics.switch_on.ramp_width`), at the start of every
        ``smoothed`` cycle (within its hot phase) and of every ``hrex`` replica (within
        one cycle's steps): a jump heats the molecule (issue 18). 0: jump.

    Returns
    -------
    ConformerSearchResult
        ``conformers`` by ascending energy; ``history`` the best energy after each
        quench with the steps and CPU seconds used; ``interrupted`` after Ctrl-C.
    """
    o = _options(system, method, budget, seed, dict(
        temperature=temperature, low_temperature=low_temperature, cycle_steps=cycle_steps,
        anneal_fraction=anneal_fraction, anneal_stages=anneal_stages, timestep=timestep,
        friction=friction, torsion_width=torsion_width, lj_width=lj_width, replicas=replicas,
        exchange_interval=exchange_interval, rmsd_threshold=rmsd_threshold,
        minimize_tolerance=minimize_tolerance,
        max_minimize_iterations=max_minimize_iterations, cpu_seconds=cpu_seconds,
        platform=platform, platform_properties=platform_properties, ramp_steps=ramp_steps))
    pos = _positions(system, positions)
    if o["budget"] < o["cycle_steps"] + QUENCH_COST:
        raise ValueError(f"budget ({o['budget']}) must be >= cycle_steps + {QUENCH_COST} "
                         f"({o['cycle_steps'] + QUENCH_COST}): one cycle of MD and its quench "
                         "must fit (the budget is an upper bound)")
    work, quench_ctx, sites, guarded = _prepare(system, pos, o, topology, stereo_guard)
    run = _Run(o, Budget(o["budget"], o["cpu_seconds"]),
               MinimaSet(heavy_atom_indices(system, topology), o["rmsd_threshold"]), quench_ctx)
    acceptance = None
    with interruptible() as interrupted:  # Ctrl-C keeps the minima found so far
        if method == "hrex":
            acceptance = _hrex_loop(run, work, pos)
        else:
            _annealing_loop(run, work, pos, smoothed=method == "smoothed")
    conformers = run.minima.sorted()
    for c in conformers if sites is not None else ():
        report = compare_stereo(sites, pos, c.positions)
        c.to_cis, c.inverted = report.to_cis, report.inverted
    return ConformerSearchResult(
        method=method, seed=o["seed"], budget=o["budget"], conformers=conformers,
        steps_used=run.budget.used, cpu_seconds=run.budget.cpu, n_quenches=run.n_quenches,
        history=run.history, exchange_acceptance=acceptance, interrupted=bool(interrupted),
        stereo_guard=guarded)
