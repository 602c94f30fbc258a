from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import frontmatter
from newssearch.dates import (
    NO_DATE_MOMENTS,
    Moment,
    add_months,
    from_iso,
    from_timestamp,
    iso,
    now_iso,
    parse_bound,
    read_moment,
    to_timestamp,
    to_utc,
)

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


# -- seed dates: every ISO 8601 / RFC 3339 / RFC 2822 form a feed writes ------------------------------------

IST = timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019", datetime(2019, 1, 1, tzinfo=UTC)),
        ("2020-06", datetime(2020, 6, 1, tzinfo=UTC)),
        ("2020-06-12", datetime(2020, 6, 12, tzinfo=UTC)),
        ("20200612", datetime(2020, 6, 12, tzinfo=UTC)),
        ("2020-W24", datetime(2020, 6, 8, tzinfo=UTC)),  # the Monday of ISO week 24
        ("2020-W24-5", datetime(2020, 6, 12, tzinfo=UTC)),
        ("2020W245", datetime(2020, 6, 12, tzinfo=UTC)),
        ("2020-164", datetime(2020, 6, 12, tzinfo=UTC)),  # the 164th day of a leap year
        ("2020164", datetime(2020, 6, 12, tzinfo=UTC)),
        ("2020-06-12t11:06:00z", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("2020-06-12T11:06:00+0530", datetime(2020, 6, 12, 11, 6, tzinfo=IST)),
        ("2020-06-12T11:06:00+05", datetime(2020, 6, 12, 6, 6, tzinfo=UTC)),
        ("2020-06-12T11:06:00 +05:30", datetime(2020, 6, 12, 11, 6, tzinfo=IST)),
        ("2020-06-12T11:06:00-00:00", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("2020-06-12T11:06:00 UTC", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("20200612T110600Z", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("2020-06-12T11:06:00.1234567Z", datetime(2020, 6, 12, 11, 6, 0, 123456, tzinfo=UTC)),  # .NET's 7 digits
        ("2020-06-12T11:06:00.123456789123456789Z", datetime(2020, 6, 12, 11, 6, 0, 123456, tzinfo=UTC)),
        ("2020-06-12T11:06:00,5Z", datetime(2020, 6, 12, 11, 6, 0, 500000, tzinfo=UTC)),
        ("2020-06-12T11:06Z", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("2020-06-12T11.5Z", datetime(2020, 6, 12, 11, 30, tzinfo=UTC)),  # a decimal hour
        ("2020-06-12T24:00:00Z", datetime(2020, 6, 13, tzinfo=UTC)),  # the end of the day
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),  # a leap second
        ("2001-12-14 21:59:43.10 -5", datetime(2001, 12, 15, 2, 59, 43, 100000, tzinfo=UTC)),  # YAML's own example
        ("2020-6-1 1:06:00Z", datetime(2020, 6, 1, 1, 6, tzinfo=UTC)),  # YAML's one-digit month, day and hour
        ("Fri, 12 Jun 2020 11:06:00 GMT", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("12 Jun 2020 11:06 +0530", datetime(2020, 6, 12, 11, 6, tzinfo=IST)),
        ("Fri, 12 Jun 2020 07:06:00 EDT", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("2020-06-12 11:06:00 +0000 UTC", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),  # Go's time.String()
        ("2020-06-12 11:06:00.5 -0700 MST", datetime(2020, 6, 12, 18, 6, 0, 500000, tzinfo=UTC)),
        ("2020-06-12T11:06+05:30[Asia/Kolkata]", datetime(2020, 6, 12, 11, 6, tzinfo=IST)),  # RFC 9557, Java
        ("0999-05-01T00:30:00+01:00", datetime(999, 4, 30, 23, 30, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (2019, datetime(2019, 1, 1, tzinfo=UTC)),  # YAML reads a plain 2019 as a number
        (date(2020, 6, 12), datetime(2020, 6, 12, tzinfo=UTC)),
    ],
)
def test_seed_dates_in_every_standard_form_are_read_as_written(text, expected):
    assert read_moment(text) == Moment(expected)
    if isinstance(text, str):
        assert to_utc(text) == expected


@pytest.mark.parametrize(
    "value",
    ["2020-06-12 11:06", "2020-06-12T11:06:00", "Fri, 12 Jun 2020 11:06:00", datetime(2020, 6, 12, 11, 6)],
)
def test_a_time_without_a_zone_is_read_as_utc_and_says_so(value):
    assert read_moment(value) == Moment(datetime(2020, 6, 12, 11, 6, tzinfo=UTC), "has no time zone; read as UTC")


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00", "0001-01-01", "0001-01-01T09:00:00+09:00", "1970-01-01T00:00:00Z",
     "1970-01-01", "1970-01-01T01:00:00+01:00", "Thu, 01 Jan 1970 00:00:00 GMT", datetime(1, 1, 1),
     datetime(1970, 1, 1, tzinfo=UTC)],
)
def test_go_zero_time_and_the_unix_epoch_mean_no_date(value):
    moment, note = read_moment(value)
    assert moment is None
    assert "placeholder for no date" in note


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("last tuesday", "is not a date"),
        ("2020-13-01", "is not a date"),
        ("2020-02-30", "is not a date"),
        ("2021-366", "is not a date"),
        ("2020-W54", "is not a date"),
        ("2020-06-12T25:00Z", "is not a date"),
        ("2020-06-12T24:30Z", "is not a date"),
        ("2020-06-12T11:06:00+24:00", "is not a date"),
        ("2020 11", "is not a date"),  # a time needs a whole date
        ("2020-06T11:00Z", "is not a date"),
        ("0000-00-00 00:00:00", "is not a date"),
        ("2020-06-12T11:06[Asia/Kolkata]", "is not a date"),  # a zone name alone would need a time zone database
        ("Fri, 12 Jun 2020 11:06:00 CEST", "time zone newssearch does not know (CEST)"),
        ("12 Jun 0000 11:06 GMT", "is not a date"),  # Python's reader would make it 2000
        ("12 Jun 0099 11:06 GMT", "is not a date"),
        ("31 Jun 2020 11:06 GMT", "is not a date"),
        ("0001-01-01T00:00:00+01:00", "outside the years 1 to 9999 in UTC"),
        ("9999-12-31T23:00:00-05:00", "outside the years 1 to 9999 in UTC"),
        (1591960000, "epoch seconds are not read"),
        (999, "is a number"),
        (3.5, "is a number"),
        (True, "is not a date"),
        ([2020], "is not a date"),
        ({"a": 1}, "is not a date"),
    ],
)
def test_values_that_are_no_date_say_why_and_never_raise(value, reason):
    moment, note = read_moment(value)
    assert moment is None
    assert reason in note and note.endswith("indexed without a date")


def test_absent_and_blank_dates_are_no_date_without_a_note():
    assert read_moment(None) == read_moment("") == read_moment("  ") == Moment(None)


@pytest.mark.parametrize("year", [1, 9, 99, 999, 1000, 9999])
def test_iso_writes_four_digit_years_that_read_back(year):
    moment = datetime(year, 1, 2, 3, 4, 5, tzinfo=UTC)
    text = iso(moment)
    assert text == f"{year:04d}-01-02T03:04:05Z"
    assert datetime.fromisoformat(text) == moment
    assert from_timestamp(to_timestamp(moment)) == moment


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)))
def test_timestamps_are_whole_seconds_rounded_down_exactly_in_every_year(naive):
    # A float timestamp has about 16 digits: at year 1 or 9999 the microseconds round it up a second.
    moment = naive.replace(tzinfo=UTC)
    seconds = to_timestamp(moment)
    assert from_timestamp(seconds) == moment.replace(microsecond=0)
    assert iso(from_timestamp(seconds)) == iso(moment)


