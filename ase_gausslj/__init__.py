"""gausslj: analytic Gaussian smoothing of the Lennard-Jones potential for ASE and OpenMM.

Core numerics in reduced units (lengths in sigma, energies in epsilon) plus the ASE
integration. The core modules do not import ASE at module level.
"""

from .calculator import GaussianLJ
from .energy import PairResult, SmoothedLJ
from .globalopt import GlobalOptResult, global_minimize, global_minimize_atoms
from .homotopy import GaussianHomotopy, HomotopyResult, homotopy_minimize, multistart
from .md import AnnealedLangevin, WidthScheduleObserver
from .neighbors import neighbor_pairs
from .potential import (
    R_CORE,
    regularized_lj,
    smoothed_coulomb,
    smoothed_lj,
    smoothed_lj_dwidth,
)
from .reference import reference_mala
from .schedules import (
    CallableSchedule,
    ExplicitSchedule,
    GeometricSchedule,
    LinearSchedule,
    PlateauSchedule,
    as_schedule,
)
from .smc import SMCResult, run_smc, run_smc_repeats
from .table import SmoothedLJTable, TableSlice, get_table
from .targets import LJClusterTarget

__all__ = [
    "AnnealedLangevin",
    "CallableSchedule",
    "ExplicitSchedule",
    "GaussianHomotopy",
    "GaussianLJ",
    "GeometricSchedule",
    "GlobalOptResult",
    "HomotopyResult",
    "LJClusterTarget",
    "LinearSchedule",
    "PlateauSchedule",
    "R_CORE",
    "SMCResult",
    "WidthScheduleObserver",
    "as_schedule",
    "global_minimize",
    "global_minimize_atoms",
    "homotopy_minimize",
    "multistart",
    "PairResult",
    "SmoothedLJ",
    "SmoothedLJTable",
    "TableSlice",
    "get_table",
    "neighbor_pairs",
    "reference_mala",
    "regularized_lj",
    "run_smc",
    "run_smc_repeats",
    "smoothed_coulomb",
    "smoothed_lj",
    "smoothed_lj_dwidth",
]

__version__ = "0.1.0"
