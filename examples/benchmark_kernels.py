"""Benchmark the smoothed-LJ kernels against plain LJ anchors (thin wrapper).

The benchmark lives in the package, :mod:`ase_gausslj.bench` (also ``gausslj bench``);
this script only forwards its arguments, e.g.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python examples/benchmark_kernels.py \
        --out results/benchmark_kernels.json
"""

import sys

from ase_gausslj.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
