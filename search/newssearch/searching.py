"""Answer queries: :func:`open_index` and :class:`IndexSearcher`.

A search runs in three steps:

1. **Match and score.** The query string is parsed (Lucene-like syntax, all
   words required; :mod:`newssearch.query`) into a Whoosh query, which :mod:`newssearch.scoring`
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

Wildcards and fuzzy terms are expanded after parsing, from the index's own
vocabulary of unstemmed words (:mod:`newssearch.spelling`), into the terms they
stand for, within a budget shared by the whole query (see :mod:`newssearch.query`).
When the query finds nothing at all, misspelled words are corrected one by one
from that vocabulary and the search runs again; the corrected query is returned
as ``suggestion``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
from whoosh import query as wq

from . import highlight, scoring, store
from . import query as query_language
from .codec.toc import open_whoosh
from .dates import from_timestamp, to_timestamp
from .documents import Payload, shown_fields
from .docvalues import DocValues, count, docs_of, restrict
from .errors import ArticleNotFoundError, NewssearchError, QueryError, SearcherClosedError
from .facets import Facets, FacetValue
from .query import (  # noqa: F401 - Sort to MAX_QUERY_CHARS: the search options, public here as before
    DATE_FACETS,
    MAX_FACET_LIMIT,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    SORTS,
    DateFacet,
    Options,
    QueryReader,
    Sort,
)
from .recency import decay as recency_decay
from .schema import NO_DATE, TEXT_FIELDS
from .scoring import Evaluation, HasField, Nothing, QueryScorer
from .similar import SOURCE_FIELDS as SIMILAR_SOURCE_FIELDS
from .similar import Chosen, distinctive_terms, like_query
from .similar import explanation as like_explanation
from .spelling import Speller, term_text
from .synonyms import Synonyms
from .synonyms import resolve as resolve_synonyms
from .urls import normalize_url

# A search matching fewer than 1/SPARSE_FROM of the index's documents counts its facets, collapses
# and ranks over their docnums rather than over masks of the whole index (see _results): the same
# numbers, at the cost of the matches. Past it, passes over whole masks cost less than gathers.
SPARSE_FROM = 64

# The scores of some docnums (all matches of the search): Evaluation.scores_of, or the same with recency.
Scores = Callable[[np.ndarray], np.ndarray]


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
    title_highlight: str = ""  # the whole title as HTML, matched words in <mark>
    # With collapse: the other matches of this hit's near-duplicate cluster (the same story
    # under other providers and urls), which the results leave out, and their providers
    # (best ranked first, each once). 0 and () when there are none or collapse is off.
    similar_count: int = 0
    similar_providers: tuple[str, ...] = ()
    # The stored fields a caller asked for (``search(fields=...)``), by name: {"excerpt": ...}.
    fields: dict[str, Any] | None = dataclass_field(default=None, hash=False)


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
    suggestion: str | None  # the corrected query, when the original found nothing (its hits, if it finds any)
    took_ms: float
    notes: tuple[str, ...] = ()  # what the reader should know about how the query ran (a capped wildcard)


@dataclass(frozen=True)
class StoredArticle:
    """One article as the index stores it: :meth:`IndexSearcher.get`.

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
    # The other articles of its near-duplicate cluster (the same story under other providers
    # and urls, see newssearch.neardup), oldest first, undated last, ties by url.
    duplicates: tuple[Hit, ...] = ()


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


