"""The local engine against a Typesense cluster, on the same corpus and the same queries.

    python benchmarks/typesense_cluster.py CORPUS [--workdir DIR] [--nodes 3]
                                          [--queries-per-kind K] [--repeats R] [--rounds N]
                                          [--edit-fraction F] [--seed S]
                                          [--out RESULTS.json] [--markdown FILE]

CORPUS is a folder of seeds (``make_corpus.py`` output). The run copies it into
``WORKDIR/corpus`` (the incremental runs edit that copy, never CORPUS), starts
``--nodes`` Typesense servers on 127.0.0.1 (three form a Raft cluster; its own
folders under WORKDIR; stopped at the end, also on an error, Ctrl-C or
SIGTERM), and measures, each phase in a fresh child process (``phases.py``):

1. the first build (local) and the first sync (Typesense: its local ledger,
   then every document sent);
2. ``--rounds`` no-op re-runs of each (nothing changed; the median is reported);
3. ``--rounds`` incremental runs of each, after editing ``--edit-fraction`` of
   the files (other files each round; the median);
4. ``--rounds`` query phases of each, in alternating order, over run.py's query
   set (those the Typesense engine accepts: all of run.py's kinds are), every
   query with the CLI's default facets (topics, providers, years; 10 values
   each); each phase answers every query once untimed, then ``--repeats``
   timed rounds, and p50/p95 are over all timed answers of all phases;
5. memory: the peak RSS of each query process and the Typesense servers' RSS
   (``VmRSS`` now and ``VmHWM``, the peak, from ``/proc/PID/status``);
   CPU: of each child process (``getrusage``) and of the servers during each
   phase (``/proc/PID/stat``), since wall time on a shared machine says as much
   about the neighbours as about the engine.

While measuring, every query's total and facet counts are compared between the
two engines: they must agree (the Typesense engine matches with the local
analyzer's terms), so any difference is listed as a bug. Hit order may differ
(Typesense ranks by its own text match, not BM25F).

Results: a table on stdout, JSON (``--out``, default ``WORKDIR/typesense.json``)
and, with ``--markdown``, the table between this benchmark's markers of that
file (a section is appended when the markers are missing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))  # the test harness's server classes, reused as they are

import make_corpus  # noqa: E402
from measure import fmt, lookup, percentile, ratio  # noqa: E402
from queries import KINDS, build_queries, write_queries  # noqa: E402
from run import log, phase, warm_page_cache  # noqa: E402

MARK_START = "<!-- typesense-results:start -->"
MARK_END = "<!-- typesense-results:end -->"
SECTION = "## The local engine against a Typesense cluster (issue 12)"
COLLECTION = "bench"
ENGINES = ("newssearch", "typesense")
EDIT_NOTE = "\n\nCorrection appended by the benchmark, round {round}: the figures were checked again.\n"


class BenchmarkError(Exception):
    """A run that cannot go on; its message is one line for the user."""


# --------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------


def disk_bytes(path: Path) -> int:
    """Bytes of the files under a folder, each file once: generations of the local index share
    unchanged files through hard links, which ``measure.disk_bytes`` would count once per link."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for p in Path(path).rglob("*"):
        st = p.lstat()
        if p.is_file() and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def server_pids(cluster) -> list[int]:
    return [node.process.pid for node in cluster.nodes if node.running]


def server_cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the server processes have used so far (all their threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def server_memory(pids: list[int]) -> list[dict[str, int]]:
    """Each server's ``VmRSS`` (now) and ``VmHWM`` (its peak so far), in bytes."""
    out = []
    for pid in pids:
        found = {}
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0]) * 1024
        out.append({"rss": found.get("VmRSS", 0), "hwm": found.get("VmHWM", 0)})
    return out


