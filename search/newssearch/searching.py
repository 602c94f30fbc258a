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

Wildcards and fuzzy terms are expanded after parsing, from the index's own
vocabulary of unstemmed words (:mod:`newssearch.vocab`), into the terms they
stand for, within a budget shared by the whole query (:data:`MAX_CLAUSES`,
:data:`MAX_POSTINGS`, :data:`MAX_FUZZY_TERMS`). When the query finds nothing
at all, misspelled words are corrected one by one from that vocabulary and
the search runs again; the corrected query is returned as ``suggestion``.
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
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq

from . import highlight, store
from .dates import from_timestamp, parse_bound, to_timestamp
from .errors import IndexCorruptError, NewssearchError, QueryError, SearcherClosedError
from .facets import Columns, Facets, FacetValue
from .scoring import Evaluation, HasField, Nothing, QueryScorer
from .schema import FIELD_ALIASES, FIELD_BOOSTS, NO_DATE, TEXT_FIELDS, fold_word, term_of
from .schema import terms as analysed_terms
from .vocab import Vocabulary, fold, wildcard_regex

# What Whoosh raises on a truncated or garbled file; its own failures are bare Exceptions.
_DAMAGE_TYPES = (OSError, EOFError, ValueError, KeyError, IndexError, struct.error, pickle.UnpicklingError, zlib.error)

