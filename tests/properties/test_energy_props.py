"""Properties of ``SmoothedLJ.compute`` / ``energy_forces`` and ``neighbor_pairs``.

Random small systems (coincident, flat and far-apart atoms, one or two species, cells of
any kind, any mix of periodic axes, every cutoff mode): each call returns finite values
equal to a brute-force pair sum over images with ``smoothed_lj`` per pair
(:func:`slow_reference.pair_sum`), or raises ValueError/TypeError naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from slow_reference import pair_sum, pairs_within
from strategies import cells, examples, positions, species, widths

from ase_gausslj.core.defaults import R_CORE, WIDTH_MAX
from ase_gausslj.core.energy import _EXACT_BELOW, SmoothedLJ
from ase_gausslj.core.neighbors import neighbor_pairs

# tolerances relative to the sum of |pair terms| (measured: the 2-D table gives V_s to
# ~1e-9 and dV_s/dr to ~1.3e-7 relative, ~2e-7 absolute near the minimum where dV ~ 0)
RTOL_E, RTOL_F = 1e-8, 1e-6


@st.composite
def systems(draw):
    pos = draw(positions())
    eps, sig = draw(species(len(pos)))
    cell, pbc = draw(cells())
    if pbc.any():
        # wrap into the cell (the reference enumerates images of atoms inside it)
        frac = draw(st.lists(st.floats(0.0, 0.999), min_size=3 * len(pos),
                             max_size=3 * len(pos)))
        pos = np.reshape(frac, (-1, 3)) @ cell if len(pos) else pos
    cutoff = draw(st.one_of(st.none(), st.floats(1.0, 3.0))) if not pbc.any() else draw(
        st.floats(1.0, 3.0))
    mode = "none" if cutoff is None else draw(st.sampled_from(["none", "shift", "taper"]))
    start = draw(st.floats(0.0, 0.95)) * cutoff if mode == "taper" else None
    width = draw(widths) * float(np.min(sig, initial=1.0))  # reduced width times the smallest sigma
    return dict(pos=pos, eps=eps, sig=sig, cell=cell, pbc=pbc, cutoff=cutoff, mode=mode,
                taper_start=start, width=width)


def _off_the_cutoff(s) -> bool:
    """No pair distance within 1e-9 of the cutoff, where `r < rc` vs `r <= rc` (both
    fine) decide a jump of the energy in cutoff_mode 'none'."""
    if s["cutoff"] is None:
        return True
    _, _, d, _ = pairs_within(s["pos"], s["cutoff"] * (1 + 1e-9), s["cell"], s["pbc"])
    r = np.sqrt(np.sum(d * d, axis=1))
    return not np.any(np.abs(r - s["cutoff"]) <= 1e-9 * s["cutoff"])


def _close(got, ref, scale, rtol=RTOL_F, slack=0.0):
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref, rtol=0, atol=rtol * (scale + 1e-3) + slack)


#: |dV/dr| of the affine core (eps / sigma): -4 (12 u^-13 - 6 u^-7) at u = r_core
_CORE_SLOPE = 4.0 * (12.0 * R_CORE**-13 - 6.0 * R_CORE**-7)


def _exact_below_slack(d, width, eps, sig):
    """``(energy, force)`` slack of the documented approximation ``SmoothedLJ`` makes when
    every reduced width is below 1e-8 (it evaluates the unsmoothed potential): smoothing the
    affine core moves a pair at ``r ~ 0`` by at most ``|b| E|X| = |b| 4 s / sqrt(pi)`` eps,
    and the force of a pair closer than ~1e3 widths by up to ``|b|`` (the core's force is a
    constant-magnitude kink). ``d``: the pair distances."""
    eps_max, sig_min = float(np.max(eps, initial=1.0)), float(np.min(sig, initial=1.0))
    w_red = width / sig_min
    if not 0.0 < w_red < _EXACT_BELOW or len(d) == 0:
        return 0.0, 0.0
    e_slack = len(d) * eps_max * _CORE_SLOPE * 4.0 * w_red / np.sqrt(np.pi) * 1.1
    close = np.any(d < 1e3 * width)
    return e_slack, (2.0 * eps_max * _CORE_SLOPE / sig_min * len(d) if close else 0.0)


@settings(max_examples=examples(120), deadline=None)
@given(system=systems(), dtype=st.sampled_from([np.float64, np.float32]),
       per_atom=st.booleans(), virial=st.booleans())
def test_compute_equals_pair_sum(system, dtype, per_atom, virial):
    s = system
    assume(_off_the_cutoff(s))
    pos = s["pos"].astype(dtype).astype(np.float64)  # the reference sees the same numbers
    model = SmoothedLJ(s["eps"], s["sig"]) if len(pos) else SmoothedLJ()
    res = model.compute(pos.astype(dtype), s["width"], cutoff=s["cutoff"], cell=s["cell"],
                        pbc=s["pbc"], cutoff_mode=s["mode"], taper_start=s["taper_start"],
                        virial=virial, per_atom=per_atom)
    e, f, vir, scale = pair_sum(pos, s["eps"], s["sig"], s["width"], cutoff=s["cutoff"],
                                cell=s["cell"], pbc=s["pbc"], mode=s["mode"],
                                taper_start=s["taper_start"])
    _, _, dv, _ = pairs_within(pos, s["cutoff"], s["cell"], s["pbc"])
    e_slack, f_slack = _exact_below_slack(np.sqrt(np.sum(dv * dv, axis=1)), s["width"],
                                          s["eps"], s["sig"])
    _close(res.energy, e, scale, RTOL_E, e_slack)
    _close(res.forces, f, scale, slack=f_slack)
    assert res.forces.shape == (len(pos), 3)
    if per_atom:
        _close(np.sum(res.energies), e, scale, RTOL_E, e_slack)
    if virial:
        _close(res.virial, vir, scale, slack=f_slack * np.max(dv, initial=0.0))


@settings(max_examples=examples(60), deadline=None)
@given(pos=positions(max_atoms=8), width=widths)
def test_energy_forces_equals_all_pairs(pos, width):
    model = SmoothedLJ(1.0, 1.0)
    e, f = model.energy_forces(pos, width)
    e_ref, f_ref, _, scale = pair_sum(pos, np.ones(len(pos)), np.ones(len(pos)), width)
    n = len(pos)
    d = np.sqrt(np.sum((pos[:, None] - pos[None]) ** 2, axis=-1))[np.triu_indices(n, 1)]
    e_slack, f_slack = _exact_below_slack(d, width, 1.0, 1.0)
    _close(e, e_ref, scale, RTOL_E, e_slack)
    _close(f, f_ref, scale, slack=f_slack)


@settings(max_examples=examples(40), deadline=None)
@given(pos=positions(max_atoms=4), extra=st.floats(1e-9, 10.0))
def test_width_beyond_the_table_names_width(pos, extra):
    with pytest.raises(ValueError, match="width"):
        SmoothedLJ(1.0, 1.0).energy_forces(pos, WIDTH_MAX * (1 + 1e-9) + extra)


_BAD_OPTIONS = [
    (dict(skin=float("nan"), cutoff=2.0), "skin"),
    (dict(skin=-1.0, cutoff=2.0), "skin"),
    (dict(cutoff=-1.0), "cutoff"),
    (dict(cutoff=float("nan")), "cutoff"),
    (dict(cutoff=0.0), "cutoff"),
    (dict(cutoff=2.0, cell=np.eye(2), pbc=True), "cell"),
    (dict(cutoff=2.0, cell=np.full((3, 3), np.nan), pbc=True), "cell"),
    (dict(cutoff=2.0, cell=5 * np.eye(3), pbc=[True, True]), "pbc"),
    (dict(cutoff=2.0, cutoff_mode="smooth"), "cutoff_mode"),
    (dict(cutoff=2.0, cutoff_mode="taper", taper_start=2.5), "taper_start"),
    (dict(pbc=True, cell=5 * np.eye(3)), "cutoff"),
    (dict(pbc=True, cutoff=2.0), "cell"),
]


@pytest.mark.parametrize("options, name", _BAD_OPTIONS)
def test_bad_options_name_the_argument(options, name):
    pos = np.array([[0.0, 0.0, 0.0], [1.1, 0.2, 0.1]])
    with pytest.raises((ValueError, TypeError), match=name):
        SmoothedLJ().compute(pos, 0.2, **options)


@pytest.mark.parametrize("pos, name", [
    (np.zeros((3, 2)), "positions"),
    (np.zeros(3), "positions"),
    (np.array([[0.0, 0.0, np.nan], [1.0, 0.0, 0.0]]), "positions"),
])
def test_bad_positions_name_the_argument(pos, name):
    with pytest.raises((ValueError, TypeError), match=name):
        SmoothedLJ().compute(pos, 0.2)
    with pytest.raises((ValueError, TypeError), match=name):
        SmoothedLJ().energy_forces(pos, 0.2)


# -- neighbor_pairs -------------------------------------------------------------------
def _distances(i, j, d):
    """Each found pair as (min(i,j), max(i,j), |d| rounded), sorted (orientation-free)."""
    r = np.round(np.sqrt(np.sum(np.asarray(d) ** 2, axis=1)), 9)
    rows = sorted(zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), r.tolist(),
                      strict=True))
    return rows


@settings(max_examples=examples(120), deadline=None)
@given(pos=positions(max_atoms=8), box=cells(), cutoff=st.floats(0.5, 3.0))
def test_neighbor_pairs_equals_brute_force(pos, box, cutoff):
    cell, pbc = box
    if pbc.any():
        pos = (pos / max(float(np.max(pos, initial=1.0)), 1e-300) * 0.999) @ cell
    assume(_off_the_cutoff(dict(pos=pos, cutoff=cutoff, cell=cell, pbc=pbc)))
    i, j, sh = neighbor_pairs(pos, cutoff, cell, pbc)
    d = pos[j] + sh - pos[i]
    within = np.sqrt(np.sum(d * d, axis=1)) < cutoff
    bi, bj, bd, bw = pairs_within(pos, cutoff, cell, pbc)
    one_way = bw == 1.0
    # brute force lists an atom's own image twice (both orientations): keep one
    self_pairs = ~one_way
    keep = one_way | (self_pairs & _first_orientation(bd))
    assert _distances(i[within], j[within], d[within]) == _distances(bi[keep], bj[keep],
                                                                         bd[keep])


def _first_orientation(d):
    """True for one of each pair of opposite vectors (lexicographically positive)."""
    d = np.asarray(d)
    first = np.zeros(len(d), bool)
    for k, row in enumerate(d):
        nz = row[np.abs(row) > 1e-12]
        first[k] = len(nz) > 0 and nz[0] > 0
    return first


@pytest.mark.parametrize("cutoff", [-1.0, 0.0, float("nan"), float("inf"), "a"])
def test_neighbor_pairs_bad_cutoff(cutoff):
    with pytest.raises((ValueError, TypeError), match="cutoff"):
        neighbor_pairs(np.zeros((2, 3)), cutoff)


def test_sparse_cluster_is_cheap():
    # issue 10: 20 atoms over 1e4 units with a cutoff asked the cell list for ~8.6 GB
    pos = np.random.default_rng(0).uniform(0.0, 1e4, (20, 3))
    i, _, _ = neighbor_pairs(pos, 2.5)
    assert len(i) == 0
