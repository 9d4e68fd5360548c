"""Small molecular structures shipped with the package (for examples and tests)."""

from importlib.resources import files

__all__ = ["alanine_dipeptide_pdb"]


def alanine_dipeptide_pdb() -> str:
    """Path of a capped alanine dipeptide (ACE-ALA-NME, extended) PDB file."""
    return str(files(__package__) / "alanine_dipeptide.pdb")
