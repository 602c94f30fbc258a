"""The Typesense engine: the same library calls and CLI on a Typesense node or cluster.

A target is a url, ``typesense://HOST:PORT[,HOST:PORT...]/COLLECTION``
(``typesenses://`` for HTTPS); several nodes name a cluster, and the client
fails over between them. The API key is read from ``$TYPESENSE_API_KEY``
only: never from the url or the command line, and never printed.

**Syncing** (:func:`index_seeds`). The rules of who holds a url, duplicates,
related articles and bad files are the local index's, applied once: a run
first updates a *ledger*, a local index of the same seeds
(:func:`newssearch.indexing.index_seeds`, in ``$NEWSSEARCH_SYNC_DIR`` or
``~/.cache/newssearch/typesense/<host>-<port>-<collection>``), then makes the
collection hold exactly the ledger's articles: each document carries a hash of
its content (``h``), the run reads the collection's ids and hashes, upserts
what is new or changed and deletes what the ledger no longer holds. So an
unchanged corpus sends nothing, and a run that was interrupted (a node died,
the network went) is finished by the next one. When the ledger did not change
and the collection holds as many documents as it, the comparison is skipped.
The ledger is a cache: deleting it costs one full parse, never a resend.

**Matching is the local engine's.** Documents hold the index terms of the
analyzer (:func:`newssearch.schema.terms`: folding, Snowball stems, CJK
grams), and queries are read into the same terms, so a word, a phrase or a
negation matches exactly the articles it matches locally; Typesense's typo
tolerance, prefix search, token dropping and splitting are off for matching
(they would answer another question). Text fields are one ``text`` field with
a break term between fields, so a phrase never spans two fields, as locally;
``title_t`` holds the title again for ranking. Filters and facets use folded
keys (``topic_keys``) and count under each value's commonest spelling
(``topic_facet``), as the local facets do. The ranking is Typesense's
(text match, then url), not BM25F: the sets of matches, totals and facet
counts agree with the local engine, the order of hits may not.

**What it cannot do** is refused with a :class:`QueryError` that says so:
``OR``, grouping with parentheses, ``field:value``, wildcards, ``word~`` and
phrase slop in the query, ``recency``, more than :data:`MAX_PAGE_HITS` hits a
page and :meth:`TypesenseSearcher.similar`. Synonyms are not applied; a query
whose words have synonyms in the active list says so in ``notes``.

**The same results.** Multi-select facets are counted as locally: one search
per filtered facet, without its own filter, in one ``multi_search`` request.
Near-duplicates collapse through ``group_by`` on the story (the cluster's
least url), and Typesense then counts totals and facets per story, as the
local engine does. Highlights are made here from the stored text with
:mod:`newssearch.highlight` (HTML-escaped, ``<mark>``). The typo fallback asks
Typesense for the closest indexed word (``words``, with two typos allowed) for
each word that matches nothing, and searches the corrected query.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..dates import from_timestamp, iso, to_timestamp
from ..documents import Payload, document_from_payload, shown_fields
from ..errors import NewssearchError, QueryError, SearcherClosedError
from ..facets import Facets, FacetValue
from ..query import DateFacet, Options, Sort
from ..schema import FIELD_ALIASES, KIND_RELATED, NO_DATE, SCHEMA_VERSION, fold_word, terms, tokens
from ..urls import normalize_url

API_KEY_ENV = "TYPESENSE_API_KEY"
SYNC_DIR_ENV = "NEWSSEARCH_SYNC_DIR"
MAX_PAGE_HITS = 250  # Typesense's largest page
IMPORT_BATCH = 500  # documents per import request
DELETE_BATCH = 200  # ids per delete request (a filter of that many ids)
MAX_FACET_VALUES = 10_000  # values fetched per facet, then ordered as the local engine orders them
MAX_GROUP = 99  # documents of one story a collapsed hit reads (Typesense's group_limit is at most 99)
DOCUMENT_FORMAT = 1  # the version of document(): a change there must resend every document (see record_hash)
MAX_SYNONYM_WORDS = 8  # the longest run of query words looked up for the synonyms note (synonyms.MAX_WORDS)
BREAK = "zzfieldbreak"  # between the fields of ``text``: a phrase never spans two fields
_SAFE_TERM = re.compile(r"[a-z0-9]+")
# The stored fields of a document, each sent and compared; ``h`` is the hash of the others.
SCHEMA_FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "text", "type": "string"},
    {"name": "title_t", "type": "string"},
    {"name": "words", "type": "string"},
    {"name": "topic_keys", "type": "string[]"},
    {"name": "topic_facet", "type": "string[]", "facet": True},
    {"name": "provider_key", "type": "string"},
    {"name": "provider_facet", "type": "string", "facet": True},
    {"name": "category_key", "type": "string"},
    {"name": "kind", "type": "string", "facet": True},
    {"name": "published", "type": "int64"},
    {"name": "oldest_key", "type": "int64"},
    {"name": "dated", "type": "int64", "facet": True, "optional": True},
    {"name": "year", "type": "string", "facet": True, "optional": True},
    {"name": "month", "type": "string", "facet": True, "optional": True},
    {"name": "day", "type": "string", "facet": True, "optional": True},
    {"name": "story", "type": "string", "facet": True},
    {"name": "url_key", "type": "string", "sort": True},
    {"name": "payload", "type": "string", "index": False, "optional": True},
    {"name": "h", "type": "string", "index": False, "optional": True},
)
_LATEST = 2**62  # the oldest-first key of an article without a date: last


class EngineError(NewssearchError):
    """The remote engine cannot be reached, refused a request, or holds something else."""


# -- the target -----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the articles live: nodes, the collection, and the protocol."""

    nodes: tuple[tuple[str, int], ...]
    collection: str
    protocol: str = "http"

    @classmethod
    def parse(cls, text: str | os.PathLike[str]) -> Target:
        """``typesense://host:port[,host:port...]/collection``; :class:`QueryError` naming what is wrong."""
        text = os.fspath(text)
        match = re.fullmatch(r"(typesenses?)://([^/?#]*)/([^/?#]*)", text, re.IGNORECASE)
        if match is None:
            raise QueryError(f"{text}: expected typesense://HOST:PORT[,HOST:PORT...]/COLLECTION")
        scheme, hosts, collection = match.groups()
        if "@" in hosts:
            raise QueryError(f"{text.split('@')[-1]}: the API key goes in ${API_KEY_ENV}, never in the url")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", collection):
            raise QueryError(f"{text}: a collection name is 1 to 100 letters, digits, '-' and '_'")
        nodes = []
        for part in hosts.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise QueryError(f"{text}: {part.strip() or 'an empty node'} is not HOST:PORT")
            nodes.append((host.strip("[]"), int(port)))
        return cls(tuple(nodes), collection, "https" if scheme.lower() == "typesenses" else "http")

    def __str__(self) -> str:
        scheme = "typesenses" if self.protocol == "https" else "typesense"
        return f"{scheme}://{','.join(f'{h}:{p}' for h, p in self.nodes)}/{self.collection}"

    def ledger(self) -> Path:
        """The folder of the local ledger of what syncs to this target hold."""
        base = os.environ.get(SYNC_DIR_ENV)
        root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "newssearch" / "typesense"
        host, port = self.nodes[0]
        return root / f"{host}-{port}-{self.collection}"


