from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pytest

from newssearch import FacetValue, IndexNotFoundError, QueryError, index_seeds, open_index

from .conftest import related, write_seed

UTC = timezone.utc


@pytest.fixture
def corpus(seeds, index_dir):
    """Six articles whose facet counts are easy to check by hand.

    topics:   AI x3 (a, b, d), Climate x2 (c, d), Policy x1 (e)
    provider: Daily Ledger x3 (a, c, e), Tech Wire x2 (b, d), none x1 (f)
    years:    2019 x1 (a), 2020 x3 (b, c, d), 2021 x1 (e), undated x1 (f)
    """
    write_seed(seeds, "a.txt", title="Facial recognition banned in the city", url="https://x/a",
               excerpt="Council votes on surveillance.", topics=["AI"], provider="Daily Ledger",
               published="2019-05-01T10:00:00Z")
    write_seed(seeds, "b.txt", title="Chip makers report record quarter", url="https://x/b",
               excerpt="Demand for facial recognition cameras lifted sales.", topics=["AI"],
               provider="Tech Wire", published="2020-02-10T08:00:00Z")
    write_seed(seeds, "c.txt", title="Heatwave in Zürich breaks records", url="https://x/c",
               excerpt="Temperatures reached new highs.", topics=["Climate"], provider="Daily Ledger",
               published="2020-07-01T12:00:00Z", category="weather")
    write_seed(seeds, "d.txt", title="Models that predict the climate", url="https://x/d",
               excerpt="AI systems recognize weather patterns.", topics=["AI", "Climate"],
               provider="Tech Wire", published="2020-12-31T23:30:00Z")
    write_seed(seeds, "e.txt", title="New rules for police use of cameras", url="https://x/e",
               excerpt="A definition of public space.", topics=["Policy"], provider="Daily Ledger",
               published="2021-01-01T00:30:00+09:00")  # 2020-12-31T15:30Z: a 2020 article
    write_seed(seeds, "f.txt", title="An undated note about cameras", url="https://x/f",
               provider={"name": "", "domain": ""}, published=None)
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        yield ix


def urls(results):
    return [h.url for h in results.hits]


def counts(values):
    return {v.value: v.count for v in values}


# -- matching and ranking ------------------------------------------------------


def test_all_words_must_match(corpus):
    assert urls(corpus.search("facial recognition")) == ["https://x/a", "https://x/b"]
    assert corpus.search("facial weather").total == 0


def test_a_title_match_beats_an_excerpt_only_match(corpus):
    assert urls(corpus.search("facial recognition"))[0] == "https://x/a"


def test_an_exact_phrase_beats_scattered_words(seeds, index_dir):
    write_seed(seeds, "s.txt", title="Police say recognition of the facial features failed", url="https://x/s")
    write_seed(seeds, "p.txt", title="Police and facial recognition: the debate", url="https://x/p")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        assert urls(ix.search('"facial recognition"')) == ["https://x/p"]
        assert urls(ix.search("facial recognition police"))[0] == "https://x/p"


def test_stemming_finds_other_forms_of_a_word(corpus):
    assert urls(corpus.search("recognizing")) == ["https://x/d"]
    assert "https://x/a" in urls(corpus.search("recognitions"))
    assert urls(corpus.search("definitions")) == ["https://x/e"]
    assert urls(corpus.search("predicting")) == ["https://x/d"]


def test_accents_are_folded(corpus):
    assert urls(corpus.search("zurich")) == ["https://x/c"]
    assert urls(corpus.search("Zürich")) == ["https://x/c"]


def test_operators(corpus):
    assert set(urls(corpus.search("heatwave OR chip"))) == {"https://x/b", "https://x/c"}
    assert urls(corpus.search("facial -banned")) == ["https://x/b"]
    assert urls(corpus.search("facial NOT banned")) == ["https://x/b"]
    assert urls(corpus.search("title:facial")) == ["https://x/a"]
    assert set(urls(corpus.search("topic:climate"))) == {"https://x/c", "https://x/d"}
    assert urls(corpus.search("provider:wire chip")) == ["https://x/b"]
    assert urls(corpus.search("category:weather")) == ["https://x/c"]
    assert urls(corpus.search("Title:heatwave")) == ["https://x/c"]
    assert urls(corpus.search("heatw*")) == ["https://x/c"]


