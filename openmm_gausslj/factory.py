"""Smooth an existing OpenMM ``System``: every LJ form, Coulomb with the same width, regions.

:func:`smooth_system` returns a copy of a force-field System in which

* the LJ of each ``NonbondedForce`` (Lorentz-Berthelot) and of CHARMM's tabulated
  ``CustomNonbondedForce`` (A/B per type pair, NBFIX) becomes the smoothed pair force (same
  cutoff, switching function, long-range correction, exclusions, force group), and their
  1-4 LJ (``NonbondedForce`` exceptions, CHARMM's ``CustomBondForce``) the smoothed bond force;
* with ``smooth_coulomb`` (default) the electrostatics is smoothed with the same width by
  the short-ranged correction of :mod:`openmm_gausslj.forces.coulomb` next to the untouched
  ``NonbondedForce`` charges (any method: NoCutoff, reaction field, Ewald, PME);
* with ``atoms`` only the pairs involving those atoms are smoothed (interaction groups):
  the rest stays in the original forces, exact and fast;
* anything it cannot smooth is a ``ValueError`` naming the force
  (:mod:`openmm_gausslj.forces.lj_forms`).

Why this is safe for force fields (``docs/openmm.md``): a smoothed LJ wall alone cannot
hold an LJ-less hydrogen off a neighbouring oxygen against the exact, singular Coulomb
attraction; the smoothed Coulomb is bounded (``|qq| / (w sqrt(pi))``) and the core is
chosen below real contacts (``r_core`` 0.6 sigma_ij by default here).
"""

from __future__ import annotations

import copy

import numpy as np
import openmm as mm

from .contacts import core_contacts
from .forces.compiled import (
    PendingCompiled,
    compiled_unsupported,
    plan_bonds,
    plan_correction,
    plan_pair,
)
from .forces.coulomb import (
    CoulombCorrection,
    coulomb_correction_force,
    coulomb_exception_force,
    coulomb_width_limit,
)
from .forces.expressions import WIDTH_PARAMETER, coulomb_max_parameter
from .forces.lj import (
    set_cutoff,
    smoothed_lj_bond_force,
    smoothed_lj_force,
    smoothed_lj_type_force,
)
from .forces.lj_forms import BondLJ, PairLJ, nonbonded_pair_lj, read_lj_forms
from .forces.sizing import size_tables
from .forces.table import TableGrid
from .inputs import check_parameter_name, smooth_options, width_nm

__all__ = ["smooth_system", "FORCE_FIELD_R_CORE"]

FORCE_FIELD_R_CORE = 0.6
"""Default ``r_core`` (in sigma_ij) of :func:`smooth_system`, below real force-field contacts.

Measured (``docs/openmm.md``): equilibrated structures have LJ contacts down to 0.65
sigma_ij (host-guest O...H), and the paper's 0.8 fuses water at 0.03 nm; 0.6 is stable.
"""

_CNB = mm.CustomNonbondedForce
_LJ_GROUP_EXPR = "4*eps*((sig/r)^12 - (sig/r)^6); sig = 0.5*(sigma1 + sigma2); " \
                 "eps = sqrt(epsilon1*epsilon2)"


def _region(atoms, n: int):
    """(selected, rest) index arrays, or None for everything."""
    if atoms is None:
        return None
    sel = np.unique(np.asarray(list(atoms), dtype=np.int64))
    if sel.size == 0 or sel[0] < 0 or sel[-1] >= n:
        raise ValueError(f"atoms must be a non-empty selection of indices in [0, {n})")
    rest = np.setdiff1d(np.arange(n), sel)
    return sel, rest


def _groups(region, solute_solvent: bool) -> list:
    if region is None:
        return []
    sel, rest = region
    return [(sel, sel)] + ([(sel, rest)] if solute_solvent and rest.size else [])


def _in_region(region, i: int, j: int) -> bool:
    return region is None or bool(np.isin([i, j], region[0]).any())


def _place(force: mm.CustomNonbondedForce, pair: PairLJ, groups) -> None:
    """Cutoff, switching, long-range correction and force group of the replaced ``pair``,
    and the interaction groups of a region."""
    # OpenMM ignores a long-range correction without periodic boundaries (CHARMM may set it)
    set_cutoff(force, pair.method, pair.cutoff, pair.switch,
               pair.long_range and pair.method == _CNB.CutoffPeriodic)
    for a, b in groups:
        force.addInteractionGroup([int(i) for i in a], [int(i) for i in b])
    force.setForceGroup(pair.group)


