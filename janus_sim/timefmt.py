"""Simulated time as text: integer nanoseconds <-> ISO dates and timestamps."""

from __future__ import annotations

import calendar
import datetime as dt

NS_PER_S = 1_000_000_000
DAY_NS = 86_400 * NS_PER_S


def format_ns(t_ns: int) -> str:
    """ISO timestamp (seconds precision; sub-second digits only when present)."""
    seconds, rem = divmod(t_ns, NS_PER_S)
    stamp = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
    text = stamp.isoformat()
    return f"{text}.{rem:09d}".rstrip("0") if rem else text


def parse_moment(text: str, *, end_of_day: bool) -> int:
    """A date (``2025-12-20``) or timestamp (``2025-12-20T10:30``) as nanoseconds.

    A bare date means its first nanosecond, or its last when ``end_of_day``.
    Raises ValueError with the accepted forms.
    """
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = calendar.timegm(day.timetuple()) * NS_PER_S
            return start + DAY_NS - 1 if end_of_day else start
        stamp = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise ValueError(
            f"{text!r} is not a date or timestamp (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS])"
        ) from e
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return calendar.timegm(stamp.timetuple()) * NS_PER_S + stamp.microsecond * 1000
