"""Answer queries: :func:`open_index` and :class:`IndexSearcher`.

A search runs in three steps:

1. **Match and score.** The query string is parsed (Lucene-like syntax, all
   words required) into a Whoosh query, which :mod:`newssearch.scoring`
   evaluates over whole posting blocks into a boolean mask of matches and
   their BM25F scores.
2. **Filter and count.** Filters (topics, providers, category, date range)
   are masks over the per-document arrays of :mod:`newssearch.facets`. The
   exact total and every facet count are vectorised sums over those masks.
   Facets are multi-select: each facet is counted with every filter applied
   except its own, as Elasticsearch's ``post_filter`` or Meilisearch's
   disjunctive facets do, so choosing a topic still shows what the others
   would give.
3. **Rank one page.** Only the top ``page * limit`` are sorted, by score
   (ties by url, so pages never overlap) or by date. Stored fields are read,
   and fragments highlighted, only for the hits shown.

When the query finds nothing at all, misspelled words are corrected from the
index's own vocabulary and the search runs again; the corrected query is
returned as ``suggestion``.
"""

from __future__ import annotations

import pickle
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq

from . import highlight, store
from .dates import from_timestamp, parse_bound, to_timestamp
from .errors import IndexCorruptError, NewssearchError, QueryError
from .facets import Columns, Facets, FacetValue
from .scoring import Evaluation, QueryScorer
from .schema import FIELD_ALIASES, FIELD_BOOSTS, NO_DATE, TEXT_FIELDS, TOKEN_PATTERN, term_of
from .vocab import Vocabulary, fold

# What Whoosh raises on a truncated or garbled file; its own failures are bare Exceptions.
_DAMAGE_TYPES = (OSError, EOFError, ValueError, KeyError, IndexError, struct.error, pickle.UnpicklingError, zlib.error)

SORTS = ("relevance", "newest", "oldest")
DATE_FACETS = ("year", "month", "day")
MAX_LIMIT = 1000
MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Hit:
    """One result. ``highlight`` is HTML: escaped text with matched words in ``<mark>``."""

    rank: int
    score: float | None  # None when sorted by date: no score was computed
    title: str
    url: str
    provider: str
    domain: str
    published: datetime | None
    topics: tuple[str, ...]
    category: str
    path: str
    highlight: str
    kind: str  # "seed", or "related" for an entry of a seed's related list
    related_to: str  # for a related article: the url of the seed that lists it


@dataclass(frozen=True)
class SearchResults:
    """A page of hits, the exact total, and facet counts over all matches."""

    query: str
    parsed: str  # how the query was read, after typo correction: what --explain prints
    total: int
    page: int
    limit: int
    sort: str
    hits: tuple[Hit, ...]
    facets: Facets
    oldest: datetime | None  # the span of the matching articles' dates
    newest: datetime | None
    suggestion: str | None  # the corrected query, when the original found nothing
    took_ms: float


@dataclass(frozen=True)
class StoredArticle:
    """One article as the index stores it: ``IndexSearcher.article``.

    ``related`` holds, for a seed, the entries of its related list that the
    index holds (related articles, or seeds of their own); for a related
    article, the seed that lists it.
    """

    url: str
    title: str
    kind: str
    provider: str
    domain: str
    published: datetime | None
    topics: tuple[str, ...]
    category: str
    excerpt: str
    body: str
    path: str
    related_to: str
    related: tuple[Hit, ...]


@dataclass(frozen=True)
class IndexStats:
    """What an index holds: ``newssearch stats``."""

    index_dir: str
    generation: str
    articles: int
    seeds: int
    related: int
    oldest: datetime | None
    newest: datetime | None
    topics: tuple[FacetValue, ...]
    provider: tuple[FacetValue, ...]
    size_bytes: int
    updated: str
    schema_version: int


def open_index(index_dir: str | Path | None = None) -> IndexSearcher:
    """Open the index for searching (default: ``$NEWSSEARCH_INDEX``, else ``index``).

    Raises :class:`IndexNotFoundError` when there is no index there yet, and
    :class:`SchemaVersionError` when it was built by another schema version.
    """
    return IndexSearcher(store.resolve_index_dir(index_dir))


