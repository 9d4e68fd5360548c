"""OpenMM smoothed LJ force: table accuracy, pair sums (Reference and CPU), cutoffs, units."""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.unit as unit
import pytest

from ase_gausslj.core.defaults import WIDTH_MAX
from ase_gausslj.core.potential import smoothed_coulomb, smoothed_lj
from openmm_gausslj import (
    WIDTH_PARAMETER,
    GaussLJState,
    max_width_for_system,
    smoothed_lj_bond_force,
    smoothed_lj_force,
)
from openmm_gausslj.forces.expressions import ONE_4PI_EPS0


def _context(system, platform="Reference"):
    plat = mm.Platform.getPlatformByName(platform)
    props = {"Threads": "1"} if platform == "CPU" else {}
    return mm.Context(system, mm.VerletIntegrator(0.001), plat, props)


def _ef(ctx, pos):
    ctx.setPositions(pos)
    st = ctx.getState(getEnergy=True, getForces=True)
    e = st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    f = st.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)
    return e, np.asarray(f)


def _system(n, *forces, box=None):
    s = mm.System()
    for _ in range(n):
        s.addParticle(39.9)
    if box is not None:
        s.setDefaultPeriodicBoxVectors(*[mm.Vec3(*row) for row in np.diag([box] * 3)])
    for f in forces:
        s.addForce(f)
    return s


def _pair_sum(pos, sig, eps, w, cutoff=None, box=None, switch=None):
    """Independent all-pairs (or minimum-image) reference from the exact quadrature."""
    n = len(pos)
    i, j = np.triu_indices(n, 1)
    d = pos[j] - pos[i]
    if box is not None:
        d -= box * np.round(d / box)
    r = np.linalg.norm(d, axis=1)
    s = 0.5 * (sig[i] + sig[j])
    e = np.sqrt(eps[i] * eps[j])
    v, dv = smoothed_lj(r / s, w / s)
    v, dv = e * v, e * dv / s
    if switch is not None:
        t = np.clip((r - switch) / (cutoff - switch), 0, 1)
        sw = 1 - 10 * t**3 + 15 * t**4 - 6 * t**5
        dsw = (-30 * t**2 + 60 * t**3 - 30 * t**4) / (cutoff - switch)
        v, dv = v * sw, dv * sw + v * dsw
    if cutoff is not None:
        inside = r < cutoff
        v, dv = v * inside, dv * inside
    g = (dv / r)[:, None] * d  # dE/dx_j
    f = np.zeros_like(pos)
    np.add.at(f, j, -g)
    np.add.at(f, i, g)
    _pair_sum.max_pair_force = np.max(np.abs(dv))
    return v.sum(), f


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# ----------------------------------------------------------------- table accuracy
@pytest.mark.parametrize("width_reduced", [0.0, 1e-3, 0.02, 0.1, 0.3, 0.7, 1.3, 2.0])
def test_spline_accuracy_two_particles(width_reduced):
    """OpenMM's bicubic spline of the table vs the exact quadrature, 2 particles.

    Error relative to max(|F|, 4 x^-6) (the size of the attraction at that distance, so
    zero crossings of F do not make the ratio meaningless) on 0.85 <= x <= 12.
    """
    sig, eps = 0.34, 0.996
    force = smoothed_lj_force([sig, sig], [eps, eps], width=width_reduced * sig,
                              exact_at_zero=False)
    ctx = _context(_system(2, force))
    x = np.concatenate([np.linspace(0.85, 2.0, 47), np.linspace(2.05, 12.0, 40)])
    e_mm = np.empty_like(x)
    f_mm = np.empty_like(x)
    for k, xi in enumerate(x):
        e, f = _ef(ctx, [[0, 0, 0], [xi * sig, 0, 0]])
        e_mm[k], f_mm[k] = e, -f[1, 0]
    v, dv = smoothed_lj(x, width_reduced)
    scale = np.maximum(np.abs(v), 4 * x**-6)
    assert np.max(np.abs(e_mm / eps - v) / scale) < 1e-5
    fscale = np.maximum(np.abs(dv), 24 * x**-7)
    assert np.max(np.abs(f_mm * sig / eps - dv) / fscale) < 2e-4


def test_table_covers_every_distance():
    """No silent zero beyond any range: huge separations still give -4 eps (sig/r)^6."""
    sig, eps = 0.3, 1.0
    ctx = _context(_system(2, smoothed_lj_force([sig, sig], [eps, eps], width=0.05)))
    for r in (5.0, 50.0, 5000.0):
        e, _ = _ef(ctx, [[0, 0, 0], [r, 0, 0]])
        v, _ = smoothed_lj(r / sig, 0.05 / sig)
        assert e == pytest.approx(eps * v, rel=1e-5)


