"""sampling layer of gausslj; see docs/architecture.md and docs/smc.md.

``targets`` (LJ cluster energies) -> ``weights`` (ESS, resampling) and ``kernels`` (ULA /
tamed MALA moves, step-size adaptation) -> ``smc`` (``SMCSampler`` init/step, ``run_smc``)
with ``options``, ``paths`` and ``results``; ``reference`` (ground-truth MALA chains) and
``diagnostics`` (R-hat, W1, pair distances) check the samplers.
"""
