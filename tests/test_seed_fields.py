"""Every seed field, with every kind of YAML value a feed can put there.

Each value is either used with a clear meaning or dropped with a one-line
warning naming the field; no value makes a seed unreadable unless it takes
away the title or the url, and no value makes the index unreadable.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from newssearch import SeedError, index_seeds, open_index
from newssearch.seeds import MAX_EXCERPT_CHARS, MAX_LABEL_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS, Image, parse_seed

from .conftest import write_seed

UTC = timezone.utc


def read(front: str, body: str = ""):
    """The article of a seed with a title and url, plus the YAML lines ``front``."""
    head = "title: T\nwebUrl: https://x.example/a\n"
    if front.startswith(("title:", "webUrl:")):
        head = "title: T\n" if front.startswith("webUrl:") else "webUrl: https://x.example/a\n"
    return parse_seed(f"---\n{head}{front}\n---\n{body}".encode(), "s.txt")


def one_warning(article, *parts: str) -> str:
    assert len(article.warnings) == 1, article.warnings
    warning = article.warnings[0]
    assert "\n" not in warning
    for part in parts:
        assert part in warning, warning
    return warning


# -- values YAML types: the text as written in the file --------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "field", "expected"),
    [
        ("title: yes", "title", "yes"),
        ("title: 12:30", "title", "12:30"),  # YAML 1.1 reads a sexagesimal 750
        ("title: 3.10", "title", "3.10"),
        ("title: 0o17", "title", "0o17"),
        ("title: 2020-06-12T11:06:00Z", "title", "2020-06-12T11:06:00Z"),
        ("title: 2020-02-30", "title", "2020-02-30"),  # PyYAML cannot build this timestamp at all
        ("title: " + "9" * 5000, "title", "9" * MAX_TITLE_CHARS),  # past Python's 4,300-digit limit
        ("webUrl: 42", "url", "42"),
        ("excerpt: 1e3", "excerpt", "1e3"),
        ("category: 2020", "category", "2020"),
        ("type: null", "type", ""),
        ("provider: NO", "provider", "NO"),  # Norway, not False
        ("topics: [NO, 3.10, 1_000, on]", "topics", ("NO", "3.10", "1_000", "on")),
        ("topics: 2020", "topics", ("2020",)),
        ("provider:\n  name: 1.0\n  domain: 1.ZERO", "provider", "1.0"),
    ],
)
def test_numbers_booleans_and_dates_in_text_fields_are_the_text_written(front, field, expected):
    article = read(front)
    assert getattr(article, field) == expected
    assert all("title cut" in w for w in article.warnings)


# -- the wrong shape: used when the meaning is clear, else dropped with a warning --------------------------------


@pytest.mark.parametrize(
    ("front", "field", "expected", "warning"),
    [
        ("category: [news, blog]", "category", "news", "category has 2 values; kept the first, 'news'"),
        ("category: [news]", "category", "news", None),
        ("category: {a: b}", "category", "", "category is a mapping, not text; ignored"),
        ("category: [[a], {b: c}]", "category", "", "category is a list without text; ignored"),
        ("type: [article, video]", "type", "article", "type has 2 values"),
        ("provider: [A Paper, B Paper]", "provider", "A Paper", "provider has 2 values; kept the first"),
        ("provider: [{name: A, domain: a.example}, {name: B}]", "domain", "a.example", "provider has 2 values"),
        ("provider: {domain: Paper.Example}", "provider", "paper.example", None),  # known by its site
        ("provider: {name: [A, B]}", "provider", "A", "provider.name has 2 values"),
        ("provider: {name: {x: 1}, domain: a.example}", "provider", "a.example", "provider.name is a mapping"),
        ("provider: {url: 'https://a.example'}", "provider", "", "provider has neither a name nor a domain"),
        ("provider: [[a]]", "provider", "", "provider is a list of lists"),
        ("provider: true", "provider", "true", None),
        ("topics: [1, null, {a: b}, [c]]", "topics", ("1",), "topics: dropped 3 items that are not text"),
        ("topics: {AI: 1}", "topics", (), "topics is a mapping, not a list; ignored"),
        ("topics: 'AI, Climate ,ai,'", "topics", ("AI", "Climate"), None),
        ("topics: [' spaced   out ', '']", "topics", ("spaced out",), None),
        ("excerpt: [First paragraph., Second.]", "excerpt", "First paragraph.\n\nSecond.", None),
        ("excerpt: [Kept., {a: 1}]", "excerpt", "Kept.", "excerpt: dropped 1 list items that are not text"),
        ("excerpt: {a: 1}", "excerpt", "", "excerpt is a mapping, not text; ignored"),
        ("webUrl: [https://x.example/a, https://x.example/b]", "url", "https://x.example/a", "webUrl has 2 values"),
        ("title: [One, Two]", "title", "One", "title has 2 values"),
        ("quality: 37", "quality", 37, None),
        ("quality: '37'", "quality", 37, None),
        ("quality: 37.0", "quality", 37, None),
        ("quality: 1_000", "quality", 1000, None),
        ("quality: 3.7", "quality", None, "quality '3.7' is not a whole number; ignored"),
        ("quality: yes", "quality", None, "quality 'yes' is not a whole number"),
        ("quality: .nan", "quality", None, "quality '.nan' is not a whole number"),
        ("quality: [1]", "quality", None, "quality '[1]' is not a whole number"),
        ("heat: " + "9" * 5000, "heat", None, "heat '99999"),
        ("heat: -1", "heat", -1, None),
        ("heat: ''", "heat", None, None),
        ("images: {url: 'https://i.example/1.jpg', width: '1280'}", "images",
         (Image("https://i.example/1.jpg", 1280),), None),
        ("images: ['https://i.example/1.jpg']", "images", (Image("https://i.example/1.jpg"),), None),
        ("images: 'https://i.example/1.jpg'", "images", (Image("https://i.example/1.jpg"),), None),
        ("images: [{title: no url}]", "images", (), "images[0] has no url; dropped"),
        ("images: [5]", "images", (), "images[0] is a number, not an image; dropped"),
        ("images: [{url: u, width: wide}]", "images", (Image("u"),), "images[0].width 'wide' is not a whole number"),
        ("images: []", "images", (), None),
        ("publishedDateTime: [2020]", "published", None, "publishedDateTime '[2020]' is not a date"),
        ("publishedDateTime: 2020-13-45", "published", None, "publishedDateTime '2020-13-45' is not a date"),
        ("publishedDateTime: 2016-12-31T23:59:60Z", "published", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
         None),
        ("publishedDateTime: 2020-06-12 11:06:00", "published", datetime(2020, 6, 12, 11, 6, tzinfo=UTC),
         "publishedDateTime '2020-06-12 11:06:00' has no time zone; read as UTC"),
        ("publishedDateTime: 0001-01-01T00:00:00Z", "published", None, "publishedDateTime '0001-01-01T00:00:00Z' is a "
         "placeholder for no date"),
        ("publishedDateTime: ''", "published", None, None),
        ("publishedDateTime: ~", "published", None, None),
        ("related: {webUrl: 'https://r.example', title: R}", "related", ("https://r.example",), None),
        ("related: [{webUrl: 'https://r.example'}]", "related", (), "related[0] has no title; dropped"),
        ("related: [{title: R, webUrl: {a: 1}}]", "related", (), "related[0].webUrl is a mapping"),
        ("related: [5]", "related", (), "related[0] is a number, not an article; dropped"),
        ("related: a string", "related", (), "related is a str, not an article; dropped"),
        ("related: []", "related", (), None),
    ],
)
def test_each_field_of_an_odd_shape_is_used_or_dropped_with_a_warning_naming_it(front, field, expected, warning):
    article = read(front)
    value = getattr(article, field)
    if field == "related":
        value = tuple(r.url for r in value)
    assert value == expected
    if warning is None:
        assert article.warnings == ()
    else:
        assert any(warning in w for w in article.warnings), article.warnings
        assert all("\n" not in w for w in article.warnings)


def test_each_field_of_a_related_entry_follows_the_same_rules():
    article = read(
        "related:\n"
        "  - webUrl: https://r.example/1\n"
        "    title: 2020\n"
        "    excerpt: [a, b]\n"
        "    provider: [P, Q]\n"
        "    type: {x: 1}\n"
        "    quality: high\n"
        "    publishedDateTime: 1970-01-01T00:00:00Z\n"
        "    images: [{url: u, height: tall}]\n"
    )
    (entry,) = article.related
    assert (entry.title, entry.excerpt, entry.provider, entry.type, entry.quality) == ("2020", "a\n\nb", "P", "", None)
    assert entry.published is None and entry.images == (Image("u"),)
    assert [w.split(" ")[0] for w in article.warnings] == [
        "related[0].provider", "related[0].publishedDateTime", "related[0].type", "related[0].quality",
        "related[0].images[0].height",
    ]


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("title: {a: b}", "no title (title is a mapping, not text)"),
        ("title: [[a]]", "no title (title is a list without text)"),
        ("title: '   '", "no title"),
        ("title: ~", "no title"),
        ("webUrl: [{a: b}]", "no webUrl (webUrl is a list without text)"),
        ("webUrl: ''", "no webUrl"),
    ],
)
def test_a_title_or_url_that_is_not_text_makes_the_seed_bad_with_the_reason(front, reason):
    from newssearch import SeedError

    with pytest.raises(SeedError) as info:
        read(front)
    assert info.value.reason == reason


# -- long values: cut with a warning ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "front", "limit"),
    [
        ("title", "title: {}", MAX_TITLE_CHARS),
        ("excerpt", "excerpt: {}", MAX_EXCERPT_CHARS),
        ("category", "category: {}", MAX_LABEL_CHARS),
        ("type", "type: {}", MAX_LABEL_CHARS),
        ("provider", "provider: {}", MAX_LABEL_CHARS),
        ("provider", "provider:\n  name: {}", MAX_LABEL_CHARS),
        ("domain", "provider:\n  name: P\n  domain: {}", MAX_LABEL_CHARS),
    ],
)
def test_long_values_are_cut_with_a_warning(field, front, limit):
    article = read(front.format("x" * (limit + 5)))
    assert len(getattr(article, field)) == limit
    one_warning(article, f"cut to {limit:,} of {limit + 5:,} characters")


def test_a_long_topic_is_cut_with_a_warning():
    article = read(f"topics: [{'t' * (MAX_LABEL_CHARS + 5)}, short]")
    assert article.topics == ("t" * MAX_LABEL_CHARS, "short")
    one_warning(article, "topics: cut 1 topics")


def test_a_seed_without_a_body_or_a_newline_after_its_fence_reads():
    article = parse_seed(b"---\ntitle: T\nwebUrl: u\n---", "s.txt")
    assert (article.title, article.url, article.body, article.warnings) == ("T", "u", "", ())


# -- through the index: no value in a seed makes it unreadable --------------------------------------------------


def test_go_zero_time_and_years_below_1000_leave_a_readable_index(tmp_path):
    seeds = tmp_path / "seeds"
    write_seed(seeds, "zero.txt", title="Zero time", url="https://x/zero", published="0001-01-01T00:00:00Z")
    write_seed(seeds, "early.txt", title="Early", url="https://x/early", published="0999-05-01T00:30:00+01:00")
    write_seed(seeds, "first.txt", title="First", url="https://x/first", published="0001-01-01T00:00:01Z")
    report = index_seeds([seeds], tmp_path / "index")
    assert report.added == 3
    assert [w.reason for w in report.warnings] == [
        "publishedDateTime '0001-01-01T00:00:00Z' is a placeholder for no date (Go's zero time or the Unix epoch); "
        "indexed without a date"
    ]
    with open_index(tmp_path / "index") as ix:
        dates = {hit.url: hit.published for hit in ix.search("", limit=10).hits}
        assert dates == {
            "https://x/zero": None,
            "https://x/early": datetime(999, 4, 30, 23, 30, tzinfo=UTC),
            "https://x/first": datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),
        }
        assert [h.url for h in ix.search("", until="0999", sort="oldest").hits] == ["https://x/first", "https://x/early"]
        years = {f.value: f.count for f in ix.search("", facet_limit=1000).facets.published}
        assert len(years) == 999 and (years.pop("0001"), years.pop("0999")) == (1, 1)  # every year between, empty
        assert set(years.values()) == {0}
    # An incremental run merges the stored documents back: they must read again too.
    write_seed(seeds, "late.txt", title="Late", url="https://x/late", published="2020-06-12T11:06:00Z")
    assert index_seeds([seeds], tmp_path / "index").added == 1
    assert index_seeds([seeds], tmp_path / "index", rebuild=True).added == 4
    with open_index(tmp_path / "index") as ix:
        assert ix.search("early").hits[0].published == datetime(999, 4, 30, 23, 30, tzinfo=UTC)


def test_since_keeps_its_fraction_of_a_second(tmp_path):
    seeds = tmp_path / "seeds"
    write_seed(seeds, "a.txt", title="On the second", url="https://x/a", published="2020-06-12T11:06:00Z")
    write_seed(seeds, "b.txt", title="A second later", url="https://x/b", published="2020-06-12T11:06:01Z")
    index_seeds([seeds], tmp_path / "index")
    with open_index(tmp_path / "index") as ix:
        urls = lambda **kw: sorted(h.url for h in ix.search("", **kw).hits)  # noqa: E731
        assert urls(since="2020-06-12T11:06:00.5Z") == ["https://x/b"]
        assert urls(since="2020-06-12T11:06:00Z") == ["https://x/a", "https://x/b"]
        assert urls(until="2020-06-12T11:06:00.5Z") == ["https://x/a"]
        assert urls(until="2020-06-12T11:06:01.999Z") == ["https://x/a", "https://x/b"]


@pytest.mark.parametrize("field", ["excerpt", "topics", "provider", "publishedDateTime", "category", "type", "quality",
                                   "heat", "images", "related"])
@pytest.mark.parametrize("value", ["~", "''", "'  '", "[]", "{}"])
def test_null_empty_and_blank_values_are_absent_without_a_warning(field, value):
    article = read(f"{field}: {value}")
    assert article.warnings == ()
    assert (article.excerpt, article.topics, article.provider, article.published, article.category, article.type,
            article.quality, article.heat, article.images, article.related) == ("", (), "", None, "", "", None, None,
                                                                                 (), ())


def test_the_body_is_cut_at_a_million_characters_with_a_warning():
    article = read("excerpt: e", body="b" * 1_000_005)
    assert len(article.body) == 1_000_000
    one_warning(article, "body cut to 1,000,000 of 1,000,005 characters")


def test_the_first_100_related_entries_and_20_images_are_kept_with_a_warning():
    related = "".join(f"  - {{webUrl: 'https://r.example/{i}', title: R{i}}}\n" for i in range(105))
    images = "".join(f"  - https://i.example/{i}.jpg\n" for i in range(25))
    article = read(f"related:\n{related}images:\n{images}")
    assert [r.url for r in article.related] == [f"https://r.example/{i}" for i in range(100)]
    assert [i.url for i in article.images] == [f"https://i.example/{i}.jpg" for i in range(20)]
    assert article.warnings == ("kept the first 20 of 25 images", "kept the first 100 of 105 related articles")


def test_a_long_url_is_never_cut_it_is_the_identity():
    url = "https://x.example/" + "u" * (MAX_URL_CHARS - 18)
    assert read(f"webUrl: {url}").url == url


def test_a_url_too_long_to_be_one_term_makes_the_seed_bad_and_drops_a_related_entry():
    url = "https://x.example/" + "u" * MAX_URL_CHARS
    with pytest.raises(SeedError, match="webUrl is longer than 8,000 characters"):
        read(f"webUrl: {url}")
    article = read(f"related:\n  - {{webUrl: '{url}', title: Long}}\n  - {{webUrl: 'https://r/ok', title: Fine}}\n")
    assert [r.url for r in article.related] == ["https://r/ok"]
    assert article.warnings == ("related[0].webUrl is longer than 8,000 characters; dropped",)


def test_type_quality_heat_images_secured_and_other_fields_are_not_searched(tmp_path):
    seeds = tmp_path / "seeds"
    write_seed(seeds, "a.txt", title="Plain", url="https://x/a", type="zebratype", secured="zebrasecret",
               images=[{"url": "https://i.example/zebraimage.jpg", "title": "zebracaption"}], other="zebraother")
    index_seeds([seeds], tmp_path / "index")
    with open_index(tmp_path / "index") as ix:
        assert ix.search("plain").total == 1
        for word in ("zebratype", "zebrasecret", "zebraimage", "zebracaption", "zebraother"):
            assert ix.search(word, fuzzy=False).total == 0, word


def test_the_command_line_writes_early_years_with_four_digits(tmp_path):
    from click.testing import CliRunner

    from newssearch.cli import cli

    write_seed(tmp_path / "seeds", "a.txt", title="Early", url="https://x/a", published="0999-05-01T12:00:00Z")
    index_seeds([tmp_path / "seeds"], tmp_path / "index")
    runner = CliRunner()
    query = runner.invoke(cli, ["query", "early", "--index-dir", str(tmp_path / "index")], catch_exceptions=False)
    assert "0999-05-01" in query.stdout
    stats = runner.invoke(cli, ["stats", "--index-dir", str(tmp_path / "index")], catch_exceptions=False)
    assert "published: 0999-05-01 to 0999-05-01" in stats.stdout
