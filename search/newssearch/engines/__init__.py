"""Engines: where articles are stored and queries answered.

Everything above an engine is shared: reading seeds (:mod:`newssearch.seeds`),
the rules of who holds a url, duplicates and related articles
(:mod:`newssearch.indexing`), the query language and the search options
(:mod:`newssearch.query`), the result types (:mod:`newssearch.searching`) and
highlighting (:mod:`newssearch.highlight`). An engine stores the documents
those rules produce and answers a parsed query with those types.

* :mod:`.whoosh`: the embedded Whoosh index on disk, the default. An index
  is a folder (``--index-dir``).
* :mod:`.typesense`: a Typesense node or cluster, named by a url
  (``typesense://host:port[,host:port...]/collection``).

:func:`open_index` and :func:`index_seeds` here are the library's
(``newssearch.open_index``): a string with ``scheme://`` names a remote engine
by its scheme (:data:`REMOTE`), anything else is a folder of the local one. A
third engine is a new module here, with those two functions, and one line in
:data:`REMOTE`. This package sits above the engines: they import the shared
modules, never it.
"""

from __future__ import annotations

import os
import re
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import InputPathError

if TYPE_CHECKING:
    from ..indexing import IndexReport
    from ..searching import IndexSearcher

# scheme -> module holding ``open_index(target, *, synonyms)`` and ``index_seeds(paths, target, ...)``
REMOTE: dict[str, str] = {"typesense": "newssearch.engines.typesense"}

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def remote_engine(target: object) -> ModuleType | None:
    """The module of the remote engine ``target`` names, or None for a local index folder.

    Raises :class:`InputPathError` for a url of a scheme no engine serves:
    ``elastic://...`` is a typo or a missing engine, never a folder to create.
    """
    if not isinstance(target, (str, os.PathLike)):
        return None
    text = os.fspath(target)
    if not isinstance(text, str):
        return None
    match = _SCHEME.match(text)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme not in REMOTE:
        known = ", ".join(f"{name}://" for name in sorted(REMOTE))
        raise InputPathError(f"{text}: no engine serves {scheme}:// (known: {known}, or a folder for the local index)")
    return import_module(REMOTE[scheme])


def open_index(index_dir: str | os.PathLike[str] | None = None, *, synonyms: Any = True) -> IndexSearcher:
    """Open an index for searching: a local folder (:func:`newssearch.searching.open_index`, whose
    arguments and errors these are) or a remote engine's url, whose searcher answers with the same
    types and methods."""
    engine = remote_engine(index_dir)
    if engine is None:
        engine = import_module(".whoosh", __name__)
    searcher: IndexSearcher = engine.open_index(index_dir, synonyms=synonyms)
    return searcher


def index_seeds(paths: Any = ("seeds",), index_dir: str | os.PathLike[str] | None = None, **options: Any) -> IndexReport:
    """Index seed files into a local folder (:func:`newssearch.indexing.index_seeds`, whose arguments
    and errors these are) or sync them to a remote engine's url by the same rules; the report's
    ``remote`` then says what was sent."""
    engine = remote_engine(index_dir)
    if engine is None:
        engine = import_module(".whoosh", __name__)
    report: IndexReport = engine.index_seeds(paths, index_dir, **options)
    return report
