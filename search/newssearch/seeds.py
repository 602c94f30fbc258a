"""Find seed files and read each into an :class:`Article`.

A seed is UTF-8 text: a ``---`` line, YAML front matter, a closing ``---``
line, then an optional body. Reading never executes anything: YAML goes
through PyYAML's safe loader (the C one when libyaml is there), so a
``!!python/...`` tag makes the seed bad instead of building an object.

Every way a file can be bad raises :class:`SeedError` with a one-line reason;
the indexer skips such files and lists them. Fields that are merely odd are
repaired where a user would want the article anyway (an unreadable date is
left empty, a huge title is cut) and the repair is listed in
``Article.warnings``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import yaml

from . import frontmatter
from .dates import to_utc
from .errors import InputPathError, SeedError

SEED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".yaml", ".yml"})
MAX_SEED_BYTES = 10 * 1024 * 1024

# Bounds that keep one odd file from costing the whole index its speed; longer
# values are cut and the cut is reported as a warning.
MAX_TITLE_CHARS = 1_000
MAX_EXCERPT_CHARS = 10_000
MAX_BODY_CHARS = 1_000_000
MAX_TOPICS = 100
MAX_RELATED = 100
MAX_LABEL_CHARS = 200  # a topic, provider, domain or category


@dataclass(frozen=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    title: str = ""


@dataclass(frozen=True)
class RelatedArticle:
    """An entry of a seed's ``related`` list: a small article of its own."""

    url: str
    title: str
    excerpt: str = ""
    published: datetime | None = None
    provider: str = ""
    domain: str = ""
    type: str = ""
    quality: int | None = None
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Article:
    """One seed, as newssearch indexes it. ``url`` (from ``webUrl``) is its identity."""

    url: str
    title: str
    path: str
    excerpt: str = ""
    body: str = ""
    topics: tuple[str, ...] = ()
    provider: str = ""
    domain: str = ""
    published: datetime | None = None
    category: str = ""
    type: str = ""
    quality: int | None = None
    heat: int | None = None
    images: tuple[Image, ...] = ()
    related: tuple[RelatedArticle, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)


# -- finding files -----------------------------------------------------------


class SeedFile(NamedTuple):
    """A seed file found on disk, with what incremental indexing compares (a tuple: one per file)."""

    path: str
    mtime_ns: int
    size: int


def find_seed_files(paths: Iterable[str | os.PathLike[str]]) -> list[SeedFile]:
    """All seed files under ``paths`` (files or folders), sorted, without duplicates.

    Folders are walked recursively, skipping hidden files and folders and
    files whose suffix is not a seed suffix; a file named directly is taken
    whatever its suffix. Symbolic links to folders are not followed, so a
    link loop cannot trap the walk. One file reached by several paths (a
    folder given twice, through a link, or a hard link) is one seed, under
    the first of its paths in path order. Raises :class:`InputPathError` for
    a path that does not exist.
    """
    found: dict[str, tuple[SeedFile, tuple[int, int]]] = {}
    for given in paths:
        root = os.path.abspath(os.fspath(given))
        try:
            st = os.stat(root)
        except OSError as exc:
            raise InputPathError(f"{display_path(os.fspath(given))}: {_os_reason(exc)}") from None
        if stat.S_ISDIR(st.st_mode):
            for file, identity in _walk(root):
                found.setdefault(file.path, (file, identity))
        elif stat.S_ISREG(st.st_mode):
            found.setdefault(root, (SeedFile(root, st.st_mtime_ns, st.st_size), (st.st_dev, st.st_ino)))
        else:  # a FIFO or a device would block or never end
            raise InputPathError(f"{display_path(os.fspath(given))}: not a regular file or folder")
    files: list[SeedFile] = []
    seen: set[tuple[int, int]] = set()
    for path in sorted(found):
        file, identity = found[path]
        if identity not in seen:
            seen.add(identity)
            files.append(file)
    return files