def open_index(index_dir: str | Path | None = None, *, synonyms: Synonyms | str | Path | bool | None = True) -> IndexSearcher:
    """Open the index for searching (default: ``$NEWSSEARCH_INDEX``, else ``index``).

    ``synonyms`` expand query words (:mod:`newssearch.synonyms`): True (the
    default) reads the file ``$NEWSSEARCH_SYNONYMS`` names, else the list
    shipped with newssearch; None or False searches without synonyms; or a
    path of a synonyms file, or a :class:`Synonyms`. They apply when a query
    is read, so changing them needs no re-index.

    Raises :class:`IndexNotFoundError` when there is no index there yet,
    :class:`SchemaVersionError` when it was built by another schema version,
    and :class:`SynonymsError` for a synonyms file that cannot be read.

    This opens the local engine's index. :func:`newssearch.open_index` (the
    library's name) also takes the url of a remote engine in place of
    ``index_dir`` (see :mod:`newssearch.engines`).
    """
    return IndexSearcher(store.resolve_index_dir(index_dir), synonyms=synonyms)


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

    def __init__(self, index_dir: Path, *, synonyms: Synonyms | str | Path | bool | None = True) -> None:
        self.index_dir = index_dir
        self.synonyms = resolve_synonyms(synonyms)  # before the index: a bad file is reported as such
        self._lock = threading.RLock()
        self._searcher = None
        self._open()

    # -- lifecycle ---------------------------------------------------------

    def _open(self) -> None:
        gen = store.live_generation(self.index_dir)
        try:
            ix = open_whoosh(gen)
            searcher = ix.searcher()
            columns = DocValues.load(gen)
            if columns.size != searcher.reader().doc_count_all():
                raise ValueError("facet arrays do not match the index")
            live = np.flatnonzero(columns.live)
            if len(live):
                # Open the stored fields now (Whoosh opens them on first use), so a
                # generation collected later cannot pull a file from under a search.
                searcher.stored_fields(int(live[0]))
        except Exception as exc:  # noqa: BLE001 - a damaged file can fail Whoosh in any way
            raise store.damaged(self.index_dir, gen, exc) from None
        old = self._searcher
        self._gen, self._searcher, self._columns = gen, searcher, columns
        self._meta = store.read_meta(gen)
        self._speller = Speller(searcher.reader(), gen, columns)
        self._query_reader = QueryReader(ix.schema, self._speller, self.synonyms)
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
            if type(exc) is not Exception and not isinstance(exc, store.READ_FAILURES):
                raise  # a bug of ours: let the CLI report it as unexpected
            raise store.damaged(self.index_dir, self._gen, exc) from None

    def refresh(self) -> bool:
        """Switch to the newest generation if the index changed. Returns whether it did.

        Raises :class:`SearcherClosedError` after :meth:`close`.
        """
        with self._lock:
            self._check_open()
            gen = store.current_generation(self.index_dir)
            if gen is None or gen == self._gen:
                return False
            self._open()
            return True

    def _check_open(self) -> None:
        if self._searcher is None:
            raise SearcherClosedError(str(self.index_dir))

    def close(self) -> None:
        """Release the index files. Searching afterwards raises :class:`SearcherClosedError`."""
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
        sort: Sort = "relevance",
        limit: int = 10,
        page: int = 1,
        facet_limit: int = 10,
        date_facet: DateFacet = "year",
        fuzzy: bool = True,
        recency: str | timedelta | None = None,
        collapse: bool = True,
        fields: Iterable[str] = (),
    ) -> SearchResults:
        """Search the index.

        ``query`` uses Lucene-like syntax: all words must match; ``"a
        phrase"``, ``OR``, ``NOT word`` or ``-word`` (alone: every article
        but those), ``field:value`` (title, excerpt, body, topic, provider,
        category, url), wildcards ``polic*``/``po?ice`` over the words as
        typed, and ``word~`` (typo-tolerant, ``word~2`` for two typos).
        Wildcard and fuzzy terms are capped (:data:`MAX_CLAUSES`,
        :data:`MAX_POSTINGS`, :data:`MAX_FUZZY_TERMS`; ``notes`` says when).
        An empty query matches every article, newest first, which with
        filters is browsing; so does a query nothing scores, and the results'
        ``sort`` says so.

        ``topics`` and ``providers`` keep articles having any of the values
        (case-insensitive); ``since``/``until`` are inclusive UTC bounds
        (``2020``, ``2020-06``, ``2020-06-12``, ISO datetimes, or ``7d``,
        ``4w``, ``6m``, ``1y`` back from ``now``). ``sort`` is relevance,
        newest or oldest. Facets count ``facet_limit`` values each and the
        date histogram is by ``date_facet`` (year, month or day). With
        ``fuzzy`` (default) a query that finds nothing is retried with its
        misspelled words corrected.

        Query words are expanded with the searcher's synonyms (see
        :func:`open_index`; ``parsed`` shows the expansions).

        ``recency`` (a half-life: ``12h``, ``30d``, ``4w``, ``6m``, ``1y`` or
        a ``timedelta``) multiplies each relevance score by a decay on the
        article's age at ``now`` (:mod:`newssearch.recency`); other sorts
        ignore it.

        With ``collapse`` (default) the matches of one near-duplicate cluster
        (the same story under other providers and urls, see
        :mod:`newssearch.neardup`) are one hit, the best ranked under
        ``sort``; its ``similar_count`` and ``similar_providers`` say what it
        stands for. ``total``, paging and every facet count then count such
        hits: a facet value's count is the total that choosing it gives.
        ``fields`` names stored fields (:data:`STORED_FIELDS`, e.g. ``excerpt``)
        each hit carries in ``Hit.fields``.

        Raises :class:`QueryError`, one line naming the argument, for an
        argument of the wrong type or range (``limit=True`` is not a number),
        and :class:`SearcherClosedError` after :meth:`close`.
        """
        started = time.perf_counter()
        options = Options.check(
            query=query, topics=topics, providers=providers, category=category, since=since, until=until,
            now=now, sort=sort, limit=limit, page=page, facet_limit=facet_limit, date_facet=date_facet, fuzzy=fuzzy,
            recency=recency,
        )
        if not isinstance(collapse, bool):
            raise QueryError(f"collapse must be True or False, not {collapse!r}")
        wanted = check_fields(fields)
        query = query or ""
        with self._lock:
            self._check_open()
            self.refresh()
            columns = self._columns
            filters = self._filters(columns, options)
            q, text, capped, found, suggestion = self._match_or_correct(query, fuzzy)
            with self._reading():
                results = self._results(query, q, text, found, filters, options, suggestion, capped, collapse, wanted)
        return _replace_took(results, started)

    def _match_or_correct(self, query: str, fuzzy: bool) -> tuple[wq.Query | None, str, bool, Evaluation, str | None]:
        """Parse and match ``query``; if it finds nothing (and ``fuzzy``), its typos corrected.

        Returns the query that ran, its readable form, whether its expansions were
        capped, its matches, and the corrected query if one was made (offered even
        when it finds nothing either: a word that cannot be corrected keeps it
        empty, but the others were still typos).
        """
        q, text, capped = self._parse(query)
        with self._reading():
            found = self._match(q)
        suggestion = None
        if fuzzy and q is not None and not found.any():
            suggestion = self._speller.correct(query)
            if suggestion is not None:
                q2, text2, capped2 = self._parse(suggestion)
                with self._reading():
                    found2 = self._match(q2)
                if found2.any():
                    q, text, capped, found = q2, text2, capped2, found2
        return q, text, capped, found, suggestion

    def similar(
        self,
        url: str,
        *,
        topics: Iterable[str] = (),
        providers: Iterable[str] = (),
        category: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        now: str | datetime | None = None,
        sort: Sort = "relevance",
        limit: int = 10,
        page: int = 1,
        facet_limit: int = 10,
        date_facet: DateFacet = "year",
        recency: str | timedelta | None = None,
        collapse: bool = True,
    ) -> SearchResults:
        """Articles like the one at ``url``: a search for its most distinctive words.

        The words are picked as Lucene's MoreLikeThis picks them (tf-idf over
        its title, excerpt and body; see :mod:`newssearch.similar`); the
        results' ``parsed`` lists them with their weights (``--explain``).
        The article itself and the other articles of its story (its
        near-duplicate cluster) are left out. The other arguments are those of
        :meth:`search`.

        Raises :class:`ArticleNotFoundError` (a ``LookupError``) when the
        index holds no article with this url (in any spelling, see
        :func:`~newssearch.urls.normalize_url`), and :class:`QueryError` for a
        bad argument.
        """
        started = time.perf_counter()
        if not isinstance(url, str):
            raise QueryError(f"url must be a string, not {type(url).__name__}")
        options = Options.check(
            query="", topics=topics, providers=providers, category=category, since=since, until=until,
            now=now, sort=sort, limit=limit, page=page, facet_limit=facet_limit, date_facet=date_facet, fuzzy=True,
            recency=recency,
        )
        if not isinstance(collapse, bool):
            raise QueryError(f"collapse must be True or False, not {collapse!r}")
        with self._lock:
            self._check_open()
            self.refresh()
            with self._reading():
                docnum = self._docnum(url)
                if docnum is None:
                    raise ArticleNotFoundError(url, str(self.index_dir))
                chosen = self._distinctive_terms(docnum)
                q = like_query(chosen)
                found = self._match(q) if q is not None else Evaluation(
                    np.zeros(self._columns.size, dtype=bool), np.zeros(self._columns.size, dtype=np.float32)
                )
                found.match &= ~self._same_story(docnum)
                filters = self._filters(self._columns, options)
                results = self._results(
                    url, q if q is not None else Nothing("no distinctive words"), like_explanation(url, chosen),
                    found, filters, options, None, False, collapse,
                )
        return _replace_took(results, started)

    def _distinctive_terms(self, docnum: int) -> list[Chosen]:
        """The article's most distinctive terms (:func:`newssearch.similar.distinctive_terms`)."""
        payload = self._searcher.stored_fields(docnum)["payload"]
        reader = self._searcher.reader()

        def doc_frequency(term: str) -> int:
            return max(reader.doc_frequency(field, term) for field in SIMILAR_SOURCE_FIELDS)

        texts = {field: payload.get(field) or "" for field in SIMILAR_SOURCE_FIELDS}
        return distinctive_terms(texts, doc_frequency, int(self._columns.live.sum()))

    def _same_story(self, docnum: int) -> np.ndarray:
        """The articles that tell the same story as ``docnum`` (itself included), as a mask.

        What :meth:`similar` leaves out: the article and its near-duplicate
        cluster (its syndicated copies, see :mod:`newssearch.neardup`).
        """
        mask = np.zeros(self._columns.size, dtype=bool)
        mask[docnum] = True
        mask[self._duplicates(docnum)] = True
        return mask

    def explain(self, query: str) -> str:
        """How ``query`` is read: the Whoosh query it becomes."""
        if not isinstance(query, str):
            raise QueryError(f"query must be a string, not {type(query).__name__}")
        with self._lock:
            self._check_open()
            return self._parse(query)[1]

    def stats(self, limit: int = 10) -> IndexStats:
        """Counts, date span and top values of what the index holds."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise QueryError(f"limit must be a whole number from 0, not {limit!r}")
        with self._lock:
            self._check_open()
            self.refresh()
            c = self._columns
            live = c.live
            oldest, newest = _span(c.published[live & c.dated()])
            return IndexStats(
                index_dir=str(self.index_dir),
                generation=self._gen.name,
                articles=int(live.sum()),
                seeds=int((live & ~c.related).sum()),
                related=int((live & c.related).sum()),
                oldest=oldest,
                newest=newest,
                topics=c.topics.counts(live, limit),
                provider=c.provider.counts(live, limit),
                size_bytes=store.folder_size(self._gen),
                updated=self._meta.updated,
                schema_version=self._meta.schema_version,
            )

    def get(self, url: str) -> StoredArticle | None:
        """The article at ``url`` (in any spelling of it: urls are compared normalised, see
        :mod:`newssearch.urls`), with its related articles and near-duplicates; None when
        the index does not hold it."""
        if not isinstance(url, str):
            raise QueryError(f"url must be a string, not {type(url).__name__}")
        with self._lock:
            self._check_open()
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
                related = tuple(self._hit(i + 1, d, None, _Marks()) for i, d in enumerate(docs))
                duplicates = tuple(self._hit(i + 1, d, None, _Marks()) for i, d in enumerate(self._duplicates(docnum)))
            return _stored_article(payload, related, duplicates)

    article = get  # the name before ``get``; kept for callers of the library

    def _duplicates(self, docnum: int) -> list[int]:
        """The other live documents of ``docnum``'s near-duplicate cluster: oldest first, undated last."""
        c = self._columns
        if not c.clustered()[docnum]:
            return []
        docs = np.flatnonzero((c.cluster == c.cluster[docnum]) & c.live)
        docs = docs[docs != docnum]
        order = np.lexsort((c.url_rank[docs], self._sort_key(docs, None, "oldest")))
        return docs[order].tolist()

    def articles(self) -> Iterator[StoredArticle]:
        """Every article of the index, in url order, as :meth:`get` gives one but without ``related`` and ``duplicates``.

        The way through the whole index for exports: one generation is read from
        the first article to the last (a re-index that lands meanwhile is not
        seen), and other calls on this searcher wait until the iteration ends.
        """
        for _docnum, payload, _columns in self._in_url_order():
            yield _stored_article(payload)

    def records(self) -> Iterator[tuple[Payload, str, tuple[str, ...], str]]:
        """Every article as a remote engine stores it: its stored payload, the url of its story
        (the least url of its near-duplicate cluster, its own for an article alone), and the
        names its topics and its provider have in facet counts (the commonest spelling over
        the index, see :class:`~newssearch.docvalues.Labels`). In url order, from one
        generation, as :meth:`articles`."""
        for docnum, payload, columns in self._in_url_order():
            lead = int(columns.cluster[docnum])
            with self._reading():
                story = payload["url"] if lead == docnum else self._searcher.stored_fields(lead)["payload"]["url"]
            topics = tuple(columns.topics.shown(value) for value in payload.get("topics", ()))
            yield payload, normalize_url(story), topics, columns.provider.shown(payload.get("provider") or "")

    def _in_url_order(self) -> Iterator[tuple[int, Payload, DocValues]]:
        """Every live document, its stored payload and the generation's doc values, in url
        order, from one generation (other calls on this searcher wait until the iteration ends)."""
        with self._lock:
            self.refresh()
            columns = self._columns
            live = np.flatnonzero(columns.live)
            order = live[np.argsort(columns.url_rank[live], kind="stable")]
            for docnum in order.tolist():
                with self._reading():
                    payload: Payload = self._searcher.stored_fields(docnum)["payload"]
                yield docnum, payload, columns

    def _docnum(self, url: str) -> int | None:
        """The live document with this url (normalised, as the index term is): deleted ones
        keep their terms until a merge."""
        url = normalize_url(url) if isinstance(url, str) else ""
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
            cached = (self._gen, store.load_related(self._gen))
            self._related_cache = cached
        return cached[1]

    # -- the steps ---------------------------------------------------------

    def _parse(self, query: str) -> tuple[wq.Query | None, str, bool]:
        """The Whoosh query for ``query`` (see :meth:`QueryReader.read`), with its words' synonyms."""
        return self._query_reader.read(query, self._reading)

    def _match(self, q: wq.Query | None) -> Evaluation:
        if q is None:
            return Evaluation(self._columns.live.copy(), np.zeros(self._columns.size, dtype=np.float32))
        return self._scorer.evaluate(q)

    def _filters(self, columns: DocValues, options: Options) -> dict[str, np.ndarray]:
        filters: dict[str, np.ndarray] = {}
        if options.topics:
            filters["topics"] = columns.topics.mask(options.topics, columns.size)
        if options.providers:
            filters["provider"] = columns.provider.mask(options.providers, columns.size)
        if options.category:
            filters["category"] = columns.category.mask([options.category], columns.size)
        if options.since is not None or options.until is not None:
            low = to_timestamp(options.since) if options.since is not None else NO_DATE + 1
            high = to_timestamp(options.until) if options.until is not None else np.iinfo(np.int64).max
            filters["published"] = (columns.published >= low) & (columns.published <= high)
        return filters

    def _results(
        self, query, q, parsed, found: Evaluation, filters, options: Options, suggestion, capped, collapse=False, wanted=()
    ) -> SearchResults:
        columns = self._columns
        # What follows runs on a selection of documents (docvalues.docs_of): the mask over the
        # index, or, for a search matching few, their sorted docnums, so that facets, collapsing
        # and ranking cost the number of matches, not of documents (the masks' passes over the
        # 3 million pairs of a million seeds' facets were a 25 ms floor under every query).
        if found.is_sparse():  # the scorer's own sparse form: few matches (scoring.SPARSE_FROM)
            matched = found.docs
        else:
            matched = found.match
            if count(matched) * SPARSE_FROM < columns.size:
                matched = np.flatnonzero(matched)

        def all_but(name: str | None) -> np.ndarray:
            chosen = matched
            for key, fmask in filters.items():
                if key != name:
                    chosen = restrict(chosen, fmask)
            return chosen

        matches = all_but(None)
        sort = options.sort
        if sort == "relevance" and (q is None or (count(matches) and not found.scores_of(matches).any())):
            # Nothing to rank by (an empty query, only negations or filters-like
            # fields such as category:): newest first, and say so.
            sort = "newest"
        # Facet counts count what paging counts: clusters when collapsed (see search()).
        group = columns.cluster if collapse else None
        facets = Facets(
            topics=columns.topics.counts(all_but("topics"), options.facet_limit, group, columns.clustered()),
            provider=columns.provider.counts(all_but("provider"), options.facet_limit, group, columns.clustered()),
            published=columns.histogram(
                all_but("published"),
                options.date_facet,
                options.facet_limit,
                until=to_timestamp(options.until) if options.until is not None else None,
                group=group,
            ),
        )
        oldest, newest = _span(columns.published[restrict(matches, columns.dated())])
        scores = self._ranking_scores(matches, found, sort, options)
        final, others = self._collapse(matches, scores, sort) if collapse else (matches, None)
        total = count(final)
        first = (options.page - 1) * options.limit
        ranked = self._rank(final, scores, total, first + options.limit, sort)[first:]
        marks = self._marks(q)
        hits = tuple(self._hit(first + i + 1, doc, score, marks, others, wanted) for i, (doc, score) in enumerate(ranked))
        notes: tuple[str, ...] = ()
        if capped:
            notes = (
                "wildcard and fuzzy terms stood for more than a query may search "
                f"({query_language.MAX_CLAUSES:,} index terms, {query_language.MAX_POSTINGS:,} postings, "
                f"{query_language.MAX_FUZZY_TERMS} fuzzy words): "
                "only the most common words (for fuzzy terms, the closest) were searched",
            )
        if found.left_out:
            parts = ", ".join(found.left_out)
            notes += (
                f"left out {len(found.left_out)} of the commonest words or phrases, to keep the query fast "
                f"(a query reads at most {scoring.MAX_WORD_POSTINGS:,} postings): {parts}",
            )
        return SearchResults(
            query=query,
            parsed=parsed,
            total=total,
            page=options.page,
            limit=options.limit,
            sort=sort,
            hits=hits,
            facets=facets,
            oldest=oldest,
            newest=newest,
            suggestion=suggestion,
            took_ms=0.0,
            notes=notes,
        )

    def _collapse(self, matches: np.ndarray, scores: Scores, sort: str) -> tuple[np.ndarray, _Others | None]:
        """``matches`` with one document per near-duplicate cluster, the first in result order,
        and the others of each cluster. Only the matches in clusters of two or more are
        sorted (a few percent of an index): the cost stays far below the query's."""
        columns = self._columns
        docs = docs_of(restrict(matches, columns.clustered()))
        if not len(docs):
            return matches, None
        clusters = columns.cluster[docs]
        order = np.lexsort((columns.url_rank[docs], self._sort_key(docs, scores, sort), clusters))
        docs, clusters = docs[order], clusters[order]
        first = np.concatenate(([True], clusters[1:] != clusters[:-1]))
        if matches.dtype == bool:
            final = matches.copy()
            final[docs[~first]] = False
        else:
            final = _without(matches, docs[~first])
        return final, _Others(docs, clusters)

    def _sort_key(self, docs: np.ndarray, scores: Scores | None, sort: str) -> np.ndarray:
        """The key of ``docs`` in result order, lowest first (ties go by url)."""
        if sort == "relevance":
            assert scores is not None
            return -scores(docs)
        published = self._columns.published[docs]
        if sort == "oldest":
            return np.where(published == NO_DATE, np.iinfo(np.int64).max, published)  # undated last
        return -published

    def _ranking_scores(self, matches: np.ndarray, found: Evaluation, sort: str, options: Options) -> Scores:
        """The scores results are ranked by: with ``options.recency`` and a relevance sort, each match's
        score times its recency decay (:func:`newssearch.recency.decay`), computed over the matches only.
        Collapsing and paging both rank by them: a cluster shows its best copy as ranked."""
        if sort != "relevance" or options.recency is None:
            return found.scores_of
        docs = docs_of(matches)
        now = to_timestamp(options.now if options.now is not None else datetime.now(UTC))
        ranked = found.scores_of(docs) * recency_decay(self._columns.published[docs], now, options.recency)
        return lambda chosen: ranked[np.searchsorted(docs, chosen)]  # chosen: some of the matches

    def _rank(self, final: np.ndarray, scores: Scores, total: int, wanted: int, sort: str) -> list[tuple[int, float | None]]:
        """The first ``wanted`` (docnum, score) pairs in result order; ties go by url."""
        if total == 0 or wanted <= 0:
            return []
        columns = self._columns
        docs = docs_of(final)
        if sort == "relevance":
            key = -scores(docs)
        else:
            published = columns.published[docs]
            # Articles without a date go last either way.
            key = np.where(published == NO_DATE, np.iinfo(np.int64).max, published) if sort == "oldest" else -published
        docs, key = top_by_key_and_rank(docs, key, columns.url_rank, wanted)
        order = np.lexsort((columns.url_rank[docs], key))[:wanted]
        if sort == "relevance":
            return [(int(d), float(-k)) for d, k in zip(docs[order], key[order])]
        return [(int(d), None) for d in docs[order]]

    def _hit(self, rank: int, docnum: int, score: float | None, marks: _Marks, others: _Others | None = None,
             wanted: tuple[str, ...] = ()) -> Hit:
        payload: Payload = self._searcher.stored_fields(docnum)["payload"]
        shown = shown_fields(payload)
        similar: list[int] = others.of(docnum) if others is not None else []
        providers = [p for p in dict.fromkeys(self._columns.provider_of(np.array(similar, dtype=np.int64))) if p]
        return Hit(
            rank=rank,
            score=round(float(score), 4) if score is not None else None,
            highlight=_highlight(payload, marks),
            title_highlight=highlight.marked(shown["title"], *marks.of("title")),
            similar_count=len(similar),
            similar_providers=tuple(providers),
            fields={name: _stored_value(payload, shown, name) for name in wanted} if wanted else None,
            **shown,
        )

    def _marks(self, q) -> _Marks:
        """What to mark in each text field: the query's words and phrases, not its negated ones."""
        marks = _Marks()
        if q is not None:
            marks.collect(q, self._searcher.reader())
        return marks


