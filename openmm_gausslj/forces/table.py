"""The reduced 2-D table of the smoothed LJ for OpenMM (``Continuous2DFunction``).

How ``F`` is evaluated
----------------------
With ``x = r / sig_ij`` and ``y = w / sig_ij``, beyond the table's reach
``b(y) = r_core + 14 y`` ``F`` is its heat-kernel series (:func:`series_coefficients`)

    A(x, y) = 4 x^-12 sum_k a12_k q^k - 4 x^-6 sum_k a6_k q^k,   q = y^2 / x^2,

10 and 12 terms: there ``q <= 1/196`` and the regularized core's influence
``~exp(-(x - r_core)^2 / 4 y^2)`` is below exp(-49) = 5e-22, so ``A`` is within 7e-8 of
the quadrature (relative to ``max(|F|, 4 x^-6)``, measured up to ``y = 2.2``; the reach
``16 y`` with 8 and 10 terms gave 1.1e-7, more pairs on the table and a larger table;
``12 y`` needs 14 and 16 terms; the step time is the same within the noise). At width 0,
``b = r_core`` and ``A`` is the plain LJ: every pair beyond the core is exact.

Inside the reach ``F`` is a natural bicubic spline of

    z = a u / sqrt(u^2 + c1^2) + (1 - a) u / sqrt(u^2 + c2^2),   u = x / (1 + k_scale y)
    p = sqrt(y)                                                 in [0, sqrt(y_max)]

``u`` is ``x`` at small widths (the regularization's kink at ``r_core`` stays put across
the ``p`` nodes) and distance in units of the smoothing at large ones (where ``F`` varies
on the scale ``y``); ``z`` puts nodes near the core and the LJ well; ``p`` concentrates
nodes at small widths. Because ``F`` is even in ``x`` and in ``p``, mirrored ghost nodes
sit below ``z = 0`` and ``p = 0`` and exact nodes above the largest reach and
``p_max``, so the spline's natural end conditions do not spoil the accuracy there.

The values keep 13 significant digits (the quadrature's own accuracy, ~1e-12), which
shortens a serialized System; a force whose LJ sigmas keep its reduced widths well below
``width_max`` gets a smaller table (:mod:`openmm_gausslj.forces.sizing`).

The expression hands the spline a ``z`` beyond its range for pairs beyond the reach and
for pairs without LJ (``epsilon = 0``): a ``Continuous2DFunction`` is zero outside its
range and costs almost nothing there, so at force-field widths most pairs inside a cutoff
pay only the short polynomial. See ``docs/openmm.md`` for the measured errors and
``tests/openmm/test_openmm_forces.py`` for the checks.
"""

from __future__ import annotations

import functools

import numpy as np
import openmm as mm

from ase_gausslj.core import potential
from ase_gausslj.core.cache import cached_arrays
from ase_gausslj.core.closed_forms import heat_coefficients
from ase_gausslj.core.defaults import R_CORE, WIDTH_MAX
from ase_gausslj.core.potential import smoothed_lj
from ase_gausslj.core.validation import check_r_core, check_width

__all__ = [
    "TABLE_NAME",
    "TableGrid",
    "DEFAULT_GRID",
    "table_values",
    "make_table_function",
    "series_coefficients",
]

TABLE_NAME = "gausslj_F"
"""Name of the tabulated function inside the generated forces."""

_FIELDS = ("nz", "np_", "a", "c1", "c2", "width_max", "r_core", "ghost", "k_reach",
           "terms6", "terms12", "k_scale")