def display_path(path: str) -> str:
    """``path`` as text a person can read: bytes of a file name that are not UTF-8
    (held as surrogate escapes, as ``os.fsdecode`` gives them) are shown as ``\\xe9``."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _walk(folder: str) -> Iterator[tuple[SeedFile, tuple[int, int]]]:
    # A folder that vanishes or cannot be listed is passed over, as os.walk
    # does: a seed folder edited while we index is normal, not fatal.
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(entry.path)
                continue
        except OSError:
            continue
        dot = name.rfind(".")
        if dot <= 0 or name[dot:].lower() not in SEED_SUFFIXES:
            continue
        try:
            st = entry.stat()  # follows a link to a file; a link to a folder is then not regular
        except OSError:
            continue  # vanished (or a dangling link) between listing and stat
        if stat.S_ISREG(st.st_mode):
            yield SeedFile(entry.path, st.st_mtime_ns, st.st_size), (st.st_dev, st.st_ino)


# -- reading one file --------------------------------------------------------


def read_seed(path: str | os.PathLike[str]) -> Article:
    """Read and check one seed file. Raises :class:`SeedError` when it cannot be indexed."""
    path = os.fspath(path)
    try:
        # O_NONBLOCK: a FIFO swapped in for a seed must not hang the run.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise SeedError(path, "not a regular file")
            data = _read_up_to(fd, st.st_size, MAX_SEED_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SeedError(path, _os_reason(exc)) from None
    return parse_seed(data, path)


def _read_up_to(fd: int, expected: int, limit: int) -> bytes:
    """At most ``limit`` bytes of an open file, in one read when it is ``expected`` bytes long.

    Asking for the limit at once would allocate 10 MB per seed; a file that
    grew since its ``stat`` is read on in pieces.
    """
    chunks: list[bytes] = []
    size = 0
    want = min(expected + 1, limit)  # one byte more: growth shows
    while size < limit:
        chunk = os.read(fd, min(want, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        want = 1 << 16
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_seed(data: bytes, path: str = "<seed>") -> Article:
    """Parse the bytes of a seed; ``path`` is only recorded and used in messages."""
    if len(data) > MAX_SEED_BYTES:
        raise SeedError(path, f"file is larger than the {MAX_SEED_BYTES // (1024 * 1024)} MB limit")
    if not data.strip():
        raise SeedError(path, "empty file")
    if b"\x00" in data:
        raise SeedError(path, "binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeedError(path, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    front, body = split_front_matter(text, path)
    try:
        meta = frontmatter.load(front)  # PyYAML's safe loader, with a fast path for plain front matter
    except yaml.YAMLError as exc:
        raise SeedError(path, f"invalid YAML front matter: {_yaml_reason(exc)}") from None
    except RecursionError:
        raise SeedError(path, "invalid YAML front matter: nested too deeply") from None
    if not isinstance(meta, dict):
        kind = "empty" if meta is None else type(meta).__name__
        raise SeedError(path, f"front matter is not a mapping of fields (it is {kind})")
    return _article(meta, body, path)


def split_front_matter(text: str, path: str = "<seed>") -> tuple[str, str]:
    """Split seed text into (YAML, body). Tolerates CRLF and spaces after the fences."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first_end = text.find("\n")
    if (text if first_end < 0 else text[:first_end]).rstrip(" \t") != "---":
        raise SeedError(path, "no front matter (the first line must be ---)")
    closing = _FENCE.search(text, first_end)
    if first_end < 0 or closing is None:
        raise SeedError(path, "front matter is not closed (no second --- line)")
    front = text[first_end + 1 : closing.start()]
    return front[:-1] if front.endswith("\n") else front, text[closing.end() :].strip()


