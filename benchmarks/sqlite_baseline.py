"""SQLite FTS5 baseline: the competitor newssearch is measured against.

    python benchmarks/sqlite_baseline.py build DB PATH... [--processes N]
    python benchmarks/sqlite_baseline.py query DB "words" [--topic T] [--since D]
                                                [--until D] [--limit N] [--json]

It is written the way a competent engineer would do "search with facets" on
plain SQLite, so that the comparison is fair:

* seeds are parsed with libyaml's safe loader in a pool of ``os.cpu_count()``
  processes (the same parallelism newssearch may use), and loaded in one
  transaction into a fresh file that replaces the old one atomically;
* it indexes the same articles as newssearch: every seed, and every entry of
  a seed's ``related`` list (title, excerpt, provider, date; no body, no
  topics) once per url, from the first seed in path order that lists it,
  unless that url is a seed itself;
* text lives in one FTS5 table ``fts(title, excerpt, body, topics, provider)``
  with the ``porter unicode61`` tokenizer (English stemming and case/diacritic
  folding, like newssearch's analyzer), merged with FTS5 ``optimize``;
* ranking is FTS5's ``bm25()`` with column weights **title 10, excerpt 2,
  body 1, topics 5, provider 2**;
* filters and facets use normal tables: ``article`` (url, provider, published
  as unix seconds UTC, year), ``provider``, ``topic`` and ``article_topic``;
* a query matches all its words (FTS5's implicit AND) and "quoted phrases";
  the match set, with filters applied, is materialised once in a temporary
  table, and the exact total, the top hits and the topic / provider / year
  counts are all computed over that full set (``GROUP BY``), not a sample.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bm25() takes one weight per FTS column, in column order.
FTS_COLUMNS = ("title", "excerpt", "body", "topics", "provider")
BM25_WEIGHTS = {"title": 10.0, "excerpt": 2.0, "body": 1.0, "topics": 5.0, "provider": 2.0}
TOKENIZER = "porter unicode61 remove_diacritics 2"

SCHEMA = f"""
CREATE TABLE provider (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, domain TEXT);
CREATE TABLE topic (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE article (
    id INTEGER PRIMARY KEY,          -- = fts.rowid
    url TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,              -- 'seed' or 'related'
    path TEXT NOT NULL,              -- the seed file (that lists it, for a related article)
    provider_id INTEGER REFERENCES provider(id),
    published INTEGER,               -- unix seconds, UTC
    year INTEGER                     -- UTC year of published, for the date facet
);
CREATE TABLE article_topic (
    article_id INTEGER NOT NULL,
    topic_id INTEGER NOT NULL,
    PRIMARY KEY (article_id, topic_id)
) WITHOUT ROWID;
CREATE INDEX article_topic_by_topic ON article_topic (topic_id, article_id);
CREATE INDEX article_by_published ON article (published);
CREATE VIRTUAL TABLE fts USING fts5({", ".join(FTS_COLUMNS)}, tokenize = '{TOKENIZER}');
"""


# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------


def build(db_path: str | Path, paths, processes: int | None = None) -> dict:
    """(Re)build the database from seed files and folders; return build stats."""
    started = time.perf_counter()
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = db_path.with_name(db_path.name + ".building")
    tmp_path.unlink(missing_ok=True)

    # Build-only imports: the query command (the cold CLI figure) is a Python
    # process that opens the index and answers, without YAML or process pools.
    from multiprocessing import Pool

    from seedfile import find_seeds, parse_seed

    files = find_seeds(paths)
    con = sqlite3.connect(tmp_path)
    # A throw-away file that replaces the real one only when complete, so
    # neither a journal nor fsyncs buy anything while loading it.
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.executescript(SCHEMA)

    providers: dict[str, int] = {}
    topics: dict[str, int] = {}
    urls: set[str] = set()
    related: dict[str, tuple] = {}  # url -> (entry, seed path): the first listing wins
    counts = {"seeds": 0, "related": 0, "skipped": 0, "duplicates": 0}
    article_rows, fts_rows, topic_rows = [], [], []

    def flush():
        con.executemany("INSERT INTO article VALUES (?, ?, ?, ?, ?, ?, ?)", article_rows)
        con.executemany(f"INSERT INTO fts (rowid, {', '.join(FTS_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
                        fts_rows)
        con.executemany("INSERT OR IGNORE INTO article_topic VALUES (?, ?)", topic_rows)
        article_rows.clear(), fts_rows.clear(), topic_rows.clear()

    def provider_id(name: str, domain: str) -> int | None:
        pid = providers.get(name)
        if pid is None and name:
            pid = providers[name] = len(providers) + 1
            con.execute("INSERT INTO provider VALUES (?, ?, ?)", (pid, name, domain))
        return pid

    def add(kind, url, path, title, excerpt, body, topic_names, provider, domain, published):
        rowid = len(urls)  # urls already holds this one, so rowids run 1..n
        year = datetime.fromtimestamp(published, timezone.utc).year if published is not None else None
        article_rows.append((rowid, url, kind, path, provider_id(provider, domain), published, year))
        fts_rows.append((rowid, title, excerpt, body, " ; ".join(topic_names), provider))
        for name in dict.fromkeys(topic_names):
            tid = topics.get(name)
            if tid is None:
                tid = topics[name] = len(topics) + 1
                con.execute("INSERT INTO topic VALUES (?, ?)", (tid, name))
            topic_rows.append((rowid, tid))
        if len(article_rows) >= 1000:
            flush()

    con.execute("BEGIN")
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
            add("seed", seed.url, seed.path, seed.title, seed.excerpt, seed.body, seed.topics,
                seed.provider, seed.domain, seed.published)
            for entry in seed.related:
                related.setdefault(entry.url, (entry, seed.path))
    # Related articles last: only now is it known which urls are seeds.
    for url, (entry, path) in related.items():
        if url not in urls:
            urls.add(url)
            counts["related"] += 1
            add("related", url, path, entry.title, entry.excerpt, "", (), entry.provider,
                entry.domain, entry.published)
    flush()
    con.execute("INSERT INTO fts (fts) VALUES ('optimize')")  # one b-tree segment, faster queries
    con.commit()
    con.execute("ANALYZE")
    con.close()
    os.replace(tmp_path, db_path)
    return {"files": len(files), **counts, "total_documents": len(urls),
            "seconds": time.perf_counter() - started, "bytes": db_path.stat().st_size}


# --------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def fts_query(query: str) -> str:
    """newssearch query syntax (words ANDed, "quoted phrases") as an FTS5 expression.

    Every word and phrase becomes an FTS5 string, so operators or punctuation
    typed by a user are searched for instead of being interpreted.
    """
    parts = []
    for phrase, word in _TOKEN.findall(query):
        text = phrase or word
        if re.search(r"\w", text):
            parts.append('"' + text.replace('"', '""') + '"')
    return " ".join(parts)


def day_start(value, end: bool = False) -> int | None:
    """Unix seconds of a since/until bound; a bare day is inclusive (until: whole day)."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 10:
            value = date.fromisoformat(value)
        else:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp()) + (1 if end else 0)
    day = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return int((day + timedelta(days=1 if end else 0)).timestamp())


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


