"""Dates, always in UTC.

Seeds carry ``publishedDateTime`` in any ISO form (``Z``, an offset, a plain
date); search filters take a calendar period (``2020``, ``2020-06``,
``2020-06-12``), an ISO datetime, or a span counted back from now (``7d``,
``4w``, ``6m``, ``1y``). Everything becomes an aware UTC ``datetime``; the
index stores whole seconds since the Unix epoch. A naive datetime is taken to
be UTC already: that is what the seed format means when it omits the zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

UTC = timezone.utc

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_RELATIVE = re.compile(r"^(\d+)\s*([dwmy])$", re.IGNORECASE)


def to_utc(value: object) -> datetime:
    """Return ``value`` (a datetime, a date or an ISO string) as an aware UTC datetime.

    Raises ``ValueError`` for anything else.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty date")
        # fromisoformat in 3.11 reads "Z", offsets, "T" or " " separators and plain dates.
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO date: {value!r}") from None
    else:
        raise ValueError(f"not a date: {value!r}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_timestamp(dt: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime."""
    return int(dt.timestamp() // 1)


def from_timestamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def iso(dt: datetime) -> str:
    """``2020-06-12T11:06:00Z``: the one way newssearch writes a moment."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_bound(value: object, *, end: bool, now: datetime | None = None) -> datetime:
    """Read a ``--since`` (``end=False``) or ``--until`` (``end=True``) bound.

    Bounds are inclusive: ``until="2020-06"`` reaches the last second of June
    2020. Relative spans (``7d``, ``4w``, ``6m``, ``1y``) count back from
    ``now`` (default: the current time). Raises ``ValueError`` with a message
    naming the accepted forms.
    """
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, date):
        start = datetime.combine(value, time(), UTC)
        return start + timedelta(days=1, seconds=-1) if end else start
    text = str(value).strip()
    match = _PERIOD.match(text)
    if match:
        year = int(match.group(1))
        month, day = (int(g) if g else None for g in match.groups()[1:])
        try:
            start = datetime(year, month or 1, day or 1, tzinfo=UTC)
        except ValueError as exc:
            raise ValueError(f"not a valid date: {text!r} ({exc})") from None
        if not end:
            return start
        try:
            if day is not None:
                nxt = start + timedelta(days=1)
            elif month is not None:
                nxt = add_months(start, 1)
            else:
                nxt = start.replace(year=start.year + 1)
        except (ValueError, OverflowError):  # the period ends with the calendar (year 9999)
            return datetime.max.replace(tzinfo=UTC)
        return nxt - timedelta(seconds=1)
    match = _RELATIVE.match(text)
    if match:
        count, unit = int(match.group(1)), match.group(2).lower()
        base = to_utc(now) if now is not None else datetime.now(UTC)
        try:
            if unit == "d":
                return base - timedelta(days=count)
            if unit == "w":
                return base - timedelta(weeks=count)
            return add_months(base, -count * (12 if unit == "y" else 1))
        except (OverflowError, ValueError):
            raise ValueError(f"{text!r} reaches back before the year 1") from None
    try:
        return to_utc(text)
    except ValueError:
        raise ValueError(
            f"cannot read date {text!r}: use YYYY, YYYY-MM, YYYY-MM-DD, an ISO datetime, "
            "or a span back from now such as 7d, 4w, 6m, 1y"
        ) from None


def add_months(dt: datetime, months: int) -> datetime:
    """``dt`` moved by whole calendar months, the day clamped to the month's length."""
    index = dt.year * 12 + (dt.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError(f"year {year} is outside the calendar")
    for day in (dt.day, 30, 29, 28):
        try:
            return dt.replace(year=year, month=month, day=min(dt.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")
