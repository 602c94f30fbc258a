"""The index folder: generations, the pointer to the current one, and the write lock.

Whoosh alone can leave an index that no longer opens when a process dies in
the middle of a commit. newssearch therefore never writes into the index that
readers use. An index folder holds generations::

    index/
      CURRENT            the name of the live generation, replaced atomically
      write.lock         held (flock) by the one process writing
      gen-000007/        a complete Whoosh index, plus the side files
                         (manifest.cols, related.cols, kept.json,
                         facets.npz, vocab.json) and meta.json

An update hard-links the live generation's files into a new folder (Whoosh
never rewrites a segment file, it only adds new ones), commits there, writes
the side files, syncs everything to disk and only then points ``CURRENT`` at
it. A crash at any moment leaves ``CURRENT`` naming a complete generation;
the half-written folder is removed by the next writer. The two previous
generations are kept (they share most files through the links) so that a
reader that opened one just before a switch can finish.

A new generation is written in one block, as Whoosh's own writer is::

    with store.new_generation(index_dir, base) as gen:
        ...                      # Whoosh files, then side files via gen.write_json()
        gen.seal(documents=..., seeds=..., related=...)

It is published when the block ends and discarded if it raises. Every side
file is named here, once, and written by :func:`atomic_write`.

Words used with one meaning across the package:

generation
    One complete state of the index: a folder ``gen-NNNNNN`` of Whoosh files
    and side files. A variable ``gen`` is a generation's folder (a ``Path``);
    :class:`NewGeneration` is the one being written; its number is the
    NNNNNN. Whoosh's own counter of tables of contents inside a folder is a
    ``toc_number``, never a "generation".
segment
    A Whoosh segment object; its id (a string) is a ``segid``.
article
    A document of the index: a seed or a related entry (``IndexStats.articles``
    counts both). A *seed* is the article a seed file describes (the parsed
    file is a :class:`newssearch.seeds.Article`); a *related* article is an
    entry of a seed's related list.
side file
    A file of a generation that is not Whoosh's: its name is one of the
    constants below.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import accumulate, chain
from pathlib import Path
from typing import IO, Any, NamedTuple

from .errors import IndexCorruptError, IndexLockedError, IndexNotFoundError, SchemaVersionError, first_line

INDEX_ENV = "NEWSSEARCH_INDEX"
DEFAULT_INDEX_DIR = "index"
CURRENT = "CURRENT"
LOCK = "write.lock"
# The side files of a generation, each named only here.
MANIFEST = "manifest.cols"  # every seed file seen: path, mtime, size, url, state (indexing; write_columns)
RELATED_URLS = "related.cols"  # the related urls each file of the manifest lists (indexing; write_columns)
KEPT_VERSIONS = "kept.json"  # the payload of the last good version of files that stopped parsing (indexing)
DOC_VALUES = "facets.npz"  # per-document arrays: filters, sorts, facet counts, BM25 lengths (facets)
VOCABULARY = "vocab.json"  # the words for typo correction and wildcards (vocab)
META = "meta.json"  # GenerationMeta: written last, it records the sizes of all the others
_GEN = re.compile(r"^gen-(\d{6,})$")
KEEP_GENERATIONS = 3  # the live one and the two before it
# The version of everything in a generation: the Whoosh schema (newssearch.schema)
# and the side files. Bump it with any change to either: an index of another
# version asks for "newssearch index --rebuild" instead of answering wrongly.
# 2: published is a column only; the manifest is stored by column; checksums.
# 3: every file in the manifest with its state; kept versions; seeds store their related
#    entries; the analysis of issue 9 (folding, acronyms, ampersands, apostrophes, CJK grams,
#    Porter2 alone).
# 4: Snowball's current English stemmer (PyStemmer) instead of Whoosh's Porter2 port; urls
#    normalised (newssearch.urls) in the url term and column and the manifest; a MinHash
#    signature column and near-duplicate clusters in the doc values (newssearch.neardup).
# 5: a smaller index: stored records zlib-compressed, position values as bare tuples and
#    block weights as ints in the posting blocks (newssearch.codec.segments).
# 6: the manifest and the related urls as column files (write_columns), not JSON.
# 7: posting blocks above COMPRESS_ABOVE bytes zlib-compressed (newssearch.codec.segments);
#    stored records pickled without memo or frame.
# Not a version: the owners stored in related.cols (a generation without them has them found
# again), and the url fix of 2026-12-04 (a space left last, a nameless parameter): a url of that
# rare form keeps its earlier identity in an older index until its file is read again, which
# was judged not worth rebuilding every index for.
SCHEMA_VERSION = 7
# What a version changed that a user notices, for the notice of an automatic rebuild.
SCHEMA_CHANGES = {
    4: "a better English stemmer, urls compared in any spelling, near-duplicates grouped",
    5: "an index about a third smaller on disk",
    6: "a smaller index that checks a large unchanged corpus faster",
    7: "compressed posting lists, a sixth smaller on disk",
}
# Values the index stores: a document's kind, and the date of an article without
# one (it sorts before every real date).
KIND_SEED, KIND_RELATED = "seed", "related"
NO_DATE = -(2**62)
# Files that get a checksum as well as a size: Whoosh's table of contents and the
# side files read whole, or later in a run. (The manifest is checked as it is
# parsed; segment files, hundreds of megabytes, by size.)
_CHECKSUMMED = re.compile(r"^(_MAIN_\d+\.toc|" + "|".join(re.escape(name) for name in (DOC_VALUES, VOCABULARY, RELATED_URLS, KEPT_VERSIONS)) + ")$")


@dataclass(frozen=True)
class GenerationMeta:
    """What ``meta.json`` records about a generation.

    ``files`` is the size of every file but ``meta.json`` itself, ``crc32``
    the checksum of the table of contents and of the side files read whole
    (see :func:`verify_files`). ``created`` is when the index was first
    built, ``updated`` when this generation was written (ISO UTC strings).
    """

    schema_version: int
    created: str
    updated: str
    documents: int  # articles: seeds plus related
    seeds: int
    related: int
    files: dict[str, int] = field(default_factory=dict)
    crc32: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "created": self.created,
            "updated": self.updated,
            "documents": self.documents,
            "seeds": self.seeds,
            "related": self.related,
            "files": self.files,
            "crc32": self.crc32,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> GenerationMeta:
        """Read leniently: a missing count is 0, as the report always showed it."""
        return cls(
            schema_version=int(raw.get("schema_version") or 0),
            created=str(raw.get("created") or ""),
            updated=str(raw.get("updated") or ""),
            documents=int(raw.get("documents", 0)),
            seeds=int(raw.get("seeds", 0)),
            related=int(raw.get("related", 0)),
            files=dict(raw.get("files") or {}),
            crc32=dict(raw.get("crc32") or {}),
        )


def damaged(index_dir: Path, gen: Path, exc: BaseException) -> IndexCorruptError:
    """The error for a generation whose files fail to read: which one, what failed, in one line.

    The one rule for "the index is damaged": a file recorded in ``meta.json``
    is missing or of another size, or one with a checksum changed
    (:func:`verify_files`); a manifest or side file does not parse; or reading
    the generation raises (opening it: anything; a search: one of
    :data:`READ_FAILURES`, since any other exception there is a bug of ours).
    The seeds are the source of truth: the indexer rebuilds a damaged index,
    a searcher reports it with this error.
    """
    return IndexCorruptError(str(index_dir), f"{gen.name}: {type(exc).__name__}: {first_line(exc)}")


def _read_failures() -> tuple[type[BaseException], ...]:
    import pickle
    import struct
    import zlib

    # What Whoosh raises on a truncated or garbled file (its own failures are bare Exceptions).
    return (OSError, EOFError, ValueError, KeyError, IndexError, struct.error, pickle.UnpicklingError, zlib.error)


READ_FAILURES = _read_failures()


def resolve_index_dir(index_dir: str | os.PathLike[str] | None) -> Path:
    """The index folder: the argument, else ``$NEWSSEARCH_INDEX``, else ``index``."""
    if index_dir is None or os.fspath(index_dir) == "":
        index_dir = os.environ.get(INDEX_ENV) or DEFAULT_INDEX_DIR
    return Path(index_dir)


def current_generation(index_dir: Path) -> Path | None:
    """The live generation's folder, or None when the folder holds no index."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise IndexNotFoundError(str(index_dir)) from None
    if not _GEN.match(name) or not (index_dir / name).is_dir():
        raise IndexCorruptError(str(index_dir), f"{CURRENT} names a missing generation {name!r}")
    return index_dir / name


