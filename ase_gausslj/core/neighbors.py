"""Cell-list half neighbor list for orthorhombic and triclinic cells (linear in N).

Atoms are binned in fractional coordinates. Along lattice direction ``k`` a displacement
shorter than ``rc`` changes the fractional coordinate by at most ``rc |b_k|`` (``b_k`` the
reciprocal vector, ``1/|b_k|`` the spacing of lattice planes), so bins at least that wide
need only ``m_k`` neighbor bins on each side. Periodic directions wrap bins and record the
lattice shift; each unordered pair ``{i, j + S}`` appears once (``j > i``, or ``j == i``
with ``S`` lexicographically positive for self-images in small cells).
"""

from __future__ import annotations

import math
import sys

import numba as nb
import numpy as np

from .validation import check_finite, check_finite_nonneg, check_periodic_images, check_positions

__all__ = ["neighbor_pairs", "check_cutoff", "check_pbc", "check_cell", "check_compute_options"]


@nb.njit(cache=True, inline="always")
def _positive(s0, s1, s2):
    if s0 != 0:
        return s0 > 0
    if s1 != 0:
        return s1 > 0
    return s2 > 0


@nb.njit(cache=True)
def _wrap(frac, periodic):
    """Fractional coordinates wrapped into [0, 1) along periodic directions, and the
    integer lattice shifts that did it."""
    n = frac.shape[0]
    wrap = np.zeros((n, 3), dtype=np.int64)
    f = frac.copy()
    for k in range(3):
        if periodic[k]:
            for i in range(n):
                w = math.floor(f[i, k])
                wrap[i, k] = w
                f[i, k] -= w
                if f[i, k] >= 1.0:  # rounding
                    f[i, k] -= 1.0
                    wrap[i, k] += 1
    return f, wrap


