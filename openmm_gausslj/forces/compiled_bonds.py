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

from .compiled_loops import driver, min_image, pair_sum

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
    width_limit: float
    width_parameter: str
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
            # one single-class driver per (epsilon, sigma): each needs one slice per width
            # (one driver of all classes would build a slice for every mixed pair too)
            c["groups"] = [
                (driver(e, s, self.r_core, self.width_max),
                 np.ascontiguousarray(self.pairs[real[t == k], 0].astype(np.int64)),
                 np.ascontiguousarray(self.pairs[real[t == k], 1].astype(np.int64)))
                for k, (e, s) in enumerate(uniq)]
        return c

    def __call__(self, state: mm.State):
        pos = np.ascontiguousarray(state.getPositions(asNumpy=True)._value, dtype=np.float64)
        w = state.getParameters()[self.width_parameter]
        if not (w >= 0.0 and math.isfinite(w)):
            raise ValueError(f"{self.width_parameter} must be a finite width >= 0, got {w}")
        if w > self.width_limit * (1.0 + 1e-12):
            raise ValueError(f"{self.width_parameter} = {w} nm is beyond this force's largest "
                             f"width {self.width_limit:.6g} nm (the table's range)")
        box = (np.ascontiguousarray(state.getPeriodicBoxVectors(asNumpy=True)._value)
               if self.periodic else np.zeros((3, 3)))
        c = self._setup()
        forces = np.zeros(pos.shape)
        e = 0.0
        for drv, ia, ib in c["groups"]:
            d, r2 = min_image(pos, ia, ib, box, self.periodic)
            e += pair_sum(d, r2, ia, ib, np.zeros(ia.size, dtype=np.int64), _NO_CUTOFF,
                          drv._kernel_args_unchecked(w), forces)
        if not (math.isfinite(e) and np.isfinite(forces).all()):
            raise FloatingPointError("GaussLJExceptions: non-finite energy or forces")
        return e, forces

    def bond_lj(self, index: int, group: int):
        """These pairs as a :class:`~openmm_gausslj.forces.lj_forms.BondLJ`."""
        from .lj_forms import BondLJ

        return BondLJ(index, [tuple(map(int, p)) for p in self.pairs], self.sigma,
                      self.epsilon, self.periodic, group)
