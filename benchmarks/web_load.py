"""Load test of ``newssearch serve`` against a stdlib SQLite endpoint doing the same work.

    python benchmarks/web_load.py --size 2000 --clients 32 --seconds 30 [--json OUT]

Both servers answer ``GET /api/search?q=...[&topic=...]`` with the exact
total, the top 10 hits and the topic, provider and year counts of the whole
match set, on loopback. For each engine in turn:

1. a fresh server process is started on a free port;
2. a re-indexer process rebuilds that engine's index over and over, every
   other round with 10 % more seeds (newssearch: ``newssearch index``, an
   incremental update that publishes a new generation; SQLite: the
   baseline's ``build``, a fresh file swapped in atomically, which the
   endpoint notices and reopens);
3. ``--clients`` threads in this process send queries over keep-alive
   connections for ``--seconds``. Every answer must be HTTP 200 and
   consistent: the year histogram sums to the total (every generated article
   is dated), whatever generation it came from. ``newssearch-page`` loads
   the HTML search page instead and checks that its bars sum to its total.

Printed: requests per second, p50/p95 latency, errors, inconsistent answers,
and the server's peak memory (its process tree's RSS, sampled every 50 ms).

The SQLite endpoint (``sqlite-server`` below) is what a competent engineer
would write with the standard library alone: ``ThreadingHTTPServer``, one
connection per thread, reopened when the database file is replaced, and the
baseline's search (FTS5 ``bm25()``, a temporary match table, ``GROUP BY``
facets). It does no highlighting, which newssearch does for every hit shown.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import TreeMemory, percentile  # noqa: E402


# -- the SQLite endpoint ----------------------------------------------------------


def sqlite_server(db_path: str, port: int) -> None:
    """Serve the baseline's search as JSON until killed."""
    import sqlite3
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlparse

    import sqlite_baseline

    local = threading.local()

    def connection() -> sqlite3.Connection:
        # The builder replaces the file atomically: a new inode is a new index.
        inode = os.stat(db_path).st_ino
        if getattr(local, "inode", None) != inode:
            if getattr(local, "db", None) is not None:
                local.db.close()
            local.db, local.inode = sqlite_baseline.connect(db_path), inode
        return local.db

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without this, Nagle's algorithm
            # and the client's delayed ACK add 40 ms to every keep-alive answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            url = urlparse(self.path)
            if url.path != "/api/search":
                self.send_error(404)
                return
            args = parse_qs(url.query)
            try:
                result = sqlite_baseline.search(connection(), args.get("q", [""])[0], topic=args.get("topic", [None])[0])
                body = json.dumps({
                    "total": result.total,
                    "hits": [{"url": u, "title": t, "score": s} for u, t, s in result.hits],
                    "facets": {
                        "topics": [{"value": v, "count": c} for v, c in result.topics],
                        "provider": [{"value": v, "count": c} for v, c in result.providers],
                        "published": [{"value": v, "count": c} for v, c in result.years],
                    },
                }).encode()
                status = 200
            except Exception as exc:  # noqa: BLE001 - reported to the client, counted as an error
                body, status = json.dumps({"error": str(exc)}).encode(), 500
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on {port}", flush=True)
    server.serve_forever()


# -- the harness ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/search?q=the")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no server answered on port {port}")


def queries(corpus: Path, count: int, seed: int = 7) -> list[dict]:
    """Queries drawn from the benchmark's query set (see queries.py): words, pairs, phrases, topics."""
    from queries import build_queries

    drawn = [q for q in build_queries(corpus, per_kind=count, seed=seed) if q["kind"] in ("common", "two", "phrase", "rare", "topic")]
    # Every copy (collapse=false): the SQLite endpoint knows no near-duplicates, and with collapse a
    # story whose copies fall in two years counts in both, so the bars need not sum to the total.
    return [{"q": q["query"], **({"topic": q["topic"]} if q.get("topic") else {}), "collapse": "false"} for q in drawn]


def reindexer(engine: str, corpus: Path, extra: Path, target: Path, stop: threading.Event, rounds: list[int]) -> None:
    """Rebuild the engine's index in a loop, alternately with and without the extra seeds."""
    parked = extra.parent / (extra.name + ".parked")
    with_extra = False
    while not stop.is_set():
        if with_extra:
            parked.rename(extra) if parked.exists() else None
        elif extra.exists():
            extra.rename(parked)
        if engine.startswith("newssearch"):
            argv = [sys.executable, "-m", "newssearch", "index", str(corpus), "--index-dir", str(target), "--quiet", "--workers", "1"]
        else:
            argv = [sys.executable, str(HERE / "sqlite_baseline.py"), "build", str(target), str(corpus), "--processes", "1"]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        rounds[0] += 1
        with_extra = not with_extra


_BAR = re.compile(r'aria-label="[^"]*: ([\d,]+) articles"')
_RANGE = re.compile(r"of ([\d,]+)</strong>")


