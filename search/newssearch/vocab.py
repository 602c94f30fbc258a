"""The spelling vocabulary: every indexed word, unstemmed, with how often it occurs.

Typo tolerance needs the words as written ("recognition"), which the stemmed
index fields no longer hold ("recogn"). Indexing every word a second time as
a Whoosh field costs about a fifth of the build (a posting per word per
document), so the vocabulary is a side file instead, ``vocab.json`` in each
generation, counted by the indexing processes from the tokens they already
have. Counts are occurrences, not documents: they only order suggestions
(the most common word first), and occurrences come for free from the
builder's token numbers (a ``bincount`` per batch, see ``codec.segments._tokenize``)
where counting distinct words per article cost a twentieth of the build.

It serves two lookups: words within a few typos of a misspelled one
(:meth:`Vocabulary.within`, for corrections and ``word~``), and words matching
a wildcard as typed (:meth:`Vocabulary.matching`, for ``police*``: matched
against the stems, a prefix would also find "policy").

The counts are those of the live articles, as a fresh build counts them: an
indexing run takes the words of every document it removes away again (see
``indexing._forget_words``), and a word no article holds any more leaves.
"""

from __future__ import annotations

import bisect
import json
import re
from pathlib import Path

from . import store
from .schema import fold_word, is_cjk, tokens
from .store import VOCABULARY as VOCAB_FILE

# Words of every length are kept, so wildcards can match short words ("ai*"
# finds "ai"); longer ones are rarely words at all (urls, hashes). Vocabularies
# written before short words were kept say MIN_CHARS 4 (see Vocabulary.min_chars).
MIN_CHARS, MAX_CHARS = 1, 40
_OLD_MIN_CHARS = 4


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

    def __init__(self, counts: dict[str, int] | None = None, min_chars: int = MIN_CHARS) -> None:
        self.counts: dict[str, int] = dict(counts or {})
        # The shortest words this vocabulary holds for every article: an index
        # updated since before short words were kept lacks them until a rebuild.
        self.min_chars = min_chars
        self._sorted: list[str] | None = None

    @classmethod
    def load(cls, gen: Path | None) -> Vocabulary:
        if gen is None:
            return cls()
        try:
            raw = json.loads((gen / VOCAB_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        return cls(dict(zip(raw["words"], raw["counts"])), int(raw.get("min_chars", _OLD_MIN_CHARS)))

    def update(self, counts: dict[str, int], sign: int = 1) -> None:
        """Add occurrence counts, as counted by the indexing processes (``sign=-1``: take those
        of documents that left the index away; a word no document holds any more goes)."""
        mine = self.counts
        for word, n in counts.items():
            total = mine.get(word, 0) + sign * n
            if total > 0:
                mine[word] = total
            else:
                mine.pop(word, None)
        self._sorted = None

    def save(self, gen: Path) -> None:
        words = sorted(self.counts)
        data = {"words": words, "counts": [self.counts[w] for w in words], "min_chars": self.min_chars}
        store.write_json(gen / VOCAB_FILE, data, ascii=False)

    @staticmethod
    def budget(word: str) -> int:
        """Typos allowed in a word, as Meilisearch does: none below 4 letters, 2 from 8."""
        return 0 if len(word) < 4 else 1 if len(word) < 8 else 2

    def _words(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.counts)
        return self._sorted

    def within(self, word: str, maxdist: int) -> list[str]:
        """Words within ``maxdist`` edits of the folded ``word``, the closest first, then the
        most common, then alphabetical.

        The distance is the optimal string alignment form of Damerau-Levenshtein:
        an insertion, a deletion, a substitution or a swap of two neighbouring
        letters each count as one edit, so "polcie" is one edit from "police".
        """
        from whoosh.support.levenshtein import damerau_levenshtein

        if maxdist <= 0:
            return [word] if word in self.counts else []
        found = set(self._levenshtein(word, maxdist))
        # Whoosh's automaton is plain Levenshtein, where a swap costs two edits:
        # add the swapped spellings, and for two edits everything one edit from them
        # (string operations and lookups: cheaper than an automaton per spelling).
        counts = self.counts
        alphabet = _ALPHABET | set(word)
        for swapped in _swaps(word):
            if swapped in counts:
                found.add(swapped)
            if maxdist > 1:
                found.update(w for w in _edits(swapped, alphabet) if w in counts)
        scored = [(damerau_levenshtein(word, w), w) for w in found]
        ranked = sorted((d, -self.counts[w], w) for d, w in scored if d <= maxdist)
        return [w for _, _, w in ranked]

    def _levenshtein(self, word: str, maxdist: int) -> list[str]:
        from whoosh.automata.fsa import find_all_matches
        from whoosh.automata.lev import levenshtein_automaton

        if maxdist <= 0:
            return [word] if word in self.counts else []
        words = self._words()

        def first_at_or_after(text: str) -> str | None:
            i = bisect.bisect_left(words, text)
            return words[i] if i < len(words) else None

        # The automaton walks the sorted list, skipping every stretch that cannot match.
        dfa = levenshtein_automaton(word, maxdist, 0).to_dfa()
        return list(find_all_matches(dfa, first_at_or_after))

    def matching(self, pattern: str) -> list[str]:
        """Words matching a wildcard ``pattern`` (``*`` any run of characters, ``?`` one
        character) of folded text, the most common first, then alphabetical."""
        words = self._words()
        literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
        lo = bisect.bisect_left(words, literal)
        hi = bisect.bisect_left(words, literal + "\U0010ffff") if literal else len(words)
        if literal == pattern:
            found = [literal] if literal in self.counts else []
        else:
            regex = re.compile(wildcard_regex(pattern))
            found = [w for w in words[lo:hi] if regex.fullmatch(w)]
        found.sort(key=lambda w: (-self.counts[w], w))
        return found


def wildcard_regex(pattern: str) -> str:
    """A regular expression (for ``fullmatch``) of a ``*``/``?`` wildcard pattern."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _edits(word: str, alphabet) -> set[str]:
    """Every string one insertion, deletion, substitution or swap away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out.update(a + c + b[1:] for a, b in splits if b for c in alphabet)
    out.update(a + c + b for a, b in splits for c in alphabet)
    out.update(_swaps(word))
    return out


def _swaps(word: str) -> list[str]:
    """``word`` with each pair of neighbouring, different letters swapped."""
    return [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1) if word[i] != word[i + 1]]
