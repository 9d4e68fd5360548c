"""Gaussian smoothing of torsion terms in dihedral space (exact, per Fourier mode).

A periodic torsion ``k (1 + cos(n phi - phi0))`` convolved with a wrapped Gaussian of
angular width ``tau`` (radians) on the circle is ``k (1 + exp(-n^2 tau^2 / 2) cos(n phi -
phi0))`` (Ram & Ram 2025, Sec. 6, second option). This module applies that identity to the
three torsion forces of OpenMM force fields:

* ``PeriodicTorsionForce`` -> a ``CustomTorsionForce`` with the width as the global
  parameter :data:`TORSION_WIDTH_PARAMETER` (radians); ``context.setParameter`` (or a
  ``CustomIntegrator``'s ``addComputeGlobal``) changes it on the device.
* ``RBTorsionForce`` -> a ``CustomTorsionForce`` on its Fourier form: with
  ``psi = phi - 180 deg``, ``sum_k C_k cos^k psi = sum_m a_m cos(m psi)`` (``m <= 5``), each
  mode damped by ``exp(-m^2 tau^2 / 2)``.
* ``CMAPTorsionForce``: each map is a periodic grid; its smoothed grid damps Fourier mode
  ``(k1, k2)`` by ``exp(-(k1^2 + k2^2) tau^2 / 2)``. A CMAP map is a fixed array (no global
  parameter can reach it), so the map is **rebuilt** when the width changes:
  :func:`set_torsion_width` does it on a System or on a live Context
  (``updateParametersInContext``, a host-side call, cheap: a few 24x24 grids). The original
  maps travel with the force (appended as unused maps, the force renamed to say so), so the
  System stays self-contained and serializable. Why not a tabulated custom force: a 3-D
  table over (phi, psi, tau) would interpolate differently from CMAP's own bicubic patches
  and so would not be exact at width 0. The smoothed *grid* is exact per mode for the grid's
  trigonometric interpolant; OpenMM then interpolates it with its bicubic spline, so at
  ``tau > 0`` the energy differs from the exact convolution of CMAP's spline surface by the
  spline's interpolation error (measured <= 3.3e-3 kJ/mol on a charmm36 map at
  tau = 0.35, see the tests).

At ``tau = 0`` every term is the original to rounding (energy and forces).
"""

from __future__ import annotations

import math
import re

import numpy as np
import openmm as mm
import openmm.unit as unit

from ase_gausslj.core.validation import check_width

from ..inputs import check_parameter_name

__all__ = [
    "TORSION_WIDTH_PARAMETER",
    "TORSION_WIDTH_MAX",
    "check_torsion_width",
    "smooth_torsions",
    "smoothed_periodic_torsion_force",
    "smoothed_rb_torsion_force",
    "smooth_cmap_grid",
    "set_torsion_width",
    "get_torsion_width",
    "torsion_force_indices",
]

#: Global parameter holding the torsion width (radians).
TORSION_WIDTH_PARAMETER = "gausslj_torsion_width"

#: Largest accepted torsion width (radians): at pi even the n = 1 mode keeps only
#: exp(-pi^2 / 2) ~ 0.7 % of its amplitude; wider is flat to within rounding of no use.
TORSION_WIDTH_MAX = math.pi

_CMAP_NAME = re.compile(r"^GaussLJ CMAP (?P<param>\w+) maps=(?P<maps>\d+) width=(?P<w>\S+)$")


def check_torsion_width(value, name: str = "torsion_width") -> float:
    """A torsion width in radians, in [0, pi]; ``ValueError`` naming ``name`` otherwise."""
    return check_width(value, name, maximum=TORSION_WIDTH_MAX, limit_name="radians")


def _damping(m: int, parameter: str) -> str:
    # exp(-m^2 tau^2 / 2) written with the integer m^2 / 2 folded in
    return f"exp(-{m * m / 2!r}*{parameter}^2)"


def _plain(value):
    """A value in OpenMM's MD units (rad, kJ/mol) without its unit."""
    return value.value_in_unit_system(unit.md_unit_system) if unit.is_quantity(value) else value


def _copy_common(src: mm.Force, dst: mm.Force) -> None:
    dst.setForceGroup(src.getForceGroup())
    dst.setUsesPeriodicBoundaryConditions(src.usesPeriodicBoundaryConditions())


