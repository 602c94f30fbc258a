"""The spelling vocabulary: every indexed word, unstemmed, with how often it occurs.

Typo tolerance needs the words as written ("recognition"), which the stemmed
index fields no longer hold ("recogn"). Indexing every word a second time as
a Whoosh field costs about a fifth of the build (a posting per word per
document), so the vocabulary is a side file instead, ``vocab.json`` in each
generation, counted by the indexing processes from the tokens they already
have. Counts are occurrences, not documents: they only order suggestions
(the most common word first), and occurrences come for free from the
builder's token numbers (a ``bincount`` per batch, see ``segments._tokenize``)
where counting distinct words per article cost a twentieth of the build.

It only grows between rebuilds: a word whose last article was deleted keeps
its entry. That is harmless because a correction is only offered after the
corrected query has been run and found articles; ``newssearch index
--rebuild`` recounts from scratch.
"""

from __future__ import annotations

import bisect
import json
import os
from pathlib import Path

from .schema import fold_word, is_cjk, tokens

VOCAB_FILE = "vocab.json"
# Shorter words get no typo budget (see Vocabulary.budget), longer ones are
# rarely words at all (urls, hashes).
MIN_CHARS, MAX_CHARS = 4, 40


def fold(text: str) -> list[str]:
    """The words of ``text`` as the vocabulary stores them: lowercase, accents folded.

    The unstemmed half of the schema's analyzer, as string operations (see ``FastText``).
    """
    return [fold_word(token) for token in tokens(text)]


def vocabulary_word(token: str) -> str | None:
    """The vocabulary word of one token (folded), or None when it is too short or too long to keep.

    CJK grams are not kept: one or two characters have no typos to correct.
    """
    if is_cjk(token):
        return None
    word = fold_word(token)
    return word if MIN_CHARS <= len(word) <= MAX_CHARS else None


def fold_counts(tokens: dict[str, int]) -> dict[str, int]:
    """Vocabulary words and their counts, from raw tokens and theirs (``Lyon`` and ``lyon`` are one word)."""
    counts: dict[str, int] = {}
    for token, n in tokens.items():
        word = vocabulary_word(token)
        if word is not None:
            counts[word] = counts.get(word, 0) + n
    return counts


class Vocabulary:
    """Sorted words and how often each occurs, with typo-tolerant lookup."""

    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self.counts: dict[str, int] = dict(counts or {})
        self._sorted: list[str] | None = None

    @classmethod
    def load(cls, gen: Path | None) -> Vocabulary:
        if gen is None:
            return cls()
        try:
            raw = json.loads((gen / VOCAB_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        return cls(dict(zip(raw["words"], raw["counts"])))

    def update(self, counts: dict[str, int]) -> None:
        """Add occurrence counts, as counted by the indexing processes."""
        mine = self.counts
        for word, n in counts.items():
            mine[word] = mine.get(word, 0) + n
        self._sorted = None

    def save(self, gen: Path) -> None:
        words = sorted(self.counts)
        data = {"words": words, "counts": [self.counts[w] for w in words]}
        tmp = gen / (VOCAB_FILE + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, gen / VOCAB_FILE)

    @staticmethod
    def budget(word: str) -> int:
        """Typos allowed in a word, as Meilisearch does: none below 4 letters, 2 from 8."""
        return 0 if len(word) < 4 else 1 if len(word) < 8 else 2

    def within(self, word: str, maxdist: int) -> list[str]:
        """Words within ``maxdist`` edits (Damerau-Levenshtein) of the folded ``word``:
        the closest first, then the most common, then alphabetical."""
        from whoosh.automata.fsa import find_all_matches
        from whoosh.automata.lev import levenshtein_automaton
        from whoosh.support.levenshtein import damerau_levenshtein

        if self._sorted is None:
            self._sorted = sorted(self.counts)
        words = self._sorted

        def first_at_or_after(text: str) -> str | None:
            i = bisect.bisect_left(words, text)
            return words[i] if i < len(words) else None

        # The automaton walks the sorted list, skipping every stretch that cannot match.
        dfa = levenshtein_automaton(word, maxdist, 0).to_dfa()
        found = list(find_all_matches(dfa, first_at_or_after))
        found.sort(key=lambda w: (damerau_levenshtein(word, w, maxdist + 1), -self.counts[w], w))
        return found
