"""The three engines under test, behind one small interface.

Each engine can build an index from a corpus folder, optionally re-index it,
open it for warm queries through its library, and name the command line that
answers one query in a fresh process (the "cold CLI" figure).  Answers are
normalised to ``{"total", "urls", "facets": {"topics", "provider", "published"}}``
with facets as ``[[value, count], ...]`` so that the orchestrator can compare
them without knowing any of the libraries.
"""

from __future__ import annotations

import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIMIT = 10         # hits per query, as a results page would show
FACET_LIMIT = 10   # values per facet


def newssearch_cli() -> list[str]:
    """The installed ``newssearch`` script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("newssearch")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("newssearch")
    return [found] if found else [sys.executable, "-m", "newssearch"]


def cli_filters(q: dict, topic_flag: str = "--topic") -> list[str]:
    args = ["--limit", str(LIMIT)]
    if q.get("topic"):
        args += [topic_flag, q["topic"]]
    if q.get("since"):
        args += ["--since", q["since"]]
    if q.get("until"):
        args += ["--until", q["until"]]
    return args


class Newssearch:
    name = "newssearch"
    target_name = "newssearch-index"   # a folder
    supports_reindex = True

    def build(self, corpus: Path, target: Path) -> dict:
        import newssearch

        started = time.perf_counter()
        report = newssearch.index_seeds([corpus], target, rebuild=True)
        return self._report(report, time.perf_counter() - started)

    def reindex(self, corpus: Path, target: Path) -> dict:
        """Index the same, unchanged corpus again: the cost of "nothing to do"."""
        import newssearch

        started = time.perf_counter()
        report = newssearch.index_seeds([corpus], target, rebuild=False)
        return self._report(report, time.perf_counter() - started)

    @staticmethod
    def _report(report, seconds: float) -> dict:
        out = {"seconds": seconds, "report_seconds": report.seconds, "added": report.added,
               "updated": report.updated, "removed": report.removed,
               "unchanged": report.unchanged, "skipped": len(report.skipped),
               "total_documents": report.total_documents}
        remote = getattr(report, "remote", None)
        if remote is not None:  # what a sync sent to a remote engine
            out["remote"] = {"documents": remote.documents, "upserted": remote.upserted,
                             "deleted": remote.deleted, "checked": remote.checked}
        return out

    @contextmanager
    def open(self, target: Path):
        import newssearch

        with newssearch.open_index(target) as ix:
            def search(q: dict) -> dict:
                r = ix.search(q["query"], topics=[q["topic"]] if q.get("topic") else (),
                              since=q.get("since"), until=q.get("until"), limit=LIMIT,
                              facet_limit=FACET_LIMIT, date_facet="year", collapse=q.get("collapse", True))
                f = r.facets
                return {"total": r.total, "urls": [h.url for h in r.hits],
                        "facets": {name: [[v.value, v.count] for v in values] for name, values in
                                   (("topics", f.topics), ("provider", f.provider),
                                    ("published", f.published))}}
            yield search

    def cold_argv(self, target: Path, q: dict) -> list[str]:
        return newssearch_cli() + ["query", q["query"], "--index-dir", str(target),
                                   "--format", "json"] + cli_filters(q)


class Sqlite:
    name = "sqlite"
    target_name = "sqlite-fts5.db"     # a file
    supports_reindex = False           # it has no incremental mode: a change means a rebuild

    def build(self, corpus: Path, target: Path) -> dict:
        import sqlite_baseline

        started = time.perf_counter()
        stats = sqlite_baseline.build(target, [corpus])
        return {**stats, "seconds": time.perf_counter() - started}

    def reindex(self, corpus: Path, target: Path) -> dict:
        raise NotImplementedError("the SQLite baseline only rebuilds")

    @contextmanager
    def open(self, target: Path):
        import sqlite_baseline

        con = sqlite_baseline.connect(target)
        try:
            def search(q: dict) -> dict:
                r = sqlite_baseline.search(con, q["query"], q.get("topic"), q.get("since"),
                                           q.get("until"), LIMIT, FACET_LIMIT)
                return {"total": r.total, "urls": [u for u, _t, _s in r.hits],
                        "facets": {"topics": [list(p) for p in r.topics],
                                   "provider": [list(p) for p in r.providers],
                                   "published": [list(p) for p in r.years]}}
            yield search
        finally:
            con.close()

    def cold_argv(self, target: Path, q: dict) -> list[str]:
        return [sys.executable, str(HERE / "sqlite_baseline.py"), "query", str(target),
                q["query"], "--json"] + cli_filters(q)


class Tantivy:
    name = "tantivy"
    target_name = "tantivy-index"      # a folder
    supports_reindex = False           # the peer, like SQLite's, only rebuilds

    def build(self, corpus: Path, target: Path) -> dict:
        import tantivy_baseline

        started = time.perf_counter()
        stats = tantivy_baseline.build(target, [corpus])
        return {**stats, "seconds": time.perf_counter() - started}

    def reindex(self, corpus: Path, target: Path) -> dict:
        raise NotImplementedError("the Tantivy peer only rebuilds")

    @contextmanager
    def open(self, target: Path):
        import tantivy_baseline

        reader = tantivy_baseline.Reader(target)

        def search(q: dict) -> dict:
            r = tantivy_baseline.search(reader, q["query"], q.get("topic"), q.get("since"),
                                        q.get("until"), LIMIT, FACET_LIMIT)
            return {"total": r.total, "urls": [u for u, _t, _s in r.hits],
                    "facets": {"topics": [list(p) for p in r.topics],
                               "provider": [list(p) for p in r.providers],
                               "published": [list(p) for p in r.years]}}
        yield search

    def cold_argv(self, target: Path, q: dict) -> list[str]:
        return [sys.executable, str(HERE / "tantivy_baseline.py"), "query", str(target),
                q["query"], "--json"] + cli_filters(q)


class Typesense(Newssearch):
    """newssearch's own library on its Typesense engine: the target is a ``typesense://`` url.

    The same calls as :class:`Newssearch` (``index_seeds``, ``open_index``, ``search``), so the two
    differ only in the engine behind them. Needs a running server and ``$TYPESENSE_API_KEY``
    (``typesense_cluster.py`` starts the servers and sets it).
    """

    name = "typesense"
    target_name = None  # a url, not a file: the orchestrator names it

    def build(self, corpus: Path, target) -> dict:
        """The first sync: a new ledger, every document sent to the (empty) collection.

        Not ``rebuild=True``: that drops and re-creates the collection, and on a cluster the
        engine's next read may reach a node that has not applied the creation yet (see
        ``typesense_cluster.create_collection``).
        """
        import newssearch

        started = time.perf_counter()
        report = newssearch.index_seeds([corpus], target, rebuild=False)
        return self._report(report, time.perf_counter() - started)

    def cold_argv(self, target, q: dict) -> list[str]:
        return newssearch_cli() + ["query", q["query"], "--index", str(target),
                                   "--format", "json"] + cli_filters(q)


ENGINES = {"newssearch": Newssearch(), "sqlite": Sqlite(), "tantivy": Tantivy()}
# Engines that need servers: not in run.py's default set, run by typesense_cluster.py.
REMOTE_ENGINES = {"typesense": Typesense()}
