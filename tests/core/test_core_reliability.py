"""Issue 10 (core): ordinary and bad input never gives a silent wrong answer.

References are independent of the code under test: direct pair sums over images, an
mpmath quadrature written here (not the package's), the analytic width-0 potential.
"""

import math
import subprocess
import sys
import warnings

import mpmath as mp
import numpy as np
import pytest

from ase_gausslj.core.energy import SmoothedLJ
from ase_gausslj.core.neighbors import _bin_layout, neighbor_pairs
from ase_gausslj.core.potential import SMALL_WIDTH, smoothed_lj, smoothed_lj_dwidth

RC = 0.8


@pytest.fixture(scope="module")
def model():
    return SmoothedLJ()


# -- independent references ------------------------------------------------------------


def direct_energy_forces(pos, w, cutoff, cell=None, pbc=(False, False, False), images=2):
    """Pair sum over explicit lattice images within ``cutoff`` (no neighbour list)."""
    pos = np.asarray(pos, dtype=float)
    cell = np.zeros((3, 3)) if cell is None else np.asarray(cell, dtype=float)
    ranges = [range(-images, images + 1) if p else range(1) for p in pbc]
    e = 0.0
    f = np.zeros_like(pos)
    for n0 in ranges[0]:
        for n1 in ranges[1]:
            for n2 in ranges[2]:
                shift = n0 * cell[0] + n1 * cell[1] + n2 * cell[2]
                d = pos[None, :, :] + shift - pos[:, None, :]  # d[i, j] = x_j + S - x_i
                r = np.linalg.norm(d, axis=2)
                own = (n0, n1, n2) == (0, 0, 0)
                mask = r < cutoff
                if own:
                    mask &= ~np.eye(len(pos), dtype=bool)
                i, j = np.nonzero(mask)
                v, dv = smoothed_lj(r[i, j], w)
                e += 0.5 * v.sum()  # each pair is seen from both atoms
                # F_i = sum_(j, S) V'(r) / r d_ij (the mirrored view adds F_j)
                np.add.at(f, i, (dv / r[i, j])[:, None] * d[i, j])
    return e, f


def _affine():
    rc = mp.mpf(RC)
    b = 4 * (-12 * rc**-13 + 6 * rc**-7)
    return 4 * (rc**-12 - rc**-6) - b * rc, b


def mp_reference(r, s):
    """(V, dV/dr, dV/ds) of the smoothed regularized LJ by mpmath in z = (u - r) / sig.

    ``V_s(r) = E[g(r + sig Z)] / r`` (Z 1-D standard normal, sig = sqrt(2) s, g(u) = u V(|u|)
    odd); derivatives under the integral sign.
    """
    mp.mp.dps = 40
    a, b = _affine()
    rc = mp.mpf(RC)

    def g(u):
        au = abs(u)
        return u * (4 * (au**-12 - au**-6) if au > rc else a + b * au)

    def dg(u):
        au = abs(u)
        return 4 * (-11 * au**-12 + 5 * au**-6) if au > rc else a + 2 * b * au

    r = mp.mpf(r)
    s = mp.mpf(s)
    sig = mp.sqrt(2) * s
    pts = {mp.mpf(-14), mp.mpf(14)}
    pts |= {z for z in ((rc - r) / sig, (-rc - r) / sig, -r / sig) if -14 < z < 14}
    pts = sorted(pts)

    def pdf(z):
        return mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)

    ev = mp.quad(lambda z: g(r + sig * z) * pdf(z), pts)
    ed = mp.quad(lambda z: dg(r + sig * z) * pdf(z), pts)
    es = mp.quad(lambda z: dg(r + sig * z) * z * pdf(z), pts)
    v = ev / r
    return float(v), float(ed / r - v / r), float(mp.sqrt(2) * es / r)


# -- flat and sparse geometries with a cutoff -------------------------------------------


