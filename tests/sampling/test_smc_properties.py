"""Property tests of the sampling entry points (hypothesis): any option either works and
gives finite results, or is refused with a ValueError/TypeError naming it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ase_gausslj.sampling.options import MUTATIONS, PATHS
from ase_gausslj.sampling.smc import run_smc
from ase_gausslj.sampling.weights import ess, systematic_resample

_NONFINITE = st.sampled_from([float("nan"), float("inf"), -float("inf")])
_VALID = {
    "path": st.sampled_from(PATHS),
    "mutation": st.sampled_from(MUTATIONS),
    "n_replicas": st.integers(1, 6),
    "n_steps": st.integers(1, 4),
    "step_size": st.floats(1e-4, 0.05),
    "resample": st.booleans(),
    "harmonic": st.floats(0.0, 2.0),
    "kT": st.floats(0.3, 3.0),
    "width_start": st.floats(0.3, 1.5),
    "width_end": st.floats(0.0, 0.3),
    "ratio": st.floats(0.5, 0.99),
    "n_burnin": st.integers(0, 2),
    "moves_per_level": st.integers(1, 2),
    "final_moves": st.integers(0, 2),
    "ess_threshold": st.floats(0.1, 1.0),
    "cess_target": st.floats(0.5, 0.99),
    "target_accept": st.floats(0.2, 0.9),
    "max_drift": st.one_of(st.none(), st.floats(0.1, 1.0)),
    "seed": st.integers(0, 100),
}
_INVALID = {
    "path": st.sampled_from(["nope", "Gaussian", ""]),
    "mutation": st.sampled_from(["hmc", "MALA"]),
    "n_replicas": st.one_of(st.integers(-3, 0), st.just(2.5), st.just(True)),
    "n_steps": st.one_of(st.integers(-3, 0), st.just(1.5)),
    "step_size": st.one_of(st.floats(-5.0, 0.0), _NONFINITE),
    "harmonic": st.one_of(st.floats(-5.0, -1e-9), _NONFINITE),
    "kT": st.one_of(st.floats(-5.0, 0.0), _NONFINITE),
    "width_start": st.one_of(st.floats(-5.0, -1e-9), _NONFINITE),
    "width_end": st.one_of(st.floats(-5.0, -1e-9), st.floats(1.6, 3.0), _NONFINITE),
    "ratio": st.one_of(st.floats(-1.0, 0.0), st.floats(1.0, 3.0), _NONFINITE),
    "n_burnin": st.integers(-3, -1),
    "moves_per_level": st.integers(-3, 0),
    "final_moves": st.integers(-3, -1),
    "ess_threshold": st.one_of(st.floats(-1.0, 0.0), st.floats(1.01, 3.0), _NONFINITE),
    "cess_target": st.one_of(st.floats(-1.0, 0.0), st.floats(1.0, 3.0), _NONFINITE),
    "target_accept": st.one_of(st.floats(-1.0, 0.0), st.floats(1.0, 3.0), _NONFINITE),
    "max_drift": st.one_of(st.floats(-1.0, 0.0), _NONFINITE),
    "seed": st.one_of(st.integers(-5, -1), st.just(0.5)),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=_VALID), st.integers(2, 4), st.data())
def test_run_smc_options(options, n_atoms, data):
    """Valid options run and give finite results; one bad option is named in the error."""
    options.setdefault("n_replicas", 4)
    options.setdefault("n_steps", 3)
    options.setdefault("min_width_ratio", 0.0)  # keep adaptive runs short
    if options.get("path") == "gaussian-adaptive":
        options["resample"] = True
    bad = data.draw(st.one_of(st.none(), st.sampled_from(sorted(_INVALID))), label="bad")
    if bad is not None:
        options[bad] = data.draw(_INVALID[bad], label=bad)
        with pytest.raises(ValueError, match=bad):
            run_smc(n_atoms, **options)
        return
    res = run_smc(n_atoms, **options)
    assert np.all(np.isfinite(res.lj_energies)) and np.all(np.isfinite(res.positions))
    assert np.isclose(np.exp(res.log_weights).sum(), 1.0)
    assert res.log_z is None or np.isfinite(res.log_z)
    assert res.widths.size >= 1 and res.widths[-1] == 0.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-50.0, 50.0), min_size=1, max_size=30), st.integers(0, 2**31))
def test_ess_and_resampling(log_w, seed):
    lw = np.asarray(log_w)
    e = ess(lw)
    assert 1.0 - 1e-9 <= e <= lw.size + 1e-9
    w = np.exp(lw - lw.max())
    idx = systematic_resample(w, np.random.default_rng(seed))
    counts = np.bincount(idx, minlength=lw.size)
    expected = lw.size * w / w.sum()
    assert np.all(counts >= np.floor(expected) - 1e-9)
    assert np.all(counts <= np.ceil(expected) + 1e-9)


@pytest.mark.parametrize("bad", [[np.nan, 0.0], [[0.0]], []])
def test_ess_rejects(bad):
    with pytest.raises(ValueError, match="log_weights"):
        ess(bad)
