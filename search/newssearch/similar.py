"""More like this: an article's most distinctive words, as Lucene's ``MoreLikeThis`` picks them.

:meth:`IndexSearcher.similar` searches for the words this module picks from
one article:

1. The article's title, excerpt and body are analysed as the index analyses
   them (:func:`newssearch.schema.terms`); each term's frequency counts a
   title occurrence :data:`WEIGHTS` ``["title"]`` times, as ranking weighs the
   title (Lucene's ``MoreLikeThis`` counts each field once; a news title is
   the best summary of its story).
2. Terms are kept when their weighted frequency is at least
   :data:`MIN_TERM_FREQ` (a word said once in the body is not what the
   article is about; a word of the title is), when at least
   :data:`MIN_DOC_FREQ` articles hold them (one held by this article alone
   finds nothing else) and when at most :data:`MAX_DOC_FREQ_SHARE` of the
   articles do (newssearch has no stop words: "the" and "said" are left out
   fields, as Lucene's (read from the lexicon, which counts deleted
   articles until a merge: an estimate, as Lucene's is).
3. Each is scored ``tf * idf``, with the idf of the ranking (BM25's
   ``log(1 + (N - df + 0.5) / (df + 0.5))``), and the best
   :data:`MAX_QUERY_TERMS` make the query: an ``OR`` of each term in the
   title, topics, excerpt and body, weighted by the field's ranking weight
   times the term's score over the best term's score (Lucene's ``boost``).

The article itself is never a result, nor are the articles of the same
story (``IndexSearcher._same_story``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from whoosh import query as wq

from .schema import FIELD_BOOSTS, term_of, tokens

MIN_TERM_FREQ = 2.0  # Lucene's default, on the weighted frequency
MIN_DOC_FREQ = 2
MAX_DOC_FREQ_SHARE = 0.5
MAX_QUERY_TERMS = 25  # Lucene's default
WEIGHTS = {"title": FIELD_BOOSTS["title"], "excerpt": FIELD_BOOSTS["excerpt"], "body": FIELD_BOOSTS["body"]}
SOURCE_FIELDS = tuple(WEIGHTS)  # the fields the words are picked from
QUERY_FIELDS = ("title", "topics", "excerpt", "body")  # and those they are searched in (not the provider's name)


@dataclass(frozen=True)
class Chosen:
    """A picked term: the index term, the word as the article first writes it, and its tf-idf score."""

    term: str
    word: str
    score: float


def distinctive_terms(texts: dict[str, str], doc_frequency: Callable[[str], int], doc_count: int) -> list[Chosen]:
    """The best :data:`MAX_QUERY_TERMS` terms of an article's ``texts`` (field -> text), best first.

    ``doc_frequency(term)`` is how many articles hold the term, ``doc_count``
    how many articles the index holds. Ties go by term, so the choice is
    the same on every run.
    """
    frequency: dict[str, float] = {}
    written: dict[str, str] = {}
    for field in SOURCE_FIELDS:
        weight = WEIGHTS[field]
        for token in tokens(texts.get(field) or ""):
            term = term_of(token)
            frequency[term] = frequency.get(term, 0.0) + weight
            written.setdefault(term, token.lower())
    most = max(MAX_DOC_FREQ_SHARE * doc_count, MIN_DOC_FREQ)  # a tiny index: one other article may share it
    chosen = []
    for term, tf in frequency.items():
        if tf < MIN_TERM_FREQ:
            continue
        df = doc_frequency(term)
        if df < MIN_DOC_FREQ or df > most:
            continue
        idf = math.log(1 + (doc_count - df + 0.5) / (df + 0.5))
        chosen.append(Chosen(term, written[term], tf * idf))
    chosen.sort(key=lambda c: (-c.score, c.term))
    return chosen[:MAX_QUERY_TERMS]


def like_query(chosen: list[Chosen]) -> wq.Query | None:
    """The weighted ``OR`` of the chosen terms in :data:`QUERY_FIELDS`; None when nothing was chosen."""
    if not chosen:
        return None
    best = chosen[0].score
    return wq.Or([
        wq.Term(field, c.term, boost=FIELD_BOOSTS[field] * c.score / best) for c in chosen for field in QUERY_FIELDS
    ])


def explanation(url: str, chosen: list[Chosen]) -> str:
    """What ``--explain`` prints: ``similar to URL: word^weight ...`` (the weight relative to the best word)."""
    if not chosen:
        return f"similar to {url}: <no distinctive words>"
    best = chosen[0].score
    return f"similar to {url}: " + " ".join(f"{c.word}^{c.score / best:.2f}" for c in chosen)