@contextlib.contextmanager
def servers(root: Path, size: int):
    """``size`` Typesense servers on 127.0.0.1, healthy, with ``$TYPESENSE_API_KEY`` set; stopped on exit."""
    from tests.typesense_servers import Cluster, TypesenseStartError, TypesenseUnavailable

    key = secrets.token_hex(16)  # this run's own: never printed, gone with the servers
    try:
        cluster = Cluster(root, size, api_key=key)
    except TypesenseUnavailable as exc:
        raise BenchmarkError(str(exc)) from None
    saved = {name: os.environ.get(name) for name in ("TYPESENSE_API_KEY",)}
    os.environ["TYPESENSE_API_KEY"] = key  # the phases' child processes inherit it
    try:
        started = time.perf_counter()
        try:
            cluster.start()
        except TypesenseStartError as exc:
            raise BenchmarkError(str(exc).splitlines()[0] + f" (logs under {root})") from None
        cluster.startup_seconds = time.perf_counter() - started
        yield cluster
    finally:
        cluster.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def create_collection(cluster, target: str, work: Path, attempts: int = 10) -> int:
    """Create the empty collection through the library (a sync of an empty folder); the attempts it took.

    On a cluster the engine's sync creates a missing collection through one node and reads it
    back through the next, which may not have applied the creation yet (404): the sync fails
    and the next run goes on. Creating it here, then waiting until every node serves it, keeps
    that out of the first-sync figure; the attempts are reported (more than one is that bug).
    """
    import newssearch
    from newssearch.engines.typesense import EngineError

    empty, ledger = work / "empty", work / "prelude-ledger"
    empty.mkdir(exist_ok=True)
    saved = os.environ.get("NEWSSEARCH_SYNC_DIR")
    os.environ["NEWSSEARCH_SYNC_DIR"] = str(ledger)  # a throw-away ledger: the first sync starts afresh
    try:
        for attempt in range(1, attempts + 1):
            try:
                newssearch.index_seeds([empty], target)
                break
            except EngineError as exc:
                if attempt == attempts or "Not Found" not in str(exc):
                    raise BenchmarkError(f"creating the collection: {exc}") from None
                time.sleep(0.5)
    finally:
        os.environ["NEWSSEARCH_SYNC_DIR"] = saved or ""
        shutil.rmtree(ledger, ignore_errors=True)
    deadline = time.monotonic() + 30
    for node in cluster.nodes:
        while not node_has(node, COLLECTION):
            if time.monotonic() > deadline:
                raise BenchmarkError(f"{node.url} does not serve the collection {COLLECTION} after 30 s")
            time.sleep(0.1)
    return attempt


def node_has(node, collection: str) -> bool:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{node.url}/collections/{collection}",
                                     headers={"X-TYPESENSE-API-KEY": node.api_key})
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


def measured(engine: str, name: str, *args, pids: list[int], repeats: int | None = None) -> dict:
    """One phase in its own process, with the servers' CPU time over it and the load around it."""
    before = server_cpu_seconds(pids)
    load = os.getloadavg()[0]
    out = phase(engine, name, *args, repeats=repeats)
    out["server_cpu_seconds"] = server_cpu_seconds(pids) - before if engine == "typesense" else 0.0
    out["load_1min_before"] = load
    return out


def edit_files(corpus: Path, fraction: float, round_no: int, seed: int, done: set[str]) -> list[str]:
    """Append a sentence to the body of ``fraction`` of the files, none edited in an earlier round."""
    names = sorted(p.name for p in corpus.iterdir() if p.suffix == ".txt")
    fresh = [n for n in names if n not in done]
    count = max(1, round(len(names) * fraction))
    picked = random.Random(f"{seed}-{round_no}").sample(fresh, min(count, len(fresh)))
    for name in picked:
        with open(corpus / name, "a", encoding="utf-8") as fh:
            fh.write(EDIT_NOTE.format(round=round_no))
    done.update(picked)
    return sorted(picked)


