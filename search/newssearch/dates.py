"""Dates, always in UTC.

Seeds carry ``publishedDateTime``; :func:`read_moment` reads it. The forms
accepted, each also as the date PyYAML makes of an unquoted YAML timestamp:

- ISO 8601 / RFC 3339 dates: ``2020``, ``2020-06``, ``2020-06-12``,
  ``20200612``, week dates ``2020-W24`` and ``2020-W24-5``, ordinal dates
  ``2020-164``; a partial date means its first instant;
- a time after ``T``, ``t`` or spaces: ``11``, ``11:06``, ``11:06:00``,
  ``1106``, ``110600``, with a fraction of any length (``.`` or ``,``) on
  its last part; ``24:00`` is the end of the day and a leap second
  (``23:59:60``) the end of the second before it;
- a zone: ``Z``, ``z``, ``UTC``, ``GMT``, ``+05:30``, ``+0530``, ``+05``,
  YAML's ``-5``, with or without a space before it; a zone name after it
  (Go's ``+0000 UTC``, RFC 9557's ``+05:30[Asia/Kolkata]``) is passed over,
  as the offset fixes the moment. A time without a zone is taken as UTC
  (and :func:`read_moment` says so);
- RFC 2822, as RSS feeds write it: ``Fri, 12 Jun 2020 11:06:00 GMT``;
- a whole number from 1000 to 9999 (YAML's reading of ``2019``) is a year.
  Other numbers are refused: epoch seconds and milliseconds cannot be told apart.

Two moments are what feed pipelines write for "no date" and never a real
publication: Go's zero time ``0001-01-01T00:00:00Z`` (also .NET's
``DateTime.MinValue``) and the Unix epoch ``1970-01-01T00:00:00Z``.
:func:`read_moment` reads them, in any spelling and zone, as no date.

Search bounds (:func:`parse_bound`) take a calendar period (``2020``,
``2020-06``, ``2020-06-12``, ``2020-W24``, ``2020-164``), any moment above, or
a span counted back from now (``7d``, ``4w``, ``6m``, ``1y``).

Everything becomes an aware UTC ``datetime``; the index keeps whole seconds
since the Unix epoch (:func:`to_timestamp`) and writes a moment as
``YYYY-MM-DDTHH:MM:SSZ`` (:func:`iso`) for every year from 1 to 9999.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)

# Go's zero time (also .NET's DateTime.MinValue) and the Unix epoch: written for "no date".
NO_DATE_MOMENTS = frozenset({datetime(1, 1, 1, tzinfo=UTC), EPOCH})

_ISO = re.compile(
    r"""
    (?P<year>\d{4})
    (?:   -(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?       # 2020-06, 2020-06-12 (YAML: 2020-6-1)
        | -?W(?P<week>\d{2})(?:-?(?P<weekday>[1-7]))?     # 2020-W24, 2020-W24-5, 2020W245
        | -(?P<ordinal>\d{3})                             # 2020-164
        | (?P<bmonth>\d{2})(?P<bday>\d{2})                # 20200612
        | (?P<bordinal>\d{3})                             # 2020164
    )?
    (?:
        (?:[Tt]|[ \t]+)
        (?:   (?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?   # 11:06, 11:06:00 (YAML: 1:06:00)
            | (?P<bhour>\d{2})(?:(?P<bminute>\d{2})(?P<bsecond>\d{2})?)?  # 11, 1106, 110600
        )
        (?:[.,](?P<fraction>\d*))?
        (?:[ \t]*
            (?: (?P<utc>[Zz]|UTC|GMT)
              | (?P<sign>[-+])(?: (?P<zhour>\d{2}):?(?P<zminute>\d{2})?
                                | (?P<zhour1>\d)(?::(?P<zminute1>\d{2}))? )   # YAML's -5, -5:30
                (?:[ \t]+[A-Z]{2,5})?       # Go's "+0000 UTC": the offset decides
            )
            (?:\[[^\[\]]+\])?             # RFC 9557 and Java's "+05:30[Asia/Kolkata]": the offset decides
        )?
    )?
    """,
    re.VERBOSE,
)
# RFC 2822 (RSS): an optional weekday, day, month name, four-digit year, time, zone.
_RFC2822 = re.compile(
    r"(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+(?P<year>\d{4})\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s+(?P<zone>\S+))?"
)
# The zone names Python's RFC 2822 reader knows (email._parseaddr); others it ignores silently.
_RFC2822_ZONES = frozenset("UT UTC GMT Z AST ADT EST EDT CST CDT MST MDT PST PDT".split())


class Moment(NamedTuple):
    """What :func:`read_moment` made of a value: the UTC moment (or ``None``) and why, when that needs saying."""

    moment: datetime | None
    note: str = ""


def read_moment(value: object) -> Moment:
    """Read a seed's date field: a string, a YAML timestamp or date, or a year number.

    Never raises. ``note`` is empty when the value was read as written, and
    otherwise a clause for a warning: "has no time zone; read as UTC" (the
    moment is kept), or why the value gives no date.
    """
    if value.__class__ is datetime and value.tzinfo is not None:  # what YAML makes of 2020-06-12T11:06:00Z
        try:
            moment = value.astimezone(UTC)
        except OverflowError:
            pass  # said below
        else:
            if moment not in NO_DATE_MOMENTS:
                return Moment(moment)
    if value is None or (isinstance(value, str) and not value.strip()):
        return Moment(None)
    if isinstance(value, float):
        return Moment(None, "is a number, not a date; indexed without a date")
    if isinstance(value, bool) or not isinstance(value, (str, int, date)):
        return Moment(None, "is not a date; indexed without a date")
    if isinstance(value, int):
        if not 1000 <= value <= 9999:
            return Moment(None, "is a number, not a date (epoch seconds are not read); indexed without a date")
        value = str(value)
    naive = False
    try:
        if isinstance(value, str):
            dt, naive = _parse(value)
        elif isinstance(value, datetime):
            dt, naive = value, value.tzinfo is None
        else:
            dt = datetime.combine(value, time())
        moment = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except _Unknown as exc:
        return Moment(None, f"has a time zone newssearch does not know ({exc}); indexed without a date")
    except OverflowError:
        return Moment(None, "falls outside the years 1 to 9999 in UTC; indexed without a date")
    except ValueError:
        return Moment(None, "is not a date; indexed without a date")
    if moment in NO_DATE_MOMENTS:
        return Moment(None, "is a placeholder for no date (Go's zero time or the Unix epoch); indexed without a date")
    return Moment(moment, "has no time zone; read as UTC" if naive else "")


def to_utc(value: object) -> datetime:
    """Return ``value`` (a datetime, a date or a date string, see the module) as an aware UTC datetime.

    A naive time is taken as UTC. Raises ``ValueError`` for anything else, and
    for a moment outside the years 1 to 9999 in UTC.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, str):
        if not value.strip():
            raise ValueError("empty date")
        try:
            dt, _ = _parse(value)
        except _Unknown as exc:
            raise ValueError(f"unknown time zone {exc} in {value!r}") from None
        except (ValueError, OverflowError):
            raise ValueError(f"not a date: {value!r}") from None
    else:
        raise ValueError(f"not a date: {value!r}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} falls outside the years 1 to 9999 in UTC") from None


class _Unknown(ValueError):
    """An RFC 2822 zone name that Python's reader would silently ignore."""


def _parse(text: str) -> tuple[datetime, bool]:
    """A date string as (datetime, naive): naive when it holds a time but no zone. Raises ValueError."""
    text = text.strip()
    match = _ISO.fullmatch(text)
    if match is None:
        rfc = _RFC2822.fullmatch(text)
        if rfc is None:
            raise ValueError(text)
        zone = rfc.group("zone")
        if zone is not None and zone.upper() not in _RFC2822_ZONES and not re.fullmatch(r"[-+]\d{4}", zone):
            raise _Unknown(zone)
        from email.utils import parsedate_to_datetime  # only for RFC 2822 dates: email loads socket

        dt = parsedate_to_datetime(text)  # "-0000" (UTC, RFC 2822 says) comes back naive
        if dt.year != int(rfc.group("year")):
            raise ValueError(text)  # it reads 0000 to 0099 as two-digit years: 2000, 1999
        return dt, dt.tzinfo is None and zone != "-0000"
    g = match.groupdict()
    year = int(g["year"])
    if g["week"]:
        day = date.fromisocalendar(year, int(g["week"]), int(g["weekday"] or 1))
    elif g["ordinal"] or g["bordinal"]:
        number = int(g["ordinal"] or g["bordinal"])
        if not 1 <= number <= (366 if _leap(year) else 365):
            raise ValueError(text)
        day = date(year, 1, 1) + timedelta(days=number - 1)
    else:
        day = date(year, int(g["month"] or g["bmonth"] or 1), int(g["day"] or g["bday"] or 1))
    hour = g["hour"] or g["bhour"]
    if hour is None:
        return datetime.combine(day, time()), False
    if not (g["day"] or g["bday"] or g["ordinal"] or g["bordinal"] or g["weekday"]):
        raise ValueError(text)  # a time belongs to a whole date: "2020 11" is no moment
    minute, second = g["minute"] or g["bminute"], g["second"] or g["bsecond"]
    parts = [int(hour), int(minute or 0), int(second or 0)]
    # The fraction belongs to the last part written (ISO 8601 allows 11.5 for 11:30);
    # digits past the microsecond are cut, as a clock that shows whole seconds cuts.
    unit = 1 if second else 60 if minute else 3600
    digits = (g["fraction"] or "")[:12]
    micro = int(digits.ljust(12, "0")) * unit // 1_000_000 if digits else 0
    if parts[0] == 24 and parts[1] == parts[2] == micro == 0:  # the end of the day
        day, parts[0] = day + timedelta(days=1), 0
    if parts[2] == 60:  # a leap second: the last instant of the second before it
        parts[2], micro = 59, 999_999
    dt = datetime.combine(day, time(parts[0], parts[1], parts[2])) + timedelta(microseconds=micro)
    if g["utc"]:
        return dt.replace(tzinfo=UTC), False
    if g["sign"]:
        hours, minutes = int(g["zhour"] or g["zhour1"]), int(g["zminute"] or g["zminute1"] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(text)
        offset = timedelta(hours=hours, minutes=minutes)
        return dt.replace(tzinfo=timezone(-offset if g["sign"] == "-" else offset)), False
    return dt, True


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def to_timestamp(dt: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime, rounded down (exact for every year, unlike a float)."""
    return (dt - EPOCH) // _SECOND


def from_timestamp(seconds: int) -> datetime:
    """The aware UTC datetime of whole seconds since the epoch."""
    return EPOCH + timedelta(seconds=int(seconds))


def iso(dt: datetime) -> str:
    """``2020-06-12T11:06:00Z``: the one way newssearch writes a moment (four-digit years, whole seconds)."""
    u = dt.astimezone(UTC)
    # Not strftime: it writes the year 999 as "999", which fromisoformat cannot read back.
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def from_iso(text: str | None) -> datetime | None:
    """The aware datetime :func:`iso` wrote (None for None or ""): the index's stored dates."""
    # Python 3.11's fromisoformat reads "Z" itself; the replace keeps older spellings working.
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def now_iso() -> str:
    """The present moment as :func:`iso` writes it."""
    return iso(datetime.now(UTC))


def parse_bound(value: object, *, end: bool, now: datetime | None = None) -> datetime:
    """Read a ``--since`` (``end=False``) or ``--until`` (``end=True``) bound.

    Bounds are inclusive: ``until="2020-06"`` reaches the last second of June
    2020. Relative spans (``7d``, ``4w``, ``6m``, ``1y``) count back from
    ``now`` (default: the current time). The index keeps whole seconds, so a
    bound with a fraction of a second is moved to a whole one without letting
    in a moment outside it: ``since`` up, ``until`` down. Raises
    ``ValueError`` with a message naming the accepted forms.
    """
    return _whole_second(_bound(value, end=end, now=now), up=not end)


def _whole_second(dt: datetime, *, up: bool) -> datetime:
    if not dt.microsecond:
        return dt
    down = dt.replace(microsecond=0)
    if not up:
        return down
    try:
        return down + _SECOND
    except OverflowError:  # the last second of the calendar: nothing can come after it
        return down


_PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?|-?W(\d{2})|-(\d{3}))?$")
_RELATIVE = re.compile(r"^(\d+)\s*([dwmy])$", re.IGNORECASE)


def _bound(value: object, *, end: bool, now: datetime | None) -> datetime:
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, date):
        start = datetime.combine(value, time(), UTC)
        return start + timedelta(days=1, seconds=-1) if end else start
    text = str(value).strip()
    match = _PERIOD.match(text)
    if match:
        _, month, day, week, ordinal = (int(g) if g else None for g in match.groups())
        year = int(match.group(1))  # always there: the pattern starts with it
        try:
            if week is not None:
                start = datetime.combine(date.fromisocalendar(year, week, 1), time(), UTC)
            elif ordinal is not None:
                start = to_utc(text)
            else:
                start = datetime(year, month or 1, day or 1, tzinfo=UTC)
        except ValueError as exc:
            raise ValueError(f"not a valid date: {text!r} ({exc})") from None
        if not end:
            return start
        try:
            if week is not None:
                nxt = start + timedelta(weeks=1)
            elif day is not None or ordinal is not None:
                nxt = start + timedelta(days=1)
            elif month is not None:
                nxt = add_months(start, 1)
            else:
                nxt = start.replace(year=start.year + 1)
        except (ValueError, OverflowError):  # the period ends with the calendar (year 9999)
            return datetime.max.replace(tzinfo=UTC)
        return nxt - _SECOND
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
            f"cannot read date {text!r}: use YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Www, an ISO 8601 or "
            "RFC 2822 datetime, or a span back from now such as 7d, 4w, 6m, 1y"
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
