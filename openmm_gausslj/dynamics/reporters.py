"""Reporters for annealing runs (``app.Simulation`` reporters)."""

from __future__ import annotations

import openmm.unit as unit

from ..forces.expressions import WIDTH_PARAMETER

__all__ = ["WidthReporter"]


class WidthReporter:
    """Reporter writing ``step, width (nm), potential energy (kJ/mol)`` as CSV.

    Add it next to a ``StateDataReporter`` to get the width column of an annealing run.

    Parameters
    ----------
    file : str or file-like
        Output path or open text stream.
    reportInterval : int
        Steps between reports.
    parameter : str
        Width context parameter.
    """

    def __init__(self, file, reportInterval: int, parameter: str = WIDTH_PARAMETER) -> None:
        if int(reportInterval) < 1:
            raise ValueError(f"reportInterval must be >= 1, got {reportInterval}")
        self._interval = int(reportInterval)
        self._parameter = parameter
        self._own = isinstance(file, str)
        self._out = open(file, "w") if self._own else file  # noqa: SIM115
        self._header = False

    def describeNextReport(self, simulation):  # noqa: N802 (OpenMM API)
        steps = self._interval - simulation.currentStep % self._interval
        return (steps, False, False, False, True, None)

    def report(self, simulation, state) -> None:
        """Write one line."""
        if not self._header:
            self._out.write('#"Step","Width (nm)","Potential Energy (kJ/mole)"\n')
            self._header = True
        w = simulation.context.getParameter(self._parameter)
        e = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        self._out.write(f"{simulation.currentStep},{w!r},{e!r}\n")
        self._out.flush()

    def close(self) -> None:
        """Close the file if the reporter opened it."""
        if self._own:
            self._out.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
