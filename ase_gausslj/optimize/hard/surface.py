"""Surface moves: low-coordinated, high-energy atoms to the best vacant surface sites.

In the spirit of Locatelli & Schoen (Comput. Optim. Appl. 2003): a basin-hopping step
that rearranges the surface instead of shaking the whole cluster. :class:`SurfaceMove`
repeats ``k`` times: pick one of the ``pool`` atoms with the highest pair energy (the
loosest, lowest-coordinated ones), take it out, sample ``n_sites`` candidate sites one
bond length from random surface atoms, relax every candidate a few steepest-descent steps
in the field of the others, and put the atom at the site of lowest pair energy. A site
closer than ``min_distance`` to any atom is never chosen (no fused atoms before the
quench). :class:`MixedStep` draws one of several steps per call (e.g. surface moves with
the random displacement of plain basin hopping). Reduced units (sigma, epsilon).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pair_energies", "site_energies", "SurfaceMove", "MixedStep"]

_NN = 2.0 ** (1.0 / 6.0)  # LJ pair minimum


def _lj(r2: np.ndarray) -> np.ndarray:
    inv6 = 1.0 / r2 ** 3
    return 4.0 * (inv6 * inv6 - inv6)


def pair_energies(x: np.ndarray) -> np.ndarray:
    """LJ energy of every atom with all others (half of each pair: they sum to E)."""
    d = x[:, None, :] - x[None, :, :]
    r2 = np.einsum("ijk,ijk->ij", d, d)
    np.fill_diagonal(r2, np.inf)
    return 0.5 * _lj(r2).sum(axis=1)


def site_energies(sites: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LJ energy of an atom at each site with ``others`` and its gradient per site."""
    d = sites[:, None, :] - others[None, :, :]
    r2 = np.einsum("ijk,ijk->ij", d, d)
    inv6 = 1.0 / r2 ** 3
    e = (4.0 * (inv6 * inv6 - inv6)).sum(axis=1)
    coef = (-48.0 * inv6 * inv6 + 24.0 * inv6) / r2  # dE/dr / r
    return e, np.einsum("ij,ijk->ik", coef, d)


class SurfaceMove:
    """``take_step``: move up to ``k`` loose surface atoms to the best vacant sites.

    Parameters
    ----------
    k : int
        Most atoms moved per step (the number is drawn uniformly in ``1..k``).
    pool : int
        The atom to move is drawn among the ``pool`` atoms of highest pair energy.
    n_sites : int
        Candidate sites sampled per moved atom.
    relax_steps : int
        Steepest-descent steps of every candidate in the field of the other atoms.
    min_distance : float
        A site closer than this to an atom is refused (sigma).
    """

    def __init__(self, k: int = 2, pool: int = 8, n_sites: int = 64, relax_steps: int = 8,
                 min_distance: float = 0.9):
        for name, v in (("k", k), ("pool", pool), ("n_sites", n_sites)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if int(relax_steps) != relax_steps or relax_steps < 0:
            raise ValueError(f"relax_steps must be >= 0, got {relax_steps!r}")
        if not (0 < min_distance < _NN):
            raise ValueError(f"min_distance must be in (0, {_NN:.3f}), got {min_distance!r}")
        self.k, self.pool, self.n_sites = int(k), int(pool), int(n_sites)
        self.relax_steps = int(relax_steps)
        self.min_distance = float(min_distance)

    def _sites(self, others: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Candidates one bond from random surface atoms, outward-biased and relaxed."""
        centre = others.mean(axis=0)
        r = np.linalg.norm(others - centre, axis=1)
        surface = np.flatnonzero(r >= np.quantile(r, 0.5))  # the outer half
        anchors = others[rng.choice(surface, size=self.n_sites)]
        u = rng.normal(size=(self.n_sites, 3))
        u /= np.linalg.norm(u, axis=1)[:, None]
        out = anchors - centre
        u = np.where((np.einsum("ij,ij->i", u, out) < 0)[:, None], -u, u)  # point outward
        sites = anchors + _NN * u
        for _ in range(self.relax_steps):  # short capped steepest descent per site
            _, g = site_energies(sites, others)
            gn = np.linalg.norm(g, axis=1)[:, None]
            sites -= g * np.minimum(0.02, 0.1 / np.maximum(gn, 1e-12))
        return sites

    def _move_one(self, x: np.ndarray, rng: np.random.Generator) -> bool:
        e = pair_energies(x)
        pool = np.argsort(e)[::-1][: min(self.pool, len(x) - 1)]
        a = int(rng.choice(pool))
        others = np.delete(x, a, axis=0)
        sites = self._sites(others, rng)
        d2 = ((sites[:, None, :] - others[None, :, :]) ** 2).sum(axis=2).min(axis=1)
        away = ((sites - x[a]) ** 2).sum(axis=1) > (0.5 * _NN) ** 2  # a real move
        ok = (d2 >= self.min_distance ** 2) & away
        if not ok.any():
            return False
        es, _ = site_energies(sites[ok], others)
        x[a] = sites[ok][int(np.argmin(es))]
        return True

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A copy of ``x`` (shape (N, 3), N >= 3) with up to ``k`` atoms moved."""
        x = np.array(x, dtype=np.float64).reshape(-1, 3)
        if len(x) < 3:
            raise ValueError(f"x: a surface move needs >= 3 atoms, got {len(x)}")
        for _ in range(int(rng.integers(1, self.k + 1))):
            self._move_one(x, rng)
        return x


class MixedStep:
    """``take_step``: one of ``steps`` per call, drawn with probabilities ``weights``."""

    def __init__(self, steps: Sequence, weights: Sequence[float]):
        w = np.asarray(weights, dtype=float)
        if len(steps) == 0 or len(w) != len(steps) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError("weights: one non-negative weight per step, not all zero")
        self.steps = list(steps)
        self.p = w / w.sum()

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.steps[int(rng.choice(len(self.steps), p=self.p))](x, rng)

