"""Reading bar files: every bad file is one ConfigError naming the file, row and timestamp."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from janus_sim.adapters.bars_file import load_market_data, parse_bars
from janus_sim.config import Calendar, MarketData, Scenario
from janus_sim.errors import ConfigError
from janus_sim.timefmt import parse_moment
from tests.bar_fixtures import COLUMNS, HEADER, SP500_ROWS

GOOD_ROWS = SP500_ROWS
MAPPED = COLUMNS
CAL = Calendar(bars_per_day=10)


def _data(**kw: Any) -> MarketData:
    return MarketData.model_validate({"path": "bars.csv", "columns": MAPPED, **kw})


def _parse(text: str, cal: Calendar = CAL, **kw: Any) -> Any:
    return parse_bars(text.encode(), _data(**kw), cal, "d/bars.csv")


def _err(text: str, cal: Calendar = CAL, **kw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        _parse(text, cal, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("d/bars.csv: ")
    return msg


def _with_row(i: int, row: str) -> str:
    rows = list(GOOD_ROWS)
    rows[i] = row
    return HEADER + "\n".join(rows) + "\n"


def test_good_daily_file() -> None:
    bars = _parse(HEADER + "\n".join(GOOD_ROWS))
    assert bars.frequency == "daily"
    assert [d.isoformat() for d in bars.dates] == [r[:10] for r in GOOD_ROWS]
    assert bars.close.tolist() == [1056.89, 996.23, 984.94, 909.92, 899.22]
    assert bars.day.tolist() == [0, 1, 2, 3, 4]
    assert bars.daily_closes()["2008-10-10"] == 899.22


def test_calendar_clips_the_dates() -> None:
    cal = Calendar(start=dt.date(2008, 10, 7), end=dt.date(2008, 10, 9), bars_per_day=10)
    bars = _parse(HEADER + "\n".join(GOOD_ROWS), cal)
    assert [d.day for d in bars.dates] == [7, 8, 9]
    assert bars.open.tolist() == [1057.60, 988.91, 988.42]


@pytest.mark.parametrize(
    ("row_index", "row", "expected"),
    [
        pytest.param(
            2,
            "2008-10-08,988.91,1021.06,970.97,NaN,8716330000",
            "row 3 (2008-10-08): close (column 'Close') is nan: expected a finite number",
            id="nan-close",
        ),
        pytest.param(
            1,
            "2008-10-07,1057.60,inf,996.23,996.23,7069210000",
            "row 2 (2008-10-07): high (column 'High') is inf: expected a finite number",
            id="inf-high",
        ),
        pytest.param(
            3,
            "2008-10-09,0,1005.25,909.19,909.92,6819000000",
            "row 4 (2008-10-09): open (column 'Open') is 0.0: expected a price > 0",
            id="zero-open",
        ),
        pytest.param(
            0,
            "2008-10-06,-1097.56,1097.56,1007.97,1056.89,7956020000",
            "row 1 (2008-10-06): open (column 'Open') is -1097.56: expected a price > 0",
            id="negative-open",
        ),
        pytest.param(
            4,
            "2008-10-10,902.31,936.36,839.80,899.22,-5",
            "row 5 (2008-10-10): volume (column 'Volume') is -5.0: expected a volume > 0",
            id="negative-volume",
        ),
        pytest.param(
            4,
            "2008-10-10,902.31,836.36,939.80,899.22,11456230000",
            "row 5 (2008-10-10): high (836.36) is below low (939.8): expected low <= high",
            id="high-below-low",
        ),
        pytest.param(
            2,
            "2008-10-08,1088.91,1021.06,970.97,984.94,8716330000",
            "row 3 (2008-10-08): open (1088.91) is outside [low 970.97, high 1021.06]: "
            "expected low <= open <= high",
            id="open-above-high",
        ),
        pytest.param(
            2,
            "2008-10-08,988.91,1021.06,970.97,960.00,8716330000",
            "row 3 (2008-10-08): close (960.0) is outside [low 970.97, high 1021.06]: "
            "expected low <= close <= high",
            id="close-below-low",
        ),
        pytest.param(
            2,
            "2008-10-08,988.91,1021.06,,984.94,8716330000",
            "row 3 (2008-10-08): low (column 'Low') is empty: expected a number",
            id="empty-low",
        ),
        pytest.param(
            1,
            "2008-10-07,1057.60,1072.91,996.23,996.23,lots",
            "row 2 (2008-10-07): volume (column 'Volume') is 'lots': expected a number",
            id="text-volume",
        ),
        pytest.param(
            2,
            "2008-13-08,988.91,1021.06,970.97,984.94,8716330000",
            "d/bars.csv: row 3: timestamp '2008-13-08' is not a date or date-time: "
            "expected ISO 8601",
            id="bad-date",
        ),
        pytest.param(
            3,
            "2008-10-08,988.42,1005.25,909.19,909.92,6819000000",
            "row 4 (2008-10-08): repeats row 3's date: expected one row per date "
            "(frequency: daily)",
            id="duplicate-date",
        ),
        pytest.param(
            3,
            "2008-10-01,988.42,1005.25,909.19,909.92,6819000000",
            "row 4 (2008-10-01): comes before row 3 (2008-10-08): expected rows in "
            "ascending time order",
            id="unsorted",
        ),
    ],
)
def test_bad_rows_name_the_row_and_timestamp(row_index: int, row: str, expected: str) -> None:
    assert expected in _err(_with_row(row_index, row))


def test_the_first_bad_row_is_named() -> None:
    rows = list(GOOD_ROWS)
    rows[3] = "2008-10-09,988.42,1005.25,909.19,NaN,6819000000"
    rows[1] = "2008-10-07,1057.60,900,996.23,996.23,7069210000"
    assert "row 2 (2008-10-07): high (900.0) is below low" in _err(HEADER + "\n".join(rows))


def test_missing_column_names_the_mapping_and_the_columns() -> None:
    text = "Date,Open,High,Low,Adj Close,Volume\n2008-10-06,1,1,1,1,1\n"
    msg = _err(text)
    assert "no column 'Close' for the close (market.data.columns.close)" in msg
    assert "'Adj Close'" in msg


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"", "is empty: expected a CSV header", id="empty"),
        pytest.param(b"\n\n", "is empty: expected a CSV header", id="blank-lines"),
        pytest.param(HEADER.encode(), "has no rows: expected a header and at least one", id="hdr"),
        pytest.param(b"Date,Open\xff\n", "header: is not UTF-8 text (byte 9", id="non-utf8"),
        pytest.param(
            (HEADER + GOOD_ROWS[0] + "\n" + GOOD_ROWS[1] + ",7,8\n").encode(),
            "row 2: has 8 fields: expected 6 like the header",
            id="ragged",
        ),
    ],
)
def test_bad_files(raw: bytes, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_bars(raw, _data(), CAL, "d/bars.csv")
    assert expected in str(info.value)


def test_empty_after_clipping_says_what_the_file_covers() -> None:
    cal = Calendar(start=dt.date(2009, 1, 1), end=dt.date(2009, 2, 1), bars_per_day=10)
    msg = _err(HEADER + "\n".join(GOOD_ROWS), cal)
    assert "no rows between 2009-01-01 and 2009-02-01" in msg
    assert "covers 2008-10-06 to 2008-10-10" in msg


def test_parquet_with_dates_and_a_bom_free_csv_agree(tmp_path: Path) -> None:
    csv_bars = _parse(HEADER + "\n".join(GOOD_ROWS))
    frame = pl.DataFrame(
        {
            "Date": [dt.date.fromisoformat(r[:10]) for r in GOOD_ROWS],
            **{
                name: [float(r.split(",")[k]) for r in GOOD_ROWS]
                for k, name in enumerate(["Open", "High", "Low", "Close", "Volume"], start=1)
            },
        }
    )
    path = tmp_path / "bars.parquet"
    frame.write_parquet(path)
    data = MarketData.model_validate({"path": "bars.parquet", "columns": MAPPED})
    assert data.file_format == "parquet"
    pq = parse_bars(path.read_bytes(), data, CAL, str(path))
    assert pq.dates == csv_bars.dates
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(pq, name), getattr(csv_bars, name))
    bom = parse_bars(b"\xef\xbb\xbf" + (HEADER + GOOD_ROWS[0]).encode(), _data(), CAL, "x")
    assert bom.close.tolist() == [1056.89]


def test_not_parquet_is_one_line() -> None:
    msg = _err(HEADER + GOOD_ROWS[0], format="parquet")
    assert "cannot be read as Parquet" in msg


def _minute_rows(day: str, n: int, start_minute: int = 31) -> list[str]:
    rows = []
    for k in range(n):
        minute = start_minute + k
        stamp = f"{day} {9 + minute // 60:02d}:{minute % 60:02d}:00"
        rows.append(f"{stamp},100,101,99,100.5,1000")
    return rows


def test_minute_bars_are_taken_as_they_are() -> None:
    rows = _minute_rows("2008-10-09", 10) + _minute_rows("2008-10-10", 10)
    bars = _parse(HEADER + "\n".join(rows), frequency="minute")
    assert len(bars.close) == 20 and [d.day for d in bars.dates] == [9, 10]
    first = dt.datetime(2008, 10, 9, 9, 31) - dt.datetime(1970, 1, 1)
    assert int(bars.t_ns[0]) == int(first.total_seconds()) * 10**9


def _stamps(rows: list[str]) -> list[str]:
    return [r.split(",")[0] for r in rows]


def _with_offset(rows: list[str], offset: str) -> list[str]:
    """The rows with ``offset`` written after each timestamp."""
    return [
        stamp + offset + row[len(stamp) :] for stamp, row in zip(_stamps(rows), rows, strict=True)
    ]


def test_minute_bars_with_an_offset_are_the_instants_at_reads() -> None:
    """One rule: `2008-10-09 09:31:00-04:00` is 13:31 UTC in a bar file as in `at`."""
    naive = _minute_rows("2008-10-09", 10) + _minute_rows("2008-10-10", 10)
    zoned = _with_offset(naive, "-04:00")
    bars = _parse(HEADER + "\n".join(zoned), frequency="minute")
    moments = [parse_moment(s, end_of_day=False) for s in _stamps(zoned)]
    assert bars.t_ns.tolist() == moments
    # ... which is four hours after the same wall time read as UTC, as naive stamps are.
    hours_4 = 4 * 3600 * 10**9
    assert moments == [parse_moment(s, end_of_day=False) + hours_4 for s in _stamps(naive)]
    assert [d.day for d in bars.dates] == [9, 10]


def test_naive_minute_bars_are_unchanged_and_equal_utc_ones() -> None:
    naive = _minute_rows("2008-10-09", 10)
    bars = _parse(HEADER + "\n".join(naive), frequency="minute")
    first = dt.datetime(2008, 10, 9, 9, 31) - dt.datetime(1970, 1, 1)
    expected = [int(first.total_seconds() + 60 * k) * 10**9 for k in range(10)]
    assert bars.t_ns.tolist() == expected
    assert bars.t_ns.tolist() == [parse_moment(s, end_of_day=False) for s in _stamps(naive)]
    for utc in ("+00:00", "Z"):
        same = _parse(HEADER + "\n".join(_with_offset(naive, utc)), frequency="minute")
        assert same.t_ns.tolist() == expected


def test_daily_bars_with_an_offset_fall_on_their_utc_date() -> None:
    """A date-time in a daily file names its day by the UTC instant, as `at` would."""
    rows = _with_offset([r.replace(",", "T20:00,", 1) for r in GOOD_ROWS], "-04:00")
    bars = _parse(HEADER + "\n".join(rows))
    # 20:00 at -04:00 is 00:00 UTC the next day.
    assert [d.isoformat() for d in bars.dates] == [
        "2008-10-07",
        "2008-10-08",
        "2008-10-09",
        "2008-10-10",
        "2008-10-11",
    ]
    plain = _parse(HEADER + "\n".join(GOOD_ROWS))
    assert bars.close.tolist() == plain.close.tolist()


MAPPED_PRICES = ("Open", "High", "Low", "Close", "Volume")


def _minute_parquet(tmp_path: Path, stamps: list[dt.datetime]) -> Any:
    """A Parquet file of one bar per stamp (the stamps' own dtype), read as minute bars."""
    values = (100.0, 101.0, 99.0, 100.5, 1000.0)
    frame = pl.DataFrame(
        {
            "Date": stamps,
            **{c: [v] * len(stamps) for c, v in zip(MAPPED_PRICES, values, strict=True)},
        }
    )
    path = tmp_path / "bars.parquet"
    frame.write_parquet(path)
    data = MarketData.model_validate(
        {"path": "bars.parquet", "columns": MAPPED, "frequency": "minute"}
    )
    return parse_bars(path.read_bytes(), data, CAL, str(path))


@pytest.mark.parametrize("zone", ["America/New_York", "Etc/GMT+4"])
def test_zoned_parquet_date_times_are_the_instants_at_reads(tmp_path: Path, zone: str) -> None:
    """The vectorized Parquet path applies the same rule as text cells and `at`."""
    walls = [dt.datetime(2008, 10, 9, 9, 31) + dt.timedelta(minutes=k) for k in range(10)]
    zoned = pl.Series(walls).dt.replace_time_zone(zone).to_list()
    bars = _minute_parquet(tmp_path, zoned)
    # October 2008 in New York is EDT, -04:00, like Etc/GMT+4.
    texts = [w.isoformat() + "-04:00" for w in walls]
    assert bars.t_ns.tolist() == [parse_moment(t, end_of_day=False) for t in texts]
    naive = _minute_parquet(tmp_path, walls)
    assert naive.t_ns.tolist() == [parse_moment(w.isoformat(), end_of_day=False) for w in walls]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        pytest.param(
            "2008-10-09T09:31:00+25:00",
            "row 4: timestamp '2008-10-09T09:31:00+25:00' is not a date or date-time: "
            "expected ISO 8601, e.g. 2008-10-10 or 2008-10-10 09:31:00",
            id="offset-out-of-range",
        ),
        pytest.param(
            "2008-10-09 09:31 EDT",
            "row 4: timestamp '2008-10-09 09:31 EDT' is not a date or date-time",
            id="zone-name",
        ),
        pytest.param(
            "2008-10-09T24:00",
            "row 4: timestamp '2008-10-09T24:00' is not a date or date-time",
            id="hour-24",
        ),
        pytest.param(
            "2300-10-09",
            "row 4: timestamp '2300-10-09' is outside the simulation clock (int64 "
            "nanoseconds): expected a time from 1677-09-22 to 2262-04-10",
            id="past-2262",
        ),
        pytest.param(
            "1600-10-09T00:00-04:00",
            "row 4: timestamp '1600-10-09T00:00-04:00' is outside the simulation clock",
            id="before-1677",
        ),
    ],
)
def test_bad_timestamps_keep_their_clear_messages(stamp: str, expected: str) -> None:
    row = stamp + GOOD_ROWS[3][len("2008-10-09") :]
    msg = _err(_with_row(3, row))
    assert expected in msg
    if "not a date" in expected:  # `at` refuses the same text, with its own message
        with pytest.raises(ValueError, match="is not a date or timestamp"):
            parse_moment(stamp, end_of_day=False)


