"""The embedded engine: a Whoosh index in a folder on disk, the default.

Its writer is :mod:`newssearch.indexing` (incremental generations through
:mod:`newssearch.store` and the segment codec of :mod:`newssearch.codec`) and
its searcher :mod:`newssearch.searching` (NumPy scoring over the posting
lists, :mod:`newssearch.scoring`, and facet arrays, :mod:`newssearch.docvalues`).
They are the reference the other engines are compared with
(``tests/test_engines.py``), and the Typesense engine keeps its ledger of
what a sync sent as one of these indexes.
"""

from __future__ import annotations

from ..indexing import index_local as index_seeds
from ..searching import IndexSearcher
from ..searching import open_local as open_index

__all__ = ["IndexSearcher", "index_seeds", "open_index"]