def test_explicit_fuzzy_terms_match_misspellings(corpus):
    assert urls(corpus.search("heatwaev~")) == ["https://x/c"]
    assert urls(corpus.search("recgonition~2 banned")) == ["https://x/a"]


def test_a_query_that_finds_nothing_is_retried_with_typos_corrected(corpus):
    results = corpus.search("facal recogniton")
    assert results.suggestion == "facial recognition"
    assert urls(results) == ["https://x/a", "https://x/b"]
    none = corpus.search("facal recogniton", fuzzy=False)
    assert (none.total, none.suggestion) == (0, None)


def test_no_suggestion_when_nothing_is_close(corpus):
    results = corpus.search("xylophone")
    assert (results.total, results.suggestion) == (0, None)


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "(open", "close)", "AND", "OR", "NOT", "title:", ":", "a:b:c", "~", "*", "-", '""',
     "((", "facial AND", "nosuchfield:cameras", "the", "\x00", "[2020 TO", "^2", "a~9", "🙂"],
)
def test_malformed_queries_never_raise(corpus, query):
    results = corpus.search(query)
    assert results.total >= 0
    assert isinstance(results.parsed, str)


def test_an_unknown_field_is_read_as_words(corpus):
    assert urls(corpus.search("zurich:heatwave")) == ["https://x/c"]


def test_an_empty_query_lists_every_article_newest_first(corpus):
    results = corpus.search("")
    assert results.total == 6
    assert urls(results) == ["https://x/d", "https://x/e", "https://x/c", "https://x/b", "https://x/a", "https://x/f"]


def test_related_articles_are_found_and_marked(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Main story", url="https://x/a",
               related=[related("Follow-up on the glacier", "https://x/r", excerpt="Ice melts.")])
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        hit = ix.search("glacier").hits[0]
    assert (hit.url, hit.kind, hit.related_to, hit.provider) == ("https://x/r", "related", "https://x/a", "Other Paper")
    assert hit.published == datetime(2020, 6, 13, 8, 0, tzinfo=UTC)


# -- filters -------------------------------------------------------------------


def test_topic_filter_keeps_any_of_the_topics_case_insensitively(corpus):
    assert set(urls(corpus.search("", topics=["ai"]))) == {"https://x/a", "https://x/b", "https://x/d"}
    assert corpus.search("", topics=["Policy", "CLIMATE"]).total == 3
    assert corpus.search("", topics=["no such topic"]).total == 0


def test_provider_and_category_filters(corpus):
    assert set(urls(corpus.search("", providers=["daily ledger"]))) == {"https://x/a", "https://x/c", "https://x/e"}
    assert urls(corpus.search("", category="Weather")) == ["https://x/c"]


def test_date_filters_are_inclusive_and_utc(corpus):
    assert set(urls(corpus.search("", since="2020", until="2020"))) == {"https://x/b", "https://x/c", "https://x/d", "https://x/e"}
    # Published 2021-01-01 00:30 in Tokyo is 2020-12-31 in UTC.
    assert "https://x/e" in urls(corpus.search("", until="2020-12-31"))
    assert "https://x/e" not in urls(corpus.search("", since="2021-01-01"))
    # The last second of a day belongs to it.
    assert "https://x/d" in urls(corpus.search("", since="2020-12-31", until="2020-12-31"))
    assert urls(corpus.search("", since="2019-05-01T10:00:00Z", until="2019-05-01T10:00:00Z")) == ["https://x/a"]
    # Undated articles match no date range.
    assert "https://x/f" not in urls(corpus.search("", since="1900"))


def test_relative_dates_count_back_from_now(corpus):
    results = corpus.search("", since="6m", now="2021-03-01")
    assert set(urls(results)) == {"https://x/e", "https://x/d"}


