"""Bar files: a CSV or Parquet file of real bars in, validated ``ObservedBars`` out.

The scenario's ``market.data`` names the file (relative to the scenario file's
directory), its format, its frequency and which column holds each bar field.
``load_market_data`` reads the file once, hashes its bytes (SHA-256) and validates every
row; the hash is pinned into the scenario (``market.data.sha256``), so the scenario hash,
the ``run_started`` event and the run digest all identify the data, and a resumed or
replayed run re-reads the file and refuses one whose content changed (its scenario hash
no longer matches the stored run's).

Every problem is one ConfigError naming the file, the row (data rows count from 1 after
the header) with its timestamp, and what was expected, e.g.
``scenarios/data/x.csv: row 12 (2008-10-10): high (900.0) is below low (910.0):
expected low <= high``. When several rows are bad, the first one is named.

Timestamps follow ``janus_sim.timefmt``'s one rule, the same as ``janus-sim at``: an explicit
UTC offset is converted to UTC (``2008-10-10T09:31:00-04:00`` is the bar at 13:31 UTC), a
naive timestamp is taken as UTC and a plain date is its 00:00 UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.config import Calendar, MarketData, Scenario
from janus_sim.core.market import ObservedBars
from janus_sim.errors import ConfigError
from janus_sim.timefmt import NS_PER_DAY, NS_PER_US, to_utc_ns

# polars is imported by the functions that read a file, not here: a run of a synthetic
# market (and every command that imports the wiring) then never loads it (0.1 s).
if TYPE_CHECKING:
    import polars as pl

PRICE_FIELDS = ("open", "high", "low", "close")
FIELDS = ("timestamp", *PRICE_FIELDS, "volume")
# The clock is int64 nanoseconds: 1677-09-21T00:12:43 to 2262-04-11T23:47:16 UTC.
_CLOCK_MIN, _CLOCK_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def load_market_data(
    scenario: Scenario, base_dir: str | Path, scenario_source: str = ""
) -> tuple[Scenario, ObservedBars | None]:
    """(the scenario with ``market.data.sha256`` filled in, its bars) - or, for a synthetic
    market, (the scenario unchanged, None).

    ``base_dir`` is the scenario file's directory; ``scenario_source`` names the scenario
    in messages. Raises ConfigError for a file that is missing, unreadable, malformed,
    not the one ``sha256`` pins, or empty after clipping to the calendar.
    """
    data = scenario.market.data
    if data is None:
        return scenario, None
    path = Path(base_dir) / data.path
    raw = _read_bytes(path, scenario_source)
    digest = hashlib.sha256(raw).hexdigest()
    if data.sha256 is not None and data.sha256 != digest:
        raise ConfigError(
            str(path),
            "",
            f"content has SHA-256 {digest[:16]}..., but market.data.sha256 pins "
            f"{data.sha256[:16]}...: expected the file the scenario was written for",
        )
    bars = parse_bars(raw, data, scenario.calendar, str(path))
    pinned = data.model_copy(update={"sha256": digest})
    market = scenario.market.model_copy(update={"data": pinned})
    return scenario.model_copy(update={"market": market}), bars


def _read_bytes(path: Path, scenario_source: str) -> bytes:
    named = f" in {scenario_source}" if scenario_source else ""
    expected = f"expected the bars file named by market.data.path{named}"
    try:
        if not path.exists():
            # exists() is False for a link that leads nowhere or loops; say which.
            what = "is a broken or looping symbolic link" if path.is_symlink() else "no such file"
            raise ConfigError(str(path), "", f"{what} ({expected})")
        if not path.is_file():
            raise ConfigError(str(path), "", f"is not a file ({expected})")
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(str(path), "", f"cannot be read ({e.strerror or e})") from e
    except ValueError as e:  # e.g. a NUL byte in the path
        raise ConfigError(str(path), "", f"is not a usable path ({e})") from e


def parse_bars(raw: bytes, data: MarketData, cal: Calendar, source: str) -> ObservedBars:
    """Validate the bytes of a bar file and keep the rows inside the calendar's window."""
    frame = _read_frame(raw, data.file_format, source)
    columns = _pick_columns(frame, data, source)
    if frame.height == 0:
        raise ConfigError(source, "", "has no rows: expected a header and at least one bar")
    stamps, stamp_ok, stamp_far, stamp_raw = _timestamps(columns["timestamp"], source, data)
    numbers = {f: _numbers(columns[f], source, _label(f, data)) for f in FIELDS[1:]}
    daily = data.frequency == "daily"
    keys = np.where(stamp_ok, stamps // NS_PER_DAY if daily else stamps, 0)
    _check_rows(source, data, stamps, (stamp_ok, stamp_far, stamp_raw), keys, numbers)

    day_key = stamps // NS_PER_DAY
    keep = np.ones(frame.height, dtype=bool)
    if cal.start is not None:
        keep &= day_key >= _epoch_day(cal.start)
    if cal.end is not None:
        keep &= day_key <= _epoch_day(cal.end)
    if not keep.any():
        raise ConfigError(
            source,
            "",
            f"has no rows between {cal.start or 'its start'} and {cal.end or 'its end'} "
            f"(calendar.start/end): the file covers {_date(day_key[0])} to "
            f"{_date(day_key[-1])}; expected at least one trading day",
        )
    rows = np.flatnonzero(keep)
    unique_days, day_index, counts = np.unique(
        day_key[rows], return_inverse=True, return_counts=True
    )
    if not daily:
        _check_full_sessions(source, cal, rows, stamps, unique_days, counts)
    return ObservedBars(
        frequency=data.frequency,
        dates=tuple(_date(k) for k in unique_days),
        day=day_index.astype(np.int64),
        t_ns=(day_key[rows] * NS_PER_DAY if daily else stamps[rows]).astype(np.int64),
        open=numbers["open"][0][rows],
        high=numbers["high"][0][rows],
        low=numbers["low"][0][rows],
        close=numbers["close"][0][rows],
        volume=numbers["volume"][0][rows],
        source=source,
    )


def _read_frame(raw: bytes, fmt: str, source: str) -> pl.DataFrame:
    import polars as pl

    if fmt == "parquet":
        try:
            return pl.read_parquet(io.BytesIO(raw))
        except Exception as e:  # polars/arrow raise many kinds; all mean "not Parquet"
            raise ConfigError(source, "", f"cannot be read as Parquet ({_first_line(e)})") from e
    if not raw.strip():
        raise ConfigError(source, "", "is empty: expected a CSV header and rows of bars")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start)  # 0: the header
        raise ConfigError(
            source,
            f"row {line}" if line else "header",
            f"is not UTF-8 text (byte {e.start}: {e.reason}): expected a UTF-8 CSV",
        ) from e
    try:
        # Everything as text: the numbers are parsed below, so a bad cell names its row.
        return pl.read_csv(text.encode(), infer_schema=False)
    except pl.exceptions.PolarsError as e:
        raise ConfigError(source, *_csv_shape_problem(text, e)) from e