@nb.njit(cache=True)
def _bin_layout(f, periodic, rc, bmag):
    """Bins per direction, their origin and width in fractional units.

    Every bin is at least ``rc |b_k|`` wide, so neighbours lie in the adjacent bins. A
    non-periodic direction is binned over the atoms' extent; a flat one (zero extent)
    gets one bin. The total number of bins is bounded by ~2 per atom: a sparse system
    (atoms far apart) would otherwise ask for (extent / rc)^3 empty bins; wider bins
    cost nothing there, and a dense system has fewer bins than atoms anyway.
    """
    n = f.shape[0]
    nb_ = np.ones(3, dtype=np.int64)
    lo = np.zeros(3)
    span = np.ones(3)
    for k in range(3):
        need = rc * bmag[k]
        if not periodic[k]:
            lo[k] = f[:, k].min()
            span[k] = f[:, k].max() - lo[k]
        # floor() of a huge ratio stays a float until the cap below
        nb_[k] = int(max(1.0, min(math.floor(span[k] / need), float(1 << 20))))
    limit = max(27, 2 * n)
    while nb_[0] * nb_[1] * nb_[2] > limit:
        k = 0
        for q in range(1, 3):
            if nb_[q] > nb_[k]:
                k = q
        nb_[k] = max(1, nb_[k] // 2)
    width = np.empty(3)
    m = np.ones(3, dtype=np.int64)
    for k in range(3):
        if periodic[k]:
            width[k] = 1.0 / nb_[k]
            # a cutoff longer than the cell reaches m images away
            m[k] = max(1, int(math.ceil(rc * bmag[k] * nb_[k] - 1e-12)))
        else:
            # at least the cutoff wide (rounding of span / nb_ could make it a hair less)
            width[k] = max(span[k] / nb_[k], rc * bmag[k])
    return nb_, lo, width, m


@nb.njit(cache=True)
def _sort_into_bins(f, nb_, lo, width):
    """Each atom's bin (per direction), and the atoms ordered by flat bin index:
    bin ``c`` holds ``order[start[c]:start[c + 1]]`` (a counting sort)."""
    n = f.shape[0]
    bins = np.empty((n, 3), dtype=np.int64)
    flat = np.empty(n, dtype=np.int64)
    for i in range(n):
        for k in range(3):
            b = int((f[i, k] - lo[k]) / width[k])
            if b >= nb_[k]:
                b = nb_[k] - 1
            if b < 0:
                b = 0
            bins[i, k] = b
        flat[i] = (bins[i, 0] * nb_[1] + bins[i, 1]) * nb_[2] + bins[i, 2]
    nbins = nb_[0] * nb_[1] * nb_[2]
    start = np.zeros(nbins + 1, dtype=np.int64)
    for i in range(n):
        start[flat[i] + 1] += 1
    for c in range(nbins):
        start[c + 1] += start[c]
    order = np.empty(n, dtype=np.int64)
    fill = start[:-1].copy()
    for i in range(n):
        order[fill[flat[i]]] = i
        fill[flat[i]] += 1
    return bins, start, order


@nb.njit(cache=True)
def _build(frac, cell, periodic, rc, bmag):
    """Pairs within ``rc`` (a numba kernel: its loops stay together for speed)."""
    n = frac.shape[0]
    f, wrap = _wrap(frac, periodic)
    nb_, lo, width, m = _bin_layout(f, periodic, rc, bmag)
    bins, start, order = _sort_into_bins(f, nb_, lo, width)
    # wrapped cartesian positions
    pos = np.empty((n, 3))
    for i in range(n):
        for k in range(3):
            pos[i, k] = f[i, 0] * cell[0, k] + f[i, 1] * cell[1, k] + f[i, 2] * cell[2, k]
    cap = max(16, n * 64)
    pi = np.empty(cap, dtype=np.int64)
    pj = np.empty(cap, dtype=np.int64)
    sh = np.empty((cap, 3), dtype=np.int64)
    npair = 0
    rc2 = rc * rc
    for i in range(n):
        for o0 in range(-m[0], m[0] + 1):
            c0 = bins[i, 0] + o0
            s0 = 0
            if periodic[0]:
                s0 = c0 // nb_[0]
                c0 -= s0 * nb_[0]
            elif c0 < 0 or c0 >= nb_[0]:
                continue
            for o1 in range(-m[1], m[1] + 1):
                c1 = bins[i, 1] + o1
                s1 = 0
                if periodic[1]:
                    s1 = c1 // nb_[1]
                    c1 -= s1 * nb_[1]
                elif c1 < 0 or c1 >= nb_[1]:
                    continue
                for o2 in range(-m[2], m[2] + 1):
                    c2 = bins[i, 2] + o2
                    s2 = 0
                    if periodic[2]:
                        s2 = c2 // nb_[2]
                        c2 -= s2 * nb_[2]
                    elif c2 < 0 or c2 >= nb_[2]:
                        continue
                    sx = s0 * cell[0, 0] + s1 * cell[1, 0] + s2 * cell[2, 0]
                    sy = s0 * cell[0, 1] + s1 * cell[1, 1] + s2 * cell[2, 1]
                    sz = s0 * cell[0, 2] + s1 * cell[1, 2] + s2 * cell[2, 2]
                    c = (c0 * nb_[1] + c1) * nb_[2] + c2
                    for q in range(start[c], start[c + 1]):
                        j = order[q]
                        if j < i:
                            continue
                        if j == i and not _positive(s0, s1, s2):
                            continue
                        dx = pos[j, 0] + sx - pos[i, 0]
                        dy = pos[j, 1] + sy - pos[i, 1]
                        dz = pos[j, 2] + sz - pos[i, 2]
                        if dx * dx + dy * dy + dz * dz >= rc2:
                            continue
                        if npair == cap:
                            cap *= 2
                            pi2 = np.empty(cap, dtype=np.int64)
                            pj2 = np.empty(cap, dtype=np.int64)
                            sh2 = np.empty((cap, 3), dtype=np.int64)
                            pi2[:npair] = pi[:npair]
                            pj2[:npair] = pj[:npair]
                            sh2[:npair] = sh[:npair]
                            pi, pj, sh = pi2, pj2, sh2
                        pi[npair] = i
                        pj[npair] = j
                        # lattice shift for the original (unwrapped) positions
                        sh[npair, 0] = s0 + wrap[i, 0] - wrap[j, 0]
                        sh[npair, 1] = s1 + wrap[i, 1] - wrap[j, 1]
                        sh[npair, 2] = s2 + wrap[i, 2] - wrap[j, 2]
                        npair += 1
    return pi[:npair].copy(), pj[:npair].copy(), sh[:npair].copy()


def _effective_cell(positions, cell, pbc, rc):
    """A full-rank cell: non-periodic directions with a zero/degenerate vector get an
    orthogonal vector spanning the atoms' extent (they are never wrapped)."""
    cell = np.array(cell, dtype=np.float64).reshape(3, 3)
    pbc = np.asarray(pbc, dtype=bool).reshape(3)
    span = np.ptp(positions, axis=0) + 2.0 * rc + 1.0
    for k in range(3):
        if not pbc[k] and np.linalg.norm(cell[k]) < 1e-12:
            cell[k] = 0.0
            cell[k, k] = span[k]
    if abs(np.linalg.det(cell)) < 1e-12:
        if np.all(~pbc):
            return np.diag(span)
        raise ValueError("cell is singular; periodic directions need non-zero lattice vectors")
    return cell


def check_cutoff(cutoff, name: str = "cutoff") -> float:
    """A pair cutoff: a positive finite number; ValueError naming ``name`` otherwise."""
    try:
        v = float(cutoff)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a positive finite number, got {cutoff!r}") from exc
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number, got {cutoff!r}")
    if v * v < sys.float_info.min:  # the kernels compare squared distances
        raise ValueError(f"{name} = {v!r} is too small: its square underflows (smallest "
                         f"supported {math.sqrt(sys.float_info.min):.3g})")
    return v


def check_pbc(pbc, name: str = "pbc") -> np.ndarray:
    """Periodicity flags as a bool array of 3 (None: none periodic)."""
    if pbc is None:
        return np.zeros(3, dtype=bool)
    p = np.asarray(pbc)
    if p.ndim > 1 or p.size not in (1, 3) or p.dtype.kind not in "biu":
        raise ValueError(f"{name} must be a bool or 3 bools, got {pbc!r}")
    return np.broadcast_to(p.astype(bool), (3,)).copy()


def check_cell(cell, name: str = "cell") -> np.ndarray | None:
    """Lattice vectors as a finite float64 (3, 3) array (rows), or None."""
    if cell is None:
        return None
    arr = check_finite(cell, name)
    if arr.shape != (3, 3):
        raise ValueError(f"{name} must have shape (3, 3), got {arr.shape}")
    return arr


def neighbor_pairs(positions, cutoff: float, cell=None, pbc=None):
    """Half neighbor list within ``cutoff``.

    Returns ``(i, j, shifts)`` with ``shifts`` (P, 3) cartesian vectors such that the pair
    vector is ``positions[j] + shifts - positions[i]``; each unordered pair (and each
    periodic image of it) appears once. Flat (zero-extent) and sparse (far apart) atoms
    are fine: non-periodic directions are binned over the atoms' extent, with at most ~2
    bins per atom.
    """
    positions = check_positions(positions)
    cutoff = check_cutoff(cutoff)
    pbc = check_pbc(pbc)
    cell = check_cell(cell)
    if cell is None:
        cell = np.zeros((3, 3))
    if len(positions) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), np.zeros((0, 3))
    c = _effective_cell(positions, cell, pbc, cutoff)
    check_periodic_images(c, pbc, cutoff, len(positions))  # before numba: it cannot stop
    inv = np.linalg.inv(c)
    frac = positions @ inv
    bmag = np.linalg.norm(inv, axis=0)  # |b_k|: reciprocal vectors are inv's columns
    pi, pj, sh = _build(frac, c, pbc, cutoff, bmag)
    return pi, pj, sh.astype(np.float64) @ c


