"""Match and score a parsed query with NumPy instead of Whoosh's per-document matchers.

Whoosh's matchers walk postings one document at a time in Python: about
1.2 µs to decode a posting and 5 µs to score it. Here each term's posting
list is read a whole block (up to 128 postings) at a time and the query tree
is evaluated over dense arrays, one element per document:

* ``Term``: BM25 over the block's term frequencies and the per-document field
  lengths kept in the doc values (:mod:`newssearch.docvalues`); ``And``/``Or``/``AndNot``/``Not``/
  ``AndMaybe``/``Require`` combine boolean masks and add scores.
* Prefix, wildcard and other multi-term queries are expanded by Whoosh into
  the terms the index holds, then scored as terms.
* Phrases intersect their words' posting arrays, then decode positions only
  for the documents left; a match scores as the sum of its words. Anything
  else is matched by Whoosh and scored by its boost.

The ranking function is BM25F as Lucene and Whoosh define it: for each
field, ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))``
times the field's weight, summed over fields and words. Deleted documents
never match: every mask is taken with the live mask.

Posting lists and positions are read through :mod:`newssearch.codec.postings`,
which alone knows Whoosh's block layout; ``tests/test_scoring.py`` checks the
matches against Whoosh's own matchers and the scores against the formula.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
from whoosh import query as wq

from .codec.columns import LENGTH_OF_CODE
from .codec.postings import EncodedValues, read_postings, read_postings_and_values
from .docvalues import DocValues
from .schema import TEXT_FIELDS

K1 = 1.2
B = 0.75


# Postings the words and phrases of one query may read together (a word counts its
# postings in every field, a phrase those of its words, deleted articles included
# until a merge). Past it, the costliest are left out, as stop words are elsewhere,
# and the results say which (``Evaluation.left_out``): a pasted paragraph ORs a
# hundred words found in most articles, millions of postings, seconds of reading.
# At 200,000 seeds "the" alone holds 1.3 million, so two or three of the commonest
# words fit. The cheapest part of a query (a word, or a phrase) is always read.
MAX_WORD_POSTINGS = 3_000_000


# A part of a query whose documents number fewer than 1/SPARSE_FROM of the index is held as
# sorted docnums and their scores (Evaluation.docs and .values) rather than as arrays of the
# index's size: a rare word's few postings in five fields cost a few microseconds, not five
# passes over 3 million documents. Past it, arrays over the index cost less than merges.
SPARSE_FROM = 64


class Evaluation:
    """The documents a query matches and their scores, and the words left out to stay within
    :data:`MAX_WORD_POSTINGS`.

    Held in one of two forms: ``match`` and ``score``, arrays indexed by
    docnum, or, for few documents, ``docs`` (sorted docnums) and ``values``
    (their scores), which cost the number of matches, not of documents.
    Reading ``match`` or ``score`` turns the second form into the first, the
    same numbers; :meth:`is_sparse`, :meth:`any` and :meth:`scores_of` read
    either without turning it.
    """

    __slots__ = ("_match", "_score", "docs", "values", "size", "left_out")

    def __init__(self, match: np.ndarray | None, score: np.ndarray | None, left_out: tuple[str, ...] = (), *,
                 docs: np.ndarray | None = None, values: np.ndarray | None = None, size: int = 0) -> None:
        # The dense form when ``match`` is given (``docs`` and ``values`` then stay empty), else the sparse one.
        self._match, self._score = match, score
        self.docs: np.ndarray = docs if docs is not None else np.zeros(0, dtype=np.int64)
        self.values: np.ndarray = values if values is not None else np.zeros(0, dtype=np.float32)
        self.size = size if match is None else len(match)
        self.left_out = left_out

    @classmethod
    def sparse(cls, docs: np.ndarray, values: np.ndarray, size: int) -> Evaluation:
        """``docs`` (sorted, distinct docnums) matching with scores ``values`` (float32), out of ``size`` documents."""
        return cls(None, None, docs=docs, values=values, size=size)

    def is_sparse(self) -> bool:
        return self._match is None

    def any(self) -> bool:
        """Whether any document matches."""
        return bool(len(self.docs)) if self._match is None else bool(self._match.any())

    def scores_of(self, docs: np.ndarray) -> np.ndarray:
        """The scores of ``docs`` (docnums it matches, in the sparse form)."""
        if self._match is not None:
            return self.score[docs]
        return self.values[np.searchsorted(self.docs, docs)]

    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        """The dense form's ``(match, score)``, made from the sparse one the first time."""
        if self._match is None or self._score is None:
            match = np.zeros(self.size, dtype=bool)
            match[self.docs] = True
            score = np.zeros(self.size, dtype=np.float32)
            score[self.docs] = self.values
            self._match, self._score = match, score
            self.docs, self.values = self.docs[:0], self.values[:0]
        return self._match, self._score

    @property
    def match(self) -> np.ndarray:
        return self._dense()[0]

    @match.setter
    def match(self, value: np.ndarray) -> None:
        self._dense()
        self._match = value

    @property
    def score(self) -> np.ndarray:
        return self._dense()[1]

    @score.setter
    def score(self, value: np.ndarray) -> None:
        self._dense()
        self._score = value


