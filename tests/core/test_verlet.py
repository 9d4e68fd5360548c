"""Verlet list kept across calls: rebuilt exactly when needed, results equal a brute-force sum.

The brute-force reference sums every periodic image within the cutoff with numpy (pair terms
from ``SmoothedLJ.pair``), so it shares no neighbour-list code with the path under test.
"""

import numpy as np
import pytest

from ase_gausslj import SmoothedLJ

RC = 2.5
SKIN = 0.4


def _brute(model, pos, cell, pbc, w, rc=RC):
    """Energy and forces, shifted at the cutoff, over all images (numpy only)."""
    n = len(pos)
    rng = [range(-2, 3) if p else range(1) for p in np.broadcast_to(pbc, 3)]
    e_rc = model.pair(np.array([rc]), w)[0][0]
    energy = 0.0
    forces = np.zeros((n, 3))
    for a in rng[0]:
        for b in rng[1]:
            for c in rng[2]:
                t = a * cell[0] + b * cell[1] + c * cell[2]
                d = pos[None, :, :] + t - pos[:, None, :]  # d[i, j] = x_j + t - x_i
                r = np.linalg.norm(d, axis=-1)
                mask = (r < rc) & (r > 1e-12)
                i, j = np.nonzero(mask)
                v, dv = model.pair(r[mask], w)
                energy += 0.5 * np.sum(v - e_rc)
                g = (dv / r[mask])[:, None] * d[i, j]
                np.add.at(forces, i, g)  # each ordered pair once: F_i += V'/r d
    return energy, forces


def _crystal(seed=0, m=3, a=1.6):
    rng = np.random.default_rng(seed)
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    g = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    pos = ((g + base[None]) * a).reshape(-1, 3) + 0.03 * rng.normal(size=(4 * m**3, 3))
    return pos, np.eye(3) * (m * a)


def _check(model, pos, cell, pbc, w, rel=1e-9):
    res = model.compute(pos, w, cutoff=RC, cell=cell, pbc=pbc, cutoff_mode="shift",
                        skin=SKIN)
    e, f = _brute(model, pos, cell, pbc, w)
    assert res.energy == pytest.approx(e, rel=rel, abs=1e-9)
    np.testing.assert_allclose(res.forces, f, atol=1e-8 * max(1.0, np.abs(f).max()))
    return res


@pytest.mark.parametrize("w", [0.0, 0.3])
def test_rebuild_only_past_half_skin_and_results_exact(w):
    pos, cell = _crystal()
    model = SmoothedLJ()
    _check(model, pos, cell, True, w)
    nl = model._verlet
    assert nl.rebuilds == 1
    pos = pos.copy()
    pos[5] += [0.45 * SKIN, 0.0, 0.0]  # below skin / 2: the list is kept
    _check(model, pos, cell, True, w)
    assert nl.rebuilds == 1
    pos[7] += [0.0, 0.0, -0.55 * SKIN]  # past skin / 2: rebuilt
    _check(model, pos, cell, True, w)
    assert nl.rebuilds == 2
    fresh = SmoothedLJ().compute(pos, w, cutoff=RC, cell=cell, pbc=True, cutoff_mode="shift")
    again = model.compute(pos, w, cutoff=RC, cell=cell, pbc=True, cutoff_mode="shift",
                          skin=SKIN)
    assert again.energy == pytest.approx(fresh.energy, rel=1e-12)


def test_random_walk_matches_brute_force_every_step():
    """Many small random moves: the list is reused most steps, rebuilt some, never wrong."""
    pos, cell = _crystal(seed=3)
    model = SmoothedLJ()
    rng = np.random.default_rng(4)
    for _ in range(12):
        pos = pos + 0.02 * rng.normal(size=pos.shape)
        _check(model, pos, cell, True, 0.3)
    nl = model._verlet
    assert 1 < nl.rebuilds < 12  # some steps reuse the list, some rebuild it


def test_cell_change_and_pbc_change_rebuild():
    pos, cell = _crystal(seed=1)
    model = SmoothedLJ()
    _check(model, pos, cell, True, 0.3)
    _check(model, pos * 1.01, cell * 1.01, True, 0.3)  # strained cell: rebuilt
    assert model._verlet.rebuilds == 2
    _check(model, pos * 1.01, cell * 1.01, [True, True, False], 0.3)  # one direction open
    assert model._verlet.rebuilds == 3
    _check(model, pos * 1.01, cell * 1.01, False, 0.0)  # a cluster with a cutoff
    assert model._verlet.rebuilds == 4
    _check(model, pos[:-3], cell * 1.01, False, 0.0)  # fewer atoms
    assert model._verlet.rebuilds == 5


def test_small_cell_images_of_images_and_virial():
    """Cutoff + skin longer than the cell: an atom meets several images of itself."""
    rng = np.random.default_rng(2)
    cell = np.array([[2.2, 0.0, 0.0], [0.4, 2.1, 0.0], [0.3, -0.2, 2.3]])
    pos = rng.uniform(0, 1, size=(3, 3)) @ cell * 0.5 + [[0, 0, 0], [1.1, 0, 0], [0, 1.1, 0]]
    model = SmoothedLJ()
    res = _check(model, pos, cell, True, 0.3)
    # per-atom and virial outputs take the general loop; they must agree with the lean one
    full = model.compute(pos, 0.3, cutoff=RC, cell=cell, pbc=True, cutoff_mode="shift",
                         skin=SKIN, virial=True, per_atom=True)
    assert full.energy == pytest.approx(res.energy, rel=1e-12)
    np.testing.assert_allclose(full.forces, res.forces, atol=1e-10)
    assert full.energies.sum() == pytest.approx(res.energy, rel=1e-12)
    np.testing.assert_allclose(full.atom_virials.sum(axis=0), full.virial, atol=1e-10)