def _client(target: Target):
    try:
        import typesense
    except ImportError:
        raise EngineError("the Typesense engine needs its client: pip install 'newssearch[typesense]'") from None
    key = os.environ.get(API_KEY_ENV)
    if not key:
        raise EngineError(f"{target}: set ${API_KEY_ENV} to the API key (it is never read from the url or the command line)")
    with warnings.catch_warnings():
        # The client announces its own deprecations (an analytics API newssearch does not use).
        warnings.simplefilter("ignore", DeprecationWarning)
        return _make_client(typesense, target, key)


@contextmanager
def connected(target: Target) -> Iterator[Any]:
    """A client of ``target`` whose connections are closed at the end of the block."""
    client = _client(target)
    try:
        yield client
    finally:
        client.api_call.close()


def _make_client(typesense, target: Target, key: str):
    return typesense.Client({
        "nodes": [{"host": host, "port": port, "protocol": target.protocol} for host, port in target.nodes],
        "api_key": key,
        "connection_timeout_seconds": 10,
        "num_retries": 3 * len(target.nodes),
        "retry_interval_seconds": 0.3,
        "healthcheck_interval_seconds": 2,
    })


def _failed(target: Target, exc: Exception, doing: str) -> EngineError:
    """One line for a failure of the client, without the key (the client's messages never hold it)."""
    detail = (str(exc).splitlines() or [type(exc).__name__])[0][:300] or type(exc).__name__
    return EngineError(f"{target}: {doing} failed: {type(exc).__name__}: {detail}")


