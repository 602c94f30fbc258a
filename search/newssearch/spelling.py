"""Typo correction and the words behind wildcard and fuzzy terms: :class:`Speller`.

Both work on the index's own words: the spelling vocabulary of unstemmed,
folded words with their counts (:mod:`newssearch.vocab`), and for short words
and small fields the terms of the index itself. The query language
(:mod:`newssearch.query`) asks a speller which index terms ``polic*`` or
``recognitoin~2`` stand for; :class:`~newssearch.searching.IndexSearcher` asks
it to correct a query that found nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .schema import TEXT_FIELDS, fold_word, term_of
from .schema import terms as analysed_terms
from .vocab import Vocabulary, fold, wildcard_regex

if TYPE_CHECKING:
    from .docvalues import DocValues

# The query language's operators: words a user typed as operators are never corrected.
OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})

# Words one fuzzy term may stand for: Lucene's FuzzyQuery default (maxExpansions).
MAX_FUZZY_WORDS = 50
_SHORT = 4  # words shorter than this were left out of older vocabularies (Vocabulary.min_chars)
_SMALL_FIELD = 4096  # a field with fewer terms keeps them in memory: see Speller.doc_frequency
_UNREAD: Any = object()
EVERYTHING: Any = object()  # pattern_terms' answer for "*": every article with the field


class Speller:
    """Typo tolerance and wildcards over the index's own words (see :mod:`newssearch.vocab`)."""

    def __init__(self, reader, gen: Path, columns: DocValues | None = None) -> None:
        self._reader = reader
        self._gen = gen
        self._columns = columns
        self._vocabulary: Vocabulary | None = None
        self._matching: dict[str, Any] = {}  # wildcard or fuzzy word -> its terms, for this generation
        self._short: dict[str, list[str]] = {}  # field -> its terms of under four letters
        self._small: dict[str, Any] = {}  # field -> its terms, if it has few (else None)

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:  # loaded on the first typo, not on every start
            self._vocabulary = Vocabulary.load(self._gen)
        return self._vocabulary

    def known(self, word: str) -> bool:
        """Whether the index holds ``word`` (stemmed) in any text field."""
        terms = analysed_terms(word)
        return bool(terms) and all(any(self._live(f, t) for f in TEXT_FIELDS) for t in terms)

    def doc_frequency(self, field: str, term: str) -> int:
        """Documents holding ``term`` in ``field`` (deleted ones too, until a merge).

        A field of few terms (topics, provider) keeps them in a set: a wildcard
        offers it hundreds of words it does not hold, each a file lookup.
        """
        small = self._small.get(field, _UNREAD)
        if small is _UNREAD:
            # One segment's list tells whether the field is small; merging the
            # lists of all segments would cost seconds for the body.
            small = set()
            for leaf, _ in self._reader.leaf_readers():
                for raw in leaf.lexicon(field):
                    small.add(term_text(raw))
                    if len(small) > _SMALL_FIELD:
                        break
                if len(small) > _SMALL_FIELD:
                    small = None
                    break
            self._small[field] = small
        if small is not None and term not in small:
            return 0
        return self._reader.doc_frequency(field, term)

    def _live(self, field: str, term: str) -> bool:
        """Whether a live document holds ``term``: the index keeps deleted documents' terms until a merge."""
        reader = self._reader
        return bool(reader.doc_frequency(field, term)) and reader.postings(field, term).is_active()

    def candidates(self, word: str, maxdist: int) -> list[str]:
        """Index words within ``maxdist`` edits of ``word`` (a swap of two letters is one edit):
        closest, then most common, first."""
        folded = fold(word)
        if len(folded) != 1:
            return []
        if maxdist <= 0:
            return folded
        return [w for w in self.vocabulary.within(folded[0], maxdist) if w != folded[0] and self.known(w)]

    def fuzzy_terms(self, field: str, text: str, maxdist: int | None) -> list[str] | None:
        """The index terms ``text~maxdist`` stands for, best first; None when ``text`` is not one word.

        The word's own term comes first (the vocabulary leaves out words of
        under four letters, so ``cat~`` must still find "cat"), then the
        vocabulary's words within reach, closest and most common first, at
        most :data:`MAX_FUZZY_WORDS`. ``maxdist`` None is the word's own budget
        (:meth:`Vocabulary.budget`, at least 1).
        """
        folded = fold(text)
        if len(folded) != 1 or field not in TEXT_FIELDS:
            return None
        word = folded[0]
        if maxdist is None:
            maxdist = max(1, Vocabulary.budget(word))
        key = f"{word}~{maxdist}"
        terms = self._matching.get(key)
        if terms is None:  # the same for every field: asked once per field
            words = [word] + [w for w in self.vocabulary.within(word, maxdist) if w != word][: MAX_FUZZY_WORDS - 1]
            terms = dict.fromkeys(term_of(w) for w in words)
            self._remember(key, terms)
        return list(terms)

    def pattern_terms(self, field: str, pattern: str) -> Any:
        """The index terms of the words a wildcard ``pattern`` matches, most common first.

        The pattern is matched against words as typed (folded, not stemmed):
        ``police*`` is "police", "policeman"..., never "policy". Each matching
        word stands for its stem, so ``police*`` also finds "policing", as
        ``police`` does. Words of four letters or more come from the
        vocabulary, shorter ones from the field's own terms. A pattern of only
        ``*`` is every article with some text in the field (:data:`EVERYTHING`).
        """
        if pattern.strip("*") == "":
            return EVERYTHING
        if field == "category":  # few values: match them all, folded as the filter folds them
            regex = re.compile(wildcard_regex(fold_word(pattern)))
            return [t for t in map(term_text, self._reader.lexicon(field)) if regex.fullmatch(fold_word(t))]
        if field not in TEXT_FIELDS:  # urls: match them as stored
            regex = re.compile(wildcard_regex(pattern))
            literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
            return [t for t in map(term_text, self._reader.expand_prefix(field, literal)) if regex.fullmatch(t)]
        folded = fold_word(pattern)
        labels = self._label_words(field)
        if labels is not None:
            regex = re.compile(wildcard_regex(folded))
            return list(dict.fromkeys(term_of(w) for w in sorted(labels, key=lambda w: (-labels[w], w)) if regex.fullmatch(w)))
        if len(folded.replace("*", "")) < self.vocabulary.min_chars:
            # A vocabulary written before short words were kept (until a rebuild):
            # add those from the field's own terms, by their occurrences.
            counts = {w: self.vocabulary.counts[w] for w in self.vocabulary.matching(folded)}
            regex = re.compile(wildcard_regex(folded))
            for term in self._short_terms(field):
                if regex.fullmatch(term):
                    counts[term] = max(counts.get(term, 0), self._reader.frequency(field, term))
            return LazyTerms(sorted(counts, key=lambda w: (-counts[w], w)))
        return self._vocabulary_terms(folded)

    def category_terms(self, text: str) -> list[str]:
        """The stored categories equal to ``text`` once case and accents are folded."""
        wanted = fold_word(text.strip())
        return [t for t in map(term_text, self._reader.lexicon("category")) if fold_word(t) == wanted]

    def _label_words(self, field: str) -> dict[str, int] | None:
        """The words of the ``topics`` or ``provider`` field, with the articles holding each:
        that field is indexed from the topic and provider names the facet arrays keep.
        Matching a wildcard against them spares walking the whole vocabulary for a field
        of a few hundred words."""
        labels = {"topics": "topics", "provider": "provider"}.get(field)
        if labels is None or self._columns is None:
            return None
        key = "\0labels:" + field
        words = self._matching.get(key)
        if words is None:
            facet = getattr(self._columns, labels)
            per_name = np.bincount(facet.ids, minlength=len(facet.names)) if len(facet.ids) else np.zeros(len(facet.names), np.int64)
            words = {}
            for name, n in zip(facet.names.tolist(), list(per_name)):
                for word in fold(name):
                    words[word] = words.get(word, 0) + int(n)
            self._matching[key] = words
        return words

    def _vocabulary_terms(self, folded: str) -> LazyTerms:
        """The stems of the vocabulary words a folded pattern matches, the commonest word's first."""
        terms = self._matching.get(folded)
        if not isinstance(terms, LazyTerms):
            terms = LazyTerms(self.vocabulary.matching(folded))
            self._remember(folded, terms)
        return terms

    def _remember(self, key: str, value: Any) -> None:
        if len(self._matching) > 256:
            self._matching.clear()
        self._matching[key] = value

    def _short_terms(self, field: str) -> list[str]:
        """A field's terms of under four letters, read once per generation and field."""
        short = self._short.get(field)
        if short is None:
            found: set[str] = set()
            for leaf, _ in self._reader.leaf_readers():  # each segment's list: faster than merging them
                found.update(t for t in map(term_text, leaf.lexicon(field)) if len(t) < _SHORT)
            short = self._short[field] = sorted(found)
        return short

    def correct(self, query: str) -> str | None:
        """``query`` with each word the index does not know replaced by its closest known word.

        Each word is corrected on its own: a word that cannot be corrected stays
        as it is, and the others are still corrected.
        """
        changed = False
        out, last = [], 0
        for match in _CORRECTABLE.finditer(query):
            word = match.group(1)
            end = match.end(1)
            if word in OPERATORS or query[end : end + 1] in (":", "*", "?", "~") or self.known(word):
                continue
            options = self.candidates(word, Vocabulary.budget(word))
            if not options:
                continue
            out.append(query[last : match.start(1)])
            out.append(options[0])
            last = end
            changed = True
        if not changed:
            return None
        out.append(query[last:])
        return "".join(out)


class LazyTerms:
    """The stems of words given most common first, each stemmed only when asked for.

    ``a*`` matches thousands of words but the clause budget searches at most
    1,024 terms: stemming them all would cost more than the search.
    """

    def __init__(self, words: list[str]) -> None:
        self._words = iter(words)
        self._terms: list[str] = []
        self._seen: set[str] = set()

    def get(self, i: int) -> str | None:
        while len(self._terms) <= i:
            word = next(self._words, None)
            if word is None:
                return None
            term = term_of(word)
            if term not in self._seen:
                self._seen.add(term)
                self._terms.append(term)
        return self._terms[i]


def candidate(candidates: Any, i: int) -> str | None:
    """The ``i``-th candidate of an expansion (a list, or :class:`LazyTerms`), None past the end."""
    if isinstance(candidates, LazyTerms):
        return candidates.get(i)
    return candidates[i] if i < len(candidates) else None


# A word that is not a field name's value, a wildcard or inside nothing special.
_CORRECTABLE = re.compile(r"(?<![\w*?~])(\w+)", re.UNICODE)


def term_text(term: str | bytes) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term
