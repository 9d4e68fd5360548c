"""Width schedules: lengths, end points, the plateau trigger, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ase_gausslj.schedules import (
    CallableSchedule,
    ExplicitSchedule,
    GeometricSchedule,
    LinearSchedule,
    PlateauSchedule,
    WidthSchedule,
    as_schedule,
)


def test_geometric_is_the_papers():
    s = GeometricSchedule()
    # 1.0 * 0.95**k >= 0.025  <=>  k <= ln(0.025)/ln(0.95) = 71.9  -> k = 0..71, then 0
    assert len(s) == 73
    assert s[0] == 1.0 and s[-1] == 0.0
    assert s[-2] == pytest.approx(0.95**71) and s[-2] >= 0.025 > 0.95**72
    assert np.all(np.diff(s.widths) < 0)


def test_linear_explicit_callable():
    assert LinearSchedule(1.0, 5).widths == (1.0, 0.75, 0.5, 0.25, 0.0)
    assert LinearSchedule(1.5, 3, stop=0.5).widths == (1.5, 1.0, 0.5, 0.0)
    assert ExplicitSchedule([0.3, 0.1]).widths == (0.3, 0.1, 0.0)
    assert ExplicitSchedule([0.0]).widths == (0.0,)
    assert CallableSchedule(lambda k: 2.0 ** -k, 3).widths == (1.0, 0.5, 0.25, 0.0)


def test_every_schedule_ends_at_zero():
    for s in (GeometricSchedule(0.5, 0.5, 0.1), LinearSchedule(2.0, 7, 0.1),
              ExplicitSchedule([2.0, 1.0]), PlateauSchedule(), as_schedule("linear", n=4)):
        assert s.widths[-1] == 0.0 and isinstance(s, WidthSchedule)


def test_width_at_steps():
    s = ExplicitSchedule([0.4, 0.2])
    assert [s.width_at(k) for k in range(5)] == [0.4, 0.2, 0.0, 0.0, 0.0]
    assert [s.width_at(k, steps_per_width=2) for k in range(6)] == [0.4, 0.4, 0.2, 0.2, 0, 0]


def test_plateau_trigger():
    p = PlateauSchedule(start=1.0, factor=0.5, floor=0.2, gtol=1e-5)
    assert p.widths == (1.0, 0.5, 0.25, 0.0)
    assert not p.update(1e-4) and p.width == 1.0
    assert p.update(9e-6) and p.width == 0.5
    p.update(0.0)
    p.update(0.0)
    assert p.finished and p.width == 0.0
    assert not p.update(0.0) and p.width == 0.0
    p.reset()
    assert p.width == 1.0


def test_as_schedule():
    assert len(as_schedule(None)) == 73
    assert isinstance(as_schedule("paper"), PlateauSchedule)
    s = LinearSchedule(1.0, 3)
    assert as_schedule(s) is s
    assert as_schedule((0.5,)).widths == (0.5, 0.0)
    assert as_schedule(lambda k: 1.0 / (k + 1), n=2).widths == (1.0, 0.5, 0.0)
    with pytest.raises(ValueError, match="widths"):
        as_schedule("nope")
    with pytest.raises(ValueError, match="n"):
        as_schedule(lambda k: 1.0)


@pytest.mark.parametrize("bad", [[-0.1], [math.nan], [], [[0.1]]])
def test_bad_widths(bad):
    with pytest.raises(ValueError, match="widths"):
        ExplicitSchedule(bad)


def test_bad_parameters():
    with pytest.raises(ValueError, match="factor"):
        GeometricSchedule(factor=1.5)
    with pytest.raises(ValueError, match="n"):
        LinearSchedule(1.0, 0)
    with pytest.raises(ValueError, match="gtol"):
        PlateauSchedule(gtol=0.0)
    with pytest.raises(ValueError, match="step"):
        GeometricSchedule().width_at(-1)


def test_increasing_widths_are_refused_everywhere_the_same_way():
    import pytest

    from ase_gausslj.schedules import check_anneal_range

    with pytest.raises(ValueError, match=r"widths must be non-increasing.*widths\[0\]"):
        ExplicitSchedule([1.0, 2.0])
    with pytest.raises(ValueError, match="width_end"):
        check_anneal_range(0.1, 0.2)
    assert check_anneal_range(0.2, 0.0) == (0.2, 0.0)
