"""What near-duplicates cost: the index build with and without them, and queries collapsed or not.

    python benchmarks/collapse_cost.py CORPUS WORKDIR [--rounds 2] [--per-kind 20] [--no-build]

Builds CORPUS (from ``make_corpus.py``) into WORKDIR twice per round, with the
signatures and clusters and without (both replaced by no-ops in this
process, which the indexing workers inherit), then runs the benchmark's query
set (``queries.py``: common, two-word, phrase, rare, topic, date and known-item
queries) against the index, alternately ``collapse=True`` and ``False``, and
prints each mode's median and 95th percentile per round. Also times the
clustering step alone on the built index. The figures are in RESULTS.md
("Near-duplicates").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "search"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

import newssearch  # noqa: E402
from newssearch import docvalues, neardup, store, workers  # noqa: E402
from newssearch.codec import segments  # noqa: E402
from newssearch.codec.columns import bytes_column  # noqa: E402
from queries import build_queries  # noqa: E402


def build(corpus: Path, target: Path, with_clusters: bool) -> float:
    real_sign, real_clusters = workers.sign, neardup.clusters
    if not with_clusters:
        workers.sign = lambda documents: None
        neardup.clusters = lambda signatures, usable, url_rank: np.arange(len(signatures), dtype=np.int32)
    try:
        started = time.perf_counter()
        newssearch.index_seeds([corpus], target, rebuild=True)
        return time.perf_counter() - started
    finally:
        workers.sign, neardup.clusters = real_sign, real_clusters


def clustering_seconds(index_dir: Path) -> tuple[float, float, int]:
    gen = store.live_generation(index_dir)
    ix = segments.open_whoosh(gen)
    with ix.reader() as reader:
        segs = [leaf.segment() for leaf, _ in reader.leaf_readers()]
    ix.close()
    started = time.perf_counter()
    sigs, has = neardup.signature_matrix([v for s in segs for v in bytes_column(gen, s, "minhash")])
    read = time.perf_counter() - started
    values = docvalues.DocValues.load(gen)
    started = time.perf_counter()
    neardup.clusters(sigs, has & values.live, values.url_rank)
    return read, time.perf_counter() - started, int(values.clustered().sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--per-kind", type=int, default=20)
    ap.add_argument("--no-build", action="store_true", help="only the queries, on WORKDIR/index as it is")
    args = ap.parse_args(argv)
    index_dir = args.workdir / "index"
    for r in range(0 if args.no_build else args.rounds):
        without = build(args.corpus, args.workdir / "plain", with_clusters=False)
        with_ = build(args.corpus, index_dir, with_clusters=True)
        print(f"round {r}: build {with_:.1f} s with near-duplicates, {without:.1f} s without", flush=True)
    read, cluster, clustered = clustering_seconds(index_dir)
    print(f"signatures read {read:.2f} s, clustered {cluster:.2f} s: {clustered} articles in clusters of 2 or more")
    queries = build_queries(args.corpus, args.per_kind)
    with newssearch.open_index(index_dir) as ix:
        def options(q: dict) -> dict:
            return {"topics": [q["topic"]] if q.get("topic") else (), "since": q.get("since"), "until": q.get("until")}

        for q in queries:
            ix.search(q["query"], **options(q))
        for r in range(args.rounds * 2):
            times: dict[bool, list[float]] = {True: [], False: []}
            for q in queries:
                for mode in (True, False) if r % 2 == 0 else (False, True):
                    started = time.perf_counter()
                    ix.search(q["query"], collapse=mode, **options(q))
                    times[mode].append((time.perf_counter() - started) * 1000)
            line = []
            for mode in (True, False):
                t = sorted(times[mode])
                line.append(f"{'collapse' if mode else 'every copy'}: p50 {statistics.median(t):.2f} ms, "
                            f"p95 {t[int(0.95 * len(t))]:.2f} ms")
            print(f"queries round {r} ({len(queries)} queries): " + "; ".join(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
