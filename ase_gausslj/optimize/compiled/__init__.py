"""Compiled (numba) minimization of LJ clusters, in one place.

* :mod:`.energy`: the named kernel arguments of one width (:class:`KernelArgs`, or
  :class:`ExactArgs` for one species at width 0; built once per width by
  :func:`kernel_args`), energy + gradient, gradient norms;
* :mod:`.loops`: L-BFGS and FIRE in nopython mode, each with one options record;
* :mod:`.minimize`: the checked Python entry points (:func:`lbfgs_minimize`,
  :func:`fire_minimize`) and the ``'compiled'`` L-BFGS backend of :mod:`..local`;
* :mod:`.quench`: the basin-hopping quench (smoothed phases, width 0, evaporation guard,
  polish) around the compiled L-BFGS, used by :class:`~ase_gausslj.optimize.quench.CompiledQuench`.
"""

from .energy import NORMS, ExactArgs, KernelArgs, PairArgs, kernel_args
from .loops import FireOptions, LBFGSOptions
from .minimize import LJObjective, fire_minimize, lbfgs_backend, lbfgs_minimize
from .quench import QuenchArgs, phase_args, quench_args

__all__ = ["NORMS", "ExactArgs", "KernelArgs", "PairArgs", "kernel_args", "FireOptions",
           "LBFGSOptions", "LJObjective", "fire_minimize", "lbfgs_backend", "lbfgs_minimize",
           "QuenchArgs", "phase_args", "quench_args"]
