"""Annealing the width in a running simulation: the device-side integrator
(:mod:`.integrator`), its schedules (:mod:`.schedules`), the Python-side drivers
(:mod:`.drivers`: ``anneal_simulation``, ``homotopy_minimize_context``), switching smoothing
on without heating (:mod:`.switch_on`), the dispersal check (:mod:`.dispersal`), a reporter
(:mod:`.reporters`) and the openmmtools integrator (:mod:`.openmmtools_support`).
Nothing is imported here; the public names are re-exported by :mod:`openmm_gausslj`.
"""