class IndexSearcher:
    """An open index. Keeps its Whoosh searcher and facet arrays between queries.

    Each call checks (one small file read) whether the index got a new
    generation and, if so, switches to it. Safe to share between threads:
    calls are serialised by a lock. For parallel queries, open one
    ``IndexSearcher`` per thread. Use it as a context manager, or call
    :meth:`close`.
    """

    _gen: Path
    _searcher: Any  # a Whoosh Searcher; None once closed

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._lock = threading.RLock()
        self._searcher = None
        self._open()

    # -- lifecycle ---------------------------------------------------------

    def _open(self) -> None:
        gen = store.live_generation(self.index_dir)
        try:
            ix = whoosh_index.open_dir(str(gen))
            searcher = ix.searcher()
            columns = Columns.load(gen)
            if columns.size != searcher.reader().doc_count_all():
                raise ValueError("facet arrays do not match the index")
            live = np.flatnonzero(columns.live)
            if len(live):
                # Open the stored fields now (Whoosh opens them on first use), so a
                # generation collected later cannot pull a file from under a search.
                searcher.stored_fields(int(live[0]))
        except Exception as exc:  # noqa: BLE001 - a damaged file can fail Whoosh in any way
            raise IndexCorruptError(str(self.index_dir), f"{gen.name}: {type(exc).__name__}: {exc}") from None
        old = self._searcher
        self._gen, self._searcher, self._columns = gen, searcher, columns
        self._meta = store.read_meta(gen)
        self._schema = ix.schema
        self._parser_instance = None
        self._speller = _Speller(searcher.reader(), gen)
        self._scorer = QueryScorer(searcher, columns)
        if old is not None:
            old.close()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Report what a damaged index file makes Whoosh raise as :class:`IndexCorruptError`."""
        try:
            yield
        except NewssearchError:
            raise
        except Exception as exc:
            if type(exc) is not Exception and not isinstance(exc, _DAMAGE_TYPES):
                raise  # a bug of ours: let the CLI report it as unexpected
            detail = f"{self._gen.name}: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
            raise IndexCorruptError(str(self.index_dir), detail) from None

    def refresh(self) -> bool:
        """Switch to the newest generation if the index changed. Returns whether it did."""
        with self._lock:
            gen = store.current_generation(self.index_dir)
            if gen is None or gen == self._gen:
                return False
            self._open()
            return True

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    def __enter__(self) -> IndexSearcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- searching ---------------------------------------------------------

    def search(
        self,
        query: str = "",
        *,
        topics: Iterable[str] = (),
        providers: Iterable[str] = (),
        category: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        now: str | datetime | None = None,
        sort: str = "relevance",
        limit: int = 10,
        page: int = 1,
        facet_limit: int = 10,
        date_facet: str = "year",
        fuzzy: bool = True,
    ) -> SearchResults:
        """Search the index.

        ``query`` uses Lucene-like syntax: all words must match; ``"a
        phrase"``, ``OR``, ``NOT word`` or ``-word``, ``field:value`` (title,
        excerpt, body, topic, provider, category), ``prefix*`` and
        ``word~`` (typo-tolerant, ``word~2`` for two typos). An empty query
        matches every article, newest first, which with filters is browsing.

        ``topics`` and ``providers`` keep articles having any of the values
        (case-insensitive); ``since``/``until`` are inclusive UTC bounds
        (``2020``, ``2020-06``, ``2020-06-12``, ISO datetimes, or ``7d``,
        ``4w``, ``6m``, ``1y`` back from ``now``). ``sort`` is relevance,
        newest or oldest. Facets count ``facet_limit`` values each and the
        date histogram is by ``date_facet`` (year, month or day). With
        ``fuzzy`` (default) a query that finds nothing is retried with its
        misspelled words corrected.

        Raises :class:`QueryError` for options it cannot read.
        """
        started = time.perf_counter()
        options = _Options.check(sort, limit, page, facet_limit, date_facet, since, until, now)
        query = query or ""
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
        with self._lock:
            self.refresh()
            columns = self._columns
            filters = self._filters(columns, topics, providers, category, options)
            q, text = self._parse(query)
            with self._reading():
                found = self._match(q)
            suggestion = None
            if fuzzy and q is not None and not found.match.any():
                corrected = self._speller.correct(query)
                if corrected is not None:
                    q2, text2 = self._parse(corrected)
                    with self._reading():
                        found2 = self._match(q2)
                    if found2.match.any():
                        q, text, found, suggestion = q2, text2, found2, corrected
            with self._reading():
                results = self._results(query, q, text, found, filters, options, suggestion)
        return _replace_took(results, started)

    def explain(self, query: str) -> str:
        """How ``query`` is read: the Whoosh query it becomes."""
        with self._lock:
            return self._parse(query)[1]

    def stats(self, limit: int = 10) -> IndexStats:
        """Counts, date span and top values of what the index holds."""
        with self._lock:
            self.refresh()
            c = self._columns
            live = c.live
            dated = c.published[live & c.dated()]
            return IndexStats(
                index_dir=str(self.index_dir),
                generation=self._gen.name,
                articles=int(live.sum()),
                seeds=int((live & ~c.related).sum()),
                related=int((live & c.related).sum()),
                oldest=from_timestamp(int(dated.min())) if len(dated) else None,
                newest=from_timestamp(int(dated.max())) if len(dated) else None,
                topics=c.topics.counts(live, limit),
                provider=c.provider.counts(live, limit),
                size_bytes=store.folder_size(self._gen),
                updated=str(self._meta.get("updated", "")),
                schema_version=int(self._meta.get("schema_version", 0)),
            )

    def article(self, url: str) -> StoredArticle | None:
        """The article whose url is ``url`` (exactly), or None when the index does not hold it."""
        with self._lock:
            self.refresh()
            with self._reading():
                docnum = self._docnum(url)
                if docnum is None:
                    return None
                payload = self._searcher.stored_fields(docnum)["payload"]
                if payload.get("kind") == "related":
                    urls = [payload.get("related_to", "")]
                else:
                    urls = self._related_urls().get(payload.get("path", ""), [])
                docs = [d for d in map(self._docnum, dict.fromkeys(urls)) if d is not None]
                related = tuple(self._hit(i + 1, d, None, frozenset()) for i, d in enumerate(docs))
            hit = self._hit(0, docnum, None, frozenset())
            return StoredArticle(
                url=hit.url,
                title=hit.title,
                kind=hit.kind,
                provider=hit.provider,
                domain=hit.domain,
                published=hit.published,
                topics=hit.topics,
                category=hit.category,
                excerpt=payload.get("excerpt", ""),
                body=payload.get("body", ""),
                path=hit.path,
                related_to=hit.related_to,
                related=related,
            )

    def _docnum(self, url: str) -> int | None:
        """The live document with this url: deleted ones keep their terms until a merge."""
        if not url:
            return None
        reader = self._searcher.reader()
        if ("url", url) not in reader:
            return None
        for docnum in reader.postings("url", url).all_ids():
            if self._columns.live[docnum]:
                return int(docnum)
        return None

    def _related_urls(self) -> dict[str, list[str]]:
        """Each seed file's related urls, as the indexer recorded them (read once per generation)."""
        cached = getattr(self, "_related_cache", None)
        if cached is None or cached[0] != self._gen:
            raw = store.load_json(self._gen / "related.json", {})  # indexing.RELATED_FILE: not imported, it is the indexer
            cached = (self._gen, dict(zip(raw.get("paths", []), raw.get("related", []))))
            self._related_cache = cached
        return cached[1]

    # -- the steps ---------------------------------------------------------

    @property
    def _parser(self):
        # Whoosh's query parser compiles dozens of regexes on import: a cold
        # "newssearch query" of plain words never needs it (see _plain_words_query).
        if self._parser_instance is None:
            self._parser_instance = _make_parser(self._schema)
        return self._parser_instance

    def _parse(self, query: str) -> tuple[wq.Query | None, str]:
        """The Whoosh query for ``query`` (None: match everything) and its readable form."""
        text = self._speller.expand_fuzzy(_unknown_fields_to_words(query))
        if not text.strip():
            return None, "<every article>"
        q = _plain_words_query(text)
        if q is not None:
            return q, str(q)
        try:
            q = self._parser.parse(text)
        except Exception:  # noqa: BLE001 - Whoosh's parser has many failure modes; fall back to words
            q = None
        if q is None or _is_broken(q):
            words = re.findall(r"\w+", text)
            if not words:
                return None, "<every article>"
            q = self._parser.parse(" ".join(words))
        if q is wq.NullQuery:
            return None, "<every article>"
        return q, str(q)

    def _match(self, q: wq.Query | None) -> Evaluation:
        if q is None:
            return Evaluation(self._columns.live.copy(), np.zeros(self._columns.size, dtype=np.float32))
        return self._scorer.evaluate(q)

    def _filters(self, columns: Columns, topics, providers, category, options: _Options) -> dict[str, np.ndarray]:
        filters: dict[str, np.ndarray] = {}
        topics = _values(topics)
        providers = _values(providers)
        if topics:
            filters["topics"] = columns.topics.mask(topics, columns.size)
        if providers:
            filters["provider"] = columns.provider.mask(providers, columns.size)
        if category:
            filters["category"] = columns.category.mask([category], columns.size)
        if options.since is not None or options.until is not None:
            low = to_timestamp(options.since) if options.since is not None else NO_DATE + 1
            high = to_timestamp(options.until) if options.until is not None else np.iinfo(np.int64).max
            filters["published"] = (columns.published >= low) & (columns.published <= high)
        return filters

    def _results(self, query, q, parsed, found: Evaluation, filters, options: _Options, suggestion) -> SearchResults:
        columns = self._columns

        def all_but(name: str | None) -> np.ndarray:
            mask = found.match
            for key, fmask in filters.items():
                if key != name:
                    mask = mask & fmask
            return mask

        final = all_but(None)
        total = int(final.sum())
        facets = Facets(
            topics=columns.topics.counts(all_but("topics"), options.facet_limit),
            provider=columns.provider.counts(all_but("provider"), options.facet_limit),
            published=columns.histogram(all_but("published"), options.date_facet),
        )
        dated = columns.published[final & columns.dated()]
        first = (options.page - 1) * options.limit
        sort = options.sort if q is not None else ("newest" if options.sort == "relevance" else options.sort)
        ranked = self._rank(final, found.score, total, first + options.limit, sort)[first:]
        terms = self._highlight_terms(q)
        hits = tuple(self._hit(first + i + 1, doc, score, terms) for i, (doc, score) in enumerate(ranked))
        return SearchResults(
            query=query,
            parsed=parsed,
            total=total,
            page=options.page,
            limit=options.limit,
            sort=options.sort,
            hits=hits,
            facets=facets,
            oldest=from_timestamp(int(dated.min())) if len(dated) else None,
            newest=from_timestamp(int(dated.max())) if len(dated) else None,
            suggestion=suggestion,
            took_ms=0.0,
        )

    def _rank(self, final: np.ndarray, scores: np.ndarray, total: int, wanted: int, sort: str) -> list[tuple[int, float | None]]:
        """The first ``wanted`` (docnum, score) pairs in result order; ties go by url."""
        if total == 0 or wanted <= 0:
            return []
        columns = self._columns
        docs = np.flatnonzero(final)
        if sort == "relevance":
            key = -scores[docs]
            if len(docs) > wanted:
                # Keep the top `wanted` and everything tied with the last of them.
                cut = np.partition(key, wanted - 1)[wanted - 1]
                keep = key <= cut
                docs, key = docs[keep], key[keep]
            order = np.lexsort((columns.url_rank[docs], key))[:wanted]
            return [(int(d), float(scores[d])) for d in docs[order]]
        published = columns.published[docs]
        if sort == "oldest":
            # Articles without a date go last either way.
            key = np.where(published == NO_DATE, np.iinfo(np.int64).max, published)
        else:
            key = -published
        order = np.lexsort((columns.url_rank[docs], key))[:wanted]
        return [(int(d), None) for d in docs[order]]

    def _hit(self, rank: int, docnum: int, score: float | None, terms: frozenset[str]) -> Hit:
        payload = self._searcher.stored_fields(docnum)["payload"]
        published = payload.get("published")
        return Hit(
            rank=rank,
            score=round(float(score), 4) if score is not None else None,
            title=payload["title"],
            url=payload["url"],
            provider=payload.get("provider", ""),
            domain=payload.get("domain", ""),
            published=datetime.fromisoformat(published.replace("Z", "+00:00")) if published else None,
            topics=tuple(payload.get("topics", ())),
            category=payload.get("category", ""),
            path=payload.get("path", ""),
            highlight=_highlight(payload, terms),
            kind=payload.get("kind", ""),
            related_to=payload.get("related_to", ""),
        )

    def _highlight_terms(self, q) -> frozenset[str]:
        """The index terms of the query's text fields, prefixes and fuzzy words expanded."""
        if q is None:
            return frozenset()
        # Not Query.existing_terms(): in Whoosh 2.7 its loop variable shadows its
        # ``fieldname`` argument, so it drops every field after the first one.
        reader = self._searcher.reader()
        terms = set()
        for leaf in q.leaves():
            for field, text in leaf.expanded_terms(reader, phrases=True):
                if field in TEXT_FIELDS:
                    terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
        return frozenset(terms)