def smoothed_periodic_torsion_force(
    force: mm.PeriodicTorsionForce, torsion_width=0.0, *,
    parameter: str = TORSION_WIDTH_PARAMETER,
) -> mm.CustomTorsionForce:
    """A ``CustomTorsionForce`` equal to ``force`` convolved with a Gaussian of ``torsion_width``.

    Energy ``k (1 + exp(-n^2 tau^2 / 2) cos(n theta - phi0))`` with ``tau`` the global
    parameter ``parameter`` (radians, default value ``torsion_width``). ``force`` is not
    modified; force group and periodic-boundary flag are kept.
    """
    if not isinstance(force, mm.PeriodicTorsionForce):
        raise TypeError(f"force must be a PeriodicTorsionForce, got {type(force).__name__}")
    check_parameter_name(parameter, "parameter")
    out = mm.CustomTorsionForce(
        f"k*(1 + exp(-0.5*n^2*{parameter}^2)*cos(n*theta - phase))")
    out.addGlobalParameter(parameter, check_torsion_width(torsion_width))
    for name in ("n", "phase", "k"):
        out.addPerTorsionParameter(name)
    for t in range(force.getNumTorsions()):
        i, j, k, m, n, phase, kk = force.getTorsionParameters(t)
        out.addTorsion(i, j, k, m, [float(n), _plain(phase), _plain(kk)])
    _copy_common(force, out)
    return out


def _rb_fourier(c: np.ndarray) -> np.ndarray:
    """Fourier coefficients ``a_m`` of ``sum_k c_k cos^k x`` (``cos^k = 2^-k sum binom cos``)."""
    a = np.zeros(6)
    for k, ck in enumerate(c):
        for j in range(k + 1):
            a[abs(k - 2 * j)] += ck * math.comb(k, j) / 2.0**k
    return a


def smoothed_rb_torsion_force(
    force: mm.RBTorsionForce, torsion_width=0.0, *, parameter: str = TORSION_WIDTH_PARAMETER,
) -> mm.CustomTorsionForce:
    """A ``CustomTorsionForce`` equal to the Ryckaert-Bellemans ``force`` smoothed in angle.

    ``sum_k C_k cos^k(psi)``, ``psi = theta - pi``, is rewritten as ``sum_m b_m cos(m theta)``
    (``b_m = (-1)^m a_m``) and mode ``m`` damped by ``exp(-m^2 tau^2 / 2)``; exact to
    rounding at ``tau = 0``.
    """
    if not isinstance(force, mm.RBTorsionForce):
        raise TypeError(f"force must be an RBTorsionForce, got {type(force).__name__}")
    check_parameter_name(parameter, "parameter")
    terms = ["b0"] + [f"b{m}*{_damping(m, parameter)}*cos({m}*theta)" for m in range(1, 6)]
    out = mm.CustomTorsionForce(" + ".join(terms))
    out.addGlobalParameter(parameter, check_torsion_width(torsion_width))
    for m in range(6):
        out.addPerTorsionParameter(f"b{m}")
    sign = np.array([(-1.0) ** m for m in range(6)])
    for t in range(force.getNumTorsions()):
        i, j, k, m, *c = force.getTorsionParameters(t)
        c = np.array([_plain(x) for x in c])
        out.addTorsion(i, j, k, m, (sign * _rb_fourier(c)).tolist())
    _copy_common(force, out)
    return out


def smooth_cmap_grid(energy, size: int, torsion_width) -> np.ndarray:
    """A CMAP map (``energy[i + size*j]``, periodic grid) with mode ``(k1, k2)`` damped.

    Returns the flat array in the same layout; the input itself (a copy) at width 0.
    """
    e = np.asarray(energy, dtype=np.float64)
    if e.shape != (size * size,):
        raise ValueError(f"energy must have size*size = {size * size} values, got {e.shape}")
    tau = check_torsion_width(torsion_width)
    if tau == 0.0:
        return e.copy()
    grid = e.reshape(size, size)  # [j, i]: psi rows, phi columns
    k = np.fft.fftfreq(size, d=1.0 / size)  # integer wavenumbers, Nyquist counted as -size/2
    damp = np.exp(-0.5 * tau**2 * (k[:, None] ** 2 + k[None, :] ** 2))
    return np.fft.ifft2(np.fft.fft2(grid) * damp).real.reshape(-1)


def _cmap_info(force: mm.Force) -> tuple[str, int, float] | None:
    """(parameter, number of original maps, width) of a CMAP force this module smoothed."""
    if not isinstance(force, mm.CMAPTorsionForce):
        return None
    match = _CMAP_NAME.match(force.getName())
    if match is None:
        return None
    return match["param"], int(match["maps"]), float(match["w"])


def _set_cmap_width(force: mm.CMAPTorsionForce, n_maps: int, parameter: str,
                    width: float) -> None:
    for m in range(n_maps):
        size, energy = force.getMapParameters(n_maps + m)  # the stored original
        energy = np.asarray(_plain(energy), dtype=np.float64)
        force.setMapParameters(m, size, smooth_cmap_grid(energy, size, width).tolist())
    force.setName(f"GaussLJ CMAP {parameter} maps={n_maps} width={width!r}")


def _smooth_cmap(force: mm.CMAPTorsionForce, width: float, parameter: str) -> None:
    """Append the original maps (kept for rebuilding) and smooth maps 0..M-1 in place."""
    n_maps = force.getNumMaps()
    for m in range(n_maps):
        size, energy = force.getMapParameters(m)
        force.addMap(size, energy)
    _set_cmap_width(force, n_maps, parameter, width)


