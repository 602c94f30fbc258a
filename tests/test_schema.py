"""The fast indexing path must index exactly what Whoosh's analyzer chain would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields

from newssearch.schema import FastText, stem, text_analyzer

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


def test_the_stemmer_is_porter2_without_the_ition_rule():
    # The rule joined unrelated words and split related ones (benchmarks/stemming_rules.py).
    assert stem("coalition") != stem("coal")
    assert stem("partition") != stem("part")
    for noun, relative in [("tradition", "traditional"), ("exhibition", "exhibit"), ("prohibition", "prohibit"),
                           ("transition", "transit"), ("competition", "competitive")]:
        assert stem(noun) == stem(relative), noun


@settings(max_examples=200, deadline=None)
@given(texts)
def test_vocabulary_words_are_the_unstemmed_analyzer_output(text):
    from newssearch.vocab import fold

    assert fold(text) == [t.text for t in text_analyzer(stemming=False)(text)]
