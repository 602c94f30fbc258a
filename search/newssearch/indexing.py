"""Build and update the index from seed files: :func:`index_seeds`.

Incremental by default. Each generation carries a manifest of every file it
has seen (path, modification time, size, state, url, related urls), good,
bad or duplicate, so a run only stats the files, parses the new and changed
ones and writes what differs; an unchanged corpus costs a walk and a JSON
load, and writes nothing at all.

Worker processes (:mod:`newssearch.workers`) parse batches of files
(round-robin, a bounded window ahead of the main process, so memory stays
flat however large the corpus) and add each seed and its related entries
straight to their own new segment (:mod:`newssearch.codec.segments`). The main
process reads the results back in path order and decides: a document it
does not keep (a losing duplicate, a related entry another seed owns) is
only marked deleted, which costs nothing. Who holds each url is decided at
the end, from the manifest alone; the few files that take a url over without
having changed are read again, and kept versions written from their payloads
(:mod:`newssearch.documents`), by the main process. Replaced documents are
deleted in the old segments, small segments are merged, and one ``TOC``
lists the result; the whole is one generation (:func:`newssearch.store.new_generation`).

A parsed seed's words are counted in the spelling vocabulary as it is
written, even if it then loses as a duplicate. The words of every document a run
removes are counted out again, so the vocabulary is what a fresh build counts.

Rules a user can rely on:

* The whole run commits once or not at all (see :mod:`newssearch.store`).
* After every run the index is what a fresh build of the same files would
  give: who holds a url depends on the files alone, never on the order in
  which runs saw them (see :func:`owners`). The one mark history leaves is
  the next rule.
* A bad seed is skipped and listed on every run. If the index held it when
  it turned bad, its last version is kept (``KEPT``) until the file parses
  again or goes, and counts in every decision as if the file still held it.
* A ``url`` belongs to the first file in path order that has it; urls are
  compared normalised (:func:`newssearch.urls.normalize_url`: ``http`` and
  ``https``, ``www.``, tracking parameters and AMP markers make no
  difference), and the manifest records them so. Another
  file with the same url is a duplicate: listed when it is read or loses the
  url, counted on every run, and it takes the url over, without having to
  change, when the first one goes.
* A related article is indexed once per url, from the first seed (in path
  order) that holds its own url and lists it, and not at all when the url is
  a seed of its own.
* A file disappears from the index when it no longer exists, or when a
  folder being indexed no longer holds it. Files indexed from other paths
  that still exist stay as they are.
* An unchanged corpus writes nothing, whatever it holds.
"""

from __future__ import annotations

import errno
import gc
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import chain, compress, count, repeat, starmap
from operator import and_, eq, ge, itemgetter, ne, not_, or_
from pathlib import Path
from typing import Any, NamedTuple, cast

from . import store
from . import workers as processes
from .dates import now_iso
from .documents import Payload, document_from_payload, related_document, related_from_payload, sign
from .errors import IndexCorruptError, InputPathError, SchemaVersionError, SeedError
from .seeds import SeedFile, check_roots, find_seed_files
from .store import KIND_SEED, GenerationMeta
from .urls import normalize_url
from .workers import Parsed, SegmentWriter

# The writing modules (Whoosh, NumPy) are imported when there is something to
# write: a run that finds nothing changed costs a walk and a manifest load.

DEFAULT_SEEDS = "seeds"
LOCK_TIMEOUT = 3.0  # seconds a second indexer waits for the first

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
    duplicates: int = 0  # files that parse but whose url a file before them in path order holds
    remote: RemoteSync | None = None  # what a sync to a remote engine sent (None for a local index)


@dataclass(frozen=True)
class RemoteSync:
    """What one run sent to a remote engine (see :mod:`newssearch.engines`)."""

    target: str  # the engine's url, without credentials
    documents: int  # articles the remote collection holds afterwards
    upserted: int  # documents sent, new or changed
    deleted: int  # documents removed
    checked: bool  # False when the ledger and the collection's size showed nothing to compare


# The state of a file in the manifest.
OK = "ok"  # it parses; it holds its url unless a file before it in path order does
BAD = "bad"  # it does not parse and the index holds nothing of it
KEPT = "kept"  # it does not parse now; its last version the index held stands in for it


class _Entry(NamedTuple):
    """A file as the manifest records it (a tuple: 50,000 of them load on every run).

    ``url`` is the seed's url (for a ``KEPT`` file, that of its kept version;
    empty for a ``BAD`` one) and ``note`` why a bad or kept file cannot be
    read. ``related`` is None for an entry loaded from disk: its related urls
    are in a second file, read only when the run writes something (see
    ``_Run.related``).
    """

    mtime_ns: int
    size: int
    url: str
    state: str
    note: str
    related: Sequence[str] | None