def _highlight(payload: dict, terms: frozenset[str]) -> str:
    """A fragment of the excerpt or body, whichever holds more matched words; else the excerpt."""
    best, best_count = "", 0
    if terms:
        for field in ("excerpt", "body"):
            text, count = highlight.fragment(payload.get(field) or "", terms)
            if count > best_count:
                best, best_count = text, count
    return best or highlight.plain(payload.get("excerpt") or "")


# -- query parsing -------------------------------------------------------------


def _plain_words_query(text: str) -> wq.Query | None:
    """The query Whoosh's parser would build for plain words (each word in any
    text field, all words required), built directly; None for anything else."""
    words = text.split()
    if not words or any(w in _OPERATORS or not _PLAIN_WORD.fullmatch(w) for w in words):
        return None
    clauses = []
    for word in words:  # one plain word is one token: its term is term_of(word)
        term = term_of(word)
        clauses.append(wq.Or([wq.Term(f, term, boost=FIELD_BOOSTS[f]) for f in _PARSER_FIELD_ORDER]))
    return clauses[0] if len(clauses) == 1 else wq.And(clauses)


def _make_parser(schema):
    from whoosh import qparser

    parser = qparser.MultifieldParser(list(TEXT_FIELDS), schema, fieldboosts=FIELD_BOOSTS, group=qparser.AndGroup)
    # "+word" and "-word" only at the start of a word: "follow-up" is one hyphenated term.
    parser.add_plugin(qparser.PlusMinusPlugin(plusexpr=r"(?:(?<=\s)|(?<=^)|(?<=\())\+", minusexpr=r"(?:(?<=\s)|(?<=^)|(?<=\())-"))
    aliases: dict[str, list[str]] = {}
    for alias, field in FIELD_ALIASES.items():
        if alias != field:
            aliases.setdefault(field, []).append(alias)
    parser.add_plugin(qparser.FieldAliasPlugin(aliases))
    # Fuzzy terms are expanded before parsing (see _Speller); a stray "~" is a plain character.
    return parser


