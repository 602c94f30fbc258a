"""The spelling vocabulary: which words it keeps, and its typo and wildcard lookups against brute force."""

from __future__ import annotations

import fnmatch
import random

import pytest

from newssearch.vocab import Vocabulary, fold_counts


def test_the_vocabulary_keeps_no_cjk_grams():
    assert fold_counts({"東京": 3, "Zürich": 2, "東": 1}) == {"zurich": 2}


# -- the vocabulary's lookups against brute force ------------------------------------


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance, written out: the reference for Vocabulary.within."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@pytest.fixture(scope="module")
def vocabulary():
    rng = random.Random(7)
    base = ["police", "receive", "relieve", "change", "council", "political", "policy", "government", "ai", "air"]
    words = set(base)
    for word in base:  # neighbours one and two edits away, swaps among them
        for _ in range(40):
            w = list(word)
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(w))
                op = rng.randrange(4)
                if op == 0 and len(w) > 1:
                    del w[i]
                elif op == 1:
                    w.insert(i, rng.choice("abcdeilnoprstuv"))
                elif op == 2:
                    w[i] = rng.choice("abcdeilnoprstuv")
                elif i + 1 < len(w):
                    w[i], w[i + 1] = w[i + 1], w[i]
            words.add("".join(w))
    return Vocabulary({w: rng.randint(1, 50) for w in words})


@pytest.mark.parametrize("word", ["polcie", "recieve", "chnage", "cuoncil", "politcial", "goverment", "ia", "police"])
@pytest.mark.parametrize("maxdist", [1, 2])
def test_within_finds_exactly_the_words_within_reach(vocabulary, word, maxdist):
    expected = [w for w in vocabulary.counts if _osa(word, w) <= maxdist]
    expected.sort(key=lambda w: (_osa(word, w), -vocabulary.counts[w], w))
    assert vocabulary.within(word, maxdist) == expected


@pytest.mark.parametrize("pattern", ["pol*", "*ice", "p?lice", "*", "c*n*l", "a?", "?", "gov*ment", "x*"])
def test_matching_finds_exactly_the_words_of_a_wildcard(vocabulary, pattern):
    expected = [w for w in vocabulary.counts if fnmatch.fnmatchcase(w, pattern)]
    expected.sort(key=lambda w: (-vocabulary.counts[w], w))
    assert vocabulary.matching(pattern) == expected
