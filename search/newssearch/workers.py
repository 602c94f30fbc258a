"""The indexing processes: parse seed files and write their documents into new segments.

:func:`newssearch.indexing.index_seeds` decides what the index keeps; this
module does the heavy part of a run. A :class:`SegmentWriter` parses batches
of files and adds each seed and its related entries to a segment of its own
(:mod:`newssearch.codec.segments`), in the main process for a small run or in each
of the :class:`Workers`, forked processes that get batches round-robin and
hand back, for each file, a :class:`Parsed` (where its documents are) or the
:class:`~newssearch.errors.SeedError` that kept it out.
"""

from __future__ import annotations

import os
import pickle
import queue
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .documents import related_document, seed_document, sign
from .errors import IndexingError, SeedError, first_line
from .seeds import Article, read_seed, stat_columns

# The writing modules (Whoosh, NumPy) are imported when there is something to write.
if TYPE_CHECKING:
    from .codec.segments import SegmentBuilder

# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 200
PARSE_BATCH = 256  # files per task: the batch builder pays a fixed cost per call
# A run of at most this many batches (16,384 files, the 1 % change of 1.6 million) is queued
# to the workers whole when it starts (see Workers.run); a larger one, a window at a time.
QUEUED_AT_ONCE = 64
# From this many seed files under the paths given, the workers are forked when the run starts,
# before it walks the folders: a fork shares the indexer's heap, which then holds the file list
# and the manifest (a gigabyte at a million files), and every worker's memory counted it again
# and copied part of it as it allocated. Counting this many names costs a few milliseconds.
EARLY_WORKERS = 20_000
# A worker finishes its segment and starts another at this many postings (a
# seed makes about 200), or more when its share of a large run would otherwise
# make more segments than it may (see SegmentWriter). A worker then holds
# about 300 MB at its peak; fewer, larger segments make queries faster (each
# term is looked up per segment): at 6 million, 50,000 seeds make one segment
# per worker, and queries were 6-10 % faster than with the 4 segments of 4
# million, for 805 MB of memory at the build's peak (all processes) instead
# of 693.
SEGMENT_POSTINGS = 6_000_000


def batches(paths: list[str]) -> list[list[str]]:
    """``paths`` in tasks of :data:`PARSE_BATCH` files."""
    return [paths[i : i + PARSE_BATCH] for i in range(0, len(paths), PARSE_BATCH)]


class Parsed(NamedTuple):
    """A parsed seed, as the main process sees it: its documents are already in a new segment.

    A named tuple: 50,000 of them cross from the workers, and a tuple unpickles
    in C where a dataclass runs a Python ``__setstate__``.
    """

    path: str
    url: str  # normalised (newssearch.urls), as the index term is
    related: tuple[str, ...]  # the (normalised) urls of its related entries, in file order
    warnings: tuple[str, ...]
    segid: str  # the id of the segment holding its documents
    docnum: int  # the seed's document in that segment
    related_docnums: tuple[int, ...]  # one per related entry



def _parse(path: str) -> Article | SeedError:
    try:
        return read_seed(path)
    except SeedError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - one odd file must never stop the run
        return SeedError(path, first_line(f"unreadable: {type(exc).__name__}: {exc}"))


