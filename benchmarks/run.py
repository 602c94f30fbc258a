"""Run the newssearch benchmark suite against its peers, SQLite FTS5 and Tantivy.

    python benchmarks/run.py [--size N | --corpus DIR] [--workdir DIR]
                             [--queries-per-kind K | --queries FILE] [--repeats R] [--cold-queries C]
                             [--engines newssearch,sqlite,tantivy]
                             [--out RESULTS.json] [--markdown FILE]

Steps, all on the same corpus and the same query set:

1. generate the corpus (``make_corpus.py``; reused when already there) or take
   ``--corpus DIR`` (known items from ``DIR.known.json`` when it exists);
2. draw the query set (``queries.py``);
3. per engine, each phase in a fresh child process (for its own peak RSS):
   full build into an empty target, no-op re-index (newssearch only; the
   peers can only rebuild), warm queries through the library;
4. cold CLI queries: one new process per query, engines interleaved;
5. report every figure with the ratios newssearch / SQLite and newssearch /
   Tantivy (those of the engines that ran), as a table on
   stdout, as JSON (``--out``) and optionally as markdown (``--markdown``: the
   table between the result markers of that file is replaced, or the file is
   written).

Nothing is cached between the measured runs except what the OS page cache and
each engine's own open index hold, the same for all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402
from engines import ENGINES  # noqa: E402
from measure import disk_bytes, fmt, lookup, percentile, ratio, run_child  # noqa: E402
from queries import KINDS, build_queries, read_queries, write_queries  # noqa: E402

MARK_START = "<!-- benchmark-results:start -->"
MARK_END = "<!-- benchmark-results:end -->"
# The engines of a run in table order, and the peers newssearch gets a ratio against.
TITLES = {"newssearch": "newssearch", "sqlite": "SQLite FTS5", "tantivy": "Tantivy"}
PEERS = {"sqlite": ("ratios", "SQLite"), "tantivy": ("ratios_tantivy", "Tantivy")}
PHASE_TIMEOUT = 3 * 3600  # a hung phase must not hang the suite forever


# --------------------------------------------------------------------------
# Preparing the inputs
# --------------------------------------------------------------------------


def prepare_corpus(args) -> tuple[Path, list[dict]]:
    if args.corpus:
        corpus = args.corpus.resolve()
        known_file = make_corpus.known_path(corpus)
        known = json.loads(known_file.read_text()) if known_file.exists() else []
        return corpus, known
    corpus = (args.workdir / f"corpus-{args.size}-s{args.seed}").resolve()
    known_file = make_corpus.known_path(corpus)
    if known_file.exists() and corpus.is_dir() and len(os.listdir(corpus)) == args.size:
        log(f"reusing corpus {corpus}")
    else:
        log(f"generating {args.size} seeds into {corpus}")
        make_corpus.generate(corpus, args.size, args.seed, force=True)
    return corpus, json.loads(known_file.read_text())


def warm_page_cache(corpus: Path) -> int:
    """Read every file once, so that no build pays for disk reads another does not."""
    total = 0
    for p in corpus.rglob("*"):
        if p.is_file():
            total += len(p.read_bytes())
    return total


CHANGE_FRACTION = 0.01  # of the files the change phase edits (phases.py's default)


def phase(engine: str, name: str, *args, repeats: int | None = None):
    argv = [sys.executable, str(HERE / "phases.py"), engine, name, *map(str, args)]
    if repeats is not None:
        argv += ["--repeats", str(repeats)]
    run = run_child(argv, timeout=PHASE_TIMEOUT)
    out = run.json()
    out["tree_peak_rss_bytes"] = run.tree_peak_rss_bytes
    return out


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


def measure_engine(engine, corpus: Path, workdir: Path, queries_file: Path, queries: list[dict],
                   repeats: int) -> dict:
    target = workdir / engine.target_name
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()

    log(f"{engine.name}: build")
    build = phase(engine.name, "build", corpus, target)
    out = {"build_s": build["seconds"], "build": build, "build_peak_rss_bytes": build["peak_rss_bytes"],
           "build_tree_peak_rss_bytes": build["tree_peak_rss_bytes"],
           "index_bytes": disk_bytes(target), "noop_reindex_s": None}
    if engine.supports_reindex:
        log(f"{engine.name}: no-op re-index")
        reindex = phase(engine.name, "reindex", corpus, target)
        out["noop_reindex_s"] = reindex["seconds"]
        out["reindex"] = reindex

    log(f"{engine.name}: {len(queries)} warm queries x {repeats + 1}")
    result = phase(engine.name, "query", target, queries_file, repeats=repeats)
    out["query_peak_rss_bytes"] = result["peak_rss_bytes"]
    out["open_s"] = result["open_seconds"]
    out["answers"] = result["answers"]

    samples: dict[str, list[float]] = {}
    for q, lat in zip(queries, result["latencies_ms"]):
        samples.setdefault(q["kind"], []).extend(lat)
        samples.setdefault("overall", []).extend(lat)
    out["warm_ms"] = {kind: {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": len(v)}
                      for kind, v in samples.items()}

    ranks = []
    for q, answer in zip(queries, result["answers"]):
        if q["kind"] == "known":
            urls = answer["urls"][:10]
            ranks.append(urls.index(q["url"]) + 1 if q["url"] in urls else None)
    if engine.supports_reindex:  # last: the index then holds the edited files (the corpus is put back)
        log(f"{engine.name}: re-index after {CHANGE_FRACTION:.0%} of the files changed")
        change = phase(engine.name, "change", corpus, target)
        out["change"] = change
        out["change_reindex_s"] = change["seconds"]
        out["noop_over_build"] = out["noop_reindex_s"] / out["build_s"]
        out["change_over_build"] = change["seconds"] / out["build_s"]
    out["known_total"] = len(ranks)
    out["known_found"] = sum(r is not None for r in ranks)
    out["mrr10"] = (sum(1 / r for r in ranks if r) / len(ranks)) if ranks else None
    return out


def pick_cold_queries(queries: list[dict], n: int) -> list[dict]:
    """Round-robin over the kinds, so the cold figure is not about one kind."""
    by_kind = [[q for q in queries if q["kind"] == k] for k in KINDS]
    picked = []
    while len(picked) < n and any(by_kind):
        for group in by_kind:
            if group and len(picked) < n:
                picked.append(group.pop(0))
    return picked


def compile_newssearch() -> None:
    """Write the bytecode of newssearch's modules, as installing its wheel does.

    An editable install run under ``PYTHONDONTWRITEBYTECODE`` (some CI runners and
    sandboxes set it) otherwise compiles every module of the package from source in
    every cold process: 40 to 75 ms of CPU per query at 100,000 seeds (December 2026), which a user's
    installed command never pays. (The peers' query scripts run as ``__main__``,
    which Python compiles every time, installed or not.)
    """
    import compileall

    import newssearch

    compileall.compile_dir(Path(newssearch.__file__).parent, quiet=2)


def measure_cold(engines, workdir: Path, queries: list[dict], n: int) -> dict:
    if any(e.name == "newssearch" for e in engines):
        compile_newssearch()
    times: dict[str, list[float]] = {e.name: [] for e in engines}
    totals: dict[str, list[int]] = {e.name: [] for e in engines}
    for i, q in enumerate(pick_cold_queries(queries, n)):
        shift = i % len(engines)  # every engine goes first in turn
        order = engines[shift:] + engines[:shift]
        for engine in order:
            run = run_child(engine.cold_argv(workdir / engine.target_name, q), timeout=600)
            answer = run.json()
            times[engine.name].append(run.seconds * 1000)
            totals[engine.name].append(answer["total"])
    return {name: {"median_ms": statistics.median(t) if t else None, "runs_ms": t,
                   "totals": totals[name]} for name, t in times.items()}


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def figures(results: dict) -> list[tuple[str, str, str]]:
    """(label, JSON path, unit) of every reported figure, in table order."""
    rows = [("build", "build_s", "s"), ("no-op re-index", "noop_reindex_s", "s"),
            ("no-op re-index ÷ build", "noop_over_build", ""),
            (f"re-index after {CHANGE_FRACTION:.0%} of files changed", "change_reindex_s", "s"),
            (f"re-index after {CHANGE_FRACTION:.0%} changed ÷ build", "change_over_build", "")]
    for kind in ("overall", *KINDS, "known"):
        rows.append((f"warm p50, {kind}", f"warm_ms.{kind}.p50", "ms"))
        rows.append((f"warm p95, {kind}", f"warm_ms.{kind}.p95", "ms"))
    rows += [("cold CLI query, median", "cold_median_ms", "ms"),
             ("index size on disk", "index_bytes", "MB"),
             ("peak RSS, build, largest process", "build_peak_rss_bytes", "MB"),
             ("peak RSS, build, all processes", "build_tree_peak_rss_bytes", "MB"),
             ("peak RSS, queries", "query_peak_rss_bytes", "MB"),
             ("known-item MRR@10", "mrr10", ""),
             ("known items in top 10", "known_found", "")]
    return rows






def columns(results: dict) -> tuple[list[str], list[str]]:
    """The engines that ran, in table order, and the peers newssearch has ratios against."""
    engines = [name for name in TITLES if name in results["engines"]]
    peers = [name for name in PEERS if name in engines and "newssearch" in engines]
    return engines, peers


def table_rows(results: dict) -> list[list[str]]:
    engines, peers = columns(results)
    rows = []
    for label, path, unit in figures(results):
        values = [lookup(results["engines"][name], path) for name in engines]
        if all(v is None for v in values):
            continue
        ratios = [results.get(PEERS[peer][0], {}).get(path) for peer in peers]
        rows.append([label + (f" ({unit})" if unit else ""), *(fmt(v, unit) for v in values),
                     *("n/a" if r is None else f"{r:.2f}" for r in ratios)])
    return rows


def header(results: dict, ratio_word: str) -> list[str]:
    engines, peers = columns(results)
    return (["figure"] + [TITLES[name] for name in engines]
            + [f"{ratio_word}{PEERS[peer][1]}" for peer in peers])


def summary_line(results: dict) -> str:
    m = results["meta"]
    c = m["corpus"]
    versions = f"SQLite {m['sqlite_version']}"
    if m.get("tantivy_version"):
        versions += f", tantivy {m['tantivy_version']}"
    return (f"{c['files']:,} seeds ({c['bytes'] / 1e6:.1f} MB), {m['queries']} queries "
            f"({m['queries_per_kind']} per kind + {c['known_items']} known items, "
            f"{m['repeats']} timed rounds), {m['cold_queries']} cold CLI queries; "
            f"{m['cpu_count']} CPUs, Python {m['python']}, {versions}")


def print_table(results: dict) -> None:
    head = header(results, "ratio ns/")
    rows = table_rows(results)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(  # noqa: E731
        c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
    print()
    print(summary_line(results))
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def markdown(results: dict) -> str:
    head = header(results, "ratio newssearch/")
    rows = table_rows(results)
    out = [MARK_START, "",
           f"Run {results['meta']['date']}: {summary_line(results)}.", "",
           "| " + " | ".join(head) + " |",
           "| --- |" + " ---: |" * (len(head) - 1)]
    out += [f"| {' | '.join(r)} |" for r in rows]
    out += ["", MARK_END]
    return "\n".join(out)


def write_markdown(path: Path, results: dict) -> None:
    block = markdown(results)
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if MARK_START in text and MARK_END in text:
            head, rest = text.split(MARK_START, 1)
            tail = rest.split(MARK_END, 1)[1]
            path.write_text(head + block + tail, encoding="utf-8")
            return
    path.write_text("# newssearch benchmark results\n\n" + block + "\n", encoding="utf-8")


def tantivy_version() -> str | None:
    try:
        return metadata.version("tantivy")
    except metadata.PackageNotFoundError:
        return None


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--size", type=int, default=10_000, help="seeds to generate (default 10000)")
    src.add_argument("--corpus", type=Path, help="use this folder of seeds instead")
    ap.add_argument("--seed", type=int, default=0, help="seed of the corpus and query set")
    ap.add_argument("--workdir", type=Path, default=HERE / "work",
                    help="where corpus, indexes and results go (default benchmarks/work)")
    ap.add_argument("--queries-per-kind", type=int, default=20)
    ap.add_argument("--queries", type=Path,
                    help="use this query set (the queries.json of an earlier run on the same corpus and "
                         "seed) instead of drawing one: drawing reads every seed, 7 min at a million")
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds over the query set")
    ap.add_argument("--cold-queries", type=int, default=10, help="fresh-process CLI queries")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help="comma-separated subset of: " + ", ".join(ENGINES))
    ap.add_argument("--out", type=Path, help="results JSON (default WORKDIR/results.json)")
    ap.add_argument("--markdown", type=Path, help="write or refresh a markdown table here")
    args = ap.parse_args(argv)

    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    names = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENGINES]
    if unknown or not names:
        ap.error(f"--engines: unknown engine {unknown[0]!r}" if unknown else "--engines: none given")
    engines = [ENGINES[name] for name in dict.fromkeys(names)]

    corpus, known = prepare_corpus(args)
    corpus_bytes = warm_page_cache(corpus)
    if args.queries is not None:
        log(f"reading the query set {args.queries}")
        queries = read_queries(args.queries)
    else:
        log("drawing the query set")
        queries = build_queries(corpus, args.queries_per_kind, args.seed, known)
    queries_file = args.workdir / "queries.json"
    write_queries(queries_file, queries)

    results = {"meta": {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(), "sqlite_version": sqlite3.sqlite_version,
        "tantivy_version": tantivy_version() if "tantivy" in names else None,
        "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "corpus": {"path": str(corpus), "files": sum(1 for p in corpus.rglob("*") if p.is_file()),
                   "bytes": corpus_bytes, "known_items": len(known)},
        "queries": len(queries), "queries_per_kind": args.queries_per_kind,
        "repeats": args.repeats, "cold_queries": args.cold_queries,
    }, "engines": {}, "ratios": {}}

    for engine in engines:
        results["engines"][engine.name] = measure_engine(
            engine, corpus, args.workdir, queries_file, queries, args.repeats)

    if args.cold_queries:
        log(f"cold CLI: {args.cold_queries} queries per engine, one process each")
        for name, cold in measure_cold(engines, args.workdir, queries, args.cold_queries).items():
            results["engines"][name]["cold_median_ms"] = cold["median_ms"]
            results["engines"][name]["cold"] = cold

    # Per query, side by side: where the engines' semantics differ, it shows.
    answers = {name: e.pop("answers") for name, e in results["engines"].items()}
    results["queries"] = [
        {**q, **{f"{name}_total": a[i]["total"] for name, a in answers.items()},
         **{f"{name}_top": a[i]["urls"][:3] for name, a in answers.items()}}
        for i, q in enumerate(queries)]

    # newssearch ÷ each peer: "ratios" (SQLite, the name earlier results use) and "ratios_tantivy".
    ns = results["engines"].get("newssearch")
    for peer, (key, _title) in PEERS.items():
        other = results["engines"].get(peer)
        results[key] = ({path: ratio(lookup(ns, path), lookup(other, path))
                         for _label, path, _unit in figures(results)} if ns and other else {})

    out = args.out or args.workdir / "results.json"
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print_table(results)
    print(f"\nresults: {out}")
    if args.markdown:
        write_markdown(args.markdown, results)
        print(f"markdown: {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
