"""newssearch: full-text search for news article seeds, on a Whoosh index.

Library first; the ``newssearch`` command is a thin layer over these names::

    import newssearch

    report = newssearch.index_seeds(["seeds"], "index")
    with newssearch.open_index("index") as ix:
        results = ix.search("facial recognition", topics=["AI"], since="2020")
        for hit in results.hits:
            print(hit.rank, hit.title, hit.url)
"""

from typing import TYPE_CHECKING

from .errors import (
    IndexCorruptError,
    IndexingError,
    IndexLockedError,
    IndexNotFoundError,
    InputPathError,
    NewssearchError,
    QueryError,
    SchemaVersionError,
    SearcherClosedError,
    SeedError,
)

if TYPE_CHECKING:
    from .facets import Facets, FacetValue
    from .indexing import IndexReport, SkippedFile, index_seeds
    from .searching import Hit, IndexSearcher, IndexStats, SearchResults, StoredArticle, open_index
    from .seeds import Article, Image, RelatedArticle, find_seed_files, read_seed

# Names are imported on first use: "newssearch query" should not pay for YAML
# and the indexer, nor "newssearch index" for the searcher.
_LAZY = {
    "Facets": "facets",
    "FacetValue": "facets",
    "IndexReport": "indexing",
    "SkippedFile": "indexing",
    "index_seeds": "indexing",
    "Hit": "searching",
    "IndexSearcher": "searching",
    "IndexStats": "searching",
    "SearchResults": "searching",
    "StoredArticle": "searching",
    "open_index": "searching",
    "Article": "seeds",
    "Image": "seeds",
    "RelatedArticle": "seeds",
    "find_seed_files": "seeds",
    "read_seed": "seeds",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'newssearch' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "Article",
    "FacetValue",
    "Facets",
    "Hit",
    "Image",
    "IndexCorruptError",
    "IndexingError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexSearcher",
    "IndexStats",
    "InputPathError",
    "NewssearchError",
    "QueryError",
    "RelatedArticle",
    "SchemaVersionError",
    "SearcherClosedError",
    "SearchResults",
    "SeedError",
    "SkippedFile",
    "StoredArticle",
    "find_seed_files",
    "index_seeds",
    "open_index",
    "read_seed",
]
