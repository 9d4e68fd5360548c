"""Local minimizers compiled with numba over the project's pair kernels.

L-BFGS and FIRE run entirely in nopython mode around the pair kernels (all pairs;
smoothed at ``width > 0`` through :func:`ase_gausslj.core.kernels.allpairs` and the table
slice; the analytic regularized LJ at ``width == 0``, in a fused loop for one species):
no Python runs between two energy evaluations, so a quench of LJ38 costs its ~100-300
energy calls and little else (scipy's L-BFGS-B pays ~20-40 us of Python per iteration
around a ~4-10 us energy call).

The L-BFGS step follows pele's ``LBFGS`` (Wales group): two-loop recursion with memory
``memory``, the step length capped at ``maxstep`` (Euclidean norm of the whole step; pele's
default is 0.1, ours 0.5), and a backtracking rule that halves the step while the energy
rises by more than ``max_rise``. That rule needs one evaluation per iteration almost
always, and it is robust in the regularized affine core (``r < R_CORE sigma``), where pair
forces are constant: the cap keeps the first steps out of overlapping starts short.
Unlike pele, a pair ``(s, y)`` with ``s.y <= 0`` is not stored (it would make the inverse
Hessian indefinite), and when ten halvings find no acceptable point the memory is dropped
and the step repeated along the steepest descent.

Convergence is tested on the gradient with the norm ``norm``:

``'max'``   ``max_i |g_i|`` (scipy L-BFGS-B's ``gtol``: what ``globalopt``/``homotopy`` use)
``'rms'``   ``|g| / sqrt(3N)`` (pele's ``tol``)
``'l2'``    ``|g|``
``'atom'``  ``max_atoms |g_atom|`` (ASE's ``fmax``)

Every function returns a :class:`LocalResult` ``(x, e, g_norm, n_iter, n_fev, converged)``,
``g_norm`` in the chosen norm.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from ..core.validation import check_finite
from .compiled_energy import _default_potential, _energy_grad, _gnorm, kernel_args

__all__ = [
    "NORMS",
    "LJObjective",
    "LocalResult",
    "fire_minimize",
    "kernel_args",
    "lbfgs_backend",
    "lbfgs_minimize",
]

NORMS = {"max": 0, "rms": 1, "l2": 2, "atom": 3}
"""Gradient norms accepted by ``norm=`` (name -> code passed to the kernels)."""

_MAX_HALVINGS = 10  # pele's nred_max


class LocalResult(NamedTuple):
    """Outcome of one local minimization (flat ``x`` of the input's shape)."""

    x: np.ndarray
    e: float
    g_norm: float
    n_iter: int
    n_fev: int
    converged: bool


# --------------------------------------------------------------------------------------
# compiled minimizers
# --------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _two_loop(g, d, s_mem, y_mem, rho, alpha, k, m, h0):
    """``d = -H g`` by the L-BFGS two-loop recursion over the last ``min(k, m)`` pairs."""
    n = g.size
    for j in range(n):
        d[j] = g[j]
    lo = max(0, k - m)
    for it in range(k - 1, lo - 1, -1):
        i = it % m
        a = 0.0
        for j in range(n):
            a += s_mem[i, j] * d[j]
        a *= rho[i]
        alpha[i] = a
        for j in range(n):
            d[j] -= a * y_mem[i, j]
    for j in range(n):
        d[j] *= h0
    for it in range(lo, k):
        i = it % m
        b = 0.0
        for j in range(n):
            b += y_mem[i, j] * d[j]
        b = alpha[i] - rho[i] * b
        for j in range(n):
            d[j] += b * s_mem[i, j]
    for j in range(n):
        d[j] = -d[j]


@nb.njit(cache=True)
def lbfgs_core(x, types, nspec, ka, gtol, norm, max_iter, m, maxstep, max_rise):
    """L-BFGS in place on flat ``x``; returns ``(e, g_norm, n_iter, n_fev, converged)``.

    One function, ~80 lines: splitting the loop body would pass the memory arrays
    through calls that numba reference-counts at every iteration.
    """
    n = x.size
    no_e, no_v, no_av = np.zeros(0), np.zeros((3, 3)), np.zeros((0, 3, 3))
    s_mem = np.zeros((m, n))
    y_mem = np.zeros((m, n))
    rho = np.zeros(m)
    alpha = np.zeros(m)
    g = np.empty(n)
    g_new = np.empty(n)
    x_new = np.empty(n)
    d = np.empty(n)
    e = _energy_grad(x, g, types, nspec, ka, no_e, no_v, no_av)
    n_fev = 1
    gn = _gnorm(g, norm)
    if not math.isfinite(e):
        return e, gn, 0, n_fev, False
    k = 0  # pairs stored since the last reset
    h0 = 0.1  # pele's initial inverse-Hessian scale
    it = 0
    stalled = False
    while gn > gtol and it < max_iter:
        if k == 0:
            # pele's conservative first step: length h0 * min(|g|, 1)
            g2 = 0.0
            for j in range(n):
                g2 += g[j] * g[j]
            scale = h0 / max(math.sqrt(g2), 1.0)
            for j in range(n):
                d[j] = -scale * g[j]
        else:
            _two_loop(g, d, s_mem, y_mem, rho, alpha, k, m, h0)
        dn = 0.0
        dg = 0.0
        for j in range(n):
            dn += d[j] * d[j]
            dg += d[j] * g[j]
        dn = math.sqrt(dn)
        if dg >= 0.0 or dn == 0.0 or not math.isfinite(dn):
            # not a descent direction (rounding at tiny gradients): start afresh
            if k == 0:
                break
            k = 0
            continue
        factor = min(1.0, maxstep / dn)
        ok = False
        e_new = e
        for _ in range(_MAX_HALVINGS):
            for j in range(n):
                x_new[j] = x[j] + factor * d[j]
            e_new = _energy_grad(x_new, g_new, types, nspec, ka, no_e, no_v, no_av)
            n_fev += 1
            if e_new - e < max_rise:  # False for NaN: halve
                ok = True
                break
            factor *= 0.5
        if not ok:
            if k == 0:
                stalled = True
                break
            k = 0  # the memory misleads: retry along the steepest descent
            continue
        i = k % m
        ys = 0.0
        yy = 0.0
        for j in range(n):
            sj = x_new[j] - x[j]
            yj = g_new[j] - g[j]
            s_mem[i, j] = sj
            y_mem[i, j] = yj
            ys += sj * yj
            yy += yj * yj
            x[j] = x_new[j]
            g[j] = g_new[j]
        e = e_new
        if ys > 1e-300 and yy > 0.0:
            rho[i] = 1.0 / ys
            h0 = ys / yy
            k += 1
        it += 1
        gn = _gnorm(g, norm)
    return e, gn, it, n_fev, gn <= gtol and not stalled


@nb.njit(cache=True)
def fire_core(x, types, nspec, ka, gtol, norm, max_iter, dt, maxstep, dtmax, nmin, finc,
              fdec, astart, fa):
    """FIRE (Bitzek et al. 2006, unit masses) in place on flat ``x``.

    Step for step the algorithm of ``homotopy._fire`` (ASE's parameters); returns
    ``(e, g_norm, n_iter, n_fev, converged)``.
    """
    n = x.size
    no_e, no_v, no_av = np.zeros(0), np.zeros((3, 3)), np.zeros((0, 3, 3))
    g = np.empty(n)
    v = np.zeros(n)
    a = astart
    n_pos = 0
    it = 0
    n_fev = 0
    while True:
        e = _energy_grad(x, g, types, nspec, ka, no_e, no_v, no_av)
        n_fev += 1
        gn = _gnorm(g, norm)
        if gn < gtol or it >= max_iter or not math.isfinite(e):
            return e, gn, it, n_fev, gn < gtol and math.isfinite(e)
        it += 1
        vf = 0.0
        vv = 0.0
        ff = 0.0
        for j in range(n):
            vf -= v[j] * g[j]
            vv += v[j] * v[j]
            ff += g[j] * g[j]
        if vf > 0.0:
            c = a * math.sqrt(vv) / math.sqrt(ff)
            for j in range(n):
                v[j] = (1.0 - a) * v[j] - c * g[j]
            if n_pos > nmin:
                dt = min(dt * finc, dtmax)
                a *= fa
            n_pos += 1
        else:
            for j in range(n):
                v[j] = 0.0
            a = astart
            n_pos = 0
            dt *= fdec
        dr2 = 0.0
        for j in range(n):
            v[j] -= dt * g[j]
            dr2 += (dt * v[j]) ** 2
        scale = dt
        if math.sqrt(dr2) > maxstep:
            scale = dt * maxstep / math.sqrt(dr2)
        for j in range(n):
            x[j] += scale * v[j]


# --------------------------------------------------------------------------------------
# Python entry points
# --------------------------------------------------------------------------------------


def _positive(value, name):
    """``float(value)``; TypeError if not a real number, ValueError unless finite > 0."""
    if isinstance(value, (str, bytes, bool)) or np.ndim(value) != 0:
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return v


def _prepare(x0, width, potential, gtol, max_iter, norm):
    x = check_finite(x0, "x0")
    shape = x.shape
    if x.size == 0 or x.size % 3 or (x.ndim == 2 and shape[1] != 3) or x.ndim > 2:
        raise ValueError(f"x0 must have shape (3N,) or (N, 3), got {shape}")
    _positive(gtol, "gtol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
        raise TypeError(f"max_iter must be an int, got {type(max_iter).__name__}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {sorted(NORMS)}, got {norm!r}")
    types, nspec, ka = kernel_args(potential, width, x.size // 3)
    return np.array(x, dtype=np.float64).ravel(), shape, types, nspec, ka


def lbfgs_minimize(
    x0,
    width: float = 0.0,
    *,
    potential=None,
    gtol: float = 1e-5,
    max_iter: int = 2000,
    norm: str = "max",
    memory: int = 10,
    maxstep: float = 0.5,
    max_rise: float = 1e-4,
) -> LocalResult:
    """Minimize the (smoothed) LJ energy from ``x0`` with compiled L-BFGS.

    Parameters
    ----------
    x0 : array_like, shape (3N,) or (N, 3)
        Start (length unit of ``potential``; sigma for the default).
    width : float
        Gaussian width, >= 0 (0: the plain regularized LJ, analytic).
    potential : SmoothedLJ, optional
        Pair potential (default: reduced LJ, ``r_core = R_CORE``).
    gtol : float
        Stop when the gradient norm (``norm``) is ``<= gtol``.
    max_iter : int
        Maximum iterations (accepted steps).
    norm : {'max', 'rms', 'l2', 'atom'}
        Gradient norm of the test (see the module docstring); 'max' is scipy's.
    memory : int
        Number of stored ``(s, y)`` pairs (pele: 4, scipy in this package: 20).
    maxstep : float
        Largest Euclidean norm of one step. pele uses 0.1; 0.5 saves ~15% of the
        evaluations of a plain LJ38 quench and ~2x in a width-0.3 phase, whose minimum
        lies far from the start (measured, see results/engine/).
    max_rise : float
        Largest energy rise accepted without halving the step (pele's 1e-4).

    Returns
    -------
    LocalResult
        ``(x, e, g_norm, n_iter, n_fev, converged)``, ``x`` shaped like ``x0``.

    Examples
    --------
    >>> res = lbfgs_minimize(start, 0.0, gtol=1e-5)  # doctest: +SKIP
    >>> res.converged, res.e  # doctest: +SKIP
    """
    x, shape, types, nspec, ka = _prepare(x0, width, potential, gtol, max_iter, norm)
    if isinstance(memory, bool) or not isinstance(memory, (int, np.integer)) or memory < 1:
        raise ValueError(f"memory must be an int >= 1, got {memory!r}")
    maxstep = _positive(maxstep, "maxstep")
    max_rise = _positive(max_rise, "max_rise")
    e, gn, it, nfev, conv = lbfgs_core(x, types, nspec, ka, _positive(gtol, "gtol"), NORMS[norm],
                                       int(max_iter), int(memory), maxstep, max_rise)
    return LocalResult(x.reshape(shape), float(e), float(gn), int(it), int(nfev), bool(conv))


def fire_minimize(
    x0,
    width: float = 0.0,
    *,
    potential=None,
    gtol: float = 1e-5,
    max_iter: int = 10000,
    norm: str = "max",
    dt: float = 0.1,
    maxstep: float = 0.2,
    dtmax: float = 1.0,
    nmin: int = 5,
    finc: float = 1.1,
    fdec: float = 0.5,
    astart: float = 0.1,
    fa: float = 0.99,
) -> LocalResult:
    """Minimize the (smoothed) LJ energy from ``x0`` with compiled FIRE.

    Parameters are those of :func:`lbfgs_minimize` plus FIRE's (Bitzek et al. 2006, ASE
    defaults): time step ``dt`` and its cap ``dtmax``, ``maxstep`` (Euclidean norm of one
    displacement), ``nmin`` downhill steps before ``dt`` grows by ``finc``, ``fdec`` the
    shrink factor after an uphill step, mixing ``astart`` decaying by ``fa``. Unit masses.

    Returns
    -------
    LocalResult
        ``(x, e, g_norm, n_iter, n_fev, converged)``.
    """
    x, shape, types, nspec, ka = _prepare(x0, width, potential, gtol, max_iter, norm)
    vals = [_positive(v, name) for v, name in ((dt, "dt"), (maxstep, "maxstep"),
                                              (dtmax, "dtmax"), (finc, "finc"),
                                              (fdec, "fdec"), (astart, "astart"), (fa, "fa"))]
    if isinstance(nmin, bool) or not isinstance(nmin, (int, np.integer)) or nmin < 0:
        raise ValueError(f"nmin must be an int >= 0, got {nmin!r}")
    dt, maxstep, dtmax, finc, fdec, astart, fa = vals
    e, gn, it, nfev, conv = fire_core(x, types, nspec, ka, _positive(gtol, "gtol"), NORMS[norm],
                                      int(max_iter), dt, maxstep, dtmax, int(nmin), finc,
                                      fdec, astart, fa)
    return LocalResult(x.reshape(shape), float(e), float(gn), int(it), int(nfev), bool(conv))


# --------------------------------------------------------------------------------------
# plug-in for ase_gausslj.optimize.local (register_lbfgs("compiled", lbfgs_backend))
# --------------------------------------------------------------------------------------


class LJObjective:
    """``fg(x) -> (E, grad)`` of a :class:`SmoothedLJ` at a fixed width.

    Any minimizer can call it like a closure; :func:`lbfgs_backend` reads ``potential``
    and ``width`` from it and runs the compiled L-BFGS instead of calling it.
    """

    def __init__(self, potential, width: float):
        self.potential = _default_potential() if potential is None else potential
        self.width = float(width)

    def __call__(self, x):
        return self.potential.energy_gradient(x, self.width)


def lbfgs_backend(fg, x, *, steps: int, gtol: float):
    """Compiled L-BFGS with the signature of ``ase_gausslj.optimize.local`` backends.

    ``fg`` must be an :class:`LJObjective` (an arbitrary Python objective cannot run in
    numba: use the 'scipy' backend for those). Convergence is scipy's (largest gradient
    component ``<= gtol``); the result's ``grad_norm`` is the 2-norm, as for 'scipy'.

    Returns
    -------
    ase_gausslj.optimize.local.LocalResult
        ``(x, energy, grad_norm, steps, n_evals, converged)``, ``x`` flat.
    """
    from .local import LocalResult as PackageResult  # lazy: local may register this module

    pot = getattr(fg, "potential", None)
    width = getattr(fg, "width", None)
    if pot is None or width is None:
        raise TypeError(
            "the compiled L-BFGS needs fg = LJObjective(potential, width); got "
            f"{type(fg).__name__} (use the 'scipy' backend for other objectives)"
        )
    r = lbfgs_minimize(np.ravel(x), width, potential=pot, gtol=gtol, max_iter=steps)
    _, g = fg(r.x)
    return PackageResult(r.x, r.e, float(np.sqrt(g @ g)), r.n_iter, r.n_fev, r.converged)
