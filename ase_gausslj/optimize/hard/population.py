"""A population of basin-hopping walkers kept structurally diverse by a motif descriptor.

Plain basin hopping on LJ75-77 and LJ102-104 spends its budget in the icosahedral funnel
while the global minimum is a Marks decahedron. Here ``size`` walkers hop side by side
(one quench each per round); after every round, a walker whose current minimum is
structurally the same as that of a better walker (descriptor distance below ``radius``,
:func:`~.descriptors.descriptor`: CNA 555/421/422 fractions and Q4/Q6) and has not just
restarted is sent back to a fresh random cluster. Walkers in different funnels
(icosahedral, decahedral, close-packed) therefore survive side by side, and duplicates in
one funnel do not eat the budget. Reduced units.
"""

from __future__ import annotations

import numpy as np

from ..clusters import random_cluster
from ..moves import Metropolis, RandomDisplacement
from .budget import Budget, HardResult, Tracker, lj_quench
from .descriptors import descriptor, motif

__all__ = ["crowded", "motif_population"]


def crowded(descs: np.ndarray, energies: np.ndarray, radius: float,
            eligible: np.ndarray | None = None) -> list[int]:
    """Walkers to restart: each one closer than ``radius`` to a walker of lower energy.

    Parameters
    ----------
    descs : ndarray, shape (P, D)
        Descriptor of every walker's current minimum.
    energies : ndarray, shape (P,)
        Their energies.
    radius : float
        Descriptor distance below which two minima count as the same motif.
    eligible : ndarray of bool, optional
        Walkers that may be restarted (default all); the best walker never is.

    Returns
    -------
    list of int
        Indices to restart, in walker order.
    """
    descs = np.asarray(descs, dtype=float)
    energies = np.asarray(energies, dtype=float)
    if descs.ndim != 2 or len(descs) != len(energies):
        raise ValueError("descs: expected shape (P, D) matching energies (P,)")
    elig = np.ones(len(energies), bool) if eligible is None else np.asarray(eligible, bool)
    d = np.linalg.norm(descs[:, None, :] - descs[None, :, :], axis=2)
    out = []
    for i in range(len(energies)):
        better = energies < energies[i]
        if elig[i] and np.any(better & (d[i] < radius)):
            out.append(i)
    return out


def motif_population(n_atoms: int, budget: Budget, rng: np.random.Generator, *,
                     size: int = 4, radius: float = 0.05, grace: int | None = None,
                     temperature: float = 0.8, take_step=None, quench=None) -> HardResult:
    """Run the diverse population until ``budget`` ends.

    Parameters
    ----------
    n_atoms : int
        Cluster size.
    budget : Budget
        CPU seconds / quench count / target energy.
    rng : numpy.random.Generator
        Random generator.
    size : int
        Number of walkers (>= 2).
    radius : float
        Descriptor distance under which two walkers' minima are duplicates.
    grace : int, optional
        Quenches a walker makes after a (re)start before it can be restarted
        (default ``2 * n_atoms``: time to descend into its funnel).
    temperature : float
        Metropolis ``k_B T`` of every walker.
    take_step, quench : callable, optional
        Strategies (default random displacement 0.4 sigma and :func:`~.runner.lj_quench`).
    """
    if int(size) != size or size < 2:
        raise ValueError(f"size must be an integer >= 2, got {size!r}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}")
    grace = 2 * n_atoms if grace is None else int(grace)
    quench = quench if quench is not None else lj_quench(n_atoms)
    step = take_step if take_step is not None else RandomDisplacement(0.4)
    accept = Metropolis(temperature)
    tr = Tracker(budget, quench)
    xs: list = [None] * size
    es = np.full(size, np.inf)
    descs = np.zeros((size, 5))
    age = np.zeros(size, int)
    restarts = 0
    while not tr.done():
        for k in range(size):
            if xs[k] is None:
                x, e = quench(random_cluster(n_atoms, rng), rng, deep=True)
                xs[k], es[k], age[k] = x, e, 0
                descs[k] = descriptor(x)
                tr.record(x, e)
                continue
            x, e = quench(step(xs[k], rng), rng)
            tr.record(x, e)
            age[k] += 1
            if accept(e, es[k], rng):
                xs[k], es[k] = x, e
                descs[k] = descriptor(x)
        alive = np.array([x is not None for x in xs])
        for k in crowded(descs, es, radius, eligible=(age >= grace) & alive):
            xs[k], es[k] = None, np.inf
            restarts += 1
    motifs = [motif(x) for x in xs if x is not None]
    return tr.result(restarts=restarts, final_motifs=motifs)