def index_seeds(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] = (DEFAULT_SEEDS,),
    index_dir: str | os.PathLike[str] | None = None,
    *,
    rebuild: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> IndexReport:
    """Index the seed files under ``paths`` into ``index_dir`` and report what changed.

    This is the local engine's writer. :func:`newssearch.index_seeds` (the
    library's name) also takes the url of a remote engine in place of
    ``index_dir`` (see :mod:`newssearch.engines`).

    ``paths`` is one path or a list of them (files or folders). ``index_dir``
    defaults to ``$NEWSSEARCH_INDEX``, else ``index``. With ``rebuild`` the
    index is built from scratch (the old one stays live until the new one is
    complete). ``workers`` is the number of parsing and writing processes
    (default: the machine's cores). ``progress(done, total)`` is called as
    files are parsed. A second indexer waits up to ``lock_timeout`` seconds
    for the first.

    Raises :class:`InputPathError` for a path that does not exist or an
    argument of the wrong kind, :class:`IndexLockedError` when another
    process holds the index longer than ``lock_timeout`` seconds,
    :class:`SchemaVersionError` for an index of another schema (without
    ``rebuild``), and ``OSError`` when the index folder cannot be written.
    An unchanged corpus writes nothing, so it succeeds on a read-only index.
    """
    started = time.perf_counter()
    paths = _path_list(paths)
    workers = _positive("workers", workers, os.cpu_count() or 1)
    lock_timeout = _seconds("lock_timeout", lock_timeout)
    index_dir = store.resolve_index_dir(index_dir)
    early = processes.prestart(paths, workers)  # forked while this process is small
    with _no_cycle_collection():
        return _index(paths, index_dir, rebuild, workers, progress, lock_timeout, early, started)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off for the run: its passes over millions of new tuples (the
    file list, the manifest) cost a third of an unchanged run at a million files, and the run
    makes no cycles worth collecting. As before, afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _index(
    paths: list[str],
    index_dir: Path,
    rebuild: bool,
    workers: int,
    progress: Progress | None,
    lock_timeout: float,
    early: processes.Workers | None,
    started: float,
) -> IndexReport:
    """The run of :func:`index_seeds`, its arguments checked; stops ``early``'s workers however it ends."""
    try:
        check_roots(paths)  # a path that is not there is reported before the index folder is made
        if not index_dir.is_dir():
            index_dir.mkdir(parents=True, exist_ok=True)
        with store.write_lock(index_dir, lock_timeout) as writable:
            # The base is checked and its manifest loaded in a thread while the folders are
            # walked: reading, checksums and zlib there release the GIL, as the walk's stat
            # calls do (1.4 s, of the 6 of an unchanged million files). The early workers, idle
            # until they get their writers, stat half of a large folder meanwhile.
            loader = _Thread(_usable_base, index_dir) if not rebuild else None
            with _in_thread(loader):
                files = find_seed_files(paths, helper=early.stat if early is not None else None)
            base, rebuilt, manifest = loader.result if loader is not None else (None, None, {})
            run = _Run(manifest, files, [os.path.abspath(p) for p in paths], base)
            del files, manifest  # the run holds what it needs of them
            if rebuilt is not None:
                run.warnings.append(SkippedFile(str(index_dir), rebuilt))
            if base is not None and not run.to_parse and not run.removed:
                if writable:
                    store.remove_unpublished(index_dir)  # what a killed run left behind
                return run.report(started, index_dir, store.read_meta(base), written=False)
            if not writable:
                raise PermissionError(errno.EACCES, "the index folder is read-only", str(index_dir))
            # Published when the block ends; discarded if it raises (CURRENT still names the previous one).
            with store.new_generation(index_dir, base) as gen:
                meta = _write_generation(gen, base, run, workers, progress, early)
            return run.report(started, index_dir, meta, written=True)
    finally:
        if early is not None:
            early.stop()  # unused, or already finished (then this only reaps them)


def _path_list(paths: object) -> list[str]:
    """``paths`` as a list of path strings: one path is a list of one, never of characters."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    try:
        items = list(paths)  # type: ignore[call-overload]
    except TypeError:
        raise InputPathError(f"paths: expected a path or a list of paths, got {type(paths).__name__}") from None
    if not items:
        raise InputPathError("paths: no seed files or folders given")
    result = []
    for item in items:
        if not isinstance(item, (str, bytes, os.PathLike)):
            raise InputPathError(f"paths: expected a path, got {type(item).__name__} {item!r}")
        result.append(os.fsdecode(item))
    return result


def _positive(name: str, value: object, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputPathError(f"{name}: expected a whole number of at least 1, got {value!r}")
    return value


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InputPathError(f"{name}: expected a number of seconds (0 or more), got {value!r}")
    return float(value)


def _usable_base(index_dir: Path) -> tuple[Path | None, str | None, _Manifest | dict[str, _Entry]]:
    """The live generation to update and its manifest, or (None, notice, {}) when the run must
    build from scratch and say why.

    A damaged index, or one of an older schema version, is rebuilt from the
    seeds rather than refused: the seeds are the source of truth. An index of
    a newer (or unknown) schema version is refused (``SchemaVersionError``): a
    newer newssearch may still be using it, so replacing it is the user's call.
    """
    try:
        base = store.current_generation(index_dir)
    except IndexCorruptError as exc:
        return None, _damaged(exc.detail), {}
    if base is None:
        return None, None, {}
    try:
        meta = store.check_schema(index_dir, base)
    except SchemaVersionError as exc:
        if not exc.is_older(exc.found, exc.expected):
            raise
        changes = store.changes_since(exc.found)
        notice = f"the index was built with schema version {exc.found}; rebuilt it with version {exc.expected}"
        return None, notice + (f" ({changes})" if changes else ""), {}
    try:
        # Sizes of every file and checksums of the small ones (the table of contents,
        # the facet arrays, the vocabulary, the related urls): the base is then sound
        # to build upon without opening it, so an unchanged corpus never imports Whoosh.
        store.verify_files(index_dir, base, meta, checksums=True)
        manifest = _load_manifest(base)
    except IndexCorruptError as exc:
        return None, _damaged(exc.detail), {}
    except Exception as exc:  # noqa: BLE001 - a damaged manifest can fail its parse in any way
        return None, _damaged(store.damaged(index_dir, base, exc).detail), {}
    return base, None, manifest


def _damaged(detail: str) -> str:
    return f"the index was damaged ({detail}); rebuilt it from the seeds"


def _load_manifest(gen: Path) -> _Manifest:
    """The files a generation holds. Stored by column, so that loading and checking
    a million entries is a few C-level passes, not Python work per entry."""
    stored: dict[str, store.StoredColumn] = {}
    raw = store.load_columns(gen / store.MANIFEST, {}, stored)
    columns = [raw.get(name, []) for name in _MANIFEST_COLUMNS]
    if not store.columns_of(columns, (str, int, int, str, str, str)) or not set(columns[4]) <= {OK, BAD, KEPT}:
        raise ValueError(f"{gen.name}/{store.MANIFEST} is not a manifest of this version")
    return _Manifest(columns, stored)


class _Manifest:
    """A loaded manifest, by column in path order (see ``_MANIFEST_COLUMNS``).

    Its entries, ``{path: _Entry}``, are made only for a run that changes
    something: an unchanged corpus is recognised by comparing three columns
    with the files found, and reported from the columns (a million entries
    made and freed were a tenth of such a run).
    """

    def __init__(self, columns: list[list], stored: dict[str, store.StoredColumn] | None = None) -> None:
        self.columns = columns
        self.stored = stored or {}  # each column as it is on disk (see reuse())

    def __len__(self) -> int:
        return len(self.columns[0])

    def entries(self) -> dict[str, _Entry]:
        paths, *values = self.columns
        # tuple.__new__ makes each _Entry in C (a named tuple's own __new__ is Python code).
        return dict(zip(paths, map(tuple.__new__, repeat(_Entry), zip(*values, repeat(None)))))

    def reuse(self, columns: dict[str, list]) -> dict[str, list | store.StoredColumn]:
        """``columns`` (a new manifest by column), each equal to this manifest's column replaced by
        the stored one: an update that edits files keeps their paths, urls, states and notes, and
        those million values are then not encoded and compressed again (4 s at a million files)."""
        mine = dict(zip(_MANIFEST_COLUMNS, self.columns))
        return {
            name: self.stored[name] if name in self.stored and name in mine and values == mine[name] else values
            for name, values in columns.items()
        }


def _load_kept(gen: Path | None) -> dict[str, Payload]:
    """The stored payload of each kept file's last version (see ``KEPT``)."""
    if gen is None:
        return {}
    raw = store.load_json(gen / store.KEPT_VERSIONS, {})
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise IndexCorruptError(str(gen.parent), f"{gen.name}/{store.KEPT_VERSIONS} is not a map of kept articles")
    return raw


