"""The conformer budget is an upper bound on force evaluations (issue 19: 3000 used 4,097).

MD steps and minimizer iterations are counted here independently of the search's own
bookkeeping: by wrapping ``LangevinMiddleIntegrator.step`` and the minimizer's reporter.
"""

from __future__ import annotations

import openmm as mm
import pytest

pytest.importorskip("mdtraj")
from openmm_gausslj.molecules.conformers import METHODS, search_conformers  # noqa: E402


@pytest.fixture
def counted(monkeypatch):
    """Count MD steps and minimizer iterations as OpenMM performs them."""
    count = {"md": 0, "min": 0}
    step = mm.LangevinMiddleIntegrator.step
    minimize = mm.LocalEnergyMinimizer.minimize

    def counting_step(self, n):
        count["md"] += int(n)
        return step(self, n)

    def counting_minimize(context, tolerance, max_iterations, reporter):
        report = reporter.report

        def counting_report(*args):
            count["min"] += 1
            return report(*args)

        reporter.report = counting_report
        return minimize(context, tolerance, max_iterations, reporter)

    monkeypatch.setattr(mm.LangevinMiddleIntegrator, "step", counting_step)
    monkeypatch.setattr(mm.LocalEnergyMinimizer, "minimize", staticmethod(counting_minimize))
    return count


@pytest.mark.parametrize("method", METHODS)
def test_budget_is_an_upper_bound(method, ala2, counted):
    system, top, pos = ala2
    budget = 1700  # 3 cycles of 500 MD steps fit, the quenches take the rest (or not)
    r = search_conformers(system, pos, method=method, budget=budget, seed=1, topology=top,
                          timestep=0.002, cycle_steps=500,
                          platform_properties={"Threads": "1"})
    evaluations = counted["md"] + max(counted["min"], r.n_quenches)  # >= 1 per quench
    assert r.steps_used == evaluations
    assert r.steps_used <= budget
    assert r.n_quenches >= 2 and r.conformers


def test_budget_smaller_than_a_cycle_is_refused(ala2):
    system, top, pos = ala2
    with pytest.raises(ValueError, match="budget"):
        search_conformers(system, pos, budget=400, cycle_steps=500, topology=top)
