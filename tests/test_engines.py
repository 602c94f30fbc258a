"""The engine boundary and the Typesense engine's own logic, without a server.

The live tests (a node, a cluster, the cross-engine comparison) are in
``tests/test_typesense.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import newssearch
from newssearch import InputPathError, QueryError
from newssearch.cli import cli
from newssearch.docvalues import DocValues
from newssearch.engines import remote_engine
from newssearch.engines import typesense as ts
from newssearch.facets import top_values
from newssearch.schema import NO_DATE, terms

# -- choosing an engine -----------------------------------------------------------


def test_a_folder_is_the_local_engine_and_a_known_url_a_remote_one(tmp_path):
    assert remote_engine(tmp_path) is None
    assert remote_engine("index") is None
    assert remote_engine(None) is None
    assert remote_engine("typesense://127.0.0.1:8108/news") is ts
    assert remote_engine("TypeSense://127.0.0.1:8108/news") is ts


def test_a_url_no_engine_serves_is_refused_in_one_line_not_made_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputPathError, match=r"^elastic://h:9200/x: no engine serves elastic:// \(known: typesense://"):
        newssearch.open_index("elastic://h:9200/x")
    with pytest.raises(InputPathError, match="no engine serves elastic://"):
        newssearch.index_seeds([tmp_path], "elastic://h:9200/x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "nodes", "collection", "protocol"),
    [
        ("typesense://127.0.0.1:8108/news", ((("127.0.0.1", 8108),)), "news", "http"),
        ("typesense://a:1,b:2, c:3/news_2", (("a", 1), ("b", 2), ("c", 3)), "news_2", "http"),
        ("typesenses://search.example:443/x-y", (("search.example", 443),), "x-y", "https"),
        ("typesense://[::1]:8108/n", (("::1", 8108),), "n", "http"),
    ],
)
def test_a_target_names_its_nodes_collection_and_protocol(url, nodes, collection, protocol):
    target = ts.Target.parse(url)
    assert (target.nodes, target.collection, target.protocol) == (nodes, collection, protocol)
    assert ts.Target.parse(str(target)) == target


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("typesense://127.0.0.1/news", "127.0.0.1 is not HOST:PORT"),
        ("typesense://h:99999/news", "h:99999 is not HOST:PORT"),
        ("typesense://h:1/", "a collection name is 1 to 100 letters"),
        ("typesense://h:1/a/b", "expected typesense://HOST:PORT"),
        ("typesense://h:1/bad name", "a collection name"),
        ("typesense://secret@h:1/news", "the API key goes in $TYPESENSE_API_KEY, never in the url"),
        ("typesense://h:1,/news", "an empty node is not HOST:PORT"),
    ],
)
def test_a_bad_target_is_one_line_naming_what_is_wrong(url, message):
    with pytest.raises(QueryError) as caught:
        ts.Target.parse(url)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert "secret" not in str(caught.value)


def test_without_the_api_key_the_error_names_the_variable(monkeypatch):
    monkeypatch.delenv("TYPESENSE_API_KEY", raising=False)
    with pytest.raises(ts.EngineError, match=r"set \$TYPESENSE_API_KEY"):
        newssearch.open_index("typesense://127.0.0.1:9/news")


def test_an_unreachable_node_is_one_line_on_the_command_line(monkeypatch):
    monkeypatch.setenv("TYPESENSE_API_KEY", "never-printed")
    result = CliRunner().invoke(cli, ["query", "police", "--index", "typesense://127.0.0.1:9/news"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: typesense://127.0.0.1:9/news: opening the collection failed: ")
    assert result.output.count("\n") == 1 and "never-printed" not in result.output


def test_the_ledger_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSSEARCH_SYNC_DIR", str(tmp_path))
    assert ts.Target.parse("typesense://h:1,g:2/news").ledger() == tmp_path / "h-1-news"


# -- reading queries --------------------------------------------------------------


def test_words_phrases_and_negations_become_index_terms():
    parsed = ts.read_query('Police "budget votes" -storms NOT "harbour lights" AND councils')
    assert parsed.words == ("polic", "council")
    assert parsed.phrases == (("budget", "vote"),)
    assert parsed.excluded == ("storm",)
    assert parsed.excluded_phrases == (("harbour", "light"),)
    assert parsed.q() == 'polic council "budget vote" -storm -"harbour light"'


def test_a_word_the_analyzer_cuts_in_several_terms_is_a_phrase_as_locally():
    assert ts.read_query("U.S.-China").phrases == (tuple(terms("U.S.-China")),)
    assert ts.read_query("東京").phrases == (tuple(terms("東京")),)


def test_only_negations_search_every_article_but_those():
    parsed = ts.read_query("-election")
    assert parsed.q() == "* -elect" and not parsed.scored()
    assert ts.read_query("").q() == "*"


def test_terms_outside_plain_ascii_are_sent_whole_in_hex():
    parsed = ts.read_query("Zürich 東京")
    assert parsed.q().split(" ")[0] == "zurich"
    assert all(part.strip('"').startswith("zz") for part in parsed.q().split(" ")[1:])


@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("police OR storm", "OR between words"),
        ("(police storm)", "grouping with parentheses"),
        ("title:police", "field:value (title:police)"),
        ("topic:AI", "field:value (topic:AI)"),
        ("polic*", "wildcards (polic*)"),
        ("po?ice", "wildcards (po?ice)"),
        ("police~", "typo-tolerant words (police~)"),
        ("police~2", "typo-tolerant words (police~2)"),
        ('"budget votes"~3', 'a phrase with slop ("budget votes"~3)'),
    ],
)
def test_what_typesense_cannot_search_is_refused_saying_so(query, what):
    with pytest.raises(QueryError) as caught:
        ts.read_query(query)
    assert str(caught.value).startswith(f"the Typesense engine cannot search {what}: ")


def test_an_unknown_field_prefix_is_words_as_locally():
    assert ts.read_query("https://example.com/a").phrases == (tuple(terms("https://example.com/a")),)


# -- documents ----------------------------------------------------------------------


def payload(**fields):
    base = {
        "kind": "seed", "url": "https://Example.com/a?utm_source=x", "title": "Police budget", "excerpt": "The harbour",
        "body": "Storm warning", "topics": ["AI", "Robotics"], "provider": "Example News", "domain": "example.com",
        "published": "2020-06-12T11:06:00Z", "category": "News", "path": "a.txt", "related_to": "",
    }
    base.update(fields)
    return base


def test_a_document_holds_the_local_terms_with_a_break_between_fields():
    doc = ts.document(payload(), "https://example.com/a", ("AI", "Robotics"), "Example News")
    parts = doc["text"].split(f" {ts.BREAK} ")
    assert parts == ["polic budget", "ai robot", "the harbour", "exampl news", "storm warn"]
    assert doc["title_t"] == "polic budget"
    assert doc["id"] == ts.document_id("https://example.com/a")
    assert (doc["topic_keys"], doc["provider_key"], doc["category_key"]) == (["ai", "robotics"], "example news", "news")
    assert (doc["year"], doc["month"], doc["day"]) == ("2020", "2020-06", "2020-06-12")
    assert doc["published"] == doc["oldest_key"] == doc["dated"]
    assert json.loads(doc["payload"]) == payload()


def test_an_undated_article_sorts_last_both_ways_and_has_no_date_facet():
    doc = ts.document(payload(published=None), "s", (), "")
    assert doc["published"] == NO_DATE and doc["oldest_key"] > 2**61
    assert not {"dated", "year", "month", "day"} & set(doc)


def test_the_content_hash_changes_with_any_field_and_only_then():
    a = ts.document(payload(), "s", ("AI",), "Example News")
    assert ts.document(payload(), "s", ("AI",), "Example News")["h"] == a["h"]
    assert ts.document(payload(body="Other"), "s", ("AI",), "Example News")["h"] != a["h"]
    assert ts.document(payload(), "t", ("AI",), "Example News")["h"] != a["h"]  # another story
    assert ts.document(payload(), "s", ("ai",), "Example News")["h"] != a["h"]  # another facet name
    assert a["h"] == ts.record_hash(payload(), "s", ("AI",), "Example News")  # what a sync compares first


# -- facets as the local engine counts them ----------------------------------------


@given(st.dictionaries(st.sampled_from(["AI", "ai", "Space", "Climate", "Energy", "B", "a"]), st.integers(0, 5)),
       st.integers(0, 8))
def test_top_values_order_as_the_local_facets(counts, limit):
    names = np.array(list(counts), dtype=str) if counts else np.zeros(0, dtype=str)
    values = np.array(list(counts.values()), dtype=np.int64)
    assert ts._top(counts, limit) == top_values(names, values, limit)


DAY = 86_400


@given(
    st.lists(st.integers(-3 * 365, 60 * 365), min_size=0, max_size=40),
    st.sampled_from(["year", "month", "day"]),
    st.integers(0, 30),
    st.one_of(st.none(), st.integers(-3 * 365, 60 * 365)),
)
def test_the_date_histogram_from_bucket_counts_equals_the_local_one(days, granularity, limit, until_day):
    """Typesense counts per bucket; the histogram drawn from them is DocValues.histogram's."""
    seconds = np.array([d * DAY + 3600 for d in days], dtype=np.int64)
    size = len(seconds)
    columns = DocValues.__new__(DocValues)
    columns.published = seconds
    columns.size = size
    columns._dated = None
    until = None if until_day is None else until_day * DAY + 10
    expected = columns.histogram(np.ones(size, dtype=bool), granularity, limit, until=until)
    unit = {"year": "Y", "month": "M", "day": "D"}[granularity]
    counts: dict[str, int] = {}
    for value in seconds.astype("datetime64[s]").astype(f"datetime64[{unit}]"):
        counts[str(value)] = counts.get(str(value), 0) + 1
    assert ts._histogram(counts, granularity, limit, until) == expected
