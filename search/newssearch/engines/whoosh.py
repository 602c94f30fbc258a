"""The embedded engine: a Whoosh index in a folder on disk, the default.

Its writer is :mod:`newssearch.indexing` (incremental generations through
:mod:`newssearch.store` and the segment codec of :mod:`newssearch.codec`) and
its searcher :mod:`newssearch.searching` (NumPy scoring over the posting
lists, :mod:`newssearch.scoring`, and facet arrays, :mod:`newssearch.docvalues`).
They are the reference the other engines are compared with
(``tests/test_typesense.py``), and the Typesense engine keeps its ledger of
what a sync sent as one of these indexes.

Each side is imported when first used: a query does not load the indexer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..indexing import IndexReport
    from ..searching import IndexSearcher


def open_index(index_dir: str | os.PathLike[str] | None = None, *, synonyms: Any = True) -> IndexSearcher:
    """:func:`newssearch.searching.open_index`."""
    from ..searching import open_index as open_local

    return open_local(os.fspath(index_dir) if index_dir is not None else None, synonyms=synonyms)


def index_seeds(paths: Any = ("seeds",), index_dir: str | os.PathLike[str] | None = None, **options: Any) -> IndexReport:
    """:func:`newssearch.indexing.index_seeds`."""
    from ..indexing import index_seeds as index_local

    return index_local(paths, index_dir, **options)
