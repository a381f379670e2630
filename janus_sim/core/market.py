"""Synthetic market: a seeded regime-switching log-price process with Poisson jumps.

The scenario plans the true regime of every bar (``market.days``: consecutive segments
of each trading day; unplanned days use ``default_regime``). Within a regime, the bar
log-return is ``drift + vol * z + J`` where ``J`` is a compound Poisson jump
(``jump_rate`` jumps per bar, each ``N(jump_mean, jump_std^2)``); volume is lognormal
around ``volume_mean``. Each bar keeps its true regime label so later phases can be
scored against it. All bars of a scenario are generated at once from the market's own
generator, so the path does not depend on what the agent does.

A market of real bars (``market.data``) arrives here as ``ObservedBars``, read and
validated by ``adapters/bars_file.py``: minute bars are taken as they are, daily bars are
bridged into intraday paths (``core/bridge.py``). Real bars have no true regime: every
bar carries the one label ``UNLABELLED``, and nothing downstream may read it as a
regime that was recovered or missed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core.bridge import bridge_days
from janus_sim.timefmt import NS_PER_S, to_utc_ns

if TYPE_CHECKING:
    from janus_sim.config import Calendar, Market

OVERNIGHT_GAP_VOL = 0.002
"""Log-return standard deviation of the overnight gap between a close and the next open."""
UNLABELLED = "unlabelled"
"""The regime label of every bar of real data, whose true regimes nobody knows."""


@dataclass(frozen=True, eq=False)
class Bars:
    """OHLCV bars of a whole scenario, in time order, with their day and true regime."""

    t_ns: np.ndarray
    """Bar close time: the simulation clock, integer UTC nanoseconds (``janus_sim.timefmt``)."""
    day: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    regime: np.ndarray
    """Index into ``regime_names``."""
    regime_names: tuple[str, ...]
    dates: tuple[dt.date, ...]
    bars_per_day: int
    bar_ns: int

    def __len__(self) -> int:
        return len(self.close)

    def day_slice(self, day: int) -> slice:
        return slice(day * self.bars_per_day, (day + 1) * self.bars_per_day)


def session_start_ns(date: dt.date, session_open: str) -> int:
    """Clock time of ``date``'s session open (``"HH:MM"``): the open is a naive wall time,
    so by timefmt's rule it is read as UTC, like every naive timestamp."""
    hour, minute = (int(x) for x in session_open.split(":"))
    return to_utc_ns(dt.datetime.combine(date, dt.time(hour, minute)))


def regime_plan(market: Market, dates: tuple[dt.date, ...], bars_per_day: int) -> np.ndarray:
    """The true regime index of every bar, from the day plans (segments by fraction)."""
    if market.regimes is None or market.default_regime is None:
        raise ValueError("a synthetic market needs regimes and default_regime")
    names = tuple(market.regimes)
    plans = {p.date: p for p in market.days}
    out = np.empty(len(dates) * bars_per_day, dtype=np.int16)
    default = names.index(market.default_regime)
    for d, date in enumerate(dates):
        row = out[d * bars_per_day : (d + 1) * bars_per_day]
        plan = plans.get(date)
        if plan is None:
            row[:] = default
            continue
        start = 0
        cumulative = 0.0
        for i, seg in enumerate(plan.segments):
            cumulative += seg.fraction
            stop = bars_per_day if i == len(plan.segments) - 1 else round(cumulative * bars_per_day)
            row[start:stop] = names.index(seg.regime)
            start = stop
    return out