_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def _article(meta: dict, body: str, path: str) -> Article:
    warnings: list[str] = []
    url = _text(meta.get("webUrl")).strip()
    if not url:
        raise SeedError(path, "no webUrl (the article's identity)")
    title = _clip(_text(meta.get("title")).strip(), MAX_TITLE_CHARS, "title", warnings)
    if not title:
        raise SeedError(path, "no title")
    provider, domain = _provider(meta.get("provider"))
    related = []
    raw_related = meta.get("related") or []
    if isinstance(raw_related, list):
        if len(raw_related) > MAX_RELATED:
            warnings.append(f"kept the first {MAX_RELATED} of {len(raw_related)} related articles")
        for item in raw_related[:MAX_RELATED]:
            entry = _related(item, warnings)
            if entry is not None:
                related.append(entry)
    else:
        warnings.append("related is not a list; ignored")
    return Article(
        url=url,
        title=title,
        path=path,
        excerpt=_clip(_text(meta.get("excerpt")).strip(), MAX_EXCERPT_CHARS, "excerpt", warnings),
        body=_clip(body, MAX_BODY_CHARS, "body", warnings),
        topics=_topics(meta.get("topics"), warnings),
        provider=provider,
        domain=domain,
        published=_date(meta.get("publishedDateTime"), "publishedDateTime", warnings),
        category=_label(meta.get("category")),
        type=_label(meta.get("type")),
        quality=_int(meta.get("quality")),
        heat=_int(meta.get("heat")),
        images=_images(meta.get("images")),
        related=tuple(related),
        warnings=tuple(warnings),
    )


def _related(item: object, warnings: list[str]) -> RelatedArticle | None:
    if not isinstance(item, dict):
        return None
    url = _text(item.get("webUrl")).strip()
    title = _text(item.get("title")).strip()[:MAX_TITLE_CHARS]
    if not url or not title:
        return None  # a related entry without identity or title cannot be shown
    provider, domain = _provider(item.get("provider"))
    return RelatedArticle(
        url=url,
        title=title,
        excerpt=_text(item.get("excerpt")).strip()[:MAX_EXCERPT_CHARS],
        published=_date(item.get("publishedDateTime"), f"related {url} publishedDateTime", warnings),
        provider=provider,
        domain=domain,
        type=_label(item.get("type")),
        quality=_int(item.get("quality")),
        images=_images(item.get("images")),
    )


def _text(value: object) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return value if isinstance(value, str) else str(value)


def _clip(value: str, limit: int, name: str, warnings: list[str]) -> str:
    if len(value) <= limit:
        return value
    warnings.append(f"{name} cut to {limit:,} of {len(value):,} characters")
    return value[:limit]


def _label(value: object) -> str:
    return " ".join(_text(value).split())[:MAX_LABEL_CHARS]


def _provider(value: object) -> tuple[str, str]:
    if isinstance(value, dict):
        return _label(value.get("name")), _label(value.get("domain")).lower()
    return _label(value), ""


def _topics(value: object, warnings: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[object] = [*value.split(",")]
    elif isinstance(value, list):
        items = value
    else:
        items = []
    topics: dict[str, None] = {}  # ordered and de-duplicated, first spelling wins
    seen: set[str] = set()
    for item in items:
        # A comma separates topics in the index's facet field, so it cannot be part of one.
        topic = _label(item).replace(",", " ").strip()
        if topic and topic.casefold() not in seen:
            seen.add(topic.casefold())
            topics[topic] = None
    if len(topics) > MAX_TOPICS:
        warnings.append(f"kept the first {MAX_TOPICS} of {len(topics)} topics")
    return tuple(topics)[:MAX_TOPICS]


def _date(value: object, name: str, warnings: list[str]) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return to_utc(value)
    except (ValueError, OverflowError):
        warnings.append(f"{name} {str(value)[:40]!r} is not a date; indexed without a date")
        return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _images(value: object) -> tuple[Image, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        Image(_text(i.get("url")), _int(i.get("width")), _int(i.get("height")), _text(i.get("title")))
        for i in value[:20]
        if isinstance(i, dict) and i.get("url")
    )


def _yaml_reason(exc: yaml.YAMLError) -> str:
    # Lines count from the file's first line: +1 for 1-based, +1 for the opening fence.
    parts = []
    for text, mark in (
        (getattr(exc, "context", None), getattr(exc, "context_mark", None)),
        (getattr(exc, "problem", None), getattr(exc, "problem_mark", None)),
    ):
        if text:
            parts.append(f"{text} at line {mark.line + 2}" if mark is not None else text)
    reason = ": ".join(parts) or str(exc).splitlines()[0]
    return " ".join(reason.split())


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
