"""Shared fixtures: small relaxed water boxes (built once, CPU-cheap), amber alanine dipeptide."""

from __future__ import annotations

import openmm.app as app
import pytest
from ff_systems import water_box

from openmm_gausslj.data import alanine_dipeptide_pdb


@pytest.fixture(scope="session")
def tip3p_box():
    return water_box("tip3p", box=1.3, cutoff=0.6)


@pytest.fixture(scope="session")
def tip4pew_box():
    return water_box("tip4pew", box=1.3, cutoff=0.6)


@pytest.fixture(scope="module")
def ala2():
    """Alanine dipeptide, amber14 in vacuum, HBonds: ``(system, topology, positions)``."""
    pdb = app.PDBFile(alanine_dipeptide_pdb())
    ff = app.ForceField("amber14-all.xml")
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    return system, pdb.topology, pdb.positions