def current_generation_or_none(index_dir: Path) -> Path | None:
    """Like :func:`current_generation`, but a dangling ``CURRENT`` counts as no index."""
    try:
        return current_generation(index_dir)
    except IndexCorruptError:
        return None


def live_generation(index_dir: Path) -> Path:
    """The live generation for reading; raises when there is none or it is of another schema."""
    gen = current_generation(index_dir)
    if gen is None:
        if any(index_dir.glob("_MAIN_*.toc")) or any(index_dir.glob("*.seg")):
            # A bare Whoosh index: written by something that predates generations.
            raise SchemaVersionError(str(index_dir), "unknown", SCHEMA_VERSION)
        raise IndexNotFoundError(str(index_dir))
    verify_files(index_dir, gen, check_schema(index_dir, gen))
    return gen


def read_meta(gen: Path) -> GenerationMeta:
    """A generation's metadata. Check its schema first (:func:`check_schema`)."""
    return GenerationMeta.from_json(_read_meta_json(gen))


def _read_meta_json(gen: Path) -> dict[str, Any]:
    try:
        raw = json.loads((gen / META).read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        return raw
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(str(gen.parent), f"cannot read {gen.name}/{META}: {exc}") from None


def changes_since(version: object) -> str:
    """What the schema versions after ``version`` changed, as a clause for a notice ("" when unknown)."""
    if not isinstance(version, int):
        return ""
    return "; ".join(change for v, change in sorted(SCHEMA_CHANGES.items()) if v > version)


def check_schema(index_dir: Path, gen: Path) -> GenerationMeta:
    """The generation's metadata; raises :class:`SchemaVersionError` for another schema version."""
    raw = _read_meta_json(gen)
    found = raw.get("schema_version")
    if found != SCHEMA_VERSION:
        raise SchemaVersionError(str(index_dir), found, SCHEMA_VERSION)
    try:
        return GenerationMeta.from_json(raw)
    except (TypeError, ValueError) as exc:
        raise IndexCorruptError(str(index_dir), f"cannot read {gen.name}/{META}: {exc}") from None


def file_sizes(gen: Path) -> dict[str, int]:
    """The size of every file of a generation but ``meta.json``, which records them."""
    return {
        p.name: p.stat().st_size
        for p in sorted(gen.iterdir())
        if p.is_file() and p.name != META and "WRITELOCK" not in p.name and not p.name.endswith(".tmp")
    }


def file_checksums(gen: Path, sizes: dict[str, int]) -> dict[str, int]:
    """CRC-32 of the table of contents and the side files read whole, among the files of ``sizes``."""
    return {name: _crc32(gen / name) for name in sizes if _CHECKSUMMED.match(name)}


def _crc32(path: Path) -> int:
    import zlib

    return zlib.crc32(path.read_bytes())


def verify_files(index_dir: Path, gen: Path, meta: GenerationMeta, *, checksums: bool = False) -> None:
    """Raise :class:`IndexCorruptError` if a file recorded at publish time is missing or changed.

    Whoosh keeps no checksums; sizes catch the damage a crash, a full disk or a
    careless hand leaves (truncated, deleted or replaced files) for the cost of
    a ``stat`` per file. With ``checksums`` (the indexer, which builds on the
    generation without opening it) the table of contents and the facet,
    vocabulary and related-url files are read and their CRC-32 compared too,
    which catches a same-size overwrite of them.
    """
    for name, size in meta.files.items():
        try:
            actual = (gen / name).stat().st_size
        except FileNotFoundError:
            raise IndexCorruptError(str(index_dir), f"{gen.name}/{name} is missing") from None
        if actual != size:
            raise IndexCorruptError(str(index_dir), f"{gen.name}/{name} has {actual:,} bytes, expected {size:,}")
    if checksums:
        for name, crc in meta.crc32.items():
            if _crc32(gen / name) != crc:
                raise IndexCorruptError(str(index_dir), f"{gen.name}/{name} changed since it was written")


class NewGeneration:
    """A generation being written; made by :func:`new_generation`, used as a ``with`` block.

    The block writes Whoosh's files into :attr:`folder` and the side files
    with :meth:`write_json` (or :func:`atomic_write` for binary ones), and ends with
    :meth:`seal`, which records the metadata. When the block ends, the
    generation is published (see :func:`publish`); if it raises, or ends
    without :meth:`seal`, the folder is removed and ``CURRENT`` still names
    the previous, complete generation.
    """

    def __init__(self, index_dir: Path, folder: Path) -> None:
        self.index_dir = index_dir
        self.folder = folder
        self.meta: GenerationMeta | None = None

    def write_json(self, name: str, data: dict, *, ascii: bool = True) -> None:
        """Write the side file ``name`` (one of this module's constants) as compact JSON."""
        write_json(self.folder / name, data, ascii=ascii)

    def write_columns(self, name: str, columns: Mapping[str, list | StoredColumn]) -> None:
        """Write the side file ``name`` (one of this module's constants) by column (see :func:`write_columns`)."""
        write_columns(self.folder / name, columns)

    def keep_from(self, base: Path, name: str) -> None:
        """Take the side file ``name`` as ``base`` has it (a hard link, else a copy): for one
        this run would write byte for byte the same. Side files are only ever replaced whole
        (:func:`atomic_write`), never written through, so the link cannot change ``base``."""
        _link_or_copy(base / name, self.folder / name)

    def seal(self, *, created: str, updated: str, documents: int, seeds: int, related: int) -> GenerationMeta:
        """Record the sizes and checksums of every file written and write ``meta.json``: call last."""
        sizes = file_sizes(self.folder)
        meta = GenerationMeta(
            schema_version=SCHEMA_VERSION,
            created=created,
            updated=updated,
            documents=documents,
            seeds=seeds,
            related=related,
            files=sizes,
            crc32=file_checksums(self.folder, sizes),
        )
        write_json(self.folder / META, meta.to_json())
        self.meta = meta
        return meta

    def __enter__(self) -> NewGeneration:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None and self.meta is not None:
            publish(self.index_dir, self.folder)
            return
        discard(self.folder)  # CURRENT still names the previous, complete generation
        if exc_type is None:
            raise RuntimeError(f"{self.folder.name} was not sealed: nothing published")


def new_generation(index_dir: Path, base: Path | None) -> NewGeneration:
    """Start the next generation, its folder holding links to ``base``'s Whoosh files if given.

    Folders numbered above the live generation are the remains of runs that
    died before publishing: they are removed first. Call with the lock held.
    """
    remove_unpublished(index_dir)
    numbers = [int(m.group(1)) for p in index_dir.iterdir() if (m := _GEN.match(p.name))]
    gen = index_dir / f"gen-{max(numbers, default=0) + 1:06d}"
    gen.mkdir()
    try:
        if base is not None:
            for entry in base.iterdir():
                # Only Whoosh's own files, which it never rewrites. Side files are
                # written anew: writing through a link would change the live generation.
                if entry.is_file() and entry.name.startswith(("_MAIN_", "MAIN_")) and "WRITELOCK" not in entry.name:
                    _link_or_copy(entry, gen / entry.name)
    except BaseException:
        discard(gen)
        raise
    return NewGeneration(index_dir, gen)


def remove_unpublished(index_dir: Path) -> None:
    """Remove the folders of runs that died before publishing (numbered above the live
    generation). Call with the lock held."""
    live = current_generation_or_none(index_dir)
    for entry in index_dir.iterdir():
        if _GEN.match(entry.name) and (live is None or _number(entry) > _number(live)):
            shutil.rmtree(entry, ignore_errors=True)


def publish(index_dir: Path, gen: Path) -> None:
    """Make ``gen`` the live generation, durably, then drop generations nobody needs."""
    for entry in gen.iterdir():
        _fsync(entry)
    _fsync(gen)
    with atomic_write(index_dir / CURRENT) as handle:
        handle.write((gen.name + "\n").encode("utf-8"))
    _fsync(index_dir)
    collect_garbage(index_dir, gen)


def collect_garbage(index_dir: Path, live: Path) -> None:
    """Remove generations older than the last ``KEEP_GENERATIONS`` and those of runs that died.

    Searchers switch to the live generation at their next call; the ones kept
    let a search already under way on an older one finish.
    """
    number = _number(live)
    for entry in index_dir.iterdir():
        if _GEN.match(entry.name) and not (number - KEEP_GENERATIONS < _number(entry) <= number):
            shutil.rmtree(entry, ignore_errors=True)


def _number(gen: Path) -> int:
    match = _GEN.match(gen.name)
    return int(match.group(1)) if match else -1


def discard(gen: Path) -> None:
    shutil.rmtree(gen, ignore_errors=True)


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def write_lock(index_dir: Path, timeout: float) -> Iterator[bool]:
    """Hold the index's write lock, waiting up to ``timeout`` seconds for it; yields True.

    A folder this process may not write (a read-only mount, another user's
    index) cannot be changed by this process anyway: then no lock is taken
    and it yields False, so that a run that finds nothing to change can
    still say so.

    The lock is a POSIX record lock (``lockf``) on ``write.lock``. The kernel
    releases it when its holder exits, however it exits, and unlike ``flock``
    it is not shared with forked children: worker processes that outlive a
    killed indexer for a moment cannot keep the next run out. POSIX locks do
    not exclude threads of one process, so a per-folder thread lock does.
    """
    key = os.path.realpath(index_dir)
    with _THREAD_LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
    deadline = time.monotonic() + timeout
    if not thread_lock.acquire(timeout=max(timeout, 0)):
        raise IndexLockedError(str(index_dir), timeout)
    try:
        try:
            fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            yield False
            return
        try:
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise IndexLockedError(str(index_dir), timeout) from None
                    time.sleep(0.05)
            yield True
        finally:
            os.close(fd)  # closing releases the lock
    finally:
        thread_lock.release()


def load_json(path: Path, default: dict) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except ValueError as exc:
        raise IndexCorruptError(str(path.parent.parent), f"cannot read {path.name}: {exc}") from None


def columns_of(columns: list[list], types: tuple[type, ...]) -> bool:
    """Whether ``columns`` (a side file stored by column) have one length and each holds values of one type."""
    return len({len(c) for c in columns}) <= 1 and all(set(map(type, c)) <= {t} for c, t in zip(columns, types))


def load_related(gen: Path) -> dict[str, list[str]]:
    """The related urls each file of a generation's manifest lists (``related.cols``)."""
    return dict(zip(*load_related_columns(gen)[:2]))


def load_related_columns(gen: Path) -> tuple[list[str], list[list[str]], tuple[list[int], list[int]] | None]:
    """The paths of ``related.cols`` (the manifest's, in path order), their related urls, and
    the owners stored beside them: ``(seed holders, related held)``, or None if the file has
    none (written before 2026-12-04). See ``newssearch.indexing.stored_owners``."""
    raw = load_columns(gen / RELATED_URLS, {})
    paths, related = raw.get("paths", []), raw.get("related", [])
    if not columns_of([paths, related], (str, list)):
        raise IndexCorruptError(str(gen.parent), f"{gen.name}/{RELATED_URLS} is not a list of related urls")
    holders, held = raw.get("seed_holders"), raw.get("related_held")
    if not (isinstance(holders, list) and isinstance(held, list) and columns_of([holders], (int,)) and columns_of([held], (int,))):
        return paths, related, None  # none stored (or not rows): the indexer finds them again
    return paths, related, (holders, held)


# -- side files stored by column ----------------------------------------------
#
# The manifest and the related urls hold a million paths and three million urls at a
# million seeds: as JSON they were 380 MB, a second to parse on every run and several
# to write. A column file is a header and one zlib stream per column: a column of
# strings is joined by NUL (which no path, url or note holds: a value with one makes
# the column JSON), a column of integers is an array of int64, a column of lists of
# strings is their lengths (int64) then their values joined. Reading one is a
# decompression and a split or a frombytes per column, all in C.

_COLUMNS_MAGIC = b"newssearch columns 1\n"
_INT64 = "q"


class StoredColumn(NamedTuple):
    """One column of a column file as it is on disk: written again as it is, not encoded and
    compressed again (see :func:`write_columns`)."""

    kind: str
    rows: int
    blob: bytes  # the zlib stream


def write_columns(path: Path, columns: Mapping[str, list | StoredColumn]) -> None:
    """Write ``columns`` (lists of str, int or lists of str; usually of one length, each
    stored with its own) to ``path`` atomically.

    A :class:`StoredColumn` (from :func:`load_columns` with ``stored``) is written as it
    was read: a run that leaves a million paths and urls as they were copies their
    compressed bytes instead of compressing them again (seconds at a million files).
    """
    import zlib

    header, blobs = [], []
    for name, values in columns.items():
        if isinstance(values, StoredColumn):
            kind, count, blob = values.kind, values.rows, values.blob
        else:
            kind, data = _encode_column(values)
            count, blob = len(values), zlib.compress(data, 1)
        header.append([name, kind, count, len(blob)])
        blobs.append(blob)
    head = json.dumps(header, separators=(",", ":")).encode("ascii")
    with atomic_write(path) as handle:
        handle.write(_COLUMNS_MAGIC + len(head).to_bytes(4, "little") + head)
        for blob in blobs:
            handle.write(blob)


def load_columns(path: Path, default: dict, stored: dict[str, StoredColumn] | None = None) -> dict[str, list]:
    """The columns :func:`write_columns` wrote to ``path`` (``default`` if it does not exist).

    With ``stored``, each column is also put there as it is on disk, to be
    written again unchanged. Raises :class:`IndexCorruptError` naming the
    file if it is not such a file.
    """
    import zlib

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return default
    try:
        if not data.startswith(_COLUMNS_MAGIC):
            raise ValueError("not a column file")
        at = len(_COLUMNS_MAGIC) + 4
        end = at + int.from_bytes(data[at - 4 : at], "little")
        columns: dict[str, list] = {}
        for name, kind, count, size in json.loads(data[at:end]):
            blob = data[end : end + size]
            columns[name] = _decode_column(kind, count, zlib.decompress(blob))
            if stored is not None:
                stored[name] = StoredColumn(kind, count, blob)
            end += size
        if end != len(data):
            raise ValueError(f"{len(data) - end} bytes after the last column")
        return columns
    except (ValueError, TypeError, zlib.error) as exc:
        raise IndexCorruptError(str(path.parent.parent), f"cannot read {path.name}: {first_line(str(exc))}") from None


def _encode_column(values: list) -> tuple[str, bytes]:
    from array import array

    types = set(map(type, values))  # (in C: three million values at a million seeds)
    if types <= {int}:
        return "int", _little_endian(array(_INT64, values)).tobytes()
    if types == {str} and (joined := _joined(values)) is not None:
        return "str", joined
    if types and types <= {list, tuple}:  # (a parse gives tuples, a loaded manifest lists)
        flat = list(chain.from_iterable(values))
        if set(map(type, flat)) <= {str} and (joined := _joined(flat)) is not None:
            return "strlists", _little_endian(array(_INT64, map(len, values))).tobytes() + joined
    return "json", json.dumps(values, separators=(",", ":")).encode("ascii")


def _joined(values: list[str]) -> bytes | None:
    """``values`` joined by NUL, as UTF-8 that keeps lone surrogates; None if a value holds a NUL."""
    joined = "\0".join(values)
    if joined.count("\0") != max(len(values) - 1, 0):
        return None
    return joined.encode("utf-8", "surrogatepass")


def _decode_column(kind: str, count: int, data: bytes) -> list:
    from array import array

    if kind == "json":
        values = json.loads(data)
    elif kind == "int":
        values = _little_endian(array(_INT64, data)).tolist()
    elif kind == "str":
        values = data.decode("utf-8", "surrogatepass").split("\0") if count else []
    elif kind == "strlists":
        lengths = _little_endian(array(_INT64, data[: 8 * count])).tolist()
        flat = _decode_column("str", sum(lengths), data[8 * count :])
        if len(flat) != sum(lengths) or min(lengths, default=0) < 0:
            raise ValueError("its lists do not add up")
        ends = list(accumulate(lengths))
        values = [flat[end - n : end] for n, end in zip(lengths, ends)]
    else:
        raise ValueError(f"unknown column kind {kind!r}")
    if not isinstance(values, list) or len(values) != count:
        raise ValueError(f"a column holds {len(values) if isinstance(values, list) else 'no list'} values, expected {count}")
    return values


def _little_endian(values):
    if sys.byteorder == "big":
        values.byteswap()
    return values


def write_json(path: Path, data: dict, *, ascii: bool = True) -> None:
    """Write ``data`` to ``path`` as compact JSON, atomically (see :func:`atomic_write`).

    ASCII by default: a path that is not UTF-8 (a str with surrogate escapes) is
    written as a \\udcXX escape, which reads back as the same str. ``ascii=False``
    writes UTF-8, smaller for text of many languages.
    """
    text = json.dumps(data, ensure_ascii=ascii, separators=(",", ":"))
    with atomic_write(path) as handle:
        handle.write(text.encode("ascii" if ascii else "utf-8"))


@contextmanager
def atomic_write(path: Path) -> Iterator[IO[bytes]]:
    """A binary file that replaces ``path`` whole when the block ends, or not at all.

    Written beside it as ``<name>.tmp``, synced to disk, then renamed over it:
    a reader sees the old file or the new one, never a part. Always a new file,
    never written through an existing one, which may be a hard link into the
    live generation. The temporary file is removed if the block raises.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def folder_size(gen: Path) -> int:
    return sum(p.stat().st_size for p in gen.iterdir() if p.is_file())


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a file system without hard links: copying is slower, never wrong
        shutil.copy2(src, dst)


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
