"""Strategies for the hard LJ clusters (75-77, 98, 102-104 and the paper's N = 100-500).

Every strategy follows the basin-hopping protocol of :mod:`ase_gausslj.optimize.basinhopping`
(``take_step(x, rng) -> x``, ``accept_test(e_new, e_old, rng) -> bool``,
``quench(x, rng, deep=False) -> (x, e)`` with ``.polish(x, e)``):

* :mod:`.descriptors`: common-neighbour analysis and Steinhardt Q4/Q6 motif descriptors;
* :mod:`.surface`: surface moves (low-coordinated atoms to the best vacant surface sites);
* :mod:`.tempering`: parallel tempering over temperatures and Gaussian widths;
* :mod:`.population`: a population of walkers kept diverse by a motif descriptor;
* :mod:`.budget`: CPU-time budget, tracker and result of a run, the compiled LJ quench;
* :mod:`.runner`: one walker of the engine (``global_minimize``) with injected strategies.
"""
