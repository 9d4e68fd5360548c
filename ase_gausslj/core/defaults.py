"""Defaults shared by every layer, in reduced units (lengths in sigma, energies in epsilon).

Signatures take these names (``r_core: float = R_CORE``), never the literals, so a change
here reaches the table, the kernels, the optimizers and the OpenMM forces at once.
"""

from __future__ import annotations

__all__ = ["R_CORE", "WIDTH_MAX"]

#: Below ``R_CORE * sigma`` the LJ potential is continued affinely (value and slope
#: matched), the regularization without which the smoothed integral diverges (paper: 0.8).
R_CORE = 0.8

#: Largest width (in sigma) that the reduced table covers.
WIDTH_MAX = 2.0