class _Others:
    """The matches of the clusters of two or more, grouped by cluster, each group in result order."""

    def __init__(self, docs: np.ndarray, clusters: np.ndarray) -> None:
        self.docs, self.clusters = docs, clusters
        self._where = {int(d): i for i, d in enumerate(docs.tolist())}

    def of(self, docnum: int) -> list[int]:
        """The other matches of ``docnum``'s cluster, in result order."""
        i = self._where.get(docnum)
        if i is None:
            return []
        c = self.clusters[i]
        lo, hi = np.searchsorted(self.clusters, c, "left"), np.searchsorted(self.clusters, c, "right")
        return [d for d in self.docs[lo:hi].tolist() if d != docnum]


# Stored fields a hit can carry in ``Hit.fields`` (``search(fields=...)``, ``query --fields``).
STORED_FIELDS = ("excerpt", "body", "title", "url", "provider", "domain", "published", "topics", "category",
                 "path", "kind", "related_to")


def check_fields(fields: Iterable[str]) -> tuple[str, ...]:
    """``fields`` as a tuple of stored field names; :class:`QueryError` naming the unknown ones."""
    if isinstance(fields, str):
        fields = [f for f in fields.split(",") if f.strip()]
    try:
        names = tuple(dict.fromkeys(str(f).strip() for f in fields))
    except TypeError:
        raise QueryError(f"fields must be a list of field names, not {type(fields).__name__}") from None
    unknown = [n for n in names if n not in STORED_FIELDS]
    if unknown:
        raise QueryError(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
                         f"choose from {', '.join(STORED_FIELDS)}")
    return names


