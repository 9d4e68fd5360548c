"""The smoothed 1-4 (exception) pairs computed by gausslj's loops (``engine='compiled'``).

The stand-in of the ``"GaussLJExceptions"`` ``CustomCompoundBondForce`` of
:func:`~openmm_gausslj.forces.lj.smoothed_lj_bond_force`: per pair its own ``sigma`` and
``epsilon`` (not combined), ``eps F(r / sigma, w / sigma)`` with no cutoff, OpenMM's minimum
image when periodic. ``F`` comes from the core's table, as in :mod:`.compiled`, so the
System carries no 2-D table at all (its XML shrinks from megabytes to kilobytes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import openmm as mm

from ase_gausslj.core.pair_terms import Cutoff

from ..contacts import minimum_image
from .compiled_loops import driver, pair_sum, step_width

__all__ = ["CompiledBondComputation"]

_NO_CUTOFF = Cutoff(np.inf, 0, 0.0)


@dataclass
class CompiledBondComputation:
    """The computation of a compiled ``"GaussLJExceptions"`` ``PythonForce`` (picklable).

    ``pairs`` (M, 2), per-pair ``sigma`` (nm) and ``epsilon`` (kJ/mol); ``periodic``: the
    minimum image; ``r_core``, ``width_max`` (reduced) the table's; ``width_limit`` (nm) the
    largest width; ``width_parameter`` the width's global parameter.
    """

    pairs: np.ndarray
    sigma: np.ndarray
    epsilon: np.ndarray
    periodic: bool
    r_core: float
    width_max: float
    width_parameter: str
    width_limit: float = math.inf  # set at install, when the System's limit is known
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    name = "GaussLJExceptions"
    charges = None  # no Coulomb here (charged exceptions keep their own force)
    lj = True
    coulomb_limit = math.inf

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def _setup(self) -> dict:
        c = self._cache
        if not c:
            real = np.flatnonzero(self.epsilon > 0)  # eps = 0 pairs add nothing
            prm = np.stack([self.epsilon[real], self.sigma[real]], axis=1)
            uniq, t = np.unique(prm, axis=0, return_inverse=True)
            t = t.ravel()
            order = real[np.argsort(t, kind="stable")]  # the pairs of a class contiguous
            c["ia"] = np.ascontiguousarray(self.pairs[order, 0].astype(np.int64))
            c["ib"] = np.ascontiguousarray(self.pairs[order, 1].astype(np.int64))
            ends = np.cumsum(np.bincount(t, minlength=len(uniq)))
            # one single-class driver per (epsilon, sigma): each needs one slice per width
            # (one driver of all classes would build a slice for every mixed pair too)
            c["groups"] = [(driver(e, s, self.r_core, self.width_max),
                            slice(int(end - n), int(end)))
                           for (e, s), end, n in zip(uniq, ends, np.bincount(t), strict=True)]
        return c

    def __call__(self, state: mm.State):
        pos = np.ascontiguousarray(state.getPositions(asNumpy=True)._value, dtype=np.float64)
        w = step_width(state, self.width_parameter, self.width_limit,
                       "nm: the table's range")
        box = (np.ascontiguousarray(state.getPeriodicBoxVectors(asNumpy=True)._value)
               if self.periodic else np.zeros((3, 3)))
        c = self._setup()
        forces = np.zeros(pos.shape)
        ia, ib = c["ia"], c["ib"]
        d = minimum_image(pos[ib] - pos[ia], box if self.periodic else None)
        r2 = np.einsum("ij,ij->i", d, d)
        types = np.zeros(ia.size, dtype=np.int64)  # each driver has its one pair type
        e = 0.0
        for drv, s in c["groups"]:
            e += pair_sum(d[s], r2[s], ia[s], ib[s], types[s], _NO_CUTOFF,
                          drv._kernel_args_unchecked(w), forces)
        if not (math.isfinite(e) and np.isfinite(forces).all()):
            raise FloatingPointError("GaussLJExceptions: non-finite energy or forces")
        return e, forces

    def bond_lj(self, index: int, group: int):
        """These pairs as a :class:`~openmm_gausslj.forces.lj_forms.BondLJ`."""
        from .lj_forms import BondLJ

        return BondLJ(index, [tuple(map(int, p)) for p in self.pairs], self.sigma,
                      self.epsilon, self.periodic, group)