class TableGrid:
    """Grid of the ``Continuous2DFunction`` (see the module docstring).

    Parameters
    ----------
    nz, np_ : int
        Number of nodes in ``z`` and in ``p`` (ghost nodes included).
    a, c1, c2 : float
        The distance map ``z = a x / sqrt(x^2 + c1^2) + (1 - a) x / sqrt(x^2 + c2^2)``:
        the first term puts nodes near the core (where the regularization's kink at
        ``r_core`` must be resolved at small widths), the second farther out.
    width_max : float
        Largest reduced width ``y = w / sigma`` covered (exclusive of ghost nodes).
    r_core : float
        Core radius of the regularized LJ (reduced); the table's reach at width 0.
    ghost : int
        Ghost nodes at each end of each axis.
    k_reach : float
        Slope of the table's reach ``b(y) = r_core + k_reach y``; beyond it the series is
        used (``q = y^2 / x^2 <= 1 / k_reach^2``).
    terms6, terms12 : int
        Terms of the heat-kernel series of ``x^-6`` and ``x^-12`` beyond ``b(y)``.
    k_scale : float
        The map acts on ``u = x / (1 + k_scale y)``: distances in units of the smoothing
        at large widths (where ``F`` varies on the scale ``y``), plain ``x`` at small ones
        (where the kink at ``r_core`` must not move across the ``p`` nodes).
    """

    __slots__ = _FIELDS

    def __init__(
        self,
        nz: int = 560,
        np_: int = 120,
        a: float = 0.35,
        c1: float = 1.2,
        c2: float = 4.0,
        width_max: float = WIDTH_MAX,
        r_core: float = R_CORE,
        ghost: int = 4,
        k_reach: float = 14.0,
        terms6: int = 10,
        terms12: int = 12,
        k_scale: float = 2.0,
    ) -> None:
        if int(ghost) < 0:
            raise ValueError(f"ghost must be >= 0, got {ghost}")
        if int(nz) < 16 + 2 * int(ghost) or int(np_) < 16 + 2 * int(ghost):
            raise ValueError(f"nz and np_ must be >= 16 + 2 ghost, got {nz}, {np_}")
        if not (np.isfinite(a) and 0.0 <= a <= 1.0):
            raise ValueError(f"a must be in [0, 1], got {a!r}")
        for name, c in (("c1", c1), ("c2", c2)):
            if not (np.isfinite(c) and c > 0):
                raise ValueError(f"{name} must be a positive finite number, got {c!r}")
        if check_width(width_max, "width_max") <= 0:
            raise ValueError(f"width_max must be a positive finite number, got {width_max!r}")
        r_core = check_r_core(r_core)
        if not (np.isfinite(k_reach) and k_reach >= 12.0):
            raise ValueError(f"k_reach must be a finite number >= 12, got {k_reach!r}")
        for name, k in (("terms6", terms6), ("terms12", terms12)):
            if not 1 <= int(k) <= 30:
                raise ValueError(f"{name} must be in [1, 30], got {k}")
        self.nz, self.np_, self.ghost = int(nz), int(np_), int(ghost)
        self.a, self.c1, self.c2 = float(a), float(c1), float(c2)
        self.width_max, self.r_core = float(width_max), float(r_core)
        self.k_reach = float(k_reach)
        self.terms6, self.terms12 = int(terms6), int(terms12)
        if not (np.isfinite(k_scale) and 0.0 <= k_scale < 16.0):
            raise ValueError(f"k_scale must be in [0, 16), got {k_scale!r}")
        self.k_scale = float(k_scale)
        if not self.z_nodes()[-1] < 1.0:
            raise ValueError(f"nz = {nz} leaves the ghost nodes beyond z = 1 (x = inf); "
                             "use more nodes")

    def key(self) -> tuple:
        """Hashable key of the grid (the constructor's arguments, in order)."""
        return tuple(getattr(self, n) for n in _FIELDS)

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in _FIELDS)
        return f"TableGrid({args})"

    def reach(self, y) -> np.ndarray:
        """``b(y) = r_core + k_reach |y|``: the table serves ``x < b(y)``."""
        return self.r_core + self.k_reach * np.abs(np.asarray(y, dtype=np.float64))

    def reach_expression(self, y: str) -> str:
        """The same as a Lepton expression of ``y >= 0``."""
        return f"{self.r_core!r} + {self.k_reach!r}*{y}"

    def z_of_x(self, x) -> np.ndarray:
        """The distance map (odd in ``x``, ``z -> 1`` as ``x -> oo``)."""
        x = np.asarray(x, dtype=np.float64)
        return self.a * x / np.sqrt(x * x + self.c1**2) + (1 - self.a) * x / np.sqrt(
            x * x + self.c2**2
        )

    def z_expression(self, x: str, x2: str) -> str:
        """The same map as a Lepton expression of ``x`` and ``x2 = x^2``."""
        return (
            f"{self.a!r}*{x}/sqrt({x2} + {self.c1**2!r}) + "
            f"{1 - self.a!r}*{x}/sqrt({x2} + {self.c2**2!r})"
        )

    def scale_expression(self, x: str, y: str) -> str:
        """``u = x / (1 + k_scale y)`` as a Lepton expression."""
        return f"{x}/(1 + {self.k_scale!r}*{y})" if self.k_scale else x

    def z_end(self) -> float:
        """``z`` of the largest reach ``b(y) / (1 + k_scale y)`` (increasing in ``y``)."""
        y = self.p_nodes()[-1] ** 2
        return float(self.z_of_x(self.reach(y) / (1.0 + self.k_scale * y)))

    def z_nodes(self) -> np.ndarray:
        """Nodes in ``z``: ``ghost`` mirrored below 0, uniform up to ``z_end``, ``ghost`` above."""
        dz = self.z_end() / (self.nz - 1 - 2 * self.ghost)
        return dz * (np.arange(self.nz) - self.ghost)

    def p_nodes(self) -> np.ndarray:
        """Nodes in ``p = sqrt(y)``: ghosts below 0 and above ``sqrt(width_max)``."""
        pmax = np.sqrt(self.width_max)
        dp = pmax / (self.np_ - 1 - 2 * self.ghost)
        return dp * (np.arange(self.np_) - self.ghost)

    def x_of_z(self, z) -> np.ndarray:
        """Reduced distance ``|x|`` for ``z`` (bisection; inf at ``|z| >= 1``)."""
        az = np.abs(np.asarray(z, dtype=np.float64))
        lo = np.zeros_like(az)
        hi = np.full_like(az, 1e12)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            big = self.z_of_x(mid) > az
            hi = np.where(big, mid, hi)
            lo = np.where(big, lo, mid)
        x = 0.5 * (lo + hi)
        x[az >= 1.0] = np.inf
        return x

    def node_points(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of every node, shape ``(nz, np_)`` (``x >= 0``: ``F`` is even)."""
        ug, yg = np.meshgrid(self.x_of_z(self.z_nodes()), self.p_nodes() ** 2, indexing="ij")
        return ug * (1.0 + self.k_scale * yg), yg


def series_coefficients(grid: TableGrid) -> tuple[list[float], list[float]]:
    """Heat-kernel coefficients ``(a6_k, a12_k)`` of ``x^-6`` and ``x^-12`` (``q = y^2/x^2``).

    ``exp(y^2 Δ) x^-n = x^-n sum_k a_k q^k`` with ``a_k = prod_{j<k} (n + 2j)(n - 1 + 2j) / k!``
    (``Δ x^-n = n (n - 1) x^-(n+2)``, the 3-D radial Laplacian), ``grid.terms6`` and
    ``grid.terms12`` terms (the core's one recurrence, at unit time).
    """
    a6 = heat_coefficients(6, 1.0, grid.terms6)
    a12 = heat_coefficients(12, 1.0, grid.terms12)
    return [float(a) for a in a6], [float(a) for a in a12]


def series_values(x, y, grid: TableGrid) -> np.ndarray:
    """The series ``A(x, y)`` the expressions use beyond the table (numpy, for checks)."""
    x = np.asarray(x, dtype=np.float64)
    q = np.asarray(y, dtype=np.float64) ** 2 / x**2
    a6, a12 = series_coefficients(grid)
    s6 = sum(a * q**k for k, a in enumerate(a6))
    s12 = sum(a * q**k for k, a in enumerate(a12))
    return 4.0 * x**-12 * s12 - 4.0 * x**-6 * s6


DEFAULT_GRID = TableGrid()


_CACHE_VERSION = "6"  # bump when the grid layout or the values' definition changes


def _cache_key(grid: TableGrid, source: str) -> dict:
    """Every input that changes the grid values (see :mod:`ase_gausslj.core.cache`)."""
    key = {
        "version": _CACHE_VERSION,
        "source": source,
        "grid": list(grid.key()),
        # the exact values come from the core's quadrature: its settings are inputs too
        "quad": [float(q) for q in potential._QUAD],
        "gl_order": int(potential._GL_X.size),
        "small_width": potential.SMALL_WIDTH,
    }
    if source == "table":
        from ase_gausslj.core.table import get_table

        tab = get_table(r_core=grid.r_core, width_max=grid.width_max)
        key["table"] = tab.cache_key()
    return key


_DIGITS = 13  # significant digits kept in the table values


def _compute_values(grid: TableGrid, source: str) -> np.ndarray:
    xg, yg = grid.node_points()
    if source == "exact":
        v, _ = smoothed_lj(xg.ravel(), yg.ravel(), grid.r_core)
    else:
        # the core table inside its width range, the exact quadrature for the ghost rows
        from ase_gausslj.core.table import get_table

        tab = get_table(r_core=grid.r_core, width_max=grid.width_max)
        xs, ys = xg.ravel(), yg.ravel()
        v = np.empty(xs.shape)
        inside = ys <= tab.width_max
        v[inside], _ = tab.evaluate(xs[inside], ys[inside])
        v[~inside], _ = smoothed_lj(xs[~inside], ys[~inside], grid.r_core)
    # 13 significant digits: the quadrature's own accuracy (~1e-12), and 5 fewer characters
    # per value in a serialized System (OpenMM writes the shortest repr)
    v = np.array([float(f"{a:.{_DIGITS}g}") for a in v])
    return np.ascontiguousarray(v.reshape(xg.shape).ravel(order="F"))  # z fastest (OpenMM)


@functools.lru_cache(maxsize=8)
def _table_values_cached(key: tuple, source: str) -> np.ndarray:
    grid = TableGrid(*key)
    n = grid.nz * grid.np_
    arrays = cached_arrays(
        "openmm-table", _cache_key(grid, source),
        lambda: {"values": _compute_values(grid, source)}, expect={"values": (n,)},
    )
    out = arrays["values"]
    out.setflags(write=False)
    return out


def table_values(grid: TableGrid = DEFAULT_GRID, source: str = "exact") -> np.ndarray:
    """Values ``F(x(z_i), p_j^2)`` of the table, ``z`` fastest (read-only).

    Parameters
    ----------
    grid : TableGrid
        The grid.
    source : {"exact", "table"}
        ``"exact"`` (default) evaluates the quadrature ``smoothed_lj`` (~1e-12) at every
        node: a few seconds for the default grid, once per machine thanks to the disk
        cache. ``"table"`` interpolates the core's reduced table
        (``ase_gausslj.core.table.get_table``): faster to build, but measured up to 1e-3
        relative off at large distance and large width (x ~ 15, y ~ 2).

    Values are cached in memory (``functools.lru_cache`` keyed by the grid parameters and
    the source) and on disk (``$GAUSSLJ_CACHE_DIR``, default ``~/.cache/gausslj``; set it
    to an empty string to disable), so building several forces is cheap.
    """
    if source not in ("table", "exact"):
        raise ValueError(f"source must be 'table' or 'exact', got {source!r}")
    return _table_values_cached(grid.key(), source)


def make_table_function(
    grid: TableGrid = DEFAULT_GRID, values=None
) -> mm.Continuous2DFunction:
    """A new ``Continuous2DFunction`` of ``(z, p)`` for ``grid``.

    ``values`` (``nz * np_`` floats, ``z`` fastest, e.g. saved from :func:`table_values`)
    skips the computation; by default the cached :func:`table_values` are used.
    """
    if values is None:
        values = table_values(grid)
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size != grid.nz * grid.np_ or not np.all(np.isfinite(values)):
        raise ValueError(f"values must be {grid.nz * grid.np_} finite numbers")
    t = grid.z_nodes()
    p = grid.p_nodes()
    return mm.Continuous2DFunction(
        grid.nz, grid.np_, values, float(t[0]), float(t[-1]), float(p[0]), float(p[-1])
    )