def test_bad_options_raise_query_errors(corpus):
    for options in (
        {"since": "last week"},
        {"since": "2021", "until": "2020"},
        {"sort": "random"},
        {"limit": 0},
        {"page": 0},
        {"date_facet": "hour"},
        {"now": "someday"},
    ):
        with pytest.raises(QueryError):
            corpus.search("cameras", **options)


# -- facets --------------------------------------------------------------------


def test_facet_counts_cover_every_match_not_just_the_page(corpus):
    results = corpus.search("", limit=1)
    assert len(results.hits) == 1
    assert counts(results.facets.topics) == {"AI": 3, "Climate": 2, "Policy": 1}
    assert counts(results.facets.provider) == {"Daily Ledger": 3, "Tech Wire": 2}
    assert counts(results.facets.published) == {"2019": 1, "2020": 4}
    assert results.facets.topics[0] == FacetValue("AI", 3)  # most frequent first
    assert (results.oldest, results.newest) == (
        datetime(2019, 5, 1, 10, tzinfo=UTC),
        datetime(2020, 12, 31, 23, 30, tzinfo=UTC),
    )


def test_facets_are_multi_select(corpus):
    results = corpus.search("", topics=["AI"])
    assert results.total == 3
    # The topic facet ignores the topic filter: the other topics stay visible with their counts.
    assert counts(results.facets.topics) == {"AI": 3, "Climate": 2, "Policy": 1}
    # The other facets count only the filtered results.
    assert counts(results.facets.provider) == {"Daily Ledger": 1, "Tech Wire": 2}
    assert counts(results.facets.published) == {"2019": 1, "2020": 2}
    dated = corpus.search("", topics=["AI"], since="2020")
    assert counts(dated.facets.published) == {"2019": 1, "2020": 2}  # its own filter ignored
    assert counts(dated.facets.topics) == {"AI": 2, "Climate": 2, "Policy": 1}
    assert counts(dated.facets.provider) == {"Tech Wire": 2}


def test_facets_follow_the_query(corpus):
    results = corpus.search("cameras")
    assert set(urls(results)) == {"https://x/b", "https://x/e", "https://x/f"}
    assert counts(results.facets.topics) == {"AI": 1, "Policy": 1}


def test_date_histogram_by_month_and_day_lists_empty_buckets_between(corpus):
    months = corpus.search("", date_facet="month", facet_limit=100)
    values = months.facets.published
    assert [v.value for v in values] == [f"2019-{m:02d}" for m in range(5, 13)] + [f"2020-{m:02d}" for m in range(1, 13)]
    assert {k: n for k, n in counts(values).items() if n} == {"2019-05": 1, "2020-02": 1, "2020-07": 1, "2020-12": 2}
    days = corpus.search("", date_facet="day", since="2020-12")
    assert days.facets.published[-1] == FacetValue("2020-12-31", 2)
    years = corpus.search("", date_facet="year")
    assert counts(years.facets.published) == {"2019": 1, "2020": 4}


def test_the_histogram_holds_the_newest_facet_limit_buckets(corpus):
    months = corpus.search("", date_facet="month", facet_limit=3)
    assert counts(months.facets.published) == {"2020-10": 0, "2020-11": 0, "2020-12": 2}
    assert corpus.search("", date_facet="day", facet_limit=0).facets.published == ()
    # The span of the matches is still the whole one.
    assert months.oldest == datetime(2019, 5, 1, 10, tzinfo=UTC)
    days = corpus.search("", date_facet="day", facet_limit=100)
    assert len(days.facets.published) == 100 and days.facets.published[-1] == FacetValue("2020-12-31", 2)
    every_day = corpus.search("", date_facet="day", facet_limit=1000).facets.published
    assert (every_day[0].value, every_day[-1].value, len(every_day)) == ("2019-05-01", "2020-12-31", 611)


def test_facet_limit(corpus):
    results = corpus.search("", facet_limit=1)
    assert results.facets.topics == (FacetValue("AI", 3),)
    assert corpus.search("", facet_limit=0).facets.topics == ()