#: ``cutoff_mode`` names and the kernels' codes (:class:`.pair_terms.Cutoff`)
CUTOFF_MODES = {"none": 0, "shift": 1, "taper": 2, "switch": 3}


def check_compute_options(cutoff, cell, pbc, cutoff_mode, taper_start, skin):
    """Validate :meth:`SmoothedLJ.compute`'s options once, naming the bad argument.

    Returns ``(cutoff, cell, periodic, mode, ro2, skin)`` with ``cell`` a finite (3, 3)
    array or None, ``periodic`` a bool array of 3 and ``mode`` the kernel's cutoff code.
    """
    if not isinstance(cutoff_mode, str) or cutoff_mode not in CUTOFF_MODES:
        raise ValueError(
            f"cutoff_mode must be one of {sorted(CUTOFF_MODES)}, got {cutoff_mode!r}"
        )
    periodic = check_pbc(pbc)
    cell = check_cell(cell)
    if cutoff is not None:
        cutoff = check_cutoff(cutoff)
    elif periodic.any():
        raise ValueError("cutoff: a periodic system needs a finite cutoff")
    if cutoff is None and cutoff_mode != "none":
        raise ValueError(f"cutoff_mode {cutoff_mode!r} needs a cutoff")
    if skin is not None:
        skin = float(check_finite_nonneg(skin, "skin"))
    mode = CUTOFF_MODES[cutoff_mode]
    ro2 = 0.0
    if mode >= 2:
        if taper_start is None:
            raise ValueError(f"taper_start is required with cutoff_mode={cutoff_mode!r}")
        start = float(check_finite_nonneg(taper_start, "taper_start"))
        if not start < cutoff:
            raise ValueError(f"taper_start must satisfy 0 <= taper_start < cutoff, got {start}")
        ro2 = start * start
    return cutoff, cell, periodic, mode, ro2, skin