def _is_broken(q: wq.Query) -> bool:
    """Whether Whoosh read the string into terms of fields a user cannot have meant."""
    return any(isinstance(leaf, wq.Term) and leaf.fieldname not in _QUERY_FIELDS for leaf in q.leaves())


_QUERY_FIELDS = frozenset(TEXT_FIELDS) | {"category", "url"}


_FIELD_PREFIX = re.compile(r"(?<![\w\"])(\w+):", re.UNICODE)


def _unknown_fields_to_words(query: str) -> str:
    """Field names are case-insensitive; ``nosuchfield:value`` means the words "nosuchfield value"."""
    def fix(match: re.Match) -> str:
        name = match.group(1).lower()
        return name + ":" if name in FIELD_ALIASES else match.group(1) + " "

    return _FIELD_PREFIX.sub(fix, query)


_WORD = re.compile(r"\w+", re.UNICODE)
_PLAIN_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# MultifieldParser orders a word's fields by boost, highest first; so do we.
_PARSER_FIELD_ORDER = tuple(sorted(TEXT_FIELDS, key=lambda f: -FIELD_BOOSTS[f]))
_FUZZY = re.compile(r"(?<![\w~\"])(\w+)~(\d*)(?![\w~])", re.UNICODE)
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})
MAX_EXPANSIONS = 20  # index words one fuzzy term may stand for


