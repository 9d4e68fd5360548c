"""The defaults of every entry point, defined once (API and CLI read them from here).

Each entry point has one frozen dataclass instance; a function signature takes
``method: str = GLOBAL_OPT.method`` and the ``gausslj`` subcommand uses the same value as
its argparse default, so the two cannot drift (``tests/test_defaults.py`` compares every
CLI default with the API signature by introspection). This module imports nothing heavy,
so ``gausslj --help`` stays fast. Reduced units: lengths in sigma, energies in epsilon.

Where each number comes from (the measurements and their commands are in
``docs/when-to-smooth.md`` and ``results/defaults/``):

* :data:`GLOBAL_OPT`: plain basin hopping with loose quenches (``gtol=1e-3``, new bests
  polished to 1e-5) won the held-out sweep (``results/defaults/sweep.json``: LJ13,
  26-31, 38, 45-52, 4 seeds each, 4 CPU-s cap for every strategy): 64/64 reached the
  global minimum, median 0.23 CPU-s, mean 0.38 (tight ``bh``: 64/64, 0.25, 0.40; one
  smoothed quench in 20 ``deep``: 63/64, 0.25, 0.57; ``p_smooth=0.2``: 61/64; every
  quench smoothed, the former CLI default: 29/64). ``budget`` is a count everywhere (quenches); time
  is only ``time_limit`` (seconds, a cap).
* :data:`HOMOTOPY`: the first width is the largest at which the smoothed pair well still
  binds by ``bind_fraction`` of epsilon (0.04 eps: width ~0.3 sigma for ``r_core=0.8``;
  the paper's 1.0 sigma disperses every free cluster), widths shrink by ``factor`` to
  ``floor``, then 0; the result keeps a plain minimization from the same start when that
  is lower (``compare_plain``), because one homotopy is not better than one plain
  minimization from every start.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["GlobalOptDefaults", "HomotopyDefaults", "GLOBAL_OPT", "HOMOTOPY", "GLOBAL_METHODS",
           "HOMOTOPY_OPTIMIZERS", "GLOBAL_STRATEGIES", "BEST_STRATEGY", "best_strategy"]

GLOBAL_METHODS = ("bh", "smoothed-bh", "homotopy")
"""Names accepted by ``global_minimize(method=...)`` and ``gausslj optimize --method``."""

GLOBAL_STRATEGIES = ("auto", "displacement", "surface", "pt-surface")
"""Names accepted by ``global_minimize(strategy=...)`` and ``gausslj optimize --strategy``:
the step of ``'bh'`` (``'displacement'``: every atom displaced at random; ``'surface'``:
surface moves, :class:`~ase_gausslj.optimize.hard.surface.SurfaceMove`), or basin hopping
with parallel tempering and surface moves (``'pt-surface'``); ``'auto'``: the measured best
for the cluster size, :func:`best_strategy`."""

BEST_STRATEGY = MappingProxyType({75: "surface", 98: "pt-surface"})
"""The measured best strategy of ``'bh'`` per LJ cluster size, where it is not plain
``'displacement'`` (filled from results/hard/, see :func:`best_strategy`)."""

HOMOTOPY_OPTIMIZERS = ("lbfgs", "fire", "adam")
"""Inner minimizers of ``homotopy_minimize(optimizer=...)``."""


@dataclass(frozen=True)
class GlobalOptDefaults:
    """Defaults of :func:`~ase_gausslj.optimize.globalopt.global_minimize`,
    :func:`~ase_gausslj.adapters.optimizers.global_minimize_atoms` and
    ``gausslj optimize``."""

    method: str = "bh"
    max_minimizations: int = 1000  # the budget (quenches) when no time limit is given
    temperature: float = 0.8       # Metropolis k_B T / epsilon (Wales & Doye 1997)
    step: float = 0.4              # half-edge of the displacement cube, sigma
    widths: tuple[float, ...] = (0.3,)  # ladder of 'smoothed-bh'
    p_smooth: float = 1.0          # 'smoothed-bh': fraction of smoothed quenches
    gtol: float = 1e-3             # quench tolerance (largest gradient component)
    width_gtol: float = 1e-3       # tolerance of the smoothed phases
    maxiter: int = 2000
    target_tol: float = 1e-4
    checkpoint_every: float = 10.0
    clock: str = "wall"
    n_starts: int = 1
    strategy: str = "auto"         # per cluster size: best_strategy(n)


@dataclass(frozen=True)
class HomotopyDefaults:
    """Defaults of :func:`~ase_gausslj.optimize.homotopy.homotopy_minimize`,
    :class:`~ase_gausslj.adapters.optimizers.GaussianHomotopy` and ``gausslj homotopy``."""

    optimizer: str = "lbfgs"
    bind_fraction: float = 0.04    # first width: the pair well still binds by this * eps
    factor: float = 0.8            # width ratio between stages
    floor: float = 0.025           # last smoothed width, sigma (the paper's)
    steps_per_width: int = 1000
    final_steps: int = 10_000
    gtol: float = 1e-5
    lr: float = 0.1                # Adam
    compare_plain: bool = True     # keep a plain minimization from the start when lower
    fmax_smoothed: float = 0.05    # ASE: force tolerance of smoothed stages, eps/sigma
    runs: int = 5                  # CLI: random starts
    seed: int = 0                  # CLI: first seed


GLOBAL_OPT = GlobalOptDefaults()
HOMOTOPY = HomotopyDefaults()


def best_strategy(n_atoms: int) -> str:
    """The strategy ``strategy='auto'`` runs for an ``n_atoms`` LJ cluster.

    :data:`BEST_STRATEGY` where results/hard/ measured a winner over plain basin hopping
    at that size, ``'displacement'`` (plain basin hopping) everywhere else.
    """
    return BEST_STRATEGY.get(int(n_atoms), "displacement")