# -- results -------------------------------------------------------------------


def test_sorting_by_date(corpus):
    oldest = urls(corpus.search("", sort="oldest"))
    assert oldest == ["https://x/a", "https://x/b", "https://x/c", "https://x/e", "https://x/d", "https://x/f"]
    assert urls(corpus.search("cameras", sort="newest"))[0] == "https://x/e"
    assert corpus.search("cameras", sort="newest").hits[0].score is None


def test_pages_do_not_overlap_and_ties_break_by_url(seeds, index_dir):
    for i in reversed(range(25)):  # identical articles: every score ties
        write_seed(seeds, f"{i:02d}.txt", title="Identical twin story", url=f"https://x/{i:02d}")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        pages = [urls(ix.search("twin", limit=10, page=p, collapse=False)) for p in (1, 2, 3)]
        assert pages[0] == [f"https://x/{i:02d}" for i in range(10)]
        seen = [u for page in pages for u in page]
        assert len(seen) == len(set(seen)) == 25
        assert [h.rank for h in ix.search("twin", limit=10, page=3, collapse=False).hits] == list(range(21, 26))
        assert ix.search("twin", page=4, collapse=False).hits == ()


def test_hits_carry_every_field(corpus):
    hit = corpus.search("heatwave").hits[0]
    assert (hit.rank, hit.title, hit.url) == (1, "Heatwave in Zürich breaks records", "https://x/c")
    assert (hit.provider, hit.domain, hit.category, hit.kind) == ("Daily Ledger", "example.com", "weather", "seed")
    assert hit.published == datetime(2020, 7, 1, 12, tzinfo=UTC)
    assert hit.topics == ("Climate",)
    assert hit.path.endswith("c.txt")
    assert hit.score > 0


def test_highlights_mark_matched_words_and_fall_back_to_the_excerpt(corpus):
    hit = corpus.search("facial recognition").hits[1]
    assert "<mark>facial</mark> <mark>recognition</mark>" in hit.highlight
    # Browsing marks nothing: the start of the excerpt.
    assert corpus.search("", category="weather").hits[0].highlight == "Temperatures reached new highs."


def test_a_title_only_match_marks_the_title_and_shows_no_unrelated_excerpt(corpus):
    hit = corpus.search("heatwave").hits[0]
    assert hit.title_highlight == "<mark>Heatwave</mark> in Zürich breaks records"
    assert hit.highlight == ""
    # A word found in both: title and excerpt are marked.
    both = corpus.search("facial").hits[0]
    assert both.title_highlight == "<mark>Facial</mark> recognition banned in the city"
    # A field query marks only its field.
    title = corpus.search("title:cameras").hits[0]
    assert "<mark>" in title.title_highlight and title.highlight == ""
    excerpt = corpus.search("excerpt:cameras").hits[0]
    assert excerpt.url == "https://x/b" and "<mark>" not in excerpt.title_highlight
    assert "<mark>cameras</mark>" in excerpt.highlight


def test_negated_words_are_not_marked(corpus):
    hit = corpus.search("cameras -banned -police").hits[0]
    assert "<mark>cameras</mark>" in hit.highlight + hit.title_highlight
    everything = [h.highlight + h.title_highlight for h in corpus.search("-heatwave").hits]
    assert everything and not any("<mark>" in text for text in everything)


def test_highlights_are_html_escaped(seeds, index_dir):
    write_seed(seeds, "x.txt", title="Script", url="https://x/x",
               excerpt='A <script>alert("cameras")</script> & more cameras')
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        fragment = ix.search("cameras").hits[0].highlight
    assert "<script>" not in fragment
    assert "&lt;script&gt;alert(&quot;<mark>cameras</mark>&quot;)&lt;/script&gt; &amp; more <mark>cameras</mark>" in fragment


