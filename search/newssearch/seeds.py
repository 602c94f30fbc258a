"""Find seed files and read each into an :class:`Article`.

A seed is UTF-8 text: a ``---`` line, YAML front matter, a closing ``---``
line, then an optional body. Reading never executes anything: YAML goes
through PyYAML's safe loader (the C one when libyaml is there), so a
``!!python/...`` tag makes the seed bad instead of building an object.

Every way a file can be bad raises :class:`SeedError` with a one-line reason;
the indexer skips such files and lists them. Fields that are merely odd are
used where their meaning is clear and dropped otherwise (see :class:`_Fields`;
dates are read by :func:`newssearch.dates.read_moment`), and every repair is a
one-line warning naming the field in ``Article.warnings``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import compress, islice, repeat
from operator import attrgetter, eq, gt, itemgetter, not_
from typing import NamedTuple

import yaml

from . import frontmatter
from .dates import read_moment
from .errors import InputPathError, SeedError, first_line, readable

SEED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".yaml", ".yml"})
_SUFFIXES = tuple(SEED_SUFFIXES)  # for str.endswith: each is one dot and letters
MAX_SEED_BYTES = 10 * 1024 * 1024

# Bounds that keep one odd file from costing the whole index its speed; longer
# values are cut and the cut is reported as a warning.
MAX_TITLE_CHARS = 1_000
MAX_EXCERPT_CHARS = 10_000
MAX_BODY_CHARS = 1_000_000
MAX_TOPICS = 100
MAX_RELATED = 100
MAX_LABEL_CHARS = 200  # a topic, provider, domain, category or type
MAX_IMAGES = 20
# A url is one index term. 8,000 characters are at most 32,000 UTF-8 bytes, under Lucene's
# 32,766-byte term limit, so an article stays one term in any engine it is exported to;
# real urls are far shorter (browsers and servers refuse most beyond 8 KB).
MAX_URL_CHARS = 8_000


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


def find_seed_files(paths: Iterable[str | os.PathLike[str]], *, helper: StatHelper | None = None) -> list[SeedFile]:
    """All seed files under ``paths`` (files or folders), sorted, without duplicates.

    Folders are walked recursively, skipping hidden files and folders and
    files whose suffix is not a seed suffix; a file named directly is taken
    whatever its suffix. Symbolic links to folders are not followed, so a
    link loop cannot trap the walk. One file reached by several paths (a
    folder given twice, through a link, or a hard link) is one seed, under
    the first of its paths in path order. Raises :class:`InputPathError` for
    a path that does not exist.

    ``helper`` stats half of the files of a large folder meanwhile (the
    indexer's early workers: :meth:`newssearch.workers.Workers.stat`).
    """
    # Memory: one tuple per file and its identity in two lists of ints (a million files are a
    # few hundred MB here; a walk that listed each folder whole first and kept a dict beside
    # it peaked at over a kilobyte a file).
    found = _Found([], [], [])
    for root, st in check_roots(paths):
        if stat.S_ISDIR(st.st_mode):
            _walk(root, found, helper)
        else:
            found.files.append(SeedFile(root, st.st_mtime_ns, st.st_size))
            found.devices.append(st.st_dev)
            found.inodes.append(st.st_ino)
    files = found.files
    if len(set(found.inodes)) == len(files):
        # No file found twice (distinct inode numbers are distinct files): the usual case, in C.
        # Each folder's files come sorted, so the paths usually are already.
        ordered = files
        found_paths: list[str] = list(map(itemgetter(0), files))
        if any(map(gt, found_paths, islice(found_paths, 1, None))):
            ordered = sorted(files, key=itemgetter(0))  # (files stays in the order of the identities)
            found_paths = list(map(itemgetter(0), ordered))
        if not any(map(eq, found_paths, islice(found_paths, 1, None))):  # a path found twice: a file replaced between
            return ordered
    # Sorted by path, each path taken once (what was found of it first), then each file once.
    order = sorted(range(len(files)), key=lambda i: files[i][0])  # stable: the first found of a path comes first
    unique: list[SeedFile] = []
    seen: set[tuple[int, int]] = set()
    last = None
    for i in order:
        path, identity = files[i][0], (found.devices[i], found.inodes[i])
        if path != last and identity not in seen:
            seen.add(identity)
            unique.append(files[i])
        last = path
    return unique


def check_roots(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[str, os.stat_result]]:
    """Each of ``paths`` as an absolute path with its ``stat``; raises :class:`InputPathError`
    for one that does not exist or is neither a regular file nor a folder."""
    roots = []
    for given in paths:
        root = os.path.abspath(os.fspath(given))
        try:
            st = os.stat(root)
        except OSError as exc:
            raise InputPathError(f"{readable(os.fspath(given))}: {_os_reason(exc)}") from None
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):  # a FIFO or a device would block or never end
            raise InputPathError(f"{readable(os.fspath(given))}: not a regular file or folder")
        roots.append((root, st))
    return roots


class _Found(NamedTuple):
    """What a walk found: the seed files, and the device and inode number of each (its identity)."""

    files: list[SeedFile]
    devices: list[int]
    inodes: list[int]


# From this many seed names in one folder, half of them are stat'ed by a helper (the workers,
# in chunks) while the walk does the other half: a million took 2.6 s in one process.
HELPED_FROM = 50_000
STAT_CHUNK = 16_384  # files stat'ed at a time, by the walk or a worker: bounds the stat results held
StatHelper = Callable[[str, list[str]], Callable[[], list[list[int]]]]  # see workers.Workers.stat


def _walk(folder: str, found: _Found, helper: StatHelper | None = None) -> None:
    """Add each seed file under ``folder`` to ``found``, each folder's in name order."""
    # A folder that vanishes or cannot be listed is passed over, as os.walk does: a seed
    # folder edited while we index is normal, not fatal. Its subfolders are walked once it is
    # closed, so that one descriptor is open at a time. Every step is a C-level pass over a
    # folder's names (a loop over os.scandir's entries cost a second more per million files):
    # a name with a seed suffix is stat'ed (it is nearly always a seed: the one system call a
    # file needs), the other names are only looked at for folders.
    try:
        names = os.listdir(folder)
    except OSError:
        return
    prefix = os.path.join(folder, "")
    visible = [name for name in names if name[0] != "."]
    seedlike = list(map(str.endswith, map(str.lower, visible), repeat(_SUFFIXES)))  # (not hidden: a stem before the dot)
    chosen = sorted(compress(visible, seedlike))
    helped, pending = len(chosen), []
    if helper is not None and len(chosen) >= HELPED_FROM:
        helped = len(chosen) // 2
        pending = [helper(prefix, chosen[at : at + STAT_CHUNK]) for at in range(helped, len(chosen), STAT_CHUNK)]
    paths = list(map(prefix.__add__, chosen))
    columns = stat_columns(paths[:helped])
    for done in pending:
        for mine, theirs in zip(columns, done()):
            mine += theirs
    mtimes, sizes, modes, devices, inodes = columns
    regular = list(map(stat.S_ISREG, modes))
    subfolders = []
    if not all(regular):  # a folder named like a seed, a FIFO, a device; or a file gone since listed
        subfolders = [path for path, mode in zip(paths, modes) if stat.S_ISDIR(mode) and not os.path.islink(path)]
        paths = list(compress(paths, regular))
        mtimes, sizes, devices, inodes = (list(compress(column, regular)) for column in (mtimes, sizes, devices, inodes))
    found.files.extend(map(tuple.__new__, repeat(SeedFile), zip(paths, mtimes, sizes)))
    found.devices.extend(devices)
    found.inodes.extend(inodes)
    subfolders += _folders(folder, prefix, list(compress(visible, map(not_, seedlike))))
    for subfolder in sorted(subfolders):
        _walk(subfolder, found, helper)


def stat_columns(paths: list[str]) -> list[list[int]]:
    """The mtime_ns, sizes, modes, devices and inode numbers of ``paths`` (following links to
    files), by column; the mode is 0 for a file that could not be stat'ed (vanished since it
    was listed, or a dangling link)."""
    columns: list[list[int]] = [[], [], [], [], []]
    for at in range(0, len(paths), STAT_CHUNK):  # a chunk's stat results at a time (150 bytes each)
        chunk = paths[at : at + STAT_CHUNK]
        try:
            stats = list(map(os.stat, chunk))
        except OSError:
            stats = [st if st is not None else _NOT_FOUND for st in map(_stat_or_none, chunk)]
        for column, name in zip(columns, ("st_mtime_ns", "st_size", "st_mode", "st_dev", "st_ino")):
            column += map(attrgetter(name), stats)
    return columns


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


_NOT_FOUND = os.stat_result((0,) * 10, {"st_mtime_ns": 0})  # mode 0: neither a file nor a folder


_FOLDERS_BY_STAT = 256  # names without a seed suffix in a folder up to which each is lstat'ed


def _folders(folder: str, prefix: str, names: list[str]) -> list[str]:
    """The paths of those of ``names`` (in ``folder``) that are folders, not links to folders.

    A few names are lstat'ed; more (a folder of images beside the seeds) are
    told by the folder's listing, which knows each entry's type.
    """
    if len(names) <= _FOLDERS_BY_STAT:
        folders = []
        for name in names:
            try:
                if stat.S_ISDIR(os.lstat(prefix + name).st_mode):
                    folders.append(prefix + name)
            except OSError:
                continue
        return folders
    wanted = set(names)
    folders = []
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                try:
                    if entry.name in wanted and entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                except OSError:
                    continue
    except OSError:
        pass
    return folders


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
    return _article(meta, body, path, front)


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


def _article(meta: dict, body: str, path: str, front: str) -> Article:
    f = _Fields(front, path)
    url = f.text(meta.get("webUrl"), (), "webUrl", required=True)
    if len(url) > MAX_URL_CHARS:
        raise SeedError(path, f"webUrl is longer than {MAX_URL_CHARS:,} characters")
    title = f.text(meta.get("title"), (), "title", limit=MAX_TITLE_CHARS, required=True)
    provider, domain = f.provider(meta.get("provider"), ("provider",), "provider")
    return Article(
        url=url,
        title=title,
        path=path,
        excerpt=f.text(meta.get("excerpt"), (), "excerpt", limit=MAX_EXCERPT_CHARS, paragraphs=True),
        body=f.clip(body, MAX_BODY_CHARS, "body"),
        topics=f.topics(meta.get("topics")),
        provider=provider,
        domain=domain,
        published=f.date(meta.get("publishedDateTime"), (), "publishedDateTime"),
        category=f.text(meta.get("category"), (), "category", limit=MAX_LABEL_CHARS, label=True),
        type=f.text(meta.get("type"), (), "type", limit=MAX_LABEL_CHARS, label=True),
        quality=f.number(meta.get("quality"), (), "quality"),
        heat=f.number(meta.get("heat"), (), "heat"),
        images=f.images(meta.get("images"), ("images",), "images"),
        related=f.related(meta.get("related")),
        warnings=tuple(f.warnings),
    )


class _Unread:
    pass


class _Fields:
    """Reads the fields of one seed into plain values, noting every repair in ``warnings``.

    A field is used whenever its meaning is clear: a number or date where text
    belongs is the text written in the file, a one-item list is its item, a
    single mapping where a list belongs is a list of one. Anything else is
    dropped with a one-line warning that names the field (``related[1].title``).
    """

    def __init__(self, front: str, path: str) -> None:
        self.front = front
        self.path = path
        self.warnings: list[str] = []
        self._raw: object = _Unread

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    # -- text ----------------------------------------------------------------

    def written(self, where: tuple) -> str | None:
        """The text a scalar is written as in the file (``yes``, ``12:30``, ``3.10``), or None."""
        if self._raw is _Unread:
            # PyYAML's base loader builds only strings, lists and mappings, so it
            # gives each scalar's own text: read again only for a seed that needs it.
            try:
                self._raw = yaml.load(self.front, Loader=_BaseLoader)  # noqa: S506 - builds no objects
            except Exception:  # noqa: BLE001 - tags it does not know; then str() of the value serves
                self._raw = None
        node = self._raw
        for step in where:
            if isinstance(step, int):
                node = node[step] if isinstance(node, list) and step < len(node) else None
            else:
                node = node.get(step) if isinstance(node, dict) else None
        return node if isinstance(node, str) else None

    def _scalar(self, value: object, where: tuple) -> str | None:
        if isinstance(value, str):
            return value
        if isinstance(value, (bool, int, float, date)):  # typed by YAML: keep what was written
            written = self.written(where)
            return written if written is not None else str(value)
        return None

    def text(
        self,
        value: object,
        at: tuple,
        key: str | int,
        prefix: str = "",
        *,
        name: str = "",
        limit: int | None = None,
        label: bool = False,
        paragraphs: bool = False,
        required: bool = False,
    ) -> str:
        """The text field ``key`` of the mapping at ``at`` (named ``prefix + key``, or ``name``, in warnings).

        ``label``: whitespace folded to single spaces; ``paragraphs``: a list is joined.
        """
        if value.__class__ is str:  # the usual case, kept short: this runs some 25 times a seed
            text = " ".join(value.split()) if label else value.strip()
            if text and (limit is None or len(text) <= limit):
                return text
            name = name or f"{prefix}{key}"
            if not text and required:
                raise SeedError(self.path, f"no {name}")
            return self.clip(text, limit, name) if limit is not None else text
        name = name or f"{prefix}{key}"
        where = at + (key,)
        problem = ""
        if isinstance(value, list):
            texts = [(i, t) for i, v in enumerate(value) if (t := self._scalar(v, where + (i,))) is not None and t.strip()]
            dropped = len(value) - len(texts)
            if paragraphs:
                text = "\n\n".join(t.strip() for _, t in texts)
                if dropped and texts:
                    self.warn(f"{name}: dropped {dropped} list items that are not text")
            elif texts:
                text = texts[0][1]
                if len(value) > 1:
                    self.warn(f"{name} has {len(value)} values; kept the first, {_show(text)}")
            else:
                text = ""
            if not texts and value:
                problem = f"{name} is a list without text"
        elif value is None:
            text = ""
        else:
            scalar = self._scalar(value, where)
            text = scalar if scalar is not None else ""
            if scalar is None and value != {}:
                problem = f"{name} is a {_kind(value)}, not text"
        text = " ".join(text.split()) if label else text.strip()
        if required and not text:
            raise SeedError(self.path, f"no {name}" + (f" ({problem})" if problem else ""))
        if problem:
            self.warn(problem + "; ignored")
        return self.clip(text, limit, name) if limit is not None else text

    def clip(self, value: str, limit: int, name: str) -> str:
        if len(value) <= limit:
            return value
        self.warn(f"{name} cut to {limit:,} of {len(value):,} characters")
        return value[:limit]

    # -- structured fields ---------------------------------------------------

    def provider(self, value: object, where: tuple, name: str) -> tuple[str, str]:
        """(name, domain): from ``{name, domain}``, a plain name, or the first of a list of either."""
        if isinstance(value, list):
            items = [(i, v) for i, v in enumerate(value) if v not in (None, "", {}, [])]
            if not items:
                if value:
                    self.warn(f"{name} is a list without a provider; ignored")
                return "", ""
            if len(items) > 1:
                self.warn(f"{name} has {len(items)} values; kept the first")
            i, value = items[0]
            where += (i,)
            if isinstance(value, list):
                self.warn(f"{name} is a list of lists, not a provider; ignored")
                return "", ""
        if isinstance(value, dict):
            label = self.text(value.get("name"), where, "name", name + ".", limit=MAX_LABEL_CHARS, label=True)
            domain = self.text(value.get("domain"), where, "domain", name + ".", limit=MAX_LABEL_CHARS,
                               label=True).lower()
            if not label and not domain and value:
                self.warn(f"{name} has neither a name nor a domain; ignored")
            # A provider known only by its site is named by it: the facet needs a name.
            return label or domain, domain
        return self.text(value, where[:-1], where[-1], name=name, limit=MAX_LABEL_CHARS, label=True), ""

    def topics(self, value: object) -> tuple[str, ...]:
        where: tuple = ("topics",)
        if _absent(value):
            return ()
        if isinstance(value, str):
            items: list[object] = [*value.split(",")]
            where = ()  # the items are pieces of one string: nothing to look up
        elif isinstance(value, list):
            items = value
        elif isinstance(value, dict):
            self.warn("topics is a mapping, not a list; ignored")
            return ()
        else:
            text = self._scalar(value, where)
            if text is None:
                self.warn(f"topics is a {_kind(value)}, not text; ignored")
                return ()
            items, where = [text], ()
        topics: dict[str, None] = {}  # ordered and de-duplicated, first spelling wins
        seen: set[str] = set()
        dropped = cut = 0
        for i, item in enumerate(items):
            text = item if item.__class__ is str else self._scalar(item, where + (i,))
            if text is None:
                dropped += 1
                continue
            # A comma separates topics in the index's facet field, so it cannot be part of one.
            topic = " ".join(text.replace(",", " ").split())
            if len(topic) > MAX_LABEL_CHARS:
                topic, cut = topic[:MAX_LABEL_CHARS].rstrip(), cut + 1
            if topic and topic.casefold() not in seen:
                seen.add(topic.casefold())
                topics[topic] = None
        if dropped:
            self.warn(f"topics: dropped {dropped} items that are not text")
        if cut:
            self.warn(f"topics: cut {cut} topics to {MAX_LABEL_CHARS} characters")
        if len(topics) > MAX_TOPICS:
            self.warn(f"kept the first {MAX_TOPICS} of {len(topics)} topics")
        return tuple(topics)[:MAX_TOPICS]

    def date(self, value: object, at: tuple, key: str, prefix: str = "") -> datetime | None:
        if value is None or _absent(value):
            return None
        moment, note = read_moment(value)
        if note:
            where, name = at + (key,), prefix + key
            shown = self._scalar(value, where) if not isinstance(value, str) else value
            self.warn(f"{name} {_show(shown if shown is not None else value)} {note}")
        return moment

    def number(self, value: object, at: tuple, key: str, prefix: str = "") -> int | None:
        """A whole number: an integer, or a number or numeric text with no fraction."""
        if value.__class__ is int:
            return value
        where, name = at + (key,), prefix + key
        if _absent(value):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        number = value
        if isinstance(value, str):
            try:
                return int(value.strip().replace("_", "") if _INTEGER.fullmatch(value.strip()) else "x")
            except ValueError:  # not an integer, or more digits than Python converts
                try:
                    number = float(value)
                except ValueError:
                    pass
        if isinstance(number, float) and number.is_integer():
            return int(number)
        shown = self._scalar(value, where)
        self.warn(f"{name} {_show(value if shown is None else shown)} is not a whole number; ignored")
        return None

    def _items(self, value: object, where: tuple, name: str) -> list[tuple[object, tuple, str]]:
        """The entries of a list field, each with its place in the file and its name in warnings."""
        if value.__class__ is list and value:
            return [(item, where + (i,), f"{name}[{i}]") for i, item in enumerate(value)]
        if _absent(value):
            return []
        if not isinstance(value, list):
            return [(value, where, name)]  # one entry written without the list around it
        return [(item, where + (i,), f"{name}[{i}]") for i, item in enumerate(value)]

    def images(self, value: object, where: tuple, name: str) -> tuple[Image, ...]:
        entries = self._items(value, where, name)
        if len(entries) > MAX_IMAGES:
            self.warn(f"kept the first {MAX_IMAGES} of {len(entries)} {name}")
        images = []
        for item, at, label in entries[:MAX_IMAGES]:
            if isinstance(item, dict):
                url = self.text(item.get("url"), at, "url", label + ".")
                if not url:
                    self.warn(f"{label} has no url; dropped")
                    continue
                images.append(Image(
                    url,
                    self.number(item.get("width"), at, "width", label + "."),
                    self.number(item.get("height"), at, "height", label + "."),
                    self.text(item.get("title"), at, "title", label + ".", limit=MAX_TITLE_CHARS),
                ))
            elif isinstance(item, str):
                if item.strip():
                    images.append(Image(item.strip()))  # a bare url
            else:
                self.warn(f"{label} is a {_kind(item)}, not an image; dropped")
        return tuple(images)

    def related(self, value: object) -> tuple[RelatedArticle, ...]:
        entries = self._items(value, ("related",), "related")
        if len(entries) > MAX_RELATED:
            self.warn(f"kept the first {MAX_RELATED} of {len(entries)} related articles")
        found = []
        for item, at, label in entries[:MAX_RELATED]:
            if not isinstance(item, dict):
                self.warn(f"{label} is a {_kind(item)}, not an article; dropped")
                continue
            url = self.text(item.get("webUrl"), at, "webUrl", label + ".")
            title = self.text(item.get("title"), at, "title", label + ".", limit=MAX_TITLE_CHARS)
            if not url or not title:  # a related entry without identity or title cannot be shown
                self.warn(f"{label} has no {'webUrl' if not url else 'title'}; dropped")
                continue
            if len(url) > MAX_URL_CHARS:
                self.warn(f"{label}.webUrl is longer than {MAX_URL_CHARS:,} characters; dropped")
                continue
            provider, domain = self.provider(item.get("provider"), at + ("provider",), f"{label}.provider")
            found.append(RelatedArticle(
                url=url,
                title=title,
                excerpt=self.text(item.get("excerpt"), at, "excerpt", label + ".", limit=MAX_EXCERPT_CHARS,
                                  paragraphs=True),
                published=self.date(item.get("publishedDateTime"), at, "publishedDateTime", label + "."),
                provider=provider,
                domain=domain,
                type=self.text(item.get("type"), at, "type", label + ".", limit=MAX_LABEL_CHARS, label=True),
                quality=self.number(item.get("quality"), at, "quality", label + "."),
                images=self.images(item.get("images"), at + ("images",), f"{label}.images"),
            ))
        return tuple(found)


_INTEGER = re.compile(r"[-+]?\d[\d_]*")
try:
    _BaseLoader: type = yaml.CBaseLoader
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.BaseLoader


def _absent(value: object) -> bool:
    """Null, empty or blank: how YAML says a field has no value."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == {}


def _show(value: object) -> str:
    """A value as a warning quotes it: short, on one line."""
    text = " ".join(str(value).split())
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false value"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "list"
    if isinstance(value, (bytes, bytearray)):
        return "binary value"
    return type(value).__name__


def _yaml_reason(exc: yaml.YAMLError) -> str:
    # Lines count from the file's first line: +1 for 1-based, +1 for the opening fence.
    parts = []
    for text, mark in (
        (getattr(exc, "context", None), getattr(exc, "context_mark", None)),
        (getattr(exc, "problem", None), getattr(exc, "problem_mark", None)),
    ):
        if text:
            parts.append(f"{text} at line {mark.line + 2}" if mark is not None else text)
    reason = ": ".join(parts) or first_line(exc)
    return " ".join(reason.split())


def _os_reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
