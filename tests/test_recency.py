"""Recency: ``search(recency=...)`` and ``query --recency`` decay a relevance score with the article's age."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from click.testing import CliRunner

from newssearch import QueryError, index_seeds, open_index
from newssearch.cli import cli
from newssearch.dates import to_timestamp
from newssearch.recency import FLOOR, decay
from newssearch.schema import NO_DATE

from .conftest import write_seed

UTC = timezone.utc
NOW = "2024-06-01T00:00:00Z"
NOW_DT = datetime(2024, 6, 1, tzinfo=UTC)
FILLER = "Officials met on Tuesday to discuss the budget and other matters of the week. "


@pytest.fixture
def corpus(seeds, index_dir):
    """Articles about an election, of known strength and age.

    old-strong:  "election" 3 times in the body, two years old
    fresh-weak:  "election" 2 times in the body, a day old (same body length)
    old-title:   "election" in the title and body, two years old: a much stronger match
    fresh-once:  "election" once in a long body, a day old
    undated:     as strong as old-strong, no date
    future:      as strong as fresh-weak, dated after now
    """
    body3 = " ".join(["The election result."] * 3 + [FILLER] * 4)
    body2 = " ".join(["The election result."] * 2 + ["The final result."] + [FILLER] * 4)
    write_seed(seeds, "old-strong.txt", title="A vote in the north", url="https://x/old-strong", body=body3,
               published="2022-06-01T00:00:00Z")
    write_seed(seeds, "fresh-weak.txt", title="A vote in the south", url="https://x/fresh-weak", body=body2,
               published="2024-05-31T00:00:00Z")
    write_seed(seeds, "old-title.txt", title="Election day", url="https://x/old-title",
               excerpt="The election decided everything.", body=body3, published="2022-06-01T00:00:00Z")
    write_seed(seeds, "fresh-once.txt", title="Town news", url="https://x/fresh-once",
               body="The election is coming. " + FILLER * 12, published="2024-05-31T00:00:00Z")
    write_seed(seeds, "undated.txt", title="A vote in the east", url="https://x/undated", body=body3, published=None)
    write_seed(seeds, "future.txt", title="A vote in the west", url="https://x/future", body=body2,
               published="2024-07-01T00:00:00Z")
    for i in range(6):  # other articles, so that "election" is a rare word
        write_seed(seeds, f"other{i}.txt", title=f"Weather report {i}", url=f"https://x/other{i}", body=FILLER * 3,
                   published="2023-01-01T00:00:00Z")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        yield ix


def scores(results) -> dict[str, float]:
    return {h.url.rsplit("/", 1)[1]: h.score for h in results.hits}


def order(results) -> list[str]:
    return [h.url.rsplit("/", 1)[1] for h in results.hits]


def test_a_fresh_slightly_weaker_match_overtakes_an_old_slightly_stronger_one(corpus):
    plain = scores(corpus.search("election", now=NOW))
    assert plain["fresh-weak"] < plain["old-strong"] < 1.5 * plain["fresh-weak"]  # only slightly stronger
    recent = order(corpus.search("election", now=NOW, recency="30d"))
    assert recent.index("fresh-weak") < recent.index("old-strong")


def test_a_much_stronger_old_match_stays_ahead_of_a_fresh_weak_one(corpus):
    plain = scores(corpus.search("election", now=NOW))
    assert plain["old-title"] > plain["fresh-once"] / FLOOR  # stronger than the floor can undo
    recent = order(corpus.search("election", now=NOW, recency="30d"))
    assert recent.index("old-title") < recent.index("fresh-once")


def test_an_old_weaker_match_never_overtakes_a_fresh_stronger_one(corpus):
    # fresh-weak beats fresh-once without recency; equal ages keep that order, and a
    # decay can only lower the older article: no recency setting swaps them the wrong way.
    for half_life in ("1h", "30d", "1y", "100y"):
        recent = order(corpus.search("election", now=NOW, recency=half_life))
        assert recent.index("fresh-weak") < recent.index("fresh-once")
        assert recent.index("old-title") < recent.index("old-strong")


def test_the_score_is_the_relevance_times_the_decay_formula(corpus):
    plain = scores(corpus.search("election", now=NOW))
    recent = scores(corpus.search("election", now=NOW, recency="30d"))
    half_life = 30 * 86400
    for name, published in (("old-strong", "2022-06-01"), ("fresh-weak", "2024-05-31")):
        age = (NOW_DT - datetime.fromisoformat(published).replace(tzinfo=UTC)).total_seconds()
        factor = FLOOR + (1 - FLOOR) * 0.5 ** (age / half_life)
        assert recent[name] == pytest.approx(plain[name] * factor, abs=2e-4)


def test_an_article_one_half_life_old_keeps_sixty_percent(corpus):
    now = datetime(2024, 5, 31, tzinfo=UTC) + timedelta(days=30)
    plain = scores(corpus.search("election", now=now))
    recent = scores(corpus.search("election", now=now, recency="30d"))
    assert recent["fresh-weak"] == pytest.approx(plain["fresh-weak"] * 0.6, abs=2e-4)


def test_undated_articles_keep_the_floor_factor(corpus):
    plain = scores(corpus.search("election", now=NOW))
    for half_life in ("1d", "1y"):
        recent = scores(corpus.search("election", now=NOW, recency=half_life))
        assert recent["undated"] == pytest.approx(plain["undated"] * FLOOR, abs=2e-4)


def test_a_date_in_the_future_counts_as_age_zero(corpus):
    plain = scores(corpus.search("election", now=NOW))
    recent = scores(corpus.search("election", now=NOW, recency="1d"))
    assert recent["future"] == plain["future"]


def test_recency_counts_from_now_when_now_is_not_given(corpus):
    # Every date of the corpus is long before the present: the fresh ones are old now too.
    recent = scores(corpus.search("election", recency="1d"))
    plain = scores(corpus.search("election"))
    assert recent["fresh-weak"] == pytest.approx(plain["fresh-weak"] * FLOOR, abs=2e-4)


def test_sorts_by_date_and_browsing_are_unaffected(corpus):
    for sort in ("newest", "oldest"):
        with_recency = corpus.search("election", now=NOW, sort=sort, recency="30d")
        assert with_recency.hits == corpus.search("election", now=NOW, sort=sort).hits
    browse = corpus.search("", now=NOW, recency="30d")
    assert browse.sort == "newest" and browse.hits == corpus.search("", now=NOW).hits


def test_recency_changes_neither_the_matches_nor_the_facets(corpus):
    plain = corpus.search("election", now=NOW)
    recent = corpus.search("election", now=NOW, recency="30d")
    assert recent.total == plain.total and recent.facets == plain.facets
    assert set(order(recent)) == set(order(plain))


@pytest.mark.parametrize(
    ("text", "delta"),
    [("12h", timedelta(hours=12)), ("30d", timedelta(days=30)), ("2w", timedelta(weeks=2)),
     ("1.5d", timedelta(hours=36)), ("6M", timedelta(days=6 * 30.436875)), ("1y", timedelta(days=365.2425))],
)
def test_a_half_life_is_a_string_with_a_unit_or_a_timedelta(corpus, text, delta):
    a = corpus.search("election", now=NOW, recency=text)
    b = corpus.search("election", now=NOW, recency=delta)
    assert scores(a) == scores(b)


@pytest.mark.parametrize("bad", ["30", "30x", "0d", "-1d", "d", "thirty days", "1e3d", 30, 1.5, True, timedelta(0),
                                 timedelta(days=-1), "99999999y"])
def test_a_bad_half_life_is_a_one_line_query_error_naming_recency(corpus, bad):
    with pytest.raises(QueryError) as caught:
        corpus.search("election", recency=bad)
    message = str(caught.value)
    assert message.startswith("recency") and "\n" not in message


def test_none_empty_and_off_mean_no_recency(corpus):
    plain = scores(corpus.search("election", now=NOW))
    for off in (None, "", "off", "OFF"):
        assert scores(corpus.search("election", now=NOW, recency=off)) == plain


def test_the_decay_matches_the_direct_formula_elementwise():
    now = to_timestamp(NOW_DT)
    published = np.array([now, now - 86400, now - 10 * 86400, now + 5000, NO_DATE, now - 10**9], dtype=np.int64)
    got = decay(published, now, 86400.0)
    expected = [1.0, FLOOR + (1 - FLOOR) * 0.5, FLOOR + (1 - FLOOR) * 0.5**10, 1.0, FLOOR, FLOOR]
    assert got.tolist() == pytest.approx(expected, rel=1e-6)  # computed in float32


# -- command line --------------------------------------------------------------


def cli_urls(args: list[str]) -> list[str]:
    result = CliRunner().invoke(cli, ["query", *args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    import json

    return [h["url"].rsplit("/", 1)[1] for h in json.loads(result.output)["hits"]]


def test_query_recency_reorders_as_the_library_does(corpus):
    without = cli_urls(["election", "--now", NOW])
    recent = cli_urls(["election", "--now", NOW, "--recency", "30d"])
    assert without.index("old-strong") < without.index("fresh-weak")
    assert recent.index("fresh-weak") < recent.index("old-strong")
    assert recent == order(corpus.search("election", now=NOW, recency="30d"))


def test_query_with_a_bad_recency_is_bad_usage_in_one_line(corpus):
    result = CliRunner().invoke(cli, ["query", "election", "--recency", "soon"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "recency" in result.output and "Traceback" not in result.output