Sort = Literal["relevance", "newest", "oldest"]
DateFacet = Literal["year", "month", "day"]
SORTS: tuple[Sort, ...] = get_args(Sort)
DATE_FACETS: tuple[DateFacet, ...] = get_args(DateFacet)
MAX_LIMIT = 1000
MAX_FACET_LIMIT = 1000
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
    title_highlight: str = ""  # the whole title as HTML, matched words in <mark>


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
        self._speller = _Speller(searcher.reader(), gen, columns)
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

        Raises :class:`QueryError`, one line naming the argument, for an
        argument of the wrong type or range (``limit=True`` is not a number),
        and :class:`SearcherClosedError` after :meth:`close`.
        """
        started = time.perf_counter()
        options = _Options.check(
            query=query, topics=topics, providers=providers, category=category, since=since, until=until,
            now=now, sort=sort, limit=limit, page=page, facet_limit=facet_limit, date_facet=date_facet, fuzzy=fuzzy,
        )
        query = query or ""
        with self._lock:
            self._check_open()
            self.refresh()
            columns = self._columns
            filters = self._filters(columns, options)
            q, text, capped = self._parse(query)
            with self._reading():
                found = self._match(q)
            suggestion = None
            if fuzzy and q is not None and not found.match.any():
                corrected = self._speller.correct(query)
                if corrected is not None:
                    # Offered even when the corrected query finds nothing either (a word
                    # that cannot be corrected keeps it empty): the others were still typos.
                    suggestion = corrected
                    q2, text2, capped2 = self._parse(corrected)
                    with self._reading():
                        found2 = self._match(q2)
                    if found2.match.any():
                        q, text, capped, found = q2, text2, capped2, found2
            with self._reading():
                results = self._results(query, q, text, found, filters, options, suggestion, capped)
        return _replace_took(results, started)

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
                updated=self._meta.updated,
                schema_version=self._meta.schema_version,
            )

    # -- the steps ---------------------------------------------------------

    @property
    def _parser(self):
        # Whoosh's query parser compiles dozens of regexes on import: a cold
        # "newssearch query" of plain words never needs it (see _plain_words_query).
        if self._parser_instance is None:
            self._parser_instance = _make_parser(self._schema, self._speller)
        return self._parser_instance

    def _parse(self, query: str) -> tuple[wq.Query | None, str, bool]:
        """The Whoosh query for ``query`` (None: match everything), its readable form,
        and whether wildcard or fuzzy terms were cut to :data:`MAX_CLAUSES`."""
        text = _unknown_fields_to_words(query)
        if not text.strip():
            return None, "<every article>", False
        q = _plain_words_query(text)
        if q is not None:
            return q, str(q), False
        # A dangling AND/OR (or a trailing NOT) joins nothing: ignore it rather
        # than search for the word "or". An operator alone is still a word.
        text = _DANGLING.sub(" ", text).strip() or text
        parser = self._parser
        parser.expansions, parser.fuzzy_words, parser.fuzzy_capped = [], set(), False
        try:
            q = parser.parse(text, normalize=False)
        except Exception:  # noqa: BLE001 - Whoosh's parser has many failure modes; fall back to words
            q = None
        if q is None or _is_broken(q):
            # The words alone, operators included as words ("NOT NOT police" fails
            # Whoosh's parser): plain words cannot fail.
            q = _plain_words_query(" ".join(w.lower() for w in _PLAIN_WORD.findall(text)))
            if q is None:
                return None, "<every article>", False
            return q, str(q), False
        q = _negations_alone(q)
        with self._reading():  # the expansions read the index
            q, capped = _fill_expansions(q, parser.expansions, self._speller)
        capped = capped or parser.fuzzy_capped
        q = q.normalize()
        if q is wq.NullQuery:
            return None, "<every article>", False
        return q, str(q), capped

    def _match(self, q: wq.Query | None) -> Evaluation:
        if q is None:
            return Evaluation(self._columns.live.copy(), np.zeros(self._columns.size, dtype=np.float32))
        return self._scorer.evaluate(q)

    def _filters(self, columns: Columns, options: _Options) -> dict[str, np.ndarray]:
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

    def _results(self, query, q, parsed, found: Evaluation, filters, options: _Options, suggestion, capped) -> SearchResults:
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
            published=columns.histogram(all_but("published"), options.date_facet, options.facet_limit),
        )
        dated = columns.published[final & columns.dated()]
        first = (options.page - 1) * options.limit
        sort = options.sort
        if sort == "relevance" and (q is None or (total and not found.score[final].any())):
            # Nothing to rank by (an empty query, only negations or filters-like
            # fields such as category:): newest first, and say so.
            sort = "newest"
        ranked = self._rank(final, found.score, total, first + options.limit, sort)[first:]
        marks = self._marks(q)
        hits = tuple(self._hit(first + i + 1, doc, score, marks) for i, (doc, score) in enumerate(ranked))
        notes: tuple[str, ...] = ()
        if capped:
            notes = (
                "wildcard and fuzzy terms stood for more than a query may search "
                f"({MAX_CLAUSES:,} index terms, {MAX_POSTINGS:,} postings, {MAX_FUZZY_TERMS} fuzzy words): "
                "only the most common words (for fuzzy terms, the closest) were searched",
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
            oldest=from_timestamp(int(dated.min())) if len(dated) else None,
            newest=from_timestamp(int(dated.max())) if len(dated) else None,
            suggestion=suggestion,
            took_ms=0.0,
            notes=notes,
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

    def _hit(self, rank: int, docnum: int, score: float | None, marks: _Marks) -> Hit:
        payload = self._searcher.stored_fields(docnum)["payload"]
        published = payload.get("published")
        title = payload["title"]
        return Hit(
            rank=rank,
            score=round(float(score), 4) if score is not None else None,
            title=title,
            url=payload["url"],
            provider=payload.get("provider", ""),
            domain=payload.get("domain", ""),
            published=datetime.fromisoformat(published.replace("Z", "+00:00")) if published else None,
            topics=tuple(payload.get("topics", ())),
            category=payload.get("category", ""),
            path=payload.get("path", ""),
            highlight=_highlight(payload, marks),
            kind=payload.get("kind", ""),
            related_to=payload.get("related_to", ""),
            title_highlight=highlight.marked(title, *marks.of("title")),
        )

    def _marks(self, q) -> _Marks:
        """What to mark in each text field: the query's words and phrases, not its negated ones."""
        marks = _Marks()
        if q is not None:
            marks.collect(q, self._searcher.reader())
        return marks


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
            words = tuple(_text(w) for w in q.words)
            if q.fieldname in TEXT_FIELDS and words:
                if len(words) == 1:
                    self.terms.setdefault(q.fieldname, set()).add(words[0])
                else:
                    self.phrases.setdefault(q.fieldname, []).append((words, int(q.slop)))
            return
        if isinstance(q, wq.Term):
            if q.fieldname in TEXT_FIELDS:
                self.terms.setdefault(q.fieldname, set()).add(_text(q.text))
            return
        if not q.is_leaf():
            for child in q.children():
                self.collect(child, reader)
            return
        # Anything else Whoosh can expand (a range): the terms it stands for.
        for field, text in q.expanded_terms(reader, phrases=True):
            if field in TEXT_FIELDS:
                self.terms.setdefault(field, set()).add(_text(text))


