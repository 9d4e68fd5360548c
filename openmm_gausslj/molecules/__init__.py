"""Molecules: conformer search (:mod:`.conformers`, helpers in :mod:`.search_tools`),
chirality and peptide-bond checks (:mod:`.stereo`) and the guard that restrains them while
smoothed (:mod:`.stereo_guard`), and the offline peptide builder (:mod:`.build`).
Nothing is imported here; the public names are re-exported by :mod:`openmm_gausslj`.
"""