# ----------------------------------------------------------------- pair sums
def _cluster(n=20, seed=1):
    rng = np.random.default_rng(seed)
    sig = rng.uniform(0.30, 0.40, n)
    eps = rng.uniform(0.5, 1.2, n)
    pos = []
    while len(pos) < n:  # random sequential packing, no pair closer than 0.95 sigma_ij
        p = rng.uniform(0, 1.3, 3)
        k = len(pos)
        if all(np.linalg.norm(p - q) > 0.95 * 0.5 * (sig[k] + sig[m]) for m, q in enumerate(pos)):
            pos.append(p)
    return np.array(pos), sig, eps


@pytest.mark.parametrize("platform,tol", [("Reference", 1e-5), ("CPU", 1e-4)])
def test_cluster_matches_pair_sum(platform, tol):
    pos, sig, eps = _cluster()
    force = smoothed_lj_force(sig, eps)
    ctx = _context(_system(len(pos), force), platform)
    from ase_gausslj.core.energy import SmoothedLJ

    core = SmoothedLJ(epsilon=eps, sigma=sig)
    for w in (0.0, 0.005, 0.03, 0.1, 0.25):
        ctx.setParameter(WIDTH_PARAMETER, w)
        e, f = _ef(ctx, pos)
        e_ref, f_ref = _pair_sum(pos, sig, eps, w)
        assert abs(e - e_ref) <= tol * np.sum(np.abs(e_ref)) + 1e-12, (w, e, e_ref)
        assert _rel(f, f_ref) < tol, w
        # the core's pair-sum driver, in the same (nm, kJ/mol) units
        res = core.compute(pos, w)
        assert abs(e - res.energy) <= tol * abs(res.energy), w
        assert _rel(f, res.forces) < tol, w


def test_cutoff_periodic_switching_matches_minimum_image():
    rng = np.random.default_rng(3)
    n, box = 64, 2.4
    grid = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = (grid + 0.5 + rng.uniform(-0.15, 0.15, grid.shape)) * box / 4
    sig = np.full(n, 0.34)
    eps = np.full(n, 0.996)
    force = smoothed_lj_force(
        sig, eps, width=0.04, nonbonded_method="CutoffPeriodic", cutoff=1.0,
        switch_distance=0.9,
    )
    ctx = _context(_system(n, force, box=box))
    for w in (0.0, 0.04, 0.2):
        ctx.setParameter(WIDTH_PARAMETER, w)
        e, f = _ef(ctx, pos)
        e_ref, f_ref = _pair_sum(pos, sig, eps, w, cutoff=1.0, box=box, switch=0.9)
        assert e == pytest.approx(e_ref, rel=1e-5)
        # in a liquid the net forces cancel: errors relative to the largest pair force;
        # the spline's force (an O(h^3) derivative) is ~1.5e-5 per pair at x ~ 2-4
        tol = 1e-10 if w == 0.0 else 2e-5
        assert np.max(np.abs(f - f_ref)) < tol * _pair_sum.max_pair_force, w


def test_long_range_correction_matches_integral():
    """LRC at width w: 2 pi N^2 / V * int_rc^oo r^2 V_s(r) dr (one particle class)."""
    n, box, sig, eps, rc, w = 8, 2.2, 0.34, 0.996, 1.0, 0.1
    pos = np.array([[x, y, z] for x in (0.3, 1.4) for y in (0.3, 1.4) for z in (0.3, 1.4)])
    kw = dict(nonbonded_method="CutoffPeriodic", cutoff=rc, width=w)
    on = smoothed_lj_force([sig] * n, [eps] * n, use_long_range_correction=True, **kw)
    off = smoothed_lj_force([sig] * n, [eps] * n, **kw)
    e_on, _ = _ef(_context(_system(n, on, box=box)), pos)
    e_off, _ = _ef(_context(_system(n, off, box=box)), pos)

    # int_rc^oo r^2 V(r) dr = int_0^(1/rc) V(1/t) t^-4 dt (smooth: ~ t^2 at t -> 0)
    t, wt = np.polynomial.legendre.leggauss(160)
    t = 0.5 * (t + 1) / rc
    v, _ = smoothed_lj(1.0 / (t * sig), w / sig)
    integral = 0.5 / rc * np.sum(wt * eps * v / t**4)
    lrc = 2 * np.pi * n * n / box**3 * integral
    assert e_on - e_off == pytest.approx(lrc, rel=1e-4)


