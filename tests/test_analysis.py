"""Text analysis: which spellings meet, how CJK text is cut, and that every fast path equals the analyzer."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import index_seeds, open_index, schema
from newssearch.highlight import fragment, matches
from newssearch.schema import fold_word, terms, text_analyzer, tokens
from newssearch.vocab import fold

from .conftest import write_seed


def analyzed(text: str, **kwargs) -> list[str]:
    """The terms Whoosh's analyzer chain makes of ``text``: the reference."""
    return [t.text for t in text_analyzer(**kwargs)(text)]


# -- spellings of one word meet --------------------------------------------------

SAME_WORD = [
    # dotted acronyms, also inside a hyphenated compound and in full-width letters
    ("US", "U.S.", "u.s", "Ｕ．Ｓ．"),
    ("UK", "U.K."),
    ("UN", "U.N."),
    ("USA", "U.S.A."),
    # ampersand names
    ("ATT", "AT&T", "at&t", "ＡＴ＆Ｔ", "AT﹠T"),
    ("SP", "S&P"),
    ("PG", "P&G"),
    ("QA", "Q&A"),
    ("HM", "H&M"),
    # every apostrophe form
    ("O'Neill", "O’Neill", "O‘Neill", "Oʼneill", "O′Neill", "O`Neill", "O＇Neill"),
    ("don't", "don’t", "DONʼT"),
    # ligatures and compatibility forms (NFKC)
    ("finance", "ﬁnance"),
    ("AI", "ＡＩ"),
    ("office", "oﬃce"),
    # letters the accent folding used to miss
    ("strasse", "straße", "STRASSE", "STRAẞE"),
    ("aero", "Ærø"),
    ("oeuvre", "œuvre", "Œuvre"),
    ("Oresund", "Øresund"),
    ("Lodz", "Łódź"),
    ("Dakovo", "Đakovo"),
    ("Thor", "Þór"),
    ("Istanbul", "İstanbul", "ıstanbul"),
    # accents, precomposed or as combining marks (NFD, as some feeds send them)
    ("Zurich", "Zürich", "Zu\u0308rich", "ZU\u0308RICH"),
    ("cafe", "café", "cafe\u0301"),
    ("Athina", "Athína"),
    ("αθηνα", "Αθήνα", "ΑΘΉΝΑ"),
    # optional vowel signs of Arabic and Hebrew, and Russian ё
    ("كتب", "كَتَبَ"),
    ("שלום", "שָׁלוֹם"),
    ("ещё", "еще", "ЕЩЁ"),
    # invisible characters inside a word
    ("Washington", "Wash\u00adington", "Wash\u200dington"),
]


@pytest.mark.parametrize("spellings", SAME_WORD, ids=lambda s: s[0])
def test_spellings_of_one_word_make_one_term(spellings):
    found = {tuple(terms(s)) for s in spellings}
    assert len(found) == 1, found
    assert len(next(iter(found))) == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("Trump’s plan", ["trump", "s", "plan"]),
    ("Trump's plan", ["trump", "s", "plan"]),
    ("Trumpʼs plan", ["trump", "s", "plan"]),
    ("Trump‘s plan", ["trump", "s", "plan"]),
    ("the Joneses’ house", ["the", "jones", "hous"]),
    ("U.S.-China talks", ["us", "china", "talk"]),
    ("U.S.–China talks", ["us", "china", "talk"]),  # en dash
    ("follow\u2011up", ["follow", "up"]),  # non-breaking hyphen: as "follow-up"
    ("New\u00a0York", ["new", "york"]),  # no-break space: as a space
    ("New\u202fYork", ["new", "york"]),
    ("AT & T", ["at", "t"]),  # spaced: three words, not a name
    ("rose 3.5 percent", ["rose", "3.5", "percent"]),  # a decimal point stays
    ("e.g. the U.S.A.", ["eg", "the", "usa"]),
    ("Ph.D", ["ph.d"]),  # not every dotted word is an acronym
])
def test_tokens_and_their_terms(text, expected):
    assert terms(text) == expected
    assert analyzed(text) == expected


def test_a_decimal_number_is_not_an_other_number():
    assert terms("3.5") != terms("35")


def test_devanagari_vowel_signs_stay_inside_their_word():
    assert terms("हिन्दी समाचार") == ["हिन्दी", "समाचार"]