def connect(db_path: str | Path) -> sqlite3.Connection:
    """Open read-only; the per-query scratch table lives in memory."""
    if not Path(db_path).is_file():
        raise FileNotFoundError(db_path)
    con = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
    con.execute("PRAGMA temp_store = MEMORY")
    return con


def search(db: sqlite3.Connection, query: str, topic: str | None = None, since=None, until=None,
           limit: int = 10, facet_limit: int = 10) -> Result:
    started = time.perf_counter()
    expression = fts_query(query)
    if not expression:
        return Result(query, 0, [])
    weights = ", ".join(str(BM25_WEIGHTS[c]) for c in FTS_COLUMNS)
    where, args = ["fts MATCH ?"], [expression]
    lo, hi = day_start(since), day_start(until, end=True)
    if lo is not None:
        where.append("a.published >= ?"), args.append(lo)
    if hi is not None:
        where.append("a.published < ?"), args.append(hi)
    if topic:
        where.append("a.id IN (SELECT at.article_id FROM article_topic at JOIN topic t "
                     "ON t.id = at.topic_id WHERE t.name = ?)")
        args.append(topic)

    db.execute("DROP TABLE IF EXISTS temp.m")
    # The full match set, filters applied, once: every figure below reads it.
    db.execute(f"""CREATE TEMP TABLE m AS
        SELECT a.id AS id, bm25(fts, {weights}) AS score, a.provider_id AS provider_id, a.year AS year
        FROM fts JOIN article a ON a.id = fts.rowid
        WHERE {' AND '.join(where)}""", args)
    total = db.execute("SELECT count(*) FROM m").fetchone()[0]
    # bm25() is "lower is better"; report it negated like other engines' scores.
    # Top k first, then their url and title; CROSS JOIN fixes that order, else
    # the planner may scan the whole fts table to join the titles.
    hits = db.execute("""SELECT a.url, f.title, -top.score
        FROM (SELECT id, score FROM m ORDER BY score, id LIMIT ?) AS top
        CROSS JOIN article a ON a.id = top.id CROSS JOIN fts f ON f.rowid = top.id
        ORDER BY top.score, top.id""", (limit,)).fetchall()
    topics = db.execute("""SELECT t.name, count(*) AS c FROM m
        JOIN article_topic at ON at.article_id = m.id JOIN topic t ON t.id = at.topic_id
        GROUP BY t.id ORDER BY c DESC, t.name LIMIT ?""", (facet_limit,)).fetchall()
    providers = db.execute("""SELECT p.name, count(*) AS c FROM m
        JOIN provider p ON p.id = m.provider_id
        GROUP BY p.id ORDER BY c DESC, p.name LIMIT ?""", (facet_limit,)).fetchall()
    years = db.execute("""SELECT year, count(*) FROM m WHERE year IS NOT NULL
        GROUP BY year ORDER BY year""").fetchall()
    db.execute("DROP TABLE temp.m")
    return Result(query, total, hits, topics, providers, [(str(y), c) for y, c in years],
                  (time.perf_counter() - started) * 1000)


# --------------------------------------------------------------------------
# Command line: a fresh process answering one query is the "cold CLI" figure.
# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="SQLite FTS5 baseline for the newssearch benchmarks")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="(re)build DB from seed files/folders")
    b.add_argument("db")
    b.add_argument("paths", nargs="+")
    b.add_argument("--processes", type=int, default=None)
    q = sub.add_parser("query", help="answer one query with facets")
    q.add_argument("db")
    q.add_argument("query")
    q.add_argument("--topic")
    q.add_argument("--since")
    q.add_argument("--until")
    q.add_argument("--limit", type=int, default=10)
    q.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    if args.command == "build":
        print(json.dumps(build(args.db, args.paths, args.processes)))
        return 0
    with closing(connect(args.db)) as con:
        r = search(con, args.query, args.topic, args.since, args.until, args.limit)
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