def _highlight(payload: dict, marks: _Marks) -> str:
    """A fragment of the excerpt or body, whichever shows more matched words.

    When neither holds a match the fragment is empty if the query matched in
    the title, topics or provider (the title is marked instead: the excerpt
    would be unrelated text), and the start of the excerpt when the query
    marks nothing (an empty query, only negations or filters).
    """
    best, best_count = "", 0
    for field in ("excerpt", "body"):
        terms, phrases = marks.of(field)
        if terms or phrases:
            text, count = highlight.fragment(payload.get(field) or "", terms, phrases=phrases)
            if count > best_count:
                best, best_count = text, count
    if best or marks.any():
        return best
    return highlight.plain(payload.get("excerpt") or "")


# -- query parsing -------------------------------------------------------------


def _plain_words_query(text: str) -> wq.Query | None:
    """The query Whoosh's parser would build for plain words (each word in any
    text field, all words required), built directly; None for anything else."""
    words = text.split()
    if not words or any(w in _OPERATORS or not _PLAIN_WORD.fullmatch(w) for w in words):
        return None
    clauses = []
    for word in words:
        found = analysed_terms(word)
        if len(found) != 1:  # a CJK run is several terms: a phrase, which the parser builds
            return None
        term = found[0]
        clauses.append(wq.Or([wq.Term(f, term, boost=FIELD_BOOSTS[f]) for f in _PARSER_FIELD_ORDER]))
    return clauses[0] if len(clauses) == 1 else wq.And(clauses)


