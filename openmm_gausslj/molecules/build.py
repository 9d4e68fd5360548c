"""Capped L-peptides from sequence, offline, for conformer-search benchmarks and examples.

The backbone is built from ideal internal coordinates (Engh & Huber bond lengths and
angles, omega 180 deg, phi/psi of an extended strand or an alpha helix; Pro at phi -65 deg),
with ``CB`` placed on the L side of every non-Gly ``CA``; pdbfixer then adds the side chains
on those atoms and the hydrogens (pH 7), and the result is checked: every ``CA`` L and every
peptide bond trans (:func:`openmm_gausslj.molecules.stereo.check_l_trans`), or ``ValueError``.

Before 2026-12: the structure came from pdbfixer's SEQRES route (missing residues built
from two seed residues), which gave D-Phe/D-Met in Ace-AGGFM-NME and D-residues and a cis
bond in chignolin (docs/molecules.md). Needs ``pdbfixer``.
"""

from __future__ import annotations

import io

import numpy as np
import openmm.app as app

from .stereo import check_l_trans

__all__ = ["build_capped_peptide", "ONE_TO_THREE", "CONFORMATIONS", "write_pdb"]

ONE_TO_THREE = {
    "A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "Q": "GLN", "E": "GLU",
    "G": "GLY", "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE",
    "P": "PRO", "S": "SER", "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL",
}
#: (phi, psi) in degrees of the built backbone.
CONFORMATIONS = {"extended": (-120.0, 130.0), "helix": (-57.0, -47.0)}
_PRO_PHI = -65.0
# Engh & Huber (1991) geometry, Angstrom and degrees
_N_CA, _CA_C, _C_N, _C_O, _CA_CB = 1.458, 1.525, 1.329, 1.231, 1.530
_A_N_CA_C, _A_CA_C_N, _A_C_N_CA, _A_CA_C_O, _A_N_CA_CB = 111.2, 116.2, 121.7, 120.1, 110.5
# C(i)-N-CA-CB dihedral of an L residue (CB on the side that makes CA S by CIP)
_L_CB_DIHEDRAL = -122.6


def _place(a, b, c, bond: float, angle: float, torsion: float) -> np.ndarray:
    """Atom d with |cd| = bond, angle bcd and dihedral abcd (degrees), NeRF."""
    ang, tor = np.deg2rad(angle), np.deg2rad(torsion)
    bc = (c - b) / np.linalg.norm(c - b)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d2 = np.array([-bond * np.cos(ang), bond * np.sin(ang) * np.cos(tor),
                   bond * np.sin(ang) * np.sin(tor)])
    return c + d2[0] * bc + d2[1] * m + d2[2] * n


def _backbone(residues: list[str], phi: float, psi: float) -> list[list[tuple[str, np.ndarray]]]:
    """Heavy backbone atoms (and CB) per residue, ACE and NME caps included."""
    ch3 = np.array([0.0, 0.0, 0.0])
    c0 = np.array([1.52, 0.0, 0.0])
    o0 = _place(np.array([0.0, 1.0, 0.0]), ch3, c0, _C_O, _A_CA_C_O, 0.0)
    n = _place(o0, ch3, c0, _C_N, _A_CA_C_N, 180.0)
    out = [[("CH3", ch3), ("C", c0), ("O", o0)]]
    prev_ca, prev_c = ch3, c0  # ACE's CH3 and C stand in for CA and C
    for name in residues[1:-1]:
        ph = _PRO_PHI if name == "PRO" else phi
        ca = _place(prev_ca, prev_c, n, _N_CA, _A_C_N_CA, 180.0)  # omega = 180
        c = _place(prev_c, n, ca, _CA_C, _A_N_CA_C, ph)
        atoms = [("N", n), ("CA", ca), ("C", c)]
        if name != "GLY":
            atoms.append(("CB", _place(c, n, ca, _CA_CB, _A_N_CA_CB, _L_CB_DIHEDRAL)))
        n_next = _place(n, ca, c, _C_N, _A_CA_C_N, psi)
        atoms.append(("O", _place(n, ca, c, _C_O, _A_CA_C_O, psi + 180.0)))
        out.append(atoms)
        prev_ca, prev_c, n = ca, c, n_next
    out.append([("N", n), ("C", _place(prev_ca, prev_c, n, _N_CA, _A_C_N_CA, 180.0))])
    return out


def _pdb_text(residues: list[str], coords) -> str:
    lines, serial = [], 1
    for k, (name, atoms) in enumerate(zip(residues, coords, strict=True), start=1):
        for atom, xyz in atoms:
            lines.append(f"ATOM  {serial:5d} {atom:<4s} {name:3s} A{k:4d}    "
                         f"{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}  1.00  0.00"
                         f"          {atom[0]:>2s}")
            serial += 1
    return "\n".join(lines) + "\nTER\nEND\n"


def build_capped_peptide(sequence: str, *, seed: int = 0, conformation: str = "extended"):
    """Ace-``sequence``-NME, all L and all trans, with hydrogens (pH 7).

    Parameters
    ----------
    sequence : str
        One-letter codes of the 20 standard amino acids.
    seed : int
        Passed to pdbfixer's ``addMissingAtoms`` (side-chain placement); the backbone is
        the same for every seed.
    conformation : {"extended", "helix"}
        phi/psi of the built backbone (:data:`CONFORMATIONS`; Pro keeps phi -65 deg).

    Returns
    -------
    (openmm.app.Topology, list of Vec3 positions in nm)

    Raises
    ------
    ValueError
        Bad arguments, or a built structure with a D residue or a cis peptide bond (the
        check runs on every build).
    """
    if not isinstance(sequence, str) or len(sequence) < 1:
        raise ValueError(f"sequence must be a non-empty one-letter string, got {sequence!r}")
    seq = sequence.upper()
    unknown = sorted(set(seq) - set(ONE_TO_THREE))
    if unknown:
        raise ValueError(f"sequence has unknown residue codes {unknown}")
    if conformation not in CONFORMATIONS:
        raise ValueError(f"conformation must be one of {sorted(CONFORMATIONS)}, "
                         f"got {conformation!r}")
    from pdbfixer import PDBFixer

    residues = ["ACE"] + [ONE_TO_THREE[c] for c in seq] + ["NME"]
    text = _pdb_text(residues, _backbone(residues, *CONFORMATIONS[conformation]))
    fixer = PDBFixer(pdbfile=io.StringIO(text))
    fixer.missingResidues = {}
    fixer.findMissingAtoms()
    fixer.addMissingAtoms(seed=int(seed))
    fixer.addMissingHydrogens(7.0)
    if [r.name for r in fixer.topology.residues()] != residues:
        raise ValueError(f"pdbfixer built {[r.name for r in fixer.topology.residues()]}, "
                         f"expected {residues}")
    check_l_trans(fixer.topology, fixer.positions)
    return fixer.topology, fixer.positions


def write_pdb(topology, positions, path) -> None:
    """Write a PDB file (OpenMM's writer)."""
    with open(path, "w") as fh:
        app.PDBFile.writeFile(topology, positions, fh)