def test_parquet_dates_outside_the_clock_are_named(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "Date": [dt.date(2008, 10, 6), dt.date(2300, 1, 1)],
            **{c: [100.0, 100.0] for c in MAPPED_PRICES},
        }
    )
    path = tmp_path / "bars.parquet"
    frame.write_parquet(path)
    data = MarketData.model_validate({"path": "bars.parquet", "columns": MAPPED})
    with pytest.raises(ConfigError) as info:
        parse_bars(path.read_bytes(), data, CAL, "d/bars.parquet")
    assert str(info.value) == (
        "d/bars.parquet: row 2: timestamp '2300-01-01' is outside the simulation clock "
        "(int64 nanoseconds): expected a time from 1677-09-22 to 2262-04-10"
    )


def test_minute_day_with_too_few_bars_is_named() -> None:
    rows = _minute_rows("2008-10-09", 10) + _minute_rows("2008-10-10", 7)
    msg = _err(HEADER + "\n".join(rows), frequency="minute")
    assert "row 11 (2008-10-10 09:31:00): 2008-10-10 has 7 bars" in msg
    assert "expected calendar.bars_per_day = 10" in msg


def test_minute_duplicate_timestamp_is_named() -> None:
    rows = _minute_rows("2008-10-09", 10)
    rows[5] = rows[4]
    msg = _err(HEADER + "\n".join(rows), frequency="minute")
    assert "row 6 (2008-10-09 09:35:00): repeats row 5's timestamp: expected one row per bar" in (
        msg
    )


