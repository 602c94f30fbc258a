"""The query language at its edges: negations alone, wildcards, fuzzy terms, typos, caps."""

from __future__ import annotations

import pytest

from newssearch import QueryError, SearcherClosedError, index_seeds, open_index
from newssearch import query as query_language

from .conftest import write_seed


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    """Eight articles around "police" and its look-alikes.

    p1 police (title), p2 policeman, p3 policy, p4 political, p5 council,
    p6 police and council, p7 AI and air, p8 undated "receive" x3, relieve x1.
    """
    root = tmp_path_factory.mktemp("language")
    seeds, index_dir = root / "seeds", root / "index"
    docs = [
        ("p1", "Police chief resigns", "The chief of police left.", "2020-01-01T00:00:00Z"),
        ("p2", "A policeman speaks", "He spoke to reporters.", "2020-02-01T00:00:00Z"),
        ("p3", "New policy on housing", "The policy changes rents.", "2020-03-01T00:00:00Z"),
        ("p4", "Political crisis deepens", "Parties argue.", "2020-04-01T00:00:00Z"),
        ("p5", "Council meets", "The council voted on change.", "2020-05-01T00:00:00Z"),
        ("p6", "Police and council agree", "A deal on patrols.", "2020-06-01T00:00:00Z"),
        ("p7", "AI rules for air travel", "Émigrés use the rules too.", "2020-07-01T00:00:00Z"),
        ("p8", "Letters", "You receive, we receive, they receive; some relieve.", None),
    ]
    for name, title, excerpt, published in docs:
        write_seed(seeds, f"{name}.txt", title=title, excerpt=excerpt, url=f"https://x/{name}", published=published)
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as searcher:
        yield searcher


def urls(results):
    return sorted(h.url.rsplit("/", 1)[1] for h in results.hits)


ALL = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"]


# -- negations alone -----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "excluded"),
    [
        ("-police", {"p1", "p6"}),
        ("NOT police", {"p1", "p6"}),
        ("-police -council", {"p1", "p5", "p6"}),
        ("-title:police", {"p1", "p6"}),
        ("(-police)", {"p1", "p6"}),
        ('-"police chief"', {"p1"}),
        ("-excerpt:chief", {"p1"}),
        ("-poli*", {"p1", "p2", "p3", "p4", "p6"}),
    ],
)
def test_a_query_of_only_negations_keeps_every_other_article(ix, query, excluded):
    results = ix.search(query)
    assert urls(results) == sorted(set(ALL) - excluded)
    assert results.total == len(ALL) - len(excluded)


def test_negations_alone_are_sorted_newest_first_and_say_so(ix):
    results = ix.search("-police")
    assert results.sort == "newest"
    assert [h.url for h in results.hits][:2] == ["https://x/p7", "https://x/p5"]
    assert all(h.score is None for h in results.hits)


def test_an_empty_query_reports_the_newest_first_sort_it_uses(ix):
    assert ix.search("").sort == "newest"
    assert ix.search("", sort="oldest").sort == "oldest"
    assert ix.search("police").sort == "relevance"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("council -police", ["p5"]),
        ("council AND -police", ["p5"]),
        ("council (-police)", ["p5"]),
        ("council (chief OR -police)", []),  # as in Lucene: "chief, without police"
        ("(council -police) OR chief", ["p1", "p5"]),
        ("council AND NOT police", ["p5"]),
        ("(police OR council) -chief", ["p5", "p6"]),
    ],
)
def test_a_negation_inside_a_query_removes_its_matches(ix, query, expected):
    assert urls(ix.search(query)) == expected


# -- wildcards -----------------------------------------------------------------


def test_a_prefix_is_the_text_typed_not_its_stem(ix):
    # "police" stems to "polic", which starts "policy" ("polici") and "political" ("polit").
    assert urls(ix.search("police*")) == ["p1", "p2", "p6"]
    assert urls(ix.search("polic*")) == ["p1", "p2", "p3", "p6"]
    assert urls(ix.search("poli*")) == ["p1", "p2", "p3", "p4", "p6"]
    assert urls(ix.search("POLICE*")) == ["p1", "p2", "p6"]


def test_a_prefix_in_one_field(ix):
    assert urls(ix.search("title:police*")) == ["p1", "p2", "p6"]
    assert urls(ix.search("excerpt:polic*")) == ["p1", "p3"]