def accepted(queries: list[dict]) -> tuple[list[dict], list[dict]]:
    """The queries the Typesense engine answers, and those it refuses (OR, wildcards, field:, slop)."""
    from newssearch.engines.typesense import read_query
    from newssearch.errors import QueryError

    keep, refused = [], []
    for q in queries:
        try:
            read_query(q["query"])
        except QueryError as exc:
            refused.append({**q, "reason": str(exc)})
        else:
            keep.append(q)
    return keep, refused


def compare(queries: list[dict], local: list[dict], remote: list[dict]) -> list[dict]:
    """Every query whose total or facet counts differ between the engines (each one is a bug)."""
    out = []
    for q, a, b in zip(queries, local, remote):
        if a["total"] != b["total"] or a["facets"] != b["facets"]:
            out.append({"query": q, "local_total": a["total"], "typesense_total": b["total"],
                        "facets_differ": a["facets"] != b["facets"]})
    return out


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def run_benchmark(args) -> dict:
    work = args.workdir
    corpus = work / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    log(f"copying {args.corpus} to {corpus}")
    shutil.copytree(args.corpus, corpus)
    known_file = make_corpus.known_path(args.corpus)
    known = json.loads(known_file.read_text()) if known_file.exists() else []
    corpus_bytes = warm_page_cache(corpus)
    files = sum(1 for p in corpus.iterdir() if p.is_file())

    log("drawing the query set")
    drawn = build_queries(corpus, args.queries_per_kind, args.seed, known)
    queries, refused = accepted(drawn)
    if not queries:
        raise BenchmarkError("the Typesense engine refuses every query of the set")
    queries_file = work / "queries.json"
    write_queries(queries_file, queries)

    local_target = work / "newssearch-index"
    ledger = work / "ledger"
    for path in (local_target, ledger, work / "servers"):
        shutil.rmtree(path, ignore_errors=True)
    os.environ["NEWSSEARCH_SYNC_DIR"] = str(ledger)

    results: dict = {"meta": {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(), "platform": platform.platform(),
        "cpu_count": os.cpu_count(), "nodes": args.nodes,
        "corpus": {"path": str(args.corpus), "files": files, "bytes": corpus_bytes,
                   "known_items": len(known)},
        "queries": len(queries), "refused_queries": refused,
        "queries_per_kind": args.queries_per_kind, "repeats": args.repeats, "rounds": args.rounds,
        "edit_fraction": args.edit_fraction, "load_start": os.getloadavg(),
    }, "engines": {name: {} for name in ENGINES}}

    with servers(work / "servers", args.nodes) as cluster:
        pids = server_pids(cluster)
        results["memory_servers_idle"] = server_memory(pids)
        results["meta"]["typesense_version"] = cluster.nodes[0].version()
        results["meta"]["startup_s"] = cluster.startup_seconds
        results["meta"]["server_pids"] = pids
        target = cluster.target(COLLECTION)
        results["meta"]["collection_create_attempts"] = create_collection(cluster, target, work)
        places = {"newssearch": local_target, "typesense": target}
        e = results["engines"]

        for name in ENGINES:
            log(f"{name}: first build" if name == "newssearch" else f"{name}: first sync")
            e[name]["build"] = measured(name, "build", corpus, places[name], pids=pids)
        e["typesense"]["memory_after_sync"] = server_memory(pids)

        for name in ENGINES:
            e[name]["noop"] = []
        for r in range(args.rounds):
            for name in ENGINES:
                log(f"{name}: no-op re-run {r + 1}/{args.rounds}")
                e[name]["noop"].append(measured(name, "reindex", corpus, places[name], pids=pids))

        edited: set[str] = set()
        results["meta"]["edited_per_round"] = []
        for name in ENGINES:
            e[name]["incremental"] = []
        for r in range(args.rounds):
            results["meta"]["edited_per_round"].append(
                len(edit_files(corpus, args.edit_fraction, r + 1, args.seed, edited)))
            for name in ENGINES:
                log(f"{name}: incremental run {r + 1}/{args.rounds}")
                e[name]["incremental"].append(measured(name, "reindex", corpus, places[name], pids=pids))

        answers: dict[str, list] = {}
        for name in ENGINES:
            e[name]["queries"] = []
        for r in range(args.rounds):
            order = ENGINES if r % 2 == 0 else ENGINES[::-1]  # each goes first in turn
            for name in order:
                log(f"{name}: {len(queries)} queries x {args.repeats + 1}, round {r + 1}/{args.rounds}")
                out = measured(name, "query", places[name], queries_file, pids=pids, repeats=args.repeats)
                answers.setdefault(name, out["answers"])
                if out["answers"] != answers[name]:  # an engine must answer the same twice
                    raise BenchmarkError(f"{name}: round {r + 1} answered differently from round 1")
                del out["answers"]
                e[name]["queries"].append(out)
        results["memory_servers"] = server_memory(pids)
        results["meta"]["load_end"] = os.getloadavg()
        e["typesense"]["disk_bytes"] = sum(disk_bytes(node.data_dir) for node in cluster.nodes)

    e["newssearch"]["disk_bytes"] = disk_bytes(local_target)
    e["typesense"]["ledger_bytes"] = disk_bytes(ledger)
    results["differences"] = compare(queries, answers["newssearch"], answers["typesense"])
    results["queries"] = [{**q, **{f"{name}_total": answers[name][i]["total"] for name in ENGINES}}
                          for i, q in enumerate(queries)]
    summarise(results, queries)
    return results


