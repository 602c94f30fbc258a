"""The index folder: generations, the pointer to the current one, and the write lock.

Whoosh alone can leave an index that no longer opens when a process dies in
the middle of a commit. newssearch therefore never writes into the index that
readers use. An index folder holds generations::

    index/
      CURRENT            the name of the live generation, replaced atomically
      write.lock         held (flock) by the one process writing
      gen-000007/        a complete Whoosh index, plus manifest.json,
                         meta.json and facets.npz

An update hard-links the live generation's files into a new folder (Whoosh
never rewrites a segment file, it only adds new ones), commits there, writes
the side files, syncs everything to disk and only then points ``CURRENT`` at
it. A crash at any moment leaves ``CURRENT`` naming a complete generation;
the half-written folder is removed by the next writer. The two previous
generations are kept (they share most files through the links) so that a
reader that opened one just before a switch can finish.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import IndexCorruptError, IndexLockedError, IndexNotFoundError, SchemaVersionError

INDEX_ENV = "NEWSSEARCH_INDEX"
DEFAULT_INDEX_DIR = "index"
CURRENT = "CURRENT"
LOCK = "write.lock"
MANIFEST = "manifest.json"
META = "meta.json"
_GEN = re.compile(r"^gen-(\d{6,})$")
KEEP_GENERATIONS = 3  # the live one and the two before it
# The version of everything in a generation: the Whoosh schema (newssearch.schema)
# and the side files. Bump it with any change to either: an index of another
# version asks for "newssearch index --rebuild" instead of answering wrongly.
# 2: published is a column only; the manifest is stored by column; checksums.
# 3: every file in the manifest with its state; kept versions; seeds store their related
#    entries; the analysis of issue 9 (folding, acronyms, ampersands, apostrophes, CJK grams,
#    Porter2 alone).
SCHEMA_VERSION = 3
# Values the index stores: a document's kind, and the date of an article without
# one (it sorts before every real date).
KIND_SEED, KIND_RELATED = "seed", "related"
NO_DATE = -(2**62)
# Files that get a checksum as well as a size: Whoosh's table of contents and the
# side files read whole, or later in a run. (The manifest is checked as it is
# parsed; segment files, hundreds of megabytes, by size.)
_CHECKSUMMED = re.compile(r"^(_MAIN_\d+\.toc|facets\.npz|vocab\.json|related\.json|kept\.json)$")


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


def read_meta(gen: Path) -> dict:
    try:
        return json.loads((gen / META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(str(gen.parent), f"cannot read {gen.name}/{META}: {exc}") from None


def check_schema(index_dir: Path, gen: Path) -> dict:
    meta = read_meta(gen)
    found = meta.get("schema_version")
    if found != SCHEMA_VERSION:
        raise SchemaVersionError(str(index_dir), found, SCHEMA_VERSION)
    return meta


def file_sizes(gen: Path) -> dict[str, int]:
    """The size of every file of a generation but ``meta.json``, which records them."""
    return {p.name: p.stat().st_size for p in sorted(gen.iterdir()) if p.is_file() and p.name != META
            and "WRITELOCK" not in p.name and not p.name.endswith(".tmp")}


def file_checksums(gen: Path, sizes: dict[str, int]) -> dict[str, int]:
    """CRC-32 of the table of contents and the side files read whole, among the files of ``sizes``."""
    return {name: _crc32(gen / name) for name in sizes if _CHECKSUMMED.match(name)}


def _crc32(path: Path) -> int:
    import zlib

    return zlib.crc32(path.read_bytes())


def verify_files(index_dir: Path, gen: Path, meta: dict, *, checksums: bool = False) -> None:
    """Raise :class:`IndexCorruptError` if a file recorded at publish time is missing or changed.

    Whoosh keeps no checksums; sizes catch the damage a crash, a full disk or a
    careless hand leaves (truncated, deleted or replaced files) for the cost of
    a ``stat`` per file. With ``checksums`` (the indexer, which builds on the
    generation without opening it) the table of contents and the facet,
    vocabulary and related-url files are read and their CRC-32 compared too,
    which catches a same-size overwrite of them.
    """
    for name, size in (meta.get("files") or {}).items():
        try:
            actual = (gen / name).stat().st_size
        except FileNotFoundError:
            raise IndexCorruptError(str(index_dir), f"{gen.name}/{name} is missing") from None
        if actual != size:
            raise IndexCorruptError(str(index_dir), f"{gen.name}/{name} has {actual:,} bytes, expected {size:,}")
    if checksums:
        for name, crc in (meta.get("crc32") or {}).items():
            if _crc32(gen / name) != crc:
                raise IndexCorruptError(str(index_dir), f"{gen.name}/{name} changed since it was written")


def new_generation(index_dir: Path, base: Path | None) -> Path:
    """Create the next generation's folder, holding links to ``base``'s files if given.

    Folders numbered above the live generation are the remains of runs that
    died before publishing: they are removed first. Call with the lock held.
    """
    remove_unpublished(index_dir)
    numbers = [int(m.group(1)) for p in index_dir.iterdir() if (m := _GEN.match(p.name))]
    gen = index_dir / f"gen-{max(numbers, default=0) + 1:06d}"
    gen.mkdir()
    if base is not None:
        for entry in base.iterdir():
            # Only Whoosh's own files, which it never rewrites. Side files are
            # written anew: writing through a link would change the live generation.
            if entry.is_file() and entry.name.startswith(("_MAIN_", "MAIN_")) and "WRITELOCK" not in entry.name:
                _link_or_copy(entry, gen / entry.name)
    return gen


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
    tmp = index_dir / f"{CURRENT}.tmp"
    tmp.write_text(gen.name + "\n", encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, index_dir / CURRENT)
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


def load_json(path: Path, default: dict) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except ValueError as exc:
        raise IndexCorruptError(str(path.parent.parent), f"cannot read {path.name}: {exc}") from None


def write_json(path: Path, data: dict) -> None:
    """Write a side file as a new file (never through an existing link)."""
    tmp = path.with_name(path.name + ".tmp")
    # ASCII: a path that is not UTF-8 (a str with surrogate escapes) is written as a
    # \udcXX escape, which reads back as the same str.
    tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="ascii")
    os.replace(tmp, path)


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
