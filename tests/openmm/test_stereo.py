"""Peptide builder and stereochemistry checks, against independent computations.

Chirality is checked by a hand-written determinant here and, when RDKit is installed, by
its CIP labels (all L residues are S, Cys R; L-Thr CB R, L-Ile CB S); omega by mdtraj.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openmm.app as app
import openmm.unit as unit
import pytest

from openmm_gausslj.molecules.stereo import (
    check_l_trans,
    compare_stereo,
    find_stereo_sites,
    omega_degrees,
)

pytest.importorskip("pdbfixer")
from openmm_gausslj.molecules import build as conformers_build  # noqa: E402
from openmm_gausslj.molecules.build import build_capped_peptide, write_pdb  # noqa: E402

MOLECULES = Path(__file__).resolve().parents[2] / "results" / "molecules"
# Pro, Gly, aromatic (F, Y, W, H), charged (D, E, K, R), Cys, Thr/Ile (two centres), Val/Leu
SEQUENCES = ["AGGFM", "GYDPETGTWG", "KDEPW", "RSHY", "CITVL"]


def _xyz(positions) -> np.ndarray:
    return np.array(positions.value_in_unit(unit.nanometer))


def _hand_volumes(topology, xyz) -> dict[str, float]:
    """det[N - CA, C - CA, CB - CA] per residue with a CB (> 0 for L by the CORN rule)."""
    out = {}
    for res in topology.residues():
        a = {at.name: at.index for at in res.atoms()}
        if "CB" in a and "CA" in a:
            ca = xyz[a["CA"]]
            out[res.name + res.id] = float(np.linalg.det(
                np.array([xyz[a["N"]] - ca, xyz[a["C"]] - ca, xyz[a["CB"]] - ca])))
    return out


@pytest.fixture(scope="module", params=SEQUENCES)
def built(request, tmp_path_factory):
    top, pos = build_capped_peptide(request.param)
    path = tmp_path_factory.mktemp("pep") / f"{request.param}.pdb"
    write_pdb(top, pos, path)
    return request.param, top, _xyz(pos), path


def test_builder_makes_l_residues(built):
    seq, top, xyz, _ = built
    vol = _hand_volumes(top, xyz)
    assert len(vol) == sum(c != "G" for c in seq)
    assert all(v > 0 for v in vol.values()), vol


def test_builder_makes_trans_bonds_mdtraj(built):
    md = pytest.importorskip("mdtraj")
    seq, top, xyz, path = built
    _, omega = md.compute_omega(md.load(str(path)))
    assert omega.shape[1] == len(seq) - 1  # mdtraj: CA-C-N-CA only, caps left out
    assert np.all(np.abs(np.rad2deg(omega)) > 150), np.rad2deg(omega)
    ours = omega_degrees(find_stereo_sites(top), xyz)
    assert len(ours) == len(seq) + 1 and np.all(np.abs(ours) > 150)
    np.testing.assert_allclose(np.cos(np.deg2rad(ours[1:-1])), np.cos(omega[0]), atol=1e-3)


def test_builder_cip_labels_rdkit(built):
    chem = pytest.importorskip("rdkit.Chem")
    seq, _, _, path = built
    mol = chem.MolFromPDBFile(str(path), removeHs=False)
    chem.AssignStereochemistryFrom3D(mol)
    labels = {}
    for a in mol.GetAtoms():
        info = a.GetPDBResidueInfo()
        if a.HasProp("_CIPCode"):
            labels[info.GetResidueName(), info.GetResidueNumber(), info.GetName().strip()] = \
                a.GetProp("_CIPCode")
    expected = {"THR": "R", "ILE": "S"}
    for (res, _, atom), code in labels.items():
        if atom == "CA":
            assert code == ("R" if res == "CYS" else "S"), (res, atom, code)
        elif atom == "CB":
            assert code == expected[res], (res, atom, code)
    assert sum(atom == "CA" for *_, atom in labels) == sum(c != "G" for c in seq)


@pytest.mark.parametrize("name", ["ace-aggfm-nme.pdb", "ace-gydpetgtwg-nme.pdb"])
def test_shipped_molecules_are_l_trans(name):
    pdb = app.PDBFile(str(MOLECULES / name))
    xyz = _xyz(pdb.positions)
    assert all(v > 0 for v in _hand_volumes(pdb.topology, xyz).values())
    check_l_trans(pdb.topology, xyz)


def test_builder_refuses_a_d_build(monkeypatch):
    """The check runs on every build: CB on the wrong side gives D residues -> error."""
    monkeypatch.setattr(conformers_build, "_L_CB_DIHEDRAL", 122.6)
    with pytest.raises(ValueError, match=r"D residues \['ALA2:CA', 'PHE5:CA'"):
        build_capped_peptide("AGGFM")


def test_helix_build():
    top, pos = build_capped_peptide("AAKAA", conformation="helix")
    xyz = _xyz(pos)
    sites = check_l_trans(top, xyz)
    assert len(sites.omegas) == 6


def test_sites_centres():
    """CA of every non-Gly residue, Thr/Ile CB; not Val CB or Leu CG (two equal methyls)."""
    top, _ = build_capped_peptide("CITVLG")
    sites = find_stereo_sites(top)
    assert sorted(sites.centre_labels) == sorted(
        ["CYS2:CA", "ILE3:CA", "THR4:CA", "VAL5:CA", "LEU6:CA", "ILE3:CB", "THR4:CB"])
    assert sites.is_ca.sum() == 5


def _rotate_after_bond(top, xyz, k: int) -> np.ndarray:
    """Rotate everything after peptide bond ``k`` by 180 deg about its C-N axis."""
    sites = find_stereo_sites(top)
    _, c, n, _ = sites.omegas[k]
    g = {i: set() for i in range(len(xyz))}
    for a, b in top.bonds():
        if {a.index, b.index} != {c, n}:
            g[a.index].add(b.index)
            g[b.index].add(a.index)
    side, todo = {n}, [n]
    while todo:
        for j in g[todo.pop()] - side:
            side.add(j)
            todo.append(j)
    axis = (xyz[n] - xyz[c]) / np.linalg.norm(xyz[n] - xyz[c])
    out = xyz.copy()
    idx = np.array(sorted(side))
    v = out[idx] - xyz[n]
    out[idx] = xyz[n] + 2 * np.outer(v @ axis, axis) - v  # Rodrigues at 180 deg
    return out


def test_compare_detects_constructed_flips():
    pdb = app.PDBFile(str(MOLECULES / "ace-aggfm-nme.pdb"))
    top, xyz = pdb.topology, _xyz(pdb.positions)
    sites = find_stereo_sites(top)
    cis = _rotate_after_bond(top, xyz, 3)
    rep = compare_stereo(sites, xyz, cis)
    assert rep.to_cis == [sites.omega_labels[3]] and not rep.inverted and rep.changed
    assert abs(omega_degrees(sites, cis)[3]) < 10
    mirror = xyz * np.array([-1.0, 1.0, 1.0])
    rep = compare_stereo(sites, xyz, mirror)
    assert rep.inverted == sites.centre_labels and not rep.to_cis
    assert not compare_stereo(sites, xyz, xyz + 0.3).changed
    with pytest.raises(ValueError, match="D residues"):
        check_l_trans(top, mirror)


def test_ca_neighbours_are_bonded_atoms_in_a_merged_residue():
    """CHARMM's ALAD holds ACE, ALA and NME in one residue (two N, two C): the CA centre
    must use the N, C and CB bonded to it (was the NME's N and C: NaN in hrex)."""
    from ff_systems import alad_topology

    top = alad_topology()[0]
    sites = find_stereo_sites(top)
    assert sites.centres.tolist() == [[8, 6, 14, 10]]  # CA; N, C, CB of the ALA
