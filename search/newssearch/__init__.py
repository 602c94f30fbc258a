"""newssearch: full-text search for news article seeds, on a Whoosh index.

Library first; the ``newssearch`` command is a thin layer over these names::

    import newssearch

    report = newssearch.index_seeds(["seeds"], "index")
    with newssearch.open_index("index") as ix:
        results = ix.search("facial recognition", topics=["AI"], since="2020")
        for hit in results.hits:
            print(hit.rank, hit.title, hit.url)
"""

from .errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    InputPathError,
    NewssearchError,
    QueryError,
    SchemaVersionError,
    SeedError,
)
from .facets import Facets, FacetValue
from .indexing import IndexReport, SkippedFile, index_seeds
from .searching import Hit, IndexSearcher, IndexStats, SearchResults, open_index
from .seeds import Article, Image, RelatedArticle, find_seed_files, read_seed

__version__ = "0.1.0"

__all__ = [
    "Article",
    "FacetValue",
    "Facets",
    "Hit",
    "Image",
    "IndexCorruptError",
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
    "SearchResults",
    "SeedError",
    "SkippedFile",
    "find_seed_files",
    "index_seeds",
    "open_index",
    "read_seed",
]
