"""Width schedules for Gaussian homotopy and annealed sampling.

A schedule is the sequence of Gaussian widths ``s`` visited while the smoothing is
annealed away. Every schedule here ends at width ``0`` (the unsmoothed potential).
Widths are in whatever length unit the consumer uses (reduced units for
:func:`~ase_gausslj.homotopy.homotopy_minimize`, Å for the ASE calculator).

Two kinds of use share one interface:

* *stage-based* (homotopy): iterate over the schedule, one minimization per width;
* *step-based* (dynamics): ``schedule.width_at(step)`` gives the width at an MD or
  optimizer step; past the end the width stays at 0.

:class:`PlateauSchedule` is the paper's adaptive rule (Ram & Ram 2025, App. D): the
width is multiplied by ``factor`` whenever the gradient norm falls below ``gtol``; it is
driven by :meth:`PlateauSchedule.update` instead of a step counter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .core.validation import check_finite_nonneg, count, positive

__all__ = [
    "WidthSchedule",
    "LinearSchedule",
    "GeometricSchedule",
    "ExplicitSchedule",
    "CallableSchedule",
    "PlateauSchedule",
    "as_schedule",
    "check_non_increasing",
    "check_anneal_range",
]

# The one rule for every annealing code path (homotopy, ASE dynamics, SMC, the OpenMM
# integrators): an annealing schedule only removes smoothing, so widths never increase.
# A user who wants to re-smooth starts a new schedule.


def check_non_increasing(widths, name: str = "widths") -> None:
    """ValueError naming ``name`` unless ``widths`` never increases."""
    arr = np.asarray(widths, dtype=np.float64)
    up = np.flatnonzero(np.diff(arr) > 0)
    if up.size:
        i = int(up[0])
        raise ValueError(
            f"{name} must be non-increasing (annealing only removes smoothing); "
            f"{name}[{i}] = {arr[i]!r} < {name}[{i + 1}] = {arr[i + 1]!r}"
        )


def check_anneal_range(start, end, names: tuple[str, str] = ("width_start", "width_end")):
    """``(start, end)`` as floats, both finite and >= 0, with ``end <= start``."""
    a = float(check_finite_nonneg(start, names[0]))
    b = float(check_finite_nonneg(end, names[1]))
    if b > a:
        raise ValueError(
            f"{names[1]} ({b!r}) must not exceed {names[0]} ({a!r}): annealing only "
            "removes smoothing"
        )
    return a, b


class WidthSchedule:
    """A finite sequence of widths ending at 0.

    Parameters
    ----------
    widths : sequence of float
        The widths in the order they are visited; each finite and >= 0. A final 0 is
        appended when the sequence does not already end at 0.

    Notes
    -----
    Subclasses only build the width list. ``len(schedule)`` counts the final 0.
    """

    def __init__(self, widths: Sequence[float]):
        arr = check_finite_nonneg(widths, "widths")
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"widths must be a non-empty 1-D sequence, got shape {arr.shape}")
        if arr[-1] != 0.0:
            arr = np.append(arr, 0.0)
        check_non_increasing(arr, "widths")
        self._widths = tuple(float(w) for w in arr)

    @property
    def widths(self) -> tuple[float, ...]:
        """All widths, in order, ending with 0."""
        return self._widths

    @property
    def start(self) -> float:
        """The first (largest, usually) width."""
        return self._widths[0]

    def __len__(self) -> int:
        return len(self._widths)

    def __iter__(self) -> Iterator[float]:
        return iter(self._widths)

    def __getitem__(self, i: int) -> float:
        return self._widths[i]

    def width_at(self, step: int, steps_per_width: int = 1) -> float:
        """Width at a (0-based) dynamics step.

        Parameters
        ----------
        step : int
            Step counter, >= 0.
        steps_per_width : int, optional
            Each width is held for this many steps (default 1).

        Returns
        -------
        float
            ``widths[step // steps_per_width]``, or 0 once the schedule is exhausted.
        """
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        steps_per_width = count(steps_per_width, "steps_per_width")
        k = step // steps_per_width
        return self._widths[k] if k < len(self._widths) else 0.0

    def __repr__(self) -> str:
        w = self._widths
        body = ", ".join(f"{x:.4g}" for x in w) if len(w) <= 6 else (
            f"{w[0]:.4g}, {w[1]:.4g}, ..., {w[-2]:.4g}, {w[-1]:.4g}")
        return f"{type(self).__name__}([{body}], n={len(w)})"


class LinearSchedule(WidthSchedule):
    """``n`` widths spaced linearly from ``start`` to ``stop``, then 0.

    Parameters
    ----------
    start : float
        First width (>= 0).
    n : int
        Number of widths from ``start`` to ``stop`` inclusive.
    stop : float, optional
        Last smoothed width (default 0: the schedule is ``linspace(start, 0, n)``).
    """

    def __init__(self, start: float, n: int, stop: float = 0.0):
        start = float(check_finite_nonneg(start, "start"))
        stop = float(check_finite_nonneg(stop, "stop"))
        n = count(n, "n")
        super().__init__(np.linspace(start, stop, n))


class GeometricSchedule(WidthSchedule):
    """``start * factor**k`` while it is >= ``floor``, then 0 (the paper's widths).

    Parameters
    ----------
    start : float, optional
        First width (default 1.0, the paper's).
    factor : float, optional
        Ratio between successive widths, in (0, 1) (default 0.95).
    floor : float, optional
        Smallest smoothed width (default 0.025); after it the schedule jumps to 0.

    Examples
    --------
    >>> len(GeometricSchedule())  # 72 smoothed widths 1.0 ... 0.0258, then 0
    73
    """

    def __init__(self, start: float = 1.0, factor: float = 0.95, floor: float = 0.025):
        start = positive(start, "start")
        factor = float(check_finite_nonneg(factor, "factor"))
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        floor = positive(floor, "floor")
        n = 1 if floor > start else int(math.floor(math.log(floor / start) / math.log(factor)
                                                    + 1e-12)) + 1
        self.factor, self.floor = factor, floor
        super().__init__(start * factor ** np.arange(n))


class ExplicitSchedule(WidthSchedule):
    """An explicit list of widths (0 appended if missing)."""


class CallableSchedule(WidthSchedule):
    """Widths ``func(k)`` for ``k = 0 .. n-1``, then 0.

    Parameters
    ----------
    func : callable
        ``func(k: int) -> float``, a width >= 0.
    n : int
        Number of widths to draw from ``func``.
    """

    def __init__(self, func: Callable[[int], float], n: int):
        if not callable(func):
            raise ValueError(f"func must be callable, got {func!r}")
        n = count(n, "n")
        super().__init__([float(func(k)) for k in range(n)])


class PlateauSchedule(GeometricSchedule):
    """The paper's adaptive rule: shrink the width when the gradient norm is small.

    Starting at ``start``, the width is multiplied by ``factor`` each time
    :meth:`update` sees a gradient norm below ``gtol``; once it would fall below
    ``floor`` it becomes 0 (unsmoothed), where it stays. Ram & Ram (2025, App. D) use
    ``start=1.0, factor=0.95, gtol=1e-5, floor=0.025``.

    Parameters
    ----------
    start, factor, floor : float
        As in :class:`GeometricSchedule`; :attr:`widths` lists the widths the rule
        can visit.
    gtol : float, optional
        Gradient-norm trigger (2-norm of the full gradient), default 1e-5.

    Notes
    -----
    Under Adam with a fixed learning rate the gradient norm rarely drops to 1e-5, so the
    rule may never fire (see ``docs/ase.md``). Step-based use (:meth:`width_at`) ignores
    the trigger and walks the widths one per step; use :meth:`update` for the rule.
    """

    def __init__(self, start: float = 1.0, factor: float = 0.95, floor: float = 0.025,
                 gtol: float = 1e-5):
        super().__init__(start, factor, floor)
        self.gtol = positive(gtol, "gtol")
        self.reset()

    def reset(self) -> None:
        """Return to the first width."""
        self.index = 0

    @property
    def width(self) -> float:
        """The current width."""
        return self._widths[self.index]

    @property
    def finished(self) -> bool:
        """True once the width has reached 0."""
        return self.index == len(self._widths) - 1

    def update(self, grad_norm: float) -> bool:
        """Apply the trigger; return True if the width changed."""
        if not self.finished and float(grad_norm) < self.gtol:
            self.index += 1
            return True
        return False


def as_schedule(spec=None, *, n: int | None = None) -> WidthSchedule:
    """Turn a user specification into a :class:`WidthSchedule`.

    Parameters
    ----------
    spec : None, str, WidthSchedule, sequence of float, or callable
        ``None`` or ``'geometric'``: :class:`GeometricSchedule` ``(1.0, 0.95, 0.025)``;
        ``'paper'``: :class:`PlateauSchedule` with the paper's constants; ``'linear'``:
        :class:`LinearSchedule` from 1.0 to 0.025 in ``n`` (default 72) widths; a
        schedule is returned unchanged; a sequence becomes an :class:`ExplicitSchedule`;
        a callable needs ``n`` and becomes a :class:`CallableSchedule`.
    n : int, optional
        Length for ``'linear'`` and callables.

    Returns
    -------
    WidthSchedule
    """
    if spec is None or (isinstance(spec, str) and spec == "geometric"):
        return GeometricSchedule()
    if isinstance(spec, WidthSchedule):
        return spec
    if isinstance(spec, str):
        if spec == "paper":
            return PlateauSchedule()
        if spec == "linear":
            return LinearSchedule(1.0, 72 if n is None else n, stop=0.025)
        raise ValueError(f"widths: unknown schedule name {spec!r} "
                         "(use 'geometric', 'linear' or 'paper')")
    if callable(spec):
        if n is None:
            raise ValueError("widths: a callable schedule needs n (the number of widths)")
        return CallableSchedule(spec, n)
    return ExplicitSchedule(spec)