def _make_parser(schema, speller: _Speller):
    from whoosh import qparser
    from whoosh.qparser import syntax

    class Parser(qparser.QueryParser):
        """Whoosh's parser, with wildcards and fuzzy terms read from the typed text.

        Whoosh stems a prefix before expanding it (``police*`` became ``polic*``,
        which finds "policy" and "political"); here every wildcard and fuzzy
        term becomes an :class:`_Expansion`, filled in after parsing.
        """

        expansions: list[_Expansion]
        fuzzy_words: set[tuple[str, int | None]]
        fuzzy_capped: bool

        def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True, removestops=True):
            if termclass in (wq.Prefix, wq.Wildcard):
                pattern = text + "*" if termclass is wq.Prefix else text
                return self.expand(speller.pattern_terms(fieldname, pattern), fieldname, pattern, boost)
            if fieldname == "category" and termclass is wq.Term:
                # Categories are stored as written (lowercased): "category:economie"
                # finds "économie", as the category filter does.
                terms = speller.category_terms(text)
                if not terms:
                    return Nothing(f"category:{text}", "category")
                clauses = [wq.Term("category", t, boost=boost) for t in terms]
                return clauses[0] if len(clauses) == 1 else wq.Or(clauses)
            return super().term_query(fieldname, text, termclass, boost, tokenize, removestops)

        def expand(self, candidates, fieldname, label, boost):
            if candidates is _EVERYTHING:
                return HasField(fieldname, boost=boost)
            expansion = _Expansion(fieldname, label, candidates, boost)
            self.expansions.append(expansion)
            return expansion

    class FuzzyNode(syntax.TextNode):
        qclass = wq.FuzzyTerm

        def __init__(self, wordnode, maxdist):
            self.fieldname = wordnode.fieldname
            self.text = wordnode.text
            self.boost = wordnode.boost
            self.startchar = wordnode.startchar
            self.endchar = wordnode.endchar
            self.maxdist = maxdist

        def r(self):
            return f"{self.text!r}~{self.maxdist}"

        def query(self, parser):
            fieldname = self.fieldname or parser.fieldname
            if self.maxdist is not None and self.maxdist < 0:  # a malformed suffix: the plain word
                return parser.term_query(fieldname, self.text, wq.Term, boost=self.boost)
            key = (self.text, self.maxdist)
            if key not in parser.fuzzy_words and len(parser.fuzzy_words) >= MAX_FUZZY_TERMS:
                parser.fuzzy_capped = True  # finding a word's neighbours costs ~50 ms: bounded
                return parser.term_query(fieldname, self.text, wq.Term, boost=self.boost)
            parser.fuzzy_words.add(key)
            candidates = speller.fuzzy_terms(fieldname, self.text, self.maxdist)
            if candidates is None:  # not one word (or not a text field): the plain word
                return parser.term_query(fieldname, self.text, wq.Term, boost=self.boost)
            suffix = "~" if self.maxdist is None else f"~{self.maxdist}"
            return parser.expand(candidates, fieldname, self.text + suffix, self.boost)

    class FuzzyPlugin(qparser.FuzzyTermPlugin):
        # Whatever follows the "~" up to a space or bracket is its suffix: "~", "~1"
        # and "~2" are fuzzy (more than 2 counts as 2); anything else ("~-1",
        # "~1.5") is malformed and the word is searched as it is.
        expr = qparser.plugins.rcompile(r"(?<=\S)~(?P<maxdist>[^\s()\"^~]*)")

        def create(self, parser, match):
            suffix = match.group("maxdist")
            if not suffix:
                maxdist = None
            elif suffix.isdecimal() and suffix.isascii():
                maxdist = min(int(suffix), 2)
            else:
                maxdist = -1
            return self.FuzzinessNode(maxdist, 0, match.group(0))

        def do_fuzzyterms(self, parser, group):
            newgroup = group.empty_copy()
            i = 0
            while i < len(group):
                node = group[i]
                if i < len(group) - 1 and isinstance(node, syntax.WordNode):
                    following = group[i + 1]
                    if isinstance(following, self.FuzzinessNode):
                        node = FuzzyNode(node, following.maxdist)
                        i += 1
                if isinstance(node, self.FuzzinessNode):
                    node = None  # a "~" after nothing: punctuation
                elif isinstance(node, syntax.GroupNode):
                    node = self.do_fuzzyterms(parser, node)
                if node is not None:
                    newgroup.append(node)
                i += 1
            return newgroup

    # What qparser.MultifieldParser builds (it is a function, not a class to extend).
    parser = Parser(None, schema, group=qparser.AndGroup)
    parser.add_plugin(qparser.MultifieldPlugin(list(TEXT_FIELDS), fieldboosts=FIELD_BOOSTS))
    parser.expansions = []
    # "+word" and "-word" only at the start of a word: "follow-up" is one hyphenated term.
    class PlusMinusPlugin(qparser.PlusMinusPlugin):
        # Whoosh sorts "+" and "-" only in the outermost group: "council (-police)"
        # failed to parse. Sort each bracketed group the same way.
        def do_plusminus(self, parser, group):
            inner = group.empty_copy()
            for node in group:
                inner.append(self.do_plusminus(parser, node) if isinstance(node, syntax.GroupNode) else node)
            return super().do_plusminus(parser, inner)

    parser.add_plugin(PlusMinusPlugin(plusexpr=r"(?:(?<=\s)|(?<=^)|(?<=\())\+", minusexpr=r"(?:(?<=\s)|(?<=^)|(?<=\())-"))
    aliases: dict[str, list[str]] = {}
    for alias, field in FIELD_ALIASES.items():
        if alias != field:
            aliases.setdefault(field, []).append(alias)
    parser.add_plugin(qparser.FieldAliasPlugin(aliases))
    parser.add_plugin(FuzzyPlugin())
    return parser


