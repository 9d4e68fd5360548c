"""The smoothed forces: LJ pair/bond/type forces (:mod:`.lj`), their energy expressions
(:mod:`.expressions`) and 2-D tables (:mod:`.table`), the smoothed-Coulomb correction
(:mod:`.coulomb`), torsion smoothing (:mod:`.torsions`) and the LJ forms read from a
force-field System (:mod:`.lj_forms`). Nothing is imported here (``import openmm_gausslj``
stays lazy); the public names are re-exported by :mod:`openmm_gausslj`.
"""
