"""Torsion smoothing: exact at width 0, the closed form, and numerical convolution.

References are independent of the code under test: the unsmoothed OpenMM forces evaluated
on rotated geometries and integrated against a wrapped Gaussian by quadrature, and
dihedral angles measured with mdtraj.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import openmm as mm
import openmm.app as app
import pytest

from openmm_gausslj.data import alanine_dipeptide_pdb
from openmm_gausslj.forces.torsions import (
    TORSION_WIDTH_PARAMETER,
    get_torsion_width,
    set_torsion_width,
    smooth_cmap_grid,
    smooth_torsions,
    torsion_force_indices,
)

REF = "Reference"


def _context(system: mm.System) -> mm.Context:
    return mm.Context(system, mm.VerletIntegrator(1e-3), mm.Platform.getPlatformByName(REF))


def _energy_forces(system, positions):
    ctx = _context(system)
    ctx.setPositions(positions)
    st = ctx.getState(getEnergy=True, getForces=True)
    return st.getPotentialEnergy()._value, np.asarray(st.getForces(asNumpy=True)._value)


_ANGLE = math.radians(111.0)


def _chain(dihedrals, bond=0.15, angle=_ANGLE) -> np.ndarray:
    """Positions (nm) of a zig-zag chain whose consecutive dihedrals are ``dihedrals``."""
    pos = [np.zeros(3), np.array([bond, 0, 0]),
           np.array([bond - bond * math.cos(angle), bond * math.sin(angle), 0])]
    for phi in dihedrals:  # natural extension reference frame (NeRF)
        a, b, c = pos[-3], pos[-2], pos[-1]
        bc = (c - b) / np.linalg.norm(c - b)
        n = np.cross(b - a, bc)
        n /= np.linalg.norm(n)
        m = np.cross(n, bc)
        d2 = bond * np.array([-math.cos(angle), math.sin(angle) * math.cos(phi),
                              math.sin(angle) * math.sin(phi)])
        pos.append(c + d2[0] * bc + d2[1] * m + d2[2] * n)
    return np.array(pos)


def _wrapped_gauss_weights(n: int, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform nodes on the circle and weights of the wrapped Gaussian of width ``tau``."""
    t = 2 * np.pi * np.arange(n) / n
    g = sum(np.exp(-((t + 2 * np.pi * m) ** 2) / (2 * tau**2)) for m in range(-6, 7))
    return t, g / g.sum()


def _torsion_system(force: mm.Force, n_particles: int) -> mm.System:
    system = mm.System()
    for _ in range(n_particles):
        system.addParticle(12.0)
    system.addForce(force)
    return system


def _series_energies(system, geometries) -> np.ndarray:
    ctx = _context(system)
    out = []
    for pos in geometries:
        ctx.setPositions(pos)
        out.append(ctx.getState(getEnergy=True).getPotentialEnergy()._value)
    return np.array(out)


@pytest.fixture(scope="module")
def amber_system():
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    ff = app.ForceField("amber14-all.xml")
    return ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff), pdb.positions


@pytest.fixture(scope="module")
def charmm_system():
    """Alanine dipeptide under charmm36 (CMAP); charmm36 calls the capped residue ALAD."""
    from ff_systems import alad_topology

    top, res, positions = alad_topology()
    ff = app.ForceField("charmm36.xml")
    system = ff.createSystem(top, nonbondedMethod=app.NoCutoff, residueTemplates={res: "ALAD"})
    return system, positions


@pytest.mark.parametrize("which", ["amber_system", "charmm_system"])
def test_exact_at_zero_width(which, request):
    system, positions = request.getfixturevalue(which)
    smoothed = copy.deepcopy(system)
    idx = smooth_torsions(smoothed, 0.0)
    kinds = {type(smoothed.getForce(i)).__name__ for i in idx}
    assert "CustomTorsionForce" in kinds
    if which == "charmm_system":
        assert "CMAPTorsionForce" in kinds
    assert not any(isinstance(f, (mm.PeriodicTorsionForce, mm.RBTorsionForce))
                   for f in smoothed.getForces())
    e0, f0 = _energy_forces(system, positions)
    e1, f1 = _energy_forces(smoothed, positions)
    assert abs(e1 - e0) <= 1e-10 * abs(e0)
    assert np.abs(f1 - f0).max() <= 1e-10 * np.abs(f0).max()


def test_width_changes_energy_and_returns(charmm_system):
    system, positions = charmm_system
    smoothed = copy.deepcopy(system)
    smooth_torsions(smoothed, 0.0)
    e0 = _energy_forces(system, positions)[0]
    ctx = _context(smoothed)
    ctx.setPositions(positions)
    energies = []
    for w in (0.0, 0.4, 0.0):
        set_torsion_width(ctx, w)
        assert get_torsion_width(ctx) == w
        energies.append(ctx.getState(getEnergy=True).getPotentialEnergy()._value)
    assert energies[0] == pytest.approx(e0, rel=1e-12)
    assert abs(energies[1] - e0) > 1.0  # kJ/mol: the smoothing does something
    assert energies[2] == pytest.approx(e0, rel=1e-12)


def test_periodic_closed_form_against_mdtraj_dihedral():
    mdtraj = pytest.importorskip("mdtraj")
    rng = np.random.default_rng(1)
    force = mm.PeriodicTorsionForce()
    terms = [(n, rng.uniform(-np.pi, np.pi), rng.uniform(0.5, 5)) for n in (1, 2, 3, 4, 6)]
    for n, phase, k in terms:
        force.addTorsion(0, 1, 2, 3, n, phase, k)
    system = _torsion_system(force, 4)
    tau = 0.37
    smooth_torsions(system, tau)
    for phi in rng.uniform(-np.pi, np.pi, 5):
        pos = _chain([phi])
        measured = _mdtraj_dihedral(mdtraj, pos)
        want = sum(k * (1 + math.exp(-(n * tau) ** 2 / 2) * math.cos(n * measured - ph))
                   for n, ph, k in terms)
        got = _series_energies(system, [pos])[0]
        assert got == pytest.approx(want, rel=1e-6)  # mdtraj measures in float32


