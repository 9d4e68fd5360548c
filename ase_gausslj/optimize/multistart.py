"""Independent homotopy runs over seeds or explicit starts, through one fan-out.

Runs go through :func:`ase_gausslj.parallel.map_jobs`, so any executor works (a
``concurrent.futures`` pool, a Dask client, or ``None`` for serial).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.validation import check_positions
from ..parallel import map_jobs
from .homotopy import HomotopyResult, check_options, homotopy_minimize

__all__ = ["MultistartResult", "multistart"]


@dataclass
class MultistartResult:
    """Outcome of :func:`multistart`: all runs, best first.

    ``interrupted`` is True when Ctrl-C ended the runs early (``results`` then holds the
    runs that finished, and the interrupted one's partial result).
    """

    results: list[HomotopyResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def best(self) -> HomotopyResult:
        """The run with the lowest final energy."""
        return self.results[0]

    @property
    def energies(self) -> np.ndarray:
        """Final energies, sorted ascending."""
        return np.array([r.energy for r in self.results])


class _StopFlag:
    """Set by the first interrupted run so that a serial fan-out stops there."""

    def __init__(self) -> None:
        self.set = False


def _run_seed(flag: _StopFlag, n_or_positions, seed, kwargs) -> HomotopyResult | None:
    if flag.set:
        return None
    res = homotopy_minimize(n_or_positions, seed=seed, **kwargs)
    if res.interrupted:
        flag.set = True
    return res


def multistart(
    positions,
    *,
    seeds: int | Sequence[int] = 5,
    executor: Any | None = None,
    progress: bool = False,
    **kwargs,
) -> MultistartResult:
    """Run :func:`~.homotopy.homotopy_minimize` from several random starts.

    Parameters
    ----------
    positions : int or array_like (R, N, 3)
        Number of atoms (random ``N(0, 1)`` starts, one per seed) or explicit starts.
    seeds : int or sequence of int
        ``range(seeds)`` or the seeds themselves (one run each). Ignored for explicit
        starts except as labels.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where to run: ``None`` runs serially in-process; a
        :class:`~concurrent.futures.ProcessPoolExecutor` uses local cores; a
        ``dask.distributed`` client spreads over a cluster.
    progress : bool
        Show a tqdm progress bar.
    **kwargs
        Passed to :func:`~.homotopy.homotopy_minimize` (checked once, before any run).

    Returns
    -------
    MultistartResult
        All runs, sorted by final energy (``.best`` is the lowest). After Ctrl-C in a
        serial run: the runs done so far, ``interrupted=True``.
    """
    if isinstance(positions, (int, np.integer)) and not isinstance(positions, bool):
        if positions < 2:
            raise ValueError(f"positions: need at least 2 atoms, got {positions}")
        seeds = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else list(seeds)
        jobs = [(int(positions), s) for s in seeds]
    else:
        starts = check_positions(positions, "positions", batched=True)
        seeds = (list(range(len(starts))) if isinstance(seeds, (int, np.integer))
                 else list(seeds))
        if len(seeds) != len(starts):
            raise ValueError(f"seeds: need {len(starts)} labels, got {len(seeds)}")
        jobs = [(starts[i], s) for i, s in enumerate(seeds)]
    if not jobs:
        raise ValueError("seeds: need at least one run")
    check_options(**kwargs)
    flag = _StopFlag()
    results = map_jobs(_run_seed, [(flag, p, s, kwargs) for p, s in jobs],
                       executor=executor, progress=progress, desc="multistart",
                       partial=True)
    done = sorted((r for r in results if r is not None), key=lambda r: r.energy)
    if not done:
        raise KeyboardInterrupt
    return MultistartResult(done, interrupted=any(r.interrupted for r in done))