def test_driver_with_a_kept_list_pickles():
    """A driver holding a Verlet list pickles (process pools) and computes the same."""
    import pickle

    pos, cell = _crystal(seed=6)
    model = SmoothedLJ()
    res = _check(model, pos, cell, True, 0.3)
    copy = pickle.loads(pickle.dumps(model))
    again = copy.compute(pos, 0.3, cutoff=RC, cell=cell, pbc=True, cutoff_mode="shift",
                         skin=SKIN)
    assert again.energy == pytest.approx(res.energy, rel=1e-12)


@pytest.mark.parametrize("w", [0.0, 0.3])
def test_lean_loops_match_general_loop_and_all_pairs(w):
    """Energy and forces alone run specialized loops (one species; several), per-atom
    energies the general one: both agree, and with all pairs within a long cutoff with
    the all-pairs kernel; one close contact (inside r_core + 0.1) takes the rare path."""
    pos, _ = _crystal(seed=5, m=2)
    pos[1] = pos[0] + [0.85, 0.0, 0.0]
    n = len(pos)
    for eps, sig in [(1.0, 1.0), (np.where(np.arange(n) % 2, 1.0, 0.6),
                                  np.where(np.arange(n) % 3, 1.0, 1.1))]:
        model = SmoothedLJ(eps, sig)
        lean = model.compute(pos, w, cutoff=50.0)
        full = model.compute(pos, w, cutoff=50.0, per_atom=True)
        e, f = model.energy_forces(pos, w)
        scale = np.abs(f).max()
        for res in (lean, full):
            assert res.energy == pytest.approx(e, rel=1e-12)
            np.testing.assert_allclose(res.forces, f, atol=1e-12 * scale)
        assert full.energies.sum() == pytest.approx(e, rel=1e-12)


def _openmm_switch(r, rs, rc):
    """OpenMM's switching function, written out independently of the kernels."""
    x = np.clip((r - rs) / (rc - rs), 0.0, 1.0)
    return 1.0 - 10.0 * x**3 + 15.0 * x**4 - 6.0 * x**5


def test_switch_mode_is_openmms_switching_function():
    """cutoff_mode='switch' at width 0 equals the plain LJ times OpenMM's S(r), brute force."""
    rng = np.random.default_rng(3)
    grid = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = grid * 1.5 + rng.normal(0.0, 0.15, (64, 3))
    cell = np.eye(3) * 6.0
    rs, rc = 2.0, 2.5
    res = SmoothedLJ(r_core=0.5).compute(pos, 0.0, cutoff=rc, cell=cell, pbc=True,
                                         cutoff_mode="switch", taper_start=rs)
    d = pos[None, :, :] - pos[:, None, :]
    d -= np.round(d / 6.0) * 6.0
    r = np.sqrt((d**2).sum(-1))[np.triu_indices(64, 1)]
    r = r[r < rc]
    assert r.min() > 0.5  # beyond the core: the regularized LJ is the plain LJ
    e = (4.0 * (r**-12 - r**-6) * _openmm_switch(r, rs, rc)).sum()
    assert res.energy == pytest.approx(e, rel=1e-10)


@pytest.mark.parametrize("w", [0.0, 0.3])
def test_switch_mode_forces_are_the_gradient(w):
    rng = np.random.default_rng(4)
    grid = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = grid * 1.25 + rng.normal(0.0, 0.1, (64, 3))
    drv = SmoothedLJ()
    kw = dict(cutoff=2.4, cell=np.eye(3) * 5.0, pbc=True, cutoff_mode="switch",
              taper_start=1.9)
    f = drv.compute(pos, w, **kw).forces
    h = 1e-6
    for i, k in [(0, 0), (5, 1), (17, 2)]:
        p, m = pos.copy(), pos.copy()
        p[i, k] += h
        m[i, k] -= h
        fd = -(drv.compute(p, w, **kw).energy - drv.compute(m, w, **kw).energy) / (2 * h)
        assert fd == pytest.approx(f[i, k], rel=1e-5, abs=1e-6)


def test_switch_mode_needs_its_start():
    with pytest.raises(ValueError, match="taper_start"):
        SmoothedLJ().compute(np.zeros((2, 3)) + [[0, 0, 0], [1, 0, 0]], 0.0, cutoff=2.0,
                             cutoff_mode="switch")


def test_row_order_is_lexsort_within_rows():
    from ase_gausslj.core.verlet import _row_order

    rng = np.random.default_rng(0)
    start = np.concatenate([[0], np.cumsum(rng.integers(0, 40, 300))])
    key = rng.integers(0, 15, start[-1]).astype(float)  # ties: the order must be stable
    rows = np.repeat(np.arange(300), np.diff(start))
    assert (_row_order(start, key) == np.lexsort((key, rows))).all()
