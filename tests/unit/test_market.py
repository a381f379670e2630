"""Market generation and features."""

from __future__ import annotations

import datetime as dt

import numpy as np

from janus_sim.config import Scenario
from janus_sim.core.features import feature_matrix, market_context
from janus_sim.core.market import generate_bars, regime_plan, session_start_ns
from janus_sim.core.rng import component_rng
from janus_sim.timefmt import parse_moment


def test_bars_are_deterministic_per_seed(tiny_scenario: Scenario) -> None:
    a = generate_bars(tiny_scenario.market, tiny_scenario.calendar, component_rng(1, "market"))
    b = generate_bars(tiny_scenario.market, tiny_scenario.calendar, component_rng(1, "market"))
    c = generate_bars(tiny_scenario.market, tiny_scenario.calendar, component_rng(2, "market"))
    assert np.array_equal(a.close, b.close) and np.array_equal(a.volume, b.volume)
    assert not np.array_equal(a.close, c.close)


def test_bars_shape_time_and_ohlc(tiny_scenario: Scenario) -> None:
    bars = generate_bars(tiny_scenario.market, tiny_scenario.calendar, component_rng(1, "market"))
    assert len(bars) == 3 * 40
    assert (np.diff(bars.t_ns) > 0).all()
    assert (bars.high >= np.maximum(bars.open, bars.close)).all()
    assert (bars.low <= np.minimum(bars.open, bars.close)).all()
    assert (bars.volume > 0).all()


def test_regime_plan_follows_segments(tiny_scenario: Scenario) -> None:
    sc = tiny_scenario
    plan = regime_plan(sc.market, sc.calendar.trading_days(), 40)
    assert sc.market.regimes is not None  # a synthetic market, as regime_plan requires
    names = list(sc.market.regimes)
    day2 = [names[i] for i in plan[40:80]]
    assert day2 == ["calm"] * 20 + ["crash"] * 20
    assert all(names[i] == "calm" for i in plan[:40])


def test_crash_regime_falls(tiny_scenario: Scenario) -> None:
    bars = generate_bars(tiny_scenario.market, tiny_scenario.calendar, component_rng(3, "market"))
    ctx = market_context(bars)
    assert ctx[79, 2] > 1.0  # drawdown past 1% by the end of the crash half-day


def test_features_are_finite_with_position_slot(tiny_scenario: Scenario) -> None:
    bars = generate_bars(tiny_scenario.market, tiny_scenario.calendar, component_rng(1, "market"))
    names = ("ret_1", "ret_60", "rv_30", "volume_z_20", "drawdown", "position", "time_of_day")
    x, pos = feature_matrix(bars, names)
    assert x.shape == (len(bars), len(names)) and pos == 5
    assert np.isfinite(x).all() and (x[:, pos] == 0).all()
    assert x[0, 6] == 0.0 and x[39, 6] == 1.0
    assert (np.abs(x[:, 3]) <= 5).all()
    # ret_1 in percent equals 100 * log(close_t / close_{t-1})
    np.testing.assert_allclose(x[1:, 0], 100 * np.diff(np.log(bars.close)), rtol=1e-10)


def test_session_open_is_a_naive_time_so_utc() -> None:
    """Scenario dates and the session open follow timefmt's rule: naive wall time = UTC."""
    day = dt.date(2008, 10, 10)
    assert session_start_ns(day, "09:30") == 1_223_631_000 * 10**9  # calendar.timegm's value
    assert session_start_ns(day, "09:30") == parse_moment("2008-10-10T09:30", end_of_day=False)
    assert session_start_ns(day, "00:00") == parse_moment("2008-10-10", end_of_day=False)