def test_the_last_microsecond_of_the_calendar_stays_in_its_second():
    assert to_timestamp(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == 253402300799
    assert to_timestamp(datetime(1, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)) == -62135596800


# -- bounds ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        # The index keeps whole seconds: a bound never lets in a second it does not wholly cover.
        ("2020-06-12T11:06:00.5Z", False, datetime(2020, 6, 12, 11, 6, 1, tzinfo=UTC)),
        ("2020-06-12T11:06:00.5Z", True, datetime(2020, 6, 12, 11, 6, 0, tzinfo=UTC)),
        ("2020-06-12T11:06:00.000001Z", False, datetime(2020, 6, 12, 11, 6, 1, tzinfo=UTC)),
        ("2020-06-12T11:06:00.0Z", False, datetime(2020, 6, 12, 11, 6, 0, tzinfo=UTC)),
        ("9999-12-31T23:59:59.5Z", False, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2020-W24", False, datetime(2020, 6, 8, tzinfo=UTC)),
        ("2020-W24", True, datetime(2020, 6, 14, 23, 59, 59, tzinfo=UTC)),
        ("2020-164", True, datetime(2020, 6, 12, 23, 59, 59, tzinfo=UTC)),
        ("2020-06-12t11:06z", False, datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("Fri, 12 Jun 2020 11:06:00 GMT", False, datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
    ],
)
def test_bounds_with_fractions_weeks_and_ordinal_days(text, end, expected):
    assert parse_bound(text, end=end, now=NOW) == expected


def test_a_datetime_bound_with_a_fraction_is_moved_to_a_whole_second_inward():
    moment = datetime(2020, 6, 12, 11, 6, 0, 250000, tzinfo=UTC)
    assert parse_bound(moment, end=False) == datetime(2020, 6, 12, 11, 6, 1, tzinfo=UTC)
    assert parse_bound(moment, end=True) == datetime(2020, 6, 12, 11, 6, 0, tzinfo=UTC)


@st.composite
def yaml_timestamps(draw) -> str:
    """Text in the grammar of YAML 1.1's timestamp type, valid calendar dates or not."""
    year = draw(st.integers(0, 9999))
    if draw(st.booleans()):
        return f"{year:04d}-{draw(st.integers(0, 13)):02d}-{draw(st.integers(0, 32)):02d}"
    two = lambda n: f"{n:02d}" if draw(st.booleans()) or n > 9 else str(n)  # noqa: E731
    text = f"{year:04d}-{two(draw(st.integers(1, 12)))}-{two(draw(st.integers(1, 31)))}"
    text += draw(st.sampled_from(["T", "t", " ", "  ", "\t"]))
    text += f"{two(draw(st.integers(0, 24)))}:{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 60)):02d}"
    text += draw(st.sampled_from(["", ".", ".5", ".123456", ".1234567891"]))
    text += draw(st.sampled_from(["", " ", "  "])) if draw(st.booleans()) else ""
    zone = draw(st.sampled_from(["", "Z", "+5", "-5", "+05", "-05:30", "+14:00", "+99", "-1:00"]))
    return text + zone if zone or not text.endswith(" ") else text.rstrip()


@settings(max_examples=500, deadline=None)
@given(yaml_timestamps())
def test_a_date_reads_the_same_quoted_or_as_the_timestamp_yaml_makes_of_it(text):
    typed = frontmatter.load(f"x: {text}")["x"]
    assert read_moment(typed) == read_moment(text) == read_moment(yaml.safe_load(f"x: '{text}'")["x"])


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
       st.integers(-23 * 60 - 59, 23 * 60 + 59))
def test_rfc_2822_dates_read_back_as_the_moment_they_write(naive, minutes):
    from email.utils import format_datetime

    moment = naive.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes)))
    try:
        expected = moment.astimezone(UTC)
    except OverflowError:
        return
    if expected in NO_DATE_MOMENTS:
        return
    assert read_moment(format_datetime(moment)) == Moment(expected)


