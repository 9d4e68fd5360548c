"""The smoothed pair force computed by gausslj's compiled pair loops (``engine='compiled'``).

OpenMM's CPU platform evaluates a ``CustomNonbondedForce`` expression lane by lane, and
every tabulated function or ``erfc`` in it costs about as much as the original System's
whole step (``docs/speed.md``), so the smoothed System of a solvated peptide ran at ~4x
the original step. This module computes the same energy with the Verlet-list loops of
:mod:`ase_gausslj.core` (the ASE calculator's, within 1x of ASAP) inside OpenMM's
``PythonForce``: OpenMM hands it the positions (and box) once per step and adds the
energy and forces it returns. Per pair it is

    eps_ij F(r / sig_ij, w / sig_ij) S(r)  -  ONE_4PI_EPS0 q_i q_j erfc(r / 2w) / r

(Lorentz-Berthelot, OpenMM's switching function ``S`` if the force had one; the second
term, the smoothed-Coulomb correction of :mod:`.coulomb`, only with charges), exactly the
function of the ``"GaussLJ"`` ``CustomNonbondedForce`` it replaces, with the same cutoff,
exclusions and long-range correction (OpenMM's formula, integrated here by Gauss-Legendre
quadrature per width). ``F`` comes from the core's table (``4e-9`` relative, better than the
2-D spline of the custom force); width 0 is the analytic regularized LJ.

How it differs from the custom force:

* it runs on the CPU in the Python process: on a GPU platform OpenMM copies positions and
  forces every step, so GPU runs should keep ``engine='custom'``;
* the System's XML holds the pickled computation (needs gausslj importable to load it);
* a width beyond the table or the Coulomb limit raises ``ValueError`` in the step (the
  custom force divides by zero instead);
* the excluded pairs are computed and subtracted (both are finite: the regularized core);
  the Coulomb correction skips them in the loop (it is singular at ``r = 0``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import openmm as mm

from ase_gausslj.core.pair_terms import Cutoff
from ase_gausslj.core.verlet import VerletList

from ..contacts import box_nm, minimum_image
from .compiled_bonds import CompiledBondComputation
from .compiled_loops import (
    correction_rows,
    driver,
    exclusion_rows,
    pair_energies,
    pair_sum,
    step_width,
    triclinic,
    unwrapped,
)
from .expressions import (
    ONE_4PI_EPS0,
    coulomb_max_parameter,
    global_defaults,
    width_max_parameter,
)

__all__ = ["CompiledPairComputation", "compiled_pair_force", "compiled_unsupported",
           "COMPILED_NAME"]

COMPILED_NAME = "GaussLJ"
"""Name of the pair ``PythonForce`` (the same as the custom force it stands for)."""
COMPILED_NAMES = (COMPILED_NAME, "GaussLJExceptions")

# nm; measured on the solvated alanine dipeptide (0.1-0.3): the lists are rebuilt every ~5
# (0.15) MD steps of 2 fs, as fast hydrogens move; a larger skin costs more in the loops
_SKIN = 0.15
_ERFC_REACH = 10.0  # erfc(r / 2w) is below 1.5e-12 beyond r = 10 w
_GL = np.polynomial.legendre.leggauss(48)
_CNB = mm.CustomNonbondedForce


@dataclass
class CompiledPairComputation:
    """The computation of a compiled ``"GaussLJ"`` ``PythonForce`` (picklable).

    Attributes
    ----------
    sigma, epsilon : ndarray (N,)
        Per-particle LJ parameters (nm, kJ/mol), Lorentz-Berthelot.
    charges : ndarray (N,) or None
        Charges (e) of the smoothed-Coulomb correction; None: LJ alone.
    exclusions : ndarray (M, 2)
        Excluded pairs (the force field's exceptions, smoothed by bond forces).
    method : int
        ``CustomNonbondedForce`` method (NoCutoff, CutoffNonPeriodic, CutoffPeriodic).
    cutoff, switch : float, float or None
        LJ cutoff and switching distance (nm; the cutoff is unused with NoCutoff).
    long_range : bool
        OpenMM's long-range correction of the LJ (CutoffPeriodic).
    coulomb_cutoff : float or None
        Cutoff of the correction (nm; None: none, NoCutoff).
    r_core, width_max : float
        Core radius and table range (reduced) of the smoothed LJ.
    width_limit, coulomb_limit : float
        Largest widths (nm) of the LJ table and of the correction.
    width_parameter : str
        The global parameter holding the width (nm).
    lj : bool
        Whether this force carries the LJ (False: the correction alone).
    """

    sigma: np.ndarray
    epsilon: np.ndarray
    charges: np.ndarray | None
    exclusions: np.ndarray
    method: int
    cutoff: float
    switch: float | None
    long_range: bool
    coulomb_cutoff: float | None
    r_core: float
    width_max: float
    width_parameter: str
    width_limit: float = math.inf  # both set at install, when the System's limits are known
    coulomb_limit: float = math.inf
    lj: bool = True
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    name = COMPILED_NAME

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = {}  # drivers, lists and tables are rebuilt on first use
        return state

    def pair_lj(self, index: int, group: int):
        """This force's LJ as a :class:`~openmm_gausslj.forces.lj_forms.PairLJ` (for the
        width-0 exactness checks, which read the System's smoothed forces)."""
        from .lj_forms import PairLJ

        return PairLJ(index, self.sigma, self.epsilon if self.lj else 0.0 * self.epsilon,
                      None, [tuple(map(int, p)) for p in self.exclusions], self.method,
                      self.cutoff, self.switch, self.long_range, group)

    # -- set-up, once per process ---------------------------------------------------------
    @property
    def periodic(self) -> bool:
        return self.method == _CNB.CutoffPeriodic

    def _setup(self) -> dict:
        c = self._cache
        if c:
            return c
        n = self.sigma.size
        lj_idx = np.flatnonzero(self.epsilon > 0) if self.lj else np.zeros(0, dtype=np.int64)
        c["lj_idx"] = lj_idx
        exc = np.asarray(self.exclusions, dtype=np.int64).reshape(-1, 2)
        if lj_idx.size:
            c["driver"] = driver(self.epsilon[lj_idx], self.sigma[lj_idx], self.r_core,
                                 self.width_max)
            where = np.full(n, -1, dtype=np.int64)
            where[lj_idx] = np.arange(lj_idx.size)
            both = exc[(where[exc[:, 0]] >= 0) & (where[exc[:, 1]] >= 0)]
            c["lj_exc"] = (np.ascontiguousarray(where[both[:, 0]]),
                           np.ascontiguousarray(where[both[:, 1]]))
        if self.charges is not None:
            c["xs"], c["xj"] = exclusion_rows(exc, n)
            c["verlet"] = VerletList(_SKIN)
        c["cut"] = Cutoff(self.cutoff ** 2 if self.method != _CNB.NoCutoff else np.inf,
                          0 if self.switch is None else 3,
                          0.0 if self.switch is None else self.switch ** 2)
        return c

    # -- the step ---------------------------------------------------------------------------
    def __call__(self, state: mm.State):
        pos = np.ascontiguousarray(state.getPositions(asNumpy=True)._value, dtype=np.float64)
        w = step_width(state, self.width_parameter,
                       min(self.width_limit, self.coulomb_limit if self.charges is not None
                           else math.inf), "nm: the table's range or cutoff / 8")
        box = (np.ascontiguousarray(state.getPeriodicBoxVectors(asNumpy=True)._value)
               if self.periodic else np.zeros((3, 3)))
        if self.periodic and triclinic(box):
            raise ValueError("GaussLJ (engine='compiled'): the box became triclinic; "
                             "smooth the System with engine='custom'")
        c = self._setup()
        if self.periodic:
            pos = unwrapped(pos, box, c)
        forces = np.zeros(pos.shape)
        energy = 0.0
        if c["lj_idx"].size:
            energy += self._lj_part(pos, w, box, c, forces)
        if self.charges is not None and w > 0.0:
            energy += self._correction(pos, w, box, c, forces)
        if not (math.isfinite(energy) and np.isfinite(forces).all()):
            raise FloatingPointError(
                "GaussLJ: non-finite energy or forces (coincident particles that are not "
                "excluded, or NaN positions)")
        return energy, forces


    def _lj_part(self, pos, w, box, c, forces) -> float:
        idx = c["lj_idx"]
        sub = np.ascontiguousarray(pos[idx])
        drv = c["driver"]
        rc = None if self.method == _CNB.NoCutoff else self.cutoff
        res = drv._compute_unchecked(
            sub, w, cutoff=rc, cell=box if self.periodic else None, pbc=self.periodic,
            cutoff_mode="none" if self.switch is None else "switch",
            taper_start=self.switch, skin=_SKIN)
        f = res.forces
        e = res.energy
        ia, ib = c["lj_exc"]
        if ia.size:  # the excluded pairs, computed and taken out (finite: the core)
            d = minimum_image(sub[ib] - sub[ia], box if self.periodic else None)
            r2 = np.einsum("ij,ij->i", d, d)
            t = drv.types
            fx = np.zeros(sub.shape)
            e -= pair_sum(d, r2, ia, ib, t[ia] * drv.nspec + t[ib], c["cut"],
                           drv._kernel_args_unchecked(w), fx)
            f = f - fx
        forces[idx] += f
        if self.long_range:
            e += self._long_range(w, box, c) / abs(np.linalg.det(box))
        return e

    def _correction(self, pos, w, box, c, forces) -> float:
        reach = _ERFC_REACH * w
        if self.coulomb_cutoff is not None:
            reach = min(reach, self.coulomb_cutoff)
        # the list's cutoff moves in quarter octaves: an annealed width rebuilds it ~4
        # times per halving, not at every step
        listed = 2.0 ** (math.ceil(4.0 * math.log2(reach)) / 4.0)
        if self.coulomb_cutoff is not None:
            listed = min(listed, self.coulomb_cutoff)
        periodic = np.full(3, self.periodic)
        nl = c["verlet"].update(pos, listed, box if self.periodic else np.zeros((3, 3)),
                                periodic, np.zeros(pos.shape[0], dtype=np.int64))
        return correction_rows(pos, nl.ghost_src, nl.ghost_shift, nl.start, nl.nbr,
                                self.charges, c["xs"], c["xj"], reach * reach, 2.0 * w,
                                ONE_4PI_EPS0, forces)

    def _long_range(self, w: float, box, c) -> float:
        """OpenMM's coefficient ``2 pi N^2 sum_ab n_ab I_ab / (N (N + 1) / 2)`` (energy
        times volume), ``I_ab`` the integral of ``r^2 U_ab`` beyond the cutoff plus
        ``(1 - S) r^2 U_ab`` over the switching interval; cached for the last width."""
        key = ("lrc", w)
        if key in c:
            return c[key]
        classes = c.get("classes")
        if classes is None:
            classes = c["classes"] = self._lrc_classes(c)
        ta, tb, count, n = classes
        if ta.size == 0:
            return 0.0
        x, wts = 0.5 * (_GL[0] + 1.0), 0.5 * _GL[1]
        rc = self.cutoff
        r_far = rc / x  # x = rc / r maps [rc, inf) onto (0, 1]
        r_sw = np.zeros(0) if self.switch is None else self.switch + x * (rc - self.switch)
        r = np.concatenate([r_far, r_sw])
        tt = np.repeat(ta * c["driver"].nspec + tb, r.size)
        e = pair_energies(np.tile(r * r, ta.size), tt, c["driver"]._kernel_args_unchecked(w))
        e = e.reshape(ta.size, r.size)
        integral = (e[:, :x.size] * (rc ** 3 * wts / x ** 4)).sum(axis=1)
        if self.switch is not None:
            y = x  # the switching variable on [switch, cutoff]
            one_minus_s = y ** 3 * (10.0 + y * (-15.0 + 6.0 * y))
            integral += (e[:, x.size:] * (one_minus_s * r_sw ** 2 * wts
                                          * (rc - self.switch))).sum(axis=1)
        total = 2.0 * math.pi * n * n * float(count @ integral) / (n * (n + 1) / 2.0)
        for k in [k for k in c if isinstance(k, tuple) and k[0] == "lrc"]:
            del c[k]
        c[key] = total
        return total

    def _lrc_classes(self, c):
        """Pairs of LJ classes (their pair types in the driver) and OpenMM's counts."""
        drv = c["driver"]
        n = self.sigma.size
        params = np.stack([self.sigma, self.epsilon], axis=1)
        uniq, counts = np.unique(params, axis=0, return_counts=True)
        spec = np.stack([drv.species_sig, drv.species_eps], axis=1)
        ta, tb, cnt = [], [], []
        for a in range(len(uniq)):
            for b in range(a, len(uniq)):
                if uniq[a, 1] <= 0 or uniq[b, 1] <= 0:
                    continue
                ta.append(int(np.flatnonzero((spec == uniq[a]).all(axis=1))[0]))
                tb.append(int(np.flatnonzero((spec == uniq[b]).all(axis=1))[0]))
                cnt.append(counts[a] * (counts[a] + 1) / 2 if a == b else counts[a] * counts[b])
        return (np.array(ta, dtype=np.int64), np.array(tb, dtype=np.int64),
                np.array(cnt, dtype=np.float64), n)


def compiled_pair_force(computation: CompiledPairComputation, width: float,
                        group: int = 0, extra_parameters: dict | None = None) -> mm.PythonForce:
    """The ``PythonForce`` running ``computation``, with the width's global parameters
    (``width`` its default, nm) and their constant companions, in force group ``group``."""
    p = computation.width_parameter
    params = {p: float(width), width_max_parameter(p): float(computation.width_max)}
    if computation.charges is not None:
        params[coulomb_max_parameter(p)] = float(computation.coulomb_limit)
    params.update(extra_parameters or {})
    force = mm.PythonForce(computation, params)
    force.setName(computation.name)
    force.setUsesPeriodicBoundaryConditions(computation.periodic)
    force.setForceGroup(int(group))
    return force


@dataclass
class PendingCompiled:
    """A compiled force planned by :func:`~openmm_gausslj.smooth_system`: its computation
    and force group; the width limits and defaults are known (and set) at install time."""

    computation: CompiledPairComputation  # or compiled_bonds.CompiledBondComputation
    group: int

    def install(self, width: float, lj_limit: float, coulomb_limit: float,
                extra_parameters: dict) -> mm.PythonForce:
        comp = self.computation
        comp.width_limit = float(lj_limit)
        if comp.charges is not None:
            comp.coulomb_limit = float(coulomb_limit)
        return compiled_pair_force(comp, width, self.group,
                                   extra_parameters if comp.lj else {})


def compiled_unsupported(system: mm.System, forms, region, exact_at_zero: bool) -> str | None:
    """Why the compiled engine does not apply to smoothing ``system`` (its LJ ``forms``,
    ``region`` of ``atoms=``), or None where it does."""
    box = box_nm(system, system.usesPeriodicBoundaryConditions())
    # a triclinic box: OpenMM's own pair list drops pairs there (docs/openmm.md, "Engines")
    return ("atoms= (a region)" if region is not None else "CHARMM's tabulated LJ"
            if forms.pairs else "exact_at_zero=False" if not exact_at_zero
            else "a triclinic box" if box is not None and triclinic(box) else None)


def _checked_lj(sigma, epsilon, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(sigma, epsilon)`` as float arrays, refused (``ValueError`` naming ``where`` and the
    index) where not finite, ``epsilon < 0`` or ``sigma <= 0`` with ``epsilon > 0``, as the
    custom forces' checks do."""
    sig = np.asarray(sigma, dtype=np.float64)
    eps = np.asarray(epsilon, dtype=np.float64)
    for name, v, bad in (("sigma", sig, ~np.isfinite(sig) | ((eps > 0) & ~(sig > 0))),
                         ("epsilon", eps, ~np.isfinite(eps) | (eps < 0))):
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} of {where} must be finite (and sigma > 0 where "
                             f"epsilon > 0, epsilon >= 0): {v[k]!r} at index {k}")
    return sig, eps


def plan_pair(pair, correction, common: dict) -> PendingCompiled:
    """The compiled stand-in of the smoothed pair force of ``pair`` (a Lorentz-Berthelot
    :class:`~openmm_gausslj.forces.lj_forms.PairLJ`), with the Coulomb ``correction``
    (:class:`~openmm_gausslj.forces.coulomb.CoulombCorrection`) riding in it, if given."""
    grid = common["grid"]
    q = None if correction is None else np.asarray(correction.charges, dtype=np.float64)
    sig, eps = _checked_lj(pair.sigma, pair.epsilon, f"force {pair.index}")
    comp = CompiledPairComputation(
        sigma=sig, epsilon=eps, charges=q,
        exclusions=np.asarray(pair.exclusions, dtype=np.int64).reshape(-1, 2),
        method=int(pair.method), cutoff=float(pair.cutoff), switch=pair.switch,
        long_range=bool(pair.long_range and pair.method == _CNB.CutoffPeriodic),
        coulomb_cutoff=None if pair.method == _CNB.NoCutoff else float(pair.cutoff),
        r_core=grid.r_core, width_max=grid.width_max,
        width_parameter=common["width_parameter"])
    return PendingCompiled(comp, int(pair.group))


def plan_bonds(b, common: dict):
    """The compiled stand-in of the smoothed exception force of ``b``
    (:class:`~openmm_gausslj.forces.lj_forms.BondLJ`)."""
    grid = common["grid"]
    sig, eps = _checked_lj(b.sigma, b.epsilon, f"the 1-4 pairs of force {b.index}")
    comp = CompiledBondComputation(
        pairs=np.asarray(b.pairs, dtype=np.int64).reshape(-1, 2), sigma=sig, epsilon=eps,
        periodic=bool(b.periodic),
        r_core=grid.r_core, width_max=grid.width_max,
        width_parameter=common["width_parameter"])
    return PendingCompiled(comp, int(b.group))


def plan_correction(charges, exclusions, method: int, cutoff: float, common: dict,
                    group: int) -> PendingCompiled:
    """The compiled stand-in of a stand-alone smoothed-Coulomb correction force."""
    grid = common["grid"]
    comp = CompiledPairComputation(
        sigma=np.ones(len(charges)), epsilon=np.zeros(len(charges)),
        charges=np.asarray(charges, dtype=np.float64),
        exclusions=np.asarray(exclusions, dtype=np.int64).reshape(-1, 2), method=int(method),
        cutoff=float(cutoff), switch=None, long_range=False,
        coulomb_cutoff=None if method == _CNB.NoCutoff else float(cutoff),
        r_core=grid.r_core, width_max=grid.width_max,
        width_parameter=common["width_parameter"], lj=False)
    return PendingCompiled(comp, int(group))


def computation_of(force: mm.Force):
    """The computation of a compiled force (:class:`CompiledPairComputation` of a
    ``"GaussLJ"``, ``compiled_bonds.CompiledBondComputation`` of a ``"GaussLJExceptions"``
    ``PythonForce``; None for any other force). OpenMM keeps only its pickle (the XML's hex
    ``function``), read back here."""
    if not (isinstance(force, mm.PythonForce) and force.getName() in COMPILED_NAMES):
        return None
    import pickle
    import re

    xml = mm.XmlSerializer.serialize(force)
    found = re.search(r'function="([0-9a-fA-F]*)"', xml)
    comp = pickle.loads(bytes.fromhex(found.group(1))) if found else None
    return comp if isinstance(comp, (CompiledPairComputation, CompiledBondComputation)) else None


def set_python_default(system: mm.System, k: int, name: str, value: float) -> None:
    """Set the default of global parameter ``name`` of the ``PythonForce`` ``k``.

    OpenMM has no setter for it, so the force is rebuilt, and so are the forces after it
    (copies, to keep every index): Python references to those forces are stale after
    this call.
    """
    old = system.getForce(k)
    params = global_defaults(old)
    params[name] = float(value)
    new = mm.PythonForce(computation_of(old), params)
    new.setName(old.getName())
    new.setUsesPeriodicBoundaryConditions(old.usesPeriodicBoundaryConditions())
    new.setForceGroup(old.getForceGroup())
    after = [copy.deepcopy(system.getForce(m)) for m in range(k + 1, system.getNumForces())]
    for m in range(system.getNumForces() - 1, k - 1, -1):
        system.removeForce(m)
    for f in [new, *after]:
        system.addForce(f)
