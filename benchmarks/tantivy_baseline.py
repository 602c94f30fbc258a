"""Tantivy peer: the Rust engine behind Quickwit, through its Python binding.

    python benchmarks/tantivy_baseline.py build INDEX PATH... [--processes N]
    python benchmarks/tantivy_baseline.py query INDEX "words" [--topic T] [--since D]
                                                 [--until D] [--limit N] [--json]

It does the same work as the SQLite baseline (``sqlite_baseline.py``), so that
the three engines answer the same question:

* the same articles: every seed, and every entry of a seed's ``related`` list
  once per url (from the first seed in path order that lists it) unless that
  url is a seed itself, parsed by the benchmark's own reader (``seedfile.py``)
  in a pool of ``os.cpu_count()`` processes;
* the same text fields, ``title, excerpt, body, topics, provider``, with
  tantivy's ``en_stem`` tokenizer (split on non-alphanumerics, lower case,
  Snowball English stemmer, no stop words), ranked by tantivy's BM25 with the
  same field boosts as the SQLite baseline's ``bm25()`` weights (title 10,
  excerpt 2, body 1, topics 5, provider 2);
* a query matches all its words and "quoted phrases", each in any field
  (tantivy's query parser with ``conjunction_by_default``); every word or
  phrase is passed quoted, so that nothing a user types is read as tantivy's
  query syntax;
* a topic filter (exact topic name) and a date range (unix seconds UTC, a bare
  ``until`` day inclusive) restrict the match set without scoring;
* exact total (``count=True``), the top hits, and topic / provider / year
  counts over the full match set, by tantivy's ``terms`` aggregations on fast
  fields.  ``segment_size`` is raised above any field's number of values so
  that counts stay exact when the index has several segments (by default
  tantivy trims each segment's buckets, which can undercount).

The writer gets ``os.cpu_count()`` indexing threads and a 512 MB heap in all,
commits once and waits for its merges; the index is written into a fresh
folder that replaces the old one when complete.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import tantivy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlite_baseline import BM25_WEIGHTS, FTS_COLUMNS, day_start  # noqa: E402  (same weights, same bounds)

TOKENIZER = "en_stem"
WRITER_HEAP_BYTES = 512 * 1024 * 1024
# Above the number of distinct values of any facet field, so that each
# segment hands over all its buckets and merged counts are exact.
EXACT_SEGMENT_SIZE = 1_000_000


def make_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("url", stored=True, tokenizer_name="raw")
    for name in FTS_COLUMNS:  # searchable text; the title is stored for the CLI's output
        sb.add_text_field(name, stored=(name == "title"), tokenizer_name=TOKENIZER)
    # Facet and filter fields: exact names as fast columns.
    sb.add_text_field("topic", tokenizer_name="raw", fast=True)
    sb.add_text_field("provider_name", tokenizer_name="raw", fast=True)
    sb.add_integer_field("published", indexed=True, fast=True)
    sb.add_integer_field("year", indexed=True, fast=True)
    return sb.build()


# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------


def _document(url, title, excerpt, body, topic_names, provider, published) -> tantivy.Document:
    doc = tantivy.Document(url=url, title=title, excerpt=excerpt, body=body,
                           topics=" ; ".join(topic_names), provider=provider)
    for name in dict.fromkeys(topic_names):
        doc.add_text("topic", name)
    if provider:
        doc.add_text("provider_name", provider)
    if published is not None:
        doc.add_integer("published", published)
        doc.add_integer("year", datetime.fromtimestamp(published, timezone.utc).year)
    return doc


def build(index_dir: str | Path, paths, processes: int | None = None) -> dict:
    """(Re)build the index folder from seed files and folders; return build stats."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    tmp_dir = index_dir.with_name(index_dir.name + ".building")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)

    # Build-only imports: the query command (the cold CLI figure) is a Python
    # process that opens the index and answers, without YAML or process pools.
    from multiprocessing import Pool

    from seedfile import find_seeds, parse_seed

    files = find_seeds(paths)
    index = tantivy.Index(make_schema(), path=str(tmp_dir))
    writer = index.writer(WRITER_HEAP_BYTES, os.cpu_count() or 1)
    urls: set[str] = set()
    related: dict[str, tuple] = {}  # url -> (entry, seed path): the first listing wins
    counts = {"seeds": 0, "related": 0, "skipped": 0, "duplicates": 0}

    with Pool(processes or os.cpu_count()) as pool:
        for seed in pool.imap(parse_seed, files, chunksize=64):  # in path order
            if seed is None:
                counts["skipped"] += 1
                continue
            if seed.url in urls:  # the URL is the article's identity: first file wins
                counts["duplicates"] += 1
                continue
            urls.add(seed.url)
            counts["seeds"] += 1
            writer.add_document(_document(seed.url, seed.title, seed.excerpt, seed.body, seed.topics,
                                          seed.provider, seed.published))
            for entry in seed.related:
                related.setdefault(entry.url, entry)
    # Related articles last: only now is it known which urls are seeds.
    for url, entry in related.items():
        if url not in urls:
            urls.add(url)
            counts["related"] += 1
            writer.add_document(_document(url, entry.title, entry.excerpt, "", (), entry.provider,
                                          entry.published))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    segments = index.searcher().num_segments

    if index_dir.exists():
        shutil.rmtree(index_dir)
    os.replace(tmp_dir, index_dir)
    size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
    return {"files": len(files), **counts, "total_documents": len(urls), "segments": segments,
            "seconds": time.perf_counter() - started, "bytes": size}


