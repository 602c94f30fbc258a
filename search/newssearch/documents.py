"""From an :class:`~newssearch.seeds.Article` to an index document, and back from what the index stores.

:mod:`newssearch.schema` declares the fields; this module fills them. Every
document stores one field for display and for rebuilding it, ``payload``
(a :class:`Payload`): the search results are read from it, segments are
merged from it, and a seed file that stops parsing is kept from it.

A module of its own, next to the schema, because the schema imports Whoosh
and this does not: the indexer maps seeds to documents in a run that may
never need Whoosh at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from .dates import from_iso, iso, to_timestamp
from .store import KIND_RELATED, KIND_SEED, NO_DATE
from .urls import normalize_url

if TYPE_CHECKING:  # the searcher reads payloads without importing the seed reader (and YAML)
    from .seeds import Article, RelatedArticle

# A seed's related entries, as stored: [url, title, excerpt, provider, domain, published].
StoredRelated = list[Any]


class Payload(TypedDict):
    """The stored fields of one document: everything shown for a hit, and enough to rebuild it."""

    kind: str  # KIND_SEED or KIND_RELATED
    url: str
    title: str
    excerpt: str
    body: str  # "" for a related article
    topics: list[str]
    provider: str
    domain: str
    published: str | None  # as dates.iso writes it
    category: str
    path: str  # the seed file (for a related article, the file of the seed listing it)
    related_to: str  # a related article's seed url; "" for a seed
    # A seed's related entries (see StoredRelated): what a kept version of a file that no
    # longer parses needs to stand in for it. Lists, not payloads: they add a tenth to the
    # stored fields, not a fifth. Absent when the seed lists none.
    related: NotRequired[list[StoredRelated]]


def seed_document(article: Article, *, signed: bool = True) -> dict[str, Any]:
    """The Whoosh document of a seed. Without ``signed`` its ``minhash`` is left for :func:`sign`."""
    return _document(
        signed=signed,
        kind=KIND_SEED,
        url=article.url,
        title=article.title,
        excerpt=article.excerpt,
        body=article.body,
        topics=article.topics,
        provider=article.provider,
        domain=article.domain,
        published=article.published,
        category=article.category,
        path=article.path,
        related_to="",
        related=[
            [r.url, r.title, r.excerpt, r.provider, r.domain, iso(r.published) if r.published else None]
            for r in article.related
        ],
    )


def related_document(entry: RelatedArticle, seed_path: str, seed_url: str, *, signed: bool = True) -> dict[str, Any]:
    """The Whoosh document of a related article; it names the seed that listed it."""
    return _document(
        signed=signed,
        kind=KIND_RELATED,
        url=entry.url,
        title=entry.title,
        excerpt=entry.excerpt,
        body="",
        topics=(),
        provider=entry.provider,
        domain=entry.domain,
        published=entry.published,
        category="",
        path=seed_path,
        related_to=seed_url,
        related=(),
    )


def _document(*, signed=True, kind, url, title, excerpt, body, topics, provider, domain, published, category, path, related_to, related):
    topics_text = " ; ".join(topics)
    payload: Payload = {
        "kind": kind,
        "url": url,
        "title": title,
        "excerpt": excerpt,
        "body": body,
        "topics": list(topics),
        "provider": provider,
        "domain": domain,
        "published": iso(published) if published is not None else None,
        "category": category,
        "path": path,
        "related_to": related_to,
    }
    if related:
        payload["related"] = list(related)
    return {
        # The identity (see newssearch.urls): the payload keeps the url as the seed wrote it.
        "url": normalize_url(url),
        "kind": kind,
        "title": title,
        "excerpt": excerpt,
        "body": body,
        "topics": topics_text,
        "provider": provider,
        "topic_facet": ",".join(topics),
        "provider_facet": provider,
        "category": category,
        "published": to_timestamp(published) if published is not None else NO_DATE,
        "minhash": _signature(title, excerpt) if signed else b"",
        "payload": payload,
    }


def sign(documents: list[dict[str, Any]]) -> None:
    """Fill the ``minhash`` signature of a batch of documents, computed for the batch at once
    (:func:`newssearch.neardup.signatures`): what ``signed=True`` does one document at a time."""
    from .neardup import signatures

    for document, value in zip(documents, signatures([(d["title"], d["excerpt"]) for d in documents])):
        document["minhash"] = value


def _signature(title: str, excerpt: str) -> bytes:
    from .neardup import signature  # NumPy: imported by a run that writes, not by one that finds nothing to do

    return signature(title, excerpt)


def document_from_payload(payload: Payload, *, signed: bool = True) -> dict[str, Any]:
    """The Whoosh document of an article, rebuilt from its stored payload (to merge segments)."""
    return _document(
        signed=signed,
        kind=payload["kind"],
        url=payload["url"],
        title=payload["title"],
        excerpt=payload["excerpt"],
        body=payload["body"],
        topics=tuple(payload["topics"]),
        provider=payload["provider"],
        domain=payload["domain"],
        published=from_iso(payload.get("published")),
        category=payload["category"],
        path=payload["path"],
        related_to=payload["related_to"],
        related=payload.get("related", ()),
    )


def related_from_payload(payload: Payload) -> list[RelatedArticle]:
    """The related entries a seed's stored payload lists, in file order."""
    from .seeds import RelatedArticle

    return [
        RelatedArticle(url=url, title=title, excerpt=excerpt, provider=provider, domain=domain, published=from_iso(published))
        for url, title, excerpt, provider, domain, published in payload.get("related", ())
    ]


def shown_fields(payload: Payload) -> dict[str, Any]:
    """What a search hit shows of a document: :class:`newssearch.searching.Hit`'s stored fields.

    Lenient with missing fields but the title and url, which every document has.
    """
    published: datetime | None = from_iso(payload.get("published"))
    return {
        "title": payload["title"],
        "url": payload["url"],
        "provider": payload.get("provider", ""),
        "domain": payload.get("domain", ""),
        "published": published,
        "topics": tuple(payload.get("topics", ())),
        "category": payload.get("category", ""),
        "path": payload.get("path", ""),
        "kind": payload.get("kind", ""),
        "related_to": payload.get("related_to", ""),
    }
