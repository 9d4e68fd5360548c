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

Every function returns the package's one :class:`~ase_gausslj.optimize.results.LocalResult`
``(x, energy, grad_norm, steps, n_evals, converged)``, ``grad_norm`` in the chosen norm.
The loops live in :mod:`.loops`, the energy in :mod:`.energy`, the basin-hopping quench
in :mod:`.quench`.
"""

from __future__ import annotations

import numpy as np

from ...core.validation import check_finite, count, positive
from ..results import LocalResult
from .energy import NORMS, _default_potential, kernel_args
from .loops import FireOptions, LBFGSOptions, fire_core, lbfgs_core, lbfgs_work

__all__ = ["LJObjective", "fire_minimize", "lbfgs_backend", "lbfgs_minimize"]


def _real(value, name: str) -> float:
    """A positive finite float; TypeError for a non-number (bool and str included)."""
    if isinstance(value, (str, bytes, bool)) or np.ndim(value) != 0:
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return positive(value, name)


def _prepare(x0, width, potential, gtol, max_iter, norm):
    """Checked ``(flat copy of x0, its shape, KernelArgs, (gtol, norm code, max_iter))``."""
    x = check_finite(x0, "x0")
    shape = x.shape
    if x.size == 0 or x.size % 3 or (x.ndim == 2 and shape[1] != 3) or x.ndim > 2:
        raise ValueError(f"x0 must have shape (3N,) or (N, 3), got {shape}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {sorted(NORMS)}, got {norm!r}")
    head = (_real(gtol, "gtol"), NORMS[norm], count(max_iter, "max_iter", 0))
    ka = kernel_args(potential, width, x.size // 3)
    return np.array(x, dtype=np.float64).ravel(), shape, ka, head


def _result(x, shape, out) -> LocalResult:
    e, gn, it, nfev, conv = out
    return LocalResult(x.reshape(shape), float(e), float(gn), int(it), int(nfev), bool(conv))


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
        ``(x, energy, grad_norm, steps, n_evals, converged)``, ``x`` shaped like ``x0``.

    Examples
    --------
    >>> res = lbfgs_minimize(start, 0.0, gtol=1e-5)  # doctest: +SKIP
    >>> res.converged, res.energy  # doctest: +SKIP
    """
    x, shape, ka, head = _prepare(x0, width, potential, gtol, max_iter, norm)
    opt = LBFGSOptions(*head, count(memory, "memory", 1), _real(maxstep, "maxstep"),
                       _real(max_rise, "max_rise"))
    return _result(x, shape, lbfgs_core(x, ka, opt, lbfgs_work(x.size, opt.memory)))


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
        ``(x, energy, grad_norm, steps, n_evals, converged)``.
    """
    x, shape, ka, head = _prepare(x0, width, potential, gtol, max_iter, norm)
    opt = FireOptions(*head, _real(dt, "dt"), _real(maxstep, "maxstep"),
                      _real(dtmax, "dtmax"), count(nmin, "nmin", 0), _real(finc, "finc"),
                      _real(fdec, "fdec"), _real(astart, "astart"), _real(fa, "fa"))
    return _result(x, shape, fire_core(x, ka, opt))


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
    component ``<= gtol``), and ``grad_norm`` is that norm (no extra evaluation).

    Returns
    -------
    LocalResult
        ``(x, energy, grad_norm, steps, n_evals, converged)``, ``x`` flat.
    """
    pot = getattr(fg, "potential", None)
    width = getattr(fg, "width", None)
    if pot is None or width is None:
        raise TypeError(
            "the compiled L-BFGS needs fg = LJObjective(potential, width); got "
            f"{type(fg).__name__} (use the 'scipy' backend for other objectives)"
        )
    return lbfgs_minimize(np.ravel(x), width, potential=pot, gtol=gtol, max_iter=steps)
