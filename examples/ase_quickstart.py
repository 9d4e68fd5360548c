"""Quickstart: GaussianLJ on an LJ cluster, annealed with GaussianHomotopy.

Builds a random 38-atom cluster (reduced units: epsilon = sigma = 1; for argon pass
epsilon=0.0104 eV, sigma=3.40 Å and scale widths and fmax accordingly), attaches the
smoothed calculator, anneals the width from 0.3 sigma to 0 with 100 FIRE steps per
width, and prints the energy next to a plain FIRE minimization from the same start and
the known LJ38 global minimum (Cambridge Cluster Database, -173.928427).

Usage::

    OPENBLAS_NUM_THREADS=1 python examples/ase_quickstart.py [--n 38] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
from ase import Atoms
from ase.optimize import FIRE

from ase_gausslj import GaussianHomotopy, GaussianLJ
from ase_gausslj.optimize.clusters import LJ_GLOBAL_MINIMA as GLOBAL_MIN

EPS, SIG = 1.0, 1.0  # reduced units


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=38)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    atoms = Atoms(f"Ar{args.n}", positions=SIG * rng.standard_normal((args.n, 3)))
    atoms.calc = GaussianLJ(epsilon=EPS, sigma=SIG)  # width 0: plain LJ, all pairs

    # plain local minimization from the same start, for comparison
    plain = atoms.copy()
    plain.calc = GaussianLJ(epsilon=EPS, sigma=SIG)
    FIRE(plain, logfile=None).run(fmax=1e-4, steps=5000)

    # the defaults: widths from the system (the first is where the smoothed pair well still
    # binds by 0.04 eps, ~0.3 sigma), dispersal checked (run() is False if it happened),
    # and the plain minimum from the same start kept when it is lower
    opt = GaussianHomotopy(atoms, FIRE, logfile=None)
    converged = opt.run(fmax=1e-4, steps=5000)

    print(f"{'width':>10} {'E_s':>12} {'steps':>6}")
    for st in opt.stages[:: max(1, len(opt.stages) // 8)] + opt.stages[-1:]:
        print(f"{st['width']:10.4f} {st['energy']:12.5f} {st['steps']:6d}")
    e_h = atoms.get_potential_energy() / EPS
    e_p = plain.get_potential_energy() / EPS
    ref = GLOBAL_MIN.get(args.n)
    print(f"\nLJ{args.n} (reduced units): plain FIRE {e_p:.4f}, Gaussian homotopy {e_h:.4f}"
          + (f", global minimum {ref}" if ref else "") + f"; converged: {converged}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
