"""Largest error of the table (through the pair kernel's lookup) against exact quadrature.

``PYTHONPATH=<tree> python results/kernels/table_accuracy.py [n]``: the point sets of
``tests/core/test_table.py::test_held_out_random_points`` with ``n`` (default 12000)
instead of 1500, plus ``n`` points in r in [0.88, 3.5] (the rows in ``r^2`` that the pair
loops read); ``table.evaluate`` against ``smoothed_lj`` (composite Gauss-Legendre, no
table). Errors scaled as in the tests: ``v_testfrac`` / ``dv_testfrac`` are the fraction
of the test's bar (1e-6 relative + 1e-8 absolute for V, 1e-6 max(|V'|, 1) for dV/dr) at
the worst point; ``*_scaled`` divide by ``max(1, |reference|)``. Prints JSON.
"""

import json
import sys

import numpy as np

import ase_gausslj
from ase_gausslj import get_table, smoothed_lj


def points(table, n, seed=11):
    rng = np.random.default_rng(seed)
    r = np.concatenate([rng.uniform(0.0, 6.0, n), rng.uniform(0.7, 0.95, n // 3),
                        rng.uniform(0.0, table.r_max + 10.0, n // 3),
                        rng.uniform(0.0, 0.05, n // 5), rng.uniform(0.88, 3.5, n)])
    w = np.concatenate([10 ** rng.uniform(-5, np.log10(table.width_max), n),
                        10 ** rng.uniform(-5, -1, n // 3),
                        rng.uniform(0.0, table.width_max, n // 3),
                        10 ** rng.uniform(-5, 0, n // 5),
                        10 ** rng.uniform(-5, np.log10(table.width_max), n)])
    return r, w


def main(n):
    table = get_table()
    r, w = points(table, n)
    ve, dve = smoothed_lj(r, w)
    v, dv = table.evaluate(r, w)
    bar_v = np.abs(v - ve) / (1e-6 * np.abs(ve) + 1e-8)
    bar_d = np.abs(dv - dve) / (1e-6 * np.maximum(np.abs(dve), 1.0))
    sv = np.abs(v - ve) / np.maximum(1.0, np.abs(ve))
    sd = np.abs(dv - dve) / np.maximum(1.0, np.abs(dve))
    out = {"code": ase_gausslj.__file__, "n_points": int(r.size), "r_max": table.r_max}
    regions = {"all": np.ones(r.size, bool), "r in [0.9, r_max)": (r >= 0.9) & (r < table.r_max),
               "r < 0.9": r < 0.9, "r >= r_max": r >= table.r_max}
    for name, m in regions.items():
        out[name] = {"n": int(m.sum()), "v_testfrac": float(bar_v[m].max()),
                     "dv_testfrac": float(bar_d[m].max()), "v_scaled": float(sv[m].max()),
                     "dv_scaled": float(sd[m].max()),
                     "v_scaled_p99": float(np.quantile(sv[m], 0.99)),
                     "dv_scaled_p99": float(np.quantile(sd[m], 0.99))}
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12000)
