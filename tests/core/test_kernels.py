"""Pair sums: against exact pair potentials, finite differences, invariances, paths agree."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ase_gausslj import SmoothedLJ, neighbor_pairs, smoothed_lj


def cluster(n, seed=0, spacing=1.1):
    """A compact, jittered cubic-lattice cluster (no overlaps)."""
    rng = np.random.default_rng(seed)
    m = int(np.ceil(n ** (1 / 3)))
    g = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    return spacing * g + 0.05 * rng.normal(size=(n, 3))


def brute_energy(pos, w, eps=1.0, sig=1.0):
    i, j = np.triu_indices(len(pos), 1)
    r = np.linalg.norm(pos[j] - pos[i], axis=1)
    eps_ij = np.sqrt(np.broadcast_to(eps, len(pos))[i] * np.broadcast_to(eps, len(pos))[j])
    sig_ij = 0.5 * (np.broadcast_to(sig, len(pos))[i] + np.broadcast_to(sig, len(pos))[j])
    v, _ = smoothed_lj(r / sig_ij, w / sig_ij)
    return np.sum(eps_ij * v)


@pytest.fixture(scope="module")
def model():
    return SmoothedLJ()


@pytest.mark.parametrize("w", [0.0, 0.01, 0.3, 1.5])
def test_energy_matches_exact_pair_sum(model, w):
    pos = cluster(27, seed=1)
    e, _ = model.energy_forces(pos, w)
    assert e == pytest.approx(brute_energy(pos, w), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("w", [0.0, 0.05, 0.6])
def test_forces_finite_difference(model, w):
    pos = cluster(12, seed=2)
    _, f = model.energy_forces(pos, w)
    h = 1e-6
    fd = np.zeros_like(pos)
    for a in range(len(pos)):
        for k in range(3):
            p = pos.copy()
            p[a, k] += h
            ep = model.energy_forces(p, w)[0]
            p[a, k] -= 2 * h
            em = model.energy_forces(p, w)[0]
            fd[a, k] = -(ep - em) / (2 * h)
    np.testing.assert_allclose(f, fd, rtol=1e-5, atol=1e-5)


def test_translation_rotation_invariance(model):
    pos = cluster(20, seed=3)
    e0, f0 = model.energy_forces(pos, 0.2)
    rot = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix()
    e1, f1 = model.energy_forces(pos @ rot.T + np.array([3.0, -7.0, 0.5]), 0.2)
    assert e1 == pytest.approx(e0, rel=1e-12)
    np.testing.assert_allclose(f1, f0 @ rot.T, atol=1e-9)
    assert np.abs(f0.sum(axis=0)).max() < 1e-9  # Newton's third law


def test_width_to_zero_limit(model):
    pos = cluster(20, seed=4)
    e0, f0 = model.energy_forces(pos, 0.0)
    e1, f1 = model.energy_forces(pos, 1e-5)
    assert e1 == pytest.approx(e0, rel=1e-6)
    np.testing.assert_allclose(f1, f0, rtol=1e-4, atol=1e-5)


def test_batch_and_pairlist_agree_with_allpairs(model):
    reps = np.stack([cluster(15, seed=s) for s in range(4)])
    for w in [0.0, 0.4]:
        eb, fb = model.batch_energy_forces(reps, w)
        for k in range(len(reps)):
            e, f = model.energy_forces(reps[k], w)
            assert eb[k] == pytest.approx(e, rel=1e-13)
            np.testing.assert_allclose(fb[k], f, atol=1e-12)
            res = model.compute(reps[k], w, cutoff=1e3)
            assert res.energy == pytest.approx(e, rel=1e-12)
            np.testing.assert_allclose(res.forces, f, atol=1e-10)


def test_per_atom_energies_and_virial(model):
    pos = cluster(18, seed=5)
    res = model.compute(pos, 0.3, per_atom=True, virial=True)
    assert res.energies.sum() == pytest.approx(res.energy, rel=1e-12)
    np.testing.assert_allclose(res.atom_virials.sum(axis=0), res.virial, atol=1e-10)
    # virial = dE/d(strain) under x -> (1 + eps) x
    h = 1e-6
    for a in range(3):
        for b in range(3):
            strain = np.eye(3)
            strain[a, b] += h
            ep = model.energy_forces(pos @ strain.T, 0.3)[0]
            strain[a, b] -= 2 * h
            em = model.energy_forces(pos @ strain.T, 0.3)[0]
            assert res.virial[a, b] == pytest.approx((ep - em) / (2 * h), rel=1e-5, abs=1e-5)


def test_lorentz_berthelot_mixture():
    pos = cluster(16, seed=6, spacing=1.3)
    eps = np.where(np.arange(16) % 2, 1.0, 0.5)
    sig = np.where(np.arange(16) % 3, 1.0, 1.2)
    m = SmoothedLJ(eps, sig)
    for w in [0.0, 0.25]:
        e, _ = m.energy_forces(pos, w)
        assert e == pytest.approx(brute_energy(pos, w, eps, sig), rel=1e-6)


def _images_energy(model, pos, cell, rc, w, shift):
    """Brute force over periodic images (independent of the cell list)."""
    e = 0.0
    rng = range(-3, 4)
    v_rc = smoothed_lj(np.array([rc]), w)[0][0] if shift else 0.0
    for a in rng:
        for b in rng:
            for c in rng:
                t = a * cell[0] + b * cell[1] + c * cell[2]
                d = pos[None, :, :] + t - pos[:, None, :]
                r = np.linalg.norm(d, axis=-1)
                mask = (r < rc) & (r > 1e-12)
                e += 0.5 * np.sum(smoothed_lj(r[mask], w)[0] - v_rc)
    return e


@pytest.mark.parametrize(
    "cell",
    [np.diag([4.0, 4.5, 5.0]), np.array([[4.0, 0, 0], [1.3, 4.2, 0], [0.7, -1.1, 4.4]])],
)
def test_periodic_cell_list_matches_image_sum(model, cell):
    rng = np.random.default_rng(8)
    frac = np.stack(np.meshgrid(*[np.arange(3) / 3] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = (frac + 0.02 * rng.normal(size=frac.shape)) @ cell + 2.0 * cell[0]  # unwrapped
    rc = 3.0  # more than half of the cell: images of images count
    for w, mode in [(0.0, "none"), (0.2, "shift")]:
        res = model.compute(pos, w, cutoff=rc, cell=cell, pbc=True, cutoff_mode=mode,
                            virial=True)
        assert res.energy == pytest.approx(
            _images_energy(model, pos, cell, rc, w, mode == "shift"), rel=1e-6
        )
        assert np.abs(res.forces.sum(axis=0)).max() < 1e-9


def test_neighbor_pairs_match_ase(model):
    from ase.neighborlist import neighbor_list

    cell = np.array([[5.0, 0, 0], [2.0, 4.5, 0], [0.5, 1.0, 4.0]])
    rng = np.random.default_rng(9)
    pos = rng.uniform(0, 1, (40, 3)) @ cell
    i, j, sh = neighbor_pairs(pos, 2.7, cell, [True, True, False])
    from ase import Atoms

    atoms = Atoms("Ar40", positions=pos, cell=cell, pbc=[True, True, False])
    ai, aj = neighbor_list("ij", atoms, 2.7)
    assert 2 * len(i) == len(ai)
    d = np.linalg.norm(pos[j] + sh - pos[i], axis=1)
    assert d.max() < 2.7


def test_bad_input_errors(model):
    pos = cluster(5)
    with pytest.raises(ValueError, match="positions"):
        model.energy_forces(pos[:, :2], 0.1)
    bad = pos.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="positions"):
        model.energy_forces(bad, 0.1)
    with pytest.raises(ValueError, match="width"):
        model.energy_forces(pos, -0.1)
    with pytest.raises(ValueError, match="width_max"):
        model.energy_forces(pos, 100.0)
    with pytest.raises(ValueError, match="atoms"):
        SmoothedLJ(np.ones(4), 1.0).energy_forces(pos, 0.1)
    with pytest.raises(ValueError, match="cutoff"):
        model.compute(pos, 0.1, pbc=True, cell=np.eye(3) * 5)
    with pytest.raises(ValueError, match="sigma"):
        SmoothedLJ(1.0, -1.0)