class Nothing(wq.Query):
    """Matches no document: a wildcard or fuzzy term that stands for no index word.

    Not Whoosh's ``NullQuery``, which ``And.normalize`` drops, turning
    ``police xyzzy*`` into ``police``.
    """

    def __init__(self, label: str, fieldname: str | None = None) -> None:
        self.label = label
        self.fieldname = fieldname
        self.boost = 1.0

    def __str__(self) -> str:
        return f"<nothing: {self.label}>"

    def __repr__(self) -> str:
        return f"Nothing({self.label!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Nothing) and other.label == self.label

    def __hash__(self) -> int:
        return hash(("Nothing", self.label))

    def terms(self, phrases: bool = False):
        return iter(())

    def matcher(self, searcher, context=None):
        from whoosh.matching import NullMatcher

        return NullMatcher()


class HasField(wq.Query):
    """``field:*`` (and ``*`` in every text field): the articles with some text in ``fieldname``.

    Read from the field lengths of the doc values, not from every posting of
    the field. Not Whoosh's ``Every``, which ``And.normalize`` turns the whole
    ``And`` into.
    """

    def __init__(self, fieldname: str, boost: float = 1.0) -> None:
        self.fieldname = fieldname
        self.boost = boost

    def __str__(self) -> str:
        return f"{self.fieldname}:*" if self.fieldname else "*"

    def __repr__(self) -> str:
        return f"HasField({self.fieldname!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HasField) and other.fieldname == self.fieldname

    def __hash__(self) -> int:
        return hash(("HasField", self.fieldname))

    def terms(self, phrases: bool = False):
        return iter(())

    def matcher(self, searcher, context=None):
        return wq.Every(self.fieldname).matcher(searcher, context)


