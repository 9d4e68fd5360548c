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

Interruption
------------
Ctrl-C or SIGTERM in this process while jobs run in a pool (:func:`map_jobs` with
``partial=True``) does not lose the runs: jobs not started are cancelled, the workers of a
pool made by :func:`process_pool` receive SIGINT, so each running job ends as if Ctrl-C had
reached it (the runs of gausslj return their partial result, flagged ``interrupted``), and
those results come back in place of the cancelled ones (``None``). Idle workers ignore
SIGINT (a terminal's Ctrl-C reaches every process of the group and used to kill them,
breaking the pool), and a running job takes only the first SIGINT, so the signal from the
terminal and the one forwarded from here do not interrupt its clean-up twice.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from typing import Any, TypeVar

from .core.validation import count

__all__ = ["map_jobs", "process_pool", "check_fork_safe"]

# how long an interrupted pool's running jobs get to return their partial results
INTERRUPT_GRACE_S = 60.0

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
    pool = ProcessPoolExecutor(n, mp_context=ctx, initializer=_ignore_sigint)
    pool._gausslj_forward_sigint = True  # its idle workers survive a forwarded SIGINT
    return pool


# in a worker: when SIGINT last came; jobs handed to it within INTERRUPT_GRACE_S after that
# are skipped (a pool pre-queues jobs to its workers, beyond the reach of cancel())
_SIGINT_AT: list[float] = []


def _ignore_sigint() -> None:
    """Worker initializer: an idle worker outlives SIGINT (the pool stays whole)."""
    signal.signal(signal.SIGINT, _note_sigint)


def _note_sigint(signum, frame) -> None:  # noqa: ARG001 (signal's signature)
    # idle, or still unpickling (importing) a job: remember, so that job does not start
    _SIGINT_AT[:] = [time.monotonic()]


def _interrupt_once(signum, frame) -> None:  # noqa: ARG001 (signal's signature)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _SIGINT_AT[:] = [time.monotonic()]  # jobs already queued to this worker do not start
    raise KeyboardInterrupt


class _NotRun:
    """A job a worker skipped because the pool was interrupted before it started."""


def _call_interruptible(fn: Callable[..., T], *args: Any) -> T | _NotRun:
    """Run a job in a worker: the first SIGINT interrupts it, later ones are ignored."""
    if threading.current_thread() is not threading.main_thread():
        return fn(*args)  # a thread pool: signals belong to the main thread
    if _SIGINT_AT and time.monotonic() - _SIGINT_AT[0] < INTERRUPT_GRACE_S:
        return _NotRun()
    old = signal.signal(signal.SIGINT, _interrupt_once)
    try:
        return fn(*args)
    finally:
        signal.signal(signal.SIGINT, old)


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
    partial: bool = False,
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
    partial : bool
        What Ctrl-C / SIGTERM (``KeyboardInterrupt`` here) does while an executor runs the
        jobs: with ``True``, jobs not started are cancelled, running ones are interrupted
        (see the module docstring) and the list comes back with their (partial) results
        and ``None`` for the cancelled ones; with ``False`` the same happens and the
        ``KeyboardInterrupt`` is raised again. Serially, ``fn`` sees the interrupt itself.
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
            wrap = isinstance(executor, ProcessPoolExecutor)
            futures = [executor.submit(_call_interruptible, fn, *job) if wrap
                       else executor.submit(fn, *job) for job in jobs]
            try:
                for fut in futures:
                    results.append(_value(fut.result()))
                    bar.update()
            except KeyboardInterrupt:
                results = _stop(executor, futures)
                if not partial:
                    raise
    return results


def _value(result: Any) -> Any:
    return None if isinstance(result, _NotRun) else result


def _stop(executor: Any, futures: list) -> list:
    """Cancel what has not started, interrupt what runs, collect what comes back."""
    for fut in futures:
        fut.cancel()
    if getattr(executor, "_gausslj_forward_sigint", False):
        _interrupt_workers(executor, futures)
    out = []
    for fut in futures:
        try:
            out.append(None if fut.cancelled()
                       else _value(fut.result(timeout=INTERRUPT_GRACE_S)))
        except KeyboardInterrupt:
            raise  # a second interrupt here: give up waiting
        except Exception as exc:  # noqa: BLE001 (one lost job must not lose the others)
            warnings.warn(f"a job interrupted in the pool was lost: {exc!r}", RuntimeWarning,
                          stacklevel=3)
            out.append(None)
    return out


def _interrupt_workers(executor: ProcessPoolExecutor, futures: list) -> None:
    """SIGINT to the pool's workers until every job has come back (or the grace ends).

    Repeated because a worker still starting ignores signals until its initializer has
    run; a running job takes only the first one, an idle worker only notes the time.
    """
    end = time.monotonic() + INTERRUPT_GRACE_S
    pending = [f for f in futures if not f.done()]
    while pending and time.monotonic() < end:
        for proc in list((getattr(executor, "_processes", None) or {}).values()):
            try:
                os.kill(proc.pid, signal.SIGINT)
            except (ProcessLookupError, AttributeError, TypeError):
                pass  # already gone
        pending = list(wait(pending, timeout=0.25).not_done)
