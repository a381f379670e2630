"""The calendar and the market: trading days, regimes and their day plans, bar files."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from janus_sim.config.base import Strict


class Calendar(Strict):
    """Trading days: weekdays from ``start`` to ``end`` inclusive, less ``holidays``.

    A synthetic market needs ``start`` and ``end``. A market of real bars
    (``market.data``) takes its trading days from the dates in its file instead;
    ``start`` and ``end``, when given, clip them. ``bars_per_day``, ``session_open`` and
    ``bar_seconds`` shape the intraday bars that daily data are bridged into.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    holidays: tuple[dt.date, ...] = ()
    session_open: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "09:30"
    bars_per_day: Annotated[int, Field(ge=2, le=100_000)] = 390
    bar_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60

    @model_validator(mode="after")
    def _has_trading_days(self) -> Self:
        if self.start is None or self.end is None:
            return self  # only a data market may leave them out (checked by Scenario)
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        if not self.trading_days():
            raise ValueError(
                f"no trading days between {self.start} and {self.end}: "
                "expected at least one weekday that is not a holiday"
            )
        return self

    def trading_days(self) -> tuple[dt.date, ...]:
        """The weekdays from start to end less the holidays (a synthetic market's days)."""
        if self.start is None or self.end is None:
            raise ValueError("calendar.start and calendar.end are needed to list trading days")
        days = []
        day = self.start
        holidays = set(self.holidays)
        while day <= self.end:
            if day.weekday() < 5 and day not in holidays:
                days.append(day)
            day += dt.timedelta(days=1)
        return tuple(days)


class Regime(Strict):
    """Per-bar log-return drift and volatility, Poisson jumps, lognormal volume.

    The bounds are far beyond any market (a 10% drift per bar) yet keep prices and
    volumes inside floating-point range over a scenario.
    """

    drift: Annotated[float, Field(ge=-0.1, le=0.1)] = 0.0
    vol: Annotated[float, Field(gt=0, le=0.5)] = 0.0005
    jump_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Expected jumps per bar."""
    jump_mean: Annotated[float, Field(ge=-0.5, le=0.5)] = 0.0
    jump_std: Annotated[float, Field(ge=0, le=0.5)] = 0.0
    volume_mean: Annotated[float, Field(gt=0, le=1e15)] = 1000.0
    volume_sigma: Annotated[float, Field(ge=0, le=5)] = 0.3


class Segment(Strict):
    regime: str
    fraction: Annotated[float, Field(gt=0, le=1)]


class DayPlan(Strict):
    """The true regimes of one trading day, as consecutive fractions of its bars."""

    date: dt.date
    segments: Annotated[tuple[Segment, ...], Field(min_length=1)]

    @field_validator("segments")
    @classmethod
    def _fractions_sum_to_one(cls, v: tuple[Segment, ...]) -> tuple[Segment, ...]:
        total = math.fsum(s.fraction for s in v)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"segment fractions must sum to 1, got {total:g}")
        return v


ColumnName = Annotated[str, Field(min_length=1)]
DATA_SUFFIXES: dict[str, Literal["csv", "parquet"]] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class BarColumns(Strict):
    """The file's column name for each bar field; each defaults to the field's own name.

    Two fields may read one column (e.g. open, high, low and close all from ``Close``
    for a close-only series: its bridged days are then flat).
    """

    timestamp: ColumnName = "timestamp"
    open: ColumnName = "open"
    high: ColumnName = "high"
    low: ColumnName = "low"
    close: ColumnName = "close"
    volume: ColumnName = "volume"


class MarketData(Strict):
    """Real bars from a CSV or Parquet file, in place of the synthetic regime process.

    ``path`` is relative to the scenario file's directory (or absolute). ``frequency``
    says whether a row is a day (bridged into ``calendar.bars_per_day`` intraday bars,
    see ``core/bridge.py``) or one intraday bar (taken as is; every day must then have
    exactly ``calendar.bars_per_day`` rows). ``sha256`` pins the file's content: when
    given, a file with other content is an error; when left out, the loader fills it in,
    so the scenario hash - and with it the run digest - identifies the data itself.
    """

    path: Annotated[str, Field(min_length=1)]
    format: Literal["csv", "parquet"] | None = None
    """Default: from the file name's suffix (.csv, .parquet or .pq)."""
    frequency: Literal["daily", "minute"] = "daily"
    columns: BarColumns = BarColumns()
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    @field_validator("path")
    @classmethod
    def _printable(cls, v: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in v):
            raise ValueError(
                f"{v!r} holds a control character (NUL, newline...): expected a file path"
            )
        return v

    @model_validator(mode="after")
    def _format_known(self) -> Self:
        if self.format is None and self._suffix() not in DATA_SUFFIXES:
            raise ValueError(
                f"cannot tell the format of {self.path!r} from its suffix: expected a name "
                "ending in .csv, .parquet or .pq, or format: csv|parquet"
            )
        return self

    def _suffix(self) -> str:
        name = self.path.rsplit("/", 1)[-1]
        return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""

    @property
    def file_format(self) -> Literal["csv", "parquet"]:
        return self.format or DATA_SUFFIXES[self._suffix()]


SYNTHETIC_ONLY = ("start_price", "regimes", "default_regime", "days")


class Market(Strict):
    """Either a synthetic market (``regimes`` and ``default_regime``, optionally ``days``
    and ``start_price``) or real bars from a file (``data`` alone)."""

    start_price: Annotated[float, Field(gt=0, le=1e12)] = 100.0
    regimes: Annotated[dict[str, Regime], Field(min_length=1)] | None = None
    default_regime: str | None = None
    days: tuple[DayPlan, ...] = ()
    data: MarketData | None = None

    @model_validator(mode="after")
    def _regimes_exist(self) -> Self:
        if self.data is not None:
            given = [k for k in SYNTHETIC_ONLY if k in self.model_fields_set]
            if given:
                raise ValueError(
                    f"{', '.join(given)} cannot go with data: a market of real bars has "
                    "no planned regimes or start price (expected data alone)"
                )
            return self
        if self.regimes is None or self.default_regime is None:
            raise ValueError(
                "expected regimes and default_regime (a synthetic market) "
                "or data (real bars from a file)"
            )
        known = set(self.regimes)
        if self.default_regime not in known:
            raise ValueError(
                f"default_regime {self.default_regime!r} is not one of {sorted(known)}"
            )
        for plan in self.days:
            for seg in plan.segments:
                if seg.regime not in known:
                    raise ValueError(
                        f"day {plan.date}: regime {seg.regime!r} is not one of {sorted(known)}"
                    )
        dates = [p.date for p in self.days]
        if len(dates) != len(set(dates)):
            raise ValueError("each date may be planned once in market.days")
        return self
