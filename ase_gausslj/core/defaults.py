"""Defaults shared by every layer, in reduced units (lengths in sigma, energies in epsilon).

Signatures take these names (``r_core: float = R_CORE``), never the literals, so a change
here reaches the table, the kernels, the optimizers and the OpenMM forces at once.
"""

from __future__ import annotations

__all__ = ["R_CORE", "WIDTH_MAX", "WIDTH_LIMIT"]

#: Below ``R_CORE * sigma`` the LJ potential is continued affinely (value and slope
#: matched), the regularization without which the smoothed integral diverges (paper: 0.8).
R_CORE = 0.8

#: Largest width (in sigma) that the reduced table covers.
WIDTH_MAX = 2.0

#: Largest width (in sigma) any table may be built for: a table's r range grows with its
#: width (8 + 14 w), so 50 is already ~70 MB and minutes to build; 1e6 asked for 1.1 TiB.
#: Arguments beyond it (width_max, width_start) are refused before anything is allocated.
WIDTH_LIMIT = 50.0