def _smoothed_pair(pair: PairLJ, groups, common, correction=None, engine: str = "custom"):
    if engine == "compiled":  # whole Lorentz-Berthelot Systems (checked in smooth_options)
        return plan_pair(pair, correction, common)
    if pair.types is None:
        force = smoothed_lj_force(pair.sigma, pair.epsilon, exclusions=pair.exclusions,
                                  coulomb_correction=correction, **common)
    else:
        force = smoothed_lj_type_force(pair.types, pair.sigma, pair.epsilon, **common)
        for i, j in pair.exclusions:
            force.addExclusion(int(i), int(j))
    _place(force, pair, groups)
    return force


def _exact_lb_pair(pair: PairLJ, groups) -> mm.CustomNonbondedForce:
    """Plain LJ for the solute-solvent pairs left exact (region without solute_solvent)."""
    force = mm.CustomNonbondedForce(_LJ_GROUP_EXPR)
    force.setName("GaussLJExactRegion")
    force.addPerParticleParameter("sigma")
    force.addPerParticleParameter("epsilon")
    for s, e in zip(pair.sigma, pair.epsilon, strict=True):
        force.addParticle([float(s), float(e)])
    for i, j in pair.exclusions:
        force.addExclusion(int(i), int(j))
    _place(force, pair, groups)
    return force


def _split_nonbonded(out, k, region, opts, common, plan) -> None:
    """Replace NonbondedForce ``k`` of ``out`` by its exact remainder plus smoothed forces."""
    nb = out.getForce(k)
    pair, bonds, q, exc = nonbonded_pair_lj(k, nb)
    moved_lj = [m for m, x in enumerate(exc) if x[4] != 0.0 and not opts["exact_14"]
                and _in_region(region, x[0], x[1])]
    has_lj = bool(np.any(pair.epsilon > 0)) or bool(moved_lj)
    smooth_q = opts["smooth_coulomb"] and bool(np.any(q != 0))
    if smooth_q and (nb.getNumParticleParameterOffsets() or nb.getNumExceptionParameterOffsets()):
        raise ValueError(f"force {k} (NonbondedForce) has parameter offsets; "
                         "smooth_coulomb=True cannot follow changing charges")
    method, cutoff = _coulomb_cutoff(pair, opts["coulomb_cutoff"]) if smooth_q else (None, None)
    # at the LJ cutoff the correction rides in the LJ force's pair loop (a second loop over
    # every pair costs more); a switching function would switch it too, so its width limit
    # becomes switch / 8 (erfc(4) = 1.5e-8 where it acts). A shorter coulomb_cutoff gets
    # its own force: that loop sees few pairs and the LJ loop loses the erfc term
    # (alanine dipeptide box, 0.4 nm: 4.3x -> 3.4x the original step, docs/openmm.md)
    merged = None
    same = method == pair.method and cutoff == pair.cutoff
    if smooth_q and has_lj and same:
        reach = cutoff if pair.switch is None else min(cutoff, pair.switch)
        merged = CoulombCorrection(q, coulomb_width_limit(method, reach))
        plan["coulomb_limit"] = min(plan["coulomb_limit"], merged.limit)
    if has_lj:
        _move_lj(nb, pair, bonds, exc, moved_lj, region, opts, common, plan, merged)
    if smooth_q:
        _smooth_charges(nb, pair, bonds, q, exc, (method, cutoff), region, opts, common, plan,
                        merged is None)


def _move_lj(nb, pair: PairLJ, bonds: BondLJ, exc, moved_lj, region, opts, common, plan,
             merged) -> None:
    """Zero the smoothed LJ in ``nb`` and plan the smoothed pair (and 1-4 bond) forces."""
    smoothed = region[0] if region is not None else np.arange(pair.n)
    for i in smoothed:
        qi, si, _ = nb.getParticleParameters(int(i))
        nb.setParticleParameters(int(i), qi, si, 0.0)
    for m in moved_lj:
        i, j, qq, s, _ = nb.getExceptionParameters(m)
        nb.setExceptionParameters(m, i, j, qq, s, 0.0)
    if region is None:
        nb.setUseDispersionCorrection(False)  # carried by the smoothed force now
    groups = _groups(region, opts["solute_solvent"])
    plan["pairs"].append((pair, groups))
    plan["new"].append(_smoothed_pair(pair, groups, common, merged, opts["engine"]))
    if region is not None and not opts["solute_solvent"] and region[1].size:
        plan["new"].append(_exact_lb_pair(pair, [(region[0], region[1])]))
    if moved_lj:
        sub = BondLJ(pair.index, [bonds_pair(exc, m) for m in moved_lj],
                     np.array([exc[m][3] for m in moved_lj]),
                     np.array([exc[m][4] for m in moved_lj]), bonds.periodic, bonds.group)
        plan["bonds"].append(sub)
        plan["new"].append(plan_bonds(sub, common) if opts["engine"] == "compiled"
                           else _smoothed_bonds(sub, common))


