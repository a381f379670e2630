"""The Brownian bridge through a day's open, high, low and close (core/bridge.py).

Every bridged day must reproduce its real O, H, L, C bit for bit: the path starts at
O and ends at C, its maximum is H and its minimum is L, and the intraday bars aggregate
back to exactly that daily bar.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from janus_sim.core.bridge import bridge_days, bridge_path, extreme_indices, volume_profile

SNAPS = ("none", "open_high", "open_low", "close_high", "close_low", "oc_extremes", "flat")


@st.composite
def days(draw: st.DrawFn, min_ratio: float = 1.0) -> tuple[float, float, float, float]:
    """(open, high, low, close) with low <= open, close <= high; often degenerate."""
    low = draw(st.floats(1e-6, 1e9, allow_nan=False, allow_infinity=False))
    ratio = draw(st.floats(min_ratio, 3.0, allow_nan=False))
    high = max(low * ratio, low)
    fo, fc = draw(st.floats(0, 1)), draw(st.floats(0, 1))
    # Clamped: low + f * (high - low) can round outside [low, high].
    o = min(max(low + fo * (high - low), low), high)
    c = min(max(low + fc * (high - low), low), high)
    snap = draw(st.sampled_from(SNAPS))
    if snap == "open_high":
        o = high
    elif snap == "open_low":
        o = low
    elif snap == "close_high":
        c = high
    elif snap == "close_low":
        c = low
    elif snap == "oc_extremes":
        o, c = (high, low) if draw(st.booleans()) else (low, high)
    elif snap == "flat":
        o = high = c = low
    return o, high, low, c


def _check_day(path: np.ndarray, o: float, h: float, low: float, c: float) -> None:
    assert np.isfinite(path).all()
    assert path[0] == o and path[-1] == c
    assert path.max() == h and path.min() == low


@settings(max_examples=300, deadline=None)
@given(day=days(), n=st.integers(3, 400), seed=st.integers(0, 2**32))
def test_every_path_hits_open_high_low_close_exactly(
    day: tuple[float, float, float, float], n: int, seed: int
) -> None:
    o, h, low, c = day
    rng = np.random.default_rng(seed)
    path = bridge_path(o, h, low, c, n, rng.random(2), rng.standard_normal(n))
    assert len(path) == n + 1
    _check_day(path, o, h, low, c)


@settings(max_examples=100, deadline=None)
@given(
    day_list=st.lists(days(), min_size=1, max_size=6),
    n=st.integers(3, 120),
    seed=st.integers(0, 2**32),
)
def test_intraday_bars_aggregate_back_to_each_daily_bar(
    day_list: list[tuple[float, float, float, float]], n: int, seed: int
) -> None:
    o, h, low, c = (np.array(x) for x in zip(*day_list, strict=True))
    volume = np.linspace(1.0, 1e9, len(day_list))
    bars = bridge_days(o, h, low, c, volume, n, np.random.default_rng(seed))
    assert len(bars.close) == len(day_list) * n
    for d in range(len(day_list)):
        rows = slice(d * n, (d + 1) * n)
        assert bars.open[rows][0] == o[d] and bars.close[rows][-1] == c[d]
        assert bars.high[rows].max() == h[d] and bars.low[rows].min() == low[d]
        # Each bar opens where the previous closed: one continuous path per day.
        assert np.array_equal(bars.open[rows][1:], bars.close[rows][:-1])
        assert (bars.high[rows] >= np.maximum(bars.open[rows], bars.close[rows])).all()
        assert (bars.low[rows] <= np.minimum(bars.open[rows], bars.close[rows])).all()
        assert (bars.volume[rows] > 0).all()
        assert math.isclose(bars.volume[rows].sum(), volume[d], rel_tol=1e-12)


@settings(max_examples=50, deadline=None)
@given(day=days(min_ratio=1.001), n=st.integers(5, 200), seed=st.integers(0, 2**32))
def test_same_seed_same_path_other_seed_other_path(
    day: tuple[float, float, float, float], n: int, seed: int
) -> None:
    o, h, low, c = day
    assume(h > low * 1.001)
    args = (np.array([o]), np.array([h]), np.array([low]), np.array([c]), np.array([1e6]), n)
    a = bridge_days(*args, np.random.default_rng(seed))
    b = bridge_days(*args, np.random.default_rng(seed))
    other = bridge_days(*args, np.random.default_rng(seed + 1))
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.close, other.close)
    assert not np.array_equal(a.volume, other.volume)


@pytest.mark.parametrize(
    ("o", "h", "low", "c"),
    [
        pytest.param(100.0, 100.0, 100.0, 100.0, id="flat O=H=L=C"),
        pytest.param(100.0, 100.0, 90.0, 95.0, id="opens at the high"),
        pytest.param(90.0, 100.0, 90.0, 95.0, id="opens at the low"),
        pytest.param(95.0, 100.0, 90.0, 100.0, id="closes at the high"),
        pytest.param(95.0, 100.0, 90.0, 90.0, id="closes at the low"),
        pytest.param(100.0, 100.0, 90.0, 90.0, id="H=O and L=C"),
        pytest.param(90.0, 100.0, 90.0, 100.0, id="L=O and H=C"),
        pytest.param(95.0, 100.0, 90.0, 95.0, id="O=C inside"),
        pytest.param(100.0, 100.0, 100.0, 100.0 + 0.0, id="flat again (signed zero)"),
        pytest.param(1.0, math.nextafter(1.0, 2.0), 1.0, 1.0, id="one-ulp range"),
        pytest.param(1e-300, 1e300, 1e-300, 1e300, id="extreme range"),
    ],
)
@pytest.mark.parametrize("n", [3, 4, 390])
def test_degenerate_days_never_crash_or_give_nan(
    o: float, h: float, low: float, c: float, n: int
) -> None:
    for seed in range(5):
        rng = np.random.default_rng(seed)
        path = bridge_path(o, h, low, c, n, rng.random(2), rng.standard_normal(n))
        _check_day(path, o, h, low, c)


def test_extremes_keep_the_days_shape() -> None:
    u = np.array([0.5, 0.5])
    assert extreme_indices(100, 100, 90, 95, 10, u)[0] == 0  # opens at the high
    assert extreme_indices(95, 100, 90, 90, 10, u)[1] == 10  # closes at the low
    for u0 in np.linspace(0, 0.999, 50):
        for u1 in np.linspace(0, 0.999, 50):
            k_high, k_low = extreme_indices(95, 100, 90, 96, 4, np.array([u0, u1]))
            assert 1 <= k_high <= 3 and 1 <= k_low <= 3 and k_high != k_low


def test_bad_days_and_too_few_bars_are_refused() -> None:
    z, u = np.zeros(5), np.zeros(2)
    with pytest.raises(ValueError, match="at least 3 bars"):
        bridge_path(1.0, 2.0, 1.0, 2.0, 2, u, z)
    for o, h, low, c in [(1, 2, 1.5, 1.5), (3, 2, 1, 2), (1, 2, 0, 1), (1, math.inf, 1, 1)]:
        with pytest.raises(ValueError, match="not a valid day"):
            bridge_path(o, h, low, c, 5, u, z)


def test_volume_profile_is_u_shaped_and_sums_to_one() -> None:
    w = volume_profile(390, np.zeros(390))
    assert math.isclose(w.sum(), 1.0) and (w > 0).all()
    assert w[0] > 2.5 * w[195] and w[-1] > 2.5 * w[195]