class _Expansion(wq.Or):
    """A wildcard or fuzzy term in one field, before the clause budget gives it its terms.

    ``candidates`` are the index terms it may stand for, best first; after
    :func:`_fill_expansions` it is an ``Or`` of the chosen ones.
    """

    def __init__(self, fieldname: str, label: str, candidates: list[str] | _LazyTerms, boost: float) -> None:
        super().__init__([], boost=1.0)
        self.fieldname = fieldname
        self.label = label
        self.candidates = candidates
        self.term_boost = boost

    def is_leaf(self) -> bool:  # to rewrites of the tree, until it is filled
        return True

    def apply(self, fn):
        return self

    def __str__(self) -> str:
        return f"{self.fieldname}:{self.label}"


def _fill_expansions(q: wq.Query, expansions: list[_Expansion], speller: _Speller) -> tuple[wq.Query, bool]:
    """Give each expansion its terms within :data:`MAX_CLAUSES` for the whole query.

    The budget is shared out in turns, one term per expansion per turn, so
    ``police* a*`` keeps the words of ``police*`` whatever ``a*`` would take.
    A term whose postings would overrun :data:`MAX_POSTINGS` ends its
    expansion; a smaller term of another expansion may still fit.
    Each expansion takes its candidates in order (most common words first for
    wildcards, the closest then most common for fuzzy terms), skipping terms
    its field does not hold. Returns the query and whether the budget cut in.
    """
    chosen: dict[int, list[str]] = {id(e): [] for e in expansions}
    positions = {id(e): 0 for e in expansions}

    def next_term(e: _Expansion) -> tuple[str, int] | None:
        i = positions[id(e)]
        while True:
            term = _candidate(e.candidates, i)
            if term is None:
                break
            i += 1
            df = speller.doc_frequency(e.fieldname, term)
            if df:
                positions[id(e)] = i
                return term, df
        positions[id(e)] = i
        return None

    clauses, postings = MAX_CLAUSES, MAX_POSTINGS
    active = list(expansions)
    capped = False
    while active:
        still = []
        for e in active:
            found = next_term(e)
            if found is None:
                continue
            term, df = found
            if clauses == 0 or df > postings:
                # Past either budget this expansion takes no more terms (none at
                # all if the budget ran out before its turn: it then matches
                # nothing, and the note says why).
                capped = True
                continue
            chosen[id(e)].append(term)
            clauses -= 1
            postings -= df
            still.append(e)
        active = still

    def fill(node: wq.Query) -> wq.Query:
        if isinstance(node, _Expansion):
            terms = chosen[id(node)]
            if not terms:
                return Nothing(f"{node.fieldname}:{node.label}", node.fieldname)
            clauses = [wq.Term(node.fieldname, t, boost=node.term_boost) for t in terms]
            return clauses[0] if len(clauses) == 1 else wq.Or(clauses)
        if node.is_leaf():
            return node
        node = node.apply(fill)
        if isinstance(node, wq.Or) and not isinstance(node, _Expansion):
            # "police*" in a field without such words adds nothing to an Or.
            found = [c for c in node.subqueries if not isinstance(c, Nothing)]
            if not found and node.subqueries:
                return Nothing(node.subqueries[0].label.split(":", 1)[-1])
            if len(found) < len(node.subqueries):
                node = node.__class__(found, boost=node.boost)
        return node

    return fill(q), capped


def _negations_alone(q: wq.Query) -> wq.Query:
    """Read a group of only negations (``-police``, ``(-a -b)``) as "every article but".

    Whoosh's ``+``/``-`` filter builds ``AndNot(<empty group>, banned)``,
    which normalises to nothing: ``-police`` found every article.
    """
    if not q.is_leaf():
        q = q.apply(_negations_alone)
    if isinstance(q, wq.AndNot) and isinstance(q.a, wq.CompoundQuery) and not q.a.subqueries:
        return wq.Not(q.b)
    return q


def _is_broken(q: wq.Query) -> bool:
    """Whether Whoosh read the string into terms of fields a user cannot have meant."""
    return any(isinstance(leaf, wq.Term) and leaf.fieldname not in _QUERY_FIELDS for leaf in q.leaves())


_QUERY_FIELDS = frozenset(TEXT_FIELDS) | {"category", "url"}


_FIELD_PREFIX = re.compile(r"(?<![\w\"])(\w+):", re.UNICODE)