class QueryScorer:
    """Evaluates Whoosh query trees against one index generation."""

    def __init__(self, searcher, doc_values: DocValues) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.leaves = list(self.reader.leaf_readers()) if doc_values.size else []
        self.doc_values = doc_values
        self.size = doc_values.size
        self.live = doc_values.live
        self.deleted = np.flatnonzero(~doc_values.live)
        self.doc_count = max(1, int(self.live.sum()))
        self._norm_tables: dict[str, np.ndarray] = {}  # each text field's norm of each length code
        self._averages: dict[str, float] = {}  # each field's average length over live documents
        self._budget = MAX_WORD_POSTINGS  # postings left for the words of the query being evaluated
        self._left_out: list[str] = []
        self._frequencies: dict[tuple[str, str], int] = {}

    # -- postings --------------------------------------------------------------

    def postings(self, field: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        """All (docnum, term frequency) pairs of a term, in docnum order, deleted documents included."""
        ids, weights, _ = self._postings(field, text, values=False)
        return ids, weights

    def _postings(self, field: str, text: str | bytes, *, values: bool) -> tuple[np.ndarray, np.ndarray, list]:
        found = read_postings(self.leaves, self.reader.schema, field, text, values=values)
        self._budget -= len(found[0])
        return found

    def _norm(self, field: str, ids: np.ndarray) -> np.ndarray:
        """``k1 * (1 - b + b * len / avglen)`` of each document of ``ids``: the length part of BM25.

        A length is one of Whoosh's 256 one-byte codes, so the norm of each code
        is computed once per field and a document's is looked up by its code: no
        norm per document is ever kept, and the values are the same float32 numbers
        as the formula computed per document.
        """
        table = self._norm_tables.get(field)
        if table is None:
            codes = self.doc_values.length_codes.get(field)
            if codes is None:
                return np.full(len(ids), K1, dtype=np.float32)
            table = self._norm_tables[field] = self._norm_table(field, codes)
        return table[self.doc_values.length_codes[field][ids]]

    def _norm_table(self, field: str, codes: np.ndarray) -> np.ndarray:
        """The norm of each length code, over the average length of the field's live documents."""
        average = self._averages.get(field)
        if average is None:
            # The mean of the live documents' lengths, summed exactly per code (in float64).
            counts = np.bincount(codes[self.live], minlength=len(LENGTH_OF_CODE))
            total = int(counts.sum())
            average = self._averages[field] = float(counts @ LENGTH_OF_CODE.astype(np.float64)) / total if total else 1.0
        return (K1 * (1 - B + B * LENGTH_OF_CODE / max(average, 1e-9))).astype(np.float32)

    # -- evaluation ------------------------------------------------------------

    def evaluate(self, q: wq.Query) -> Evaluation:
        self._budget, self._left_out = MAX_WORD_POSTINGS, []
        result = self._eval(q)
        if result.is_sparse():
            live = self.live[result.docs]
            result.docs, result.values = result.docs[live], result.values[live]
        else:
            result.match &= self.live
            result.score[self.deleted] = 0  # postings are read with deleted documents in them
        result.left_out = tuple(dict.fromkeys(self._left_out))
        return result

    def _empty(self) -> Evaluation:
        return Evaluation(np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float32))

    def _eval(self, q: wq.Query) -> Evaluation:
        if isinstance(q, wq.Term):
            return self._term(q)
        if isinstance(q, wq.And):
            return self._combine(q.subqueries, q.boost, every=True)
        if isinstance(q, wq.Or) and not isinstance(q, wq.DisjunctionMax):
            return self._combine(q.subqueries, q.boost, every=False)
        if isinstance(q, Nothing):
            return self._none()
        if isinstance(q, HasField):
            codes = self.doc_values.length_codes.get(q.fieldname)
            if codes is None:
                return Evaluation(self.live.copy(), np.zeros(self.size, dtype=np.float32))
            return Evaluation(self.live & (codes > 0), np.zeros(self.size, dtype=np.float32))
        if isinstance(q, wq.AndNot):
            positive, negative = self._eval(q.a), self._eval(q.b)
            positive.match &= ~negative.match
            return self._boosted(positive, q.boost)
        if isinstance(q, (wq.AndMaybe, wq.Require)):
            required, optional = self._eval(q.a), self._eval(q.b)
            if isinstance(q, wq.AndMaybe):
                required.score += np.where(optional.match, optional.score, 0)
            else:
                required.match &= optional.match
            return self._boosted(required, q.boost)
        if isinstance(q, wq.Not):
            excluded = self._eval(q.query)
            return Evaluation(self.live & ~excluded.match, np.zeros(self.size, dtype=np.float32))
        if isinstance(q, wq.Every):
            return Evaluation(self.live.copy(), np.zeros(self.size, dtype=np.float32))
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return self._none()
        if isinstance(q, wq.MultiTerm):
            return self._eval(q.simplify(self.reader))
        if isinstance(q, wq.Phrase):
            return self._phrase(q)
        return self._whoosh(q)

    def _term(self, q: wq.Term) -> Evaluation:
        result = self._none()
        self._add_term(result, q)
        return result

    def _none(self) -> Evaluation:
        """No document, in the sparse form (see :data:`SPARSE_FROM`)."""
        return Evaluation.sparse(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), self.size)

    def _small(self, *counts: int) -> bool:
        """Whether a part of ``counts`` documents together is kept in the sparse form."""
        return sum(counts) * SPARSE_FROM < self.size

    def _add_term(self, result: Evaluation, q: wq.Term, times: int = 1) -> None:
        """Add a term's documents and scores (``times`` over) to ``result`` in place (no array of the index's size)."""
        ids, tf = self.postings(q.fieldname, q.text)
        self._add_scored(result, q.fieldname, ids, tf, q.boost * times)

    def _scored(self, field: str, ids: np.ndarray, tf: np.ndarray, boost: float) -> Evaluation:
        """The documents of one posting list, with their BM25 scores in a text field."""
        result = self._none()
        self._add_scored(result, field, ids, tf, boost)
        return result

    def _add_scored(self, result: Evaluation, field: str, ids: np.ndarray, tf: np.ndarray, boost: float) -> None:
        if not len(ids):
            return
        if result.is_sparse() and self._small(len(result.docs), len(ids)):
            scored = Evaluation.sparse(ids, np.zeros(len(ids), dtype=np.float32), self.size)
            self._add_scores(scored, field, ids, tf, boost)
            _merge(result, scored)
            return
        result.match[ids] = True
        self._add_scores(result, field, ids, tf, boost)

    def _add_scores(self, result: Evaluation, field: str, ids: np.ndarray, tf: np.ndarray, boost: float) -> None:
        """Add one posting list's BM25 scores to ``result`` (its matches left as they are)."""
        scores = self._bm25(field, ids, tf, boost)
        if scores is None:
            return
        # A posting list holds each document once, so += on fancy indices is exact.
        if result.is_sparse():  # a list of its own (see _add_scored): ids are its docs
            result.values += scores
        else:
            result.score[ids] += scores

    def _bm25(self, field: str, ids: np.ndarray, tf: np.ndarray, boost: float) -> np.ndarray | None:
        """The BM25 score of each posting of a list in a text field (None for another field, or no posting)."""
        if not len(ids) or field not in TEXT_FIELDS:
            return None
        df = int(self.live[ids].sum())
        idf = math.log(1 + (self.doc_count - df + 0.5) / (df + 0.5))
        norm = self._norm(field, ids)
        return (boost * idf) * tf * (K1 + 1) / (tf + norm)

    def _phrase(self, q: wq.Phrase) -> Evaluation:
        """Documents holding the words in order, at most ``slop`` positions apart each.

        Candidates are the intersection of the words' posting lists, computed on
        whole arrays; positions are read for those only, and matched a chunk
        of candidates at a time (:func:`_phrase_matches`). A match scores as the
        sum of its words.
        """
        field, words = q.fieldname, list(q.words)
        if not words:
            return self._none()
        if len(words) == 1:
            ids, tf = self.postings(field, words[0])
            return self._scored(field, ids, tf, q.boost)
        # Each word's postings and positions, in one read (a word the phrase repeats is read
        # once). A common word's positions are located in its blocks with NumPy, never
        # unpickled (half a million Python objects for "the" in a field at 200,000 seeds); a
        # rarer word's blocks are unpickled whole, which costs less than locating.
        read: dict[str, tuple[np.ndarray, np.ndarray, EncodedValues | list]] = {
            w: (read_postings_and_values if self._doc_frequency(field, w) >= PHRASE_LOCATE
                else partial(read_postings, values=True))(self.leaves, self.reader.schema, field, w)
            for w in dict.fromkeys(words)
        }
        lists = [read[w] for w in words]
        for ids, _, _ in read.values():
            self._budget -= len(ids)
        rarest = min(len(ids) for ids, _, _ in read.values())
        if rarest * 16 < self.size:  # a rare word: sorted intersections of short lists
            candidates = min((ids for ids, _, _ in read.values()), key=len)
            for ids, _, _ in read.values():
                candidates = np.intersect1d(candidates, ids, assume_unique=True)
            candidates = candidates[self.live[candidates]]
            chosen = {w: np.isin(ids, candidates, assume_unique=True) for w, (ids, _, _) in read.items()}
        else:  # common words: masks over the index, linear where sorting would not be
            held = self.live.copy()
            for ids, _, _ in read.values():
                has = np.zeros(self.size, dtype=bool)
                has[ids] = True
                held &= has
            candidates = np.flatnonzero(held)
            chosen = {w: held[ids] for w, (ids, _, _) in read.items()}
        if not len(candidates):
            return self._none()
        fmt = self.reader.schema[field].format
        slop = max(1, int(q.slop))
        # The candidates' positions only.
        values = {
            w: encoded.chosen(chosen[w]) if isinstance(encoded, EncodedValues)
            else EncodedValues.of([encoded[i] for i in np.flatnonzero(chosen[w]).tolist()])
            for w, (ids, _, encoded) in read.items()
        }
        # A few thousand candidates at a time: a common word has dozens of positions in an
        # article, and all of them at once would take hundreds of megabytes.
        matched = []
        for start in range(0, len(candidates), PHRASE_CHUNK):
            chunk = slice(start, start + PHRASE_CHUNK)
            positions = {w: v.positions(fmt, chunk) for w, v in values.items()}
            found = _phrase_matches([positions[w] for w in words], slop)
            matched.append(candidates[chunk][found])
        docs = np.concatenate(matched).astype(np.int64, copy=False)  # in docnum order, as the candidates
        if self._small(len(docs)):
            # Few matches: held as docnums, each scored as the sum of its words, added in the
            # order the arrays below add them (every match is in every word's list).
            sparse = Evaluation.sparse(docs, np.zeros(len(docs), dtype=np.float32), self.size)
            for ids, tf, _ in lists:
                scores = self._bm25(field, ids, tf, q.boost)
                if scores is not None:
                    sparse.values += scores[np.searchsorted(ids, docs)]
            return sparse
        result = self._empty()
        result.match[docs] = True
        for ids, tf, _ in lists:  # straight into the result: no array of the index's size per word
            self._add_scores(result, field, ids, tf, q.boost)
        result.score[~result.match] = 0
        return result

    def _whoosh(self, q: wq.Query) -> Evaluation:
        """Anything else: Whoosh finds the documents; they score by the query's boost only."""
        result = self._empty()
        docs = np.fromiter(q.docs(self.searcher), dtype=np.int64)
        result.match[docs] = True
        return result

    def _combine(self, subqueries, boost: float, *, every: bool) -> Evaluation:
        """Documents matching every part (``every``) or any part; scores add up.

        Parts are evaluated one at a time into one running result, and the terms
        of an ``Or`` (a word in five fields, a prefix's hundreds of words) are
        added to it straight from their postings: a query holds at most three
        arrays of the index's size at once, whatever its number of clauses.
        """
        if not subqueries:
            return self._none()
        # A part written k times (a pasted text repeats its common words) is read once
        # and counts k times, as k readings would: the same matches, k times the score.
        parts = _multiplicities(subqueries)
        if every and len(parts) > 1:
            # Rarest first, as Lucene orders a conjunction: once nothing is left the
            # other parts (often the commonest words) need not be read at all.
            parts = sorted(parts, key=lambda part: self._cost(part[0]))
        elif not every:
            parts = self._within_budget(parts)
        result: Evaluation | None = None
        for sub, times in parts:
            if every and result is not None and not result.any():
                return self._none()
            if every and result is not None:
                unit = _unit_of(sub)
                if unit is not None and self._cost(sub) > self._budget:
                    self._left_out.append(unit)  # and the costlier parts after it
                    continue
            if not every and isinstance(sub, wq.Term):
                if result is None:
                    result = self._none()
                self._add_term(result, sub, times)
                continue
            part = self._eval(sub)
            if times != 1:
                if part.is_sparse():
                    part.values *= times
                else:
                    part.score *= times
            if result is None:
                result = part
                continue
            if result.is_sparse() and part.is_sparse() and (every or self._small(len(result.docs), len(part.docs))):
                (_intersect if every else _merge)(result, part)
                continue
            if every:
                result.match &= part.match
            else:
                result.match |= part.match
            result.score += part.score
        assert result is not None
        if every and not result.is_sparse():
            result.score[~result.match] = 0
        return self._boosted(result, boost)

    def _within_budget(self, parts: list[tuple[wq.Query, int]]) -> list[tuple[wq.Query, int]]:
        """The parts of an ``Or`` to read: its words and phrases cheapest first while they fit the budget.

        A word is all the terms of one text, and a phrase all the phrases of
        its words (a word in five fields is one word). The cheapest is always
        kept: a query of one common word, or one phrase, is answered. Other
        parts are kept as they are.
        """
        units = [_unit_of(sub) for sub, _ in parts]
        if len(set(units) - {None}) < 2:  # one word in several fields: the cheapest part is always read
            return parts
        costs: dict[str, int] = {}
        for (sub, _), unit in zip(parts, units):
            if unit is not None:
                costs[unit] = costs.get(unit, 0) + self._cost(sub)
        if sum(costs.values()) <= self._budget:
            return parts
        kept: set[str] = set()
        budget = self._budget
        for unit in sorted(costs, key=costs.__getitem__):
            if not kept or costs[unit] <= budget:
                kept.add(unit)
                budget -= costs[unit]
            else:
                self._left_out.append(unit)
        return [part for part, unit in zip(parts, units) if unit is None or unit in kept]

    def _cost(self, q: wq.Query) -> int:
        """About how many postings evaluating ``q`` reads: the order of an ``And``'s parts."""
        if isinstance(q, wq.Term):
            return self._doc_frequency(q.fieldname, q.text)
        if isinstance(q, wq.Phrase):
            return sum(self._doc_frequency(q.fieldname, w) for w in dict.fromkeys(q.words))
        if isinstance(q, Nothing):
            return 0
        if isinstance(q, (wq.Not, HasField, wq.Every)):
            return self.size + (self._cost(q.query) if isinstance(q, wq.Not) else 0)
        if isinstance(q, wq.AndNot):
            return self._cost(q.a) + self._cost(q.b)
        if isinstance(q, wq.And):
            return min((self._cost(c) for c in q.subqueries), default=0)
        if not q.is_leaf():
            return sum(self._cost(c) for c in q.children())
        return self.size

    def _doc_frequency(self, field: str, text: str) -> int:
        """Postings of a term in the index, deleted documents included: a lookup in every segment, kept."""
        key = (field, text)
        found = self._frequencies.get(key)
        if found is None:
            if len(self._frequencies) > 100_000:  # a long-lived searcher: bounded, not a leak
                self._frequencies.clear()
            found = self._frequencies[key] = self.reader.doc_frequency(field, text)
        return found

    @staticmethod
    def _boosted(result: Evaluation, boost: float) -> Evaluation:
        if boost != 1.0:
            if result.is_sparse():
                result.values *= boost
            else:
                result.score *= boost
        return result