def _csv_shape_problem(text: str, error: Exception) -> tuple[str, str]:
    """(where, problem) for a CSV polars could not read: find the ragged row ourselves."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    for i, row in enumerate(reader, start=1):
        if len(row) > len(header):
            return (
                f"row {i}",
                f"has {len(row)} fields: expected {len(header)} like the header",
            )
    return "", f"cannot be read as CSV ({_first_line(error)})"


def _pick_columns(frame: pl.DataFrame, data: MarketData, source: str) -> dict[str, pl.Series]:
    names = data.columns.model_dump()
    found = frame.columns
    for field in FIELDS:
        if names[field] not in found:
            shown = ", ".join(repr(c) for c in found[:12]) + (", ..." if len(found) > 12 else "")
            raise ConfigError(
                source,
                "",
                f"has no column {names[field]!r} for the {field} "
                f"(market.data.columns.{field}); the columns are {shown}",
            )
    return {field: frame.get_column(names[field]) for field in FIELDS}


def _label(field: str, data: MarketData) -> str:
    column = getattr(data.columns, field)
    return field if column == field else f"{field} (column {column!r})"


def _numbers(
    series: pl.Series, source: str, label: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(values as float64 with NaN where unreadable, readable mask, raw cells as text)."""
    import polars as pl

    if series.dtype == pl.String:
        values = series.cast(pl.Float64, strict=False)
    elif series.dtype.is_numeric():
        values = series.cast(pl.Float64)
    else:
        raise ConfigError(source, "", f"{label} holds {series.dtype}: expected numbers")
    ok = values.is_not_null().to_numpy()
    raw = ["" if v is None else str(v) for v in series.to_list()]
    return values.fill_null(np.nan).to_numpy().astype(np.float64), ok, raw