def test_the_searcher_sees_a_new_generation(seeds, index_dir):
    write_seed(seeds, "a.txt", title="First article", url="https://x/a")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        assert ix.search("article").total == 1
        write_seed(seeds, "b.txt", title="Second article", url="https://x/b")
        index_seeds([seeds], index_dir)
        assert ix.search("article").total == 2


def test_a_missing_index_says_how_to_make_one(tmp_path):
    with pytest.raises(IndexNotFoundError, match=r'^no index at .*/nowhere/: run "newssearch index" first$'):
        open_index(tmp_path / "nowhere")


def test_stats(corpus):
    stats = corpus.stats()
    assert (stats.articles, stats.seeds, stats.related) == (6, 6, 0)
    assert stats.oldest == datetime(2019, 5, 1, 10, tzinfo=UTC)
    assert stats.topics[0] == FacetValue("AI", 3)
    assert stats.size_bytes > 0


def test_searcher_can_be_shared_between_threads(corpus):
    from concurrent.futures import ThreadPoolExecutor

    queries = ["facial", "cameras", "climate", "zurich"] * 10
    expected = [corpus.search(q).total for q in queries]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda q: corpus.search(q).total, queries)) == expected


def test_possessives_are_found_by_the_bare_word(seeds, index_dir):
    write_seed(seeds, "s.txt", title="Sony’s new console", url="https://x/s", excerpt="Apple's answer")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        assert ix.search("sony").total == 1
        assert ix.search("apple").total == 1


# -- facet values in several spellings -------------------------------------------


@pytest.fixture
def spellings(seeds, index_dir):
    """Topics, providers and categories spelt in several ways, as real feeds do."""
    for i in range(5):
        write_seed(seeds, f"r{i}.txt", title=f"Robot story {i}", url=f"https://x/r{i}", topics=["Robotics"],
                   provider="Le Monde", category="Économie")
    write_seed(seeds, "l.txt", title="Lower robot", url="https://x/l", topics=["robotics"], provider="le monde")
    write_seed(seeds, "u.txt", title="Upper robot", url="https://x/u", topics=["ROBOTICS", "Robotics"])
    write_seed(seeds, "e.txt", title="Exiles", url="https://x/e", topics=["Émigrés"], provider="Émigré Press",
               category="économie")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        yield ix


def test_a_facet_merges_spellings_under_the_commonest_and_counts_what_selecting_it_gives(spellings):
    results = spellings.search("")
    topics = counts(results.facets.topics)
    assert topics == {"Robotics": 7, "Émigrés": 1}
    for spelling in ("Robotics", "robotics", "ROBOTICS"):
        assert spellings.search("", topics=[spelling]).total == topics["Robotics"]
    assert counts(results.facets.provider) == {"Le Monde": 6, "Émigré Press": 1, "Example News": 1}
    assert spellings.search("", providers=["LE MONDE"]).total == 6


def test_filters_fold_accents_as_queries_do(spellings):
    assert urls(spellings.search("", topics=["emigres"])) == ["https://x/e"]
    assert urls(spellings.search("", topics=["EMIGRÉS"])) == ["https://x/e"]
    assert urls(spellings.search("", providers=["emigre press"])) == ["https://x/e"]
    assert spellings.search("", category="economie").total == 6
    assert spellings.search("", category="ÉCONOMIE").total == 6
    # The query language agrees.
    assert urls(spellings.search("emigres")) == ["https://x/e"]
    assert spellings.search("category:economie").total == spellings.search("category:ÉCONOMIE").total == 6
    assert spellings.search("category:econ*").total == spellings.search("category:ÉCON*").total == 6


def test_stats_merge_spellings_too(spellings):
    assert counts(spellings.stats().topics) == {"Robotics": 7, "Émigrés": 1}


def test_wildcards_in_the_topic_and_provider_fields(spellings):
    assert spellings.search("topic:robo*").total == 7
    assert spellings.search("topics:ROBOT?CS").total == 7
    assert spellings.search("provider:mon*").total == 6
    assert urls(spellings.search("provider:émig*")) == ["https://x/e"]
    assert spellings.search("topic:mon*").total == 0