def check_page(body: bytes) -> tuple[int, int] | None:
    """(total, sum of the histogram's bars) of a search page, or None for a page without results."""
    text = body.decode("utf-8")
    found = _RANGE.search(text)
    if found is None:
        return None
    return int(found.group(1).replace(",", "")), sum(int(b.replace(",", "")) for b in _BAR.findall(text))


def load(port: int, work: list[dict], clients: int, seconds: float, path: str = "/api/search") -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    inconsistent: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < deadline:
            params = rng.choice(work)
            started = time.perf_counter()
            try:
                conn.request("GET", path + "?" + urlencode(params))
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors.append(f"HTTP {response.status}: {body[:200]!r}")
                continue
            if path == "/":
                figures = check_page(body)
                if figures is not None and figures[0] != figures[1]:
                    with lock:
                        inconsistent.append(f"page {params}: total {figures[0]}, bars {figures[1]}")
                continue
            data = json.loads(body)
            years = sum(v["count"] for v in data["facets"]["published"])
            if years != data["total"] or len(data["hits"]) > data["total"]:
                with lock:
                    inconsistent.append(f"{params}: total {data['total']}, years {years}, hits {len(data['hits'])}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95) * 1000, 1) if latencies else None,
        "errors": len(errors),
        "inconsistent": len(inconsistent),
        "examples": (errors + inconsistent)[:5],
    }


def run_engine(engine: str, work_dir: Path, corpus: Path, extra: Path, work: list[dict], clients: int, seconds: float,
               serve_workers: int = 1) -> dict:
    port = free_port()
    if engine.startswith("newssearch"):
        target = work_dir / "index"
        subprocess.run([sys.executable, "-m", "newssearch", "index", str(corpus), "--index-dir", str(target), "--quiet"], check=True)
        argv = [sys.executable, "-m", "newssearch", "serve", "--index-dir", str(target), "--port", str(port),
                "--workers", str(serve_workers)]
    else:
        target = work_dir / "sqlite.db"
        subprocess.run([sys.executable, str(HERE / "sqlite_baseline.py"), "build", str(target), str(corpus)], check=True,
                       stdout=subprocess.DEVNULL)
        argv = [sys.executable, __file__, "sqlite-server", str(target), str(port)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    memory = TreeMemory(server.pid)
    stop = threading.Event()
    rounds = [0]
    try:
        wait_ready(port)
        memory.start()
        indexer = threading.Thread(target=reindexer, args=(engine, corpus, extra, target, stop, rounds))
        indexer.start()
        result = load(port, work, clients, seconds, path="/" if engine == "newssearch-page" else "/api/search")
        stop.set()
        indexer.join()
        memory.stop()
    finally:
        stop.set()
        server.terminate()
        server.wait(30)
    result.update(engine=engine if serve_workers == 1 or not engine.startswith("newssearch") else f"{engine} x{serve_workers}", reindex_rounds=rounds[0], peak_rss_mb=round(memory.peak / 2**20, 1))
    return result


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["sqlite-server"]:
        sqlite_server(argv[1], int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000, help="seeds in the corpus")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--engines", default="newssearch,sqlite,newssearch-page",
                        help="newssearch (its JSON API), sqlite, newssearch-page (the HTML search page)")
    parser.add_argument("--workers", type=int, default=1, help="newssearch serve --workers")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    work_dir = Path(tempfile.mkdtemp(prefix="web-load-"))
    try:
        corpus = work_dir / "seeds"
        staging = work_dir / "staging"
        extra_count = max(1, args.size // 10)
        subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(staging), str(args.size + extra_count), "--seed", "5"],
                       check=True, stdout=subprocess.DEVNULL)
        files = sorted(staging.glob("*.txt"))
        corpus.mkdir()
        extra = corpus / "extra"
        extra.mkdir()
        for i, f in enumerate(files):
            f.rename((extra if i >= args.size else corpus) / f.name)
        work = queries(corpus, 40)
        results = []
        for engine in args.engines.split(","):
            engine_dir = work_dir / engine
            engine_dir.mkdir()
            parked = corpus / "extra.parked"
            if parked.exists():
                parked.rename(extra)
            results.append(run_engine(engine, engine_dir, corpus, extra, work, args.clients, args.seconds, args.workers))
            print(json.dumps(results[-1]), flush=True)
        figures = {"size": args.size, "clients": args.clients, "seconds": args.seconds, "queries": len(work), "results": results}
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print()
        print(f"| engine | requests/s | p50 ms | p95 ms | errors | inconsistent | re-index rounds | server peak RSS |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in results:
            print(f"| {r['engine']} | {r['rps']:,} | {r['p50_ms']} | {r['p95_ms']} | {r['errors']} | {r['inconsistent']} "
                  f"| {r['reindex_rounds']} | {r['peak_rss_mb']} MB |")
        return 0 if all(r["errors"] == 0 and r["inconsistent"] == 0 for r in results) else 1
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
