"""The table of contents: which segments make up an index generation, and opening one.

Whoosh's ``TOC`` (``_MAIN_<generation>.toc``) holds a pickle of the schema and
one of the segment objects. The schema pickle names the classes and
functions of :mod:`newssearch.schema` by module path, so an index is always
opened here with the schema passed in (``TOC.read(..., schema=...)``,
``open_dir(..., schema=...)``): Whoosh then skips that pickle, and moving or
renaming a module never makes an index on disk unreadable. The pickle is
still written, so that plain Whoosh (with newssearch importable) can open a
generation for inspection.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, clean_files

INDEX_NAME = "MAIN"  # Whoosh's default index name: open_dir() finds it


def _schema(schema):
    if schema is None:
        from ..schema import build_schema

        schema = build_schema()
    return schema


def create(folder: str | os.PathLike[str], schema) -> None:
    """Make ``folder`` an empty index (generation 0) of ``schema``."""
    TOC.create(FileStorage(os.fspath(folder)), schema, INDEX_NAME)


def open_whoosh(folder: str | os.PathLike[str], schema=None) -> FileIndex:
    """The Whoosh index in ``folder``, read with ``schema`` (newssearch's own by default), never
    with the schema pickled in its table of contents."""
    return FileIndex(FileStorage(os.fspath(folder)), schema=_schema(schema), indexname=INDEX_NAME)


def read(folder: str | os.PathLike[str], schema=None) -> tuple[list, int]:
    """The segments of the index in ``folder`` and its generation number (Whoosh's ``TOC``)."""
    toc = TOC.read(FileStorage(os.fspath(folder)), INDEX_NAME, schema=_schema(schema))
    return list(toc.segments), toc.generation


def commit(folder: str | os.PathLike[str], schema, segments: Iterable, generation: int, *, clean: bool = True) -> None:
    """Publish ``segments`` as the index's generation ``generation``, removing files no segment
    uses (unless ``clean`` is false: something still reads them; then call :func:`clean` later)."""
    storage = FileStorage(os.fspath(folder))
    segments = list(segments)
    TOC(schema, segments, generation).write(storage, INDEX_NAME)
    if clean:
        clean_files(storage, INDEX_NAME, generation, segments)


def clean(folder: str | os.PathLike[str], segments: Iterable, generation: int) -> None:
    """Remove the files no segment of generation ``generation`` (committed as ``segments``) uses."""
    clean_files(FileStorage(os.fspath(folder)), INDEX_NAME, generation, list(segments))
