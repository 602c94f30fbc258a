"""Build and update the index from seed files: :func:`index_seeds`.

Incremental by default. Each generation carries a manifest of the files it
holds (path, modification time, size, url, related urls), so a run only
stats the files, parses the new and changed ones and writes what differs; an
unchanged corpus costs a walk and a JSON load, and writes nothing at all.

Parsing runs in a pool of processes, a bounded window of batches ahead of the
writer, so memory stays flat however large the corpus; a large batch of
changes is also analysed by Whoosh's parallel writer (one segment per
process). Seeds are written as they arrive in path order; related articles,
which depend on every seed's url, are decided and written at the end.

Rules a user can rely on:

* The whole run commits once or not at all (see :mod:`newssearch.store`).
* A bad seed is skipped and listed; if it was indexed before, its last good
  version stays and the report says so.
* A ``url`` belongs to the first file that claimed it: a file already in the
  index, else the first in path order. Another file with the same url is
  skipped as a duplicate. (A url freed in the same run by an indexed file
  that changed its url may be refused to a newcomer once; the next run takes
  it.)
* A related article is indexed once per url, from the first seed (in path
  order) that lists it, and not at all when the url is a seed of its own.
* A file disappears from the index when it no longer exists, or when a
  folder being indexed no longer holds it. Files indexed from other paths
  that still exist stay as they are.
"""

from __future__ import annotations

import itertools
import os
import pickle
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import IO, Any
from multiprocessing import get_context
from pathlib import Path

from . import facets, store
from .dates import iso, to_timestamp
from .errors import IndexCorruptError, SeedError
from .schema import KIND_RELATED, KIND_SEED, NO_DATE, SCHEMA_VERSION, build_schema
from .seeds import Article, RelatedArticle, SeedFile, find_seed_files, read_seed
from .vocab import Vocabulary, article_words

