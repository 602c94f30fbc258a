"""Property-based tests: any input gives a result or a documented error, nothing else."""

from __future__ import annotations

import json
import re
import string
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newssearch import Article, QueryError, SearchResults, SeedError, index_seeds, open_index
from newssearch.cli import cli
from newssearch.dates import NO_DATE_MOMENTS, parse_bound
from newssearch.highlight import fragment
from newssearch.seeds import parse_seed

from .conftest import write_seed

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

FIELDS = ["title", "excerpt", "webUrl", "publishedDateTime", "topics", "provider", "related", "category",
          "images", "quality", "heat", "type", "secured"]
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.datetimes() | st.dates(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(FIELDS + ["name", "domain", "url", "width", "height"]), children, max_size=4),
    max_leaves=12,
)


def check_seed(data: bytes) -> None:
    try:
        article = parse_seed(data, "h.txt")
    except SeedError as exc:
        assert exc.reason and "\n" not in str(exc) and exc.path == "h.txt"
        return
    assert isinstance(article, Article)
    assert article.title and article.url
    assert article.published is None or article.published.utcoffset().total_seconds() == 0
    assert all(isinstance(t, str) and t for t in article.topics)
    for warning in article.warnings:  # one line, naming the field it is about
        assert "\n" not in warning
        assert re.search(r"\b(" + "|".join(FIELDS + ["body", "name", "domain", "url", "width", "height"]) + r")\b",
                         warning), warning


@FAST
@given(st.binary(max_size=3000))
def test_any_bytes_read_as_an_article_or_a_reason(data):
    check_seed(data)


@FAST
@given(st.dictionaries(st.sampled_from(FIELDS), yaml_values, max_size=10), st.text(max_size=200))
def test_any_front_matter_reads_as_an_article_or_a_reason(meta, body):
    check_seed(("---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n" + body).encode("utf-8", "surrogatepass"))


@FAST
@given(st.text(max_size=40), st.booleans())
def test_any_date_text_is_a_utc_moment_or_a_value_error(text, end):
    try:
        moment = parse_bound(text, end=end, now=datetime(2024, 1, 1))
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert moment.utcoffset().total_seconds() == 0


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("props")
    for i, title in enumerate(["Facial recognition banned", "Zürich heatwave records", "Police cameras debate",
                               "Climate models predict", "Chip makers report"]):
        write_seed(root / "seeds", f"{i}.txt", title=title, url=f"https://x/{i}", topics=["AI", "Climate"][i % 2:],
                   excerpt=f"{title} <b>&</b> more words", published=f"202{i}-0{i + 1}-15T12:00:00+09:00")
    index_seeds([root / "seeds"], root / "index")
    with open_index(root / "index") as ix:
        yield ix


query_text = st.text(alphabet=st.sampled_from(list(string.printable) + ["é", "ü", "’", "🙂", "\x00"]), max_size=60)


@FAST
@given(query=query_text | st.text(max_size=40))
def test_any_query_gives_results_or_a_query_error(small_index, query):
    try:
        results = small_index.search(query)
    except QueryError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(results, SearchResults)
    assert results.total >= len(results.hits)
    assert sum(f.count for f in results.facets.published) <= results.total
    for hit in results.hits:
        assert "<" not in re.sub(r"</?mark>", "", hit.highlight)


@FAST
@given(st.text(max_size=300), st.sets(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6), max_size=4))
def test_highlights_are_always_escaped(text, terms):
    html_text, count = fragment(text, frozenset(terms))
    bare = re.sub(r"</?mark>", "", html_text)
    assert "<" not in bare and ">" not in bare
    assert html_text.count("<mark>") == html_text.count("</mark>") <= count


options = st.lists(
    st.sampled_from(["--topic", "--provider", "--category", "--since", "--until", "--now", "--sort", "--limit",
                     "--page", "--facet-limit", "--date-facet", "--format", "--explain", "--no-fuzzy"])
    | st.sampled_from(["AI", "2020", "2020-13", "7d", "x", "-1", "0", "5", "json", "text", "newest", "month", ""])
    | st.text(max_size=8),
    max_size=8,
)


@FAST
@given(args=options)
def test_any_cli_options_give_an_answer_or_one_error_line(small_index, args, monkeypatch):
    monkeypatch.setenv("NEWSSEARCH_INDEX", str(small_index.index_dir))
    result = CliRunner().invoke(cli, ["query", *args])
    assert result.exit_code in (0, 1, 2), result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    if result.exit_code:
        assert result.stderr.strip().splitlines()[-1].startswith("Error: ")


