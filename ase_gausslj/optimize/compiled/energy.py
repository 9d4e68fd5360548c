"""The energy the compiled minimizers see: named kernel arguments, E + gradient, norms.

:class:`KernelArgs` is everything the pair kernel needs at one width, built once per width
by :func:`kernel_args` and passed whole to the compiled loops (no positional tuples). One
species at width 0 (basin hopping's quenches, the main job) gets :class:`ExactArgs`
instead: a different numba type, so a loop compiled for it holds only the fused width-0
loop, and the general kernel with its table branches is compiled only by a run that uses
it (a first run of ``gausslj optimize`` then compiles ~4x less code; docs/speed.md).

Note on ``cache=True``: numba invalidates a cached function only when its own file
changes, not when a callee in another module (``core.kernels.allpairs_forces``) does; after an
edit of the kernels, clear ``__pycache__/*.nbi|*.nbc`` of this package (the tests compare
these functions with ``SmoothedLJ.energy_gradient`` and catch a stale cache).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np
from numba.extending import overload

from ...core.kernels import SliceArgs, allpairs_forces

__all__ = ["NORMS", "PairArgs", "KernelArgs", "ExactArgs", "kernel_args", "energy_grad",
           "gnorm"]

NORMS = {"max": 0, "rms": 1, "l2": 2, "atom": 3}
"""Gradient norms accepted by ``norm=`` (name -> code passed to the kernels)."""

_DEFAULT_POTENTIAL = None


#: The pair terms of one width: the core's named kernel argument (built and cached by
#: ``SmoothedLJ.kernel_args``, every array C-contiguous).
PairArgs = SliceArgs


class KernelArgs(NamedTuple):
    """Everything one energy + gradient call needs at one width (built once per width)."""

    types: np.ndarray  # (N,) int64 pair-type index of every atom
    nspec: int
    pair: PairArgs


class ExactArgs(NamedTuple):
    """One species at width 0: the regularized LJ ``eps F(r / sig)`` in closed form.

    ``inv = 1 / sig``; ``(c0, c1)`` the affine core ``eps (c0 + c1 r / sig)`` inside
    ``rc`` (reduced), the LJ ``4 eps (u^-12 - u^-6)`` beyond.
    """

    eps: float
    inv: float
    c0: float
    c1: float
    rc: float


def _default_potential():
    global _DEFAULT_POTENTIAL
    if _DEFAULT_POTENTIAL is None:
        from ...core.energy import SmoothedLJ  # lazy: table load on first use only

        _DEFAULT_POTENTIAL = SmoothedLJ()
    return _DEFAULT_POTENTIAL


def kernel_args(potential, width: float, n_atoms: int) -> KernelArgs | ExactArgs:
    """The :class:`KernelArgs` of ``potential`` at ``width`` for ``n_atoms`` atoms
    (:class:`ExactArgs` for one species at width 0).

    Every array is C-contiguous so that the arguments of all widths share one numba type
    (one compilation serves a whole smoothing ladder). ``width`` is checked by
    ``potential.kernel_args``.

    Parameters
    ----------
    potential : SmoothedLJ or None
        The pair potential (``None``: reduced LJ with the default ``r_core``).
    width : float
        Gaussian width (length unit of the potential), >= 0.
    n_atoms : int
        Number of atoms (checked against per-atom parameters).
    """
    pot = _default_potential() if potential is None else potential
    pair = pot.kernel_args(width)
    if pair.exact and pot.nspec == 1:
        if pot.types is not None and pot.types.size != n_atoms:
            raise ValueError(
                f"x0 has {n_atoms} atoms but the potential was built for {pot.types.size}"
            )
        return ExactArgs(float(pair.prm[0, 0]), float(pair.prm[0, 1]), float(pair.core[0]),
                         float(pair.core[1]), float(pair.core[2]))
    if pot.types is None:
        types = np.zeros(n_atoms, dtype=np.int64)
    else:
        types = np.ascontiguousarray(pot.types, dtype=np.int64)
        if types.size != n_atoms:
            raise ValueError(
                f"x0 has {n_atoms} atoms but the potential was built for {types.size}"
            )
    return KernelArgs(types, int(pot.nspec), pair)


def _exact_single(x, g, ka):
    """Width-0 regularized LJ of one species (:class:`ExactArgs` ``ka``), all pairs, in
    one fused loop (compiled as the :class:`ExactArgs` case of :func:`eval_energy_grad`,
    not a function of its own: one compilation less in a first run).

    The same pair terms as the ``exact`` branch of ``kernels._pair_row`` (``4 eps
    (u^-12 - u^-6)`` beyond ``rc``, the affine core ``eps (c0 + c1 u)`` inside), summed in
    the same order as ``kernels.allpairs_exact``: in reduced units (``eps = sigma = 1``)
    the energy is the driver's to the last bit (the factors of 1 are exact), so a quench
    reports it without compiling the driver's loop (:func:`.quench.energy`). Summing
    ``eps`` and ``sigma`` the driver's way in general costs the search ~4 % (measured).
    The general kernel gathers pairs into buffers for its table path and costs ~2x this
    loop at LJ38 (6.6 vs 3.4 us), which is most of a quench.
    """
    eps = ka.eps
    inv = ka.inv
    c0 = ka.c0
    c1 = ka.c1
    rc = ka.rc
    n = x.size // 3
    for k in range(x.size):
        g[k] = 0.0
    rc2 = rc * rc
    inv2 = inv * inv
    etot = 0.0
    for i in range(n):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        gxi = 0.0
        gyi = 0.0
        gzi = 0.0
        for j in range(i + 1, n):
            dx = x[3 * j] - xi
            dy = x[3 * j + 1] - yi
            dz = x[3 * j + 2] - zi
            r2 = dx * dx + dy * dy + dz * dz
            x2 = r2 * inv2
            if x2 > rc2:
                i2 = 1.0 / x2
                i6 = i2 * i2 * i2
                etot += 4.0 * i6 * (i6 - 1.0)
                gg = -(48.0 * i6 - 24.0) * i6 * i2 * inv2
            else:
                rr = math.sqrt(r2)
                etot += c0 + c1 * rr * inv
                gg = c1 * inv / rr if rr > 0.0 else 0.0
            gxi -= gg * dx
            gyi -= gg * dy
            gzi -= gg * dz
            g[3 * j] += gg * dx
            g[3 * j + 1] += gg * dy
            g[3 * j + 2] += gg * dz
        g[3 * i] += gxi
        g[3 * i + 1] += gyi
        g[3 * i + 2] += gzi
    for k in range(x.size):
        g[k] *= eps
    return eps * etot


def eval_energy_grad(x, g, ka):
    """``E(x)``, writing ``dE/dx`` into ``g``; numba picks the loop by the type of ``ka``
    when it compiles a caller (:class:`ExactArgs`: the fused width-0 loop alone)."""
    raise NotImplementedError("eval_energy_grad runs inside numba; call energy_grad")


@overload(eval_energy_grad, jit_options={"cache": True})
def _ol_energy_grad(x, g, ka):
    if getattr(ka, "instance_class", None) is ExactArgs:
        return _exact_single

    def general(x, g, ka):
        f = g.reshape((-1, 3))
        e = allpairs_forces(x.reshape((-1, 3)), ka.types, ka.nspec, ka.pair, f)
        for i in range(g.size):
            g[i] = -g[i]
        return e

    return general


@nb.njit(cache=True)
def energy_grad(x, g, ka):
    """``E(x)``, writing ``dE/dx`` into ``g`` (flat 3N arrays); ``ka`` a :class:`KernelArgs`
    or :class:`ExactArgs`."""
    return eval_energy_grad(x, g, ka)


@nb.njit(cache=True)
def gnorm(g, kind):
    """Gradient norm of kind ``kind`` (codes of :data:`NORMS`)."""
    acc = 0.0
    n = g.size
    if kind == 0:
        for j in range(n):
            v = abs(g[j])
            if v > acc:
                acc = v
        return acc
    if kind == 3:
        for a in range(0, n, 3):
            q = g[a] * g[a] + g[a + 1] * g[a + 1] + g[a + 2] * g[a + 2]
            if q > acc:
                acc = q
        return math.sqrt(acc)
    for j in range(n):
        acc += g[j] * g[j]
    if kind == 1:
        return math.sqrt(acc / n)
    return math.sqrt(acc)