class SegmentWriter:
    """Parses seed files and adds their documents to new segments.

    Runs in each worker process (or inline, for small runs). Every parsed
    seed is written together with all its related entries; the main process
    decides afterwards which of them the index keeps (duplicate urls, related
    entries listed by several seeds) and marks the others deleted, which
    costs nothing.

    A segment is finished when it holds ``SEGMENT_POSTINGS`` postings, which
    bounds each process's memory, unless the writer was told how many
    ``files`` it will parse and how many ``segments`` they may make: then the
    postings per segment grow, from the postings per file seen so far, so
    that its share of the run makes at most that many. A million seeds would
    otherwise make some 35 segments, and merging them down to
    ``MAX_SEGMENTS`` (in one process, re-indexing every document) cost more
    time than the whole parse and 5 GB of memory.
    """

    def __init__(self, folder: Path, schema, files: int = 0, segments: int = 0) -> None:
        self.folder = folder
        self.schema = schema
        self.builder: SegmentBuilder | None = None  # while a segment is open
        self.segments: list = []
        self.tokens: Counter[str] = Counter()  # every raw token parsed, for the spelling vocabulary
        self.expected_files = files
        self.allowed_segments = segments
        self.files = 0  # files parsed so far, and the postings their documents made
        self.postings = 0

    def segment_postings(self) -> int:
        """The postings at which the open segment is finished (see the class)."""
        if not self.allowed_segments or not self.files or not self.postings:
            return SEGMENT_POSTINGS
        projected = self.postings * max(self.expected_files, self.files) / self.files
        return max(SEGMENT_POSTINGS, -(-int(projected) // self.allowed_segments))

    def parse(self, paths: Sequence[str]) -> list[Parsed | SeedError]:
        """Parse a batch of files and add the documents of those that parse, in one batch."""
        results = [_parse(path) for path in paths]
        seeds = [r for r in results if not isinstance(r, SeedError)]
        if not seeds:
            return results  # type: ignore[return-value]
        builder = self._open()
        documents: list[dict] = []
        for article in seeds:
            documents.append(seed_document(article, signed=False))
            documents += [related_document(r, article.path, article.url, signed=False) for r in article.related]
        sign(documents)  # near-duplicate signatures, for the whole batch at once
        before = builder.postings
        added = builder.add_batch(documents)
        self.files += len(paths)
        self.postings += builder.postings - before
        builder_base = added.start
        docnums = iter(added)
        parsed: dict[str, Parsed] = {}
        for article in seeds:
            docnum = next(docnums)
            related = tuple(next(docnums) for _ in article.related)
            # Urls as the index knows them, normalised (see newssearch.urls): who holds one is decided by them.
            parsed[article.path] = Parsed(
                article.path,
                documents[docnum - builder_base]["url"],
                tuple(documents[d - builder_base]["url"] for d in related),
                tuple(article.warnings),
                builder.segment.segid,
                docnum,
                related,
            )
        if builder.postings >= self.segment_postings():
            self._finish_segment()
        return [r if isinstance(r, SeedError) else parsed[r.path] for r in results]

    def add_document(self, document: dict) -> tuple[str, int]:
        """Add one document as is; returns (segment id, docnum)."""
        builder = self._open()
        return builder.segment.segid, builder.add(document)

    def _open(self) -> SegmentBuilder:
        """The open segment, started if there is none."""
        if self.builder is None:
            from .codec.segments import SegmentBuilder

            self.builder = SegmentBuilder(self.folder, self.schema)
        return self.builder

    def _finish_segment(self) -> None:
        assert self.builder is not None
        self.segments.append(self.builder.finish())
        self.tokens.update(self.builder.token_counts)
        self.builder = None

    def abandon(self) -> None:
        if self.builder is not None:
            self.builder.discard()
            self.builder = None

    def finish(self) -> tuple[list, dict[str, int]]:
        """The finished segments and the vocabulary words of every parsed seed, with their counts."""
        if self.builder is not None:
            if self.builder.doc_count:
                self._finish_segment()
            else:
                self.abandon()
        from .vocab import fold_counts

        return self.segments, fold_counts(self.tokens)


class Workers:
    """Worker processes that each parse batches of files into their own segments.

    Batches go round-robin, at most ``WINDOW`` per worker ahead of the main
    process, which reads the results back in path order, so memory stays flat
    however large the corpus. Workers are forked (they start in milliseconds
    with the modules already imported), wait for :meth:`begin` to hand them
    their writers, and die with the indexer. A large run forks them before
    it reads anything (see :func:`prestart`).
    """

    WINDOW = 2

    def __init__(self, count: int) -> None:
        ctx = get_context("fork")
        parent = os.getpid()
        self.folder: Path | None = None
        self._stopping = False
        self._helping = -1  # the worker given the last stat task
        self.tasks = [ctx.Queue() for _ in range(count)]
        self.results = [ctx.Queue() for _ in range(count)]
        self.procs = [
            ctx.Process(
                target=_work,
                args=(self.tasks[i], self.results[i], parent),
                daemon=True,
                name=f"newssearch-indexer-{i}",
            )
            for i in range(count)
        ]
        for proc in self.procs:
            proc.start()

    def begin(self, folder: Path, schema, files: int) -> None:
        """Give each worker its writer, for its share of ``files`` files written into ``folder``."""
        from .codec.segments import MAX_SEGMENTS

        self.folder = folder
        for task in self.tasks:
            task.put(self._writer(folder, schema, files, len(self.procs), MAX_SEGMENTS))

    @staticmethod
    def _writer(folder: Path, schema, files: int, count: int, max_segments: int) -> SegmentWriter:
        """A worker's writer: its share of the files, in at most its share of the segments
        (one is left for what the main process writes itself)."""
        return SegmentWriter(folder, schema, files=-(-files // count), segments=max(1, (max_segments - 1) // count))

    def run(self, paths: list[str]) -> Iterator[Parsed | SeedError]:
        """Each file's result, in the order of ``paths``.

        The first batches are queued at once, before the first result is asked
        for, so that the workers parse while the main process does its own work
        (an update decides who held each url in the previous generation, seconds
        at a million files). A run of at most :data:`QUEUED_AT_ONCE` batches is
        queued whole: its results are small enough to wait in the queues.
        """
        todo = batches(paths)
        count = len(self.procs)
        ahead = len(todo) if len(todo) <= QUEUED_AT_ONCE else self.WINDOW * count
        sent = self._send(todo, 0, ahead)
        return self._results(todo, sent, ahead)

    def _send(self, todo: list[list[str]], sent: int, upto: int) -> int:
        """Queue ``todo`` from ``sent`` up to ``upto`` (round-robin); returns how many are queued."""
        count = len(self.procs)
        while sent < len(todo) and sent < upto:
            self.tasks[sent % count].put(todo[sent])
            sent += 1
            if sent == len(todo):
                self._stop_after_queued()
        return sent

    def _results(self, todo: list[list[str]], sent: int, ahead: int) -> Iterator[Parsed | SeedError]:
        count = len(self.procs)
        for received in range(len(todo)):
            sent = self._send(todo, sent, received + max(ahead, self.WINDOW * count))
            yield from self._receive(received % count)
        self._stop_after_queued()

    def _stop_after_queued(self) -> None:
        """Tell every worker to finish its segments once its queued batches are done.

        Sent as soon as the last batch is queued, so that a worker writes its
        last segment while the main process still reads the other's results.
        """
        if not self._stopping:
            self._stopping = True
            for task in self.tasks:
                task.put(None)

    def stat(self, prefix: str, names: list[str]) -> Callable[[], list[list[int]]]:
        """Have a worker ``stat`` the files ``prefix + name`` while the walk does others (before
        :meth:`begin`; see ``newssearch.seeds.find_seed_files``). Returns a function that waits
        for the result: the names' mtime_ns, sizes, modes, devices and inode numbers, by
        column; the mode is 0 for a file that could not be stat'ed."""
        i = self._helping = (self._helping + 1) % len(self.procs)
        self.tasks[i].put(_Stat(prefix, "\0".join(names)))
        return lambda: [column.tolist() for column in self._receive(i)]

    def finish(self) -> list[tuple[list, dict[str, int]]]:
        """Each worker's finished segments and vocabulary counts (see ``SegmentWriter.finish``)."""
        self._stop_after_queued()
        finished = [self._receive(i) for i in range(len(self.procs))]
        for proc in self.procs:
            proc.join()
        return finished

    def stop(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
            proc.join()

    def _receive(self, i: int):
        while True:
            try:
                kind, value = self.results[i].get(timeout=0.5)
            except queue.Empty:
                if not self.procs[i].is_alive():
                    reason = f"an indexing worker died (exit code {self.procs[i].exitcode})"
                    raise IndexingError(str(self.folder.parent if self.folder else ""), reason) from None
                continue
            if kind == "error":
                raise value
            return value


def _work(tasks, results, parent: int) -> None:
    """A worker process: take its writer (``None``: nothing to do), parse each batch into
    segments; on ``None``, finish them."""
    import gc
    import signal

    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the indexer decides what an interrupt stops
    # The builder allocates millions of objects and makes no reference cycles worth
    # collecting: the cyclic collector's full passes over a growing heap cost about
    # 5 % of a worker's time. The process is ours and short-lived.
    gc.disable()
    try:
        writer: SegmentWriter | _Stat | None = tasks.get()
        while isinstance(writer, _Stat):  # an early worker helps the walk first
            results.put(("ok", writer.run()))
            writer = tasks.get()
        if writer is None:
            return  # stopped before the run had anything to parse
        while (batch := tasks.get()) is not None:
            results.put(("ok", writer.parse(batch)))
        results.put(("ok", writer.finish()))
    except BaseException as exc:  # noqa: BLE001 - reported to the indexer, which raises it
        results.put(("error", _sendable(exc)))


class _Stat(NamedTuple):
    """A task for an early worker, before its writer: the ``stat`` of names of one folder."""

    prefix: str  # the folder's path and a separator
    names: str  # joined by NUL, which no name holds: one string pickles in one go

    def run(self) -> tuple[array, ...]:
        """The names' columns as ``newssearch.seeds`` makes them (mode 0: a file that could not
        be stat'ed), as arrays: no Python object per file to pickle."""
        columns = stat_columns(list(map(self.prefix.__add__, self.names.split("\0"))))
        return tuple(array("q" if i < 2 else "Q", column) for i, column in enumerate(columns))


def _sendable(exc: BaseException) -> BaseException:
    """``exc``, or a RuntimeError of its text if it cannot be pickled back to the indexer."""
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class Child:
    """``function(*args)`` run in a forked process, for Python work that a thread would do
    holding the GIL the main process needs. :meth:`join` returns what the function returned
    (pickled back) or raises what it raised; :meth:`stop` kills it. Fork it while no other
    thread of the indexer runs: a forked process has only the thread that forked."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        ctx = get_context("fork")
        self._received, sending = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_child, args=(sending, os.getpid(), function, args), daemon=True,
                                    name=f"newssearch-{function.__name__.strip('_')}")
        self._process.start()
        sending.close()  # the child's end: the parent then sees the pipe close if the child dies

    def join(self) -> Any:
        try:
            kind, value = self._received.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(f"an indexing process died (exit code {self._process.exitcode})") from None
        finally:
            self._received.close()
        self._process.join()
        if kind == "error":
            raise value
        return value

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._received.close()


def _child(sending, parent: int, function: Callable[..., Any], args: tuple) -> None:
    import signal

    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the indexer decides what an interrupt stops
    try:
        result = ("ok", function(*args))
    except BaseException as exc:  # noqa: BLE001 - reported to the indexer, which raises it
        result = ("error", _sendable(exc))
    sending.send(result)
    sending.close()


def start(folder: Path, schema: Any, files: int, count: int, early: Workers | None = None) -> Workers | None:
    """``count`` worker processes to write ``files`` files into ``folder``, or None when
    parsing them in the main process is faster (few files, or one process). ``early`` is
    :func:`prestart`'s pool: used if workers are wanted, else stopped."""
    if files >= PARALLEL_THRESHOLD and count > 1:
        pool = early if early is not None else Workers(count)
        pool.begin(folder, schema, files)
        return pool
    if early is not None:
        early.stop()
    return None


def prestart(paths: Sequence[str], count: int) -> Workers | None:
    """Workers forked before the run walks ``paths``, when they hold at least
    :data:`EARLY_WORKERS` seed files (by name: nothing is read), else None."""
    if count > 1 and _seed_names_at_least(paths, EARLY_WORKERS):
        return Workers(count)
    return None


def _seed_names_at_least(paths: Sequence[str], limit: int) -> bool:
    from .seeds import SEED_SUFFIXES

    found = 0
    folders = list(paths)
    while folders:
        try:
            with os.scandir(folders.pop()) as listing:
                for entry in listing:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    dot = name.rfind(".")
                    if dot > 0 and name[dot:].lower() in SEED_SUFFIXES:
                        found += 1
                        if found >= limit:
                            return True
                    elif entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
        except OSError:
            continue  # a file, or a path that is not there: the walk says so
    return False


def die_with_parent(parent: int) -> None:
    """In a worker process: be killed when ``parent``, the process that started it, dies.

    A SIGKILLed indexer cannot stop its workers; without this they would run
    on (or wait forever on a queue) as orphans. ``parent`` must be the pid
    the parent had *before* forking: a child that reads its parent's pid for
    itself may read that of init, if the parent died in between, and then
    survive. The kill-on-death request is Linux only; elsewhere a worker
    still exits at once if its parent is already gone.
    """
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)
