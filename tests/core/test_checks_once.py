"""The width is validated once per public call (issue 20).

Public entry points (``SmoothedLJ.energy_forces`` / ``compute`` / ``batch_energy_forces``,
the ASE calculator's ``calculate``, ``LJClusterTarget.energy_gradient``) check the width
once; what they call internally (table slices, the driver under the calculator) goes
through unchecked entry points. Before: every ASE calculation checked it twice (calculator
and driver), plus twice per pair type for each new width (``table.slice``).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import ase_gausslj.adapters.calculator
import ase_gausslj.core.batch
import ase_gausslj.core.energy
import ase_gausslj.core.table
import ase_gausslj.sampling.targets  # noqa: F401  (imported so that its name is counted)
from ase_gausslj.core import validation


@pytest.fixture
def width_checks(monkeypatch):
    """Every ``check_width`` call made through the package's modules, by argument name."""
    calls: list[str] = []
    original = validation.check_width

    def counting(width, name="width", **kwargs):
        calls.append(name)
        return original(width, name, **kwargs)

    for modname, module in list(sys.modules.items()):
        if modname.startswith("ase_gausslj") and getattr(module, "check_width", None) is original:
            monkeypatch.setattr(module, "check_width", counting)
    return calls


def _cluster(n: int = 13, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) * 1.2


def test_driver_checks_each_call_once(width_checks):
    from ase_gausslj import SmoothedLJ

    model = SmoothedLJ(epsilon=[1.0, 0.8] * 5, sigma=[1.0, 1.1] * 5)  # 3 pair types
    model.table  # noqa: B018 - loaded on first use (its constructor checks width_max)
    pos = _cluster(10)
    calls = [
        lambda w: model.energy_forces(pos, w),
        lambda w: model.compute(pos, w, cutoff=3.0, virial=True, per_atom=True),
        lambda w: model.batch_energy_forces(np.stack([pos, pos]), w),
    ]
    for k, call in enumerate(calls):
        for w in (0.0, 0.11 + 0.01 * k, 0.11 + 0.01 * k):  # new widths build slices
            before = len(width_checks)
            call(w)
            assert len(width_checks) - before == 1


def test_md_checks_width_once_per_calculation(width_checks, monkeypatch):
    from ase.cluster import Icosahedron
    from ase.md.verlet import VelocityVerlet

    from ase_gausslj.adapters.calculator import GaussianLJ

    atoms = Icosahedron("Ar", 2)
    atoms.calc = GaussianLJ(width=0.1, sigma=3.4, epsilon=0.0104)
    assert width_checks == ["width"]  # set() checks the parameter once
    n_calc = []
    inner = GaussianLJ._calculate

    def counted(self, *args):
        n_calc.append(1)
        return inner(self, *args)

    monkeypatch.setattr(GaussianLJ, "_calculate", counted)
    ase_gausslj.core.table.get_table()  # the driver's table, built once per process
    del width_checks[:]
    VelocityVerlet(atoms, timestep=1.0).run(9)
    assert len(n_calc) == 10
    assert len(width_checks) == 10


def test_target_checks_width_once_per_call(width_checks):
    from ase_gausslj.sampling.targets import LJClusterTarget

    target = LJClusterTarget(13)
    x = np.stack([_cluster(13, s) for s in range(4)])
    for w in (0.0, 0.2, 0.2):
        before = len(width_checks)
        target.lj_energy_gradient(x, w)
        assert len(width_checks) - before == 1