def test_wildcards_inside_a_word(ix):
    assert urls(ix.search("po*ce")) == ["p1", "p6"]
    assert urls(ix.search("counc?l")) == ["p5", "p6"]
    assert urls(ix.search("c?uncil")) == ["p5", "p6"]


def test_a_prefix_finds_short_words_and_folds_accents(ix):
    assert urls(ix.search("ai*")) == ["p7"]  # "AI" and "air"
    assert urls(ix.search("emig*")) == ["p7"]
    assert urls(ix.search("Émig*")) == ["p7"]


def test_a_wildcard_that_matches_no_word_matches_nothing_even_with_other_words(ix):
    assert ix.search("xyzzy*").total == 0
    assert ix.search("police xyzzy*").total == 0
    assert urls(ix.search("police OR xyzzy*")) == ["p1", "p6"]


def test_a_lone_star_is_every_article_with_text_in_the_field(ix):
    assert ix.search("*").total == len(ALL)
    assert ix.search("title:*").total == len(ALL)
    assert ix.search("-title:*").total == 0
    assert urls(ix.search("* -police")) == sorted(set(ALL) - {"p1", "p6"})


def test_marks_and_phrases_keep_wildcards_literal(ix):
    # Inside quotes "*" and "~" are punctuation, as in Lucene's parser.
    assert urls(ix.search('"police* chief"')) == ["p1"]
    assert urls(ix.search('"polcie~ chief"')) == []


def test_expansions_are_shown_by_explain(ix):
    assert ix.explain("title:police*") == "(title:polic OR title:policeman)"


# -- fuzzy terms ---------------------------------------------------------------


@pytest.mark.parametrize("query", ["police~-1", "police~1.5", "police~x", "police~-"])
def test_a_malformed_fuzzy_suffix_falls_back_to_the_word(ix, query):
    assert urls(ix.search(query)) == urls(ix.search("police")) == ["p1", "p6"]


def test_fuzzy_terms_count_a_swap_of_two_letters_as_one_typo(ix):
    assert urls(ix.search("polcie~1")) == ["p1", "p6"]
    assert "polic" in ix.explain("polcie~")


def test_fuzzy_terms_keep_short_words_and_field_names(ix):
    assert urls(ix.search("air~")) == ["p7"]
    assert urls(ix.search("title:polcie~")) == ["p1", "p6"]
    assert urls(ix.search("excerpt:chife~")) == ["p1"]


def test_a_fuzzy_distance_over_two_counts_as_two(ix):
    assert ix.explain("councel~7") == ix.explain("councel~2")


def test_word_tilde_allows_two_typos_from_eight_letters(ix):
    # "politikal" (9 letters) is two substitutions away from "political".
    assert urls(ix.search("politikal~")) == ["p4"]
    # "coumcel" (7 letters) is two typos from "council": one allowed, not found.
    assert ix.search("coumcel~", fuzzy=False).total == 0
    assert urls(ix.search("coumcel~2")) == ["p5", "p6"]


# -- typo correction -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "corrected"),
    [("polcie", "police"), ("cuoncil", "council"), ("recieve", "receive"), ("policeman", None)],
)
def test_a_query_that_finds_nothing_is_corrected_with_swaps_as_one_typo(ix, typed, corrected):
    results = ix.search(typed)
    assert results.suggestion == corrected
    assert results.total > 0


def test_candidates_at_the_same_distance_are_ranked_by_frequency(ix):
    # "recieve" is one swap from "receive" (3 times) and one substitution from "relieve" (once).
    assert ix.search("recieve").suggestion == "receive"


def test_each_word_is_corrected_on_its_own(ix):
    both = ix.search("polcie cuoncil")
    assert (both.suggestion, urls(both)) == ("police council", ["p6"])
    # A word that cannot be corrected does not hide the correction of the others.
    partial = ix.search("polcie qxzvwj")
    assert (partial.suggestion, partial.total) == ("police qxzvwj", 0)


# -- the clause budget ---------------------------------------------------------


def test_the_expansion_budget_keeps_the_commonest_words_and_says_so(ix, monkeypatch):
    assert ix.search("poli*").notes == ()
    monkeypatch.setattr(query_language, "MAX_CLAUSES", 2)
    results = ix.search("title:poli*")
    assert results.notes and "(2 index terms" in results.notes[0]
    # Two of the four title words were searched.
    assert ix.explain("title:poli*").count("title:") == 2


