"""Compiled pieces of a basin-hopping step for LJ clusters: guard, quench, polish, chunk.

Split from :mod:`ase_gausslj.optimize.compiled_bh` (the Python driver
``lean_basin_hopping``); :class:`~ase_gausslj.optimize.quench.CompiledQuench` uses
:func:`lj_quench` for ``global_minimize``. The rules are those of
:mod:`ase_gausslj.optimize.globalopt`; see ``compiled_bh`` for the random-number layout.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .compiled import lbfgs_core

__all__ = ["bh_chunk", "lj_quench", "polish"]

_ENERGY_TOL = 1e-7  # a new best must be lower by at least this (as in globalopt)
_GUARD_ROUNDS = 3


@nb.njit(cache=True)
def _guard(x, radius, normals):
    """Evaporation guard of ``globalopt.evaporation_guard`` in place; returns atoms moved.

    ``normals`` (N, 3) are standard normal draws; escaped atom ``a`` uses row ``a``.
    """
    pos = x.reshape((-1, 3))
    n = pos.shape[0]
    centre = np.empty(3)
    for c in range(3):
        centre[c] = np.median(pos[:, c])
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
def lj_quench(x, types, nspec, phases, p0, p1, gtols, norm, max_iter, smooth_iter, m,
              maxstep, max_rise, radius, normals):
    """Quench flat ``x`` in place (smoothed phases, width 0, guard); returns ``(e, n_fev)``.

    ``phases`` is a tuple of kernel-argument tuples, the last one width 0; the smoothed
    phases ``phases[p0:p1]`` run first (tolerance ``gtols[p]``, at most ``smooth_iter``
    iterations), then width 0 (``gtols[-1]``, ``max_iter``). ``normals`` (3, N, 3) feed
    the guard rounds. ``x`` is centred at the end.
    """
    n_fev = 0
    for p in range(p0, p1):
        r = lbfgs_core(x, types, nspec, phases[p], gtols[p], norm, smooth_iter, m, maxstep,
                       max_rise)
        n_fev += r[3]
    last = len(phases) - 1
    ka = phases[last]
    gtol = gtols[last]
    r = lbfgs_core(x, types, nspec, ka, gtol, norm, max_iter, m, maxstep, max_rise)
    e = r[0]
    n_fev += r[3]
    for k in range(_GUARD_ROUNDS):
        if _guard(x, radius, normals[k]) == 0:
            break
        r = lbfgs_core(x, types, nspec, ka, gtol, norm, max_iter, m, maxstep, max_rise)
        e = r[0]
        n_fev += r[3]
    pos = x.reshape((-1, 3))
    for c in range(3):
        mean = pos[:, c].mean()
        pos[:, c] -= mean
    return e, n_fev


@nb.njit(cache=True)
def polish(x, e, types, nspec, phases, gtol, norm, max_iter, m, maxstep, max_rise):
    """Re-minimize flat ``x`` at width 0 to ``gtol`` if ``gtol > 0``; returns the energy.

    A search that quenches loosely polishes only its new bests (rare), so the reported
    energy is that of a tightly converged minimum.
    """
    if gtol <= 0.0:
        return e
    r = lbfgs_core(x, types, nspec, phases[len(phases) - 1], gtol, norm, max_iter, m,
                   maxstep, max_rise)
    return min(e, r[0])


@nb.njit(cache=True)
def bh_chunk(cur, best, energies, counters, disp, unif, picks, normals, step, temperature,
             patience, target, trace_n, trace_e, polish_gtol, types, nspec, phases, gtols,
             norm, max_iter, smooth_iter, m, maxstep, max_rise, radius):
    """Up to ``len(unif)`` basin-hopping steps from ``cur`` (flat, updated in place).

    ``disp`` (K, 3N) uniform in [-1, 1], ``unif`` (K,) uniform, ``picks`` (K, 2) the
    smoothed phases ``[p0, p1)`` of each step's quench, ``normals`` (K, 3, N, 3);
    ``energies = [cur_e, best_e]`` and ``counters = [n_min, since_best, n_fev]`` are
    updated in place; new bests are written to ``best`` and appended to
    ``trace_n``/``trace_e``. Returns ``(status, n_trace)``: status 0 all steps done,
    1 ``best_e <= target``, 2 ``patience`` exhausted (the caller restarts).
    """
    n = cur.size
    trial = np.empty(n)
    n_trace = 0
    for k in range(unif.size):
        for j in range(n):
            trial[j] = cur[j] + step * disp[k, j]
        e, nf = lj_quench(trial, types, nspec, phases, picks[k, 0], picks[k, 1], gtols, norm,
                          max_iter, smooth_iter, m, maxstep, max_rise, radius, normals[k])
        counters[0] += 1
        counters[1] += 1
        counters[2] += nf
        delta = e - energies[0]
        if math.isfinite(e) and (delta <= 0.0 or (
                temperature > 0.0 and unif[k] < math.exp(-delta / temperature))):
            cur[:] = trial
            energies[0] = e
        if e < energies[1] - _ENERGY_TOL:
            best[:] = trial
            e = polish(best, e, types, nspec, phases, polish_gtol, norm, max_iter, m,
                       maxstep, max_rise)
            energies[1] = e
            counters[1] = 0
            trace_n[n_trace] = counters[0]
            trace_e[n_trace] = e
            n_trace += 1
        if energies[1] <= target:
            return 1, n_trace
        if patience > 0 and counters[1] >= patience:
            return 2, n_trace
    return 0, n_trace