def _stored_value(payload: Payload, shown: dict[str, Any], name: str) -> Any:
    return shown[name] if name in shown else payload.get(name, "")


class _Marks:
    """Per text field, the index terms to mark and the phrases (terms and slop) to mark as a whole."""

    def __init__(self) -> None:
        self.terms: dict[str, set[str]] = {}
        self.phrases: dict[str, list[highlight.Phrase]] = {}

    def of(self, field: str) -> tuple[frozenset[str], tuple[highlight.Phrase, ...]]:
        return frozenset(self.terms.get(field, ())), tuple(self.phrases.get(field, ()))

    def any(self) -> bool:
        return any(self.terms.values()) or any(self.phrases.values())

    def collect(self, q: wq.Query, reader) -> None:
        if isinstance(q, (wq.Not, Nothing, HasField)):
            return  # a negated word is not what was found
        if isinstance(q, wq.AndNot):
            self.collect(q.a, reader)
            return
        if isinstance(q, wq.Phrase):
            words = tuple(term_text(w) for w in q.words)
            if q.fieldname in TEXT_FIELDS and words:
                if len(words) == 1:
                    self.terms.setdefault(q.fieldname, set()).add(words[0])
                else:
                    self.phrases.setdefault(q.fieldname, []).append((words, int(q.slop)))
            return
        if isinstance(q, wq.Term):
            if q.fieldname in TEXT_FIELDS:
                self.terms.setdefault(q.fieldname, set()).add(term_text(q.text))
            return
        if not q.is_leaf():
            for child in q.children():
                self.collect(child, reader)
            return
        # Anything else Whoosh can expand (a range): the terms it stands for.
        for field, text in q.expanded_terms(reader, phrases=True):
            if field in TEXT_FIELDS:
                self.terms.setdefault(field, set()).add(term_text(text))


