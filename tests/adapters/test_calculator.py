"""GaussianLJ: drop-in equality with ASE's LennardJones at width 0, derivatives, mixtures."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress
from ase.calculators.lj import LennardJones
from ase.cluster import Icosahedron

from ase_gausslj.adapters.calculator import GaussianLJ
from ase_gausslj.core.potential import smoothed_lj

EPS, SIG = 0.0104, 3.40  # argon-like, eV and Å
PROPS = ("energy", "free_energy", "energies", "forces", "stress", "stresses")


def _close(a, b, rtol=1e-9):
    """Max-abs error relative to the largest reference entry (ASE arrays have zeros)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(np.max(np.abs(b)), 1e-300)
    assert np.max(np.abs(a - b)) <= rtol * scale, (np.max(np.abs(a - b)) / scale)


def _min_dist(atoms):
    d = atoms.get_all_distances(mic=bool(atoms.pbc.any()))
    return d[np.triu_indices(len(atoms), 1)].min()


def _cluster(seed=0, n=2):
    atoms = Icosahedron("Ar", n, latticeconstant=5.3)
    atoms.rattle(0.15, seed=seed)
    atoms.center(vacuum=6.0)  # rank-3 cell, pbc False: both calculators give stress
    return atoms


def _fcc(seed=1):
    atoms = bulk("Ar", "fcc", a=5.3, cubic=True).repeat((2, 2, 2))
    atoms.rattle(0.1, seed=seed)
    return atoms


def _triclinic(seed=2):
    cell = np.array([[10.6, 0.0, 0.0], [3.1, 9.8, 0.0], [-2.0, 1.7, 11.2]])
    rng = np.random.default_rng(seed)
    # a jittered lattice keeps pairs apart (min distance checked below)
    frac = (np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3)
            + 0.5) / 3.0
    frac = frac + rng.normal(0, 0.02, frac.shape)
    return Atoms("Ar" * len(frac), scaled_positions=frac, cell=cell, pbc=True)


def _compare(atoms, rtol=1e-9, **kw):
    assert _min_dist(atoms) > 0.8 * SIG * 1.05
    ref, new = atoms.copy(), atoms.copy()
    ref.calc = LennardJones(epsilon=EPS, sigma=SIG, **kw)
    new.calc = GaussianLJ(epsilon=EPS, sigma=SIG, width=0.0, **kw)
    for prop in PROPS:
        _close(new.calc.get_property(prop, new), ref.calc.get_property(prop, ref), rtol)


@pytest.mark.parametrize("smooth", [False, True])
def test_equals_lennardjones_cluster(smooth):
    _compare(_cluster(), rc=2.6 * SIG, smooth=smooth)


def test_all_pairs_cluster_equals_large_cutoff():
    atoms = _cluster(3)
    ref, new = atoms.copy(), atoms.copy()
    ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=200 * SIG)  # shift ~1e-12 eps
    new.calc = GaussianLJ(epsilon=EPS, sigma=SIG)  # rc=None, no pbc: all pairs
    for prop in PROPS:
        _close(new.calc.get_property(prop, new), ref.calc.get_property(prop, ref))


@pytest.mark.parametrize("smooth", [False, True])
def test_equals_lennardjones_periodic_cubic(smooth):
    _compare(_fcc(), smooth=smooth)  # rc=None -> 3 sigma, ro -> 0.66 rc, as ASE


@pytest.mark.parametrize("smooth", [False, True])
def test_equals_lennardjones_triclinic(smooth):
    _compare(_triclinic(), rc=2.5 * SIG, ro=2.0 * SIG, smooth=smooth)


def test_partial_pbc_slab():
    atoms = _fcc(4)
    atoms.pbc = (True, True, False)
    atoms.center(vacuum=5.0, axis=2)
    _compare(atoms, rc=2.5 * SIG)