# -- CJK -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("東", ["東"]),
    ("東京", ["東", "東京", "京"]),
    ("東京都", ["東", "東京", "京", "京都", "都"]),
    ("AI東京", ["ai", "東", "東京", "京"]),
    ("東京AI", ["東", "東京", "京", "ai"]),
    ("東京・大阪", ["東", "東京", "京", "大", "大阪", "阪"]),  # the middle dot separates runs
    ("東京タワー", ["東", "東京", "京", "京タ", "タ", "タワ", "ワ", "ワー", "ー"]),  # Han and Kana: one run
    ("ｶﾞｿﾘﾝ", ["ガ", "ガソ", "ソ", "ソリ", "リ", "リン", "ン"]),  # half-width, voiced mark included
    ("か\u3099", ["が"]),  # a combining voiced mark belongs to its character
    ("한국 뉴스", ["한", "한국", "국", "뉴", "뉴스", "스"]),
    ("\uf9dc", ["隆"]),  # a compatibility ideograph is its unified form
])
def test_cjk_runs_are_characters_and_overlapping_bigrams(text, expected):
    assert terms(text) == expected
    assert analyzed(text) == expected


def test_cjk_grams_take_consecutive_positions_after_the_words_before():
    found = [(t.text, t.pos) for t in text_analyzer()("in 東京都 today", positions=True)]
    assert found == [("in", 0), ("東", 1), ("東京", 2), ("京", 3), ("京都", 4), ("都", 5), ("today", 6)]


@pytest.fixture
def cjk_index(seeds, index_dir):
    write_seed(seeds, "a.txt", title="東京都の知事選挙", url="https://x/tokyo")
    write_seed(seeds, "b.txt", title="東の京と西の都", url="https://x/apart")  # 東 and 京, not side by side
    write_seed(seeds, "c.txt", title="京都の秋", url="https://x/kyoto")
    write_seed(seeds, "d.txt", title="AT&T and the U.S. talk to O’Neill about Straße names",
               excerpt="Trump’s coalition", url="https://x/latin")
    write_seed(seeds, "e.txt", title="Coal mines close; traditional partition of land", url="https://x/coal")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        yield ix


def urls(results) -> set[str]:
    return {h.url for h in results.hits}


def test_one_cjk_character_finds_the_words_holding_it(cjk_index):
    assert urls(cjk_index.search("東")) == {"https://x/tokyo", "https://x/apart"}
    assert urls(cjk_index.search("京")) == {"https://x/tokyo", "https://x/apart", "https://x/kyoto"}


def test_cjk_words_match_only_adjacent_characters(cjk_index):
    assert urls(cjk_index.search("東京")) == {"https://x/tokyo"}
    assert urls(cjk_index.search("京都")) == {"https://x/tokyo", "https://x/kyoto"}
    assert urls(cjk_index.search("東京都")) == {"https://x/tokyo"}
    assert urls(cjk_index.search("都知")) == set()  # "都の知": not adjacent


def test_cjk_phrases_and_mixed_queries(cjk_index):
    assert urls(cjk_index.search('"知事選挙"')) == {"https://x/tokyo"}
    assert urls(cjk_index.search('"東京都の知事"')) == {"https://x/tokyo"}
    assert urls(cjk_index.search('"東京の知事"')) == set()
    assert urls(cjk_index.search("東京 知事")) == {"https://x/tokyo"}
    assert urls(cjk_index.search("title:東京")) == {"https://x/tokyo"}


def test_queries_find_other_spellings_of_their_words(cjk_index):
    for query in ["ATT", "at&t", "US", "U.S.", "O'Neill", "o’neill", "strasse", "STRASSE", "trump's", "Trump’s"]:
        assert urls(cjk_index.search(query)) == {"https://x/latin"}, query


def test_the_stemmer_no_longer_joins_coal_and_coalition(cjk_index):
    assert urls(cjk_index.search("coalition")) == {"https://x/latin"}
    assert urls(cjk_index.search("coal")) == {"https://x/coal"}
    assert urls(cjk_index.search("tradition")) == {"https://x/coal"}
    assert urls(cjk_index.search("part")) == set()


def test_cjk_matches_are_marked_as_whole_spans():
    # The terms of 東京 are 東, 東京 and 京: each is marked where it occurs, overlapping ones as one.
    text = "東京都の知事 visited 京都"
    assert fragment(text, frozenset(terms("東京")))[0] == "<mark>東京</mark>都の知事 visited <mark>京</mark>都"
    assert fragment(text, frozenset(terms("京")))[0] == "東<mark>京</mark>都の知事 visited <mark>京</mark>都"
    assert fragment("AT&T’s U.S. office", frozenset(terms("att us")))[0] == (
        "<mark>AT&amp;T</mark>’s <mark>U.S</mark>. office")


# -- every fast path equals the analyzer, on adversarial text --------------------

