"""The one Whoosh schema of a newssearch index, and the text analysis it uses.

Each indexed document is an article: a seed, or an entry of a seed's
``related`` list that is not a seed itself. Text fields are analysed the same
way (lowercase, accents folded, English stems), so "Zurich" finds "Zürich"
and "recognize" finds "recognition". Exact values for facets and filters
(topics, provider, category, kind) live in separate untokenised fields in
their original case; ``published`` and ``url`` are columns, read once per
index generation into the facet arrays of :mod:`newssearch.facets`.

Changing anything here changes what is on disk: bump ``SCHEMA_VERSION`` (in
:mod:`newssearch.store`, which checks it without importing Whoosh) so that an
old index asks for ``newssearch index --rebuild`` instead of answering wrongly.
"""

from __future__ import annotations

import re

from functools import lru_cache

from whoosh import columns, fields, formats
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.lang.porter2 import stem as _porter2
from whoosh.support.charset import accent_map

# Values stored in the index, kept in newssearch.store, which the indexer reads without Whoosh.
from .store import KIND_RELATED, KIND_SEED, NO_DATE, SCHEMA_VERSION  # noqa: F401


# Query-time weights of the text fields, for BM25F: a word in the title counts
# most, then the topics (an editor's summary of the article), then excerpt and
# provider, then the body.
FIELD_BOOSTS = {"title": 4.0, "topics": 2.5, "excerpt": 1.5, "provider": 1.5, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_BOOSTS)

# Names a user may write before a colon in a query, and the field each means.
FIELD_ALIASES = {
    "title": "title",
    "excerpt": "excerpt",
    "body": "body",
    "topic": "topics",
    "topics": "topics",
    "provider": "provider",
    "source": "provider",
    "category": "category",
    "url": "url",
}




# Words may hold inner dots and apostrophes ("U.S", "don't") but a possessive
# "'s" ends the word: "Sony’s" must be found by "sony".
TOKEN_PATTERN = re.compile(r"\w+(?:(?:\.|['’](?![sS]\b))\w+)*")


def stem(word: str) -> str:
    """English (Porter2) stem, also folding "-ition" nouns onto their verbs.

    Porter2 leaves "recognition" as "recognit" but "recognize" as "recogn";
    news readers expect the two to meet, as do define/definition,
    compose/composition, compete/competition.
    """
    stemmed = _porter2(word)
    if (word.endswith("ition") or word.endswith("itions")) and stemmed.endswith("it") and len(stemmed) >= 6:
        return stemmed[:-2]
    return stemmed


def fold_word(word: str) -> str:
    """One token lowercased with accents folded: the analyzer's steps before stemming."""
    return word.lower().translate(accent_map)


@lru_cache(maxsize=200_000)
def term_of(word: str) -> str:
    """The index term of one token: what :func:`text_analyzer` makes of it, as plain string steps."""
    return stem(fold_word(word))


class FastText(fields.TEXT):
    """A ``TEXT`` field whose indexing runs the analyzer's steps as string operations.

    Whoosh pushes every token through a chain of generators and ``Token``
    objects; the same steps on plain strings, with a cache of stems, make the
    same terms, positions and weights (``tests/test_schema.py`` checks it) at
    a fraction of the cost. Queries still use the analyzer itself.
    """

    def index(self, value, **kwargs):
        if not isinstance(value, str) or not isinstance(self.format, formats.Positions):
            yield from super().index(value, **kwargs)
            return
        positions: dict[str, list[int]] = {}
        for position, match in enumerate(TOKEN_PATTERN.finditer(value)):
            term = term_of(match.group())
            found = positions.get(term)
            if found is None:
                positions[term] = [position]
            else:
                found.append(position)
        boost = self.format.field_boost
        encode = self.format.encode
        for term, found in positions.items():
            yield term.encode("utf-8"), len(found), float(len(found)) * boost, encode(found)


def text_analyzer(*, stemming: bool = True):
    """Tokenise on word characters, lowercase, fold accents, then (optionally) stem.

    Accents are folded before stemming: the stemmer knows only plain letters.
    There are no stop words: BM25 already weighs "the" near zero, and phrases
    and queries like "The Who" keep working.
    """
    chain = RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map)
    if stemming:
        chain = chain | StemFilter(stemfn=stem, cachesize=-1)
    return chain


def build_schema() -> fields.Schema:
    stemmed = text_analyzer()
    return fields.Schema(
        # identity and bookkeeping
        url=fields.ID(unique=True, sortable=True),
        kind=fields.ID(),
        # ranked text
        title=FastText(analyzer=stemmed),
        excerpt=FastText(analyzer=stemmed),
        body=FastText(analyzer=stemmed),
        topics=FastText(analyzer=stemmed),
        provider=FastText(analyzer=stemmed),
        # exact values, original case, for filters and facet counts
        topic_facet=fields.KEYWORD(commas=True, lowercase=False, scorable=False),
        provider_facet=fields.ID(),
        category=fields.KEYWORD(commas=True, lowercase=True, scorable=False),
        # Seconds since the epoch, UTC. A column only: date filters and facets read
        # it into NumPy (see newssearch.facets), so index terms for it would be waste
        # (16 per document, a fifth of all postings).
        published=fields.COLUMN(columns.NumericColumn("q", default=NO_DATE)),
        # what a hit shows, in one stored record: no per-field stored reads
        payload=fields.STORED(),
    )
