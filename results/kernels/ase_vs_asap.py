"""GaussianLJ (from the tree on PYTHONPATH) against ASAP on fcc LJ crystals, same process.

Generator of the before/after rows of ``results/kernels/issue21_before_after.json``:
``OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=<tree>
python results/kernels/ase_vs_asap.py 10 16`` (4 m^3 atoms per argument). One atom nudged
by 1e-3 between calls, ``get_forces()`` per call (``--e-then-f``: energy, then forces;
ASAP then runs two passes), CPU time, median of 7 interleaved repeats.
"""

import json
import sys
import time

import numpy as np
from asap3 import LennardJones as AsapLJ
from ase.build import bulk

import ase_gausslj
from ase_gausslj import GaussianLJ


def timed_calls(atoms, calls=10, both=False):
    def call():
        for c in range(calls):
            atoms.positions[c] += 1e-3 * (1 - 2 * (c % 2))
            if both:
                atoms.get_potential_energy()
            atoms.get_forces()
    return call


BOTH = "--e-then-f" in sys.argv


def main(cells):
    res = {"code": ase_gausslj.__file__}
    for m in cells:
        at0 = bulk("Ar", "fcc", a=2 ** (1 / 6) * np.sqrt(2), cubic=True).repeat((m,) * 3)
        at0.rattle(0.02, seed=0)
        calcs = {"asap": lambda: AsapLJ([18], [1.0], [1.0], rCut=3.0, modified=True),
                 "w0": lambda: GaussianLJ(rc=3.0, width=0.0),
                 "w0.3": lambda: GaussianLJ(rc=3.0, width=0.3)}
        runs = {}
        for name, make in calcs.items():
            at = at0.copy()
            at.calc = make()
            runs[name] = timed_calls(at, both=BOTH)
            runs[name]()
            print(name, at.get_potential_energy())
        ts = {name: [] for name in runs}
        for _ in range(7):
            for name, fn in runs.items():
                t = time.process_time()
                fn()
                ts[name].append((time.process_time() - t) / 10 * 1e3)
        med = {name: float(np.median(v)) for name, v in ts.items()}
        med.update({f"{name}/asap": med[name] / med["asap"] for name in ("w0", "w0.3")})
        res[len(at0)] = med
        print(len(at0), med, flush=True)
    print(json.dumps(res))


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:] if not x.startswith("--")] or [10, 16])