PIECES = ["U.S.", "u.s.a", "AT&T", "S&P", "Q&A", "&", ".", "..", "O’Neill", "don't", "’s", "'s", "s’", "ʼ", "′",
          "`", "＇", "＆", "．", "Trump’s", "rock’n’roll", "straße", "ẞ", "Ærø", "œ", "ł", "đ", "þ", "ı", "İ", "ǅ",
          "ﬁ", "ＡＩ", "Ｕ．Ｓ．", "½", "²", "Zu\u0308rich", "\u0301", "e\u0301", "\u00ad", "\u200d", "\u00a0", "‑", "–",
          "東京都", "東", "の", "ｶﾞ", "か\u3099", "\u3099", "・", "한국어", "\uf9dc", "𠀋", "हिन्दी", "3.5", "_", "x_y",
          "ΑΘΉΝΑ", "ς", "й", "ё", "كَتَبَ", "\u064e", "שָׁלוֹם", "🙂", "nsbatchsep7q"]
adversarial = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=30).map(
    lambda parts: "".join(p if i % 3 else p + " " for i, p in enumerate(parts)))


@settings(max_examples=500, deadline=None)
@given(adversarial)
def test_terms_are_what_the_analyzer_makes(text):
    assert terms(text) == analyzed(text)
    assert fold(text) == analyzed(text, stemming=False)


@settings(max_examples=300, deadline=None)
@given(adversarial)
def test_every_token_has_a_nonempty_folded_term_that_folding_keeps(text):
    for token in tokens(text):
        folded = fold_word(token)
        assert folded
        assert fold_word(folded) == folded


@settings(max_examples=400, deadline=None)
@given(adversarial, st.lists(st.sampled_from(PIECES), min_size=1, max_size=4))
def test_highlighted_spans_are_the_analyzers_matched_tokens(text, asked):
    wanted = frozenset(t for piece in asked for t in terms(piece))
    spans: list[tuple[int, int]] = []
    for t in text_analyzer()(text, chars=True):
        if t.text in wanted:
            if spans and spans[-1][1] > t.startchar:  # overlapping CJK grams: one span
                spans[-1] = (spans[-1][0], max(spans[-1][1], t.endchar))
            else:
                spans.append((t.startchar, t.endchar))
    assert matches(text, wanted) == spans


@settings(max_examples=500, deadline=None)
@given(adversarial)
def test_the_fast_token_pattern_cut_where_needed_gives_the_exact_tokens(text):
    exact = []
    for match in schema._exact_pattern().findall(text):
        exact += [g for g, _s, _e in schema.cjk_grams(match)] if schema.is_cjk(match) else [match]
    assert tokens(text) == exact


def test_every_cjk_character_is_a_word_character():
    # The exact pattern's first test, and the first cut by TOKEN_PATTERN (\w), rely on it.
    cjk = re.compile(f"[{schema._CJK}]")
    assert all(re.match(r"\w", chr(c)) for c in range(0x110000) if cjk.match(chr(c)))


def test_combining_marks_are_those_of_this_pythons_unicode():
    # Generated once into schema.py; regenerated here to catch a Unicode update.
    voiced = set(schema._VOICED)
    expected = {chr(c) for c in range(0x110000)
                if unicodedata.category(chr(c))[0] == "M" and not chr(c).isalnum() and chr(c) not in voiced}
    marks = re.compile(f"[{schema._COMBINING_MARKS}]")
    listed = {chr(c) for c in range(0x110000) if marks.match(chr(c))}
    assert listed <= expected
    if unicodedata.unidata_version == "14.0.0":  # Python 3.11's; a later Unicode only adds marks
        assert listed == expected


def test_marks_joiners_and_apostrophes_alone_are_no_tokens():
    assert tokens("\u0301 \u00ad ’s & . \u3099 ʼ ﾞ") == ["s"]


# -- the stemming measurement ----------------------------------------------------


def test_the_stemming_measurement_lists_what_a_rule_joins_and_splits():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from stemming_rules import UNRELATED, ition_rule, measure, porter2

    words = ["coal", "coalition", "tradition", "traditional", "recognize", "recognition", "table"]
    result = measure(words, porter2, ition_rule)
    assert sorted(result["changed"]) == ["coalition", "recognition", "tradition"]
    assert result["joined"] == [("coal", "coalition"), ("recognition", "recognize")]
    assert result["split"] == [("tradition", "traditional")]
    assert "coal" in UNRELATED and "recognize" not in UNRELATED
    assert measure(words, porter2, porter2) == {"changed": [], "joined": [], "split": []}