@st.composite
def iso_texts(draw) -> str:
    """ISO 8601 texts in the forms Python's own fromisoformat reads, and some it does not."""
    year, month, day = draw(st.integers(1, 9999)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    text = draw(st.sampled_from([f"{year:04d}-{month:02d}-{day:02d}", f"{year:04d}{month:02d}{day:02d}",
                                 f"{year:04d}-W{draw(st.integers(1, 52)):02d}-{draw(st.integers(1, 7))}",
                                 f"{year:04d}W{draw(st.integers(1, 52)):02d}{draw(st.integers(1, 7))}"]))
    if draw(st.booleans()):
        h, m, s = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
        text += draw(st.sampled_from(["T", " "])) + draw(st.sampled_from(
            [f"{h:02d}", f"{h:02d}:{m:02d}", f"{h:02d}:{m:02d}:{s:02d}", f"{h:02d}{m:02d}{s:02d}"]))
        if text.count(":") == 2 or text[-6:].isdigit():
            text += draw(st.sampled_from(["", ".5", ",25", ".123", ".123456", ".1234567", ".000000001"]))
        zone = draw(st.integers(-23 * 60 - 59, 23 * 60 + 59))
        sign = "-" if zone < 0 else "+"
        text += draw(st.sampled_from(["", "Z", f"{sign}{abs(zone) // 60:02d}:{abs(zone) % 60:02d}",
                                      f"{sign}{abs(zone) // 60:02d}{abs(zone) % 60:02d}", f"{sign}{abs(zone) // 60:02d}"]))
    return text


@settings(max_examples=1000)
@given(iso_texts())
def test_iso_dates_read_as_pythons_fromisoformat_reads_them(text):
    try:
        reference = datetime.fromisoformat(text)
    except ValueError:
        return  # a form Python does not read (covered by the table above)
    reference = reference.replace(tzinfo=UTC) if reference.tzinfo is None else reference
    try:
        expected = reference.astimezone(UTC)
    except OverflowError:
        assert read_moment(text).moment is None
        return
    moment, note = read_moment(text)
    assert moment == (None if expected in NO_DATE_MOMENTS else expected), text


@pytest.mark.parametrize("moment", [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
                                    datetime(2020, 6, 12, 11, 6, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)])
def test_a_stored_moment_reads_back_as_the_same_aware_utc_datetime(moment):
    assert from_iso(iso(moment)) == moment
    assert from_iso(iso(moment)).utcoffset() == timedelta(0)


def test_a_missing_stored_moment_is_none():
    assert from_iso(None) is None
    assert from_iso("") is None


def test_now_is_written_as_iso_writes_it():
    before = datetime.now(UTC).replace(microsecond=0)
    written = now_iso()
    assert written == iso(from_iso(written)) and before <= from_iso(written) <= datetime.now(UTC)