@pytest.mark.parametrize("spread", [0.0, 1e-10])
def test_atoms_on_a_line_with_cutoff(model, spread):
    # before: energy 0 and zero forces (spread 0), a hang (spread 1e-10)
    pos = np.array([[0.0, 0.0, 0.0], [1.1, spread, 0.0], [2.3, 0.0, -spread]])
    res = model.compute(pos, 0.3, cutoff=10.2)
    e_ref, f_ref = direct_energy_forces(pos, 0.3, 10.2)
    assert res.energy != 0.0
    assert res.energy == pytest.approx(e_ref, rel=1e-6)
    np.testing.assert_allclose(res.forces, f_ref, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("spread", [0.0, 1e-10])
def test_flat_layer_with_non_periodic_normal(model, spread):
    # an Ar(111)-like triangular layer (nearest neighbours 2^(1/6)), periodic in-plane
    a = 2 ** (1 / 6)
    a1 = np.array([a, 0.0, 0.0])
    a2 = np.array([0.5 * a, 0.5 * math.sqrt(3) * a, 0.0])
    cell = np.array([3 * a1, 3 * a2, [0.0, 0.0, 0.0]])
    pos = np.array([i * a1 + j * a2 for i in range(3) for j in range(3)])
    pos[:, 2] += spread * np.arange(len(pos))
    pos[:, :2] += 0.01 * np.random.default_rng(3).normal(size=(len(pos), 2))
    pbc = (True, True, False)
    res = model.compute(pos, 0.1, cutoff=2.5, cell=cell, pbc=pbc)
    e_ref, f_ref = direct_energy_forces(pos, 0.1, 2.5, cell=cell, pbc=pbc)
    assert res.energy != 0.0  # before: 0.0 and zero forces
    assert res.energy == pytest.approx(e_ref, rel=1e-6)
    np.testing.assert_allclose(res.forces, f_ref, rtol=1e-6, atol=1e-8)
    res0 = model.compute(pos, 0.0, cutoff=2.5, cell=cell, pbc=pbc)
    e0, f0 = direct_energy_forces(pos, 0.0, 2.5, cell=cell, pbc=pbc)
    assert res0.energy == pytest.approx(e0, rel=1e-12)
    np.testing.assert_allclose(res0.forces, f0, rtol=1e-9, atol=1e-10)


def test_sparse_cluster_bins_bounded_by_atoms(model):
    # 10 dimers spread over 1e4 units: before, 2^30 bins (~8.6 GB)
    rng = np.random.default_rng(5)
    centres = rng.uniform(0.0, 1e4, (10, 3))
    pos = np.concatenate([centres, centres + [1.1, 0.0, 0.0]])
    i, j, _ = neighbor_pairs(pos, 3.0)
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(k, k + 10) for k in range(10)]
    res = model.compute(pos, 0.2, cutoff=3.0)
    e_ref, f_ref = direct_energy_forces(pos, 0.2, 3.0)
    assert res.energy == pytest.approx(e_ref, rel=1e-9)
    np.testing.assert_allclose(res.forces, f_ref, rtol=1e-6, atol=1e-9)
    # the layout itself: bins bounded by ~2 per atom
    span = np.ptp(pos, axis=0) + 2 * 3.0 + 1.0
    frac = pos / span
    nb_, _, _, m = _bin_layout(frac, np.zeros(3, dtype=np.bool_), 3.0, 1.0 / span)
    assert np.prod(nb_) <= max(27, 2 * len(pos))
    assert np.all(m == 1)


def test_dense_layout_unchanged():
    # a dense periodic liquid keeps cutoff-wide bins (the fast path)
    frac = np.random.default_rng(0).uniform(size=(4000, 3))
    nb_, _, _, m = _bin_layout(frac, np.ones(3, dtype=np.bool_), 3.0, np.full(3, 1 / 16.8))
    assert nb_.tolist() == [5, 5, 5] and m.tolist() == [1, 1, 1]


# -- tiny widths ------------------------------------------------------------------------


@pytest.mark.parametrize("w", [1e-7, 1e-10, 1e-18, 1e-300, 5e-324])
@pytest.mark.parametrize("r", [0.0, 0.5, RC + 3e-11, 0.95, 1.2])
def test_tiny_widths_match_mpmath(w, r):
    # before: dV/dr(0.5) = +30919 at w = 1e-10 (truth -758.7), 0 for w <= 1e-18,
    # SystemError at 1e-300
    v, dv = smoothed_lj(r, w)
    ds = smoothed_lj_dwidth(r, w)
    if r == 0.0:
        # V_s is even in r: the quadrature reference's 1/r form is singular there; the
        # smoothed affine core a + b E|sig Z| is exact (the LJ side is e^-(0.8/sig)^2 away)
        a, b = (float(x) for x in _affine())
        sig = math.sqrt(2) * w
        chi_mean = 2 * math.sqrt(2 / math.pi)  # E|Z| for Z standard normal in 3-D
        ref = (a + b * sig * chi_mean, 0.0, b * math.sqrt(2) * chi_mean)
    else:
        ref = mp_reference(r, w)
    scale = max(1.0, abs(ref[0]))
    assert abs(float(v) - ref[0]) <= 1e-12 * scale, (float(v), ref)
    assert abs(float(dv) - ref[1]) <= 1e-10 * max(1.0, abs(ref[1])), (float(dv), ref)
    assert abs(float(ds) - ref[2]) <= 1e-8 * max(1.0, abs(ref[2])), (float(ds), ref)


