"""timefmt: the one timestamp rule (offset -> UTC, naive = UTC, date = 00:00 UTC) and the
one home of the clock's constants."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import janus_sim
from janus_sim import timefmt
from janus_sim.timefmt import (
    NS_PER_DAY,
    NS_PER_S,
    NS_PER_US,
    S_PER_DAY,
    format_ns,
    parse_moment,
    to_utc_ns,
)

EPOCH = dt.datetime(1970, 1, 1)
# One day inside datetime's range at each end, so a wall time at any offset still exists.
T_MIN = to_utc_ns("0001-01-02")
T_MAX = to_utc_ns("9999-12-30")
instants = st.integers(T_MIN, T_MAX)
offsets_min = st.integers(-14 * 60, 14 * 60)  # every real UTC offset lies in -14h..+14h
dates = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def test_constants() -> None:
    assert NS_PER_US == 1_000
    assert NS_PER_S == 1_000_000_000
    assert S_PER_DAY == 86_400
    assert NS_PER_DAY == 86_400 * 1_000_000_000
    assert not hasattr(timefmt, "DAY_NS")  # one name per quantity


def test_the_offset_bug_example() -> None:
    """The review's example: `at` and bar files both read it as 13:31 UTC."""
    t = parse_moment("2008-10-10T09:31:00-04:00", end_of_day=False)
    assert format_ns(t) == "2008-10-10T13:31:00"
    assert t == to_utc_ns("2008-10-10T13:31:00") == to_utc_ns("2008-10-10T13:31:00Z")


@settings(max_examples=300, deadline=None)
@given(t=instants, minutes=offsets_min)
def test_any_offset_names_the_same_instant(t: int, minutes: int) -> None:
    """The wall time at offset o, written with o, parses back to the same UTC ns."""
    wall = format_ns(t + minutes * 60 * NS_PER_S)  # the clock at that offset, as text
    text = wall + _offset_text(minutes)
    assert to_utc_ns(text) == t
    assert parse_moment(text, end_of_day=True) == t  # end_of_day is for plain dates only
    aware = dt.datetime.fromisoformat(text)
    assert to_utc_ns(aware) == t - t % NS_PER_US  # a datetime holds microseconds


@settings(max_examples=300, deadline=None)
@given(t=instants)
def test_naive_is_utc(t: int) -> None:
    naive = format_ns(t)
    assert to_utc_ns(naive) == t  # format_ns round-trips, to the nanosecond
    assert to_utc_ns(naive + "+00:00") == t
    assert to_utc_ns(naive + "Z") == t
    assert to_utc_ns(naive.replace("T", " ")) == t
    as_datetime = dt.datetime.fromisoformat(naive)
    assert to_utc_ns(as_datetime) == to_utc_ns(as_datetime.replace(tzinfo=dt.UTC))


@settings(max_examples=300, deadline=None)
@given(day=dates)
def test_a_plain_date_is_its_midnight_utc(day: dt.date) -> None:
    start = (day - EPOCH.date()).days * NS_PER_DAY
    for text in (day.isoformat(), day.strftime("%Y%m%d") if day.year >= 1000 else None):
        if text is None:
            continue
        assert to_utc_ns(text) == start
        assert parse_moment(text, end_of_day=False) == start
        assert parse_moment(text, end_of_day=True) == start + NS_PER_DAY - 1
    assert to_utc_ns(day) == start
    assert to_utc_ns(day, end_of_day=True) == start + NS_PER_DAY - 1


@pytest.mark.parametrize(
    "text", ["2008-10-10T00:00", "2008-10-10T00:00:00+00:00", "2008-10-10 00:00:00"]
)
def test_a_timestamp_at_midnight_is_not_a_date(text: str) -> None:
    """end_of_day widens a plain date only; a written time is that instant."""
    assert parse_moment(text, end_of_day=True) == parse_moment("2008-10-10", end_of_day=False)
    assert to_utc_ns(dt.datetime(2008, 10, 10), end_of_day=True) == to_utc_ns("2008-10-10")


def test_iso_week_dates_and_sub_microseconds() -> None:
    assert to_utc_ns("2008-W41-5") == to_utc_ns("2008-10-10")
    assert to_utc_ns("2008-10-10T09:31:00.123456789-04:00") == (
        to_utc_ns("2008-10-10T13:31:00") + 123_456_789
    )
    assert to_utc_ns("2008-10-10T09:31:00,5") == to_utc_ns("2008-10-10T09:31:00") + NS_PER_S // 2
    assert to_utc_ns("  2008-10-10T09:31  ") == to_utc_ns("2008-10-10T09:31")
    # An offset's own fraction is the offset's, not the time's.
    assert to_utc_ns("2008-10-10T09:31:00+00:00:01.5") == to_utc_ns("2008-10-10T09:30:58.5")


def test_the_ends_of_datetimes_range_do_not_overflow() -> None:
    assert to_utc_ns("0001-01-01T00:00+01:00") == to_utc_ns("0001-01-01") - 3600 * NS_PER_S
    assert to_utc_ns("9999-12-31T23:59-01:00") == to_utc_ns("9999-12-31T23:59") + 3600 * NS_PER_S


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2025-13-45",
        "2008-10-10T25:00",
        "2008-10-10T09:31+25:00",
        "20081010T1",  # Python 3.11's date.fromisoformat reads this as a date
        "2008-10-10T09:31 EST",
    ],
)
def test_bad_text_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError):  # Python's own message, which parse_moment replaces
        to_utc_ns(text)
    with pytest.raises(ValueError) as info:
        parse_moment(text, end_of_day=False)
    assert str(info.value) == (
        f"{text!r} is not a date or timestamp "
        "(expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM])"
    )


def _module_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def test_timefmt_is_pure() -> None:
    """No wall clock, no I/O: only datetime arithmetic and text."""
    assert _module_imports(Path(timefmt.__file__)) <= {"__future__", "datetime", "re"}


CLOCK_CONSTANTS = {"NS_PER_US", "NS_PER_S", "S_PER_DAY", "NS_PER_DAY", "DAY_NS"}


def test_the_clock_constants_are_defined_only_in_timefmt() -> None:
    root = Path(janus_sim.__file__).parent
    elsewhere = []
    for path in sorted(root.rglob("*.py")):
        if path == Path(timefmt.__file__):
            continue
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            elsewhere += [f"{path.relative_to(root)}: {n}" for n in names & CLOCK_CONSTANTS]
    assert elsewhere == []