_MANIFEST_COLUMNS = ("paths", "mtime_ns", "sizes", "urls", "states", "notes")
_URL, _STATE, _STATS_OF_ENTRY = itemgetter(2), itemgetter(3), itemgetter(0, 1)  # of an _Entry
_PATH, _MTIME, _SIZE, _STATS_OF_FILE = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(1, 2)  # of a SeedFile


def owners(
    paths: Sequence[str], urls: Sequence[str], states: Sequence[str], related: Sequence[Sequence[str]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Who holds each url: ``({seed url: path}, {related url: path})``.

    The manifest's files by column, in path order: each file's path, url,
    state and related urls. The one rule, which depends only on the files as
    they are (and the kept versions of bad ones), never on the order in which
    runs saw them: a seed url belongs to the first file in path order that
    has it; a related url to the first of those owning files, in path order,
    that lists it, unless it is a seed url.
    """
    # Every step a C-level pass over a column (compress, chain, map of a bound method): a
    # million files and three million related urls take a fraction of a second, where a
    # Python loop per file took seconds. setdefault keeps a url's first file, and fed from
    # iterators it makes no list of three million pairs: this runs while the workers write
    # their last segments, when a build's processes hold the most memory together.
    ok = list(map(BAD.__ne__, states))
    seeds: dict[str, str] = {}
    _consume(map(seeds.setdefault, compress(urls, ok), compress(paths, ok)))
    holders = set(seeds.values())
    held = list(map(holders.__contains__, paths))
    del ok, holders

    def listed() -> Iterator[str]:
        return chain.from_iterable(compress(related, held))

    listing = chain.from_iterable(map(repeat, compress(paths, held), map(len, compress(related, held))))
    free = map(not_, map(seeds.__contains__, listed()))
    owned: dict[str, str] = {}
    _consume(starmap(owned.setdefault, compress(zip(listed(), listing), free)))
    return seeds, owned


_consume: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend  # runs an iterator to its end in C


def owner_columns(
    paths: Sequence[str], urls: Sequence[str], related: Sequence[Sequence[str]], seeds: dict[str, str], owned: dict[str, str]
) -> dict[str, list[int]]:
    """What :func:`owners` found, stored beside the related urls (``related.cols``) so that the
    next run need not find it again: the rows of the files that hold their seed url
    (``seed_holders``), and the places, in the related urls of every file one after another,
    of those the listing file holds (``related_held``)."""
    holds = map(eq, map(seeds.get, urls), paths)
    listing = chain.from_iterable(map(repeat, paths, map(len, related)))
    held = map(eq, map(owned.get, chain.from_iterable(related)), listing)
    return {"seed_holders": list(compress(count(), holds)), "related_held": list(compress(count(), held))}


def stored_owners(
    paths: Sequence[str], urls: Sequence[str], related: Sequence[Sequence[str]], stored: tuple[list[int], list[int]] | None
) -> tuple[dict[str, str], dict[str, str]] | None:
    """:func:`owners` of these columns as :func:`owner_columns` stored them, or None when there
    are none or they do not fit the columns (then they are found again).

    Making the two dicts from the stored rows costs less than finding them (1.8 s against 2.6 s
    measured alone at a million files and two million related urls; finding them took 3.7 s in
    a run, beside the workers): no set of holders, no test of each related url against the
    seed urls. The stored rows are a cache, written with the columns
    they describe in one file and checksummed with it; the tests compare them with
    :func:`owners` after every kind of run.
    """
    if stored is None:
        return None
    holders, held = stored
    flat = list(chain.from_iterable(related))
    rows, places = len(paths), len(flat)
    if not all(0 <= row < rows for row in (holders[:1] + holders[-1:])) or not all(0 <= at < places for at in (held[:1] + held[-1:])):
        return None
    if any(map(ge, holders, holders[1:])) or any(map(ge, held, held[1:])):  # (increasing: then the ends bound them all)
        return None
    seeds = dict(zip(map(urls.__getitem__, holders), map(paths.__getitem__, holders)))
    listing = list(chain.from_iterable(map(repeat, paths, map(len, related))))
    owned = dict(zip(map(flat.__getitem__, held), map(listing.__getitem__, held)))
    return seeds, owned


def _same_columns(old: tuple | None, new: tuple) -> bool:
    """Whether two inputs of :func:`owners` are equal (a related list read back from the
    manifest equals the tuple a parse made of the same urls); C-level passes."""
    if old is None:
        return False
    (paths, urls, states, related), (new_paths, new_urls, new_states, new_related) = old, new
    return (
        paths == new_paths
        and urls == new_urls
        and states == new_states
        and all(map(eq, map(tuple, related), map(tuple, new_related)))
    )


class _Run:
    """What is on disk against what the index holds, and the decisions of this run.

    The index a run leaves is a function of the files alone (see :func:`owners`),
    so an incremental run ends where a fresh build of the same files would.
    """

    def __init__(self, old: _Manifest | dict[str, _Entry], files: list[SeedFile], roots: list[str], base: Path | None) -> None:
        self.base = base
        self._old_related: dict[str, list[str]] | None = None
        # The base's manifest by column: read by start(), and its stored columns reused by manifest().
        self._base_manifest = old if isinstance(old, _Manifest) else None
        self._new_columns: tuple[list[str], list[str], list[str], list[Sequence[str]]] | None = None
        self._old_owner_columns: tuple[list[str], list[str], list[str], list] | None = None
        self.to_parse: list[SeedFile] = []
        # Files that parsed in this run: the new segment and docnum of their seed (its related
        # entries follow it), as one int (see placed()). Only that, not the whole Parsed, nor a
        # tuple per file: a million of them are kept while the workers still write.
        self.parsed: dict[str, int] = {}
        self._segids: dict[str, int] = {}  # the segments of parsed files, numbered
        self.newly_kept: list[str] = []  # files that turned bad in this run while the index held them
        self.remake: list[str] = []  # decided by finish()
        # Whether every file lists the related urls the base's related.cols holds, in its order
        # (then that file is taken as it is).
        self.related_unchanged = False
        self._related_file_aligned = False
        self.kept: dict[str, Payload] = {}  # the payload of each kept file's last version
        self.skipped: list[SkippedFile] = []
        self.warnings: list[SkippedFile] = []
        self.added = self.updated = 0
        self.removed: list[str] = []
        self.stats: dict[str, SeedFile] = {}
        self.unchanged = 0
        # Which files are as the manifest has them: C-level passes over columns (a Python
        # loop per file was seconds at a million files). The walk and the manifest both list
        # paths in path order, so when no file was added or gone the paths compare as lists,
        # and the times and sizes as columns.
        paths = list(map(_PATH, files))
        same_paths = self._same_paths = isinstance(old, _Manifest) and paths == old.columns[0]
        if same_paths:
            assert isinstance(old, _Manifest)
            mtimes, sizes = list(map(_MTIME, files)), list(map(_SIZE, files))
            self.same = mtimes == old.columns[1] and sizes == old.columns[2]
        else:
            self.same = False
        if self.same:
            assert isinstance(old, _Manifest)
            # Nothing changed, nothing gone: the common run, at C speed. It writes nothing, so it
            # needs no entries (``old`` and ``new`` are left unset): it reports from the columns.
            self.unchanged = len(files)
            _, _, _, urls, states, notes = old.columns
            self.skipped = [SkippedFile(p, _bad_reason(n, s)) for p, s, n in zip(paths, states, notes) if s != OK]
            self.duplicates = _count_duplicates(urls, states)
            return
        self.old = old.entries() if isinstance(old, _Manifest) else old
        if same_paths:
            # The same files, some edited (the usual run): the manifest's entries are in the same
            # (path) order as its columns.
            assert isinstance(old, _Manifest)
            same = list(map(and_, map(eq, mtimes, old.columns[1]), map(eq, sizes, old.columns[2])))
            self.new: dict[str, _Entry] = dict(zip(compress(paths, same), compress(self.old.values(), same)))
        else:
            old_stats = dict(zip(self.old, map(_STATS_OF_ENTRY, self.old.values())))
            same = list(map(eq, map(old_stats.get, paths), map(_STATS_OF_FILE, files)))
            del old_stats
            unchanged = list(compress(paths, same))
            self.new = dict(zip(unchanged, map(self.old.__getitem__, unchanged)))  # the manifest after the run
        self.to_parse = list(compress(files, map(not_, same)))
        self.unchanged = len(self.new)
        if not same_paths:
            for path in sorted(self.old.keys() - set(paths)):  # (a set difference: a million paths in C)
                if not _gone(path, roots):
                    self.new[path] = self.old[path]  # indexed from another path that still exists: keep
            reparsed = {f.path for f in self.to_parse}
            self.removed = sorted(self.old.keys() - self.new.keys() - reparsed)
        self.stats = {f.path: f for f in self.to_parse}
        self._list_bad_files()

    def _list_bad_files(self) -> None:
        """Files that still do not parse are listed on every run, not only when they change."""
        for path, entry in self.new.items():
            if entry.state != OK:
                self.skipped.append(SkippedFile(path, _bad_reason(entry.note, entry.state)))

    def related(self, path: str, entry: _Entry) -> Sequence[str]:
        """The related urls of a file of the manifest (read from the base generation as needed)."""
        if entry.related is not None:
            return entry.related
        return self._base_related().get(path, [])

    def _base_related(self) -> dict[str, list[str]]:
        if self._old_related is None:
            assert self.base is not None
            self._old_related = store.load_related(self.base)
        return self._old_related

    def _columns(self, entries: dict[str, _Entry]) -> tuple[list[str], list[str], list[str], list[Sequence[str]]]:
        """The paths of ``entries`` in path order, and their urls, states and related urls."""
        paths = sorted(entries)
        chosen = list(map(entries.__getitem__, paths))
        loaded = {} if all(e.related is not None for e in chosen) else self._base_related()
        get = loaded.get
        related = [r if (r := e.related) is not None else get(p, []) for p, e in zip(paths, chosen)]
        return paths, list(map(_URL, chosen)), list(map(_STATE, chosen)), related

    def start(self) -> None:
        """Before any file is taken: who held each url in the base generation."""
        if self._base_manifest is not None and self.base is not None:
            # The loaded columns, already in path order, and the related urls in the same order.
            paths, _, _, urls, states, _ = self._base_manifest.columns
            related_paths, related, stored = store.load_related_columns(self.base)
            self._old_related = dict(zip(related_paths, related))
            # Whether the base's related.cols is what this run writes when nothing it holds changed
            # (one written before the owners were stored beside the urls is written anew).
            aligned = related_paths == paths
            self._related_file_aligned = aligned and stored is not None
            if not aligned:
                related = [self._old_related.get(path, []) for path in paths]
                stored = None  # (rows of other columns)
            columns: tuple[list[str], list[str], list[str], list] = (paths, urls, states, related)
            found = stored_owners(paths, urls, related, stored)
        else:
            columns = self._columns(self.old)
            found = None
        self.old_seeds, self.old_related_owners = found or owners(*columns)
        self._old_owner_columns = columns  # compared with the run's in finish()
        # (The manifest keeps the payloads of the files still kept at the end of the run.)
        self.kept = _load_kept(self.base)

    def take(self, result: Parsed | SeedError) -> None:
        """Record one file read in this run."""
        path = result.path
        st = self.stats.pop(path)
        if isinstance(result, SeedError):
            previous = self.old.get(path)
            held = previous is not None and (
                (previous.state == KEPT and path in self.kept) or (previous.state == OK and self.old_seeds.get(previous.url) == path)
            )
            if held:
                assert previous is not None
                self.new[path] = _Entry(st.mtime_ns, st.size, previous.url, KEPT, result.reason, self.related(path, previous))
                if previous.state == OK:
                    self.newly_kept.append(path)
            else:
                self.new[path] = _Entry(st.mtime_ns, st.size, "", BAD, result.reason, [])
                self.kept.pop(path, None)
            self.skipped.append(SkippedFile(path, _bad_reason(self.new[path].note, self.new[path].state)))
            return
        path = st.path  # this process's own string, which the manifest already holds
        self.new[path] = _Entry(st.mtime_ns, st.size, result.url, OK, "", result.related)
        self.kept.pop(path, None)
        self.parsed[path] = self._segids.setdefault(result.segid, len(self._segids)) << 32 | result.docnum
        self.warnings.extend(SkippedFile(path, w) for w in result.warnings)

    def placed(self) -> Iterator[tuple[str, str, int]]:
        """Each file parsed in this run, with the segment id and docnum of its seed."""
        segids = list(self._segids)
        for path, place in self.parsed.items():
            yield path, segids[place >> 32], place & 0xFFFFFFFF

    def paths_to_parse(self) -> list[str]:
        """The paths of the files to read, in path order. From then on each file's stat is held
        only until :meth:`take` has it (a million of them, at a build's peak of memory)."""
        paths = [f.path for f in self.to_parse]
        self.to_parse = []
        return paths

    def keep_versions(self, payloads: dict[str, Payload]) -> None:
        """The payloads of the files that turned bad in this run, read from the base generation.

        A file whose last version cannot be found there (it never made it in)
        is bad, not kept.
        """
        for path in self.newly_kept:
            payload = payloads.get(path)
            if payload is None:
                entry = self.new[path]
                self.new[path] = entry._replace(url="", state=BAD, related=[])
            else:
                self.kept[path] = payload

    def finish(self) -> set[str]:
        """After every file was taken: decide who holds each url; return the urls to delete
        from the base generation's segments.

        Afterwards :attr:`seeds` and :attr:`related_owners` say who holds what,
        :attr:`remake` lists the files whose documents must be written although
        they were not parsed (they take over a url, or a kept version comes
        back), and :attr:`expected` is the number of articles the index holds.
        """
        self._new_columns = self._columns(self.new)
        # The same files with the same urls, states and related urls (edits of their text, the
        # usual update): owners() is a function of these alone, so the owners are the base's.
        same_owners = _same_columns(self._old_owner_columns, self._new_columns)
        if same_owners:
            self.seeds, self.related_owners = self.old_seeds, self.old_related_owners
            self.related_unchanged = self._related_file_aligned
        else:
            self.seeds, self.related_owners = owners(*self._new_columns)
        self._old_owner_columns = None
        self._count_outcomes()
        self.expected = len(self.seeds) + len(self.related_owners)
        if same_owners:
            # Nobody took a url over, so nothing is remade, and a url is stale exactly when the
            # file holding it was read again (what the general case below comes to then).
            self.remake = []
            read = self.parsed.__contains__
            stale = set(compress(self.seeds, map(read, self.seeds.values())))
            stale.update(compress(self.related_owners, map(read, self.related_owners.values())))
            return stale
        stable = self._split_stable_and_remake()
        # The base's urls no stable file keeps, in C-level passes (3 million urls at a million seeds).
        stale = set(self.old_seeds)
        stale.update(self.old_related_owners)
        stale.difference_update(compress(self.seeds, map(stable.__contains__, self.seeds.values())))
        stale.difference_update(compress(self.related_owners, map(stable.__contains__, self.related_owners.values())))
        return stale

    def _split_stable_and_remake(self) -> set[str]:
        """The owning files not read in this run whose documents stay as they are in the base
        segments; the others go to :attr:`remake` (they take over a url or a related entry)."""
        # A file keeps its documents when no related url moved to it: the urls it holds now are
        # among those it held before. (C-level passes over the owners, not a set per file.)
        holders = self.related_owners.values()
        gainers = set(compress(holders, map(ne, holders, map(self.old_related_owners.get, self.related_owners))))
        urls, paths = list(self.seeds), list(self.seeds.values())
        unread = list(map(not_, map(self.parsed.__contains__, paths)))
        stays = list(map(and_, map(eq, map(self.old_seeds.get, urls), paths), map(not_, map(gainers.__contains__, paths))))
        self.remake = sorted(compress(paths, map(and_, map(not_, stays), unread)))
        return set(compress(paths, map(and_, stays, unread)))

    def _count_outcomes(self) -> None:
        """Count the files added and updated, and list the duplicates to report."""
        paths, entries = list(self.new), list(self.new.values())
        # Only a file read in this run or one that does not hold its url counts (found in C).
        duplicate = map(and_, map(BAD.__ne__, map(_STATE, entries)), map(ne, map(self.seeds.get, map(_URL, entries)), paths))
        for path, entry in compress(zip(paths, entries), map(or_, duplicate, map(self.parsed.__contains__, paths))):
            if entry.state != BAD and self.seeds.get(entry.url) != path:
                # Listed when it is read, or when it loses its url; not on every run.
                if path in self.parsed or self.old_seeds.get(entry.url) == path:
                    self.skipped.append(SkippedFile(path, f"duplicate webUrl, already indexed from {self.seeds[entry.url]}"))
            elif path in self.parsed:
                if path in self.old:
                    self.updated += 1
                else:
                    self.added += 1

    def owned(self, path: str) -> set[str]:
        """The related urls ``path`` holds after the run."""
        return {url for url in self.related(path, self.new[path]) if self.related_owners.get(url) == path}

    def lost(self, path: str, reason: str) -> None:
        """A file to remake could not be read again (it changed while the run went on): it is
        left out of this generation, and its entry is made stale so that the next run reads it."""
        entry = self.new[path]
        self.expected -= 1 + len(self.owned(path))
        self.new[path] = entry._replace(mtime_ns=-1)
        self.skipped.append(SkippedFile(path, f"{reason}; it will be read again on the next run"))

    @property
    def duplicate_count(self) -> int:
        if self.same:
            return self.duplicates
        if self._new_columns is not None:  # finish() made them (a later lost() changes only mtimes)
            # Each file that parses holds its url or duplicates one: those that do not hold theirs
            # (what _count_duplicates counts, without a set of a million urls).
            _, _, states, _ = self._new_columns
            return len(states) - states.count(BAD) - len(self.seeds)
        return _count_duplicates([e.url for e in self.new.values()], [e.state for e in self.new.values()])

    @property
    def removed_count(self) -> int:
        if self.same:
            return 0
        if self._same_paths:  # every file of the manifest is there: only those not yet taken are missing
            return len(self.stats)
        return len(self.old.keys() - self.new.keys())

    def manifest(self) -> tuple[dict, dict, dict]:
        """The new generation's manifest, its related urls (both by column) and its kept payloads."""
        assert self._new_columns is not None, "manifest() comes after finish()"
        paths, urls, states, related = self._new_columns  # (what a file lost since finish() is its mtime)
        entries = list(map(self.new.__getitem__, paths))
        columns = (paths, [e.mtime_ns for e in entries], [e.size for e in entries], urls, states, [e.note for e in entries])
        kept = {path: self.kept[path] for path, state in zip(paths, states) if state == KEPT}
        manifest: dict[str, list] = dict(zip(_MANIFEST_COLUMNS, columns))
        written = self._base_manifest.reuse(manifest) if self._base_manifest is not None else manifest
        return written, {"paths": paths, "related": related}, kept

    def owner_columns(self) -> dict[str, list[int]]:
        """The owners found by :meth:`finish`, as :func:`owner_columns` stores them beside the related urls."""
        assert self._new_columns is not None, "owner_columns() comes after finish()"
        paths, urls, _, related = self._new_columns
        return owner_columns(paths, urls, related, self.seeds, self.related_owners)

    def report(self, started: float, index_dir: Path, meta: GenerationMeta, *, written: bool) -> IndexReport:
        return IndexReport(
            added=self.added,
            updated=self.updated,
            removed=self.removed_count,
            unchanged=self.unchanged,
            skipped=tuple(sorted(self.skipped, key=lambda s: s.path)),
            warnings=tuple(self.warnings),
            total_documents=meta.documents,
            seeds=meta.seeds,
            related=meta.related,
            seconds=time.perf_counter() - started,
            index_dir=str(index_dir),
            written=written,
            duplicates=self.duplicate_count,
        )


def _bad_reason(note: str, state: str) -> str:
    return note + ("; kept the last good version" if state == KEPT else "")


def _count_duplicates(urls: list[str], states: list[str]) -> int:
    """Files that parse but whose url an earlier file holds: all but one of each url's files."""
    parsed = list(compress(urls, map(BAD.__ne__, states)))
    return len(parsed) - len(set(parsed))


def _write_generation(
    gen: store.NewGeneration,
    base: Path | None,
    run: _Run,
    workers: int,
    progress: Progress | None,
    early: processes.Workers | None = None,
) -> GenerationMeta:
    """Write the run's changes into the new generation ``gen`` and seal it; returns its metadata.

    The steps: the files to read go into new segments and every decision is
    made (:func:`_write_new_segments`); what the run replaces or does not keep
    is deleted (:func:`_delete_replaced`); small segments are merged and one
    table of contents lists the result; then the side files computed from the
    whole index (the per-document arrays, the vocabulary) and the metadata.
    """
    from .codec import segments
    from .schema import build_schema
    from .vocab import Vocabulary

    folder = gen.folder
    schema = build_schema()
    if base is None:
        segments.create(folder, schema)
    old_segments, toc_number = segments.read(folder, schema)
    vocabulary = Vocabulary.load(base)
    dropped: dict[str, set[int]] = {}  # documents of new segments the index does not keep
    finished, stale = _write_new_segments(gen, base, run, schema, workers, progress, dropped, early)
    final, removed = _delete_replaced(folder, schema, old_segments, finished, stale, dropped, vocabulary)
    del finished, stale, dropped  # hundreds of MB at 200,000 seeds: gone before the facet arrays
    # The words of the removed documents leave the vocabulary beside the merge and the
    # per-document arrays (see _forgetting; forked first, while no other thread runs). The
    # files of merged segments, which it may read, are removed once it is done. The manifest
    # is written in a thread beside it all: most of it is zlib, which releases the GIL (4 s
    # at a million files). Every decision it records is made.
    with _forgetting(folder, schema, removed, vocabulary):  # (forked before the thread starts)
        with _in_thread(_write_manifest, gen, run):
            final = segments.merge_small(
                folder,
                schema,
                [s for s in final if s.doc_count()],
                partial(document_from_payload, signed=False),
                prepare=sign,
                min_documents=MERGED_DOCUMENTS,
            )
            segments.commit(folder, schema, final, toc_number + 1, clean=False)
            documents, related = _build_doc_values(folder, base)
    segments.clean(folder, final, toc_number + 1)
    if documents != run.expected:
        raise IndexCorruptError(str(folder.parent), f"the new generation holds {documents} articles where {run.expected} were expected")
    vocabulary.save(folder)
    now = now_iso()
    created = (store.read_meta(base).created if base is not None else "") or now
    return gen.seal(created=created, updated=now, documents=documents, seeds=documents - related, related=related)


def _write_new_segments(
    gen: store.NewGeneration,
    base: Path | None,
    run: _Run,
    schema: Any,
    workers: int,
    progress: Progress | None,
    dropped: dict[str, set[int]],
    early: processes.Workers | None = None,
) -> tuple[list[tuple[list, dict[str, int]]], set[str]]:
    """Read the files of the run into new segments and decide who holds each url.

    Returns the finished segments with their vocabulary counts, per process,
    and the urls to delete from the base generation's segments; adds to
    ``dropped`` the documents of the new segments that the index does not keep.
    """
    from .codec.segments import MAX_SEGMENTS

    paths = run.paths_to_parse()
    pool = processes.start(gen.folder, schema, len(paths), workers, early)
    # Also writes what the main process adds itself; parsing every file when there are no workers.
    inline = SegmentWriter(gen.folder, schema, files=0 if pool is not None else len(paths), segments=MAX_SEGMENTS - 1)
    try:
        if pool is not None:  # the workers start on their batches while the base's owners are found
            results: Iterable[Parsed | SeedError] = pool.run(paths)
        else:  # in batches too: the builder's cost per call is mostly fixed
            results = (r for batch in processes.batches(paths) for r in inline.parse(batch))
        run.start()
        for done, result in enumerate(results, start=1):
            if progress is not None:
                progress(done, len(paths))
            run.take(result)
        if run.newly_kept:
            assert base is not None
            run.keep_versions(_seed_payloads(base, {path: run.new[path].url for path in run.newly_kept}))
        # Every decision is made now: the workers write their last segments meanwhile.
        stale = run.finish()
        for path, segid, docnum in run.placed():
            entry = run.new[path]
            _keep_owned(run, path, entry.url, entry.related or (), segid, docnum, dropped)
        _remake(run, inline, dropped)
        more, inline_words = inline.finish()
        finished = [*(pool.finish() if pool is not None else []), (more, inline_words)]
    except BaseException:
        if pool is not None:
            pool.stop()
        inline.abandon()
        raise
    return finished, stale


def _write_manifest(gen: store.NewGeneration, run: _Run) -> None:
    """Write the run's manifest, related urls and kept versions into the new generation."""
    manifest, related_urls, kept = run.manifest()
    gen.write_columns(store.MANIFEST, manifest)
    if run.related_unchanged and run.base is not None:
        gen.keep_from(run.base, store.RELATED_URLS)  # 3 million urls not encoded and compressed again
    else:
        gen.write_columns(store.RELATED_URLS, {**related_urls, **run.owner_columns()})
    gen.write_json(store.KEPT_VERSIONS, kept)


def _remake(run: _Run, inline: SegmentWriter, dropped: dict[str, set[int]]) -> None:
    """Write the documents of the files that take a url over without having changed
    (read again), or whose kept version comes back (from its payload)."""
    for path in run.remake:
        entry = run.new[path]
        if entry.state == KEPT:
            payload = run.kept[path]
            inline.add_document(document_from_payload(payload))
            owned = run.owned(path)
            for related in related_from_payload(payload):
                key = normalize_url(related.url)  # as the index (and ``owned``) knows it
                if key in owned:
                    owned.discard(key)  # the first entry of a url listed twice
                    inline.add_document(related_document(related, payload["path"], payload["url"]))
            continue
        (result,) = inline.parse([path])
        if isinstance(result, SeedError) or result.url != entry.url:
            run.lost(path, result.reason if isinstance(result, SeedError) else "its webUrl changed while it was read")
            if not isinstance(result, SeedError):
                dropped.setdefault(result.segid, set()).update((result.docnum, *result.related_docnums))
            continue
        _keep_owned(run, path, result.url, result.related, result.segid, result.docnum, dropped)


def _delete_replaced(
    folder: Path,
    schema: Any,
    old_segments: list,
    finished: list[tuple[list, dict[str, int]]],
    stale: set[str],
    dropped: dict[str, set[int]],
    vocabulary: Any,
) -> tuple[list, list[tuple[Any, list[int]]]]:
    """Delete the ``stale`` urls from the old segments and the ``dropped`` documents from the
    new ones; returns every segment, and the documents this run removed, ``[(segment,
    docnums)]``, whose words :func:`_forget_words` takes out of ``vocabulary`` (to which
    this adds the words of the new segments)."""
    from .codec import segments

    new_segments = []
    for found, counts in finished:
        new_segments += found
        vocabulary.update(counts)
    for segment in new_segments:
        for docnum in dropped.get(segment.segid, ()):
            segment.delete_document(docnum)
    deleted_before = [set(s.deleted_docs()) for s in old_segments]
    final = segments.delete_urls(folder, schema, old_segments, stale) + new_segments
    # As a fresh build would count: the words of every document this run removed (replaced,
    # gone, or written by a worker and then not kept) are taken away again.
    removed = [(s, sorted(set(s.deleted_docs()) - b)) for s, b in zip(old_segments, deleted_before)]
    removed += [(s, sorted(dropped[s.segid])) for s in new_segments if dropped.get(s.segid)]
    return final, removed


def _build_doc_values(folder: Path, base: Path | None) -> tuple[int, int]:
    """Write the per-document arrays of the committed index; returns (articles, related articles).

    What the segments kept from ``base`` hold is copied from its arrays (see ``docvalues.build``)."""
    from . import docvalues
    from .codec import segments

    ix = segments.open_whoosh(folder)
    with ix.reader() as reader:
        documents, related = docvalues.build(reader, folder, previous=base)
    ix.close()
    return documents, related


class _Thread(threading.Thread):
    """A thread whose :meth:`join` raises what its function raised."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        super().__init__(name="newssearch-" + function.__name__.strip("_"), daemon=True)
        self.function, self.args_ = function, args
        self.error: BaseException | None = None
        self.result: Any = None  # what the function returned

    def run(self) -> None:
        try:
            self.result = self.function(*self.args_)
        except BaseException as exc:  # noqa: BLE001 - handed to join()
            self.error = exc

    def wait(self) -> None:
        """Wait for the function to end, leaving what it raised unraised."""
        super().join()

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            error, self.error = self.error, None
            raise error


@contextmanager
def _in_thread(function: Callable[..., Any] | _Thread | None, *args: Any) -> Iterator[None]:
    """Run ``function(*args)`` (or a :class:`_Thread` made of them; None: nothing) in a thread
    beside the block, which ends when both are done, raising what the function raised. If the
    block raises, that error is raised once the thread is done too (what the thread raised then
    is dropped): the run is failing and its generation is removed, which must not happen while
    the thread still writes into it."""
    if function is None:
        yield
        return
    thread = function if isinstance(function, _Thread) else _Thread(function, *args)
    thread.start()
    try:
        yield
    except BaseException:
        thread.wait()
        raise
    thread.join()


@contextmanager
def _forgetting(gen: Path, schema, removed: list[tuple[object, list[int]]], vocabulary) -> Iterator[None]:
    """Take the words of the removed documents (``[(segment, docnums)]``) out of ``vocabulary``
    beside the block; raises what counting them raised.

    Counting reads their stored records back and analyses them: Python work (seconds for a 1 %
    change at a million seeds) which, in a thread, held the GIL the per-document arrays beside
    it need. From :data:`FORGET_IN_PROCESS` documents it is done in a forked process, on the
    other core; fewer are counted in a thread, which costs less than a fork.
    """
    if sum(len(docnums) for _, docnums in removed) >= FORGET_IN_PROCESS:
        child = processes.Child(_removed_words, gen, schema, removed)
        try:
            yield
        except BaseException:
            child.stop()  # it only reads: the run is failing
            raise
        counts = child.join()
    else:
        thread = _Thread(_removed_words, gen, schema, removed)
        with _in_thread(thread):
            yield
        counts = thread.result
    vocabulary.update(counts, sign=-1)


def _removed_words(gen: Path, schema, removed: list[tuple[object, list[int]]]) -> dict[str, int]:
    """The vocabulary words of the removed documents (``[(segment, docnums)]``), with their counts."""
    from .codec import segments
    from .vocab import fold_counts

    total: Counter[str] = Counter()
    for segment, docnums in removed:
        for start in range(0, len(docnums), FORGET_BATCH):
            payloads = cast("list[Payload]", segments.stored_payloads(gen, schema, segment, docnums[start : start + FORGET_BATCH]))
            # Unsigned: a near-duplicate signature is no word (it cost a third of this at a million seeds).
            counts = segments.token_counts([document_from_payload(p, signed=False) for p in payloads])
            total.update(fold_counts(counts))
    return dict(total)


FORGET_BATCH = 1024  # removed documents read back at a time
FORGET_IN_PROCESS = 5_000  # removed documents from which their words are counted in a forked process
# The most documents a merge writes in one segment when the index has no larger one: about
# what a process writes at SEGMENT_POSTINGS (a seed and its related articles make about
# 200 postings, 3 documents), so that a merge needs no more memory than the build did.
MERGED_DOCUMENTS = 90_000


def _keep_owned(run: _Run, path: str, url: str, related: Sequence[str], segid: str, docnum: int, dropped: dict[str, set[int]]) -> None:
    """Mark deleted the documents of a file read in this run that the index does not keep:
    all of them for a losing duplicate, else the related entries another file holds.

    The file's seed is document ``docnum`` of segment ``segid``, and its related entries
    (``related``, their urls) the documents right after it (see ``SegmentWriter.parse``).
    """
    related_docnums = range(docnum + 1, docnum + 1 + len(related))
    owner = run.seeds.get(url) == path
    gone = dropped.setdefault(segid, set())
    if not owner:
        gone.update((docnum, *related_docnums))
        return
    for related_url, related_docnum in zip(related, related_docnums):
        if run.related_owners.get(related_url) != path:
            gone.add(related_docnum)
    # A seed listing one url twice: only the first entry stands.
    seen: set[str] = set()
    for related_url, related_docnum in zip(related, related_docnums):
        if related_url in seen:
            gone.add(related_docnum)
        seen.add(related_url)


def _seed_payloads(base: Path, urls: dict[str, str]) -> dict[str, Payload]:
    """The stored payload of each file's seed article in the base generation: ``{path: payload}``
    for the files of ``urls`` (``{path: url}``) whose article is there."""
    from .codec.toc import open_whoosh

    found: dict[str, Payload] = {}
    ix = open_whoosh(base)
    try:
        with ix.searcher() as searcher:
            for path, url in urls.items():
                for docnum in searcher.document_numbers(url=url):
                    payload = searcher.stored_fields(docnum)["payload"]
                    if payload.get("kind") == KIND_SEED and payload.get("path") == path:
                        found[path] = payload
    finally:
        ix.close()
    return found


def _gone(path: str, roots: Sequence[str]) -> bool:
    """Whether an indexed file should leave the index: deleted, or no longer found under a walked root."""
    if not os.path.isfile(path):
        return True
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)
