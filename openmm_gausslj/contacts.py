"""Pairs inside the regularized core: where width 0 is not the original force field.

At width 0 the smoothed LJ is the *regularized* LJ, affine below ``r_core * sigma_ij``; a
structure with a smoothed LJ pair closer than that would see a different energy. The
factory's ``positions=`` argument uses :func:`core_contacts` to refuse such a structure,
naming the pair, instead of silently changing its energy.
"""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.unit as unit
from scipy.spatial import cKDTree

from .forces.lj_forms import BondLJ, PairLJ
from .inputs import to_nm

__all__ = ["core_contacts", "check_core_contacts", "pairs_within", "box_nm", "minimum_image"]


def box_nm(system: mm.System, periodic: bool) -> np.ndarray | None:
    """The System's default (3, 3) box in nm when ``periodic``, else None."""
    if not periodic:
        return None
    return np.array([v.value_in_unit(unit.nanometer)
                     for v in system.getDefaultPeriodicBoxVectors()])


def minimum_image(d: np.ndarray, box: np.ndarray | None) -> np.ndarray:
    """Displacements ``d`` (M, 3) reduced, in place, to the minimum image of OpenMM's
    reduced (lower-triangular) ``box``; unchanged when ``box`` is None. Returns ``d``."""
    if box is not None:
        for axis in (2, 1, 0):
            d -= np.outer(np.round(d[:, axis] / box[axis, axis]), box[axis])
    return d


def _displacements(pos: np.ndarray, i, j, box: np.ndarray | None) -> np.ndarray:
    return minimum_image(pos[i] - pos[j], box)


def pairs_within(pos: np.ndarray, reach: float, box: np.ndarray | None) -> np.ndarray:
    """Index pairs ``(i < j)`` closer than ``reach`` (nm), minimum image in ``box``.

    ``box`` is OpenMM's reduced (3, 3) box in nm, or None without periodicity; rectangular
    boxes use a periodic ``cKDTree``, triclinic ones a chunked minimum-image scan.
    """
    if box is None:
        return cKDTree(pos).query_pairs(reach, output_type="ndarray")
    if np.allclose(box, np.diag(np.diag(box))):
        lengths = np.diag(box)
        wrapped = np.mod(pos, lengths)
        wrapped[wrapped >= lengths] = 0.0  # mod can round up to the length itself
        return cKDTree(wrapped, boxsize=lengths).query_pairs(
            reach, output_type="ndarray")
    # triclinic: every pair, in chunks (a check, not a hot path)
    n = len(pos)
    out = []
    for a in range(0, n, 512):
        i, j = np.meshgrid(np.arange(a, min(a + 512, n)), np.arange(n), indexing="ij")
        keep = j > i
        i, j = i[keep], j[keep]
        close = np.linalg.norm(_displacements(pos, i, j, box), axis=1) < reach
        out.append(np.stack([i[close], j[close]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2), int)


def _in_groups(i, j, groups) -> np.ndarray:
    if not groups:
        return np.ones(len(i), bool)
    ok = np.zeros(len(i), bool)
    for a, b in groups:
        ok |= (np.isin(i, a) & np.isin(j, b)) | (np.isin(i, b) & np.isin(j, a))
    return ok


def core_contacts(system: mm.System, pairs: list[tuple[PairLJ, list]], bonds: list[BondLJ],
                  positions, r_core: float) -> list[tuple[float, int, int, float]]:
    """``(r / sigma_ij, i, j, r)`` of smoothed LJ pairs closer than ``r_core * sigma_ij``."""
    pos = np.asarray(to_nm(positions, "positions"), dtype=np.float64).reshape(-1, 3)
    if len(pos) != system.getNumParticles():
        raise ValueError(f"positions must have {system.getNumParticles()} rows, got {len(pos)}")
    found = []
    for pair, groups in pairs:
        box = box_nm(system, pair.method == mm.CustomNonbondedForce.CutoffPeriodic)
        reach = r_core * (float(np.max(pair.sigma)) if pair.types is not None
                          else float(np.max(pair.sigma[pair.epsilon > 0], initial=0.0)))
        if reach <= 0:
            continue
        ij = pairs_within(pos, reach, box)
        if not len(ij):
            continue
        i, j = ij[:, 0], ij[:, 1]
        sig, eps = pair.pair_parameters(i, j)
        x = np.linalg.norm(_displacements(pos, i, j, box), axis=1) / sig
        excluded = {(min(a, b), max(a, b)) for a, b in pair.exclusions}
        bad = (eps > 0) & (x < r_core) & _in_groups(i, j, groups)
        for m in np.flatnonzero(bad):
            a, b = int(min(i[m], j[m])), int(max(i[m], j[m]))
            if (a, b) not in excluded:
                found.append((float(x[m]), a, b, float(x[m] * sig[m])))
    for b in bonds:
        if not b.pairs:
            continue
        idx = np.asarray(b.pairs)
        box = box_nm(system, b.periodic)
        r = np.linalg.norm(_displacements(pos, idx[:, 0], idx[:, 1], box), axis=1)
        for m in np.flatnonzero((b.epsilon > 0) & (r < r_core * b.sigma)):
            found.append((float(r[m] / b.sigma[m]), int(idx[m, 0]), int(idx[m, 1]),
                          float(r[m])))
    return sorted(found)


def check_core_contacts(system, pairs, bonds, positions, r_core: float) -> None:
    """``ValueError`` naming the closest smoothed LJ pair inside the core, if any."""
    found = core_contacts(system, pairs, bonds, positions, r_core)
    if found:
        x, i, j, r = found[0]
        raise ValueError(
            f"positions: atoms {i} and {j} are {r:.4f} nm apart, {x:.3f} sigma_ij, inside "
            f"the regularized core (r_core = {r_core} sigma_ij; {len(found)} such pair(s)): "
            "at width 0 the smoothed System would differ from the original there. Pass a "
            f"smaller r_core (< {x:.3f}), relax the structure, or leave these atoms out of "
            "`atoms`"
        )