# The sparse form's operations do the dense form's arithmetic, in the same order, on the
# documents concerned: the scores are the same float32 numbers (tests/test_scoring.py).

def _merge(result: Evaluation, part: Evaluation) -> None:
    """``result`` or ``part``, scores added (an Or), in place; both sparse."""
    docs = np.concatenate((result.docs, part.docs))
    docs.sort()
    if len(docs):
        docs = docs[np.concatenate(([True], docs[1:] != docs[:-1]))]
    values = np.zeros(len(docs), dtype=np.float32)
    values[np.searchsorted(docs, result.docs)] = result.values
    values[np.searchsorted(docs, part.docs)] += part.values
    result.docs, result.values = docs, values


def _intersect(result: Evaluation, part: Evaluation) -> None:
    """``result`` and ``part``, scores added (an And), in place; both sparse."""
    if not len(result.docs) or not len(part.docs):
        result.docs, result.values = result.docs[:0], result.values[:0]
        return
    at = np.searchsorted(part.docs, result.docs).clip(max=len(part.docs) - 1)
    both = part.docs[at] == result.docs
    result.docs, result.values = result.docs[both], result.values[both] + part.values[at[both]]



PHRASE_CHUNK = 8192  # candidates whose positions a phrase decodes at once
# Postings a word of a phrase must have for its positions to be located with NumPy rather than
# unpickled: below, unpickling its blocks costs less than locating every value (measured on the
# benchmark's phrases at 50,000 seeds and on phrases of common words at 200,000).
PHRASE_LOCATE = 50_000