def _smooth_charges(nb, pair: PairLJ, bonds: BondLJ, q, exc, method_cutoff, region, opts,
                    common, plan, own_force: bool) -> None:
    """Plan the smoothed-Coulomb correction (its own force unless the LJ force carries it)
    and the smoothed charged exceptions of ``nb``."""
    method, cutoff = method_cutoff
    if own_force and opts["engine"] == "compiled":
        plan["new"].append(plan_correction(q, [(x[0], x[1]) for x in exc], method, cutoff,
                                           common, nb.getForceGroup()))
    elif own_force:
        corr = coulomb_correction_force(
            q, [(x[0], x[1]) for x in exc], method=method, cutoff=cutoff,
            width=common["width"], groups=_groups(region, opts["solute_solvent"]),
            width_parameter=common["width_parameter"])
        corr.setForceGroup(nb.getForceGroup())
        plan["new"].append(corr)
    plan["coulomb_limit"] = min(plan["coulomb_limit"], coulomb_width_limit(method, cutoff))
    qexc = [x for x in exc if x[2] != 0.0 and not opts["exact_14"]
            and _in_region(region, x[0], x[1])]
    if qexc:
        cb = coulomb_exception_force([(x[0], x[1]) for x in qexc], [x[2] for x in qexc],
                                     width=common["width"], periodic=bonds.periodic,
                                     width_parameter=common["width_parameter"])
        cb.setForceGroup(nb.getForceGroup())
        plan["new"].append(cb)


def _coulomb_cutoff(pair: PairLJ, coulomb_cutoff) -> tuple[int, float]:
    """Method and cutoff of the Coulomb correction: the NonbondedForce's, or shorter."""
    if coulomb_cutoff is None:
        return pair.method, pair.cutoff
    rc = float(coulomb_cutoff)
    if pair.method == _CNB.NoCutoff:
        return _CNB.CutoffNonPeriodic, rc
    if rc > pair.cutoff:
        raise ValueError(f"coulomb_cutoff ({rc} nm) must not exceed the NonbondedForce's "
                         f"cutoff ({pair.cutoff} nm)")
    return pair.method, rc


def bonds_pair(exc, m) -> tuple[int, int]:
    return int(exc[m][0]), int(exc[m][1])


def _smoothed_bonds(b: BondLJ, common) -> mm.CustomCompoundBondForce:
    force = smoothed_lj_bond_force(b.pairs, b.sigma, b.epsilon, periodic=b.periodic, **common)
    force.setForceGroup(b.group)
    return force


def _split_charmm(out, pair: PairLJ, region, opts, common, plan) -> None:
    """CHARMM pair force: smoothed copy on the region, the original kept on the rest."""
    groups = _groups(region, opts["solute_solvent"])
    plan["pairs"].append((pair, groups))
    plan["new"].append(_smoothed_pair(pair, groups, common, engine=opts["engine"]))
    if region is None:
        plan["remove"].append(pair.index)
        return
    sel, rest = region
    keep = [(rest, rest)] + ([] if opts["solute_solvent"] else [(sel, rest)])
    f = out.getForce(pair.index)
    for a, b in keep:
        if a.size and b.size:
            f.addInteractionGroup([int(i) for i in a], [int(i) for i in b])
    if f.getNumInteractionGroups() == 0:
        plan["remove"].append(pair.index)


def _split_charmm_bonds(out, b: BondLJ, region, opts, common, plan) -> None:
    if opts["exact_14"]:
        return
    moved = [m for m, (i, j) in enumerate(b.pairs) if _in_region(region, i, j)]
    if not moved:
        return
    f = out.getForce(b.index)
    for m in moved:
        i, j, (s, _) = f.getBondParameters(m)
        f.setBondParameters(m, i, j, [s, 0.0])
    sub = BondLJ(b.index, [b.pairs[m] for m in moved], b.sigma[moved], b.epsilon[moved],
                 b.periodic, b.group)
    plan["bonds"].append(sub)
    plan["new"].append(_smoothed_bonds(sub, common))


