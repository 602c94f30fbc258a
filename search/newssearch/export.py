"""Every match of a search, not one page: CSV and NDJSON exports, and an Atom feed.

``newssearch query --all --format csv|ndjson`` and the HTTP API's
``/api/export`` stream the same rows from :func:`iter_hits`; ``/feed.atom``
is :func:`atom_feed` over the newest matches. Nothing here searches: the
hits come from :meth:`IndexSearcher.search`, page after page.

An export reads one index generation from its first row to its last: a
re-index that lands meanwhile does not shift the pages under it (the
previous generations are kept on disk for readers that are still open, see
:mod:`newssearch.store`). Only one page of hits is held at a time.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from .dates import iso
from .render import to_data
from .searching import MAX_LIMIT, Hit, IndexSearcher, SearchResults
from .store import resolve_index_dir

CSV_COLUMNS = (
    "rank", "score", "title", "url", "provider", "domain", "published",
    "topics", "category", "kind", "related_to", "path", "fragment",
)
# A spreadsheet runs a cell that starts with one of these as a formula
# (CSV injection): such text cells get a leading apostrophe, as OWASP advises.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MARK = re.compile(r"</?mark>")
# Characters XML 1.0 cannot carry at all, even escaped: a seed may hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
ATOM = "http://www.w3.org/2005/Atom"


class _PinnedSearcher(IndexSearcher):
    """A searcher that stays on the generation it opened, so that pages of one export agree."""

    def refresh(self) -> bool:
        return False


def iter_hits(index_dir: str | Path | None, query: str = "", **options: Any) -> Iterator[Hit]:
    """Every hit of a search, in order, one page of :data:`MAX_LIMIT` at a time.

    Takes :meth:`IndexSearcher.search`'s options and ``open_index``'s ``synonyms``; ``limit``, ``page`` and the
    facet options are the export's own and are ignored. Raises what
    ``search`` raises, before the first hit is yielded.
    """
    from .engines import remote_engine

    synonyms = options.pop("synonyms", True)
    engine = remote_engine(index_dir)
    if engine is not None:
        # A remote engine has no generations to pin: its pages follow the collection as a sync changes it.
        remote = engine.open_index(index_dir, synonyms=synonyms)
        limit = min(MAX_LIMIT, getattr(engine, "MAX_PAGE_HITS", MAX_LIMIT))
        yield from _every_page(remote, lambda page: remote.search(query, page=page, **_paged(options, limit)))
        return
    searcher = _PinnedSearcher(resolve_index_dir(index_dir), synonyms=synonyms)
    yield from _every_page(searcher, lambda page: searcher.search(query, page=page, **_paged(options)))


def iter_similar(index_dir: str | Path | None, url: str, **options: Any) -> Iterator[Hit]:
    """Every hit of ``IndexSearcher.similar(url)``, in order, as :func:`iter_hits` gives a search's."""
    searcher = _PinnedSearcher(resolve_index_dir(index_dir), synonyms=False)  # its query is the article's words
    yield from _every_page(searcher, lambda page: searcher.similar(url, page=page, **_paged(options)))


def _paged(options: dict[str, Any], limit: int = MAX_LIMIT) -> dict[str, Any]:
    """``options`` with the export's own paging: pages of ``limit`` hits, no facets."""
    own = {name: value for name, value in options.items() if name not in ("limit", "page", "facet_limit", "date_facet")}
    return {**own, "limit": limit, "facet_limit": 0}


def _every_page(searcher: Any, fetch) -> Iterator[Hit]:
    """The hits of ``fetch(page)`` for pages 1, 2, ... until the last; the searcher is closed at the end."""
    try:
        page = 1
        while True:
            results = fetch(page)
            yield from results.hits
            if not results.hits or results.hits[-1].rank >= results.total:
                return
            page += 1
    finally:
        searcher.close()


def first_and_rest(hits: Iterator[Hit]) -> Iterator[Hit]:
    """Run ``hits`` up to its first item now (so errors come before any output), then go on lazily."""
    try:
        first = next(hits)
    except StopIteration:
        return iter(())

    def chain() -> Iterator[Hit]:
        yield first
        yield from hits

    return chain()


def fragment_text(fragment: str) -> str:
    """A highlight as plain text: marks dropped, entities decoded."""
    return html.unescape(_MARK.sub("", fragment))


def csv_row(hit: Hit) -> list[object]:
    """One CSV row of a hit, in :data:`CSV_COLUMNS` order, safe to open in a spreadsheet."""
    values = [
        hit.rank, "" if hit.score is None else hit.score, hit.title, hit.url, hit.provider, hit.domain,
        iso(hit.published) if hit.published else "", "; ".join(hit.topics), hit.category, hit.kind,
        hit.related_to, hit.path, fragment_text(hit.highlight),
    ]
    return [_defuse(v) if isinstance(v, str) else v for v in values]


def _defuse(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_lines(hits: Iterable[Hit]) -> Iterator[str]:
    """CSV text, a header and then one chunk per hit (RFC 4180: CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for hit in hits:
        writer.writerow(csv_row(hit))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def ndjson_lines(hits: Iterable[Hit]) -> Iterator[str]:
    """One JSON object per line: each the hit exactly as ``--format json`` writes it."""
    for hit in hits:
        yield json.dumps(to_data(hit), ensure_ascii=False) + "\n"


def export_lines(fmt: str, hits: Iterable[Hit]) -> Iterator[str]:
    """The chunks of an export in ``fmt`` (csv or ndjson)."""
    if fmt == "csv":
        return csv_lines(hits)
    if fmt == "ndjson":
        return ndjson_lines(hits)
    raise ValueError(f"export format must be csv or ndjson, not {fmt!r}")


def link_target(url: str) -> str | None:
    """``url`` if it is an http(s) address a page may link to; None for ``javascript:`` and the like."""
    return url if re.match(r"(?i)https?://", url or "") else None


def atom_feed(results: SearchResults, *, feed_url: str, page_url: str, title: str, now: datetime | None = None) -> bytes:
    """An Atom (RFC 4287) document of ``results``' hits: a saved search a feed reader can follow.

    Entries are identified by the article url (a ``urn:sha1:`` of it when it
    is not an http(s) address), so a reader shows each article once.
    """
    ET.register_namespace("", ATOM)
    moments = [h.published for h in results.hits if h.published]
    updated = iso(max(moments)) if moments else iso(now or datetime.now(UTC))
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", feed_url)
    _text(feed, "title", title)
    _text(feed, "updated", updated)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=_xml(feed_url))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=_xml(page_url))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "newssearch")
    _text(feed, "generator", "newssearch")
    for hit in results.hits:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        target = link_target(hit.url)
        _text(entry, "id", target or "urn:sha1:" + hashlib.sha1(hit.url.encode("utf-8")).hexdigest())
        _text(entry, "title", hit.title)
        _text(entry, "updated", iso(hit.published) if hit.published else updated)
        if hit.published:
            _text(entry, "published", iso(hit.published))
        if hit.provider or hit.domain:
            _text(ET.SubElement(entry, f"{{{ATOM}}}author"), "name", hit.provider or hit.domain)
        for topic in hit.topics:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=_xml(topic))
        if target:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=_xml(target))
        # Escaped HTML (matched words in <mark>), escaped once more by the XML writer.
        _text(entry, "content", hit.highlight, type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = _xml(text)
    return element


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
