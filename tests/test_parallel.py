"""Parallel runs with the *default* objectives, through the API and the CLI (issue 19).

Before: the default objective (a ``SmoothedLJ`` bound method) did not pickle, and a process
pool forked after numba's GNU OpenMP threads had started died (``fork() called from a
process already using GNU OpenMP``, then ``BrokenProcessPool``). Every test here first
makes sure numba's parallel layer has run in this process (the failing situation), and
compares the parallel results with a serial run of the same seeds.
Sizes are small (LJ7/LJ13, a few quenches) so that each test takes seconds.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from ase_gausslj import global_minimize, run_smc, run_smc_repeats
from ase_gausslj.cli import main
from ase_gausslj.parallel import check_fork_safe, process_pool

SMC = dict(n_replicas=8, n_steps=3)
GM = dict(max_minimizations=3, seed=4)


@pytest.fixture(scope="module")
def openmp_started():
    """Run a numba-parallel kernel here, as a user's earlier ``run_smc`` would."""
    run_smc(7, seed=0, **SMC)
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        return None


@pytest.fixture(scope="module")
def pool(openmp_started):
    # made after OpenMP started, as in the report; shared to start the workers once
    with process_pool(2) as ex:
        yield ex


def _energies(results) -> list[float]:
    return [r.summary()["min_lj_energy"] for r in results]


def test_global_minimize_default_objective_on_a_process_pool(pool):
    pooled = global_minimize(13, n_starts=2, executor=pool, **GM)
    serial = global_minimize(13, n_starts=2, **GM)
    assert [r.energy for r in pooled.runs] == [r.energy for r in serial.runs]
    assert pooled.energy == min(r.energy for r in pooled.runs)


def test_run_smc_repeats_on_a_process_pool_after_openmp(pool):
    pooled = run_smc_repeats(7, [0, 1], executor=pool, **SMC)
    assert _energies(pooled) == _energies(run_smc_repeats(7, [0, 1], **SMC))


def test_a_users_fork_pool_is_refused_with_the_fix_after_openmp(openmp_started):
    if openmp_started != "omp":
        pytest.skip(f"numba's threading layer is {openmp_started!r}, not GNU OpenMP: "
                    "forking is safe there")
    fork_pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    with fork_pool:
        # before: the workers aborted and the pool broke (BrokenProcessPool)
        with pytest.raises(RuntimeError, match="executor.*process_pool.*forkserver"):
            run_smc_repeats(7, [0, 1], executor=fork_pool, **SMC)
        with pytest.raises(RuntimeError, match="executor"):
            global_minimize(7, n_starts=2, executor=fork_pool, **GM)
        assert not fork_pool._processes  # refused before any worker was forked


def test_fork_check_leaves_other_executors_alone(pool):
    from concurrent.futures import ThreadPoolExecutor

    check_fork_safe(pool)  # forkserver
    with ThreadPoolExecutor(1) as threads:
        check_fork_safe(threads)
    spawn = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    check_fork_safe(spawn)
    spawn.shutdown()
    with pytest.raises(ValueError, match="max_workers"):
        process_pool(0)


def test_dask_in_process_cluster_with_default_objectives(openmp_started):
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        gm = global_minimize(13, n_starts=2, executor=client, **GM)
        smc = run_smc_repeats(7, [0, 1], executor=client, **SMC)
    serial = global_minimize(13, n_starts=2, **GM)
    assert [r.energy for r in gm.runs] == [r.energy for r in serial.runs]
    assert _energies(smc) == _energies(run_smc_repeats(7, [0, 1], **SMC))


def test_dask_worker_process_with_default_objective(openmp_started):
    """A real worker process: the default objective travels pickled, after OpenMP."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        gm = global_minimize(7, n_starts=2, executor=client, **GM)
    assert [r.energy for r in gm.runs] == [r.energy for r in
                                          global_minimize(7, n_starts=2, **GM).runs]


def test_cli_optimize_with_workers(openmp_started, capsys):
    argv = ["optimize", "13", "--n-starts", "2", "--quenches", "3", "--seed", "4",
            "--no-progress"]
    assert main([*argv, "--workers", "2"]) == 0
    pooled = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    serial = json.loads(capsys.readouterr().out)
    assert pooled["energy"] == serial["energy"] and np.isfinite(pooled["energy"])


def test_cli_smc_with_workers(openmp_started, capsys):
    argv = ["smc", "--n-atoms", "7", "--replicas", "8", "--steps", "3", "--runs", "2",
            "--no-progress"]
    assert main([*argv, "--workers", "2"]) == 0
    pooled = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x[:1] == "{"]
    assert main(argv) == 0
    serial = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x[:1] == "{"]
    assert [x["seed"] for x in pooled] == [0, 1]
    assert [x["min_lj_energy"] for x in pooled] == [x["min_lj_energy"] for x in serial]


def test_cli_homotopy_with_workers(openmp_started, capsys):
    argv = ["homotopy", "7", "--runs", "2", "--max-steps", "50", "--no-progress"]
    assert main([*argv, "--workers", "2"]) == 0
    pooled = [x.split("widths")[0] for x in capsys.readouterr().out.splitlines()
              if x.startswith("seed")]
    assert main(argv) == 0
    serial = [x.split("widths")[0] for x in capsys.readouterr().out.splitlines()
              if x.startswith("seed")]
    assert len(pooled) == 2 and pooled == serial  # "seed k: E = ..." per run


def _spin(seconds: float) -> str:
    """A job that runs for ``seconds`` unless interrupted (then says so)."""
    import time as _time

    end = _time.monotonic() + seconds
    try:
        while _time.monotonic() < end:
            sum(range(1000))
    except KeyboardInterrupt:
        return "interrupted"
    return "finished"


def test_interrupt_stops_a_process_pool_and_keeps_the_partial_results():
    # before: Ctrl-C/SIGTERM in the parent waited for every queued job (a CLI run with
    # --workers 2 kept running its 200,000 quenches after SIGTERM and wrote nothing)
    import os
    import signal
    import threading
    import time

    from ase_gausslj.parallel import map_jobs, process_pool

    with process_pool(2) as pool:
        assert pool.submit(_spin, 0.0).result() == "finished"  # a worker is up
        # a real signal (interrupt_main() would not wake the wait on the futures)
        threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        t0 = time.monotonic()
        out = map_jobs(_spin, [(60.0,)] * 6, executor=pool, partial=True)
        waited = time.monotonic() - t0
    assert waited < 20.0, waited
    assert len(out) == 6
    assert out.count("interrupted") >= 1 and "finished" not in out
    assert set(out) <= {"interrupted", None}  # queued jobs: not run


def test_interrupt_reraises_without_partial():
    import os
    import signal
    import threading

    from ase_gausslj.parallel import map_jobs, process_pool

    with process_pool(1) as pool:
        assert pool.submit(_spin, 0.0).result() == "finished"
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            map_jobs(_spin, [(60.0,)] * 2, executor=pool)
