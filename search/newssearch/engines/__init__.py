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

The library's :func:`newssearch.open_index` and :func:`newssearch.index_seeds`
take either: a string with ``scheme://`` names a remote engine by its scheme
(:data:`REMOTE`), anything else is a folder of the local one. A third engine
is a new module here and one line in :data:`REMOTE`.
"""

from __future__ import annotations

import os
import re
from importlib import import_module
from types import ModuleType

from ..errors import InputPathError

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