def _check_positions(out: mm.System, plan, positions, r_core: float) -> None:
    """``ValueError`` naming the pairs inside the core, the width-0 error and the cure."""
    from .exactness import ExactnessReport, pair_energy_difference

    found = core_contacts(out, plan["pairs"], plan["bonds"], positions, r_core)
    if found:
        diff = pair_energy_difference(plan["pairs"], plan["bonds"], found, r_core)
        raise ValueError("positions: " + ExactnessReport(found, diff, r_core).message())


def _lj_width_limit(plan, grid: TableGrid) -> float:
    sig = [p.min_sigma() for p, _ in plan["pairs"]]
    sig += [float(b.sigma[b.epsilon > 0].min()) for b in plan["bonds"] if np.any(b.epsilon > 0)]
    return grid.width_max * min(sig) if sig else np.inf


def _record_r_core(force: mm.Force, r_core: float, width_parameter: str) -> None:
    """Store ``r_core`` in a smoothed LJ force (unused by its expression) for the exactness
    check of a Context (:mod:`openmm_gausslj.exactness`), which sees only the System."""
    from .exactness import R_CORE_PARAMETER
    from .forces.expressions import uses_table

    if uses_table(force, width_parameter):
        force.addGlobalParameter(R_CORE_PARAMETER, float(r_core))


def smooth_system(
    system: mm.System,
    width=0.0,
    *,
    smooth_coulomb: bool = True,
    atoms=None,
    solute_solvent: bool = True,
    exact_14: bool = False,
    coulomb_cutoff=None,
    positions=None,
    r_core: float = FORCE_FIELD_R_CORE,
    width_max: float | None = None,
    width_parameter: str = WIDTH_PARAMETER,
    grid: TableGrid | None = None,
    exact_at_zero: bool = True,
    torsion_width=None,
    engine: str = "auto",
) -> mm.System:
    """Copy of ``system`` with its LJ (and by default Coulomb) smoothed by one width.

    Parameters
    ----------
    system : openmm.System
        The original (not modified).
    width : float or Quantity
        Initial width (nm), the default of the global parameter ``width_parameter``;
        ``ValueError`` (naming the largest allowed width) beyond the table's range or, with
        ``smooth_coulomb`` and a cutoff, beyond ``cutoff / 8``.
    smooth_coulomb : bool
        Smooth the electrostatics with the same width (``erf(r / 2w) / r``; any method).
        ``False`` smooths LJ only, which lets LJ-less hydrogens fuse with oxygens.
    atoms : iterable of int, optional
        Smooth only the pairs involving these atoms (the solute); default everything.
    solute_solvent : bool
        With ``atoms``: also smooth the pairs between ``atoms`` and the rest (default);
        ``False`` smooths solute-solute pairs only.
    exact_14 : bool
        Keep the 1-4 pairs (exceptions) exact.
    coulomb_cutoff : float or Quantity, optional
        Cutoff (nm) of the smoothed-Coulomb correction ``erfc(r / 2w) / r`` (default: the
        NonbondedForce's, where it rides in the LJ pair loop). It is negligible beyond
        ``8 w``; a shorter cutoff puts it in its own force over the pairs within that
        cutoff, which is faster on the CPU (alanine dipeptide box, 0.4 nm: 4.3x -> 3.4x the
        original step), and limits the width to ``coulomb_cutoff / 8``.
    positions : array_like or Quantity, optional
        If given, ``ValueError`` naming the first smoothed LJ pair closer than
        ``r_core * sigma_ij``, where width 0 (the regularized LJ) differs from the original.
    r_core : float
        Core radius of the regularized LJ in units of each pair's sigma (0.6: below
        real contacts; a new value builds a table once, ~10 s, then cached on disk).
    width_max, grid : float, TableGrid, optional
        Largest reduced width ``w / sigma_ij`` of the table (default the package's), or the
        whole table grid (overrides ``r_core`` and ``width_max``).
    width_parameter : str
        Name of the global context parameter holding the width (nm).
    exact_at_zero : bool
        At width exactly 0 evaluate the regularized LJ analytically (reproduces the
        original to rounding when no pair is inside the core).
    torsion_width : float, optional
        If given, also smooth the torsions (periodic, RB, CMAP) with this initial angular
        width (radians; global parameter ``gausslj_torsion_width``), see
        :func:`openmm_gausslj.forces.torsions.smooth_torsions`. Default: torsions untouched.
    engine : {'auto', 'custom', 'compiled'}
        The smoothed LJ (and Coulomb correction) as custom forces (any platform, GPUs
        included), or as ``PythonForce`` s running gausslj's compiled loops
        (:mod:`.forces.compiled`): the same function, faster on the CPU platform (~3x at a
        fixed width, ~1.7x annealed every step), slow on GPUs; whole Lorentz-Berthelot
        Systems only. ``'auto'``: compiled where it applies and the CPU is OpenMM's fastest
        platform here (:func:`.inputs.resolve_engine`; docs/openmm.md, "Engines").

    Returns
    -------
    openmm.System
        The smoothed copy; other forces (bonds, torsions, GB, barostat...) unchanged.
    """
    if not isinstance(system, mm.System):
        raise ValueError(f"system must be an openmm.System, got {type(system).__name__}")
    w = width_nm(width, "width")
    check_parameter_name(width_parameter)
    grid = _table_grid(grid, r_core, width_max)
    forms, region = read_lj_forms(system), _region(atoms, system.getNumParticles())
    opts = smooth_options(smooth_coulomb, solute_solvent, exact_14, coulomb_cutoff, engine,
                          compiled_unsupported(system, forms, region, exact_at_zero))
    common = dict(width=0.0, width_parameter=width_parameter, grid=grid,
                  exact_at_zero=exact_at_zero)
    out = copy.deepcopy(system)
    plan = _plan(out, forms, region, opts, common)
    lj_limit = _lj_width_limit(plan, grid)
    limit = min(lj_limit, plan["coulomb_limit"])
    w = width_nm(w, "width", maximum=limit, limit_name=(
        "nm: the table's range (width_max times the smallest LJ sigma)" if limit == lj_limit
        else "nm: cutoff / 8, where the smoothed Coulomb correction has decayed"))
    if positions is not None:
        _check_positions(out, plan, positions, grid.r_core)
    # sized to the table's own limit, not the Coulomb one: the smoothed LJ stays the same
    # function whether or not the Coulomb is smoothed too
    size_tables(plan["new"], grid, lj_limit, width_parameter)
    plan["lj_limit"] = lj_limit
    _install(out, plan, w, width_parameter, grid.r_core, torsion_width)
    return out


