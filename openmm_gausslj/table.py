"""The reduced 2-D table of the smoothed LJ for OpenMM (``Continuous2DFunction``).

How ``F`` is tabulated
----------------------
``F`` is an OpenMM ``Continuous2DFunction`` (natural bicubic spline) of the variables

    z = a x / sqrt(x^2 + c1^2) + (1 - a) x / sqrt(x^2 + c2^2)   in [0, 1)
    p = sqrt(y)                                                 in [0, sqrt(y_max)]

(``x = r / sig_ij``, ``y = w / sig_ij``, ``a = 0.35``, ``c1 = 1.2``, ``c2 = 8``,
``y_max = 2``): dense nodes near the core and still enough far out.

The map ``z`` covers every distance up to infinity (``z -> 1`` as ``x -> oo``), and
beyond ``x = 100`` the expression switches to the analytic heat-kernel tail
(:func:`tail_coefficients`), so no pair ever leaves the table, with or without a cutoff,
and OpenMM's numerical long-range correction converges (the spline alone decays only
like ``1/x^2`` near ``z = 1``).
``p = sqrt(y)`` concentrates nodes at small widths, where the smoothed regularized core
changes fastest. Because ``F`` is even in ``x`` and in ``p``, the table has a few mirrored
ghost nodes below ``z = 0`` and ``p = 0`` (and exact nodes above ``p_max``), so the
spline's natural end conditions do not spoil the accuracy at ``x = 0``, at width 0 or at
``y_max``. With 800 x 250 = 200,000 values the spline reproduces the exact ``F`` to
better than 1e-5 relative (of ``max(|F|, 4 x^-6)``) for ``0.85 <= x <= 12`` and
``0 <= y <= 2`` (forces to ~1e-5 for x < 4, ~1e-4 at large ``x`` and ``y``); beyond
``x = 12`` the absolute error is below 1e-9 ``eps``. See ``docs/openmm.md`` for the
measured errors and ``tests/test_openmm_forces.py`` for the check. The expression uses
the table value only for the energy: a force-only evaluation costs one spline
derivative per pair.
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
    "tail_coefficients",
]

TABLE_NAME = "gausslj_F"
"""Name of the tabulated function inside the generated forces."""


class TableGrid:
    """Grid of the ``Continuous2DFunction`` (see the module docstring).

    Parameters
    ----------
    nz, np_ : int
        Number of nodes in ``z`` and in ``p`` (ghost nodes included).
    a, c1, c2 : float
        The distance map ``z = a x / sqrt(x^2 + c1^2) + (1 - a) x / sqrt(x^2 + c2^2)``:
        the first term puts nodes near the core (where the regularization's kink at
        ``r_core`` must be resolved at small widths), the second far out (where large
        widths spread the potential).
    width_max : float
        Largest reduced width ``y = w / sigma`` covered (exclusive of ghost nodes).
    r_core : float
        Core radius of the regularized LJ (reduced).
    ghost : int
        Ghost nodes at each mirrored end.
    """

    __slots__ = ("nz", "np_", "a", "c1", "c2", "width_max", "r_core", "ghost")

    x_tail = 100.0
    """Beyond this reduced distance the expression uses the analytic heat-kernel tail."""

    def __init__(
        self,
        nz: int = 800,
        np_: int = 250,
        a: float = 0.35,
        c1: float = 1.2,
        c2: float = 8.0,
        width_max: float = WIDTH_MAX,
        r_core: float = R_CORE,
        ghost: int = 4,
    ) -> None:
        if int(nz) < 16 or int(np_) < 16:
            raise ValueError(f"nz and np_ must be >= 16, got {nz}, {np_}")
        if not (np.isfinite(a) and 0.0 <= a <= 1.0):
            raise ValueError(f"a must be in [0, 1], got {a!r}")
        for name, c in (("c1", c1), ("c2", c2)):
            if not (np.isfinite(c) and c > 0):
                raise ValueError(f"{name} must be a positive finite number, got {c!r}")
        if check_width(width_max, "width_max") <= 0:
            raise ValueError(f"width_max must be a positive finite number, got {width_max!r}")
        r_core = check_r_core(r_core)
        if int(ghost) < 0:
            raise ValueError(f"ghost must be >= 0, got {ghost}")
        self.nz = int(nz)
        self.np_ = int(np_)
        self.a = float(a)
        self.c1 = float(c1)
        self.c2 = float(c2)
        self.width_max = float(width_max)
        self.r_core = float(r_core)
        self.ghost = int(ghost)

    def key(self) -> tuple:
        """Hashable key of the grid (the constructor's arguments, in order)."""
        return (
            self.nz,
            self.np_,
            self.a,
            self.c1,
            self.c2,
            self.width_max,
            self.r_core,
            self.ghost,
        )

    def __repr__(self) -> str:
        names = ("nz", "np_", "a", "c1", "c2", "width_max", "r_core", "ghost")
        args = ", ".join(f"{n}={v!r}" for n, v in zip(names, self.key(), strict=True))
        return f"TableGrid({args})"

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

    def z_nodes(self) -> np.ndarray:
        """Nodes in ``z``: ``ghost`` mirrored nodes below 0, then uniform up to 1."""
        dz = 1.0 / (self.nz - 1 - self.ghost)
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


def tail_coefficients(grid: TableGrid, tol: float = 1e-6) -> list[float]:
    """Heat-kernel series of ``-4 x^-6`` beyond ``grid.x_tail``: coefficients ``a_k``.

    ``exp(y^2 Δ) x^-6 = x^-6 sum_k a_k q^k`` with ``q = y^2 / x^2`` and
    ``a_k = prod_{j<k} (6 + 2j)(5 + 2j) / k!`` (``Δ x^-n = n (n - 1) x^-(n+2)``, the 3-D
    radial Laplacian). Terms are kept while ``a_k q_max^k > tol`` with ``q_max`` the
    largest ``q`` the table's widths (ghosts included) reach at ``x_tail`` (3 terms,
    truncation below 3e-6 relative, i.e. 1e-17 ``eps`` absolute, at ``x_tail = 100``).
    The ``x^-12`` part (relative ``x^-6 = 1e-12`` there) and the regularized core
    (``~exp(-(x - r_core)^2 / 4 y^2)``) are negligible beyond ``x_tail``.
    """
    qmax = float(grid.p_nodes()[-1]) ** 4 / grid.x_tail**2
    # the one heat-kernel recurrence (ase_gausslj.core.closed_forms) at unit t: a_k
    a = heat_coefficients(6, 1.0, 62)
    coef = [1.0]
    for k in range(1, 61):
        if a[k] * qmax**k < tol:
            break
        coef.append(float(a[k]))
    return coef


DEFAULT_GRID = TableGrid()


_CACHE_VERSION = "4"  # bump when the grid layout or the values' definition changes


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


def _compute_values(grid: TableGrid, source: str) -> np.ndarray:
    z = grid.z_nodes()
    p = grid.p_nodes()
    x = grid.x_of_z(z)
    y = p * p
    xg, yg = np.meshgrid(x, y, indexing="ij")
    g = np.zeros(xg.shape)  # F -> 0 as x -> oo (z = 1)
    fin = np.isfinite(xg)
    v = np.empty(xg.shape)
    if source == "exact":
        v[fin], _ = smoothed_lj(xg[fin], yg[fin], grid.r_core)
    else:
        # the core table inside its width range, the exact quadrature for the ghost rows
        from ase_gausslj.core.table import get_table

        tab = get_table(r_core=grid.r_core, width_max=grid.width_max)
        inside = fin & (yg <= tab.width_max)
        v[inside], _ = tab.evaluate(xg[inside], yg[inside])
        rest = fin & ~inside
        v[rest], _ = smoothed_lj(xg[rest], yg[rest], grid.r_core)
    g[fin] = v[fin]
    return np.ascontiguousarray(g.ravel(order="F"))  # z fastest, as OpenMM wants


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
        node: several seconds for the default grid, once per machine thanks to the disk
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
    z = grid.z_nodes()
    p = grid.p_nodes()
    return mm.Continuous2DFunction(
        grid.nz, grid.np_, values, float(z[0]), float(z[-1]), float(p[0]), float(p[-1])
    )
