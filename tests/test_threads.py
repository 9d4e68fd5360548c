"""A calculator or driver shared by threads returns each thread its own numbers (issue 19).

Before: ``GaussianLJ`` shared by two threads returned the other thread's energy (ASE keeps
the last atoms and results on the calculator: thread A's ``calculate`` stored its results,
thread B's check found them current and read them). The thread switch interval is made
tiny so that threads interleave inside every call.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from ase import Atoms

from ase_gausslj import GaussianLJ, SmoothedLJ

CALLS = 200  # per thread; the old calculator got about half of them wrong
DRIVER_CALLS = 600  # the driver's race window is narrow: old code failed 3 runs of 3


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _configs(n_sets: int, n_atoms: int = 13, seed: int = 0) -> list[np.ndarray]:
    # far enough apart that no neighbour list of one is valid for another
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 3.0, (n_atoms, 3))
    return [base + rng.normal(0, 0.25, base.shape) for _ in range(n_sets)]


def _run_threads(work, n_threads: int) -> list:
    errors: list = []

    def target(k: int) -> None:
        try:
            work(k)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("rc", [None, 2.5], ids=["all-pairs", "cutoff"])
def test_calculator_shared_by_threads(fast_switching, rc):
    pos = _configs(6)  # thread k alternates between configurations 2k and 2k + 1
    calc = GaussianLJ(width=0.2, rc=rc)
    ref = []
    for p in pos:
        a = Atoms("Ar13", positions=p)
        a.calc = GaussianLJ(width=0.2, rc=rc)
        ref.append((a.get_potential_energy(), a.get_forces()))
    wrong = []

    def work(k: int) -> None:
        atoms = Atoms("Ar13", positions=pos[2 * k])
        atoms.calc = calc  # the one calculator of all threads
        for i in range(CALLS):
            m = 2 * k + i % 2  # a new state on every call: each one recomputes
            atoms.positions = pos[m]
            e = atoms.get_potential_energy()
            f = atoms.get_forces()
            if abs(e - ref[m][0]) > 1e-9 * abs(ref[m][0]) or not np.allclose(f, ref[m][1]):
                wrong.append((m, e, ref[m][0]))

    errors = _run_threads(work, len(pos) // 2)
    assert not errors, errors
    assert not wrong, f"{len(wrong)} wrong results of {CALLS * 3}, e.g. {wrong[:3]}"


def test_driver_shared_by_threads_with_a_neighbour_list(fast_switching):
    pos = _configs(3)
    lj = SmoothedLJ()
    ref = [SmoothedLJ().compute(p, 0.2, cutoff=2.5, cutoff_mode="shift").energy
           for p in pos]
    wrong = []

    def work(k: int) -> None:
        for _ in range(DRIVER_CALLS):
            e = lj.compute(pos[k], 0.2, cutoff=2.5, cutoff_mode="shift").energy
            if abs(e - ref[k]) > 1e-9:
                wrong.append((k, e, ref[k]))

    errors = _run_threads(work, len(pos))
    assert not errors, errors
    assert not wrong, f"{len(wrong)} wrong energies of {DRIVER_CALLS * len(pos)}, e.g. {wrong[:3]}"
