"""The basin-hopping quench, compiled: smoothed phases, width 0, evaporation guard, polish.

A quench (:func:`lj_quench`) is two or three compiled calls (L-BFGS per phase, the
guard) with its settings in one :class:`QuenchArgs` built once per cluster size
(:func:`quench_args`) and the smoothed phases' kernel arguments apart (:func:`phase_args`,
None for a plain quench): a plain search compiles neither the smoothed phases nor the
general pair kernel. The few lines around the compiled calls are Python: one compiled
function around them re-optimized all of their code once more (~1 CPU-s of a first run,
for ~10 us a quench). :func:`guard` is the package's one evaporation guard
(:func:`~ase_gausslj.optimize.moves.evaporation_guard` calls it too).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from .energy import NORMS, ExactArgs, KernelArgs, kernel_args
from .loops import LBFGSOptions, LBFGSWork, lbfgs_core, lbfgs_work

__all__ = ["QuenchArgs", "quench_args", "phase_args", "guard", "centre", "lj_quench", "polish",
           "energy"]


class QuenchArgs(NamedTuple):
    """Everything :func:`lj_quench` needs besides the smoothed phases, the positions and
    the random draws (the phases travel apart: :func:`phase_args`)."""

    plain: KernelArgs | ExactArgs   # width 0
    smooth: LBFGSOptions            # the smoothed phases (loose: they only pick a basin)
    final: LBFGSOptions             # width 0
    polish: LBFGSOptions            # a new best (gtol 0: no polish)
    radius: float                   # evaporation-guard radius
    work: LBFGSWork                 # the L-BFGS's arrays, reused by every quench
    scratch: np.ndarray             # the guard's (N + 3,)


def quench_args(potential, n_atoms: int, *, gtol: float, width_gtol: float,
                polish_gtol: float, maxiter: int, radius: float, memory: int = 10,
                maxstep: float = 0.5, max_rise: float = 1e-4) -> QuenchArgs:
    """:class:`QuenchArgs` for ``n_atoms`` (values already checked by the caller).

    The L-BFGS settings are :func:`~.minimize.lbfgs_minimize`'s defaults; convergence on
    the largest gradient component (scipy's ``gtol``).
    """

    def opts(tol):
        return LBFGSOptions(float(tol), NORMS["max"], int(maxiter), int(memory),
                            float(maxstep), float(max_rise))

    return QuenchArgs(kernel_args(potential, 0.0, n_atoms), opts(width_gtol), opts(gtol),
                      opts(polish_gtol), float(radius), lbfgs_work(3 * n_atoms, int(memory)),
                      np.empty(n_atoms + 3))


def phase_args(potential, widths, n_atoms: int) -> tuple[KernelArgs, ...] | None:
    """The kernel arguments of the smoothed ``widths`` (coarse to fine) for
    :func:`lj_quench`; None without widths, so that a plain quench compiles no smoothed
    phase (numba prunes ``phases is None`` when it compiles)."""
    if not widths:
        return None
    return tuple(kernel_args(potential, float(w), n_atoms) for w in widths)


def guard(x: np.ndarray, radius: float, normals: np.ndarray, scratch: np.ndarray) -> int:
    """The evaporation guard, in place on flat ``x``; returns the number of atoms moved.

    An atom farther than ``radius`` from the median centre has escaped (:func:`escaped`);
    each escaped atom goes to the surface of the bound atoms (their centroid plus their
    largest distance, clipped to ``[0.5, radius]``) in the direction of its row of
    ``normals`` (:func:`bring_back`).

    ``normals`` (N, 3) are standard normal draws; escaped atom ``a`` uses row ``a``.
    ``scratch`` (at least N + 3 floats; overwritten) holds the per-atom distances and the
    centre: the caller allocates it, as numba's allocators cost a first run compilation.
    The two halves are compiled apart: a search in which no atom escapes (the README's
    main job) never compiles :func:`bring_back` (~0.2 CPU-s of a first run).
    """
    n_moved = escaped(x, radius, scratch)
    if n_moved:
        bring_back(x, radius, normals, scratch, n_moved)
    return n_moved


@nb.njit(cache=True)
def escaped(x, radius, scratch):
    """How many atoms of flat ``x`` are farther than ``radius`` from the median centre;
    leaves the distances in ``scratch[:N]`` and the centre in ``scratch[N:N + 3]``.

    Flat indexing throughout: a ``reshape`` compiles numba's shape-error path (~2 s of a
    first run).
    """
    n = x.size // 3
    for c in range(3):  # the median centre, in scratch[n:n + 3]
        for a in range(n):  # insertion sort of the coordinates (short)
            key = x[3 * a + c]
            j = a - 1
            while j >= 0 and scratch[j] > key:
                scratch[j + 1] = scratch[j]
                j -= 1
            scratch[j + 1] = key
        m = n // 2
        scratch[n + c] = scratch[m] if n % 2 else 0.5 * (scratch[m - 1] + scratch[m])
    n_moved = 0
    for a in range(n):
        d2 = 0.0
        for c in range(3):
            t = x[3 * a + c] - scratch[n + c]
            d2 += t * t
        scratch[a] = math.sqrt(d2)
        if scratch[a] > radius:
            n_moved += 1
    return n_moved


@nb.njit(cache=True)
def bring_back(x, radius, normals, scratch, n_moved):
    """The second half of :func:`guard`: the ``n_moved`` atoms beyond ``radius`` (by the
    distances :func:`escaped` left in ``scratch``) onto the bound atoms' surface."""
    n = x.size // 3
    r_surf = 0.0
    if n_moved < n:
        for c in range(3):
            acc = 0.0
            for a in range(n):
                if not scratch[a] > radius:
                    acc += x[3 * a + c]
            scratch[n + c] = acc / (n - n_moved)
        for a in range(n):
            if not scratch[a] > radius:
                d2 = 0.0
                for c in range(3):
                    t = x[3 * a + c] - scratch[n + c]
                    d2 += t * t
                r = math.sqrt(d2)
                r_surf = r if r > r_surf else r_surf  # = max(r_surf, r)
    # = min(max(r_surf, 0.5), radius) with numba's selects, no builtin to compile
    r_surf = 0.5 if 0.5 > r_surf else r_surf
    r_surf = radius if radius < r_surf else r_surf
    for a in range(n):
        if scratch[a] > radius:
            vn = math.sqrt(normals[a, 0] * normals[a, 0] + normals[a, 1] * normals[a, 1]
                           + normals[a, 2] * normals[a, 2])
            for c in range(3):
                x[3 * a + c] = scratch[n + c] + r_surf * normals[a, c] / vn