def _call(target: Target, doing: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except NewssearchError:
        raise
    except Exception as exc:  # noqa: BLE001 - the client raises its own classes, requests' and OSError
        raise _failed(target, exc, doing) from None


# -- documents ------------------------------------------------------------------


def _term(term: str) -> str:
    """An index term as a token Typesense keeps whole: plain ASCII as it is, anything else in hex.

    Typesense's tokenizer drops symbols and splits some scripts its own way; the
    local analyzer's terms (``o'neil``'s fold, CJK grams) must stay one token each."""
    return term if _SAFE_TERM.fullmatch(term) else "zz" + term.encode("utf-8").hex()


def _terms_text(text: str) -> str:
    return " ".join(_term(t) for t in terms(text))


def document(payload: Payload, story: str, topic_names: tuple[str, ...], provider_name: str) -> dict[str, Any]:
    """The Typesense document of one article of the ledger (see :meth:`IndexSearcher.records`)."""
    fields = document_from_payload(payload, signed=False)
    text_fields = [fields["title"], fields["topics"], fields["excerpt"], fields["provider"], fields["body"]]
    published = int(fields["published"])
    words = sorted({fold_word(t) for value in text_fields for t in tokens(value)})
    url = normalize_url(payload["url"])
    doc: dict[str, Any] = {
        "id": document_id(url),
        "text": f" {BREAK} ".join(_terms_text(value) for value in text_fields),
        "title_t": _terms_text(fields["title"]),
        "words": " ".join(w for w in words if _SAFE_TERM.fullmatch(w)),
        "topic_keys": sorted({fold_word(t.strip()) for t in payload.get("topics", ())}),
        "topic_facet": sorted({name for name in topic_names if name}),
        "provider_key": fold_word((payload.get("provider") or "").strip()),
        "provider_facet": provider_name,
        "category_key": fold_word((payload.get("category") or "").strip()),
        "kind": payload.get("kind", ""),
        "published": published,
        "oldest_key": published if published != NO_DATE else _LATEST,
        "story": story,
        "url_key": url,
        "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
    }
    if published != NO_DATE:
        day = from_timestamp(published)
        doc.update(dated=published, year=f"{day:%Y}", month=f"{day:%Y-%m}", day=f"{day:%Y-%m-%d}")
    doc["h"] = record_hash(payload, story, topic_names, provider_name)
    return doc


def record_hash(payload: Payload, story: str, topic_names: tuple[str, ...], provider_name: str) -> str:
    """The content hash of the document of a record: of what :func:`document` is made from.

    A sync compares it with the collection's before it makes a document (the
    analysis is most of a document's cost), so it must change whenever the
    document would: the schema version covers the analyzer, and
    :data:`DOCUMENT_FORMAT` covers :func:`document` itself; bump it with any
    change there.
    """
    key = [DOCUMENT_FORMAT, SCHEMA_VERSION, payload, story, list(topic_names), provider_name]
    return hashlib.sha1(json.dumps(key, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def document_id(url: str) -> str:
    """A document's id: the SHA-1 of its normalised url (ids must be short and free of symbols)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


# -- syncing --------------------------------------------------------------------


def index_seeds(paths, index_dir, *, rebuild: bool = False, workers: int | None = None, progress=None,
                lock_timeout: float | None = None):
    """Sync the seed files under ``paths`` to the collection ``index_dir`` names (see the module's docstring)."""
    from .. import store
    from ..indexing import LOCK_TIMEOUT
    from ..indexing import index_seeds as index_local

    started = time.perf_counter()
    target = Target.parse(index_dir)
    timeout = LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    with connected(target) as client:
        report = index_local(paths, target.ledger(), rebuild=rebuild, workers=workers, progress=progress,
                             lock_timeout=timeout)
        # The ledger's lock is held while the collection is compared with it: two syncs of one
        # collection send one ledger's state at a time, never a mix of an older and a newer one.
        with store.write_lock(target.ledger(), timeout):
            sync = _sync(client, target, report, rebuild=rebuild)
    return replace(report, index_dir=str(target), remote=sync, seconds=time.perf_counter() - started)


def _sync(client, target: Target, report, *, rebuild: bool):
    """Make the collection hold what the ledger holds; what was sent (see the module's docstring)."""
    from ..indexing import RemoteSync
    from ..searching import open_index as open_local

    ledger = target.ledger()
    collection, info, created = _ensure_collection(client, target, drop=rebuild)
    marker = ledger / "synced.json"
    mark = {"target": str(target), "generation": _generation(ledger)}
    remote_count = int(info.get("num_documents", 0))
    if not rebuild and _read_json(marker) == mark and remote_count == report.total_documents:
        return RemoteSync(str(target), remote_count, 0, 0, checked=False)
    # A collection this run created is empty; reading it back could reach a follower
    # that has not applied the creation yet, which answers 404.
    remote = {} if created else _remote_hashes(target, collection)
    batch: list[dict[str, Any]] = []
    wanted: set[str] = set()
    upserted = 0
    with open_local(ledger, synonyms=False) as local:
        for record in local.records():
            key = document_id(normalize_url(record[0]["url"]))
            wanted.add(key)
            if remote.get(key) != record_hash(*record):
                batch.append(document(*record))
                if len(batch) >= IMPORT_BATCH:
                    upserted += _import(target, collection, batch)
                    batch = []
    upserted += _import(target, collection, batch)
    stale = sorted(set(remote) - wanted)
    for start in range(0, len(stale), DELETE_BATCH):
        ids = stale[start : start + DELETE_BATCH]
        _call(target, "deleting documents", collection.documents.delete, {"filter_by": f"id:[{','.join(ids)}]"})
    # Written last: a run that stops before here is compared again by the next one.
    _write_json(marker, mark)
    return RemoteSync(str(target), len(wanted), upserted, len(stale), checked=True)


def _ensure_collection(client, target: Target, *, drop: bool):
    """The collection, its description, and whether this call created it with :data:`SCHEMA_FIELDS`
    (it does if the collection is missing, or dropped first, with ``drop``).

    A collection of other fields is refused, not changed: it may be another
    program's, or another version's, which ``--rebuild`` replaces."""
    import typesense.exceptions as errors

    collection = client.collections[target.collection]
    try:
        found = collection.retrieve()
    except errors.ObjectNotFound:
        found = None
    except Exception as exc:  # noqa: BLE001 - see _call
        raise _failed(target, exc, "reading the collection") from None
    if found is not None and drop:
        _call(target, "dropping the collection", collection.delete)
        found = None
    if found is None:
        schema = {"name": target.collection, "fields": [dict(f) for f in SCHEMA_FIELDS]}
        info = _call(target, "creating the collection", client.collections.create, schema)
        return client.collections[target.collection], info, True
    have = {(f["name"], f["type"]) for f in found.get("fields", [])}
    if have != {(f["name"], f["type"]) for f in SCHEMA_FIELDS}:
        raise EngineError(f"{target}: the collection holds other fields than newssearch's (schema version "
                          f"{SCHEMA_VERSION}): run \"newssearch index --rebuild\" to replace it")
    return collection, found, False


def _remote_hashes(target: Target, collection) -> dict[str, str]:
    """Every document's id and content hash, from one export."""
    lines = _call(target, "reading the collection", collection.documents.export, {"include_fields": "id,h"})
    hashes = {}
    for line in lines.splitlines():
        if line.strip():
            doc = json.loads(line)
            hashes[doc["id"]] = doc.get("h", "")
    return hashes


def _import(target: Target, collection, docs: list[dict[str, Any]]) -> int:
    """Upsert ``docs``; the first document Typesense refuses is an error naming its url."""
    if not docs:
        return 0
    # Sent and read as JSON lines here, not by the client: a follower's answer may end with a
    # newline (seen after a leader change), and the client reads that empty line as an invalid
    # answer, failing a sync whose documents were all stored.
    body = "\n".join(json.dumps(doc) for doc in docs)
    text = _call(target, "sending documents", collection.documents.import_, body, {"action": "upsert"})
    try:
        answers = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError:
        raise EngineError(f"{target}: sending documents failed: an answer that is not JSON lines: {text[:100]!r}") from None
    if len(answers) != len(docs):
        raise EngineError(f"{target}: sending documents failed: {len(answers)} answers for {len(docs)} documents")
    for doc, answer in zip(docs, answers):
        if not answer.get("success"):
            url = json.loads(doc["payload"])["url"]
            raise EngineError(f"{target}: the article {url} was refused: {answer.get('error', 'no reason given')}")
    return len(docs)


def _generation(ledger: Path) -> str:
    from .. import store

    gen = store.current_generation(ledger)
    return gen.name if gen is not None else ""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value), encoding="utf-8")
    os.replace(temporary, path)


# -- reading queries --------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """A query as the Typesense engine runs it: required words and phrases, and negated ones, as index terms."""

    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()
    excluded_phrases: tuple[tuple[str, ...], ...] = ()
    typed: tuple[str, ...] = ()  # the required words as typed, folded: what a typo correction replaces

    def q(self) -> str:
        """Typesense's ``q``: ``*`` for every article."""
        parts = [_term(w) for w in self.words]
        parts += ['"' + " ".join(map(_term, p)) + '"' for p in self.phrases]
        parts += ["-" + _term(w) for w in self.excluded]
        parts += ['-"' + " ".join(map(_term, p)) + '"' for p in self.excluded_phrases]
        if not (self.words or self.phrases):
            # Only negations: every article but those.
            return " ".join(["*", *parts]) if parts else "*"
        return " ".join(parts)

    def scored(self) -> bool:
        return bool(self.words or self.phrases)

    def __str__(self) -> str:
        shown = list(self.words) + ['"' + " ".join(p) + '"' for p in self.phrases]
        shown += ["-" + w for w in self.excluded] + ['-"' + " ".join(p) + '"' for p in self.excluded_phrases]
        return " ".join(shown) if shown else "<every article>"


_QUERY_TOKEN = re.compile(r'\s*(?P<sign>[-+]?)(?:"(?P<phrase>[^"]*)"?(?P<slop>~\d*)?|(?P<word>[^\s"]+))')


def read_query(query: str) -> Parsed:
    """``query`` in newssearch's syntax as index terms; :class:`QueryError` for what Typesense cannot search.

    Words are required; ``-word``/``NOT word`` excludes; ``"a phrase"`` keeps its
    words next to each other; a word the analyzer cuts in several terms
    ("U.S.-China") is a phrase of them, as locally. ``AND`` joins nothing new.
    """
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    excluded_phrases: list[tuple[str, ...]] = []
    typed: list[str] = []
    negate_next = False
    position = 0
    text = query.strip()
    while position < len(text):
        match = _QUERY_TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
        sign, phrase, slop, word = match.group("sign"), match.group("phrase"), match.group("slop"), match.group("word")
        if word is not None and not sign:
            if word == "AND":
                continue
            if word == "NOT":
                negate_next = True
                continue
            if word == "OR":
                raise _cannot("OR between words", "search the words one query at a time")
        negate = sign == "-" or negate_next
        negate_next = False
        if phrase is not None:
            if slop:
                raise _cannot(f'a phrase with slop ("{phrase}"{slop})', "drop the ~ to search the exact phrase")
            found = tuple(terms(phrase))
            raw = tuple(fold_word(t) for t in tokens(phrase))
        else:
            assert word is not None
            _check_word(word)
            found = tuple(terms(word))
            raw = tuple(fold_word(t) for t in tokens(word))
        if not found:
            continue
        if negate:
            (excluded.append(found[0]) if len(found) == 1 else excluded_phrases.append(found))
        else:
            (words.append(found[0]) if len(found) == 1 else phrases.append(found))
            if len(found) == 1 and phrase is None:
                typed.extend(raw)
    return Parsed(tuple(dict.fromkeys(words)), tuple(dict.fromkeys(phrases)), tuple(dict.fromkeys(excluded)),
                  tuple(dict.fromkeys(excluded_phrases)), tuple(typed))


def _check_word(word: str) -> None:
    if "(" in word or ")" in word:
        raise _cannot("grouping with parentheses", "write the words without them")
    field, colon, value = word.partition(":")
    if colon and field.lower() in FIELD_ALIASES and value:
        raise _cannot(f"field:value ({word})", "search the words in every field, or filter with --topic/--provider/--category")
    if any(c in word for c in "*?"):
        raise _cannot(f"wildcards ({word})", "write the whole word")
    if re.search(r"~\d*$", word):
        raise _cannot(f"typo-tolerant words ({word})", "a query that finds nothing is retried with its typos corrected")


def _cannot(what: str, instead: str) -> QueryError:
    return QueryError(f"the Typesense engine cannot search {what}: {instead}")


# -- searching --------------------------------------------------------------------

_SORTS = {
    "relevance": "_text_match:desc,url_key:asc",
    "newest": "published:desc,url_key:asc",  # undated articles hold NO_DATE: last
    "oldest": "oldest_key:asc,url_key:asc",
}
_MATCHING = {
    # Exact matching, as the local engine matches (see the module's docstring).
    "query_by": "text,title_t",
    "query_by_weights": "1,4",
    "num_typos": 0,
    "prefix": "false",
    "drop_tokens_threshold": 0,
    "typo_tokens_threshold": 0,
    "split_join_tokens": "off",
}
_DATE_FIELDS: dict[str, str] = {"year": "year", "month": "month", "day": "day"}


def open_index(index_dir, *, synonyms=True) -> TypesenseSearcher:
    """A searcher of the collection ``index_dir`` names (see :func:`newssearch.open_index`)."""
    return TypesenseSearcher(Target.parse(index_dir), synonyms=synonyms)


class TypesenseSearcher:
    """An open Typesense collection, answering as :class:`newssearch.IndexSearcher` does.

    The client keeps its connections between queries and fails over between
    the target's nodes. Thread-safe as the client is: one per thread is simplest.
    """

    def __init__(self, target: Target, *, synonyms=True) -> None:
        from ..synonyms import resolve as resolve_synonyms

        self.target = target
        self.index_dir = str(target)
        self.synonyms = resolve_synonyms(synonyms)
        self._client = _client(target)
        self._closed = False
        try:
            self._collection_info()  # a missing collection is an error now, not at the first query
        except BaseException:
            self.close()
            raise

    def _collection_info(self) -> dict[str, Any]:
        import typesense.exceptions as errors

        try:
            return self._client.collections[self.target.collection].retrieve()
        except errors.ObjectNotFound:
            raise EngineError(f'{self.target}: no such collection: run "newssearch index --index {self.target}" first') from None
        except Exception as exc:  # noqa: BLE001 - see _call
            raise _failed(self.target, exc, "opening the collection") from None

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._client.api_call.close()

    def __enter__(self) -> TypesenseSearcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise SearcherClosedError(self.index_dir)

    # -- queries -----------------------------------------------------------

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
    ):
        """Search the collection: the arguments and results of :meth:`newssearch.IndexSearcher.search`."""
        from ..searching import check_fields

        started = time.perf_counter()
        options = Options.check(
            query=query, topics=topics, providers=providers, category=category, since=since, until=until,
            now=now, sort=sort, limit=limit, page=page, facet_limit=facet_limit, date_facet=date_facet, fuzzy=fuzzy,
            recency=recency,
        )
        if not isinstance(collapse, bool):
            raise QueryError(f"collapse must be True or False, not {collapse!r}")
        wanted = check_fields(fields)
        if options.recency is not None:
            raise QueryError("the Typesense engine cannot rank by recency: search without --recency")
        if options.limit > MAX_PAGE_HITS:
            raise QueryError(f"limit must be at most {MAX_PAGE_HITS} with the Typesense engine, not {options.limit}")
        self._check_open()
        query = query or ""
        parsed = read_query(query)
        results = self._results(query, parsed, options, collapse, wanted, None)
        if fuzzy and parsed.typed and not self._matches_any(parsed, results.total, options):
            suggestion = self._correct(query, parsed)
            if suggestion is not None:
                corrected = read_query(suggestion)
                again = self._results(query, corrected, options, collapse, wanted, suggestion)
                if self._matches_any(corrected, again.total, options):
                    results = again
                else:
                    results = replace(results, suggestion=suggestion)
        return replace(results, took_ms=round((time.perf_counter() - started) * 1000, 2))

    def explain(self, query: str) -> str:
        """How ``query`` is read: the index terms Typesense is asked for."""
        if not isinstance(query, str):
            raise QueryError(f"query must be a string, not {type(query).__name__}")
        self._check_open()
        return str(read_query(query))

    def similar(self, url: str, **options: Any):
        raise QueryError("the Typesense engine cannot find similar articles: use the local index for that")

    def _matches_any(self, parsed: Parsed, total: int, options: Options) -> bool:
        """Whether the query matches anything, filters aside (when it does, a filter emptied it, not a typo)."""
        if total:
            return True
        if not (options.topics or options.providers or options.category or options.since or options.until):
            return False
        found = self._search({"q": parsed.q(), **_MATCHING, "per_page": 0})
        return bool(found["found"])

    def _correct(self, query: str, parsed: Parsed) -> str | None:
        """``query`` with each word that matches nothing replaced by the closest indexed word, or None."""
        words = list(dict.fromkeys(parsed.typed))
        searches = []
        for word in words:
            base = {"collection": self.target.collection, "q": word, "query_by": "words", "prefix": "false",
                    "drop_tokens_threshold": 0, "split_join_tokens": "off"}
            searches.append({**base, "num_typos": 0, "per_page": 0})
            searches.append({**base, "num_typos": 2, "typo_tokens_threshold": 1, "per_page": 1,
                             "include_fields": "id", "highlight_fields": "words"})
        answers = self._multi(searches)
        fixes: dict[str, str] = {}
        for i, word in enumerate(words):
            if answers[2 * i]["found"]:
                continue
            hits = answers[2 * i + 1].get("hits") or []
            tokens_found = [t for h in hits[:1] for hl in h.get("highlights", []) for t in hl.get("matched_tokens", [])]
            if tokens_found:
                fixes[word] = fold_word(str(tokens_found[0]))
        if not fixes:
            return None

        def fix(match: re.Match) -> str:
            return fixes.get(fold_word(match.group()), match.group())

        corrected = re.sub(r"[^\W_]+", fix, query)
        return corrected if corrected != query else None

    def _results(self, query: str, parsed: Parsed, options: Options, collapse: bool, wanted: tuple[str, ...],
                 suggestion: str | None):
        from ..searching import SearchResults

        filters = _filters(options)

        def all_but(name: str | None) -> str:
            return " && ".join(clause for key, clause in filters.items() if key != name)

        # Nothing to rank by (every article, or only negations): newest first, as locally,
        # where the results say so when something matched.
        unranked = not parsed.scored() and options.sort == "relevance"
        sort = "newest" if unranked else options.sort
        date_field = _DATE_FIELDS[options.date_facet]
        facet_fields = {"topics": "topic_facet", "provider": "provider_facet", "published": date_field}
        base = {"collection": self.target.collection, "q": parsed.q(), **_MATCHING}
        grouping = {"group_by": "story", "group_limit": MAX_GROUP} if collapse else {}
        main = {
            **base, **grouping,
            "filter_by": all_but(None),
            "sort_by": _SORTS[sort],
            "per_page": options.limit,
            "page": options.page,
            "facet_by": ",".join(f for name, f in facet_fields.items() if name not in filters),
            "max_facet_values": MAX_FACET_VALUES,
            "include_fields": "id,payload,story",
            "highlight_fields": "title_t",
        }
        searches = [main]
        own = [name for name in facet_fields if name in filters]
        for name in own:
            searches.append({**base, **grouping, "filter_by": all_but(name), "per_page": 0,
                             "facet_by": facet_fields[name], "max_facet_values": MAX_FACET_VALUES})
        searches.append({**base, "filter_by": all_but(None), "per_page": 0, "facet_by": "dated", "max_facet_values": 1})
        for search in searches:
            if not search["facet_by"]:
                del search["facet_by"]
            if not search["filter_by"]:
                del search["filter_by"]
        answers = self._multi(searches)
        counts: dict[str, dict[str, int]] = {}
        for answer in answers[: 1 + len(own)]:
            for facet in answer.get("facet_counts", []):
                counts[facet["field_name"]] = {str(c["value"]): int(c["count"]) for c in facet["counts"]}
        facets = Facets(
            topics=_top(counts.get("topic_facet", {}), options.facet_limit),
            provider=_top(counts.get("provider_facet", {}), options.facet_limit),
            published=_histogram(counts.get(date_field, {}), options.date_facet, options.facet_limit,
                                 to_timestamp(options.until) if options.until is not None else None),
        )
        stats: dict[str, float] = next((f.get("stats", {}) for f in answers[-1].get("facet_counts", []) if f["field_name"] == "dated"), {})
        oldest = from_timestamp(int(stats["min"])) if answers[-1]["found"] and "min" in stats else None
        newest = from_timestamp(int(stats["max"])) if answers[-1]["found"] and "max" in stats else None
        first = (options.page - 1) * options.limit
        marks = _marks(parsed)
        hits = tuple(self._hit(first + i + 1, group, marks, sort, wanted) for i, group in enumerate(_groups(answers[0], collapse)))
        return SearchResults(
            query=query,
            parsed=str(parsed),
            total=int(answers[0]["found"]),
            page=options.page,
            limit=options.limit,
            sort=sort if not unranked or answers[0]["found"] or not parsed.q().strip("* ") else options.sort,
            hits=hits,
            facets=facets,
            oldest=oldest,
            newest=newest,
            suggestion=suggestion,
            took_ms=0.0,
            notes=self._notes(parsed),
        )

    def _hit(self, rank: int, group: list[dict[str, Any]], marks, sort: str, wanted: tuple[str, ...]):
        from .. import highlight
        from ..searching import Hit, _highlight, _stored_value

        first = group[0]
        payload: Payload = json.loads(first["document"]["payload"])
        shown = shown_fields(payload)
        others = [json.loads(h["document"]["payload"]) for h in group[1:]]
        providers = tuple(p for p in dict.fromkeys(o.get("provider", "") for o in others) if p)
        return Hit(
            rank=rank,
            score=float(first["text_match"]) if sort == "relevance" and "text_match" in first else None,
            highlight=_highlight(payload, marks),
            title_highlight=highlight.marked(shown["title"], *marks.of("title")),
            similar_count=len(others),
            similar_providers=providers,
            fields={name: _stored_value(payload, shown, name) for name in wanted} if wanted else None,
            **shown,
        )

    def _notes(self, parsed: Parsed) -> tuple[str, ...]:
        if self.synonyms is None or not (parsed.words or parsed.phrases):
            return ()
        words = parsed.words
        runs = [words[i:j] for i in range(len(words)) for j in range(i + 1, min(len(words), i + MAX_SYNONYM_WORDS) + 1)]
        having = [" ".join(run) for run in [*runs, *parsed.phrases] if self.synonyms.lookup(tuple(run), True)]
        if not having:
            return ()
        return (f"synonyms are not applied by the Typesense engine: {len(having)} of the query's words or phrases "
                f"have some in {self.synonyms.source}",)

    # -- articles ----------------------------------------------------------

    def get(self, url: str):
        """The article at ``url`` with its related articles and near-duplicates, or None."""
        from ..searching import StoredArticle, _stored_article

        if not isinstance(url, str):
            raise QueryError(f"url must be a string, not {type(url).__name__}")
        self._check_open()
        key = normalize_url(url)
        if not key:
            return None
        found = self._by_filter(f"id:={document_id(key)}", 1)
        if not found:
            return None
        payload = found[0]
        if payload.get("kind") == KIND_RELATED:
            urls = [payload.get("related_to", "")]
        else:
            urls = [entry[0] for entry in payload.get("related", ())]
        ids = [document_id(normalize_url(u)) for u in dict.fromkeys(urls) if normalize_url(u)]
        by_id = {document_id(normalize_url(p["url"])): p for p in self._by_filter(f"id:[{','.join(ids)}]", len(ids))} if ids else {}
        related = tuple(self._plain_hit(i + 1, p) for i, p in enumerate(by_id[d] for d in ids if d in by_id))
        story = self._story_of(key)
        members = self._by_filter(f"story:={_quote(story)}", MAX_PAGE_HITS, "oldest_key:asc,url_key:asc")
        others = [p for p in members if normalize_url(p["url"]) != key]
        duplicates = tuple(self._plain_hit(i + 1, p) for i, p in enumerate(others))
        article: StoredArticle = _stored_article(payload, related, duplicates)
        return article

    article = get

    def _story_of(self, key: str) -> str:
        answer = self._search({"q": "*", "filter_by": f"id:={document_id(key)}", "include_fields": "story", "per_page": 1})
        return answer["hits"][0]["document"]["story"] if answer.get("hits") else key

    def _plain_hit(self, rank: int, payload: Payload):
        from .. import highlight
        from ..searching import Hit

        shown = shown_fields(payload)
        return Hit(rank=rank, score=None, highlight=highlight.plain(payload.get("excerpt") or ""),
                   title_highlight=highlight.marked(shown["title"], frozenset()), **shown)

    def _by_filter(self, filter_by: str, limit: int, sort_by: str = "url_key:asc") -> list[Payload]:
        answer = self._search({"q": "*", "filter_by": filter_by, "per_page": min(max(limit, 1), MAX_PAGE_HITS),
                               "sort_by": sort_by, "include_fields": "payload"})
        return [json.loads(h["document"]["payload"]) for h in answer.get("hits", [])]

    def articles(self) -> Iterator:
        """Every article of the collection, in url order (for exports)."""
        from ..searching import _stored_article

        self._check_open()
        collection = self._client.collections[self.target.collection]
        lines = _call(self.target, "reading the collection", collection.documents.export, {"include_fields": "payload,url_key"})
        docs = sorted((json.loads(line) for line in lines.splitlines() if line.strip()), key=lambda d: d["url_key"])
        for doc in docs:
            yield _stored_article(json.loads(doc["payload"]))

    def stats(self, limit: int = 10):
        """Counts, date span and top values of what the collection holds."""
        from ..searching import IndexStats

        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise QueryError(f"limit must be a whole number from 0, not {limit!r}")
        self._check_open()
        answer = self._search({"q": "*", "per_page": 0, "facet_by": "kind,topic_facet,provider_facet,dated",
                               "max_facet_values": MAX_FACET_VALUES})
        counts = {f["field_name"]: {str(c["value"]): int(c["count"]) for c in f["counts"]} for f in answer.get("facet_counts", [])}
        stats: dict[str, float] = next((f.get("stats", {}) for f in answer.get("facet_counts", []) if f["field_name"] == "dated"), {})
        related = counts.get("kind", {}).get(KIND_RELATED, 0)
        info = self._collection_info()
        return IndexStats(
            index_dir=str(self.target),
            generation=self.target.collection,
            articles=int(answer["found"]),
            seeds=int(answer["found"]) - related,
            related=related,
            oldest=from_timestamp(int(stats["min"])) if "min" in stats else None,
            newest=from_timestamp(int(stats["max"])) if "max" in stats else None,
            topics=_top(counts.get("topic_facet", {}), limit),
            provider=_top(counts.get("provider_facet", {}), limit),
            size_bytes=0,  # Typesense does not report a collection's size
            updated=iso(datetime.fromtimestamp(int(info.get("created_at", 0)), UTC)),
            schema_version=SCHEMA_VERSION,
        )

    # -- requests ----------------------------------------------------------

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._multi([{"collection": self.target.collection, **params}])[0]

    def _multi(self, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._check_open()
        answer = _call(self.target, "searching", self._client.multi_search.perform, {"searches": searches}, {})
        results = answer["results"]
        for result in results:
            if "error" in result:
                raise EngineError(f"{self.target}: the search was refused: {result['error']}")
        return results


def _marks(parsed: Parsed):
    """What the highlights mark, the same in every text field (``text`` holds them all): the query's
    words and phrases, not its negated ones. Made once a query, for every hit."""
    from .. import highlight
    from ..schema import TEXT_FIELDS
    from ..searching import _Marks

    marks = _Marks()
    phrases: list[highlight.Phrase] = [(p, 1) for p in parsed.phrases]
    for field in TEXT_FIELDS:
        marks.terms[field] = set(parsed.words)
        marks.phrases[field] = phrases
    return marks


def _filters(options: Options) -> dict[str, str]:
    """Typesense's ``filter_by`` clause of each filter, by the facet it filters."""
    filters: dict[str, str] = {}
    if options.topics:
        filters["topics"] = f"topic_keys:=[{','.join(_quote(fold_word(t.strip())) for t in options.topics)}]"
    if options.providers:
        filters["provider"] = f"provider_key:=[{','.join(_quote(fold_word(p.strip())) for p in options.providers)}]"
    if options.category:
        filters["category"] = f"category_key:={_quote(fold_word(options.category.strip()))}"
    if options.since is not None or options.until is not None:
        low = to_timestamp(options.since) if options.since is not None else NO_DATE + 1
        high = to_timestamp(options.until) if options.until is not None else 2**63 - 1
        filters["published"] = f"published:>={low} && published:<={high}"
    return filters


def _quote(value: str) -> str:
    """A filter value in backticks, which Typesense reads literally (a backtick itself cannot be sent)."""
    return "`" + value.replace("`", "") + "`"


def _groups(answer: dict[str, Any], collapse: bool) -> list[list[dict[str, Any]]]:
    if collapse:
        return [group["hits"] for group in answer.get("grouped_hits", []) if group.get("hits")]
    return [[hit] for hit in answer.get("hits", [])]


def _top(counts: dict[str, int], limit: int) -> tuple[FacetValue, ...]:
    """The ``limit`` commonest values, ties by name: the local engine's order (:func:`newssearch.facets.top_values`)."""
    ranked = sorted(((v, c) for v, c in counts.items() if c > 0 and v), key=lambda vc: (-vc[1], vc[0]))
    return tuple(FacetValue(v, c) for v, c in ranked[: max(limit, 0)])


def _histogram(counts: dict[str, int], granularity: str, limit: int, until: int | None) -> tuple[FacetValue, ...]:
    """The date histogram from per-bucket counts, as :meth:`newssearch.docvalues.DocValues.histogram` draws it."""
    import numpy as np

    if not counts or limit <= 0:
        return ()
    unit = {"year": "Y", "month": "M", "day": "D"}[granularity]
    buckets = np.array(list(counts), dtype=f"datetime64[{unit}]")
    values = np.array(list(counts.values()), dtype=np.int64)
    last = buckets.max()
    if until is not None:
        last = min(last, np.datetime64(int(until), "s").astype(f"datetime64[{unit}]"))
    first = max(buckets.min(), last - (limit - 1))
    if last < first:
        return ()
    size = int((last - first).astype(np.int64)) + 1
    steps = (buckets - first).astype(np.int64)
    kept = (steps >= 0) & (steps < size)
    out = np.bincount(steps[kept], weights=values[kept], minlength=size).astype(np.int64)
    shown = first + np.arange(size).astype(f"timedelta64[{unit}]")
    return tuple(FacetValue(str(v), int(c)) for v, c in zip(shown, out))