class _Speller:
    """Typo tolerance over the index's own words (see :mod:`newssearch.vocab`)."""

    def __init__(self, reader, gen: Path) -> None:
        self._reader = reader
        self._gen = gen
        self._vocabulary: Vocabulary | None = None

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:  # loaded on the first typo, not on every start
            self._vocabulary = Vocabulary.load(self._gen)
        return self._vocabulary

    def known(self, word: str) -> bool:
        """Whether the index holds ``word`` (stemmed) in any text field."""
        terms = [term_of(m.group()) for m in TOKEN_PATTERN.finditer(word)]
        return bool(terms) and all(any(self._live(f, t) for f in TEXT_FIELDS) for t in terms)

    def _live(self, field: str, term: str) -> bool:
        """Whether a live document holds ``term``: the index keeps deleted documents' terms until a merge."""
        reader = self._reader
        return bool(reader.doc_frequency(field, term)) and reader.postings(field, term).is_active()

    def candidates(self, word: str, maxdist: int) -> list[str]:
        """Index words within ``maxdist`` edits of ``word``: closest, then most common, first."""
        folded = fold(word)
        if len(folded) != 1:
            return []
        if maxdist <= 0:
            return folded
        return [w for w in self.vocabulary.within(folded[0], maxdist) if self.known(w)]

    def expand_fuzzy(self, query: str) -> str:
        """Rewrite each ``word~`` / ``word~N`` into ``(w1 OR w2 ...)`` of index words."""

        def expand(match: re.Match) -> str:
            word, dist = match.group(1), match.group(2)
            maxdist = min(int(dist), 2) if dist else max(1, Vocabulary.budget(word))
            words = self.candidates(word, maxdist)[:MAX_EXPANSIONS]
            if not words:
                return word
            return "(" + " OR ".join(words) + ")" if len(words) > 1 else words[0]

        return _FUZZY.sub(expand, query)

    def correct(self, query: str) -> str | None:
        """``query`` with each word the index does not know replaced by its closest known word."""
        changed = False
        out, last = [], 0
        for match in _WORD.finditer(query):
            word = match.group(0)
            end = match.end()
            if word in _OPERATORS or query[end : end + 1] == ":" or self.known(word):
                continue
            options = self.candidates(word, Vocabulary.budget(word))
            if not options:
                continue
            out.append(query[last : match.start()])
            out.append(options[0])
            last = end
            changed = True
        if not changed:
            return None
        out.append(query[last:])
        return "".join(out)


