"""One fan-out for every multi-run API (multistart, global_minimize, run_smc_repeats).

An *executor* is anything with ``submit(fn, *args, **kwargs) -> future`` whose futures have
``result()``: :class:`concurrent.futures.ProcessPoolExecutor`, a ``dask.distributed``
``Client`` or ``client.get_executor()``. ``None`` runs the jobs serially in this process.

Fork safety
-----------
numba runs its parallel kernels (table builds, replica batches of the samplers) on GNU
OpenMP threads, and GNU OpenMP aborts a child forked after those threads started
(``fork() called from a process already using GNU OpenMP, this is unsafe``). Pools made
here (:func:`process_pool`, the CLI's ``--workers``) therefore start their workers from a
fork server (or by spawning), never by forking this process. A user's own fork-based
:class:`~concurrent.futures.ProcessPoolExecutor` that would fork after OpenMP started is
refused by :func:`map_jobs` with an error that says how to make one that works.
Switching numba to its fork-safe ``workqueue`` layer instead is not done: the layer is
process-wide (a library would change it under the user's own numba code), it aborts the
process when two threads run parallel kernels at once ("Concurrent access has been
detected", possible as soon as a kernel releases the GIL), and ``tbb`` is an optional
package.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from .core.validation import count

__all__ = ["map_jobs", "process_pool", "check_fork_safe"]

T = TypeVar("T")


def process_pool(max_workers: int) -> ProcessPoolExecutor:
    """A :class:`~concurrent.futures.ProcessPoolExecutor` safe to use at any time.

    Its workers start from a fork server (``spawn`` where there is none), so numba's
    OpenMP threads in this process do not matter (see the module docstring). Each worker
    imports the package afresh: the first job of a worker pays the import (numba loads its
    compiled kernels from the on-disk cache).

    Parameters
    ----------
    max_workers : int
        Number of worker processes (>= 1).
    """
    n = count(max_workers, "max_workers", 1)
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(n, mp_context=ctx)


def _openmp_running() -> bool:
    """True when numba's GNU OpenMP threading layer has started in this process."""
    par = sys.modules.get("numba.np.ufunc.parallel")
    if par is None or not getattr(par, "_is_initialized", False):
        return False  # numba never ran a parallel kernel here: nothing to inherit
    try:
        layer = par.threading_layer()
    except ValueError:
        return False
    if layer != "omp":
        return False  # tbb and workqueue survive a fork
    try:
        from numba.np.ufunc import omppool
    except ImportError:
        return True
    return getattr(omppool, "openmp_vendor", "GNU") == "GNU"  # Intel's OpenMP is fork-safe


def check_fork_safe(executor: Any) -> None:
    """Refuse a process pool that would fork this process after OpenMP started.

    Raises
    ------
    RuntimeError
        When ``executor`` is a :class:`~concurrent.futures.ProcessPoolExecutor` whose
        start method is ``fork``, whose workers are not started yet, and numba's GNU
        OpenMP threads run here: its workers would abort and the pool break. The message
        says how to make a pool that works.
    """
    if not isinstance(executor, ProcessPoolExecutor):
        return
    ctx = getattr(executor, "_mp_context", None)
    if ctx is None or ctx.get_start_method() != "fork":
        return
    if getattr(executor, "_processes", None):
        return  # a fork pool launches all its workers at once: they exist already
    if _openmp_running():
        raise RuntimeError(
            "executor: this ProcessPoolExecutor starts its workers with fork(), and numba's "
            "GNU OpenMP threads already run in this process, so every worker would abort "
            "('fork() called from a process already using GNU OpenMP'). Use "
            "ase_gausslj.parallel.process_pool(n), or ProcessPoolExecutor(n, mp_context="
            "multiprocessing.get_context('forkserver')) ('spawn' works too)."
        )


def map_jobs(
    fn: Callable[..., T],
    jobs: Sequence[tuple],
    *,
    executor: Any | None = None,
    progress: bool = False,
    desc: str | None = None,
) -> list[T]:
    """``[fn(*job) for job in jobs]``, optionally on ``executor``, in the order of ``jobs``.

    Parameters
    ----------
    fn : callable
        A module-level function (it must pickle for process pools and Dask).
    jobs : sequence of tuple
        The positional arguments of each call.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where to run; ``None`` runs serially. A fork-based process pool is refused when
        it would fork after numba's OpenMP started (:func:`check_fork_safe`).
    progress : bool
        Show a tqdm bar that advances as results arrive (in submission order).
    desc : str, optional
        The bar's label.
    """
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(f"executor must have a submit() method, got {type(executor).__name__}")
    if executor is not None:
        check_fork_safe(executor)
    from tqdm.auto import tqdm

    results: list[T] = []
    with tqdm(total=len(jobs), disable=not progress, desc=desc) as bar:
        if executor is None:
            for job in jobs:
                results.append(fn(*job))
                bar.update()
        else:
            futures = [executor.submit(fn, *job) for job in jobs]
            for fut in futures:
                results.append(fut.result())
                bar.update()
    return results
