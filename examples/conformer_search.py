"""Lowest conformers of a molecule from a PDB, with torsion smoothing (a few CPU seconds).

    python examples/conformer_search.py [molecule.pdb]

The shipped alanine dipeptide is used when no PDB is given. With the topology, the
search restrains peptide bonds and stereocentres while smoothed (``stereo_guard=True``)
and reports, per conformer, the bonds now cis and the centres inverted. The same from the shell:
``gausslj conformers molecule.pdb --method smoothed --budget 20000 --output out.json``.
"""

import sys

import openmm.app as app

from openmm_gausslj.data import alanine_dipeptide_pdb
from openmm_gausslj.molecules.conformers import search_conformers

pdb = app.PDBFile(sys.argv[1] if len(sys.argv) > 1 else alanine_dipeptide_pdb())
system = app.ForceField("amber14-all.xml").createSystem(pdb.topology, constraints=app.HBonds)
result = search_conformers(system, pdb.positions, method="smoothed", budget=20_000,
                           topology=pdb.topology, timestep=0.002)
for c in result.conformers[:5]:
    flips = f"  cis: {c.to_cis}  inverted: {c.inverted}" if c.to_cis or c.inverted else ""
    print(f"{c.energy:9.2f} kJ/mol  (first found after {c.found_step} force evaluations){flips}")
print(f"{result.n_stereo_changed} of {len(result.conformers)} conformers changed "
      f"stereochemistry (guard on: {result.stereo_guard})")