# -- options -------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    sort: str
    limit: int
    page: int
    facet_limit: int
    date_facet: str
    since: datetime | None
    until: datetime | None

    @classmethod
    def check(cls, sort, limit, page, facet_limit, date_facet, since, until, now) -> _Options:
        if sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if date_facet not in DATE_FACETS:
            raise QueryError(f"date facet must be one of {', '.join(DATE_FACETS)}, not {date_facet!r}")
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
        if not isinstance(page, int) or page < 1:
            raise QueryError(f"page must be a whole number from 1, not {page!r}")
        if not isinstance(facet_limit, int) or facet_limit < 0:
            raise QueryError(f"facet limit must be a whole number from 0, not {facet_limit!r}")
        try:
            base = parse_bound(now, end=False) if now not in (None, "") else None
        except ValueError as exc:
            raise QueryError(f"now: {exc}") from None
        bounds: list[datetime | None] = []
        for name, value, end in (("since", since, False), ("until", until, True)):
            if value is None or value == "":
                bounds.append(None)
                continue
            try:
                bounds.append(parse_bound(value, end=end, now=base))
            except ValueError as exc:
                raise QueryError(f"{name}: {exc}") from None
        if bounds[0] and bounds[1] and bounds[0] > bounds[1]:
            raise QueryError(f"since ({since}) is after until ({until})")
        return cls(sort, limit, page, facet_limit, date_facet, bounds[0], bounds[1])


def _values(values) -> list[str]:
    """Filter values as a list: one string is one value, blanks are dropped."""
    if isinstance(values, str):
        values = [values]
    return [str(v).strip() for v in values or () if str(v).strip()]


def _replace_took(results: SearchResults, started: float) -> SearchResults:
    return replace(results, took_ms=round((time.perf_counter() - started) * 1000, 2))