@pytest.mark.parametrize("w", [0.0078125, 0.5])
@pytest.mark.parametrize("r", [5e-324, 1e-300, 1e-150, 1e-12])
def test_tiny_distance_tends_to_r_zero(r, w):
    # before: V_s(5e-324) = 0.0 (x = r u / s^2 underflowed in -expm1(-x) / r).
    # V_s is even and smooth in r: V_s(r) = V_s(0) + O(r^2), dV/dr = O(r)
    (v0, v), (_, dv) = smoothed_lj([0.0, r], w)
    assert v == pytest.approx(v0, rel=1e-12)
    d2 = abs(float(smoothed_lj(1e-3, w)[1])) / 1e-3  # |V''(0)| ~ V'(1e-3) / 1e-3
    assert abs(dv) <= 2 * d2 * r + 1e-300


@pytest.mark.parametrize("r", [0.3, RC - 2e-6, RC + 1e-6, 1.12, 3.0])
def test_small_width_switch_is_continuous(r):
    lo = SMALL_WIDTH * (1 - 1e-9)
    hi = SMALL_WIDTH * (1 + 1e-9)
    (v0, v1), (d0, d1) = smoothed_lj(r, [lo, hi])
    assert abs(v1 - v0) <= 1e-12 * max(1.0, abs(v0))
    assert abs(d1 - d0) <= 1e-9 * max(1.0, abs(d0))


def test_table_path_at_tiny_width_equals_width_zero(model):
    rng = np.random.default_rng(1)
    pos = np.array([[0, 0, 0], [0.75, 0, 0], [0, 1.1, 0], [1.0, 1.0, 0.3]], dtype=float)
    pos += 0.01 * rng.normal(size=pos.shape)
    r0 = model.compute(pos, 0.0)
    for w in (1e-12, 1e-300):
        r1 = model.compute(pos, w)
        assert r1.energy == pytest.approx(r0.energy, rel=1e-9)
        np.testing.assert_allclose(r1.forces, r0.forces, rtol=1e-9, atol=1e-9)


# -- corrupt cache ----------------------------------------------------------------------


