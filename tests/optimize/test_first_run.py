"""What a width-0 run compiles and loads (issue 21, "a fast first run").

A plain search (the README's main job) must not load the reduced table, nor compile the
general pair kernel with its table branches: its quench runs on :class:`ExactArgs` (the
fused width-0 loop), the driver's width-0 energy on ``kernels.allpairs_exact``. The
references are a numpy regularized LJ (Lorentz-Berthelot mixtures) written here, the
composed Python quench, and a fresh process's list of compiled signatures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ase_gausslj.core import kernels
from ase_gausslj.core.energy import SmoothedLJ
from ase_gausslj.optimize.clusters import random_cluster
from ase_gausslj.optimize.compiled import (
    ExactArgs,
    KernelArgs,
    kernel_args,
    lbfgs_minimize,
    phase_args,
    quench_args,
)
from ase_gausslj.optimize.quench import CompiledQuench, PlainQuench

R_CORE = 0.8


def lj_mixture_numpy(pos, eps, sig, r_core=R_CORE):
    """Regularized LJ energy and forces, all pairs, Lorentz-Berthelot, in numpy."""
    d = pos[None, :, :] - pos[:, None, :]  # d[i, j] = x_j - x_i
    r = np.linalg.norm(d, axis=2)
    e_ij = np.sqrt(np.outer(eps, eps))
    s_ij = 0.5 * (sig[:, None] + sig[None, :])
    u = np.where(r > 0, r / s_ij, 1.0)
    vc = 4 * (r_core**-12 - r_core**-6)
    sc = 4 * (-12 * r_core**-13 + 6 * r_core**-7)
    far = u > r_core
    v = np.where(far, 4 * (u**-12.0 - u**-6.0), vc + sc * (u - r_core))
    dv = np.where(far, 4 * (-12 * u**-13.0 + 6 * u**-7.0), sc) / s_ij  # dV/dr / eps
    iu = np.triu_indices(len(pos), 1)
    energy = float((e_ij * v)[iu].sum())
    g = np.zeros_like(r)
    g[iu] = (e_ij * dv)[iu] / r[iu]
    g = g + g.T
    forces = (g[:, :, None] * d).sum(axis=1)  # F_i = sum_j V'(r)/r (x_j - x_i)
    return energy, forces


@pytest.mark.parametrize("mixture", [False, True])
def test_width0_driver_loop_matches_numpy_and_the_general_kernel(mixture):
    n = 24
    rng = np.random.default_rng(7)
    pos = random_cluster(n, rng) * 0.75  # compressed: pairs inside r_core too
    eps = np.where(np.arange(n) % 2, 0.7, 1.3) if mixture else np.ones(n)
    sig = np.where(np.arange(n) % 3, 1.0, 1.2) if mixture else np.ones(n)
    model = SmoothedLJ(eps, sig) if mixture else SmoothedLJ()
    e, f = model.energy_forces(pos, 0.0)
    e_ref, f_ref = lj_mixture_numpy(pos, eps, sig)
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=1e-10, atol=1e-10 * np.abs(f_ref).max())
    # the fused loop is the general kernel's width-0 path to the last bit
    args = model.kernel_args(0.0)
    f_gen = np.empty_like(pos)
    types = np.zeros(n, dtype=np.int64) if model.types is None else model.types
    e_gen = kernels.allpairs_forces(pos, types, model.nspec, args, f_gen)
    assert e == e_gen
    np.testing.assert_array_equal(f, f_gen)


def test_width0_never_loads_the_table():
    model = SmoothedLJ()
    x = random_cluster(13, np.random.default_rng(0))
    model.energy_forces(x, 0.0)
    model.compute(x, 0.0, cutoff=2.5, cutoff_mode="shift", virial=True)
    lbfgs_minimize(x, 0.0, potential=model, gtol=1e-4)
    CompiledQuench(model.energy_gradient, gtol=1e-4, maxiter=500, radius=5.0)(
        x, np.random.default_rng(1))
    assert model._table is None
    model.energy_forces(x, 0.2)  # a width > 0 loads it
    assert model._table is not None


def test_bad_width_max_still_fails_at_construction():
    with pytest.raises(ValueError, match="width_max"):
        SmoothedLJ(width_max=-1.0)
    with pytest.raises(ValueError, match="r_core"):
        SmoothedLJ(r_core=0.0)


def test_kernel_argument_types_select_what_is_compiled():
    one = SmoothedLJ()
    mix = SmoothedLJ(epsilon=np.r_[np.ones(3), 2 * np.ones(3)], sigma=1.0)
    assert isinstance(kernel_args(one, 0.0, 6), ExactArgs)
    assert isinstance(kernel_args(one, 0.3, 6), KernelArgs)
    assert isinstance(kernel_args(mix, 0.0, 6), KernelArgs)  # mixtures: the general one
    with pytest.raises(ValueError, match="atoms"):
        kernel_args(mix, 0.0, 5)
    qa = quench_args(one, 6, gtol=1e-3, width_gtol=1e-2, polish_gtol=1e-6, maxiter=100,
                     radius=3.0)
    assert isinstance(qa.plain, ExactArgs)
    assert phase_args(one, (), 6) is None
    assert len(phase_args(one, (0.4, 0.2), 6)) == 2


def test_plain_compiled_quench_equals_the_composed_one_with_the_guard_active():
    """The fused plain quench (one L-BFGS call site, flat guard) = PlainQuench on the
    compiled backend, bit for bit, with an escaped atom brought back by the guard."""
    pot = SmoothedLJ()
    rng = np.random.default_rng(2)
    x = random_cluster(13, rng)
    x[5] = [9.0, 0.0, 0.0]  # beyond the guard radius
    kw = dict(gtol=1e-5, maxiter=2000, radius=3.0)
    fused = CompiledQuench(pot.energy_gradient, **kw)
    composed = PlainQuench(pot.energy_gradient, minimizer="compiled", **kw)
    xa, ea = fused(x, np.random.default_rng(0))
    xb, eb = composed(x, np.random.default_rng(0))
    assert ea == eb
    np.testing.assert_array_equal(xa, xb)
    assert np.linalg.norm(xa, axis=1).max() < 3.0  # the atom was brought back


_PROBE = """
import json, sys
from ase_gausslj.optimize.globalopt import global_minimize
from ase_gausslj.core import kernels, table
from ase_gausslj.optimize.compiled import quench
res = global_minimize(13, seed=0, max_minimizations=40)
got = {"general": len(kernels.allpairs_forces.signatures)
       + len(kernels._pair_row.signatures), "driver": len(kernels.allpairs_exact.signatures),
       "guard": len(quench.escaped.signatures), "tables": len(table._TABLES),
       "energy": res.energy}