# ----------------------------------------------------------------- width handling
def test_width_changes_through_set_parameter_and_state():
    pos, sig, eps = _cluster(8, seed=5)
    system = _system(len(pos), smoothed_lj_force(sig, eps, width=0.02))
    ctx = _context(system)
    assert GaussLJState.from_system(system).width == pytest.approx(0.02)
    assert GaussLJState.from_context(ctx).width == pytest.approx(0.02)
    e1, _ = _ef(ctx, pos)
    state = GaussLJState(0.1 * unit.nanometer)
    state.apply_to_context(ctx)
    assert ctx.getParameter(WIDTH_PARAMETER) == pytest.approx(0.1)
    e2, _ = _ef(ctx, pos)
    assert e1 == pytest.approx(_pair_sum(pos, sig, eps, 0.02)[0], rel=1e-5)
    assert e2 == pytest.approx(_pair_sum(pos, sig, eps, 0.1)[0], rel=1e-5)
    state.width = 0.03
    state.apply_to_system(system)
    assert GaussLJState.from_system(system).width == pytest.approx(0.03)


def test_width_beyond_table_raises_or_is_not_finite():
    sig = np.array([0.3, 0.4])
    system = _system(2, smoothed_lj_force(sig, [1.0, 1.0]))
    wmax = max_width_for_system(system)
    assert wmax == pytest.approx(WIDTH_MAX * 0.3)
    ctx = _context(system)
    with pytest.raises(ValueError, match="width.*beyond"):
        GaussLJState(wmax * 1.01).apply_to_context(ctx)
    # setting it behind the state's back is never silent: energy and forces are not finite
    ctx.setParameter(WIDTH_PARAMETER, 0.5 * (sig[0] + sig[1]) * 2.05)
    e, f = _ef(ctx, [[0, 0, 0], [0.35, 0, 0]])
    assert not np.isfinite(e) or not np.all(np.isfinite(f))


def test_zero_epsilon_particles_with_zero_sigma_are_harmless():
    """Water-like hydrogens (sigma = 0, epsilon = 0) must not produce NaN."""
    force = smoothed_lj_force([0.3, 0.0, 0.3], [1.0, 0.0, 1.0], width=0.3)
    ctx = _context(_system(3, force))
    e, f = _ef(ctx, [[0, 0, 0], [0.1, 0, 0], [0.4, 0, 0]])
    v, dv = smoothed_lj(0.4 / 0.3, 1.0)
    assert e == pytest.approx(v, rel=1e-5)
    assert np.all(np.isfinite(f))


def test_quantities_and_bad_input():
    a = smoothed_lj_force(
        [0.34, 0.30] * unit.nanometer, [0.996, 0.5] * unit.kilojoule_per_mole,
        width=0.5 * unit.angstrom,
    )
    b = smoothed_lj_force([0.34, 0.30], [0.996, 0.5], width=0.05)
    pos = [[0, 0, 0], [0.4, 0, 0]]
    e_a = _ef(_context(_system(2, a)), pos)[0]
    assert e_a == pytest.approx(_ef(_context(_system(2, b)), pos)[0])
    with pytest.raises(ValueError, match="sigma"):
        smoothed_lj_force([0.0, 0.3], [1.0, 1.0])
    with pytest.raises(ValueError, match="width"):
        smoothed_lj_force([0.3, 0.3], [1.0, 1.0], width=-0.1)
    with pytest.raises(ValueError, match="nonbonded_method"):
        smoothed_lj_force([0.3, 0.3], [1.0, 1.0], nonbonded_method="PME")
    with pytest.raises(ValueError, match="switch_distance"):
        smoothed_lj_force([0.3, 0.3], [1.0, 1.0], nonbonded_method="CutoffNonPeriodic",
                          cutoff=1.0, switch_distance=1.2)
    with pytest.raises(ValueError, match="epsilon"):
        smoothed_lj_force([0.3, 0.3], [1.0, np.nan])
    with pytest.raises(ValueError, match="incompatible"):
        smoothed_lj_force([0.3, 0.3] * unit.kelvin, [1.0, 1.0])


def test_bond_force_with_coulomb_matches_direct():
    sig, eps, qq, w, r = 0.32, 0.4, -0.3, 0.05, 0.31
    bf = smoothed_lj_bond_force([(0, 1)], [sig], [eps], charge_products=[qq], width=w)
    e, f = _ef(_context(_system(2, bf)), [[0, 0, 0], [r, 0, 0]])
    v, dv = smoothed_lj(r / sig, w / sig)
    phi, dphi = smoothed_coulomb(r, w)
    assert e == pytest.approx(eps * v + ONE_4PI_EPS0 * qq * phi, rel=1e-5)
    assert -f[1, 0] == pytest.approx(eps * dv / sig + ONE_4PI_EPS0 * qq * dphi, rel=1e-5)
