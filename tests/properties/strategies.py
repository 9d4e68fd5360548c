"""Hypothesis strategies shared by the property tests: widths, distances, systems."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import strategies as st

from ase_gausslj.core.defaults import R_CORE, WIDTH_MAX

SUBNORMAL = 5e-324

#: GAUSSLJ_HYPOTHESIS_SCALE=20 runs 20x the default examples (the default suite stays
#: within ~60 s on two shared cores)
_SCALE = float(os.environ.get("GAUSSLJ_HYPOTHESIS_SCALE", "1"))


def examples(n: int) -> int:
    """``n`` examples, scaled by ``GAUSSLJ_HYPOTHESIS_SCALE``."""
    return max(1, int(n * _SCALE))

#: widths in reduced units: 0, subnormal, below the quadrature's reach, ordinary, up to
#: and a little beyond the table's WIDTH_MAX
widths = st.one_of(
    st.just(0.0),
    st.just(SUBNORMAL),
    st.floats(1e-300, 1e-7),
    st.floats(1e-7, 1e-2),
    st.floats(1e-2, WIDTH_MAX),
    st.just(WIDTH_MAX),
)

#: pair distances (reduced): coincident, subnormal, inside the core, at its edge, the minimum, far
distances = st.one_of(
    st.just(0.0),
    st.just(SUBNORMAL),
    st.floats(0.0, R_CORE),
    st.sampled_from([R_CORE, R_CORE * (1 - 1e-12), R_CORE * (1 + 1e-12), 2 ** (1 / 6)]),
    st.floats(R_CORE, 4.0),
    st.floats(4.0, 50.0),
)


@st.composite
def positions(draw, max_atoms: int = 6, spread: float = 4.0):
    """(N, 3) float64 positions: random, with coincident atoms, flat, or far apart."""
    n = draw(st.integers(0, max_atoms))
    kind = draw(st.sampled_from(["random", "coincident", "line", "plane", "far"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 1e3 if kind == "far" else spread
    pos = rng.uniform(0.0, scale, (n, 3))
    if kind == "coincident" and n >= 2:
        pos[1] = pos[0]
    elif kind == "line":
        pos[:, 1:] = pos[:1, 1:] if n else 0.0
    elif kind == "plane":
        pos[:, 2] = 0.0 if draw(st.booleans()) else pos[:1, 2] if n else 0.0
    return pos


@st.composite
def cells(draw):
    """A (3, 3) cell and pbc: none, orthorhombic or triclinic, any mix of periodic axes."""
    pbc = np.array(draw(st.lists(st.booleans(), min_size=3, max_size=3)))
    kind = draw(st.sampled_from(["none", "ortho", "triclinic"]))
    if kind == "none":
        return None, np.zeros(3, bool)
    lengths = draw(st.lists(st.floats(1.0, 8.0), min_size=3, max_size=3))
    cell = np.diag(lengths)
    if kind == "triclinic":
        cell[1, 0] = draw(st.floats(-0.4, 0.4)) * lengths[0]
        cell[2, 0] = draw(st.floats(-0.4, 0.4)) * lengths[0]
        cell[2, 1] = draw(st.floats(-0.4, 0.4)) * lengths[1]
    return cell, pbc


@st.composite
def species(draw, n: int):
    """Per-atom (eps, sig) from one or two species, sigma in [0.8, 1.5]."""
    k = draw(st.integers(1, 2))
    eps = np.array(draw(st.lists(st.floats(0.5, 2.0), min_size=k, max_size=k)))
    sig = np.array(draw(st.lists(st.floats(0.8, 1.5), min_size=k, max_size=k)))
    which = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), int)
    return eps[which], sig[which]