def test_the_budget_is_shared_between_expansions(ix, monkeypatch):
    monkeypatch.setattr(query_language, "MAX_CLAUSES", 2)
    # Each expansion gets its first term before any gets a second.
    assert ix.explain("title:poli* title:coun*") == "(title:polic AND title:council)"


def test_the_postings_budget_stops_an_expansion_at_the_term_that_would_overrun_it(ix, monkeypatch):
    monkeypatch.setattr(query_language, "MAX_POSTINGS", 2)  # "polic" is in two titles, the others in one
    results = ix.search("title:poli*")
    assert results.notes and results.parsed == "title:polic" and results.total == 2
    monkeypatch.setattr(query_language, "MAX_POSTINGS", 1)
    nothing = ix.search("title:poli*")
    assert nothing.notes and nothing.total == 0 and nothing.parsed == "<nothing: title:poli*>"


# -- arguments -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit": True}, "^limit must be a whole number from 1 to 1,000, not True$"),
        ({"limit": 1001}, "^limit must be"),
        ({"limit": 2.0}, "^limit must be"),
        ({"page": "2"}, "^page must be a whole number from 1, not '2'$"),
        ({"page": False}, "^page must be"),
        ({"facet_limit": -1}, "^facet_limit must be"),
        ({"facet_limit": 10_000}, "^facet_limit must be"),
        ({"fuzzy": "no"}, "^fuzzy must be True or False"),
        ({"fuzzy": 0}, "^fuzzy must be True or False"),
        ({"sort": None}, "^sort must be one of relevance, newest, oldest, not None$"),
        ({"sort": "Newest"}, "^sort must be one of"),
        ({"date_facet": ["year"]}, "^date_facet must be one of"),
        ({"topics": 5}, "^topics must be a string or a list of strings"),
        ({"topics": [None]}, "^topics must be a string or a list of strings"),
        ({"providers": [b"x"]}, "^providers must be a string or a list of strings"),
        ({"category": 3}, "^category must be a string"),
        ({"since": 2020}, "^since must be a date string"),
        ({"until": [2020]}, "^until must be a date string"),
        ({"now": 1.5}, "^now must be a date string"),
    ],
)
def test_every_argument_is_checked_with_a_one_line_error_naming_it(ix, options, message):
    with pytest.raises(QueryError, match=message) as info:
        ix.search("police", **options)
    assert "\n" not in str(info.value)


def test_the_query_must_be_a_string_of_at_most_2000_characters(ix):
    with pytest.raises(QueryError, match="^query must be a string, not int$"):
        ix.search(5)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="^the query is 2,001 characters long; the limit is 2,000$"):
        ix.search("a" * 2001)
    assert ix.search(("police " * 300)[:2000]).total == 2


def test_a_closed_searcher_says_it_is_closed(tmp_path, seeds, index_dir):
    write_seed(seeds, "a.txt", title="Police", url="https://x/a")
    index_seeds([seeds], index_dir)
    searcher = open_index(index_dir)
    searcher.close()
    for call in (lambda: searcher.search("police"), searcher.stats, searcher.refresh, lambda: searcher.explain("x")):
        with pytest.raises(SearcherClosedError, match=r"is closed: open it again with open_index\(\)$"):
            call()


def test_text_output_prints_notes_marked_titles_and_an_empty_correction(ix, monkeypatch):
    from newssearch.render import results_text

    monkeypatch.setattr(query_language, "MAX_CLAUSES", 1)
    text = "\n".join(results_text(ix.search("poli*")))
    assert "note: wildcard and fuzzy terms stood for more than a query may search" in text
    assert "Police" in text
    empty = "\n".join(results_text(ix.search("polcie qxzvwj")))
    assert 'no results for "polcie qxzvwj"; did you mean "police qxzvwj"?' in empty


# -- fields and words the README promises ------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("url:https://x/p1", ["p1"]),
        ("URL:https://x/p1", ["p1"]),
        ('url:"https://x/p1"', ["p1"]),
        ("(url:https://x/p1 OR url:https://x/p5) police", ["p1"]),
        ("-url:https://x/p1", sorted(set(ALL) - {"p1"})),
        ("url:https://x/p*", ALL),
        ("url:https://nowhere", []),
    ],
)
def test_url_finds_an_article_by_its_address(ix, query, expected):
    assert urls(ix.search(query)) == expected


