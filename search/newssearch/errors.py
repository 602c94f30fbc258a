"""The few exceptions newssearch raises.

Every one of them carries a message meant for a person: one line, naming the
file, folder or argument at fault and, where there is one, the command that
fixes it. The CLI prints ``Error: <message>`` and exits 1 (2 for bad usage).
"""

from __future__ import annotations


def readable(text: str) -> str:
    """``text`` with the bytes of a file name that are not UTF-8 (surrogate escapes, as
    ``os.fsdecode`` gives them) as ``\\xNN``: terminals cannot show lone surrogates and JSON
    readers in other languages reject them. Paths are stored exactly; this is for showing them.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def first_line(message: object) -> str:
    """The first line of ``str(message)`` ("" if it has none): what a one-line report shows of an exception."""
    return (str(message).splitlines() or [""])[0]


class NewssearchError(Exception):
    """Base class: anything newssearch reports on purpose."""


class SeedError(NewssearchError):
    """A seed file could not be read; raised by :func:`newssearch.read_seed`.

    ``path`` is the file and ``reason`` the one-line reason without the path,
    as it appears in an index report's ``skipped`` list.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):  # cross the process boundary of parallel parsing intact
        return (SeedError, (self.path, self.reason))


class IndexNotFoundError(NewssearchError):
    """No index (or an empty one) at the given folder."""

    def __init__(self, index_dir: str) -> None:
        super().__init__(f'no index at {_slash(index_dir)}: run "newssearch index" first')
        self.index_dir = index_dir


class SchemaVersionError(NewssearchError):
    """The index was built by another version of newssearch's schema."""

    def __init__(self, index_dir: str, found: object, expected: int) -> None:
        # "newssearch index" rebuilds an older index by itself; a newer one (or an unknown
        # one) is only replaced when asked, since a newer newssearch may still be using it.
        how = "newssearch index" if self.is_older(found, expected) else "newssearch index --rebuild"
        super().__init__(
            f"the index at {_slash(index_dir)} was built with schema version {found}, "
            f'this newssearch uses version {expected}: run "{how}"'
        )
        self.index_dir = index_dir
        self.found = found
        self.expected = expected

    @staticmethod
    def is_older(found: object, expected: int) -> bool:
        return isinstance(found, int) and not isinstance(found, bool) and found < expected


class IndexCorruptError(NewssearchError):
    """The index files are damaged; rebuilding from the seeds repairs them."""

    def __init__(self, index_dir: str, detail: str) -> None:
        super().__init__(
            f'the index at {_slash(index_dir)} is damaged ({detail}): run "newssearch index --rebuild"'
        )
        self.index_dir = index_dir
        self.detail = detail


class IndexLockedError(NewssearchError):
    """Another process is writing the index and did not finish in time."""

    def __init__(self, index_dir: str, waited: float) -> None:
        super().__init__(
            f"the index at {_slash(index_dir)} is being written by another process "
            f"(waited {waited:g} s); try again when it has finished"
        )
        self.index_dir = index_dir


class SearcherClosedError(NewssearchError):
    """A search on an :class:`~newssearch.searching.IndexSearcher` after its ``close()``."""

    def __init__(self, index_dir: str) -> None:
        super().__init__(f"the searcher of the index at {index_dir} is closed: open it again with open_index()")
        self.index_dir = index_dir


class QueryError(NewssearchError, ValueError):
    """A query or a search option that cannot be understood (bad date, bad sort...)."""


class SynonymsError(NewssearchError):
    """A synonyms file that cannot be read or holds a line that cannot be understood.

    ``path`` is the file, ``line`` the line number (None for the whole file).
    """

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        where = f"synonyms file {path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class ArticleNotFoundError(NewssearchError, LookupError):
    """The index holds no article with the url asked for (``IndexSearcher.similar``)."""

    def __init__(self, url: str, index_dir: str) -> None:
        super().__init__(f"the index at {_slash(index_dir)} holds no article with the url {url!r} (urls match exactly)")
        self.url = url
        self.index_dir = index_dir


class InputPathError(NewssearchError):
    """A path given to the indexer does not exist or cannot be read."""


def _slash(path: str) -> str:
    path = str(path)
    return path if path.endswith("/") else path + "/"


class IndexingError(NewssearchError):
    """An indexing run failed for a reason outside any one seed (a worker process died).

    Nothing was published: the index is as it was before the run.
    """

    def __init__(self, index_dir: str, reason: str) -> None:
        super().__init__(f"{index_dir}: {reason}; the index is as it was before this run")
        self.index_dir = index_dir
        self.reason = reason

    def __reduce__(self):
        return (IndexingError, (self.index_dir, self.reason))
