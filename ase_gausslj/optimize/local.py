"""Local minimizers on flat arrays: one L-BFGS (pluggable backend), FIRE and Adam.

Every minimizer takes ``fg(x) -> (E, grad)`` on a flat float64 array and returns a
:class:`LocalResult`. L-BFGS has one tolerance convention for the whole package
(:data:`LBFGS_OPTIONS`): ``gtol`` is scipy's projected-gradient tolerance (the largest
gradient component), ``ftol`` and the history size are fixed here.

The L-BFGS *implementation* is a strategy chosen by name (``backend=``): ``'scipy'``
(L-BFGS-B, any objective) and ``'compiled'`` (numba, :mod:`.compiled`; only for the
project's :class:`~ase_gausslj.core.energy.SmoothedLJ`) are built in; another is added
with :func:`register_lbfgs` and then selected everywhere by ``minimizer=<name>``.
:func:`resolve_minimizer` picks the default: ``'compiled'`` for a ``SmoothedLJ``
objective, ``'scipy'`` for anything else (an ASE calculator, a user function).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import numpy as np

from .results import LocalResult

__all__ = [
    "LocalResult",
    "LBFGS_OPTIONS",
    "LBFGS_BACKENDS",
    "register_lbfgs",
    "check_minimizer",
    "resolve_minimizer",
    "lj_potential",
    "lbfgs",
    "fire",
    "adam",
    "limit_blas_threads",
]

FG = Callable[[np.ndarray], "tuple[float, np.ndarray]"]

LBFGS_OPTIONS = {"ftol": 1e-12, "maxcor": 20}
"""The one L-BFGS convention (besides ``gtol`` and the iteration cap)."""


@contextlib.contextmanager
def limit_blas_threads(n: int = 1) -> Iterator[None]:
    """Limit BLAS threads (via threadpoolctl when installed; otherwise a no-op).

    scipy's L-BFGS-B on a small shared machine ran 25x slower with multithreaded
    BLAS; set ``OPENBLAS_NUM_THREADS=1`` before starting Python if threadpoolctl is
    not available.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def _scipy_lbfgs(fg: FG, x: np.ndarray, *, steps: int, gtol: float) -> LocalResult:
    """scipy L-BFGS-B with :data:`LBFGS_OPTIONS` (BLAS threads limited to one)."""
    from scipy.optimize import minimize

    with limit_blas_threads(1):
        res = minimize(fg, x, jac=True, method="L-BFGS-B",
                       options={"maxiter": int(steps), "gtol": gtol, **LBFGS_OPTIONS})
    g = np.asarray(res.jac)
    gn = float(np.sqrt(g @ g))
    return LocalResult(np.asarray(res.x), float(res.fun), gn, int(res.nit), int(res.nfev),
                       bool(gn < gtol or res.status == 0))


def _compiled_lbfgs(fg: FG, x: np.ndarray, *, steps: int, gtol: float) -> LocalResult:
    """The numba L-BFGS (:func:`.compiled.lbfgs_backend`; ``fg`` an ``LJObjective``)."""
    from .compiled import lbfgs_backend  # lazy: numba is imported on first use only

    return lbfgs_backend(fg, x, steps=steps, gtol=gtol)


LBFGS_BACKENDS: dict[str, Callable[..., LocalResult]] = {"scipy": _scipy_lbfgs,
                                                         "compiled": _compiled_lbfgs}
"""L-BFGS implementations by name: ``fn(fg, x, *, steps, gtol) -> LocalResult``."""