_FRAGMENT_FIELDS: tuple[Literal["excerpt"], Literal["body"]] = ("excerpt", "body")


def _stored_article(payload: Payload, related: tuple[Hit, ...] = (), duplicates: tuple[Hit, ...] = ()) -> StoredArticle:
    """An article as the index stores it, from its stored payload."""
    return StoredArticle(**shown_fields(payload), excerpt=payload.get("excerpt", ""), body=payload.get("body", ""),
                         related=related, duplicates=duplicates)


def _highlight(payload: Payload, marks: _Marks) -> str:
    """A fragment of the excerpt or body, whichever shows more matched words.

    When neither holds a match the fragment is empty if the query matched in
    the title, topics or provider (the title is marked instead: the excerpt
    would be unrelated text), and the start of the excerpt when the query
    marks nothing (an empty query, only negations or filters).
    """
    best, best_count = "", 0
    for field in _FRAGMENT_FIELDS:
        terms, phrases = marks.of(field)
        if terms or phrases:
            text, count = highlight.fragment(payload.get(field) or "", terms, phrases=phrases)
            if count > best_count:
                best, best_count = text, count
    if best or marks.any():
        return best
    return highlight.plain(payload.get("excerpt") or "")


def _without(docs: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """Sorted docnums ``docs`` less those in ``removed`` (np.isin would import numpy.ma into a cold query)."""
    if not len(removed):
        return docs
    removed = np.sort(removed)
    at = np.searchsorted(removed, docs).clip(max=len(removed) - 1)
    return docs[removed[at] != docs]


def _span(published: np.ndarray) -> tuple[datetime | None, datetime | None]:
    """The oldest and newest of some dates (seconds since the epoch), or (None, None) for none."""
    if not len(published):
        return None, None
    return from_timestamp(int(published.min())), from_timestamp(int(published.max()))


def _replace_took(results: SearchResults, started: float) -> SearchResults:
    return replace(results, took_ms=round((time.perf_counter() - started) * 1000, 2))


def top_by_key_and_rank(docs: np.ndarray, key: np.ndarray, rank: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``wanted`` of ``docs`` that come first by ``key``, ties by ``rank`` (a permutation: no two
    documents share one), with their keys, in no particular order.

    A partition, not a sort: the ones better than the ``wanted``-th key, and of those tied with it
    the ones of least rank. (Sorting every match by both was 0.8 s for "*" at a million seeds,
    2.9 million matches of one score.)
    """
    if len(docs) <= wanted:
        return docs, key
    cut = np.partition(key, wanted - 1)[wanted - 1]
    keep = key < cut
    tied = np.flatnonzero(key == cut)
    need = wanted - int(np.count_nonzero(keep))
    if len(tied) > need:
        tied = tied[np.argpartition(rank[docs[tied]], need - 1)[:need]]
    keep[tied] = True
    return docs[keep], key[keep]