from ase_gausslj.core.energy import SmoothedLJ
got["driver_energy"] = SmoothedLJ().energy_forces(res.positions, 0.0)[0]
print(json.dumps(got))
"""


def test_plain_search_compiles_no_general_kernel_and_loads_no_table():
    """A fresh process running the main job's path (plain basin hopping) compiles the
    L-BFGS and the guard only: neither the general pair kernel, nor the driver's width-0
    loop (its energies come from the L-BFGS's loop, the same to the last bit), nor the
    table (numba's disk cache of this tree is reused, so this costs a compilation only
    the first time)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         env=env, timeout=600, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["general"] == 0
    assert got["driver"] == 0
    assert got["guard"] == 1  # one specialization (the probe would see a second)
    assert got["tables"] == 0
    assert got["energy"] == pytest.approx(-44.326801, abs=1e-4)  # LJ13 (CCD)
    assert got["energy"] == got["driver_energy"]  # the driver's value, to the last bit


@pytest.mark.parametrize("eps, sig", [(1.0, 1.0), (0.37, 1.0), (1.0, 3.405), (0.996, 3.4)])
def test_quench_energy_is_the_drivers_to_the_last_bit(eps, sig):
    """A quench's reported width-0 energy (:func:`compiled.quench.energy`) equals
    ``SmoothedLJ.energy_forces`` exactly: in reduced units from the compiled L-BFGS's
    fused loop (whose energy and gradient are checked here against the driver's), with
    other units from the driver; core pairs included."""
    from ase_gausslj.optimize.compiled.energy import energy_grad
    from ase_gausslj.optimize.compiled.quench import energy

    pot = SmoothedLJ(eps, sig)
    rng = np.random.default_rng(3)
    for scale in (1.0, 0.75, 0.75, 0.6):  # < 1: pairs inside r_core too
        pos = random_cluster(19, rng) * scale * sig
        qa = quench_args(pot, 19, gtol=1e-3, width_gtol=1e-2, polish_gtol=1e-6,
                         maxiter=100, radius=3.0 * sig)
        x = pos.ravel().copy()
        e_driver, f = pot.energy_forces(pos, 0.0)
        assert energy(x, qa, pot.energy_gradient) == e_driver
        np.testing.assert_array_equal(x, pos.ravel())  # no step taken
        g = np.empty_like(x)
        e_loop = energy_grad(x, g, qa.plain)
        if eps == sig == 1.0:
            assert e_loop == e_driver  # what energy() relies on in reduced units
        assert e_loop == pytest.approx(e_driver, rel=1e-13)
        np.testing.assert_allclose(g, -f.ravel(), rtol=1e-12,
                                   atol=1e-12 * np.abs(f).max())
