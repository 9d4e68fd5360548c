"""Properties of ``GaussianLJ``: energy, forces and stress of random Atoms.

Every call returns finite values equal to a brute-force pair sum (cutoff shifted or
tapered exactly as ``LennardJones``) and, at width 0 with no pair inside
``r_core * sigma``, to ASE's ``LennardJones`` itself; or it raises ValueError/TypeError
naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.lj import LennardJones
from ase.stress import full_3x3_to_voigt_6_stress
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from slow_reference import pair_sum, pairs_within
from strategies import cells, examples, positions, widths

from ase_gausslj.adapters.calculator import GaussianLJ
from ase_gausslj.core.defaults import R_CORE, WIDTH_MAX

SIGMA, EPSILON = 3.4, 0.0104  # argon-like: Å and eV, so units are not all 1
RTOL_E, RTOL_F = 1e-8, 1e-6  # as in test_energy_props (the table's measured accuracy)


@st.composite
def atoms_and_options(draw):
    pos = draw(positions(spread=4.0 * SIGMA)) if draw(st.booleans()) else draw(
        positions(spread=2.0 * SIGMA))
    cell, pbc = draw(cells())
    if cell is not None:
        cell = cell * SIGMA
    if pbc.any():
        frac = np.reshape(draw(st.lists(st.floats(0.0, 0.999), min_size=3 * len(pos),
                                        max_size=3 * len(pos))), (-1, 3))
        pos = frac @ cell if len(pos) else pos
    atoms = Atoms(f"Ar{len(pos)}" if len(pos) else "", positions=pos, cell=cell, pbc=pbc)
    rc = draw(st.one_of(st.none(), st.floats(1.2, 3.0).map(lambda x: x * SIGMA)))
    smooth = draw(st.booleans())
    ro = draw(st.one_of(st.none(), st.floats(0.1, 0.95))) if smooth else None
    kw = dict(rc=rc, smooth=smooth)
    if ro is not None and rc is not None:
        kw["ro"] = ro * rc
    width = draw(widths) * SIGMA
    return atoms, kw, width


def _resolved(atoms, kw):
    """(cutoff, mode, taper_start) the way LennardJones resolves rc / ro / smooth."""
    rc = kw["rc"]
    if rc is None:
        if not atoms.pbc.any():
            return None, "none", None
        rc = 3.0 * SIGMA
    if not kw["smooth"]:
        return rc, "shift", None
    return rc, "taper", kw.get("ro", 0.66 * rc)


def _off_the_cutoff(atoms, cutoff):
    if cutoff is None:
        return True
    _, _, d, _ = pairs_within(atoms.positions, cutoff * (1 + 1e-9), atoms.cell.array,
                              atoms.pbc)
    r = np.sqrt(np.sum(d * d, axis=1))
    return not np.any(np.abs(r - cutoff) <= 1e-9 * cutoff)


@settings(max_examples=examples(80), deadline=None)
@given(case=atoms_and_options())
def test_gaussianlj_equals_pair_sum(case):
    atoms, kw, width = case
    cutoff, mode, start = _resolved(atoms, kw)
    assume(_off_the_cutoff(atoms, cutoff))
    atoms.calc = GaussianLJ(epsilon=EPSILON, sigma=SIGMA, width=width, **kw)
    n = len(atoms)
    e, f, vir, scale = pair_sum(atoms.positions, np.full(n, EPSILON), np.full(n, SIGMA),
                                width, cutoff=cutoff, cell=atoms.cell.array, pbc=atoms.pbc,
                                mode=mode, taper_start=start)
    tol_e, tol_f = RTOL_E * (scale + 1e-6), RTOL_F * (scale + 1e-6)
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    assert np.isfinite(energy) and np.all(np.isfinite(forces))
    assert abs(energy - e) <= tol_e
    np.testing.assert_allclose(forces, f, rtol=0, atol=tol_f)
    np.testing.assert_allclose(atoms.get_potential_energies().sum(), e, rtol=0, atol=tol_e)
    if atoms.cell.rank == 3:
        stress = atoms.get_stress()
        ref = full_3x3_to_voigt_6_stress(vir) / atoms.get_volume()
        np.testing.assert_allclose(stress, ref, rtol=0, atol=tol_f / atoms.get_volume())


@settings(max_examples=examples(80), deadline=None)
@given(case=atoms_and_options())
def test_width_zero_equals_lennardjones(case):
    atoms, kw, _ = case
    cutoff, _, _ = _resolved(atoms, kw)
    assume(cutoff is not None)  # rc=None: LennardJones cuts at 3 sigma, GaussianLJ not
    assume(_off_the_cutoff(atoms, cutoff))
    _, _, d, _ = pairs_within(atoms.positions, cutoff, atoms.cell.array, atoms.pbc)
    assume(not len(d) or np.min(np.sqrt(np.sum(d * d, axis=1))) > R_CORE * SIGMA * 1.001)
    ref, ours = atoms.copy(), atoms.copy()
    ref.calc = LennardJones(epsilon=EPSILON, sigma=SIGMA, **kw)
    ours.calc = GaussianLJ(epsilon=EPSILON, sigma=SIGMA, width=0.0, **kw)
    e_ref = ref.get_potential_energy()
    scale = abs(e_ref) + float(np.sum(np.abs(ref.get_potential_energies()))) + 1e-6
    assert ours.get_potential_energy() == pytest.approx(e_ref, rel=0, abs=1e-9 * scale)
    f_ref = ref.get_forces()
    np.testing.assert_allclose(ours.get_forces(), f_ref, rtol=0,
                               atol=1e-9 * (np.max(np.abs(f_ref), initial=0.0) + 1e-6))
    if atoms.cell.rank == 3:
        s_ref = ref.get_stress()
        np.testing.assert_allclose(ours.get_stress(), s_ref, rtol=0,
                                   atol=1e-9 * (np.max(np.abs(s_ref)) + 1e-9))


@settings(max_examples=examples(30), deadline=None)
@given(pos=positions(max_atoms=4), extra=st.floats(1e-6, 10.0))
def test_width_beyond_the_table_names_width(pos, extra):
    atoms = Atoms(f"Ar{len(pos)}" if len(pos) else "", positions=pos * SIGMA)
    assume(len(atoms) > 0)  # no atoms, no pair: nothing to check the width against
    atoms.calc = GaussianLJ(sigma=SIGMA, width=SIGMA * (WIDTH_MAX + extra))
    with pytest.raises(ValueError, match="width"):
        atoms.get_potential_energy()


@settings(max_examples=examples(40), deadline=None)
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_any_unknown_parameter_is_a_typeerror(name):
    assume(name not in GaussianLJ.default_parameters)
    with pytest.raises(TypeError, match=repr(name)):
        GaussianLJ(**{name: 1.0})