def test_no_cell_no_stress():
    from ase.calculators.calculator import PropertyNotImplementedError

    atoms = Icosahedron("Ar", 2, latticeconstant=5.3)
    atoms.calc = GaussianLJ(epsilon=EPS, sigma=SIG, width=0.5)
    atoms.get_forces()
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def _pair_reference(pos, eps, sig, width, r_core=0.8):
    """Independent all-pairs sum with the exact quadrature potential (reduced F)."""
    n = len(pos)
    e, f = 0.0, np.zeros_like(pos)
    for i in range(n):
        for j in range(i + 1, n):
            d = pos[j] - pos[i]
            r = np.sqrt(d @ d)
            eij, sij = np.sqrt(eps[i] * eps[j]), 0.5 * (sig[i] + sig[j])
            v, dv = smoothed_lj(r / sij, width / sij, r_core)
            e += eij * float(v)
            fij = eij / sij * float(dv) * d / r  # dE/dx_j
            f[j] -= fij
            f[i] += fij
    return e, f


@pytest.mark.parametrize("width", [0.0, 0.7])
def test_mixture_per_element_against_quadrature(width):
    rng = np.random.default_rng(5)
    atoms = Icosahedron("Ar", 2, latticeconstant=5.6)
    atoms.rattle(0.1, seed=5)
    syms = np.array(["Ar", "Kr"])[rng.integers(0, 2, len(atoms))]
    atoms.set_chemical_symbols(syms)
    eps_d, sig_d = {"Ar": 0.0104, "Kr": 0.0140}, {"Ar": 3.40, "Kr": 3.65}
    atoms.calc = GaussianLJ(epsilon=eps_d, sigma=sig_d, width=width)
    eps = np.array([eps_d[s] for s in syms])
    sig = np.array([sig_d[s] for s in syms])
    e_ref, f_ref = _pair_reference(atoms.positions, eps, sig, width)
    rtol = 1e-9 if width == 0 else 1e-6  # the table interpolates to ~1e-7
    _close(atoms.get_potential_energy(), e_ref, rtol)
    _close(atoms.get_forces(), f_ref, rtol)
    # per-atom arrays and atomic-number keys give the same numbers
    other = atoms.copy()
    other.calc = GaussianLJ(epsilon=eps, sigma={18: 3.40, 36: 3.65}, width=width)
    _close(other.get_forces(), atoms.get_forces(), 1e-12)


@pytest.mark.parametrize("smooth", [False, True])
def test_finite_difference_forces_and_stress(smooth):
    atoms = _fcc(7)
    atoms.calc = GaussianLJ(epsilon=EPS, sigma=SIG, width=0.6, smooth=smooth)
    f_num = calculate_numerical_forces(atoms, 1e-4)
    _close(atoms.get_forces(), f_num, 1e-5)
    s_num = calculate_numerical_stress(atoms, 1e-5)
    _close(atoms.get_stress(), s_num, 1e-5)
    # per-atom stresses sum to the stress, per-atom energies to the energy
    _close(atoms.get_stresses().sum(0), atoms.get_stress(), 1e-12)
    _close(atoms.get_potential_energies().sum(), atoms.get_potential_energy(), 1e-12)


def test_finite_difference_cluster_all_pairs():
    atoms = _cluster(8)
    atoms.calc = GaussianLJ(epsilon=EPS, sigma=SIG, width=1.2)
    f_num = calculate_numerical_forces(atoms, 1e-4)
    _close(atoms.get_forces(), f_num, 1e-5)
    # smoothing raises the energy of a compact cluster (repulsive core spreads out)
    assert atoms.get_potential_energy() > GaussianLJ(epsilon=EPS, sigma=SIG).get_potential_energy(
        atoms)