def test_there_are_no_stop_words(ix):
    assert urls(ix.search("the")) == ["p1", "p3", "p5", "p7"]
    assert urls(ix.search('"the chief"')) == ["p1"]


def test_word_tilde_is_one_typo_below_eight_letters_and_two_from_eight(ix):
    assert ix.search("coumcel~", fuzzy=False).total == ix.search("coumcel~1", fuzzy=False).total == 0
    assert ix.search("coumcel~2").total == 2
    assert ix.explain("politikal~") == ix.explain("politikal~2")


def test_a_query_of_fields_without_a_score_is_sorted_newest_first(ix):
    results = ix.search("category:news")
    assert results.sort == "newest" and results.total == len(ALL)
    assert results.hits[0].url == "https://x/p7"


def test_a_phrase_with_slop(ix):
    assert urls(ix.search('"chief police"~3')) == ["p1"]  # "chief of police"
    assert urls(ix.search('"chief police"')) == []


def test_refresh_says_whether_it_switched_to_a_new_generation(seeds, index_dir):
    write_seed(seeds, "a.txt", title="First", url="https://x/a")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as searcher:
        assert searcher.refresh() is False
        write_seed(seeds, "b.txt", title="Second", url="https://x/b")
        index_seeds([seeds], index_dir)
        assert searcher.refresh() is True
        assert searcher.search("second").total == 1


def test_fuzzy_terms_past_the_limit_are_searched_as_plain_words(ix, monkeypatch):
    monkeypatch.setattr(query_language, "MAX_FUZZY_TERMS", 1)
    results = ix.search("polcie~ OR cuoncil~")
    assert results.notes
    assert urls(results) == ["p1", "p6"]  # "cuoncil" as typed finds nothing
    assert ix.search("polcie~ OR polcie~").notes == ()  # the same word twice is one


def test_an_index_whose_vocabulary_lacks_short_words_still_expands_to_them(seeds, index_dir):
    # Vocabularies written before short words were kept say min_chars 4: the
    # field's own terms stand in for the missing words until a rebuild.
    from newssearch.vocab import Vocabulary

    write_seed(seeds, "a.txt", title="AI rules for air travel", url="https://x/a")
    write_seed(seeds, "b.txt", title="Aims of the airline", url="https://x/b")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as searcher:
        full = searcher._speller.vocabulary
        assert {"ai", "air"} <= set(full.counts) and full.min_chars == 1
        searcher._speller._vocabulary = Vocabulary({w: n for w, n in full.counts.items() if len(w) >= 4}, min_chars=4)
        assert searcher.search("ai*").total == 2
        assert set(searcher.explain("title:ai*").strip("()").split(" OR ")) == {
            "title:ai", "title:air", "title:aim", "title:airlin"}


@pytest.mark.parametrize(
    ("query", "same_as"),
    [("police AND", "police"), ("police OR", "police"), ("AND police", "police"), ("OR police", "police"),
     ("police NOT", "police"), ("NOT NOT police", "not police"), ("AND", "and"), ("*:*", "*")],
)
def test_dangling_operators_and_what_whoosh_cannot_parse(ix, query, same_as):
    assert urls(ix.search(query)) == urls(ix.search(same_as))


def test_nothing_the_parser_does_is_reported_as_a_damaged_index(ix):
    for query in ("NOT NOT police", "((((", '"', "title:(", "a:b:c:d", "[a TO", "^^^", "~~~", "\\\\"):
        assert ix.search(query).total >= 0


def test_stats_checks_its_limit_too(ix):
    for bad in (True, -1, "3"):
        with pytest.raises(QueryError, match="^limit must be a whole number from 0"):
            ix.stats(bad)  # type: ignore[arg-type]
    assert ix.stats(0).topics == ()


@pytest.mark.parametrize("query", ["facial", "facial recognition", "Zürich heatwave", "the new rules 2020"])
def test_plain_words_skip_the_parser_but_read_the_same(ix, query):
    from newssearch.query import _plain_words_query

    assert str(_plain_words_query(query)) == str(ix._query_reader.parser.parse(query))
