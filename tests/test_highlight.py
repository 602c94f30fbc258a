from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch.highlight import fragment, marked, matches, plain
from newssearch.schema import TOKEN_PATTERN, term_of, text_analyzer


@pytest.mark.parametrize("word", ["Recognition", "recognize", "Zürich", "Sony", "U.S", "don't", "Café", "RUNNING", "2020"])
def test_terms_are_made_exactly_as_the_index_analyzer_makes_them(word):
    assert [term_of(word)] == [t.text for t in text_analyzer()(word)]


def test_matched_words_are_marked_and_the_rest_escaped():
    text, count = fragment('Police <b>say</b> "facial recognition" & more', frozenset({"facial", "recognit"}))
    assert count == 2
    assert text == 'Police &lt;b&gt;say&lt;/b&gt; &quot;<mark>facial</mark> <mark>recognition</mark>&quot; &amp; more'


def test_the_window_with_most_matches_is_chosen_and_cut_at_words():
    text = ("filler " * 60) + "one match here. " + ("padding " * 60) + "cameras and more cameras and cameras " + ("tail " * 60)
    html, count = fragment(text + " cameras?", frozenset({"camera"}), size=120)
    assert count == 3
    assert html.startswith("…") and html.endswith("…")
    assert html.count("<mark>cameras</mark>") == 3
    assert "filler" not in html


def test_no_match_gives_nothing_and_plain_cuts_at_a_word():
    assert fragment("nothing here", frozenset({"camera"})) == ("", 0)
    assert plain("short & sweet") == "short &amp; sweet"
    assert plain("word " * 100, size=22) == "word word word word…"


def test_a_text_that_fits_is_shown_whole():
    text = "Microsoft wants a national law to govern the use of facial recognition tech before it sells it."
    html, count = fragment(text, frozenset({"facial"}))
    assert count == 1
    assert html == text.replace("facial", "<mark>facial</mark>")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcdeiosuyADIEYS'’.é "), max_size=14))
def test_stemming_keeps_an_ascii_first_letter(text):
    # The highlighter skips words whose first letter no query term starts with.
    for word in TOKEN_PATTERN.findall(text):
        if word[:1].isascii():
            assert term_of(word)[:1] == word[:1].lower()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["Dying", "lying", "tie", "ties", "Émile", "emile", "U.S", "us", "added",
                                 "recognition", "Recognize", "café", "x", "yes", "eyes"]), max_size=20),
       st.sets(st.sampled_from(["Dying", "tie", "emile", "us", "recognize", "cafe", "yes"]), min_size=1))
def test_matches_are_every_word_whose_term_is_asked_for(words, asked):
    text = " ".join(words)
    terms = frozenset(term_of(w) for w in asked)
    expected = [m.span() for m in TOKEN_PATTERN.finditer(text) if term_of(m.group()) in terms]
    assert matches(text, terms) == expected


def test_every_match_inside_the_window_is_marked_also_near_its_edges():
    # The densest run is the three and two cameras; the window's lead-in reaches the first one.
    text = "lead " * 20 + "camera " + "x" * 40 + " camera camera camera " + "y" * 50 + " camera camera " + "tail " * 40
    html, count = fragment(text, frozenset({"camera"}), size=160)
    assert "camera" not in html.replace("<mark>camera</mark>", "")  # no match left unmarked in what is shown
    assert count == html.count("<mark>camera</mark>") == 6


def test_only_the_phrase_is_marked_for_a_phrase():
    text = "Facial data. Recognition is hard. Facial recognition is banned; recognition of faces."
    phrase = ((term_of("facial"), term_of("recognition")), 1)
    html, count = fragment(text, frozenset(), phrases=(phrase,))
    assert count == 2
    assert html == ("Facial data. Recognition is hard. <mark>Facial</mark> <mark>recognition</mark> is banned; "
                    "recognition of faces.")


def test_a_phrase_with_slop_marks_its_words_within_reach():
    text = "police said the chief left; the chief stayed"
    phrase = ((term_of("police"), term_of("chief")), 3)
    html, _ = fragment(text, frozenset(), phrases=(phrase,))
    assert html == "<mark>police</mark> said the <mark>chief</mark> left; the chief stayed"


def test_marked_shows_the_whole_text():
    assert marked("Police & council", frozenset({"polic"})) == "<mark>Police</mark> &amp; council"
    assert marked("Nothing here", frozenset({"polic"})) == "Nothing here"
