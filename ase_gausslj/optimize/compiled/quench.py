"""The basin-hopping quench, compiled: smoothed phases, width 0, evaporation guard, polish.

One numba call per quench (:func:`lj_quench`) with its settings in one :class:`QuenchArgs`
built once per cluster size (:func:`quench_args`). :func:`guard` is the package's one
evaporation guard (:func:`~ase_gausslj.optimize.moves.evaporation_guard` calls it too).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from .energy import NORMS, KernelArgs, kernel_args
from .loops import LBFGSOptions, lbfgs_core

__all__ = ["QuenchArgs", "quench_args", "guard", "lj_quench", "polish"]


class QuenchArgs(NamedTuple):
    """Everything :func:`lj_quench` needs besides the positions and random draws."""

    phases: tuple[KernelArgs, ...]  # smoothed widths (coarse to fine), then width 0
    smooth: LBFGSOptions            # the smoothed phases (loose: they only pick a basin)
    final: LBFGSOptions             # width 0
    polish: LBFGSOptions            # a new best (gtol 0: no polish)
    radius: float                   # evaporation-guard radius


def quench_args(potential, widths, n_atoms: int, *, gtol: float, width_gtol: float,
                polish_gtol: float, maxiter: int, radius: float, memory: int = 10,
                maxstep: float = 0.5, max_rise: float = 1e-4) -> QuenchArgs:
    """:class:`QuenchArgs` for ``n_atoms`` (values already checked by the caller).

    The L-BFGS settings are :func:`~.minimize.lbfgs_minimize`'s defaults; convergence on
    the largest gradient component (scipy's ``gtol``).
    """
    phases = tuple(kernel_args(potential, w, n_atoms) for w in (*widths, 0.0))

    def opts(tol):
        return LBFGSOptions(float(tol), NORMS["max"], int(maxiter), int(memory),
                            float(maxstep), float(max_rise))

    return QuenchArgs(phases, opts(width_gtol), opts(gtol), opts(polish_gtol), float(radius))


@nb.njit(cache=True)
def _median(values):
    """``np.median`` of a short vector, by insertion sort.

    The same value as ``np.median`` (the mean of the two middle values for even sizes);
    numba compiles it in ~0.3 s where its ``np.median`` takes ~2 s of a first run.
    """
    s = values.copy()
    for i in range(1, s.size):
        key = s[i]
        j = i - 1
        while j >= 0 and s[j] > key:
            s[j + 1] = s[j]
            j -= 1
        s[j + 1] = key
    m = s.size // 2
    return s[m] if s.size % 2 else 0.5 * (s[m - 1] + s[m])


@nb.njit(cache=True)
def guard(x, radius, normals):
    """The evaporation guard, in place on flat ``x``; returns the number of atoms moved.

    An atom farther than ``radius`` from the median centre has escaped; each escaped atom
    goes to the surface of the bound atoms (their centroid plus their largest distance,
    clipped to ``[0.5, radius]``) in the direction of its row of ``normals``.

    ``normals`` (N, 3) are standard normal draws; escaped atom ``a`` uses row ``a``.
    """
    pos = x.reshape((-1, 3))
    n = pos.shape[0]
    centre = np.empty(3)
    for c in range(3):
        centre[c] = _median(pos[:, c])
    escaped = np.zeros(n, dtype=np.bool_)
    n_moved = 0
    for a in range(n):
        d2 = 0.0
        for c in range(3):
            d2 += (pos[a, c] - centre[c]) ** 2
        if math.sqrt(d2) > radius:
            escaped[a] = True
            n_moved += 1
    if n_moved == 0:
        return 0
    r_surf = 0.0
    if n_moved < n:
        centre[:] = 0.0
        for a in range(n):
            if not escaped[a]:
                centre += pos[a]
        centre /= n - n_moved
        for a in range(n):
            if not escaped[a]:
                d2 = 0.0
                for c in range(3):
                    d2 += (pos[a, c] - centre[c]) ** 2
                r_surf = max(r_surf, math.sqrt(d2))
    r_surf = min(max(r_surf, 0.5), radius)
    for a in range(n):
        if escaped[a]:
            vn = math.sqrt(normals[a, 0] ** 2 + normals[a, 1] ** 2 + normals[a, 2] ** 2)
            for c in range(3):
                pos[a, c] = centre[c] + r_surf * normals[a, c] / vn
    return n_moved


@nb.njit(cache=True)
def lj_quench(x, qa, p0, p1, normals):
    """Quench flat ``x`` in place; returns ``(e, n_fev)``.

    The smoothed phases ``qa.phases[p0:p1]`` run first, then width 0 and up to
    ``len(normals)`` guard rounds (each re-quenched at width 0; ``normals`` (rounds, N, 3)
    feed :func:`guard`). ``x`` is centred at the end.
    """
    n_fev = 0
    for p in range(p0, p1):
        n_fev += lbfgs_core(x, qa.phases[p], qa.smooth)[3]
    ka = qa.phases[len(qa.phases) - 1]
    r = lbfgs_core(x, ka, qa.final)
    e = r[0]
    n_fev += r[3]
    for k in range(normals.shape[0]):
        if guard(x, qa.radius, normals[k]) == 0:
            break
        r = lbfgs_core(x, ka, qa.final)
        e = r[0]
        n_fev += r[3]
    pos = x.reshape((-1, 3))
    for c in range(3):
        mean = pos[:, c].mean()
        pos[:, c] -= mean
    return e, n_fev


@nb.njit(cache=True)
def polish(x, e, qa):
    """Re-minimize flat ``x`` at width 0 to ``qa.polish.gtol`` (if > 0); the energy.

    A search that quenches loosely polishes only its new bests (rare), so the reported
    energy is that of a tightly converged minimum. ``x`` is kept (in place) only when the
    polish did not raise the energy, and is centred.
    """
    if qa.polish.gtol <= 0.0:
        return e
    y = x.copy()
    e_new = lbfgs_core(y, qa.phases[len(qa.phases) - 1], qa.polish)[0]
    if not e_new <= e:
        return e
    pos = y.reshape((-1, 3))
    for c in range(3):
        mean = pos[:, c].mean()
        pos[:, c] -= mean
    x[:] = y
    return e_new