def generate_bars(market: Market, cal: Calendar, rng: np.random.Generator) -> Bars:
    """All bars of the scenario. Draws a fixed number of variates per bar, in a fixed order."""
    dates = cal.trading_days()
    per_day = cal.bars_per_day
    n = len(dates) * per_day
    regime = regime_plan(market, dates, per_day)
    regimes = market.regimes or {}  # not None: regime_plan checked it
    names = tuple(regimes)
    params = [regimes[name] for name in names]
    drift = np.array([p.drift for p in params])[regime]
    vol = np.array([p.vol for p in params])[regime]
    rate = np.array([p.jump_rate for p in params])[regime]
    jmean = np.array([p.jump_mean for p in params])[regime]
    jstd = np.array([p.jump_std for p in params])[regime]
    vmean = np.array([p.volume_mean for p in params])[regime]
    vsig = np.array([p.volume_sigma for p in params])[regime]

    z = rng.standard_normal(n)
    counts = rng.poisson(rate)
    jz = rng.standard_normal(n)
    wick = np.abs(rng.standard_normal((n, 2)))
    vz = rng.standard_normal(n)
    gaps = rng.standard_normal(len(dates)) * OVERNIGHT_GAP_VOL

    jumps = counts * jmean + np.sqrt(counts) * jstd * jz
    log_ret = drift + vol * z + jumps
    # Each day opens at the previous close times an overnight gap; the first at start_price.
    gap_per_bar = np.zeros(n)
    gap_per_bar[per_day::per_day] = gaps[1:]
    log_close = dm.log(float(market.start_price)) + np.cumsum(log_ret + gap_per_bar)
    close = dm.exp(log_close)
    open_ = dm.exp(log_close - log_ret)
    high = np.maximum(open_, close) * dm.exp(0.5 * vol * wick[:, 0])
    low = np.minimum(open_, close) * dm.exp(-0.5 * vol * wick[:, 1])
    volume = vmean * dm.exp(vsig * vz - 0.5 * (vsig * vsig))

    bar_ns = cal.bar_seconds * NS_PER_S
    starts = np.array([session_start_ns(d, cal.session_open) for d in dates], dtype=np.int64)
    t_ns = np.repeat(starts, per_day) + (np.tile(np.arange(per_day), len(dates)) + 1) * bar_ns
    return Bars(
        t_ns=t_ns,
        day=np.repeat(np.arange(len(dates)), per_day),
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        regime=regime,
        regime_names=names,
        dates=dates,
        bars_per_day=per_day,
        bar_ns=bar_ns,
    )


@dataclass(frozen=True, eq=False)
class ObservedBars:
    """Real bars as read from a file, one row per day (daily) or per bar (minute).

    Contract (the reading adapter checks it and names the offending row): prices finite
    and positive, ``low <= min(open, close)``, ``max(open, close) <= high``, volume finite
    and positive, ``t_ns`` strictly increasing; minute data hold exactly
    ``calendar.bars_per_day`` rows on every date.
    """

    frequency: Literal["daily", "minute"]
    dates: tuple[dt.date, ...]
    """The distinct trading dates, ascending: the run's calendar."""
    day: np.ndarray
    """Index into ``dates`` of each row."""
    t_ns: np.ndarray
    """Row timestamps, integer ns since the epoch, wall-clock time as written in the file."""
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    source: str = ""
    """The file, for messages."""

    def daily_closes(self) -> dict[str, float]:
        """ISO date -> the day's last close (the real close a bridged day ends at)."""
        last = np.flatnonzero(np.append(self.day[1:] != self.day[:-1], True))
        return {self.dates[self.day[i]].isoformat(): float(self.close[i]) for i in last}


def observed_market(data: ObservedBars, cal: Calendar, rng: np.random.Generator) -> Bars:
    """The scenario's bars from real data: daily rows bridged into ``cal.bars_per_day``
    intraday bars each (times from ``cal.session_open`` every ``cal.bar_seconds``);
    minute rows as they are. Every bar is labelled ``UNLABELLED``."""
    per_day = cal.bars_per_day
    bar_ns = cal.bar_seconds * NS_PER_S
    days = len(data.dates)
    if data.frequency == "daily":
        b = bridge_days(data.open, data.high, data.low, data.close, data.volume, per_day, rng)
        open_, high, low, close, volume = b.open, b.high, b.low, b.close, b.volume
        starts = np.array(
            [session_start_ns(d, cal.session_open) for d in data.dates], dtype=np.int64
        )
        steps = (np.tile(np.arange(per_day), days) + 1) * bar_ns
        t_ns = np.repeat(starts, per_day) + steps
    else:
        if len(data.close) != days * per_day or not np.array_equal(
            data.day, np.repeat(np.arange(days), per_day)
        ):
            raise ValueError(f"minute data need exactly {per_day} bars on every date")
        open_, high, low, close, volume = data.open, data.high, data.low, data.close, data.volume
        t_ns = np.asarray(data.t_ns, dtype=np.int64)
    return Bars(
        t_ns=t_ns,
        day=np.repeat(np.arange(days), per_day),
        open=np.asarray(open_, dtype=np.float64),
        high=np.asarray(high, dtype=np.float64),
        low=np.asarray(low, dtype=np.float64),
        close=np.asarray(close, dtype=np.float64),
        volume=np.asarray(volume, dtype=np.float64),
        regime=np.zeros(days * per_day, dtype=np.int16),
        regime_names=(UNLABELLED,),
        dates=data.dates,
        bars_per_day=per_day,
        bar_ns=bar_ns,
    )
