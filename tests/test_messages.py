"""Bad input gets a clear error naming the argument (issue 19, "messages").

Each case below was accepted or failed with a message that did not name the argument:
an ``OverflowError``, a flipped force sign, ``True`` taken as 1.0, a ``TypeError`` from
deep inside, an ``r_core`` the tables cannot serve, NaN charges, a cache "directory" that
is a file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ase_gausslj import GaussianLJ, SmoothedLJ, global_minimize, smoothed_lj
from ase_gausslj.core.validation import (
    R_CORE_RANGE,
    check_r_core,
    check_width,
    count,
    positive,
)


@pytest.mark.parametrize("r_core", [1e-300, 1e-30, 0.1, 2.0, 1e300, math.nan, -0.8, True])
def test_smoothed_lj_refuses_an_r_core_outside_the_tables_range(r_core):
    # before: 1e-300 raised OverflowError (r_core**-13), 2.0 was accepted
    with pytest.raises(ValueError, match="r_core"):
        smoothed_lj(1.0, 0.3, r_core=r_core)


@pytest.mark.parametrize("r_core", list(R_CORE_RANGE))
def test_r_core_range_ends_are_served_everywhere(r_core):
    v, _ = smoothed_lj(1.2, 0.1, r_core=r_core)
    assert np.isfinite(v)
    assert check_r_core(r_core) == r_core


@pytest.mark.parametrize("r", [-1.0, [1.0, -0.5], -1e-300])
def test_pair_refuses_negative_distances(r):
    # before: pair(-1.0, .3) returned the mirrored energy with the force sign flipped
    with pytest.raises(ValueError, match=r"\br\b.*>= 0"):
        SmoothedLJ().pair(r, 0.3)


@pytest.mark.parametrize("name, value", [
    ("width", True), ("width", np.bool_(False)), ("epsilon", True), ("sigma", True),
    ("rc", True), ("ro", False), ("r_core", True), ("width_max", True),
])
def test_calculator_refuses_booleans_for_numbers(name, value):
    # before: GaussianLJ(width=True) computed at width 1.0
    with pytest.raises(ValueError, match=name):
        GaussianLJ(**{name: value})


def test_calculator_refuses_an_r_core_the_table_cannot_serve():
    with pytest.raises(ValueError, match=r"r_core must be in \[0\.3, 1\.0\]"):
        GaussianLJ(r_core=2.0)  # before: accepted here, refused later inside the table


@pytest.mark.parametrize("kwargs, name", [
    (dict(temperature="hot"), "temperature"),  # before: TypeError '>=' str and int
    (dict(temperature=True), "temperature"),
    (dict(temperature=-1.0), "temperature"),
    (dict(widths=0.3, method="smoothed-bh"), "widths"),  # before: 'float' not iterable
    (dict(widths="0.3", method="smoothed-bh"), "widths"),
    (dict(step=True), "step"),  # before: step 1.0
    (dict(step="0.4"), "step"),  # before: float('0.4')
    (dict(n_starts=2.5), "n_starts"),
    (dict(maxiter=True), "maxiter"),
])
def test_global_minimize_names_the_bad_option(kwargs, name):
    with pytest.raises(ValueError, match=name):
        global_minimize(13, max_minimizations=1, **kwargs)


def test_shared_helpers():
    assert positive(2, "x") == 2.0 and positive(0, "x", strict=False) == 0.0
    assert count(3.0, "n") == 3 and count(0, "n", minimum=0) == 0
    assert check_width(np.float64(0.25)) == 0.25
    for bad in (True, "1", [1.0], math.inf, math.nan, 0.0, -1):
        with pytest.raises(ValueError, match="x must be"):
            positive(bad, "x")
    for bad in (True, 2.5, "2", 0, [2], math.nan):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            count(bad, "n")


def _system(charge=0.0, sigma=0.3):
    mm = pytest.importorskip("openmm")
    system = mm.System()
    nb = mm.NonbondedForce()
    for q in (charge, -0.0):
        system.addParticle(12.0)
        nb.addParticle(q, sigma, 0.5)
    system.addForce(nb)
    return system


@pytest.mark.parametrize("r_core", [2.0, 0.1, 1e-300])
def test_smooth_system_refuses_an_r_core_outside_the_tables_range(r_core):
    from openmm_gausslj import TableGrid, smooth_system

    with pytest.raises(ValueError, match="r_core must be in"):
        smooth_system(_system(), 0.01, r_core=r_core)  # before: accepted
    with pytest.raises(ValueError, match="r_core must be in"):
        TableGrid(r_core=r_core)


@pytest.mark.parametrize("charge", [math.nan, math.inf])
def test_smooth_system_refuses_nonfinite_charges_like_sigma(charge):
    from openmm_gausslj import smooth_system

    # before: NaN charges accepted (NaN sigma was refused)
    with pytest.raises(ValueError, match=r"charges of force 0 .*index 0"):
        smooth_system(_system(charge=charge), 0.01)
    with pytest.raises(ValueError, match=r"charges of force 0"):
        smooth_system(_system(charge=charge), 0.01, smooth_coulomb=False)
    with pytest.raises(ValueError, match="sigma"):
        smooth_system(_system(sigma=math.nan), 0.01)


def test_nonfinite_exception_charge_is_refused():
    from openmm_gausslj import smooth_system

    system = _system(charge=0.1)
    system.getForce(0).addException(0, 1, math.nan, 0.3, 0.0)
    with pytest.raises(ValueError, match="exception charge products"):
        smooth_system(system, 0.01)


def test_cache_dir_that_is_a_file_is_an_error_naming_the_variable(tmp_path, monkeypatch):
    from ase_gausslj.core import cache

    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("")
    monkeypatch.setenv("GAUSSLJ_CACHE_DIR", str(not_a_dir))
    # before: cache_path() pointed inside the file, the save failed quietly, and every
    # run rebuilt the table
    with pytest.raises(ValueError, match="GAUSSLJ_CACHE_DIR.*not a directory"):
        cache.cache_path("table", {"k": 1})
    monkeypatch.setenv("GAUSSLJ_CACHE_DIR", str(tmp_path / "new"))  # created on save
    assert cache.cache_path("table", {"k": 1}).parent == tmp_path / "new"
    monkeypatch.setenv("GAUSSLJ_CACHE_DIR", "")
    assert cache.cache_path("table", {"k": 1}) is None