def test_the_date_histogram_lists_the_chosen_span_when_drilling_down(tmp_path):
    seeds = tmp_path / "seeds"
    for i, date in enumerate(["2020-01-05T10:00:00Z", "2020-01-20T10:00:00Z", "2021-06-01T10:00:00Z", "2023-03-03T10:00:00Z"]):
        write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i}", published=date)
    index_seeds([seeds], tmp_path / "index")
    with open_index(tmp_path / "index") as ix:
        days = ix.search("", since="2020-01", until="2020-01", date_facet="day", facet_limit=31).facets.published
        assert [v.value for v in days] == [f"2020-01-{d:02d}" for d in range(5, 32)]  # from the first article on
        assert {v.value: v.count for v in days if v.count} == {"2020-01-05": 1, "2020-01-20": 1}
        # Without a range the newest buckets end at the last article, and the facet stays multi-select.
        years = ix.search("", since="2021", date_facet="year").facets.published
        assert [(v.value, v.count) for v in years] == [("2020", 2), ("2021", 1), ("2022", 0), ("2023", 1)]


def test_every_place_that_stems_keeps_apart_the_words_porter2_folded_together(seeds, index_dir):
    # Matching, highlighting, typo correction and wildcards all stem with one stemmer:
    # "universities" finds the university, not the universe; "even" not the evening.
    articles = {
        "uni": "Universities raise fees", "cosmos": "The universe expands faster",
        "org": "Charities and organizations merge", "organ": "Organ donors wanted",
        "night": "An evening of jazz", "odds": "Even odds for the final",
    }
    for name, title in articles.items():
        write_seed(seeds, f"{name}.txt", title=title, url=f"https://x/{name}")
    index_seeds([seeds], index_dir)

    def found(query):
        return sorted(h.url.rsplit("/", 1)[1] for h in ix.search(query).hits)

    with open_index(index_dir) as ix:
        assert found("university") == ["uni"]
        assert found("universe") == ["cosmos"]
        assert found("organization") == ["org"]
        assert found("organs") == ["organ"]
        assert found("even") == ["odds"]
        assert found("evenings") == ["night"]
        assert found('title:"universities raise"') == ["uni"]
        assert ix.search("university").hits[0].title_highlight == "<mark>Universities</mark> raise fees"
        # A misspelling is corrected to the word, then stemmed as the index was.
        typo = ix.search("univrsities")
        assert typo.suggestion == "universities" and [h.url for h in typo.hits] == ["https://x/uni"]
        # A wildcard stands for the words as typed, whatever their stems.
        assert found("univers*") == ["cosmos", "uni"]
        assert found("organization*") == ["org"]


# -- few matches: results over docnums equal results over masks -----------------------------------

STORY_TEXTS = [
    "Storm floods the harbour district as rivers burst their banks overnight after days of rain",
    "Central bank raises interest rates again as inflation stays stubbornly above its target this year",
    "City council approves new cycle lanes along the river despite objections from shop owners nearby",
]


@pytest.fixture
def clustered_index(seeds, index_dir):
    """Stories syndicated by several providers (near-duplicate clusters), lone articles, related
    articles, undated ones, labels in several spellings, two segments and deleted documents."""
    providers = ["Reuters", "AP", "Local Paper", "Tech Wire", "Le Monde"]
    for i in range(36):
        story = STORY_TEXTS[i % 3] if i % 4 else f"Lone article number {i} about harbour rates and lanes"
        write_seed(seeds, f"{i:02d}.txt", title=story + f" ({providers[i % 5]})" * (i % 2), excerpt=story,
                   url=f"https://p{i % 5}.example/{i}", provider=providers[i % 5], domain=f"p{i % 5}.example",
                   topics=[["Weather", "weather"], ["Economy"], ["Local", "Transport"]][i % 3][: 1 + i % 2],
                   published=None if i % 7 == 0 else f"20{18 + i % 5}-0{1 + i % 9}-1{i % 10}T10:00:00Z",
                   related=[related(f"Harbour rates {i}", f"https://r.example/{i}")] if i % 6 == 0 else [])
    index_seeds([seeds], index_dir)
    for i in range(36, 44):
        write_seed(seeds, f"{i:02d}.txt", title=STORY_TEXTS[i % 3], excerpt=STORY_TEXTS[i % 3],
                   url=f"https://late.example/{i}", provider="AP", topics=["Economy"], published="2023-02-01T00:00:00Z")
    for i in range(0, 36, 5):
        (seeds / f"{i:02d}.txt").unlink()
    index_seeds([seeds], index_dir)
    return index_dir


