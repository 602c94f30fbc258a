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
    ArticleNotFoundError,
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
    SynonymsError,
)

if TYPE_CHECKING:  # "X as X": re-exported, for type checkers
    from .engines import index_seeds as index_seeds
    from .engines import open_index as open_index
    from .facets import Facets as Facets
    from .facets import FacetValue as FacetValue
    from .indexing import IndexReport as IndexReport
    from .indexing import SkippedFile as SkippedFile
    from .searching import Hit as Hit
    from .searching import IndexSearcher as IndexSearcher
    from .searching import IndexStats as IndexStats
    from .searching import SearchResults as SearchResults
    from .searching import StoredArticle as StoredArticle
    from .seeds import Article as Article
    from .seeds import Image as Image
    from .seeds import RelatedArticle as RelatedArticle
    from .seeds import find_seed_files as find_seed_files
    from .seeds import read_seed as read_seed
    from .synonyms import Synonyms as Synonyms
    from .urls import normalize_url as normalize_url

# The public names, once. Those of the modules below are imported on first use:
# "newssearch query" should not pay for YAML and the indexer, nor "newssearch index"
# for the searcher. (The TYPE_CHECKING imports above give type checkers the same
# names; tests/test_package.py checks that they agree.)
_LAZY_MODULES: dict[str, tuple[str, ...]] = {
    "engines": ("index_seeds", "open_index"),
    "facets": ("Facets", "FacetValue"),
    "indexing": ("IndexReport", "SkippedFile"),
    "searching": ("Hit", "IndexSearcher", "IndexStats", "SearchResults", "StoredArticle"),
    "seeds": ("Article", "Image", "RelatedArticle", "find_seed_files", "read_seed"),
    "synonyms": ("Synonyms",),
    "urls": ("normalize_url",),
}
_ERRORS = (
    ArticleNotFoundError,
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
    SynonymsError,
)
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}


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

__all__ = sorted([*(error.__name__ for error in _ERRORS), *_LAZY], key=lambda name: (name[0].islower(), name))
