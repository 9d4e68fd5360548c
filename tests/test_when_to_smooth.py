"""examples/when_to_smooth.py: the summary's verdicts, and every new task end to end at a
tiny size (the molecule tasks need OpenMM; the ETKDG anchor needs RDKit)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))


def _rows(task, case, variant, smoothed, scores, tol=0.0):
    return [{"task": task, "case": case, "variant": variant, "smoothed": smoothed, "seed": s,
             "score": v, "cpu_s": 1.0, "score_tol": tol} for s, v in enumerate(scores)]


def test_summary_compares_with_every_anchor_and_respects_the_tolerance():
    from when_to_smooth import summarize

    rows = (_rows("t", "c", "plain", False, [1.0, 1.0, 1.0], 0.5)
            + _rows("t", "c", "anchor2", False, [-5.0, -5.0, -5.0], 0.5)
            + _rows("t", "c", "smooth", True, [0.0, 0.0, 0.2], 0.5))
    out = {s["anchor"]: s for s in summarize(rows)}
    assert set(out) == {"plain", "anchor2"}
    assert out["plain"]["verdict"] == "smoothing wins"      # 1.0 lower, beyond 0.5
    assert out["anchor2"]["verdict"] == "smoothing loses"   # 5 higher than the best anchor
    near = (_rows("t", "c", "plain", False, [1.0, 1.0], 0.5)
            + _rows("t", "c", "smooth", True, [0.7, 0.8], 0.5))
    assert summarize(near)[0]["verdict"] == "tie"           # within the tolerance
    both_failed = (_rows("t", "c", "plain", False, [math.inf])
                   + _rows("t", "c", "smooth", True, [math.inf]))
    assert summarize(both_failed)[0]["verdict"] == "tie"


def _run(tmp_path, *argv):
    import when_to_smooth

    out = tmp_path / "out.json"
    assert when_to_smooth.main([*argv, "--output", str(out)]) == 0
    return json.loads(out.read_text())


def test_smc_default_task_runs_at_a_tiny_size(tmp_path):
    d = _run(tmp_path, "--tasks", "smc-default", "--seeds", "0", "--smc-default-replicas",
             "20", "--smc-default-steps", "20")
    rows = d["rows"]
    assert {r["variant"] for r in rows} == {"gaussian", "mixture-linear", "mixture-geometric"}
    for r in rows:
        assert r["smoothed"] == (r["variant"] == "gaussian")
        assert r["score"] == pytest.approx(abs(r["bias"])) and np.isfinite(r["bias"])
        assert r["size_overrides"] == {"n_replicas": 20, "n_steps": 20}
    assert {s["anchor"] for s in d["summary"]} == {"mixture-linear", "mixture-geometric"}


def test_rdkit_molecule_keeps_the_openmm_atom_order_and_embeds_l_trans():
    pytest.importorskip("openmm")
    pytest.importorskip("rdkit", reason="the ETKDG anchor is optional")
    from rdkit.Chem import AllChem
    from when_to_smooth_molecules import flips, molecule, rdkit_molecule

    mol = molecule("aggfm")
    m = rdkit_molecule(mol)
    assert [a.GetAtomicNum() for a in m.GetAtoms()] == \
        [a.element.atomic_number for a in mol.topology.atoms()]
    params = AllChem.ETKDGv3()
    params.randomSeed = 7
    assert AllChem.EmbedMolecule(m, params) == 0
    xyz = np.asarray(m.GetConformer().GetPositions()) / 10.0
    to_cis, inverted = flips(mol, mol.positions, xyz)
    assert inverted == []  # every CA stays L: the stereo came across with the atom order


@pytest.mark.slow
def test_molecule_tasks_run_end_to_end(tmp_path):
    pytest.importorskip("openmm")
    pytest.importorskip("rdkit", reason="the ETKDG anchor is optional")
    d = _run(tmp_path, "--tasks", "peptide-conformers", "clash-repair", "--seeds", "0",
             "--molecules", "aggfm", "--conformer-cpu", "0.5", "--fold-cpu", "0.5",
             "--repair-stages", "2")
    conf = [r for r in d["rows"] if r["task"] == "peptide-conformers"]
    assert {r["variant"] for r in conf} == {"plain", "smoothed", "rdkit-etkdg", "anneal"}
    for r in conf:
        assert r["n_minima"] >= 1 and np.isfinite(r["best_any"])
        assert r["score"] >= r["best_any"]  # the valid best is never below the best of all
    rep = [r for r in d["rows"] if r["task"] == "clash-repair"]
    assert {r["variant"] for r in rep} == {"minimize", "restrained-minimize", "homotopy",
                                           "homotopy-torsion"}
    for r in rep:
        assert r["energy_damaged"] > r["energy_input"] + 100.0  # the damage is real
        assert r["energy"] < r["energy_damaged"] and 0 < r["rmsd_nm"] < 1.0
    assert (tmp_path / "aggfm_input.pdb").exists()


def test_molecule_tasks_run_at_the_smallest_size(tmp_path):
    """The default suite's end-to-end check, tiny and without the smoothed contexts (their
    tabulated force takes ~10 s to set up here; the slow test above runs every method)."""
    pytest.importorskip("openmm")
    pytest.importorskip("rdkit", reason="the ETKDG anchor is optional")
    d = _run(tmp_path, "--tasks", "peptide-conformers", "clash-repair", "--seeds", "1",
             "--molecules", "aggfm", "--conformer-cpu", "0.1", "--conformer-methods",
             "rdkit-etkdg", "--fold-cpu", "0", "--repair-methods", "minimize",
             "restrained-minimize", "--damage-residues", "1")
    (conf,) = [r for r in d["rows"] if r["task"] == "peptide-conformers"]
    assert conf["n_minima"] >= 1 and conf["n_flipped"] == 0 and np.isfinite(conf["score"])
    rep = {r["variant"]: r for r in d["rows"] if r["case"] == "aggfm energy"}
    assert not rep["minimize"]["smoothed"] and not rep["restrained-minimize"]["smoothed"]
    for r in rep.values():
        assert r["energy"] < r["energy_damaged"] - 100.0 and r["to_cis"] == []
    assert rep["minimize"]["energy_input"] <= rep["minimize"]["energy"] + 1.0  # a minimum
