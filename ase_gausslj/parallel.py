"""One fan-out for every multi-run API (multistart, global_minimize, run_smc_repeats).

An *executor* is anything with ``submit(fn, *args, **kwargs) -> future`` whose futures have
``result()``: :class:`concurrent.futures.ProcessPoolExecutor`, a ``dask.distributed``
``Client`` or ``client.get_executor()``. ``None`` runs the jobs serially in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["map_jobs"]

T = TypeVar("T")


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
        Where to run; ``None`` runs serially.
    progress : bool
        Show a tqdm bar that advances as results arrive (in submission order).
    desc : str, optional
        The bar's label.
    """
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(f"executor must have a submit() method, got {type(executor).__name__}")
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