def test_width_change_invalidates_results():
    atoms = _cluster(9)
    calc = GaussianLJ(epsilon=EPS, sigma=SIG, width=0.0)
    atoms.calc = calc
    e0 = atoms.get_potential_energy()
    calc.set(width=0.5)
    assert "energy" not in calc.results
    e1 = atoms.get_potential_energy()
    fresh = GaussianLJ(epsilon=EPS, sigma=SIG, width=0.5).get_potential_energy(atoms)
    assert e1 != e0 and e1 == pytest.approx(fresh, rel=1e-14)
    calc.width = 0.0
    assert atoms.get_potential_energy() == pytest.approx(e0, rel=1e-14)


def test_bad_input():
    atoms = Atoms("ArKr", positions=[[0, 0, 0], [0, 0, 4.0]])
    with pytest.raises(ValueError, match="width"):
        GaussianLJ(width=-1.0)
    with pytest.raises(ValueError, match="width"):
        GaussianLJ().set(width=float("nan"))
    atoms.calc = GaussianLJ(epsilon={"Ar": 1.0}, sigma=3.4)
    with pytest.raises(ValueError, match="epsilon"):
        atoms.get_potential_energy()
    atoms.calc = GaussianLJ(sigma=[3.4, 3.5, 3.6])
    with pytest.raises(ValueError, match="sigma"):
        atoms.get_potential_energy()
    atoms.calc = GaussianLJ(sigma=3.4, width=100.0)  # reduced width > width_max
    with pytest.raises(ValueError):
        atoms.get_potential_energy()


def _changed(atoms):
    """Ways to change atoms behind a calculator's back (name -> mutation)."""
    def move(a):
        a.positions[3] += 1e-3

    def tiny(a):
        a.positions[0] += 1e-16  # within ASE's tolerance (1e-15 absolute)

    def numbers(a):
        a.numbers[1] = 36

    def cell(a):
        a.set_cell(a.cell * 1.001)

    def pbc(a):
        a.pbc = [True, False, True]

    def charges(a):
        a.set_initial_charges(np.linspace(0, 1, len(a)))

    def magmoms(a):
        a.set_initial_magnetic_moments(np.ones(len(a)))

    def nothing(a):
        pass

    return [move, tiny, numbers, cell, pbc, charges, magmoms, nothing]


def test_check_state_equals_ase_compare_atoms():
    """Our compiled comparison reports exactly what ASE's ``compare_atoms`` reports."""
    from ase.calculators.calculator import compare_atoms

    atoms = _fcc()
    atoms.calc = GaussianLJ(epsilon=EPS, sigma=SIG)
    atoms.get_potential_energy()
    for change in _changed(atoms):
        other = atoms.copy()
        change(other)
        ours = atoms.calc.check_state(other)
        assert sorted(ours) == sorted(compare_atoms(atoms.calc.atoms, other)), change.__name__
    atoms.calc.ignored_changes = {"initial_charges"}
    other = atoms.copy()
    other.set_initial_charges(np.ones(len(other)))
    assert atoms.calc.check_state(other) == []


def test_one_calculation_per_state_and_results_are_copies(monkeypatch):
    """Energy then forces is one calculation; a move is another; returned arrays are
    copies (ASE's rules, kept by our get_property)."""
    atoms = _fcc()
    calc = GaussianLJ(epsilon=EPS, sigma=SIG)
    atoms.calc = calc
    count = []
    inner = calc._calculate
    monkeypatch.setattr(calc, "_calculate", lambda *a: (count.append(1), inner(*a)))
    e = atoms.get_potential_energy()
    f = atoms.get_forces()
    assert len(count) == 1
    f[:] = 0.0
    assert np.abs(atoms.get_forces()).max() > 0.0 and len(count) == 1
    assert calc.atoms is not atoms and np.array_equal(calc.atoms.positions, atoms.positions)
    atoms.positions[0] += 1e-3
    assert atoms.get_potential_energy() != e and len(count) == 2
    assert calc.get_property("energy", atoms, allow_calculation=False) is not None
    atoms.positions[0] -= 1e-3
    assert calc.get_property("energy", atoms, allow_calculation=False) is None
    with pytest.raises(PropertyNotImplementedError):
        calc.get_property("dipole", atoms)
