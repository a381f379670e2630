"""Simulated time: the clock's constants, its one timestamp rule and its text forms.

The simulation clock is integer nanoseconds since 1970-01-01T00:00:00 UTC. Every
timestamp that enters a run or a query becomes a clock value through ``to_utc_ns``, under
one rule:

* a timestamp with an explicit UTC offset names an instant and is converted to UTC:
  ``2008-10-10T09:31:00-04:00`` is 13:31 UTC (``Z`` means ``+00:00``);
* a naive timestamp (no offset) is read as UTC: ``2008-10-10T09:31:00`` is 09:31 UTC,
  exactly as ``2008-10-10T09:31:00+00:00``;
* a plain date is that day's 00:00 UTC or, where the caller asks for ``end_of_day``
  (``as of`` a date), its last nanosecond, 23:59:59.999999999 UTC.

Text is ISO 8601 as ``datetime.fromisoformat`` reads it (surrounding whitespace ignored),
with fractional seconds kept to the nanosecond. The users: ``parse_moment`` (``janus-sim
at``, ``diff``, ``events --since/--until``), bar files (``adapters/bars_file.py``: text
cells go through ``to_utc_ns``; Parquet date and date-time columns apply the same rule
vectorized) and scenario dates (``core/market.session_start_ns``). So one string means
one instant everywhere.

Pure: no wall clock, no I/O and no time-zone database (only explicit offsets are read).
"""

from __future__ import annotations

import datetime as dt
import re

NS_PER_US = 1_000
NS_PER_S = 1_000_000_000
S_PER_DAY = 86_400
NS_PER_DAY = S_PER_DAY * NS_PER_S

_EPOCH = dt.datetime(1970, 1, 1)
# A UTC offset at the end of a timestamp: Z, +HH, +HH:MM, +HH:MM:SS[.ffffff] (or compact).
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)$")
_FRACTION = re.compile(r"[.,](\d+)$")


def format_ns(t_ns: int) -> str:
    """ISO timestamp (seconds precision; sub-second digits only when present)."""
    seconds, rem = divmod(t_ns, NS_PER_S)
    stamp = _EPOCH + dt.timedelta(seconds=seconds)
    text = stamp.isoformat()
    return f"{text}.{rem:09d}".rstrip("0") if rem else text


def to_utc_ns(value: str | dt.datetime | dt.date, *, end_of_day: bool = False) -> int:
    """The clock value (UTC nanoseconds) of a timestamp, under the module's one rule.

    ``value`` is ISO 8601 text, a ``datetime`` (aware: converted to UTC; naive: taken as
    UTC) or a ``date`` (00:00 UTC). ``end_of_day`` affects plain dates only: their last
    nanosecond instead of their first. Exact integer arithmetic, so the result is not
    limited to the int64 range (callers that store it check that). Raises ValueError for
    text that is neither a date nor a timestamp.
    """
    if isinstance(value, dt.datetime):
        return _datetime_ns(value)
    if isinstance(value, dt.date):
        return _date_ns(value, end_of_day=end_of_day)
    text = value.strip()
    stamp = dt.datetime.fromisoformat(text)  # every accepted form, plain dates included
    if _is_plain_date(text, stamp):
        return _date_ns(stamp.date(), end_of_day=end_of_day)
    return _datetime_ns(stamp) + _sub_microsecond_ns(text, aware=stamp.utcoffset() is not None)


class MomentOutOfRange(ValueError):
    """A well-formed date or timestamp that no event's time can reach."""


def parse_moment(text: str, *, end_of_day: bool) -> int:
    """A date (``2025-12-20``) or timestamp (``2025-12-20T10:30``, ``...T10:30-05:00``) as
    clock nanoseconds, by ``to_utc_ns``'s rule.

    A bare date means its first nanosecond, or its last when ``end_of_day``.
    Raises ValueError with the accepted forms.
    """
    try:
        return to_utc_ns(text, end_of_day=end_of_day)
    except ValueError as e:
        raise ValueError(
            f"{text!r} is not a date or timestamp "
            "(expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM])"
        ) from e


def parse_event_time(text: str, *, end_of_day: bool) -> int:
    """``parse_moment`` for a bound on events' times: MomentOutOfRange (a ValueError) when
    no event's time can be there (``t_ns`` is a signed 64-bit count of nanoseconds: 1677
    to 2262), so a query never hands the store a number its column cannot hold."""
    ns = parse_moment(text, end_of_day=end_of_day)
    if not -(2**63) <= ns < 2**63:
        raise MomentOutOfRange(
            f"{text!r} is outside the times an event can have "
            "(expected a moment from 1677-09-22 to 2262-04-11)"
        )
    return ns


def _date_ns(day: dt.date, *, end_of_day: bool) -> int:
    start = (day - _EPOCH.date()).days * NS_PER_DAY
    return start + NS_PER_DAY - 1 if end_of_day else start


def _datetime_ns(stamp: dt.datetime) -> int:
    # timedelta arithmetic is exact and, unlike astimezone(UTC), cannot overflow at the
    # ends of datetime's range (0001-01-01T00:00+01:00 is a valid instant before year 1).
    delta = stamp.replace(tzinfo=None) - _EPOCH
    offset = stamp.utcoffset()  # None for naive: taken as UTC
    if offset is not None:
        delta -= offset
    return (delta.days * S_PER_DAY + delta.seconds) * NS_PER_S + delta.microseconds * NS_PER_US


def _is_plain_date(text: str, stamp: dt.datetime) -> bool:
    """True when ``text`` writes a date without a time (``2025-12-20``, ``20251220``,
    ``2025-W51-6``). ``date.fromisoformat`` alone is not enough: Python 3.11 reads
    ``20251220T1`` as a date, so the full parse must also be a naive midnight."""
    if stamp.tzinfo is not None or stamp.time() != dt.time():
        return False
    try:
        return dt.date.fromisoformat(text) == stamp.date()
    except ValueError:
        return False


def _sub_microsecond_ns(text: str, *, aware: bool) -> int:
    """The 7th to 9th digits of the seconds' fraction, which ``fromisoformat`` drops."""
    if aware:  # the offset is the suffix; its own fraction is not the time's
        text = _OFFSET.sub("", text, count=1)
    fraction = _FRACTION.search(text)
    if fraction is None or len(fraction.group(1)) <= 6:
        return 0
    return int(fraction.group(1)[6:9].ljust(3, "0"))