# --------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"[^\W_]+")  # what en_stem's tokenizer keeps: runs of letters and digits


def parser_query(query: str) -> str:
    """newssearch query syntax (words ANDed, "quoted phrases") for tantivy's query parser.

    Every word and phrase is reduced to its alphanumeric runs (all the
    tokenizer would keep) and quoted, so that operators or punctuation typed
    by a user are never read as query syntax.  A word holding punctuation
    ("e-mail") becomes a phrase of its parts, as in FTS5.
    """
    parts = []
    for phrase, word in _TOKEN.findall(query):
        words = _WORD.findall(phrase or word)
        if words:
            parts.append('"' + " ".join(words) + '"')
    return " ".join(parts)


@dataclass
class Result:
    query: str
    total: int
    hits: list[tuple[str, str, float]]  # (url, title, score): higher score is better
    topics: list[tuple[str, int]] = field(default_factory=list)
    providers: list[tuple[str, int]] = field(default_factory=list)
    years: list[tuple[str, int]] = field(default_factory=list)
    took_ms: float = 0.0

    def to_json(self) -> dict:
        facet = lambda pairs: [{"value": v, "count": c} for v, c in pairs]  # noqa: E731
        return {"query": self.query, "total": self.total,
                "hits": [{"rank": i + 1, "url": u, "title": t, "score": s}
                         for i, (u, t, s) in enumerate(self.hits)],
                "facets": {"topics": facet(self.topics), "provider": facet(self.providers),
                           "published": facet(self.years)},
                "took_ms": self.took_ms}


class Reader:
    """An open index and its searcher, as a long-running server would hold them."""

    def __init__(self, index_dir: str | Path) -> None:
        index_dir = Path(index_dir)
        if not (index_dir / "meta.json").is_file():
            raise FileNotFoundError(index_dir)
        self.index = tantivy.Index.open(str(index_dir))
        self.schema = self.index.schema
        self.searcher = self.index.searcher()


def _buckets(agg: dict) -> list[tuple]:
    return [(b["key"], b["doc_count"]) for b in agg.get("buckets", ())]


def search(reader: Reader, query: str, topic: str | None = None, since=None, until=None,
           limit: int = 10, facet_limit: int = 10) -> Result:
    started = time.perf_counter()
    text = parser_query(query)
    if not text:
        return Result(query, 0, [])
    q = reader.index.parse_query(text, list(FTS_COLUMNS), field_boosts=dict(BM25_WEIGHTS),
                                 conjunction_by_default=True)
    filters = []
    if topic:
        filters.append(tantivy.Query.term_query(reader.schema, "topic", topic))
    lo, hi = day_start(since), day_start(until, end=True)
    if lo is not None or hi is not None:
        filters.append(tantivy.Query.range_query(reader.schema, "published", tantivy.FieldType.Integer,
                                                 lo, None if hi is None else hi - 1))
    if filters:  # filters narrow the match set; a zero constant score leaves the ranking alone
        q = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, q)]
            + [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters])

    found = reader.searcher.search(q, limit, count=True)
    hits = []
    for score, address in found.hits:
        doc = reader.searcher.doc(address)
        hits.append((doc.get_first("url"), doc.get_first("title") or "", score))
    terms = lambda name, size: {"terms": {"field": name, "size": size,  # noqa: E731
                                          "segment_size": EXACT_SEGMENT_SIZE}}
    aggs = reader.searcher.aggregate(q, {"topics": terms("topic", facet_limit),
                                         "provider": terms("provider_name", facet_limit),
                                         "years": terms("year", 1000)})
    # Ties in count come out in tantivy's order; the other engines break them by name.
    by_count = lambda pairs: sorted(pairs, key=lambda p: (-p[1], p[0]))  # noqa: E731
    years = sorted((str(int(y)), c) for y, c in _buckets(aggs["years"]))
    return Result(query, found.count, hits, by_count(_buckets(aggs["topics"])),
                  by_count(_buckets(aggs["provider"])), years, (time.perf_counter() - started) * 1000)


# --------------------------------------------------------------------------
# Command line: a fresh process answering one query is the "cold CLI" figure.
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Tantivy peer for the newssearch benchmarks")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="(re)build INDEX from seed files/folders")
    b.add_argument("index")
    b.add_argument("paths", nargs="+")
    b.add_argument("--processes", type=int, default=None)
    q = sub.add_parser("query", help="answer one query with facets")
    q.add_argument("index")
    q.add_argument("query")
    q.add_argument("--topic")
    q.add_argument("--since")
    q.add_argument("--until")
    q.add_argument("--limit", type=int, default=10)
    q.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    if args.command == "build":
        print(json.dumps(build(args.index, args.paths, args.processes)))
        return 0
    try:
        reader = Reader(args.index)
    except FileNotFoundError:
        print(f"error: no tantivy index in {args.index}", file=sys.stderr)
        return 2
    r = search(reader, args.query, args.topic, args.since, args.until, args.limit)
    if args.json:
        print(json.dumps(r.to_json(), ensure_ascii=False))
    else:
        print(f"{r.total} matches")
        for url, title, score in r.hits:
            print(f"{score:8.2f}  {title}\n          {url}")
        for name, pairs in (("topics", r.topics), ("provider", r.providers), ("year", r.years)):
            print(f"{name}: " + ", ".join(f"{v} ({c})" for v, c in pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