def summarise(results: dict, queries: list[dict]) -> None:
    """The reported figures of each engine, under ``figures``."""
    n_timed = len(queries) * results["meta"]["repeats"]
    for name, e in results["engines"].items():
        f: dict = {}
        f["build_s"] = e["build"]["seconds"]
        f["build_cpu_s"] = e["build"]["cpu_seconds"]
        f["build_server_cpu_s"] = e["build"]["server_cpu_seconds"] if name == "typesense" else None
        f["build_peak_rss_bytes"] = e["build"]["peak_rss_bytes"]
        f["noop_s"] = median([p["seconds"] for p in e["noop"]])
        f["incremental_s"] = median([p["seconds"] for p in e["incremental"]])
        f["incremental_cpu_s"] = median([p["cpu_seconds"] for p in e["incremental"]])
        f["incremental_server_cpu_s"] = (median([p["server_cpu_seconds"] for p in e["incremental"]])
                                         if name == "typesense" else None)
        # What the first incremental run changed: articles updated locally, documents sent remotely.
        first = e["incremental"][0]
        f["incremental_changed"] = first["remote"]["upserted"] if name == "typesense" else first["updated"]
        samples: dict[str, list[float]] = {}
        for run in e["queries"]:
            for q, lat in zip(queries, run["latencies_ms"]):
                samples.setdefault(q["kind"], []).extend(lat)
                samples.setdefault("overall", []).extend(lat)
        f["query_ms"] = {kind: {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": len(v)}
                         for kind, v in samples.items()}
        # CPU per answered query: the timed rounds of the client; the servers over the whole phase
        # (its untimed first round too, hence the +1).
        f["query_client_cpu_ms"] = median([run["timed_cpu_seconds"] * 1000 / n_timed for run in e["queries"]])
        f["query_server_cpu_ms"] = (median([run["server_cpu_seconds"] * 1000 / (n_timed + len(queries))
                                            for run in e["queries"]]) if name == "typesense" else None)
        f["query_peak_rss_bytes"] = max(run["peak_rss_bytes"] for run in e["queries"])
        f["disk_bytes"] = e["disk_bytes"]
        e["figures"] = f
    servers = results["memory_servers"]
    t = results["engines"]["typesense"]["figures"]
    t["servers_idle_rss_bytes"] = sum(m["rss"] for m in results["memory_servers_idle"])
    t["servers_rss_bytes"] = sum(m["rss"] for m in servers)
    t["servers_peak_rss_bytes"] = sum(m["hwm"] for m in servers)
    t["largest_server_peak_rss_bytes"] = max(m["hwm"] for m in servers)
    t["ledger_bytes"] = results["engines"]["typesense"]["ledger_bytes"]


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def rows(results: dict) -> list[tuple[str, str, str]]:
    """(label, path under ``figures``, unit) of every reported figure, in table order."""
    edited = results["meta"]["edited_per_round"][0] if results["meta"]["edited_per_round"] else 0
    out = [("first build / first sync", "build_s", "s"),
           ("  CPU of the indexing process", "build_cpu_s", "s"),
           ("  CPU of the servers", "build_server_cpu_s", "s"),
           ("  peak RSS of the indexing process", "build_peak_rss_bytes", "MB"),
           ("no-op re-run, median", "noop_s", "s"),
           (f"incremental run ({edited} files edited), median", "incremental_s", "s"),
           ("  CPU of the indexing process", "incremental_cpu_s", "s"),
           ("  CPU of the servers", "incremental_server_cpu_s", "s"),
           ("  articles updated / documents sent", "incremental_changed", "")]
    for kind in ("overall", *KINDS, "known"):
        if kind in results["engines"]["newssearch"]["figures"]["query_ms"]:
            out.append((f"query p50, {kind}", f"query_ms.{kind}.p50", "ms"))
            out.append((f"query p95, {kind}", f"query_ms.{kind}.p95", "ms"))
    out += [("CPU per query, querying process", "query_client_cpu_ms", "ms"),
            ("CPU per query, servers", "query_server_cpu_ms", "ms"),
            ("peak RSS, querying process", "query_peak_rss_bytes", "MB"),
            ("RSS of the servers when started (empty), sum", "servers_idle_rss_bytes", "MB"),
            ("RSS of the servers after the queries, sum", "servers_rss_bytes", "MB"),
            ("peak RSS of the servers, sum", "servers_peak_rss_bytes", "MB"),
            ("peak RSS of the largest server", "largest_server_peak_rss_bytes", "MB"),
            ("on disk: the index / the servers' data (all nodes)", "disk_bytes", "MB"),
            ("on disk: the sync's ledger", "ledger_bytes", "MB")]
    return out






def table(results: dict) -> tuple[list[str], list[list[str]]]:
    nodes = results["meta"]["nodes"]
    head = ["figure", "local (Whoosh)", f"Typesense ({nodes} node{'s' if nodes > 1 else ''})",
            "ratio Typesense/local"]
    body = []
    for label, path, unit in rows(results):
        a = lookup(results["engines"]["newssearch"]["figures"], path)
        b = lookup(results["engines"]["typesense"]["figures"], path)
        if a is None and b is None:
            continue
        r = ratio(b, a) if unit in ("s", "ms") and a and b else None
        body.append([label + (f" ({unit})" if unit else ""), fmt(a, unit), fmt(b, unit),
                     "n/a" if r is None else f"{r:.2f}"])
    return head, body


def summary_line(results: dict) -> str:
    m = results["meta"]
    c = m["corpus"]
    load = f"load {m['load_start'][0]:.2f} at the start, {m['load_end'][0]:.2f} at the end (1 min)"
    return (f"{c['files']:,} seeds ({c['bytes'] / 1e6:.1f} MB), {m['queries']} queries "
            f"({m['queries_per_kind']} per kind + {c['known_items']} known items; "
            f"{m['rounds']} query phases per engine of {m['repeats']} timed rounds), "
            f"{m['rounds']} no-op and {m['rounds']} incremental runs per engine; Typesense "
            f"{m['typesense_version']}, {m['nodes']} node{'s' if m['nodes'] > 1 else ''} on 127.0.0.1; "
            f"{m['cpu_count']} CPUs, Python {m['python']}; {load}")


def agreement_line(results: dict) -> str:
    diffs = results["differences"]
    n = results["meta"]["queries"]
    attempts = results["meta"].get("collection_create_attempts", 1)
    race = (f" Creating the collection took {attempts} syncs of an empty folder (the first failed"
            " with 404: a node had not applied the creation yet)." if attempts > 1 else "")
    if not diffs:
        return f"Totals and facet counts: the same for all {n} queries." + race
    return (f"Totals or facet counts DIFFER for {len(diffs)} of {n} queries (a bug): "
            + "; ".join(f"{d['query']['query']!r} {d['local_total']} vs {d['typesense_total']}"
                        for d in diffs[:5]) + "." + race)


def print_table(results: dict) -> None:
    head, body = table(results)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    line = lambda r: "  ".join(  # noqa: E731
        c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
    print()
    print(summary_line(results))
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r in body:
        print(line(r))
    print(agreement_line(results))


def markdown(results: dict) -> str:
    head, body = table(results)
    out = [MARK_START, "", f"Run {results['meta']['date']}: {summary_line(results)}.", "",
           "| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    out += [f"| {' | '.join(r)} |" for r in body]
    out += ["", agreement_line(results), "", MARK_END]
    return "\n".join(out)


def write_markdown(path: Path, results: dict) -> None:
    """Replace the table between this benchmark's markers, or append a section holding it."""
    block = markdown(results)
    text = path.read_text(encoding="utf-8") if path.exists() else "# newssearch benchmark results\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------


def _terminate(signum, _frame):
    # SIGTERM ends the run through the same finally blocks as Ctrl-C: the servers are stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="a folder of seeds (make_corpus.py output)")
    ap.add_argument("--workdir", type=Path, default=HERE / "work" / "typesense",
                    help="where the corpus copy, indexes, servers and results go (default benchmarks/work/typesense)")
    ap.add_argument("--nodes", type=int, choices=(1, 3), default=3, help="Typesense servers (default 3, a cluster)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the query set and of the edits")
    ap.add_argument("--queries-per-kind", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds over the query set per query phase")
    ap.add_argument("--rounds", type=int, default=3,
                    help="no-op runs, incremental runs and query phases per engine (default 3)")
    ap.add_argument("--edit-fraction", type=float, default=0.01,
                    help="share of the files edited before each incremental run (default 0.01)")
    ap.add_argument("--out", type=Path, help="results JSON (default WORKDIR/typesense.json)")
    ap.add_argument("--markdown", type=Path, help="write or refresh this benchmark's table in this file")
    args = ap.parse_args(argv)
    if not args.corpus.is_dir() or not any(args.corpus.glob("*.txt")):
        ap.error(f"{args.corpus}: not a folder of seed files (make one with make_corpus.py)")
    if args.repeats < 1 or args.rounds < 1 or args.queries_per_kind < 1:
        ap.error("--repeats, --rounds and --queries-per-kind must be at least 1")
    if not 0 < args.edit_fraction <= 1:
        ap.error(f"--edit-fraction must be in (0, 1], not {args.edit_fraction}")
    args.corpus = args.corpus.resolve()
    args.workdir = args.workdir.resolve()
    copy = args.workdir / "corpus"
    if args.corpus in (copy, *copy.parents) or copy in args.corpus.parents:
        ap.error(f"--workdir {args.workdir}: the corpus copy it holds would overlap {args.corpus}")
    args.workdir.mkdir(parents=True, exist_ok=True)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        results = run_benchmark(args)
    except BenchmarkError as exc:
        print(f"typesense_cluster.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("typesense_cluster.py: interrupted; the servers are stopped", file=sys.stderr)
        return 130

    out = args.out or args.workdir / "typesense.json"
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print_table(results)
    print(f"\nresults: {out}")
    if args.markdown:
        write_markdown(args.markdown, results)
        print(f"markdown: {args.markdown}")
    return 1 if results["differences"] else 0


if __name__ == "__main__":
    sys.exit(main())
