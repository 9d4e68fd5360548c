"""Motif descriptors on structures built by geometry; reference q values: Steinhardt,
Nelson & Ronchetti, Phys. Rev. B 28, 784 (1983), Table I (fcc and icosahedral shells)."""

from __future__ import annotations

import numpy as np
import pytest

from ase_gausslj.optimize.hard.descriptors import (
    cna_fractions,
    cna_signatures,
    coordination,
    descriptor,
    global_q,
    local_q,
    motif,
)

from .structures import cuboctahedron13, fcc_block, icosahedron13


def test_icosahedron_centre_bonds_are_555_and_q_values():
    x = icosahedron13()
    sig = cna_signatures(x)
    assert sig["555"] == 12  # the 12 radial bonds (five common neighbours in a ring)
    assert coordination(x)[0] == 12
    assert local_q(x, 6)[0] == pytest.approx(0.66332, abs=1e-5)
    assert local_q(x, 4)[0] == pytest.approx(0.0, abs=1e-8)
    assert motif(x) == "icosahedral"


def test_fcc_shell_q_values_and_421():
    x = cuboctahedron13()
    assert local_q(x, 6)[0] == pytest.approx(0.57452, abs=1e-5)
    assert local_q(x, 4)[0] == pytest.approx(0.19094, abs=1e-5)
    assert cna_signatures(x)["421"] == 12  # centre bonds: 4 common, 2 bonds, chain 1


def test_fcc_block_is_close_packed_without_five_fold_axes():
    x = fcc_block(3)
    sig = cna_signatures(x)
    assert "555" not in sig and "422" not in sig
    # bulk bonds are 421; every bond of an atom with 12 neighbours is 421
    full = np.flatnonzero(coordination(x) == 12)
    assert len(full) > 0
    assert cna_fractions(x)["421"] > 0.3
    assert motif(x) == "close-packed"
    # the global bond order of a perfect lattice is the shell's (all bonds on 12 directions,
    # every direction weighted alike in a cube)
    assert global_q(x, 6) == pytest.approx(0.57452, abs=2e-2)


def test_descriptor_is_rotation_and_permutation_invariant():
    rng = np.random.default_rng(0)
    x = icosahedron13() + rng.normal(scale=0.02, size=(13, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    y = (x @ q.T)[rng.permutation(13)] + 3.0
    assert np.allclose(descriptor(x), descriptor(y), atol=1e-12)


def test_bad_positions_are_refused():
    with pytest.raises(ValueError, match="x"):
        descriptor(np.zeros((4, 2)))


def test_fast_fractions_agree_with_the_full_cna():
    rng = np.random.default_rng(3)
    for x in (icosahedron13(), fcc_block(2), fcc_block(3) + rng.normal(scale=0.05,
                                                                     size=(108, 3))):
        sig = cna_signatures(x)
        total = sum(sig.values())
        f = cna_fractions(x)
        for key in ("555", "421", "422"):
            assert f[key] == pytest.approx(sig.get(key, 0) / total)


def test_global_q_harmonics_equal_the_pair_form():
    # the same sum by the addition theorem: mean of P_l over all pairs of bond directions
    from scipy.special import eval_legendre

    from ase_gausslj.optimize.hard.descriptors import bonds

    rng = np.random.default_rng(4)
    x = fcc_block(2) + rng.normal(scale=0.05, size=(32, 3))
    b = bonds(x)
    d = x[b[:, 1]] - x[b[:, 0]]
    u = np.vstack([d, -d]) / np.linalg.norm(np.vstack([d, -d]), axis=1)[:, None]
    for ell in (4, 6):
        ref = np.sqrt(eval_legendre(ell, np.clip(u @ u.T, -1, 1)).mean())
        assert global_q(x, ell) == pytest.approx(ref, rel=1e-10)