def _mdtraj_dihedral(mdtraj, pos: np.ndarray) -> float:
    top = mdtraj.Topology()
    res = top.add_residue("X", top.add_chain())
    for _ in range(len(pos)):
        top.add_atom("C", mdtraj.element.carbon, res)
    return float(mdtraj.compute_dihedrals(mdtraj.Trajectory(pos[None], top), [[0, 1, 2, 3]])[0, 0])


def _rb_force() -> mm.RBTorsionForce:
    force = mm.RBTorsionForce()  # OPLS butane-like coefficients, kJ/mol
    force.addTorsion(0, 1, 2, 3, 9.28, 12.16, -13.12, -3.06, 26.24, -31.5)
    return force


@pytest.mark.parametrize("kind", ["periodic", "rb"])
@pytest.mark.parametrize("tau", [0.2, 0.6])
def test_one_dimensional_numerical_convolution(kind, tau):
    if kind == "periodic":
        force = mm.PeriodicTorsionForce()
        for n, phase, k in [(1, 0.3, 2.0), (2, np.pi, 4.5), (3, 0.0, 1.2), (6, 1.1, 0.4)]:
            force.addTorsion(0, 1, 2, 3, n, phase, k)
    else:
        force = _rb_force()
    original = _torsion_system(force, 4)
    smoothed = copy.deepcopy(original)
    smooth_torsions(smoothed, tau)
    t, w = _wrapped_gauss_weights(96, tau)
    for phi in (-2.5, -0.4, 0.9, 2.9):
        e = _series_energies(original, [_chain([phi - s]) for s in t])
        want = float(w @ e)
        got = _series_energies(smoothed, [_chain([phi])])[0]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_cmap_grid_closed_form():
    size = 24
    x = 2 * np.pi * np.arange(size) / size
    phi, psi = np.meshgrid(x, x)  # [j, i]: psi rows, phi columns as OpenMM's layout
    tau = 0.45

    def f(a, b, t):
        d = lambda k1, k2: math.exp(-(k1**2 + k2**2) * t**2 / 2)  # noqa: E731
        return (3 * d(1, 0) * np.cos(a - 0.2) + 1.5 * d(0, 2) * np.sin(2 * b)
                + 0.7 * d(1, 1) * np.cos(a + b + 0.4) + 0.2 * d(3, 2) * np.cos(3 * a - 2 * b))

    got = smooth_cmap_grid(f(phi, psi, 0.0).reshape(-1), size, tau)
    np.testing.assert_allclose(got, f(phi, psi, tau).reshape(-1), atol=1e-12)
    np.testing.assert_array_equal(smooth_cmap_grid(f(phi, psi, 0).reshape(-1), size, 0.0),
                                  f(phi, psi, 0).reshape(-1))


def test_cmap_numerical_convolution(charmm_system):
    """A real charmm36 map: smoothed grid + OpenMM's spline vs quadrature of the original."""
    cmap = next(f for f in charmm_system[0].getForces() if isinstance(f, mm.CMAPTorsionForce))
    size, energy = cmap.getMapParameters(0)
    force = mm.CMAPTorsionForce()
    force.addMap(size, energy)
    force.addTorsion(0, 0, 1, 2, 3, 1, 2, 3, 4)
    original = _torsion_system(force, 5)
    tau = 0.35
    smoothed = copy.deepcopy(original)
    smooth_torsions(smoothed, tau)
    t, w = _wrapped_gauss_weights(48, tau)
    for phi, psi in [(-1.2, 2.4), (-2.6, 0.5), (1.0, -0.8)]:
        geoms = [_chain([phi - a, psi - b]) for b in t for a in t]
        want = float(np.outer(w, w).reshape(-1) @ _series_energies(original, geoms))
        got = _series_energies(smoothed, [_chain([phi, psi])])[0]
        # the smoothed grid is exact per mode; OpenMM's bicubic spline of it differs from
        # the convolution of the original spline surface by the interpolation error
        assert got == pytest.approx(want, abs=0.01)  # measured <= 3.3e-3


def test_system_default_and_idempotent(amber_system):
    system = copy.deepcopy(amber_system[0])
    first = smooth_torsions(system, 0.25)
    n_forces = system.getNumForces()
    assert smooth_torsions(system, 0.5) == first  # already smoothed: no-op
    assert system.getNumForces() == n_forces
    assert get_torsion_width(system) == 0.25
    set_torsion_width(system, 0.1)
    assert get_torsion_width(system) == 0.1
    assert torsion_force_indices(system, TORSION_WIDTH_PARAMETER) == first


@pytest.mark.parametrize("bad", [-0.1, float("nan"), 4.0, "wide"])
def test_bad_width(amber_system, bad):
    with pytest.raises(ValueError, match="torsion_width"):
        smooth_torsions(copy.deepcopy(amber_system[0]), bad)


def test_bad_arguments(amber_system):
    with pytest.raises(TypeError, match="system"):
        smooth_torsions("system.xml")
    with pytest.raises(ValueError, match="parameter"):
        smooth_torsions(copy.deepcopy(amber_system[0]), parameter="not an identifier")
    with pytest.raises(ValueError, match="no torsion force"):
        set_torsion_width(copy.deepcopy(amber_system[0]), 0.1)
    with pytest.raises(ValueError, match="size"):
        smooth_cmap_grid(np.zeros(10), 4, 0.1)