def centre(x: np.ndarray) -> None:
    """Subtract the mean position from flat ``x`` in place (numpy sums the rows in atom
    order, as the compiled loops did: the same bits; no compilation)."""
    pos = x.reshape(-1, 3)
    # = pos.mean(axis=0) bit for bit, at half its Python overhead (~4 us a quench)
    pos -= np.add.reduce(pos, axis=0) / pos.shape[0]


def lj_quench(x, qa, phases, p0, p1, normals):
    """Quench flat ``x`` in place; returns ``(e, n_fev)``.

    The smoothed phases ``phases[p0:p1]`` (:func:`phase_args`; None: none) run first, then
    width 0 and up to ``len(normals)`` guard rounds (each re-quenched at width 0;
    ``normals`` (rounds, N, 3) feed :func:`guard`). ``x`` is centred at the end.
    """
    n_fev = 0
    if phases is not None:
        for p in range(p0, p1):
            n_fev += lbfgs_core(x, phases[p], qa.smooth, qa.work)[3]
    e = 0.0
    rounds = normals.shape[0]
    for k in range(rounds + 1):
        r = lbfgs_core(x, qa.plain, qa.final, qa.work)
        e = r[0]
        n_fev += r[3]
        if k == rounds or guard(x, qa.radius, normals[k], qa.scratch) == 0:
            break
    centre(x)
    return e, n_fev


def polish(x: np.ndarray, e: float, qa: QuenchArgs) -> float:
    """Re-minimize flat ``x`` at width 0 to ``qa.polish.gtol`` (if > 0); the energy.

    A search that quenches loosely polishes only its new bests (rare), so the reported
    energy is that of a tightly converged minimum. ``x`` is kept (in place) only when the
    polish did not raise the energy, and is centred. Python around the compiled L-BFGS of
    :func:`lj_quench` (the same numba specialization: nothing more to compile).
    """
    if qa.polish.gtol <= 0.0:
        return e
    y = x.copy()
    e_new = float(lbfgs_core(y, qa.plain, qa.polish, qa.work)[0])
    if not e_new <= e:
        return e
    centre(y)
    x[:] = y
    return e_new


def energy(x: np.ndarray, qa: QuenchArgs, objective) -> float:
    """The width-0 energy of flat ``x``: ``objective(x, 0.0)[0]``, to the last bit.

    In reduced units (one species, ``eps = sigma = 1``: the README's main job) it comes
    from the compiled L-BFGS's own loop (no step taken: ``max_iter`` 0), which sums the
    same terms in the same order as the driver (``SmoothedLJ.energy_forces``; tests), so a
    search does not compile the driver's loop (~0.3 CPU-s of a first run).
    """
    pa = qa.plain
    if isinstance(pa, ExactArgs) and pa.eps == 1.0 and pa.inv == 1.0:
        return float(lbfgs_core(x, pa, qa.final._replace(max_iter=0), qa.work)[0])
    return float(objective(x, 0.0)[0])
