"""Build and update the index from seed files: :func:`index_seeds`.

Incremental by default. Each generation carries a manifest of the files it
holds (path, modification time, size, url, related urls), so a run only
stats the files, parses the new and changed ones (in parallel processes) and
writes what differs; an unchanged corpus costs a walk and a JSON load, and
writes nothing at all.

Rules a user can rely on:

* The whole run commits once or not at all (see :mod:`newssearch.store`).
* A bad seed is skipped and listed; if it was indexed before, its last good
  version stays and the report says so.
* A ``url`` belongs to the first file that claimed it: a file already in the
  index, else the first in path order. Another file with the same url is
  skipped as a duplicate.
* A related article is indexed once per url, from the first seed (in path
  order) that lists it, and not at all when the url is a seed of its own.
* A file disappears from the index when it no longer exists, or when a
  folder being indexed no longer holds it. Files indexed from other paths
  that still exist stay as they are.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from . import facets, store
from .dates import iso, to_timestamp
from .errors import SeedError
from .schema import KIND_RELATED, KIND_SEED, NO_DATE, SCHEMA_VERSION, build_schema
from .seeds import Article, RelatedArticle, SeedFile, find_seed_files, read_seed

DEFAULT_SEEDS = "seeds"
LOCK_TIMEOUT = 3.0  # seconds a second indexer waits for the first
WRITER_MEMORY_MB = 256
# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 200

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

    @property
    def indexed(self) -> int:
        """Seed files in the index after the run."""
        return self.seeds


@dataclass
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
    the new one is complete). ``workers`` is the number of parsing processes
    (default: the machine's cores). ``progress(done, total)`` is called as
    files are parsed.

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
    index_dir.mkdir(parents=True, exist_ok=True)
    with store.write_lock(index_dir, lock_timeout):
        base = None if rebuild else store.current_generation(index_dir)
        if base is not None:
            store.check_schema(index_dir, base)
        old = _load_manifest(base)
        run = _Run(old, files, [os.path.abspath(p) for p in paths])
        run.parse(workers, progress)
        run.plan()
        if base is not None and not run.has_writes():
            meta = store.read_meta(base)
            return run.report(started, index_dir, meta, written=False)
        meta = _write_generation(index_dir, base, run)
        return run.report(started, index_dir, meta, written=True)


def _load_manifest(gen: Path | None) -> dict[str, _Entry]:
    if gen is None:
        return {}
    raw = store.load_json(gen / store.MANIFEST, {"files": {}})
    return {path: _Entry.from_json(entry) for path, entry in raw.get("files", {}).items()}


class _Run:
    """The comparison of what is on disk with what the index holds, and the plan to fix it."""

    def __init__(self, old: dict[str, _Entry], files: list[SeedFile], roots: list[str]) -> None:
        self.old = old
        self.new: dict[str, _Entry] = {}
        self.to_parse: list[SeedFile] = []
        self.parsed: dict[str, Article] = {}
        self.skipped: list[SkippedFile] = []
        self.warnings: list[SkippedFile] = []
        self.added = self.updated = self.removed = self.unchanged = 0
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
        self.stats = {f.path: f for f in files}

    def parse(self, workers: int | None, progress: Progress | None) -> None:
        total = len(self.to_parse)
        paths = [f.path for f in self.to_parse]
        workers = workers or os.cpu_count() or 1
        if total < PARALLEL_THRESHOLD or workers <= 1:
            results: Iterable[Article | SeedError] = map(_parse, paths)
            self._collect(results, total, progress)
            return
        # fork: workers start in milliseconds and inherit the imported modules.
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            chunk = max(1, min(64, total // (workers * 8)))
            self._collect(pool.map(_parse, paths, chunksize=chunk), total, progress)

    def _collect(self, results: Iterable[Article | SeedError], total: int, progress: Progress | None) -> None:
        for done, result in enumerate(results, start=1):
            if isinstance(result, SeedError):
                kept = result.path in self.old
                if kept:
                    self.new[result.path] = self.old[result.path]
                reason = result.reason + ("; kept the last good version" if kept else "")
                self.skipped.append(SkippedFile(result.path, reason))
            else:
                self.parsed[result.path] = result
                self.warnings.extend(SkippedFile(result.path, w) for w in result.warnings)
            if progress is not None:
                progress(done, total)

    def plan(self) -> None:
        """Decide every document to delete and to write."""
        owner = {entry.url: path for path, entry in self.new.items()}  # urls kept from before
        # Files already in the index keep their url ahead of newcomers.
        order = sorted(self.parsed, key=lambda p: (p not in self.old, p))
        self.seeds: list[Article] = []
        for path in order:
            article = self.parsed[path]
            holder = owner.get(article.url)
            if holder is not None and holder != path:
                self.skipped.append(SkippedFile(path, f"duplicate webUrl, already indexed from {holder}"))
                if path in self.old:  # it had another url before: keep that version
                    self.new[path] = self.old[path]
                continue
            owner[article.url] = path
            st = self.stats[path]
            self.new[path] = _Entry(st.mtime_ns, st.size, article.url, [r.url for r in article.related])
            self.seeds.append(article)
            if path in self.old:
                self.updated += 1
            else:
                self.added += 1
        self.removed = sum(1 for path in self.old if path not in self.new)

        old_seed_urls = {e.url for e in self.old.values()}
        new_seed_urls = {e.url for e in self.new.values()}
        old_related = _related_owners(self.old, old_seed_urls)
        new_related = _related_owners(self.new, new_seed_urls)
        written = {a.path for a in self.seeds}
        self.deletes = sorted(
            (old_seed_urls | set(old_related)) - new_seed_urls - set(new_related)
        )
        self.related_writes: list[tuple[RelatedArticle, Article]] = []
        for url, path in sorted(new_related.items()):
            if old_related.get(url) == path and path not in written and url not in old_seed_urls:
                continue
            parent = self.parsed.get(path) or _reread(path)
            if parent is None:
                continue  # the owner cannot be read now: leave what the index has
            entry = next((r for r in parent.related if r.url == url), None)
            if entry is not None:
                self.related_writes.append((entry, parent))

    def has_writes(self) -> bool:
        return bool(self.seeds or self.deletes or self.related_writes)

    def manifest(self) -> dict:
        return {"files": {path: self.new[path].to_json() for path in sorted(self.new)}}

    def report(self, started: float, index_dir: Path, meta: dict, *, written: bool) -> IndexReport:
        return IndexReport(
            added=self.added,
            updated=self.updated,
            removed=self.removed,
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


def _write_generation(index_dir: Path, base: Path | None, run: _Run) -> dict:
    from whoosh import index as whoosh_index

    gen = store.new_generation(index_dir, base)
    try:
        if base is None:
            ix = whoosh_index.create_in(gen, build_schema())
        else:
            ix = whoosh_index.open_dir(gen)
        writer = ix.writer(limitmb=WRITER_MEMORY_MB)
        try:
            for url in run.deletes:
                writer.delete_by_term("url", url)
            for article in run.seeds:
                writer.update_document(**seed_document(article))
            for entry, parent in run.related_writes:
                writer.update_document(**related_document(entry, parent))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        with ix.reader() as reader:
            documents, related = facets.build(reader, gen)
        ix.close()
        previous = store.read_meta(base) if base is not None else {}
        meta = {
            "schema_version": SCHEMA_VERSION,
            "created": previous.get("created") or _now(),
            "updated": _now(),
            "documents": documents,
            "seeds": documents - related,
            "related": related,
        }
        store.write_json(gen / store.MANIFEST, run.manifest())
        store.write_json(gen / store.META, meta)
        store.publish(index_dir, gen)
    except BaseException:
        store.discard(gen)  # CURRENT still names the previous, complete generation
        raise
    return meta


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


def related_document(entry: RelatedArticle, parent: Article) -> dict:
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
        path=parent.path,
        related_to=parent.url,
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
        "vocab": " ".join((title, excerpt, body, topics_text, provider)),
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


def _reread(path: str) -> Article | None:
    result = _parse(path)
    return result if isinstance(result, Article) else None


def _gone(path: str, roots: Sequence[str]) -> bool:
    """Whether an indexed file should leave the index: deleted, or no longer found under a walked root."""
    if not os.path.isfile(path):
        return True
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _now() -> str:
    from datetime import datetime, timezone

    return iso(datetime.now(timezone.utc))
