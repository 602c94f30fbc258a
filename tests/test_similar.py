"""More like this: ``IndexSearcher.similar(url)`` and ``newssearch similar URL``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from newssearch import ArticleNotFoundError, QueryError, index_seeds, open_index
from newssearch.cli import cli
from newssearch.recency import FLOOR
from newssearch.render import to_data
from newssearch.searching import IndexSearcher
from newssearch.similar import MAX_QUERY_TERMS, distinctive_terms

from .conftest import write_seed

FILLER = "The officials said the plan was discussed at the meeting of the week. "
TARGET = "https://x/target"


@pytest.fixture
def corpus(seeds, index_dir):
    write_seed(seeds, "target.txt", title="Council bans facial recognition", url=TARGET, topics=["AI"],
               excerpt="The council banned facial recognition cameras.",
               body="Facial recognition cameras misidentify people. Surveillance cameras stay. " + FILLER
               + "A lonelyword appears here, and a zebra once.",
               published="2020-06-12T10:00:00Z")
    write_seed(seeds, "near.txt", title="Another city bans facial recognition", url="https://x/near", topics=["AI"],
               excerpt="Facial recognition cameras are banned.", body="Recognition cameras again. " + FILLER,
               published="2019-01-01T10:00:00Z")
    write_seed(seeds, "mid.txt", title="Surveillance cameras in schools", url="https://x/mid", topics=["Education"],
               excerpt="Cameras watch the halls.", body="Surveillance cameras are common. " + FILLER,
               published="2020-06-01T10:00:00Z")
    write_seed(seeds, "zebra.txt", title="Zoo news", url="https://x/zebra", topics=["Animals"],
               excerpt="The zebra is well.", body=FILLER, published="2020-06-01T10:00:00Z")
    for i in range(8):
        write_seed(seeds, f"other{i}.txt", title=f"Weather report {i}", url=f"https://x/other{i}", topics=["Weather"],
                   excerpt="Rain and wind.", body=FILLER * 2, published="2018-01-01T10:00:00Z")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        yield ix


def names(results) -> list[str]:
    return [h.url.rsplit("/", 1)[1] for h in results.hits]


def chosen_words(results) -> list[str]:
    return [part.split("^")[0] for part in results.parsed.split(": ", 1)[1].split()]


def test_the_most_similar_article_comes_first_and_the_article_itself_never(corpus):
    results = corpus.similar(TARGET)
    assert names(results)[:2] == ["near", "mid"]
    assert "target" not in names(results)
    assert results.query == TARGET and results.sort == "relevance"


def test_the_words_picked_are_the_distinctive_ones(corpus):
    # facial, recognition: title, excerpt and body, in two articles of twelve; bans: the title
    # (weighed 4) and in one other article; cameras: three times, but in three articles.
    assert chosen_words(corpus.similar(TARGET)) == ["facial", "recognition", "bans", "cameras"]
    # Left out: "the", "said" (in more than half of the articles), "lonelyword" (in this article
    # only: it finds nothing else), "zebra", "surveillance" (once, in the body: not what the
    # article is about), "council" (in the title, but no other article holds it).


def test_explain_lists_the_words_with_their_weights_relative_to_the_best(corpus):
    results = corpus.similar(TARGET)
    assert results.parsed.startswith(f"similar to {TARGET}: ")
    weights = [float(part.split("^")[1]) for part in results.parsed.split(": ", 1)[1].split()]
    assert weights[0] == 1.0 and weights == sorted(weights, reverse=True)


def test_the_matched_words_are_highlighted(corpus):
    near = corpus.similar(TARGET).hits[0]
    assert near.title_highlight == "Another city <mark>bans</mark> <mark>facial</mark> <mark>recognition</mark>"


def test_term_scores_are_tf_idf_with_the_title_weighted():
    df = {"storm": 3, "flood": 10, "the": 60, "rare": 1}
    texts = {"title": "Storm", "excerpt": "A storm and a flood.", "body": "The flood. The storm. The rare flood. " * 2}
    chosen = distinctive_terms(texts, lambda term: df.get(term, 1), 100)
    idf = {t: math.log(1 + (100 - d + 0.5) / (d + 0.5)) for t, d in df.items()}
    got = {c.term: c.score for c in chosen}
    assert got == pytest.approx({"storm": (4 + 1.5 + 2) * idf["storm"], "flood": (1.5 + 4) * idf["flood"]})
    assert [c.term for c in chosen] == ["storm", "flood"] and chosen[0].word == "storm"


def test_at_most_25_words_are_picked():
    words = [f"word{chr(97 + i)}{chr(97 + j)}" for i in range(6) for j in range(6)]
    chosen = distinctive_terms({"body": " ".join(words * 2)}, lambda term: 5, 1000)
    assert len(chosen) == MAX_QUERY_TERMS == 25


def test_filters_facets_and_pages_work_as_in_search(corpus):
    assert names(corpus.similar(TARGET, topics=["Education"])) == ["mid"]
    assert names(corpus.similar(TARGET, since="2020")) == ["mid"]
    first, second = corpus.similar(TARGET, limit=1), corpus.similar(TARGET, limit=1, page=2)
    assert names(first) + names(second) == names(corpus.similar(TARGET))[:2]
    facets = {v.value: v.count for v in corpus.similar(TARGET).facets.topics}
    assert facets["AI"] == 1 and facets["Education"] == 1  # the target itself is not counted


def test_recency_and_date_sorts_apply(corpus):
    assert names(corpus.similar(TARGET, sort="newest")) == ["mid", "near"]
    plain = {h.url: h.score for h in corpus.similar(TARGET).hits}
    recent = {h.url: h.score for h in corpus.similar(TARGET, recency="7d", now="2020-06-13").hits}
    assert recent["https://x/near"] == pytest.approx(plain["https://x/near"] * FLOOR, abs=2e-4)  # 17 months old
    assert plain["https://x/mid"] * FLOOR < recent["https://x/mid"] < plain["https://x/mid"]  # 12 days old


def test_the_same_story_hook_is_left_out(corpus, monkeypatch):
    original = IndexSearcher._same_story

    def with_near(self, docnum):
        mask = original(self, docnum)
        mask |= np.arange(len(mask)) == self._docnum("https://x/near")
        return mask

    monkeypatch.setattr(IndexSearcher, "_same_story", with_near)
    assert "near" not in names(corpus.similar(TARGET))


def test_an_article_without_distinctive_words_finds_nothing(corpus):
    results = corpus.similar("https://x/zebra")  # its words are in most articles, or said once
    assert results.total == 0 and results.hits == ()
    assert results.parsed == "similar to https://x/zebra: <no distinctive words>"


def test_an_unknown_url_is_a_lookup_error_naming_it(corpus):
    with pytest.raises(ArticleNotFoundError) as caught:
        corpus.similar("https://x/nowhere")
    assert isinstance(caught.value, LookupError)
    assert "https://x/nowhere" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("bad", [None, 5, b"https://x/target"])
def test_a_url_that_is_not_a_string_is_a_query_error(corpus, bad):
    with pytest.raises(QueryError, match="^url must be a string"):
        corpus.similar(bad)


def test_bad_options_are_query_errors_naming_them(corpus):
    with pytest.raises(QueryError, match="^limit"):
        corpus.similar(TARGET, limit=0)
    with pytest.raises(QueryError, match="^recency"):
        corpus.similar(TARGET, recency="later")


# -- command line -------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_similar_json_is_what_the_library_returns(corpus):
    result = run("similar", TARGET, "--format", "json", "--topic", "AI")
    assert result.exit_code == 0
    data = json.loads(result.output)
    expected = to_data(corpus.similar(TARGET, topics=["AI"]))
    data.pop("took_ms"), expected.pop("took_ms")
    assert data == expected


def test_similar_text_and_explain(corpus):
    result = run("similar", TARGET, "--explain", "--limit", "1")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"parsed: similar to {TARGET}: facial^1.00 recognition^1.00 bans^0.85 cameras^0.43"
    assert "Another city bans facial recognition" in result.output


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_similar_exports_the_page(corpus, fmt):
    result = run("similar", TARGET, "--format", fmt, "--limit", "2")
    assert result.exit_code == 0
    assert "https://x/near" in result.output and TARGET + "\n" not in result.output


def test_similar_of_an_unknown_url_is_exit_1_in_one_line(corpus):
    result = run("similar", "https://x/nowhere")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1 and "https://x/nowhere" in result.output


def test_similar_with_a_bad_option_value_is_exit_2(corpus):
    result = run("similar", TARGET, "--recency", "later")
    assert result.exit_code == 2 and "recency" in result.output


def test_similar_all_exports_every_match_as_the_pages_do(corpus):
    result = run("similar", TARGET, "--format", "ndjson", "--all")
    assert result.exit_code == 0
    every = [json.loads(line)["url"] for line in result.output.splitlines()]
    assert every == [h.url for h in corpus.similar(TARGET, limit=1000).hits] and len(every) == 2


def test_similar_all_needs_an_export_format(corpus):
    result = run("similar", TARGET, "--all")
    assert result.exit_code == 2 and "--all needs --format csv or --format ndjson" in result.output


def test_more_like_this_leaves_out_the_articles_near_duplicates(tmp_path):
    """The same story under another provider and url is not "more like this": it is this."""
    from newssearch import index_seeds, open_index

    from .conftest import write_seed

    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    story = ("Harbour council votes to ban facial recognition cameras after a long debate on privacy, "
             "policing and the city's new surveillance rules")
    write_seed(seeds, "a.txt", title="Harbour council bans facial recognition", url="https://a.example/story",
               excerpt=story, provider="Daily Ledger")
    write_seed(seeds, "b.txt", title="Harbour council bans facial recognition", url="https://b.example/copy",
               excerpt=story, provider="Wire Service")
    write_seed(seeds, "c.txt", title="Facial recognition cameras debated by the harbour council",
               url="https://c.example/other", excerpt="Privacy campaigners and the council argue over cameras "
               "and facial recognition in the harbour district", provider="Evening Post")
    for i in range(6):
        write_seed(seeds, f"f{i}.txt", title=f"Weather report {i}", url=f"https://f.example/{i}",
                   excerpt=f"Rain and wind number {i} over the hills")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        assert [d.url for d in ix.get("https://a.example/story").duplicates] == ["https://b.example/copy"]
        urls = [h.url for h in ix.similar("https://a.example/story", collapse=False).hits]
    assert "https://c.example/other" in urls
    assert "https://b.example/copy" not in urls and "https://a.example/story" not in urls
