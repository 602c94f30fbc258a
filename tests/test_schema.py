"""The fast indexing path must index exactly what Whoosh's analyzer chain would, and the stemmer what Snowball's does."""

from __future__ import annotations

from contextlib import nullcontext

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields

from newssearch.query import QueryReader
from newssearch.schema import FastText, build_schema, fold_word, stem, terms, text_analyzer, tokens

words = st.sampled_from(["Recognition", "recognize", "Zürich", "Sony’s", "don't", "U.S.", "café", "naïve",
                         "ﬁnance", "İstanbul", "ǅemal", "2020", "x_y", "the", "THE", "–", "🙂", "a.b.c", "’s",
                         "AT&T", "Ｕ．Ｓ．", "O’Neill", "Trumpʼs", "straße", "Ærø", "Zu\u0308rich", "Wash\u00adington",
                         "東京都", "東", "ｶﾞｿﾘﾝ", "한국어", "हिन्दी", "3.5", "&", "."])
texts = st.lists(words | st.text(max_size=12), max_size=40).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_fast_text_indexes_what_the_analyzer_would(text):
    slow = fields.TEXT(analyzer=text_analyzer())
    fast = FastText(analyzer=text_analyzer())
    assert sorted(fast.index(text)) == sorted(slow.index(text))


# Pairs of unrelated words that Whoosh's Porter2 port gave one stem, and that Snowball's current English stemmer keeps apart.
OVERSTEMMED = [("university", "universe"), ("organization", "organ"), ("added", "ad"), ("evening", "even"),
               ("international", "intern"), ("universal", "university"), ("lateral", "later"), ("paste", "past"),
               ("organic", "organization"), ("emergency", "emerge")]
# Pairs of forms of one word that must keep sharing a stem (and two Porter2 kept apart).
RELATED = [("universities", "university"), ("organizations", "organization"), ("organized", "organization"),
           ("added", "add"), ("adding", "add"), ("evenings", "evening"), ("emergencies", "emergency"),
           ("internationally", "international"), ("elections", "election"), ("running", "run"),
           ("biologist", "biology"), ("interfering", "interfere")]


def test_the_stemmer_keeps_apart_the_words_porter2_folded_together():
    from whoosh.lang.porter2 import stem as porter2

    for word, other in OVERSTEMMED:
        assert porter2(word) == porter2(other), (word, other)  # what the old stemmer did
        assert stem(word) != stem(other), (word, other)
        assert terms(word.capitalize()) != terms(other.upper())
    for word, other in RELATED:
        assert stem(word) == stem(other), (word, other)


def test_the_stemmer_is_porter2_without_the_ition_rule():
    # The rule joined unrelated words and split related ones (benchmarks/stemming_rules.py).
    assert stem("coalition") != stem("coal")
    assert stem("partition") != stem("part")
    for noun, relative in [("tradition", "traditional"), ("exhibition", "exhibit"), ("prohibition", "prohibit"),
                           ("transition", "transit"), ("competition", "competitive")]:
        assert stem(noun) == stem(relative), noun


def test_the_stemmer_gives_snowballs_english_stems_for_twenty_thousand_words():
    # The reference: Snowball's own pure-Python English stemmer (the class itself:
    # snowballstemmer.stemmer() would hand back PyStemmer when it is installed).
    from snowballstemmer.english_stemmer import EnglishStemmer
    from wordfreq import top_n_list

    reference = EnglishStemmer()
    words = [fold_word(w) for w in top_n_list("en", 20_000)] + [w for pair in OVERSTEMMED + RELATED for w in pair]
    assert len(words) > 20_000
    assert [stem(w) for w in words] == [reference.stemWord(w) for w in words]


@settings(max_examples=300, deadline=None)
@given(texts)
def test_the_stemmer_gives_snowballs_english_stems_for_any_folded_token(text):
    from snowballstemmer.english_stemmer import EnglishStemmer

    reference = EnglishStemmer()
    for token in tokens(text):
        word = fold_word(token)
        assert stem(word) == reference.stemWord(word), word


def _query_terms(reader, query: str) -> set[str]:
    q, _text, _capped = reader.read(query, nullcontext)
    if q is None:
        return set()
    return {text.decode() if isinstance(text, bytes) else text for _field, text in q.iter_all_terms()}


@settings(max_examples=400, deadline=None)
@given(texts)
def test_a_query_finds_the_terms_the_indexer_made_of_the_same_word(text):
    # The index side is FastText (``terms``); the query side is the plain-word fast path
    # and Whoosh's parser running the field's analyzer (a quoted, fielded query).
    reader = QueryReader(build_schema(), speller=None)
    for token in tokens(text):
        if token.upper() in {"AND", "OR", "NOT", "TO"} or '"' in token:
            continue
        indexed = set(terms(token))
        assert _query_terms(reader, token) == indexed, token
        assert _query_terms(reader, f'title:"{token}"') == indexed, token


@settings(max_examples=200, deadline=None)
@given(texts)
def test_vocabulary_words_are_the_unstemmed_analyzer_output(text):
    from newssearch.vocab import fold

    assert fold(text) == [t.text for t in text_analyzer(stemming=False)(text)]