def _scenario(path: str, sha256: str | None = None) -> Scenario:
    data: dict[str, Any] = {"path": path, "columns": MAPPED}
    if sha256 is not None:
        data["sha256"] = sha256
    return Scenario.model_validate(
        {"name": "real", "calendar": {"bars_per_day": 10}, "market": {"data": data}}
    )


def test_load_pins_the_content_hash_into_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "bars.csv").write_text(HEADER + "\n".join(GOOD_ROWS))
    sc = _scenario("bars.csv")
    pinned, bars = load_market_data(sc, tmp_path, "s.yaml")
    assert bars is not None and pinned.market.data is not None
    digest = pinned.market.data.sha256
    assert digest is not None and len(digest) == 64
    assert pinned.scenario_hash() != sc.scenario_hash()
    # The same file pinned explicitly loads to the same scenario (and so the same run).
    again, _ = load_market_data(_scenario("bars.csv", digest), tmp_path, "s.yaml")
    assert again.scenario_hash() == pinned.scenario_hash()
    # Changed content: another hash, so a stored run of the old file will not match.
    (tmp_path / "bars.csv").write_text(HEADER + "\n".join(GOOD_ROWS[:-1]))
    changed, _ = load_market_data(sc, tmp_path, "s.yaml")
    assert changed.scenario_hash() != pinned.scenario_hash()
    with pytest.raises(ConfigError, match=r"bars.csv: content has SHA-256 .* but market.data"):
        load_market_data(_scenario("bars.csv", digest), tmp_path, "s.yaml")


def test_missing_and_directory_data_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_market_data(_scenario("nope.csv"), tmp_path, "s.yaml")
    assert str(info.value) == (
        f"{tmp_path / 'nope.csv'}: no such file "
        "(expected the bars file named by market.data.path in s.yaml)"
    )
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ConfigError, match=r"dir.csv: is not a file"):
        load_market_data(_scenario("dir.csv"), tmp_path, "s.yaml")


def test_synthetic_scenarios_pass_through(tiny_scenario: Scenario) -> None:
    sc, bars = load_market_data(tiny_scenario, Path("/nonexistent"))
    assert sc is tiny_scenario and bars is None