@pytest.mark.parametrize("options", [
    {}, {"collapse": False}, {"topics": ["weather"]}, {"providers": ["AP", "reuters"]}, {"since": "2019", "until": "2021-06"},
    {"topics": ["Economy"], "since": "2020", "date_facet": "month"}, {"sort": "newest"}, {"sort": "oldest", "collapse": False},
    {"recency": "1y", "now": "2024-01-01"}, {"limit": 3, "page": 2}, {"category": "news", "date_facet": "day"},
    {"fields": ["excerpt"]}, {"facet_limit": 2},
])
@pytest.mark.parametrize("query", ["harbour", "rates OR lanes", "harbour -storm", "", "title:bank", "nothing-matches-this"])
def test_a_search_over_the_docnums_of_few_matches_equals_the_search_over_masks(clustered_index, monkeypatch, query, options):
    import newssearch.scoring as scoring
    import newssearch.searching as searching

    with open_index(clustered_index) as ix:
        for module in (searching, scoring):
            monkeypatch.setattr(module, "SPARSE_FROM", 10**9)  # never docnums: masks over the index
        over_masks = ix.search(query, **options)
        monkeypatch.setattr(searching, "SPARSE_FROM", 0)  # the results over docnums, the matches over masks
        over_docnums = ix.search(query, **options)
        monkeypatch.setattr(scoring, "SPARSE_FROM", 0)  # and the matches too
        all_docnums = ix.search(query, **options)
    assert replace(all_docnums, took_ms=0) == replace(over_masks, took_ms=0)
    assert replace(over_docnums, took_ms=0) == replace(over_masks, took_ms=0)
    if query == "harbour" and not options:
        assert over_masks.total and any(h.similar_count for h in over_masks.hits)  # the corpus clusters


def test_similar_articles_over_docnums_equal_those_over_masks(clustered_index, monkeypatch):
    import newssearch.scoring as scoring
    import newssearch.searching as searching

    with open_index(clustered_index) as ix:
        url = ix.search("harbour").hits[0].url
        for module in (searching, scoring):
            monkeypatch.setattr(module, "SPARSE_FROM", 10**9)
        over_masks = ix.similar(url)
        for module in (searching, scoring):
            monkeypatch.setattr(module, "SPARSE_FROM", 0)
        over_docnums = ix.similar(url)
    assert replace(over_docnums, took_ms=0) == replace(over_masks, took_ms=0)


@pytest.mark.parametrize("seed", range(20))
def test_the_first_results_are_those_a_sort_of_every_match_puts_first(seed):
    """top_by_key_and_rank (a partition) keeps what sorting every match by key, then url rank, puts
    first: with keys all equal (as "*" scores), a few values, or all distinct."""
    from newssearch.searching import top_by_key_and_rank

    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 400))
    rank = rng.permutation(size + 50)  # every document's url rank: no two share one
    docs = np.sort(rng.choice(size + 50, size=size, replace=False))
    key = rng.integers(0, [1, 3, 10**9][seed % 3], size=size).astype(np.float32 if seed % 2 else np.int64)
    for wanted in (1, 2, 10, size - 1, size, size + 5):
        if wanted < 1:
            continue
        kept, kept_key = top_by_key_and_rank(docs, key, rank, wanted)
        order = np.lexsort((rank[kept], kept_key))
        reference = np.lexsort((rank[docs], key))[:wanted]
        assert kept[order].tolist() == docs[reference].tolist()
        assert kept_key[order].tolist() == key[reference].tolist()
