from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from newssearch.dates import add_months, iso, parse_bound, to_utc

UTC = timezone.utc
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2020", False, datetime(2020, 1, 1, tzinfo=UTC)),
        ("2020", True, datetime(2020, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2020-02", True, datetime(2020, 2, 29, 23, 59, 59, tzinfo=UTC)),
        ("2020-06-12", False, datetime(2020, 6, 12, tzinfo=UTC)),
        ("2020-06-12", True, datetime(2020, 6, 12, 23, 59, 59, tzinfo=UTC)),
        ("2020-06-12T11:06:00Z", True, datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("2020-06-13T00:30:00+09:00", False, datetime(2020, 6, 12, 15, 30, tzinfo=UTC)),
        ("7d", False, NOW - timedelta(days=7)),
        ("4w", False, NOW - timedelta(weeks=4)),
        ("1m", False, datetime(2024, 2, 29, 12, 0, tzinfo=UTC)),  # clamped to February's end
        ("1y", True, datetime(2023, 3, 31, 12, 0, tzinfo=UTC)),
    ],
)
def test_bounds(text, end, expected):
    assert parse_bound(text, end=end, now=NOW) == expected


def test_date_objects_as_bounds_cover_the_whole_day():
    assert parse_bound(date(2020, 6, 12), end=True) == datetime(2020, 6, 12, 23, 59, 59, tzinfo=UTC)
    assert parse_bound(date(2020, 6, 12), end=False) == datetime(2020, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "2020-13", "2020-02-30", "12", "7x", ""])
def test_unreadable_bounds_say_what_is_accepted(text):
    with pytest.raises(ValueError):
        parse_bound(text, end=False, now=NOW)


def test_relative_bounds_default_to_the_real_now():
    before = datetime.now(UTC) - timedelta(days=7)
    assert abs(parse_bound("7d", end=False) - before) < timedelta(seconds=5)


def test_naive_datetimes_are_taken_as_utc_and_aware_ones_converted():
    assert to_utc(datetime(2020, 1, 1, 9)) == datetime(2020, 1, 1, 9, tzinfo=UTC)
    tokyo = timezone(timedelta(hours=9))
    assert to_utc(datetime(2020, 1, 1, 9, tzinfo=tokyo)) == datetime(2020, 1, 1, 0, tzinfo=UTC)
    assert iso(datetime(2020, 1, 1, 9, tzinfo=tokyo)) == "2020-01-01T00:00:00Z"


def test_add_months_crosses_years():
    assert add_months(datetime(2020, 1, 31, tzinfo=UTC), -2) == datetime(2019, 11, 30, tzinfo=UTC)
    assert add_months(datetime(2020, 12, 15, tzinfo=UTC), 1) == datetime(2021, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize("text", ["9999", "9999-12", "9999-12-31"])
def test_periods_at_the_end_of_the_calendar(text):
    assert parse_bound(text, end=True).year == 9999
    assert parse_bound(text, end=False).year == 9999


@pytest.mark.parametrize("text", ["99999999d", "5000y", "100000m"])
def test_spans_reaching_before_the_calendar_are_value_errors(text):
    with pytest.raises(ValueError, match="before the year 1"):
        parse_bound(text, end=False, now=NOW)