def smooth_torsions(system: mm.System, torsion_width=0.0, *,
                    parameter: str = TORSION_WIDTH_PARAMETER) -> list[int]:
    """Smooth every torsion force of ``system`` **in place**; return the changed indices.

    Meant for a copy (``smooth_system`` calls it on its own copy). Each non-empty
    ``PeriodicTorsionForce`` and ``RBTorsionForce`` is removed and its smoothed
    ``CustomTorsionForce`` appended (so the indices of forces after a removed one shift
    down); each ``CMAPTorsionForce`` is smoothed in place (see the module docstring). Forces
    this module already produced are left alone, so a second call is a no-op.

    Parameters
    ----------
    system : openmm.System
        Modified in place.
    torsion_width : float
        Initial angular width (radians), ``0 <= torsion_width <= pi``; the default value of
        the global parameter ``parameter``.
    parameter : str
        Name of the global parameter (and of the CMAP marker).

    Returns
    -------
    list of int
        Indices, in the modified ``system``, of the new and changed torsion forces.
    """
    if not isinstance(system, mm.System):
        raise TypeError(f"system must be an openmm.System, got {type(system).__name__}")
    width = check_torsion_width(torsion_width)
    check_parameter_name(parameter, "parameter")
    makers = {mm.PeriodicTorsionForce: smoothed_periodic_torsion_force,
              mm.RBTorsionForce: smoothed_rb_torsion_force}
    replace, cmaps = [], []
    for idx in range(system.getNumForces()):
        f = system.getForce(idx)
        maker = makers.get(type(f))
        if maker is not None and f.getNumTorsions() > 0:
            replace.append((idx, maker(f, width, parameter=parameter)))
        elif isinstance(f, mm.CMAPTorsionForce) and _cmap_info(f) is None \
                and f.getNumTorsions() > 0:
            cmaps.append(f)
    for f in cmaps:  # before removals: the Python wrappers stay valid either way
        _smooth_cmap(f, width, parameter)
    for idx, _ in reversed(replace):
        system.removeForce(idx)
    for _, new in replace:
        system.addForce(new)
    return torsion_force_indices(system, parameter)


def torsion_force_indices(system: mm.System,
                          parameter: str = TORSION_WIDTH_PARAMETER) -> list[int]:
    """Indices of the torsion forces of ``system`` smoothed with global ``parameter``."""
    out = []
    for idx in range(system.getNumForces()):
        f = system.getForce(idx)
        info = _cmap_info(f)
        if info is not None and info[0] == parameter:
            out.append(idx)
        elif isinstance(f, mm.CustomTorsionForce) and any(
                f.getGlobalParameterName(k) == parameter
                for k in range(f.getNumGlobalParameters())):
            out.append(idx)
    return out


def set_torsion_width(target: mm.System | mm.Context, torsion_width, *,
                      parameter: str = TORSION_WIDTH_PARAMETER) -> float:
    """Set the torsion width on a System (default values) or a live Context.

    On a Context this sets the global parameter (when some force defines it) and rebuilds
    the smoothed CMAP maps of ``context.getSystem()`` with ``updateParametersInContext``.
    Returns the width (radians). ``ValueError`` if nothing in ``target`` is smoothed with
    ``parameter``.
    """
    width = check_torsion_width(torsion_width)
    context = target if isinstance(target, mm.Context) else None
    system = context.getSystem() if context is not None else target
    if not isinstance(system, mm.System):
        raise TypeError(f"target must be an openmm.System or Context, got {type(target).__name__}")
    indices = torsion_force_indices(system, parameter)
    if not indices:
        raise ValueError(f"no torsion force of this system is smoothed with {parameter!r}")
    has_global = False
    for idx in indices:
        f = system.getForce(idx)
        info = _cmap_info(f)
        if info is not None:
            _set_cmap_width(f, info[1], parameter, width)
            if context is not None:
                f.updateParametersInContext(context)
            continue
        has_global = True
        if context is None:
            for k in range(f.getNumGlobalParameters()):
                if f.getGlobalParameterName(k) == parameter:
                    f.setGlobalParameterDefaultValue(k, width)
    if context is not None and has_global:
        context.setParameter(parameter, width)
    return width


def get_torsion_width(target: mm.System | mm.Context, *,
                      parameter: str = TORSION_WIDTH_PARAMETER) -> float:
    """The torsion width (radians) of a smoothed System (default value) or Context."""
    system = target.getSystem() if isinstance(target, mm.Context) else target
    for idx in torsion_force_indices(system, parameter):
        f = system.getForce(idx)
        info = _cmap_info(f)
        if info is not None:
            return info[2]
        if isinstance(target, mm.Context):
            return float(target.getParameter(parameter))
        for k in range(f.getNumGlobalParameters()):
            if f.getGlobalParameterName(k) == parameter:
                return float(f.getGlobalParameterDefaultValue(k))
    raise ValueError(f"no torsion force of this system is smoothed with {parameter!r}")
