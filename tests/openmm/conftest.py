"""Session fixtures: small relaxed water boxes (built once, CPU-cheap)."""

from __future__ import annotations

import pytest
from ff_systems import water_box


@pytest.fixture(scope="session")
def tip3p_box():
    return water_box("tip3p", box=1.3, cutoff=0.6)


@pytest.fixture(scope="session")
def tip4pew_box():
    return water_box("tip4pew", box=1.3, cutoff=0.6)
