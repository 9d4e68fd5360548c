"""Capped peptides from sequence, offline, for conformer-search benchmarks and examples.

pdbfixer builds missing residues from SEQRES when at least two residues are present (one
seed residue fails inside pdbfixer): the seed is the ACE-ALA heavy atoms of the shipped
alanine dipeptide, so a sequence must start with ALA (e.g. ``"AGGFM"`` gives Ace-AGGFM-NME,
73 atoms). Needs ``pdbfixer`` (installed with openmmtools' conda stack).
"""

from __future__ import annotations

import io

import openmm.app as app

from .data import alanine_dipeptide_pdb

__all__ = ["build_capped_peptide", "ONE_TO_THREE"]

ONE_TO_THREE = {
    "A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "Q": "GLN", "E": "GLU",
    "G": "GLY", "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE",
    "P": "PRO", "S": "SER", "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL",
}


def _seqres(residues: list[str]) -> str:
    lines, n = [], len(residues)
    for k in range(0, n, 13):
        chunk = " ".join(f"{r:>3}" for r in residues[k:k + 13])
        lines.append(f"SEQRES {k // 13 + 1:>3} A {n:>4}  {chunk}")
    return "\n".join(lines) + "\n"


def build_capped_peptide(sequence: str, *, seed: int = 0):
    """Ace-``sequence``-NME with hydrogens (pH 7), extended as pdbfixer builds it.

    Parameters
    ----------
    sequence : str
        One-letter codes; the first must be ``A`` (the ALA of the seed residues).
    seed : int
        Passed to pdbfixer's ``addMissingAtoms``. The built structure still differs
        between calls (measured: pdbfixer's relaxation of the new atoms is not repeatable),
        so a benchmark should build once and save the PDB (``write_pdb``).

    Returns
    -------
    (openmm.app.Topology, list of Vec3 positions in nm)
    """
    if not isinstance(sequence, str) or len(sequence) < 1:
        raise ValueError(f"sequence must be a non-empty one-letter string, got {sequence!r}")
    seq = sequence.upper()
    unknown = sorted(set(seq) - set(ONE_TO_THREE))
    if unknown:
        raise ValueError(f"sequence has unknown residue codes {unknown}")
    if seq[0] != "A":
        raise ValueError(f"sequence must start with A (the seed residue), got {sequence!r}")
    from pdbfixer import PDBFixer

    residues = ["ACE"] + [ONE_TO_THREE[c] for c in seq] + ["NME"]
    heavy = []
    with open(alanine_dipeptide_pdb()) as fh:
        for line in fh:
            if line.startswith("ATOM") and line[17:20] in ("ACE", "ALA") \
                    and line[76:78].strip() != "H" and not line[12:16].strip().startswith("H"):
                heavy.append(line[:21] + "A" + line[22:])
    text = _seqres(residues) + "".join(heavy) + "TER\nEND\n"
    fixer = PDBFixer(pdbfile=io.StringIO(text))
    fixer.findMissingResidues()
    fixer.findMissingAtoms()
    fixer.addMissingAtoms(seed=int(seed))
    fixer.addMissingHydrogens(7.0)
    if [r.name for r in fixer.topology.residues()] != residues:
        raise ValueError(f"pdbfixer built {[r.name for r in fixer.topology.residues()]}, "
                         f"expected {residues}")
    return fixer.topology, fixer.positions


def write_pdb(topology, positions, path) -> None:
    """Write a PDB file (OpenMM's writer)."""
    with open(path, "w") as fh:
        app.PDBFile.writeFile(topology, positions, fh)
