"""The cheap paths of the OpenMM forces (issue 21): series beyond the table's reach, pairs
without LJ and far pairs kept off the table, the tabulated erfc, the System's XML size.

Speed itself is measured by ``examples/benchmark_openmm.py``; these tests check that each
shortcut gives the exact function it replaces.
"""

from __future__ import annotations

import math

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

from ase_gausslj.core.potential import smoothed_lj
from openmm_gausslj import (
    WIDTH_PARAMETER,
    max_width_for_system,
    smooth_system,
    smoothed_lj_force,
)
from openmm_gausslj.data import alanine_dipeptide_pdb
from openmm_gausslj.forces.coulomb import erfc_table_function
from openmm_gausslj.forces.expressions import ERFC_TABLE_NAME, ERFC_U_MAX
from openmm_gausslj.forces.sizing import sized_grid
from openmm_gausslj.forces.table import DEFAULT_GRID, TableGrid, make_table_function, series_values


def _context(system):
    return mm.Context(system, mm.VerletIntegrator(0.001),
                      mm.Platform.getPlatformByName("Reference"))


def _two(force):
    s = mm.System()
    s.addParticle(1.0)
    s.addParticle(1.0)
    s.addForce(force)
    return _context(s)


@pytest.mark.parametrize("r_core", [0.6, 0.8])
def test_series_beyond_reach_matches_quadrature(r_core):
    """A(x, y) for x >= b(y), every width up to the top ghost node, vs the quadrature."""
    grid = TableGrid(r_core=r_core)
    ys = np.concatenate([[0.0], np.geomspace(1e-4, 0.05, 8),
                         np.linspace(0.05, grid.p_nodes()[-1] ** 2, 14)])
    worst = 0.0
    for y in ys:
        x = grid.reach(y) * np.array([1.0, 1.001, 1.05, 1.3, 2.0, 5.0, 30.0])
        v, _ = smoothed_lj(x, np.full_like(x, y), r_core)
        a = series_values(x, y, grid)
        worst = max(worst, float(np.max(np.abs(a - v) / np.maximum(np.abs(v), 4 * x**-6))))
    assert worst < 3e-7


def test_far_and_ljless_pairs_never_read_the_table():
    """A table of garbage (1e3 everywhere): pairs beyond the reach still get the series,
    pairs with epsilon 0 get 0 (their z is sent out of the table's range)."""
    sig, w = 0.3, 0.03
    def garbage():
        n = DEFAULT_GRID.nz * DEFAULT_GRID.np_
        return make_table_function(DEFAULT_GRID, np.full(n, 1e3))

    far = _two(smoothed_lj_force([sig, sig], [1.0, 1.0], width=w, table_function=garbage()))
    y = w / sig
    b = DEFAULT_GRID.reach(y)
    for x in (b * 1.0001, b * 1.5, 40.0):
        far.setPositions([[0, 0, 0], [x * sig, 0, 0]])
        e = far.getState(getEnergy=True).getPotentialEnergy()._value
        assert e == pytest.approx(smoothed_lj(x, y)[0], rel=1e-6)
    # inside the reach the table is read: the garbage shows (the test can fail)
    far.setPositions([[0, 0, 0], [0.9 * b * sig, 0, 0]])
    assert far.getState(getEnergy=True).getPotentialEnergy()._value == pytest.approx(1e3)
    ljless = _two(smoothed_lj_force([sig, 0.0], [1.0, 0.0], width=w, table_function=garbage()))
    for r in (0.0, 0.05, 0.2, 1.0):
        ljless.setPositions([[0, 0, 0], [r, 0, 0]])
        assert ljless.getState(getEnergy=True).getPotentialEnergy()._value == 0.0


def test_erfc_table_matches_math_erfc_and_is_zero_beyond():
    f = mm.CustomNonbondedForce(f"{ERFC_TABLE_NAME}(r)")
    f.addTabulatedFunction(ERFC_TABLE_NAME, erfc_table_function())
    f.addParticle([])
    f.addParticle([])
    ctx = _two(f)
    u = np.concatenate([np.linspace(0.001, ERFC_U_MAX, 737), [ERFC_U_MAX + 1e-6, 6.0, 50.0]])
    got = []
    for v in u:
        ctx.setPositions([[0, 0, 0], [v, 0, 0]])
        got.append(ctx.getState(getEnergy=True).getPotentialEnergy()._value)
    ref = np.array([math.erfc(v) if v <= ERFC_U_MAX else 0.0 for v in u])
    assert np.max(np.abs(np.array(got) - ref)) < 1e-8


