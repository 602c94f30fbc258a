"""One measured phase of one engine, run in its own process by ``run.py``.

    python benchmarks/phases.py ENGINE build   CORPUS TARGET
    python benchmarks/phases.py ENGINE reindex CORPUS TARGET
    python benchmarks/phases.py ENGINE change  CORPUS TARGET [--fraction F]
    python benchmarks/phases.py ENGINE query   TARGET QUERIES.json [--repeats R]

A phase per process gives each one its own peak-memory figure (reported by
the phase itself, see ``measure.peak_rss_bytes``), and keeps one
engine's caches and allocations from flattering or hurting the other.  The
result is printed as a single JSON line on stdout.

The query phase opens the index once, answers every query once (warm-up; these
answers are the ones reported), then times ``repeats`` more rounds over the
whole set, round-robin so that no query runs right after itself.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engines import ENGINES, REMOTE_ENGINES  # noqa: E402
from measure import peak_rss_bytes  # noqa: E402
from queries import read_queries  # noqa: E402


def query_phase(engine, target: Path, queries: list[dict], repeats: int) -> dict:
    started = time.perf_counter()
    with engine.open(target) as search:
        opened = time.perf_counter() - started
        answers = [search(q) for q in queries]
        latencies: list[list[float]] = [[] for _ in queries]
        cpu = time.process_time()
        for _ in range(repeats):
            for i, q in enumerate(queries):
                t = time.perf_counter()
                search(q)
                latencies[i].append((time.perf_counter() - t) * 1000)
        cpu = time.process_time() - cpu
    return {"open_seconds": opened, "answers": answers, "latencies_ms": latencies,
            "timed_cpu_seconds": cpu}


CHANGE_NOTE = "\n\nUpdate: this article was revised after publication.\n"


def changed_files(corpus: Path, fraction: float) -> list[Path]:
    """Every ``1/fraction``-th seed file of ``corpus`` in path order: the files the change phase edits."""
    from newssearch import find_seed_files  # the indexer's own idea of what a seed file is

    step = max(1, round(1 / fraction))
    return [Path(f.path) for f in find_seed_files([corpus])[step // 2 :: step]]


def change_phase(engine, corpus: Path, target, fraction: float) -> dict:
    """Edit ``fraction`` of the files (a revision note appended to the body), re-index, and put
    every file back as it was, bytes and times, however the re-index ends. (Only a run killed
    in between leaves the note in those files: ``make_corpus.py`` makes the corpus again.)"""
    chosen = changed_files(corpus, fraction)
    originals = {path: (path.read_bytes(), path.stat()) for path in chosen}
    try:
        for path in chosen:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(CHANGE_NOTE)
        out = engine.reindex(corpus, target)
    finally:
        for path, (data, st) in originals.items():
            path.write_bytes(data)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    out["changed_files"] = len(chosen)
    return out


def cpu_seconds() -> float:
    """User and system CPU time of this process and its reaped children (a build's parse workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def location(text: str) -> Path | str:
    """A folder or file, or a remote engine's url kept as it is (a Path would fold its ``//``)."""
    return text if "://" in text else Path(text)


def main(argv: list[str] | None = None) -> int:
    engines = {**ENGINES, **REMOTE_ENGINES}
    ap = argparse.ArgumentParser()
    ap.add_argument("engine", choices=sorted(engines))
    ap.add_argument("phase", choices=("build", "reindex", "change", "query"))
    ap.add_argument("first", type=location, help="CORPUS for build/reindex, TARGET for query")
    ap.add_argument("second", type=location, help="TARGET for build/reindex, QUERIES.json for query")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fraction", type=float, default=0.01, help="of the files the change phase edits")
    args = ap.parse_args(argv)
    engine = engines[args.engine]
    if args.phase == "build":
        out = engine.build(args.first, args.second)
    elif args.phase == "reindex":
        out = engine.reindex(args.first, args.second)
    elif args.phase == "change":
        out = change_phase(engine, args.first, args.second, args.fraction)
    else:
        out = query_phase(engine, args.first, read_queries(args.second), args.repeats)
    out["peak_rss_bytes"] = peak_rss_bytes()
    out["cpu_seconds"] = cpu_seconds()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
