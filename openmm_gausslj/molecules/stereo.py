"""Stereochemistry of molecules under smoothing: find, measure, compare and restrain.

Smoothing the LJ (and torsions) lowers the barriers that keep a peptide bond trans and a
stereocentre in its hand: 2,000 MD steps at 0.04-0.05 nm (amber14) leave peptide bonds cis
after annealing back to 0 (docs/openmm.md, "Stereochemistry"). This module works on an
OpenMM ``Topology`` and positions (no ASE):

* :func:`find_stereo_sites`: the peptide bonds (omega ``CA-C-N-CA``, caps included) and the
  stereocentres: every ``CA`` with ``N``, ``C``, ``CB`` (Gly has none) and every other atom
  with four bonded neighbours that are pairwise distinct (graph classes by iterated
  neighbour refinement, so Leu ``CG`` or a CH2 is not a centre but Thr/Ile ``CB`` are).
* :func:`stereo_state` / :func:`compare_stereo`: cis bonds and chirality signs, and what
  changed between two structures (a :class:`StereoReport`).
* :func:`check_l_trans`: raise unless every ``CA`` is L and every peptide bond trans.
* :func:`add_stereo_restraints`: flat-bottom ``CustomTorsionForce`` restraints on omega and
  on the centres' impropers that act only while a width parameter is > 0 and are exactly 0
  at width 0 (so the exact System is untouched there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import openmm as mm
import openmm.unit as unit

from ..forces.expressions import WIDTH_PARAMETER

__all__ = ["StereoSites", "StereoReport", "find_stereo_sites", "stereo_state",
           "compare_stereo", "check_l_trans", "add_stereo_restraints", "STEREO_FORCE_NAME",
           "OMEGA_TOLERANCE", "omega_degrees", "chirality_signs"]

#: Name given to the restraint force (so it can be found and removed again).
STEREO_FORCE_NAME = "gausslj_stereo_guard"
#: Half width (radians) of the flat bottom around the start omega: normal fluctuations
#: (|omega - 180| < 30 deg at 600 K) never feel it; cis is 180 deg away.
OMEGA_TOLERANCE = np.deg2rad(50.0)
#: Improper (centre) flat bottom: the restraint acts once the improper's magnitude falls
#: below this on the start's side (tetrahedral ~35 deg, planar 0).
IMPROPER_MIN = np.deg2rad(15.0)
_K_OMEGA = 1000.0  # kJ/mol/rad^2: 245 kJ/mol at 90 deg (cis transition state)
_K_IMPROPER = 2000.0  # kJ/mol/rad^2: 230 kJ/mol at planarity


@dataclass(frozen=True)
class StereoSites:
    """Peptide bonds and stereocentres of a topology (atom indices and labels)."""

    omegas: np.ndarray  # (n, 4): CA(i), C(i), N(i+1), CA(i+1) (caps: CH3 / C)
    omega_labels: list[str]
    centres: np.ndarray  # (m, 4): centre, a, b, c (CA: CA, N, C, CB)
    centre_labels: list[str]
    is_ca: np.ndarray  # (m,) bool


def _nm(positions) -> np.ndarray:
    if unit.is_quantity(positions):
        positions = positions.value_in_unit(unit.nanometer)
    pos = np.asarray([[float(c) for c in p] for p in positions]
                     if not isinstance(positions, np.ndarray) else positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3 or not np.isfinite(pos).all():
        raise ValueError(f"positions must be finite with shape (N, 3), got {pos.shape}")
    return pos


def _graph_classes(topology, neighbours: list[list[int]], rounds: int = 8) -> np.ndarray:
    """Atom classes by element and iterated neighbour refinement (Morgan-like, ``rounds``
    bonds deep: enough to tell the substituents of a residue's centres apart)."""
    atoms = list(topology.atoms())
    labels = [((a.element.symbol if a.element is not None else a.name), len(neighbours[a.index]))
              for a in atoms]
    cls = _relabel(labels)
    for _ in range(rounds):
        new = _relabel([(cls[i], tuple(sorted(cls[j] for j in neighbours[i])))
                        for i in range(len(atoms))])
        if new.max() == cls.max():
            break
        cls = new
    return cls


def _relabel(keys: list) -> np.ndarray:
    index = {k: n for n, k in enumerate(sorted(set(keys)))}
    return np.array([index[k] for k in keys], dtype=np.int64)


def _omega_sites(residues) -> tuple[list, list]:
    quads, labels = [], []
    for r1, r2 in zip(residues[:-1], residues[1:], strict=True):
        a1 = {a.name: a.index for a in r1.atoms()}
        a2 = {a.name: a.index for a in r2.atoms()}
        first = a1.get("CA", a1.get("CH3"))  # ACE's methyl carbon stands in for CA
        last = a2.get("CA", a2.get("CH3", a2.get("C") if r2.name == "NME" else None))
        if None in (first, a1.get("C"), a2.get("N"), last) or r1.chain is not r2.chain:
            continue
        quads.append((first, a1["C"], a2["N"], last))
        labels.append(f"{r1.name}{r1.id}-{r2.name}{r2.id}")
    return quads, labels


def find_stereo_sites(topology) -> StereoSites:
    """Peptide bonds and stereocentres of an ``openmm.app.Topology``.

    Centres come from the topology's bonds: without bonds (atoms, ions) there are none.
    """
    atoms = list(topology.atoms())
    neighbours: list[list[int]] = [[] for _ in atoms]
    for a, b in topology.bonds():
        neighbours[a.index].append(b.index)
        neighbours[b.index].append(a.index)
    quads, omega_labels = _omega_sites(list(topology.residues()))
    centres, labels, is_ca, seen = [], [], [], set()
    for a in atoms:  # N, C, CB by name among CA's bonded atoms (merged caps reuse names)
        bonded = {atoms[j].name: j for j in neighbours[a.index]}
        if a.name == "CA" and all(k in bonded for k in ("N", "C", "CB")):
            centres.append((a.index, bonded["N"], bonded["C"], bonded["CB"]))
            labels.append(f"{a.residue.name}{a.residue.id}:CA")
            is_ca.append(True)
            seen.add(a.index)
    cls = _graph_classes(topology, neighbours)
    for a in atoms:
        nb = neighbours[a.index]
        if a.index in seen or len(nb) != 4 or len({cls[j] for j in nb}) != 4:
            continue
        nb = sorted(nb, key=lambda j: (cls[j], j))[:3]
        centres.append((a.index, *nb))
        labels.append(f"{a.residue.name}{a.residue.id}:{a.name}")
        is_ca.append(False)
    return StereoSites(np.asarray(quads, dtype=np.int64).reshape(-1, 4), omega_labels,
                       np.asarray(centres, dtype=np.int64).reshape(-1, 4), labels,
                       np.asarray(is_ca, dtype=bool))


def _dihedrals(pos: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Dihedral angles (radians, (-pi, pi]) of index quadruples, OpenMM's convention."""
    if len(quads) == 0:
        return np.zeros(0)
    p0, p1, p2, p3 = (pos[quads[:, k]] for k in range(4))
    b0, b1, b2 = p1 - p0, p2 - p1, p3 - p2
    n1, n2 = np.cross(b0, b1), np.cross(b1, b2)
    y = np.linalg.norm(b1, axis=1) * np.sum(b0 * n2, axis=1)
    return np.arctan2(y, np.sum(n1 * n2, axis=1))


def omega_degrees(sites: StereoSites, positions) -> np.ndarray:
    """Omega angles (degrees) of the peptide bonds; trans is near +-180, cis near 0."""
    return np.rad2deg(_dihedrals(_nm(positions), sites.omegas))


def chirality_signs(sites: StereoSites, positions) -> np.ndarray:
    """Sign of the volume ``(a - X) . ((b - X) x (c - X))`` at each centre ``X``.

    For ``CA`` with ``(N, C, CB)``, +1 is L (S by CIP except Cys) and -1 is D.
    """
    pos = _nm(positions)
    if len(sites.centres) == 0:
        return np.zeros(0, dtype=int)
    x, a, b, c = (pos[sites.centres[:, k]] for k in range(4))
    vol = np.sum((a - x) * np.cross(b - x, c - x), axis=1)
    return np.where(vol > 0, 1, -1)


def stereo_state(sites: StereoSites, positions) -> tuple[np.ndarray, np.ndarray]:
    """``(cis, signs)``: cis flags (|omega| < 90 deg) and chirality signs."""
    return np.abs(omega_degrees(sites, positions)) < 90.0, chirality_signs(sites, positions)


@dataclass
class StereoReport:
    """What changed between two structures: new cis/trans bonds and inverted centres."""

    to_cis: list[str] = field(default_factory=list)
    to_trans: list[str] = field(default_factory=list)
    inverted: list[str] = field(default_factory=list)
    n_cis_before: int = 0
    n_cis_after: int = 0
    guarded: bool = False  # restraints were on during the run

    @property
    def changed(self) -> bool:
        """True if any peptide bond flipped or any centre inverted."""
        return bool(self.to_cis or self.to_trans or self.inverted)

    def summary(self) -> str:
        parts = [f"{name}: {', '.join(v)}" for name, v in
                 (("to cis", self.to_cis), ("to trans", self.to_trans),
                  ("inverted", self.inverted)) if v]
        return "; ".join(parts) if parts else "no change"


def compare_stereo(sites: StereoSites, before, after) -> StereoReport:
    """The :class:`StereoReport` from ``before`` to ``after`` positions."""
    cis0, s0 = stereo_state(sites, before)
    cis1, s1 = stereo_state(sites, after)
    lab, clab = sites.omega_labels, sites.centre_labels
    return StereoReport(
        to_cis=[lab[i] for i in np.flatnonzero(~cis0 & cis1)],
        to_trans=[lab[i] for i in np.flatnonzero(cis0 & ~cis1)],
        inverted=[clab[i] for i in np.flatnonzero(s0 != s1)],
        n_cis_before=int(cis0.sum()), n_cis_after=int(cis1.sum()))


def check_l_trans(topology, positions, sites: StereoSites | None = None) -> StereoSites:
    """Raise ``ValueError`` naming every D residue (by ``CA``) and every cis peptide bond."""
    sites = find_stereo_sites(topology) if sites is None else sites
    cis, signs = stereo_state(sites, positions)
    d = [lab for lab, s, ca in zip(sites.centre_labels, signs, sites.is_ca, strict=True)
         if ca and s < 0]
    c = [lab for lab, flag in zip(sites.omega_labels, cis, strict=True) if flag]
    if d or c:
        raise ValueError(f"structure is not an all-L, all-trans peptide: D residues {d}, "
                         f"cis peptide bonds {c}")
    return sites


def _guard_expression(parameters: tuple[str, ...]) -> str:
    on = "+".join(parameters)
    return (f"select({on}, 1, 0)*k*max(0, dev - tol)^2; "
            "dev = select(kind, s*theta0 - s*theta, abs(atan2(sin(theta - theta0), "
            "cos(theta - theta0))))")


def _default_of(system: mm.System, name: str) -> float:
    """The default of a global parameter already in ``system`` (0 if none)."""
    for force in system.getForces():
        get = getattr(force, "getNumGlobalParameters", None)
        if get is None:
            continue
        for k in range(get()):
            if force.getGlobalParameterName(k) == name:
                return float(force.getGlobalParameterDefaultValue(k))
    return 0.0


def add_stereo_restraints(system: mm.System, topology, positions, *,
                          parameters: tuple[str, ...] | None = None,
                          sites: StereoSites | None = None) -> int:
    """Add the stereo guard to ``system``; returns the new force's index.

    Flat-bottom restraints hold every omega within :data:`OMEGA_TOLERANCE` of its value in
    ``positions`` (so trans stays trans, and a cis Pro stays cis) and every centre's
    improper ``(a, b, c, X)`` on its side beyond :data:`IMPROPER_MIN`. The energy is
    multiplied by ``select(sum of parameters, 1, 0)``: it acts while any width parameter
    (default: the LJ width and the torsion width) is > 0 and is exactly 0, with zero
    force, at width 0.
    """
    from ..forces.torsions import TORSION_WIDTH_PARAMETER

    if not isinstance(system, mm.System):
        raise TypeError(f"system must be an openmm.System, got {type(system).__name__}")
    params = (WIDTH_PARAMETER, TORSION_WIDTH_PARAMETER) if parameters is None \
        else tuple(parameters)
    if not params:
        raise ValueError("parameters must name at least one width parameter")
    sites = find_stereo_sites(topology) if sites is None else sites
    pos = _nm(positions)
    if pos.shape[0] != system.getNumParticles():
        raise ValueError(f"positions has {pos.shape[0]} atoms, system {system.getNumParticles()}")
    force = mm.CustomTorsionForce(_guard_expression(params))
    force.setName(STEREO_FORCE_NAME)
    for name in params:
        force.addGlobalParameter(name, _default_of(system, name))
    for name in ("kind", "theta0", "s", "tol", "k"):
        force.addPerTorsionParameter(name)
    for quad, theta0 in zip(sites.omegas, _dihedrals(pos, sites.omegas), strict=True):
        force.addTorsion(*map(int, quad), [0.0, theta0, 1.0, OMEGA_TOLERANCE, _K_OMEGA])
    improper = sites.centres[:, [1, 2, 3, 0]]
    for quad, theta0 in zip(improper, _dihedrals(pos, improper), strict=True):
        # flat bottom on s*theta >= IMPROPER_MIN: dev = s*theta0 - s*theta, tol set so
        # that the restraint starts where s*theta falls below IMPROPER_MIN
        s = 1.0 if theta0 > 0 else -1.0
        tol = max(abs(theta0) - IMPROPER_MIN, 0.0)
        force.addTorsion(*map(int, quad), [1.0, theta0, s, tol, _K_IMPROPER])
    return system.addForce(force)