def _timestamps(
    series: pl.Series, source: str, data: MarketData
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(clock ns, parsed mask, outside-the-clock mask, raw cells as text), by
    ``timefmt.to_utc_ns``'s rule. A cell outside the int64 clock is not parsed (0 there).

    Text cells go through ``to_utc_ns`` itself. Parquet date and date-time columns apply
    the same rule vectorized: a date is its 00:00 UTC, a naive date-time is taken as UTC
    and a zoned one (polars keeps the instant, in UTC) is converted to UTC.
    """
    import polars as pl

    raw = ["" if v is None else str(v) for v in series.to_list()]
    if series.dtype == pl.String:
        out = np.zeros(len(series), dtype=np.int64)
        ok = np.zeros(len(series), dtype=bool)
        far = np.zeros(len(series), dtype=bool)
        for i, text in enumerate(series.to_list()):
            stamp = _parse_stamp(text)
            if stamp is not None and _CLOCK_MIN <= stamp <= _CLOCK_MAX:
                out[i], ok[i] = stamp, True
            elif stamp is not None:
                far[i] = True
        return out, ok, far, raw
    if series.dtype != pl.Date and not isinstance(series.dtype, pl.Datetime):
        raise ConfigError(
            source,
            "",
            f"{_label('timestamp', data)} holds {series.dtype}: expected dates or date-times",
        )
    wide = series
    if isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone is not None:
        # Not replace_time_zone(None), which would keep the local wall time and so read
        # 09:31-04:00 as 09:31 UTC, where `at` reads the same stamp as 13:31 UTC.
        wide = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    # Not strict: a value beyond the ns clock becomes null here instead of raising.
    ints = wide.cast(pl.Datetime("ns"), strict=False).cast(pl.Int64)
    ok = ints.is_not_null().to_numpy()
    far = series.is_not_null().to_numpy() & ~ok
    return ints.fill_null(0).to_numpy().astype(np.int64), ok, far, raw


def _parse_stamp(text: str | None) -> int | None:
    """A text cell's clock ns, or None when it is not a date or timestamp."""
    if text is None:
        return None
    try:
        return to_utc_ns(text)
    except ValueError:
        return None


def _check_rows(
    source: str,
    data: MarketData,
    stamps: np.ndarray,
    stamp_cells: tuple[np.ndarray, np.ndarray, list[str]],
    keys: np.ndarray,
    numbers: dict[str, tuple[np.ndarray, np.ndarray, list[str]]],
) -> None:
    """Raise for the first bad row; within a row, the first check (in this order) that fails.

    ``stamp_cells`` is ``_timestamps``'s (parsed, outside-the-clock, raw) for the rows.
    Each check is a mask over the rows and a message template, formatted with the bad
    row's cells only when it is reported.
    """
    daily = data.frequency == "daily"
    stamp_ok, stamp_far, stamp_raw = stamp_cells
    checks: list[tuple[np.ndarray, str | None, str]] = [
        (
            stamp_far,
            "timestamp",
            "timestamp {raw!r} is outside the simulation clock (int64 nanoseconds): "
            "expected a time from 1677-09-22 to 2262-04-10",
        ),
        (
            ~stamp_ok & ~stamp_far,
            "timestamp",
            "timestamp {raw!r} is not a date or date-time: expected ISO 8601, "
            "e.g. 2008-10-10 or 2008-10-10 09:31:00",
        ),
    ]
    for field in FIELDS[1:]:
        values, ok, raw = numbers[field]
        # The label goes into a format template: a brace in a column name must stay text.
        label = _label(field, data).replace("{", "{{").replace("}", "}}")
        missing = np.array([r == "" for r in raw], dtype=bool)
        positive = "a volume > 0" if field == "volume" else "a price > 0"
        checks += [
            (missing, field, f"{label} is empty: expected a number"),
            (~ok & ~missing, field, f"{label} is {{raw!r}}: expected a number"),
            (ok & ~np.isfinite(values), field, f"{label} is {{value}}: expected a finite number"),
            (
                np.isfinite(values) & (values <= 0),
                field,
                f"{label} is {{value}}: expected {positive}",
            ),
        ]
    o, h, lo, c = (numbers[f][0] for f in PRICE_FIELDS)
    outside = "is outside [low {low}, high {high}]: expected low <= {0} <= high"
    checks += [
        (h < lo, None, "high ({high}) is below low ({low}): expected low <= high"),
        ((o < lo) | (o > h), None, "open ({open}) " + outside.replace("{0}", "open")),
        ((c < lo) | (c > h), None, "close ({close}) " + outside.replace("{0}", "close")),
    ]
    # Order: only between rows whose timestamps both parsed (a bad one is named first).
    both = np.zeros(len(stamps), dtype=bool)
    both[1:] = stamp_ok[1:] & stamp_ok[:-1]
    prev = np.concatenate([keys[:1], keys[:-1]])
    unit, per = ("date", "date (frequency: daily)") if daily else ("timestamp", "bar")
    checks += [
        (
            both & (keys == prev),
            None,
            f"repeats row {{prev_row}}'s {unit}: expected one row per {per}",
        ),
        (
            both & (keys < prev),
            None,
            "comes before row {prev_row} ({prev_stamp}): expected rows in ascending time order",
        ),
    ]
    firsts = [int(np.argmax(mask)) for mask, _, _ in checks if mask.any()]
    if not firsts:
        return
    i = min(firsts)
    cells = {f: repr(float(numbers[f][0][i])) for f in PRICE_FIELDS}
    prev_stamp = _shown(stamps[i - 1], daily) if i > 0 else ""
    # A row whose timestamp did not parse shows it in the problem itself.
    where = f"row {i + 1} ({_shown(stamps[i], daily)})" if stamp_ok[i] else f"row {i + 1}"
    for mask, which, template in checks:
        if mask[i]:
            cell, value = "", ""
            if which == "timestamp":
                cell = stamp_raw[i]
            elif which is not None:
                cell, value = numbers[which][2][i], repr(float(numbers[which][0][i]))
            problem = template.format(
                raw=cell, value=value, prev_row=i, prev_stamp=prev_stamp, **cells
            )
            raise ConfigError(source, where, problem)


def _check_full_sessions(
    source: str,
    cal: Calendar,
    rows: np.ndarray,
    stamps: np.ndarray,
    days: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Minute data: every date holds exactly ``calendar.bars_per_day`` bars."""
    bad = np.flatnonzero(counts != cal.bars_per_day)
    if not len(bad):
        return
    k = int(bad[0])
    first = int(rows[int(counts[:k].sum())])
    raise ConfigError(
        source,
        f"row {first + 1} ({_shown(stamps[first], daily=False)})",
        f"{_date(days[k])} has {int(counts[k])} bars: expected calendar.bars_per_day = "
        f"{cal.bars_per_day} on every date of minute data",
    )


def _epoch_day(day: dt.date) -> int:
    """The day key of a calendar date: days since the epoch, as the rows' ``ns // NS_PER_DAY``."""
    return to_utc_ns(day) // NS_PER_DAY


def _date(epoch_day: int | np.integer) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(epoch_day))


def _shown(ns: int | np.integer, daily: bool) -> str:
    """A row's timestamp for messages: its date for daily data, else the date-time."""
    value = int(ns)
    if daily:
        return _date(value // NS_PER_DAY).isoformat()
    stamp = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=value // NS_PER_US)
    return stamp.isoformat(sep=" ")


def _first_line(error: Exception) -> str:
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."