def _table_grid(grid: TableGrid | None, r_core: float, width_max: float | None) -> TableGrid:
    """``grid``, or the grid of ``r_core`` and ``width_max`` (the package's by default)."""
    if grid is None:
        return TableGrid(r_core=r_core) if width_max is None else TableGrid(
            r_core=r_core, width_max=width_max)
    if not isinstance(grid, TableGrid):
        raise TypeError(f"grid must be a TableGrid, got {type(grid).__name__}")
    return grid


def _plan(out: mm.System, forms, region, opts: dict, common: dict) -> dict:
    """Edit the exact forces of ``out`` in place and list what to add and remove."""
    plan = dict(pairs=[], bonds=[], new=[], remove=[], coulomb_limit=np.inf)
    for k in forms.nonbonded:
        _split_nonbonded(out, k, region, opts, common, plan)
    for pair in forms.pairs:
        _split_charmm(out, pair, region, opts, common, plan)
    for b in forms.bonds:
        _split_charmm_bonds(out, b, region, opts, common, plan)
    return plan


def _install(out: mm.System, plan: dict, w: float, width_parameter: str, r_core: float,
             torsion_width) -> None:
    """Remove the replaced forces, add the new ones with one default per global parameter,
    and smooth the torsions if ``torsion_width`` is given."""
    for k in sorted(plan["remove"], reverse=True):
        out.removeForce(k)
    # one value per global parameter across forces (OpenMM requires it)
    defaults = {width_parameter: w}
    if np.isfinite(plan["coulomb_limit"]):
        defaults[coulomb_max_parameter(width_parameter)] = plan["coulomb_limit"]
    from .exactness import R_CORE_PARAMETER

    for f in plan["new"]:
        if isinstance(f, PendingCompiled):
            out.addForce(f.install(w, plan["lj_limit"], plan["coulomb_limit"],
                                   {R_CORE_PARAMETER: float(r_core)}))
            continue
        for m in range(f.getNumGlobalParameters()):
            name = f.getGlobalParameterName(m)
            if name in defaults:
                f.setGlobalParameterDefaultValue(m, defaults[name])
        _record_r_core(f, r_core, width_parameter)
        out.addForce(f)
    if torsion_width is not None:
        from .forces.torsions import smooth_torsions  # the torsion smoothing has its own parameter

        smooth_torsions(out, torsion_width)