hostile = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=80)


@SLOW
@given(title=hostile, excerpt=hostile, provider=hostile)
@example(title="0\x850", excerpt="x", provider="x")  # a NEL: a line break to YAML, found by CI
def test_any_text_in_a_seed_gives_valid_json_and_a_clean_terminal(tmp_path_factory, title, excerpt, provider):
    root = tmp_path_factory.mktemp("hostile")
    path = write_seed(root / "seeds", "s.txt", title="story " + title, url="https://x/s", excerpt=excerpt,
                      provider=provider)
    # The title as the YAML of the file says it: PyYAML writes a NEL or a line or
    # paragraph separator as a line break, which its loader folds into a space.
    written = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])["title"]
    assert index_seeds([root / "seeds"], root / "index").added == 1
    runner = CliRunner()
    out = runner.invoke(cli, ["query", "story", "--index-dir", str(root / "index"), "--format", "json"]).stdout
    data = json.loads(out)
    assert data["hits"][0]["title"] == written.strip()
    text = runner.invoke(cli, ["query", "story", "--index-dir", str(root / "index")]).stdout
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)


# -- any date a seed can hold: read, stored, read back, filtered ---------------------------------------------

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999),
                       timezones=st.none() | st.just(timezone.utc) | offsets)


def _written(moment: datetime, style: str) -> object:
    """``moment`` as a seed may hold it: a YAML timestamp, or text in one of the standard forms."""
    if style == "yaml" or moment.tzinfo is None:
        return moment  # safe_dump writes a YAML timestamp, naive or with its offset
    utc = moment.astimezone(timezone.utc) if moment.utcoffset() else moment
    if style == "z-lower":
        return moment.isoformat().replace("T", "t").replace("+00:00", "z")
    if style == "basic":
        sign = "-" if moment.utcoffset() < timedelta(0) else "+"
        minutes = abs(int(moment.utcoffset().total_seconds())) // 60
        return moment.strftime("%Y%m%dT%H%M%S").zfill(15) + f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    if style == "rfc2822" and utc.year >= 1000:  # RSS dates carry four-digit years
        return format_datetime(utc.replace(microsecond=0), usegmt=True)
    return moment.isoformat()


@SLOW
@given(st.lists(st.tuples(moments, st.sampled_from(["yaml", "iso", "z-lower", "basic", "rfc2822"])), min_size=1,
                max_size=6)
       | st.lists(st.tuples(st.dates() | st.text(max_size=25) | st.integers() | st.floats(),
                            st.just("as is")), min_size=1, max_size=6))
def test_any_date_a_seed_can_hold_is_stored_as_its_utc_second_or_dropped_with_a_warning(tmp_path_factory, dates):
    root = tmp_path_factory.mktemp("dates")
    for i, (value, style) in enumerate(dates):
        write_seed(root / "seeds", f"{i}.txt", title=f"dated {i}", url=f"https://x/{i}",
                   published=_written(value, style) if style != "as is" else value)
    report = index_seeds([root / "seeds"], root / "index")
    assert report.added == len(dates) and not report.skipped
    warned = {Path(w.path).stem for w in report.warnings if w.reason.startswith("publishedDateTime ")}
    with open_index(root / "index") as ix:  # readable, whatever the dates were
        stored = {hit.url: hit.published for hit in ix.search("", limit=len(dates)).hits}
        assert len(stored) == len(dates)
        for i, (value, style) in enumerate(dates):
            got = stored[f"https://x/{i}"]
            if isinstance(value, datetime):
                moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
                try:
                    expected = moment.astimezone(timezone.utc).replace(microsecond=0)
                except OverflowError:  # an offset takes it outside the calendar in UTC
                    expected = None
                if expected is not None and moment.astimezone(timezone.utc) in NO_DATE_MOMENTS:
                    expected = None  # Go's zero time or the Unix epoch: "no date", with a warning
                assert got == expected, (value, style)
            elif isinstance(value, date) and not isinstance(value, datetime):
                day = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
                assert got == (None if day in NO_DATE_MOMENTS else day)
            if got is None:
                assert str(i) in warned or value in ("", None) or (isinstance(value, str) and not value.strip())
            else:
                # The stored second is found by a filter on exactly that second.
                hits = ix.search("", since=got, until=got).hits
                assert f"https://x/{i}" in [h.url for h in hits]