_URL_VALUE = re.compile(r"(?<![\w\"])url:(?!\")([^\s()\"]+)", re.IGNORECASE)


def _url_values(query: str) -> str:
    """``url:https://x/a`` as one value: quoted, or with its colons as ``?`` when it holds a
    wildcard (``url:https://x/*``); Whoosh's parser would read "https" as a field name."""

    def quote(match: re.Match) -> str:
        value = match.group(1)
        if "*" in value or "?" in value:
            return "url:" + value.replace(":", "?")
        return f'url:"{value}"'

    return _URL_VALUE.sub(quote, query)


def _unknown_fields_to_words(query: str) -> str:
    """Field names are case-insensitive; ``nosuchfield:value`` means the words "nosuchfield value"."""
    def fix(match: re.Match) -> str:
        name = match.group(1).lower()
        return name + ":" if name in FIELD_ALIASES else match.group(1) + " "

    return _FIELD_PREFIX.sub(fix, _url_values(query))


_DANGLING = re.compile(r"^\s*(?:(?:AND|OR)\s+)+|(?:\s+(?:AND|OR|NOT))+\s*$")
_PLAIN_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# MultifieldParser orders a word's fields by boost, highest first; so do we.
_PARSER_FIELD_ORDER = tuple(sorted(TEXT_FIELDS, key=lambda f: -FIELD_BOOSTS[f]))
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})
# Terms all the wildcard and fuzzy terms of one query may stand for together,
# counted per field (``polic*`` in five fields with 3 words each is 15): Lucene's
# default limit on a query's clauses. Past it the least common words are left out
# and the results say so (``SearchResults.notes``).
MAX_CLAUSES = 1024
# Postings (one per document and field holding a term) those terms may read
# together: the cost of a query grows with them, and a few hundred common words
# (``a*``) hold millions. About half a second of reading at most, at 200,000 seeds.
MAX_POSTINGS = 1_000_000
# Fuzzy terms one query may hold; the others are searched as plain words. Finding
# a word's neighbours takes tens of milliseconds (an automaton over the vocabulary).
MAX_FUZZY_TERMS = 16
# Words one fuzzy term may stand for: Lucene's FuzzyQuery default (maxExpansions).
MAX_FUZZY_WORDS = 50
_SHORT = 4  # words shorter than this were left out of older vocabularies (Vocabulary.min_chars)
_SMALL_FIELD = 4096  # a field with fewer terms keeps them in memory: see _Speller.doc_frequency
_UNREAD: Any = object()
_EVERYTHING: Any = object()  # pattern_terms' answer for "*": every article with the field


class _Speller:
    """Typo tolerance and wildcards over the index's own words (see :mod:`newssearch.vocab`)."""

    def __init__(self, reader, gen: Path, columns: Columns | None = None) -> None:
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
                    small.add(_text(raw))
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
        ``*`` is every article with some text in the field (:data:`_EVERYTHING`).
        """
        if pattern.strip("*") == "":
            return _EVERYTHING
        if field == "category":  # few values: match them all, folded as the filter folds them
            regex = re.compile(wildcard_regex(fold_word(pattern)))
            return [t for t in map(_text, self._reader.lexicon(field)) if regex.fullmatch(fold_word(t))]
        if field not in TEXT_FIELDS:  # urls: match them as stored
            regex = re.compile(wildcard_regex(pattern))
            literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
            return [t for t in map(_text, self._reader.expand_prefix(field, literal)) if regex.fullmatch(t)]
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
            return _LazyTerms(sorted(counts, key=lambda w: (-counts[w], w)))
        return self._vocabulary_terms(folded)

    def category_terms(self, text: str) -> list[str]:
        """The stored categories equal to ``text`` once case and accents are folded."""
        wanted = fold_word(text.strip())
        return [t for t in map(_text, self._reader.lexicon("category")) if fold_word(t) == wanted]

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

    def _vocabulary_terms(self, folded: str) -> _LazyTerms:
        """The stems of the vocabulary words a folded pattern matches, the commonest word's first."""
        terms = self._matching.get(folded)
        if not isinstance(terms, _LazyTerms):
            terms = _LazyTerms(self.vocabulary.matching(folded))
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
                found.update(t for t in map(_text, leaf.lexicon(field)) if len(t) < _SHORT)
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
            if word in _OPERATORS or query[end : end + 1] in (":", "*", "?", "~") or self.known(word):
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


