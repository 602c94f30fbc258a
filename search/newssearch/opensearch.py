"""The index as files OpenSearch and Elasticsearch load: a mapping, and the articles as ``_bulk`` NDJSON.

``newssearch export --format opensearch OUT/`` writes, from the index (not
from the seed files, so what is exported is what newssearch searches):

* ``mapping.json``: the body of ``PUT /<index>``. Text fields go through an
  ``news`` analyzer close to newssearch's own: the standard tokenizer, lower
  case, ASCII folding (accents), and Snowball's English stemmer (``porter2``,
  the stemmer newssearch indexes with). Topics, provider, domain, category,
  kind and url are ``keyword`` fields for exact filters and facets (topics and
  provider also searchable as text through a ``.text`` sub-field);
  ``published`` is a ``date`` in UTC.
* ``bulk-0001.ndjson``, ``bulk-0002.ndjson``, ...: ``index`` actions, each
  file under :data:`MAX_BULK_BYTES` (OpenSearch's guidance for a ``_bulk``
  request is 5 to 15 MB), loadable with
  ``curl -H 'Content-Type: application/x-ndjson' -XPOST HOST/_bulk --data-binary @bulk-0001.ndjson``.

A document's ``_id`` is its url when that fits the 512-byte limit of an
``_id``, else ``sha1:`` and the url's SHA-1 (the url itself is in the ``url``
field either way; newssearch refuses urls over 8,000 characters, so a url
always fits a keyword term). README's "OpenSearch and Elasticsearch" section
has the commands and the queries that match newssearch's (multi-select facets
with ``post_filter`` and aggregations, the date histogram).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .dates import iso
from .engines import open_index
from .errors import NewssearchError, QueryError
from .searching import StoredArticle

DEFAULT_INDEX = "newssearch"
MAX_BULK_BYTES = 10_000_000
MAX_ID_BYTES = 512  # OpenSearch's and Elasticsearch's limit on a document _id
MAPPING_FILE = "mapping.json"
_INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,254}")


@dataclass(frozen=True)
class OpenSearchExport:
    """What :func:`export` wrote: the folder, the files (mapping first) and how many articles."""

    folder: Path
    files: tuple[Path, ...]
    articles: int


def mapping() -> dict[str, Any]:
    """The index settings and mappings, the body of ``PUT /<index>``."""
    text = {"type": "text", "analyzer": "news"}
    keyword = {"type": "keyword"}
    return {
        "settings": {
            "analysis": {
                "filter": {"english_snowball": {"type": "stemmer", "language": "porter2"}},
                "analyzer": {
                    "news": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding", "english_snowball"],
                    },
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "url": keyword,
                "title": text,
                "excerpt": text,
                "body": text,
                "topics": {**keyword, "fields": {"text": text}},
                "provider": {**keyword, "fields": {"text": text}},
                "domain": keyword,
                "category": keyword,
                "kind": keyword,
                "related_to": keyword,
                "published": {"type": "date", "format": "strict_date_optional_time"},
            },
        },
    }


def document_id(url: str) -> str:
    """The ``_id`` of an article: its url, or ``sha1:<hex>`` when the url is longer than an _id may be."""
    if len(url.encode("utf-8")) <= MAX_ID_BYTES:
        return url
    return "sha1:" + hashlib.sha1(url.encode("utf-8")).hexdigest()


def document(article: StoredArticle) -> dict[str, Any]:
    """An article as an OpenSearch document (``published`` in UTC, or left out when the article has no date)."""
    doc: dict[str, Any] = {
        "url": article.url,
        "title": article.title,
        "excerpt": article.excerpt,
        "body": article.body,
        "topics": list(article.topics),
        "provider": article.provider,
        "domain": article.domain,
        "category": article.category,
        "kind": article.kind,
        "related_to": article.related_to,
    }
    if article.published is not None:
        doc["published"] = iso(article.published)
    return doc


def bulk_lines(articles: Iterable[StoredArticle], index: str = DEFAULT_INDEX) -> Iterator[bytes]:
    """The ``_bulk`` NDJSON of ``articles``: an ``index`` action line, then the document line, each ending in a newline."""
    for article in articles:
        action = {"index": {"_index": index, "_id": document_id(article.url)}}
        # ensure_ascii keeps every line free of raw line separators whatever the text holds.
        yield (json.dumps(action, ensure_ascii=True) + "\n" + json.dumps(document(article), ensure_ascii=True)
               + "\n").encode("ascii")


def export(index_dir: str | Path | None, out: str | Path, *, index: str = DEFAULT_INDEX,
           max_bytes: int = MAX_BULK_BYTES) -> OpenSearchExport:
    """Write ``mapping.json`` and the ``_bulk`` files of every article of the index into the folder ``out``.

    ``out`` is created if missing; the bulk files of an earlier export there
    are replaced, other files are left alone. Raises
    :class:`~newssearch.errors.QueryError` for an index name OpenSearch would
    refuse, and :class:`~newssearch.errors.NewssearchError` (one line naming
    ``out``) when the folder cannot be written.
    """
    if not _INDEX_NAME.fullmatch(index):
        raise QueryError(f"index name {index!r}: lower-case letters, digits, '-', '_' and '.', "
                         "not starting with '-', '_' or '+' (OpenSearch's rule)")
    folder = Path(out)
    with open_index(index_dir, synonyms=False) as searcher:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob("bulk-*.ndjson"):
                stale.unlink()
            written = [_write(folder / MAPPING_FILE, [(json.dumps(mapping(), indent=2) + "\n").encode("ascii")])]
            count = 0
            chunk: list[bytes] = []
            size = 0
            for line in bulk_lines(searcher.articles(), index):
                if chunk and size + len(line) > max_bytes:
                    written.append(_write(folder / f"bulk-{len(written):04d}.ndjson", chunk))
                    chunk, size = [], 0
                chunk.append(line)
                size += len(line)
                count += 1
            if chunk:
                written.append(_write(folder / f"bulk-{len(written):04d}.ndjson", chunk))
        except OSError as exc:
            raise NewssearchError(f"cannot write the export to {folder}: {exc.strerror or exc}") from None
    return OpenSearchExport(folder, tuple(written), count)


def _write(path: Path, lines: list[bytes]) -> Path:
    """Write ``path`` whole or not at all: a temporary file renamed over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.writelines(lines)
    os.replace(temporary, path)
    return path