@pytest.mark.parametrize("garbage", [b"", b"PK\x03\x04 truncated zip"])
def test_corrupt_table_cache_warns_and_rebuilds(tmp_path, monkeypatch, garbage):
    from ase_gausslj.core import cache
    from ase_gausslj.core.table import SmoothedLJTable

    monkeypatch.setenv("GAUSSLJ_CACHE_DIR", str(tmp_path))
    # a coarse, narrow table builds in about a second
    first = SmoothedLJTable(width_max=0.05, width_step=0.3)
    assert not first.loaded_from_cache
    path = cache.cache_path("table", first.cache_key())
    assert path.exists()
    path.write_bytes(garbage)
    with pytest.warns(RuntimeWarning, match="cache"):
        again = SmoothedLJTable(width_max=0.05, width_step=0.3)
    assert not again.loaded_from_cache
    np.testing.assert_array_equal(again.values, first.values)
    r = np.array([0.3, 0.9, 1.12, 2.0, 5.0])
    v, dv = again.evaluate(r, 0.02)
    ve, dve = smoothed_lj(r, 0.02)
    # a coarse table: ~1e-4, as built fresh (values above are identical to the first build)
    np.testing.assert_allclose(v, ve, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(dv, dve, rtol=1e-3, atol=1e-6)
    # and the rebuilt file is good again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SmoothedLJTable(width_max=0.05, width_step=0.3).loaded_from_cache


def test_table_cache_key_holds_every_input(model, monkeypatch):
    from ase_gausslj.core import potential, table

    tab = model.table
    base = tab.cache_key()
    for module, name, value in [
        (table, "_KINK_FADE", 0.06),
        (table, "_VERSION", "x"),
        (table, "_NODE_TAIL_TERMS", 60),
        (table, "_QUAD_FAST", potential._QUAD_FAST * 1.01),
    ]:
        with monkeypatch.context() as mp_:
            mp_.setattr(module, name, value)
            assert tab.cache_key() != base, name
    old = tab.widths[1]
    tab.widths[1] = old * (1 + 1e-9)  # the grid itself
    try:
        assert tab.cache_key() != base
    finally:
        tab.widths[1] = old
    assert tab.cache_key() == base


# -- compute options are validated at the boundary --------------------------------------


POS = np.array([[0.0, 0.0, 0.0], [1.1, 0.0, 0.0], [0.0, 1.2, 0.0]])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"cutoff": 3.0, "skin": float("nan")}, "skin"),
        ({"cutoff": 3.0, "skin": -1.0}, "skin"),
        ({"cutoff": 3.0, "skin": "x"}, "skin"),
        ({"cutoff": float("nan")}, "cutoff"),
        ({"cutoff": -2.0}, "cutoff"),
        ({"cutoff": 3.0, "cell": np.eye(2)}, "cell"),
        ({"cutoff": 3.0, "cell": np.full((3, 3), np.nan), "pbc": True}, "cell"),
        ({"cutoff": 3.0, "cell": 5 * np.eye(3), "pbc": [True, True]}, "pbc"),
        ({"cutoff": 3.0, "cutoff_mode": "smooth"}, "cutoff_mode"),
        ({"cutoff_mode": "shift"}, "cutoff_mode"),
        ({"cutoff": 3.0, "cutoff_mode": "taper"}, "taper_start"),
        ({"cutoff": 3.0, "cutoff_mode": "taper", "taper_start": 4.0}, "taper_start"),
        ({"cutoff": 3.0, "cutoff_mode": "taper", "taper_start": float("nan")}, "taper_start"),
        ({"cell": 5 * np.eye(3), "pbc": True}, "cutoff"),
    ],
)
def test_compute_options_are_checked(model, kwargs, name):
    # before: skin=nan gave energy 0.0, skin=-1 a wrong energy
    with pytest.raises(ValueError, match=name):
        model.compute(POS, 0.3, **kwargs)


def test_valid_skin_values_agree(model):
    ref = model.compute(POS, 0.3).energy
    for skin in (0.0, 0.5, 2.0):
        m = SmoothedLJ()
        assert m.compute(POS, 0.3, cutoff=5.0, skin=skin).energy == pytest.approx(ref, rel=1e-12)


# -- coincident atoms -------------------------------------------------------------------


@pytest.mark.parametrize("w", [0.0, 1e-8, 0.3])
@pytest.mark.parametrize("cutoff", [None, 3.0])
def test_coincident_atoms_are_finite(model, w, cutoff):
    pos = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.1, 0.0, 0.0]])
    res = model.compute(pos, w, cutoff=cutoff)
    assert math.isfinite(res.energy)
    assert np.all(np.isfinite(res.forces))
    # the coincident pair contributes V_s(0) and no force (V_s is even in r)
    v0, _ = smoothed_lj(0.0, w)
    v1, _ = smoothed_lj(1.1, w)
    assert res.energy == pytest.approx(float(v0) + 2 * float(v1), rel=1e-6)
    np.testing.assert_allclose(res.forces[0], res.forces[1], atol=1e-12)


def test_no_numba_future_warning():
    # broadcast inputs must reach the kernels as contiguous copies; numba only looks at
    # the flags when it (re)types a call, i.e. on the first call of a process
    code = (
        "import numpy as np\n"
        "from ase_gausslj.core.potential import smoothed_lj\n"
        "from ase_gausslj.core.energy import SmoothedLJ\n"
        "smoothed_lj(np.zeros(0), 0.3)\n"  # before: a scalar broadcast to an empty r warned
        "r = np.linspace(0.5, 2.0, 6)\n"
        "smoothed_lj(r[:, None], np.array([0.0, 0.1, 0.3]))\n"
        "m = SmoothedLJ(epsilon=[1.0, 1.0, 2.0], sigma=1.0)\n"
        "m.table.evaluate(r[:, None], np.array([0.1, 0.3]))\n"
        "pos = np.array([[0.0, 0.0, 0.0], [1.1, 0.0, 0.0], [0.0, 1.2, 0.0]])\n"
        "m.compute(pos, 0.2, cutoff=3.0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error::FutureWarning", "-c", code],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