class _LazyTerms:
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


def _candidate(candidates: Any, i: int) -> str | None:
    """The ``i``-th candidate of an expansion (a list, or :class:`_LazyTerms`), None past the end."""
    if isinstance(candidates, _LazyTerms):
        return candidates.get(i)
    return candidates[i] if i < len(candidates) else None


# A word that is not a field name's value, a wildcard or inside nothing special.
_CORRECTABLE = re.compile(r"(?<![\w*?~])(\w+)", re.UNICODE)


def _text(term: str | bytes) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term


# -- options -------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    """The arguments of :meth:`IndexSearcher.search`, checked: each wrong one is a one-line QueryError."""

    sort: str
    limit: int
    page: int
    facet_limit: int
    date_facet: str
    since: datetime | None
    until: datetime | None
    topics: tuple[str, ...]
    providers: tuple[str, ...]
    category: str

    @classmethod
    def check(cls, *, query, topics, providers, category, since, until, now, sort, limit, page, facet_limit, date_facet, fuzzy) -> _Options:
        if query is not None and not isinstance(query, str):
            raise QueryError(f"query must be a string, not {type(query).__name__}")
        if query and len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
        if not isinstance(sort, str) or sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if not isinstance(date_facet, str) or date_facet not in DATE_FACETS:
            raise QueryError(f"date_facet must be one of {', '.join(DATE_FACETS)}, not {date_facet!r}")
        _whole("limit", limit, 1, MAX_LIMIT)
        _whole("page", page, 1, None)
        _whole("facet_limit", facet_limit, 0, MAX_FACET_LIMIT)
        if not isinstance(fuzzy, bool):
            raise QueryError(f"fuzzy must be True or False, not {fuzzy!r}")
        if category is not None and not isinstance(category, str):
            raise QueryError(f"category must be a string, not {type(category).__name__}")
        values = {"topics": _values("topics", topics), "providers": _values("providers", providers)}
        try:
            base = _bound("now", now, end=False, base=None)
        except QueryError:
            raise
        except ValueError as exc:
            raise QueryError(f"now: {exc}") from None
        bounds: list[datetime | None] = []
        for name, value, end in (("since", since, False), ("until", until, True)):
            try:
                bounds.append(_bound(name, value, end=end, base=base))
            except QueryError:
                raise
            except ValueError as exc:
                raise QueryError(f"{name}: {exc}") from None
        if bounds[0] and bounds[1] and bounds[0] > bounds[1]:
            raise QueryError(f"since ({since}) is after until ({until})")
        return cls(sort, limit, page, facet_limit, date_facet, bounds[0], bounds[1],
                   values["topics"], values["providers"], (category or "").strip())


def _whole(name: str, value: object, low: int, high: int | None) -> None:
    """Refuse anything but a whole number (not a bool) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"from {low} to {high:,}" if high is not None else f"from {low}"
        raise QueryError(f"{name} must be a whole number {span}, not {value!r}")


def _bound(name: str, value: object, *, end: bool, base: datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, date)):
        raise QueryError(f"{name} must be a date string, a date or a datetime, not {type(value).__name__}")
    return parse_bound(value, end=end, now=base) if name != "now" else parse_bound(value, end=False)


def _values(name: str, values: object) -> tuple[str, ...]:
    """Filter values as a tuple: one string is one value, blanks are dropped."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable) or isinstance(values, (bytes, dict)):
        raise QueryError(f"{name} must be a string or a list of strings, not {type(values).__name__}")
    out = []
    for value in values:
        if not isinstance(value, str):
            raise QueryError(f"{name} must be a string or a list of strings, not a list holding {type(value).__name__}")
        if value.strip():
            out.append(value.strip())
    return tuple(out)


def _replace_took(results: SearchResults, started: float) -> SearchResults:
    return replace(results, took_ms=round((time.perf_counter() - started) * 1000, 2))


