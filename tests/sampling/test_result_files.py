"""SMCResult / AFTResult files: a JSON and an npz that cannot be mixed up (issue 19).

A kill between the two writes of ``save`` used to leave one run's JSON beside another
run's npz, and ``load`` returned a 5-atom configuration with 7-atom positions. The pair
is simulated here exactly as such a kill leaves it: the npz of a later save over the
JSON of an earlier one.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ase_gausslj.neural.aft_result import AFTResult
from ase_gausslj.sampling.pairfiles import pair_paths
from ase_gausslj.sampling.results import SMCResult


def _smc(n_atoms: int, seed: int = 0) -> SMCResult:
    rng = np.random.default_rng(seed)
    r = 4
    e = rng.normal(size=r)
    t = np.linspace(1.0, 0.1, 3)
    return SMCResult(positions=rng.normal(size=(r, n_atoms, 3)), lj_energies=e, energies=e + 1,
                     log_weights=np.full(r, -np.log(r)), log_z=None, ess=np.full(3, r),
                     min_energy_trace=t, widths=t, lambdas=t, acceptance=t, step_sizes=t,
                     log_z_trace=np.full(3, np.nan), config={"n_atoms": n_atoms, "seed": seed})


def _aft(n_atoms: int, seed: int = 0) -> AFTResult:
    rng = np.random.default_rng(seed)
    e = rng.normal(size=5)
    return AFTResult(positions=rng.normal(size=(5, n_atoms, 3)), lj_energies=e, energies=e,
                     log_weights=np.zeros(5), log_z=1.5, stages=[{"ess": 5.0}],
                     config={"n_atoms": n_atoms})


@pytest.mark.parametrize("make", [_smc, _aft], ids=["SMCResult", "AFTResult"])
def test_round_trip_and_dotted_prefix(tmp_path, make):
    res = make(5)
    js, npz = res.save(tmp_path / "run.v1")
    assert (js.name, npz.name) == ("run.v1.json", "run.v1.npz")  # not run.json / run.npz
    back = type(res).load(tmp_path / "run.v1")
    np.testing.assert_array_equal(back.positions, res.positions)
    assert back.config == res.config
    assert type(res).load(js).config == res.config  # the JSON's own name works too


@pytest.mark.parametrize("make", [_smc, _aft], ids=["SMCResult", "AFTResult"])
def test_mixed_pair_is_refused_naming_the_files(tmp_path, make):
    make(5).save(tmp_path / "run")  # the earlier save (5 atoms) ...
    js7, npz7 = make(7, seed=1).save(tmp_path / "later")
    shutil.copyfile(npz7, tmp_path / "run.npz")  # ... killed after the later npz landed
    with pytest.raises(ValueError, match=r"run\.npz.*run\.json"):
        type(make(5)).load(tmp_path / "run")


@pytest.mark.parametrize("make", [_smc, _aft], ids=["SMCResult", "AFTResult"])
def test_same_shape_npz_of_another_save_is_refused(tmp_path, make):
    make(5, seed=0).save(tmp_path / "run")
    _, other = make(5, seed=1).save(tmp_path / "other")
    shutil.copyfile(other, tmp_path / "run.npz")  # same shapes, other numbers
    with pytest.raises(ValueError, match="not the array file"):
        type(make(5)).load(tmp_path / "run")


def test_legacy_json_without_record_is_still_checked_against_the_config(tmp_path):
    js, _ = _smc(5).save(tmp_path / "run")
    doc = json.loads(js.read_text())
    del doc["npz"]  # as written before the record existed
    js.write_text(json.dumps(doc))
    assert SMCResult.load(tmp_path / "run").positions.shape == (4, 5, 3)
    _, npz7 = _smc(7).save(tmp_path / "later")
    shutil.copyfile(npz7, tmp_path / "run.npz")
    with pytest.raises(ValueError, match="7 atoms per replica.*5 atoms"):
        SMCResult.load(tmp_path / "run")


def test_damaged_files_give_errors_naming_them(tmp_path):
    js, npz = _smc(5).save(tmp_path / "run")
    npz.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"run\.npz"):
        SMCResult.load(tmp_path / "run")
    js.write_text("{trunc")
    with pytest.raises(ValueError, match=r"run\.json"):
        SMCResult.load(tmp_path / "run")


def test_pair_paths_extend_never_cut():
    assert [p.name for p in pair_paths("a/run.v1_seed0")] == ["run.v1_seed0.json",
                                                              "run.v1_seed0.npz"]
    assert [p.name for p in pair_paths("x.npz")] == ["x.json", "x.npz"]
    assert [p.name for p in pair_paths(".json")] == [".json.json", ".json.npz"]