def test_coulomb_correction_rides_in_the_lj_force_with_a_switch():
    """One pair loop even with a switching function; the width limit becomes switch / 8."""
    ff = app.ForceField("amber14-all.xml")
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.CutoffNonPeriodic,
                             nonbondedCutoff=1.0, switchDistance=0.8)
    out = smooth_system(system, 0.05)
    names = [f.getName() for f in out.getForces()]
    assert "GaussLJCoulomb" not in names
    lj_limit = max_width_for_system(smooth_system(system, 0.0, smooth_coulomb=False))
    assert lj_limit > 0.11
    assert max_width_for_system(out) == pytest.approx(0.8 / 8)
    with pytest.raises(ValueError, match="width"):
        smooth_system(system, 0.11)


def test_smoothed_vacuum_system_xml_size():
    ff = app.ForceField("amber14-all.xml")
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff)
    xml = mm.XmlSerializer.serialize(smooth_system(system, 0.02))
    # 560 x 120 values in the pair force, 548 x 96 in the 1-4 force (sized to its sigmas),
    # 13 significant digits: 4.28 MB (was 6.1 MB, 15.6 MB before that). The 2 MB
    # is not met at the tests' accuracy (docs/openmm.md)
    assert len(xml) < 4_400_000
    # and it round-trips: the deserialized System gives the same energy
    ctx_a = _context(smooth_system(system, 0.02))
    ctx_b = _context(mm.XmlSerializer.deserialize(xml))
    for c in (ctx_a, ctx_b):
        c.setPositions(pdb.positions)
        c.setParameter(WIDTH_PARAMETER, 0.02)
    ea = ctx_a.getState(getEnergy=True).getPotentialEnergy()._value
    eb = ctx_b.getState(getEnergy=True).getPotentialEnergy()._value
    assert ea == eb


def test_sized_grid_keeps_the_node_spacing():
    grid = TableGrid(r_core=0.6)
    assert sized_grid(grid, 0.95 * grid.width_max) is None  # too little to gain
    sub = sized_grid(grid, 1.2)
    assert 1.2 <= sub.width_max < 1.21 and sub.np_ < grid.np_ and sub.nz <= grid.nz
    dp = np.diff(grid.p_nodes())[0]
    dz = np.diff(grid.z_nodes())[0]
    assert np.diff(sub.p_nodes())[0] <= dp * (1 + 1e-12)
    assert np.diff(sub.z_nodes())[0] <= dz * (1 + 1e-12)
    assert sub.p_nodes()[-1 - sub.ghost] ** 2 >= 1.2 * (1 - 1e-12)


def test_sized_14_table_matches_quadrature_and_guards_its_range():
    """Vacuum alanine dipeptide: the 1-4 force gets a table for its own sigmas (y <= 1.21,
    not 2.0: 548 x 96 nodes, not 560 x 120); its energy matches the quadrature up to the
    System's width limit, and a width beyond the sized table is infinite or NaN, never
    silently off the table."""
    ff = app.ForceField("amber14-all.xml")
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff)
    out = smooth_system(system, 0.0, smooth_coulomb=False, engine="custom")
    limit = max_width_for_system(out)
    b14 = next(f for f in out.getForces() if f.getName() == "GaussLJExceptions")
    pair = next(f for f in out.getForces() if f.getName() == "GaussLJ")
    n14 = b14.getTabulatedFunction(0).getFunctionParameters()
    npair = pair.getTabulatedFunction(0).getFunctionParameters()
    assert n14[0] * n14[1] < 0.85 * npair[0] * npair[1]
    alone = mm.System()
    for _ in range(out.getNumParticles()):
        alone.addParticle(1.0)
    alone.addForce(mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(b14)))
    ctx = _context(alone)
    pos = np.asarray(pdb.positions.value_in_unit(unit.nanometer))
    ctx.setPositions(pos)
    bonds = [b14.getBondParameters(k) for k in range(b14.getNumBonds())]
    for w in (0.3 * limit, 0.7 * limit, limit):
        ctx.setParameter(WIDTH_PARAMETER, w)
        e = ctx.getState(getEnergy=True).getPotentialEnergy()._value
        ref = 0.0
        for (i, j), (s, eps) in bonds:
            r = np.linalg.norm(pos[i] - pos[j])
            ref += eps * smoothed_lj(r / s, w / s, 0.6)[0]
        assert e == pytest.approx(ref, rel=1e-5)
    ctx.setParameter(WIDTH_PARAMETER, 1.05 * limit)
    assert not np.isfinite(ctx.getState(getEnergy=True).getPotentialEnergy()._value)