DEFAULT_SEEDS = "seeds"
LOCK_TIMEOUT = 3.0  # seconds a second indexer waits for the first
WRITER_MEMORY_MB = 256
# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 200
PARALLEL_WRITER_THRESHOLD = 2000
PARSE_BATCH = 64

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SkippedFile:
    """A seed file that was not indexed (or only partly), and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class IndexReport:
    """What one :func:`index_seeds` run did. Counts are of seed files."""

    added: int
    updated: int
    removed: int
    unchanged: int
    skipped: tuple[SkippedFile, ...]
    warnings: tuple[SkippedFile, ...]
    total_documents: int  # articles in the index afterwards: seeds plus related
    seeds: int
    related: int
    seconds: float
    index_dir: str
    written: bool  # False when nothing changed and no new generation was made


@dataclass(slots=True)
class _Entry:
    """A file as the manifest records it."""

    mtime_ns: int
    size: int
    url: str
    related: list[str]

    def to_json(self) -> list:
        return [self.mtime_ns, self.size, self.url, self.related]

    @classmethod
    def from_json(cls, raw: list) -> _Entry:
        return cls(int(raw[0]), int(raw[1]), str(raw[2]), [str(u) for u in raw[3]])


def index_seeds(
    paths: Iterable[str | os.PathLike[str]] = (DEFAULT_SEEDS,),
    index_dir: str | os.PathLike[str] | None = None,
    *,
    rebuild: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> IndexReport:
    """Index the seed files under ``paths`` into ``index_dir`` and report what changed.

    ``index_dir`` defaults to ``$NEWSSEARCH_INDEX``, else ``index``. With
    ``rebuild`` the index is built from scratch (the old one stays live until
    the new one is complete). ``workers`` is the number of parsing and
    writing processes (default: the machine's cores). ``progress(done,
    total)`` is called as files are parsed.

    Raises :class:`InputPathError` for a path that does not exist,
    :class:`IndexLockedError` when another process holds the index longer
    than ``lock_timeout`` seconds, :class:`SchemaVersionError` for an index
    of another schema (without ``rebuild``), and ``OSError`` when the index
    folder cannot be written.
    """
    started = time.perf_counter()
    index_dir = store.resolve_index_dir(index_dir)
    paths = [os.fspath(p) for p in paths] or [DEFAULT_SEEDS]
    files = find_seed_files(paths)
    workers = max(1, workers or os.cpu_count() or 1)
    index_dir.mkdir(parents=True, exist_ok=True)
    with store.write_lock(index_dir, lock_timeout):
        base, damage = (None, None) if rebuild else _usable_base(index_dir)
        run = _Run(_load_manifest(base), files, [os.path.abspath(p) for p in paths])
        if damage is not None:
            run.warnings.append(SkippedFile(str(index_dir), f"the index was damaged ({damage}); rebuilt it from the seeds"))
        if base is not None and not run.to_parse and not run.removed:
            return run.report(started, index_dir, store.read_meta(base), written=False)
        gen = store.new_generation(index_dir, base)
        try:
            meta = _write_generation(gen, base, run, workers, progress)
            if meta is None:  # every changed file turned out bad: nothing to publish
                assert base is not None  # a first build always publishes
                store.discard(gen)
                return run.report(started, index_dir, store.read_meta(base), written=False)
            store.publish(index_dir, gen)
        except BaseException:
            store.discard(gen)  # CURRENT still names the previous, complete generation
            raise
        return run.report(started, index_dir, meta, written=True)


def _usable_base(index_dir: Path) -> tuple[Path | None, str | None]:
    """The live generation to update, or (None, why) when it is damaged.

    A damaged index is rebuilt from the seeds rather than refused: the seeds
    are the source of truth. An index of another schema version is refused
    (``SchemaVersionError``): rebuilding it is the user's call.
    """
    from whoosh import index as whoosh_index

    try:
        base = store.current_generation(index_dir)
    except IndexCorruptError as exc:
        return None, exc.detail
    if base is None:
        return None, None
    meta = store.check_schema(index_dir, base)
    try:
        store.verify_files(index_dir, base, meta)
        _load_manifest(base)
        facets.Columns.load(base)
        ix = whoosh_index.open_dir(str(base))
        with ix.reader() as reader:
            reader.doc_count_all()
        ix.close()
    except IndexCorruptError as exc:
        return None, exc.detail
    except Exception as exc:  # noqa: BLE001 - a damaged file can fail Whoosh in any way
        return None, f"{base.name}: {type(exc).__name__}: {exc}"
    return base, None


def _load_manifest(gen: Path | None) -> dict[str, _Entry]:
    if gen is None:
        return {}
    raw = store.load_json(gen / store.MANIFEST, {"files": {}})
    return {path: _Entry.from_json(entry) for path, entry in raw.get("files", {}).items()}


class _Run:
    """What is on disk against what the index holds, and the decisions of this run."""

    def __init__(self, old: dict[str, _Entry], files: list[SeedFile], roots: list[str]) -> None:
        self.old = old
        self.new: dict[str, _Entry] = {}  # the manifest after the run
        self.to_parse: list[SeedFile] = []
        self.related_of = _Spool()  # related entries of the seeds written now, kept on disk
        self.skipped: list[SkippedFile] = []
        self.warnings: list[SkippedFile] = []
        self.added = self.updated = self.unchanged = 0
        on_disk = {f.path for f in files}
        for file in files:
            entry = old.get(file.path)
            if entry is not None and entry.mtime_ns == file.mtime_ns and entry.size == file.size:
                self.new[file.path] = entry
                self.unchanged += 1
            else:
                self.to_parse.append(file)
        for path, entry in old.items():
            if path not in on_disk and not _gone(path, roots):
                self.new[path] = entry  # indexed from another path that still exists: keep
        self.removed = sorted(p for p in old if p not in self.new and p not in {f.path for f in self.to_parse})
        self.stats = {f.path: f for f in self.to_parse}
        # Who holds each url. Files already indexed keep theirs ahead of newcomers,
        # even those being re-read now.
        self.owner = {entry.url: path for path, entry in self.new.items()}
        for file in self.to_parse:
            if file.path in old:
                self.owner.setdefault(old[file.path].url, file.path)

    def take(self, result: Article | SeedError) -> Article | None:
        """Decide about one parsed file; returns the article to write, if any."""
        if isinstance(result, SeedError):
            kept = result.path in self.old
            if kept:
                self.new[result.path] = self.old[result.path]
            self.skipped.append(SkippedFile(result.path, result.reason + ("; kept the last good version" if kept else "")))
            return None
        path, url = result.path, result.url
        previous = self.old.get(path)
        holder = self.owner.get(url)
        if holder is not None and holder != path:
            self.skipped.append(SkippedFile(path, f"duplicate webUrl, already indexed from {holder}"))
            if previous is not None:  # it had another url before: keep that version
                self.new[path] = previous
            return None
        if previous is not None and previous.url != url and self.owner.get(previous.url) == path:
            del self.owner[previous.url]
        self.owner[url] = path
        st = self.stats[path]
        self.new[path] = _Entry(st.mtime_ns, st.size, url, [r.url for r in result.related])
        self.related_of.put(path, result.related)
        self.warnings.extend(SkippedFile(path, w) for w in result.warnings)
        if previous is None:
            self.added += 1
        else:
            self.updated += 1
        return result

    def finish(self) -> list[str]:
        """After every file was taken: decide the related articles; return the urls to delete.

        The related articles to (re)write then come from :meth:`related_writes`,
        one at a time, and :attr:`expected` is the number of articles the
        index must hold once they are written.
        """
        old_seed_urls = {e.url for e in self.old.values()}
        new_seed_urls = {e.url for e in self.new.values()}
        old_related = _related_owners(self.old, old_seed_urls)
        new_related = _related_owners(self.new, new_seed_urls)
        deletes = sorted((old_seed_urls | set(old_related)) - new_seed_urls - set(new_related))
        # (url, seed path, whether it existed before): small tuples, not articles.
        self._related_plan = [
            (url, path, url in old_related)
            for url, path in sorted(new_related.items())
            if not (old_related.get(url) == path and path not in self.related_of and url not in old_seed_urls)
        ]
        self.expected = len(self.new) + len(new_related)
        return deletes

    def related_writes(self) -> Iterator[tuple[RelatedArticle, str, str]]:
        """(entry, seed path, seed url) of each related article to write, read back as needed."""
        cached_path: str | None = None
        cached: tuple[RelatedArticle, ...] = ()
        for url, path, existed in self._related_plan:
            if path != cached_path:  # a seed's entries are read once for all its urls
                cached_path = path
                cached = self.related_of.get(path) if path in self.related_of else _reread_related(path)
            entry = next((r for r in cached if r.url == url), None)
            if entry is None:
                self.expected -= not existed  # its seed cannot be read now: nothing to write
                continue
            yield entry, path, self.new[path].url

    @property
    def removed_count(self) -> int:
        return sum(1 for path in self.old if path not in self.new)

    def manifest(self) -> dict:
        return {"files": {path: self.new[path].to_json() for path in sorted(self.new)}}

    def report(self, started: float, index_dir: Path, meta: dict, *, written: bool) -> IndexReport:
        return IndexReport(
            added=self.added,
            updated=self.updated,
            removed=self.removed_count,
            unchanged=self.unchanged,
            skipped=tuple(sorted(self.skipped, key=lambda s: s.path)),
            warnings=tuple(self.warnings),
            total_documents=int(meta.get("documents", 0)),
            seeds=int(meta.get("seeds", 0)),
            related=int(meta.get("related", 0)),
            seconds=time.perf_counter() - started,
            index_dir=str(index_dir),
            written=written,
        )


class _Spool:
    """Values pickled to an anonymous temporary file, keyed in memory by offset.

    The related entries of every seed written in a run are needed again only
    at its end; on a 200,000-seed build, keeping them as objects made the
    indexer's memory grow past a gigabyte.
    """

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._where: dict[str, tuple[int, int]] = {}

    def put(self, key: str, value: object) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile()
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.seek(0, os.SEEK_END)
        self._where[key] = (self._file.tell(), len(data))
        self._file.write(data)

    def get(self, key: str) -> Any:
        offset, length = self._where[key]
        assert self._file is not None
        self._file.seek(offset)
        return pickle.loads(self._file.read(length))

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _write_generation(gen: Path, base: Path | None, run: _Run, workers: int, progress: Progress | None) -> dict | None:
    """Write the run's changes into the new generation ``gen``; None if there were none."""
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(gen)) if base is not None else whoosh_index.create_in(str(gen), build_schema())
    vocabulary = Vocabulary.load(base)
    # Whoosh's analysis is most of the cost: spread it over processes when there is enough of it.
    procs = min(workers, 4) if len(run.to_parse) >= PARALLEL_WRITER_THRESHOLD else 1
    # Separate files, not one compound file per segment: Whoosh copies each part of
    # a compound file into memory when it opens it (110 MB of RSS and 45 ms at 10,000
    # seeds), while plain files are read through the page cache.
    options = {"limitmb": WRITER_MEMORY_MB // procs, "compound": False}
    if procs > 1:
        options.update(procs=procs, multisegment=True, batchsize=256)
        _sub_writers_die_with_parent()
    writer = ix.writer(**options)
    searcher = ix.searcher() if base is not None else None  # the committed documents, for deletes
    changed = False
    try:

        def delete(*urls: str) -> None:
            if searcher is not None:
                for url in urls:
                    writer.delete_by_term("url", url, searcher=searcher)

        for result, words in _parse_all([f.path for f in run.to_parse], workers, progress):
            article = run.take(result)
            if article is None:
                continue
            previous = run.old.get(article.path)
            delete(article.url, *([previous.url] if previous and previous.url != article.url else []))
            writer.add_document(**seed_document(article))
            vocabulary.add(words)
            changed = True
        deletes = run.finish()
        delete(*deletes)
        for entry, path, seed_url in run.related_writes():
            delete(entry.url)
            writer.add_document(**related_document(entry, path, seed_url))
            changed = True
        changed = changed or bool(deletes or run.removed)
        if not changed and base is not None:
            writer.cancel()
            return None
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    finally:
        run.related_of.close()
        if searcher is not None:
            searcher.close()
    with ix.reader() as reader:
        documents, related = facets.build(reader, gen)
    ix.close()
    if documents != run.expected:
        # Whoosh's parallel writer drops a sub-writer's segment silently if it is late.
        raise IndexCorruptError(
            str(gen.parent), f"the new generation holds {documents} articles where {run.expected} were written"
        )
    before = store.read_meta(base) if base is not None else {}
    meta = {
        "schema_version": SCHEMA_VERSION,
        "created": before.get("created") or _now(),
        "updated": _now(),
        "documents": documents,
        "seeds": documents - related,
        "related": related,
    }
    vocabulary.save(gen)
    store.write_json(gen / store.MANIFEST, run.manifest())
    meta["files"] = store.file_sizes(gen)
    store.write_json(gen / store.META, meta)
    return meta


def _sub_writers_die_with_parent() -> None:
    """Make Whoosh's parallel sub-writers exit when the indexer is killed.

    They are forked ``multiprocessing`` processes reading a queue whose write
    end they hold themselves, so a SIGKILLed parent would leave them waiting
    forever. Wrapping their ``run`` once is the only hook Whoosh offers.
    """
    from whoosh.multiproc import SubWriterTask

    if getattr(SubWriterTask.run, "_dies_with_parent", False):
        return
    run = SubWriterTask.run

    def run_then_die_with_parent(self):
        # multiprocessing records the creating process's pid before it forks.
        store.die_with_parent(self._parent_pid)
        return run(self)

    setattr(run_then_die_with_parent, "_dies_with_parent", True)
    SubWriterTask.run = run_then_die_with_parent


def _parse_all(paths: list[str], workers: int, progress: Progress | None) -> Iterator[tuple[Article | SeedError, frozenset[str]]]:
    """Parse ``paths`` in order, in ``workers`` processes, never far ahead of the consumer."""
    total = len(paths)
    if total < PARALLEL_THRESHOLD or workers <= 1:
        results: Iterable[tuple[Article | SeedError, frozenset[str]]] = map(_parse_with_words, paths)
    else:
        results = _parse_in_pool(paths, workers)
    for done, item in enumerate(results, start=1):
        if progress is not None:
            progress(done, total)
        yield item


def _parse_in_pool(paths: list[str], workers: int) -> Iterator[tuple[Article | SeedError, frozenset[str]]]:
    batches = [paths[i : i + PARSE_BATCH] for i in range(0, len(paths), PARSE_BATCH)]
    # fork: workers start in milliseconds and inherit the imported modules.
    with ProcessPoolExecutor(
        workers, mp_context=get_context("fork"), initializer=store.die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        pending: deque = deque()
        queued = iter(batches)
        # A bounded window of batches in flight keeps memory flat however large the corpus.
        for batch in itertools.islice(queued, workers * 2):
            pending.append(pool.submit(_parse_batch, batch))
        while pending:
            done = pending.popleft().result()
            following: list[str] | None = next(queued, None)
            if following is not None:
                pending.append(pool.submit(_parse_batch, following))
            yield from done


def _parse_batch(paths: list[str]) -> list[tuple[Article | SeedError, frozenset[str]]]:
    return [_parse_with_words(p) for p in paths]


def _parse_with_words(path: str) -> tuple[Article | SeedError, frozenset[str]]:
    result = _parse(path)
    return result, (article_words(result) if isinstance(result, Article) else frozenset())


def seed_document(article: Article) -> dict:
    """The Whoosh document of a seed."""
    return _document(
        kind=KIND_SEED,
        url=article.url,
        title=article.title,
        excerpt=article.excerpt,
        body=article.body,
        topics=article.topics,
        provider=article.provider,
        domain=article.domain,
        published=article.published,
        category=article.category,
        path=article.path,
        related_to="",
    )


def related_document(entry: RelatedArticle, seed_path: str, seed_url: str) -> dict:
    """The Whoosh document of a related article; it names the seed that listed it."""
    return _document(
        kind=KIND_RELATED,
        url=entry.url,
        title=entry.title,
        excerpt=entry.excerpt,
        body="",
        topics=(),
        provider=entry.provider,
        domain=entry.domain,
        published=entry.published,
        category="",
        path=seed_path,
        related_to=seed_url,
    )


def _document(*, kind, url, title, excerpt, body, topics, provider, domain, published, category, path, related_to):
    topics_text = " ; ".join(topics)
    return {
        "url": url,
        "kind": kind,
        "title": title,
        "excerpt": excerpt,
        "body": body,
        "topics": topics_text,
        "provider": provider,
        "topic_facet": ",".join(topics),
        "provider_facet": provider,
        "category": category,
        "published": to_timestamp(published) if published is not None else NO_DATE,
        "payload": {
            "kind": kind,
            "url": url,
            "title": title,
            "excerpt": excerpt,
            "body": body,
            "topics": list(topics),
            "provider": provider,
            "domain": domain,
            "published": iso(published) if published is not None else None,
            "category": category,
            "path": path,
            "related_to": related_to,
        },
    }


def _related_owners(files: dict[str, _Entry], seed_urls: set[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for path in sorted(files):
        for url in files[path].related:
            if url not in seed_urls and url not in owners:
                owners[url] = path
    return owners


def _parse(path: str) -> Article | SeedError:
    try:
        return read_seed(path)
    except SeedError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - one odd file must never stop the run
        return SeedError(path, f"unreadable: {type(exc).__name__}: {exc}".splitlines()[0])


def _reread_related(path: str) -> tuple[RelatedArticle, ...]:
    result = _parse(path)
    return result.related if isinstance(result, Article) else ()


def _gone(path: str, roots: Sequence[str]) -> bool:
    """Whether an indexed file should leave the index: deleted, or no longer found under a walked root."""
    if not os.path.isfile(path):
        return True
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _now() -> str:
    from datetime import datetime, timezone

    return iso(datetime.now(timezone.utc))