def register_lbfgs(name: str, fn: Callable[..., LocalResult]) -> None:
    """Make ``fn`` selectable as ``minimizer=name`` (same signature as :func:`lbfgs`)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    LBFGS_BACKENDS[str(name)] = fn


def check_minimizer(name: str, arg: str = "minimizer") -> str:
    """``name`` if it is a registered L-BFGS backend, else a ValueError naming ``arg``."""
    if name not in LBFGS_BACKENDS:
        raise ValueError(f"{arg} must be one of {sorted(LBFGS_BACKENDS)}, got {name!r}")
    return name


def lj_potential(objective):
    """The :class:`SmoothedLJ` behind ``objective``, or None for any other callable.

    ``objective`` is recognised when it is a ``SmoothedLJ``'s bound ``energy_gradient``
    (what ``global_minimize``/``homotopy_minimize`` build by default) or an
    :class:`~.compiled.LJObjective`-like object with ``potential`` and ``width``.
    """
    owner = getattr(objective, "__self__", None)
    if owner is not None and getattr(objective, "__name__", "") == "energy_gradient":
        from ..core.energy import SmoothedLJ  # lazy: only for bound methods

        return owner if isinstance(owner, SmoothedLJ) else None
    pot = getattr(objective, "potential", None)
    if pot is not None and hasattr(objective, "width"):
        from ..core.energy import SmoothedLJ

        return pot if isinstance(pot, SmoothedLJ) else None
    return None


def resolve_minimizer(minimizer: str | None, objective, arg: str = "minimizer") -> str:
    """The L-BFGS backend to use for ``objective``.

    ``None`` (or ``'auto'``) gives ``'compiled'`` when ``objective`` is the project's
    ``SmoothedLJ`` (see :func:`lj_potential`) and ``'scipy'`` otherwise; a name is
    checked, and ``'compiled'`` for another objective is a ValueError (numba cannot
    call an arbitrary Python function without losing its speed).
    """
    if minimizer is None or minimizer == "auto":
        return "compiled" if lj_potential(objective) is not None else "scipy"
    check_minimizer(minimizer, arg)
    if minimizer == "compiled" and lj_potential(objective) is None:
        raise ValueError(f"{arg}='compiled' needs the project's SmoothedLJ objective, got "
                         f"{type(objective).__name__}; use {arg}='scipy' (or the default)")
    return minimizer


def lbfgs(fg: FG, x: np.ndarray, *, steps: int, gtol: float,
          backend: str = "scipy") -> LocalResult:
    """L-BFGS from ``x`` for at most ``steps`` iterations, to projected gradient ``gtol``.

    Parameters
    ----------
    fg : callable
        ``fg(x) -> (E, grad)`` on flat arrays.
    x : ndarray
        Start (flat, float64).
    steps : int
        Iteration cap.
    gtol : float
        Largest gradient component at convergence (scipy's ``gtol``).
    backend : str
        A name in :data:`LBFGS_BACKENDS`.
    """
    return LBFGS_BACKENDS[check_minimizer(backend, "backend")](fg, x, steps=steps, gtol=gtol)


def adam(fg: FG, x: np.ndarray, *, lr: float, steps: int, patience: int, lr_factor: float,
         gtol: float, eps: float = 1e-8, b1: float = 0.9, b2: float = 0.999) -> LocalResult:
    """Adam (torch semantics) with a plateau LR rule; keeps the best configuration.

    Stops after ``steps`` updates or when the gradient 2-norm is below ``gtol``
    (``converged`` then says the trigger fired). The learning rate is multiplied by
    ``lr_factor`` after ``patience`` evaluations without a new best energy.
    """
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    best_e, best_x, best_gn = math.inf, x.copy(), math.inf
    bad = t = n_evals = 0
    triggered = False
    while True:
        e, g = fg(x)
        n_evals += 1
        gn = float(np.sqrt(g @ g))
        if e < best_e:
            best_e, best_x, best_gn, bad = float(e), x.copy(), gn, 0
        else:
            bad += 1
            if bad > patience:
                lr *= lr_factor
                bad = 0
        if gn < gtol:
            triggered = True
            break
        if t >= steps:
            break
        t += 1
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        mhat = m / (1.0 - b1**t)
        vhat = v / (1.0 - b2**t)
        x = x - lr * mhat / (np.sqrt(vhat) + eps)
    return LocalResult(best_x, best_e, best_gn, t, n_evals, triggered)


def fire(fg: FG, x: np.ndarray, *, steps: int, gtol: float, dt: float = 0.1,
         maxstep: float = 0.2, dtmax: float = 1.0, nmin: int = 5, finc: float = 1.1,
         fdec: float = 0.5, astart: float = 0.1, fa: float = 0.99) -> LocalResult:
    """FIRE (Bitzek et al. 2006, unit masses); stops at gradient 2-norm ``gtol``."""
    v = np.zeros_like(x)
    a, n_pos = astart, 0
    t = n_evals = 0
    while True:
        e, g = fg(x)
        n_evals += 1
        gn = float(np.sqrt(g @ g))
        if gn < gtol or t >= steps:
            return LocalResult(x, float(e), gn, t, n_evals, gn < gtol)
        t += 1
        f = -g
        if float(v @ f) > 0.0:
            v = (1.0 - a) * v + a * f / gn * float(np.sqrt(v @ v))
            if n_pos > nmin:
                dt = min(dt * finc, dtmax)
                a *= fa
            n_pos += 1
        else:
            v[:] = 0.0
            a, n_pos = astart, 0
            dt *= fdec
        v = v + dt * f
        dr = dt * v
        norm = float(np.sqrt(dr @ dr))
        if norm > maxstep:
            dr *= maxstep / norm
        x = x + dr
