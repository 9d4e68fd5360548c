"""Print the error of ``smoothed_lj`` against the committed mpmath reference.

The reference (``smoothed_lj_reference.json``) is made by ``generate_reference.py`` with
mpmath at 40 digits, independently of the code under test; errors are scaled by
``max(1, |reference|)`` as in ``test_potential.py``::

    python tests/core/data/report_accuracy.py
"""

import json
import os

import numpy as np

from ase_gausslj import smoothed_lj

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smoothed_lj_reference.json")

with open(DATA) as fh:
    pts = json.load(fh)["points"]
r, w, v_ref, dv_ref = (np.array([p[k] for p in pts]) for k in ("r", "width", "V", "dV_dr"))
v, dv = smoothed_lj(r, w)
err_v = np.abs(v - v_ref) / np.maximum(1.0, np.abs(v_ref))
err_dv = np.abs(dv - dv_ref) / np.maximum(1.0, np.abs(dv_ref))
print(f"{len(r)} points: max error V {err_v.max():.2g}, dV/dr {err_dv.max():.2g}")