def _phrase_matches(words: list[tuple[np.ndarray, np.ndarray]], slop: int) -> np.ndarray:
    """Which candidates hold the phrase, given each word's positions in each candidate
    (how many per candidate, then all of them, as :func:`~newssearch.codec.postings.positions_of` gives them).

    They are matched as sorted ``(candidate, position)`` keys: a word's
    position continues the phrase when the nearest earlier position of the
    phrase so far, in the same candidate, is at most ``slop`` before it.
    """
    spread = np.int64(1 << 32)  # above any position: keys of different candidates never come within slop
    keys = np.zeros(0, dtype=np.int64)
    for w, (counts, positions) in enumerate(words):
        following = np.repeat(np.arange(len(counts), dtype=np.int64) * spread, counts) + positions
        del positions
        if w == 0:
            keys = following
            continue
        before = np.searchsorted(keys, following, side="left") - 1
        near = before >= 0
        near[near] = following[near] - keys[before[near]] <= slop
        keys = following[near]
        if not len(keys):
            break
    return np.unique(keys // spread)


def _unit_of(q: wq.Query) -> str | None:
    """What the budget leaves out whole: a word (its terms in any fields) or a phrase (in any fields), by its text."""
    if isinstance(q, wq.Term):
        return q.text
    if isinstance(q, wq.Phrase):
        return '"' + " ".join(q.words) + '"'
    if isinstance(q, wq.Or) and q.subqueries:
        units = {_unit_of(c) for c in q.subqueries}
        if len(units) == 1:
            return units.pop()
    return None


def _multiplicities(subqueries) -> list[tuple[wq.Query, int]]:
    """Each distinct part of a compound query, in first-seen order, with how often it occurs."""
    seen: dict[wq.Query, int] = {}
    order: list[wq.Query] = []
    for sub in subqueries:
        try:
            if sub in seen:
                seen[sub] += 1
                continue
            seen[sub] = 1
        except TypeError:  # a query type that cannot be hashed: kept apart, as written
            pass
        order.append(sub)
    return [(sub, seen.get(sub, 1) if _hashable(sub) else 1) for sub in order]


def _hashable(query: wq.Query) -> bool:
    try:
        hash(query)
    except TypeError:
        return False
    return True
