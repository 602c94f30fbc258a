"""The most expensive queries we know of: time and peak memory of each, one process per query.

    python benchmarks/worst_queries.py INDEX [--markdown FILE]

Builds no index: make one first, for example

    python benchmarks/make_corpus.py /tmp/q200k 200000 --seed 0
    newssearch index /tmp/q200k --index-dir /tmp/q200k-index

Each query runs in a fresh process that opens the index, runs one warm-up
query of a plain word, then the query itself twice: ``first`` is the first
run (the wildcard's word lists and stems not yet cached), ``again`` the
second, each as wall-clock time and as the process's CPU time (which other
jobs on a shared machine inflate far less). ``peak MB`` is the process's peak
resident memory (``VmHWM``), so it includes the open index and NumPy. The budget these figures are held to is
one second and 200 MB at 200,000 seeds (see README, "Querying").
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# Common words, drawn from the top of English: each is in most articles.
COMMON = (
    "the of and to in is was for on that with as at by from his he it an were are which this be "
    "or had not but have first one their its new after who they has her she two been other when "
    "there all during into school time may years more most only over city some world would where "
    "later up such used many can state about national out known university united then made "
    "also between both under while people being well year great him could three before through "
    "these part since like so several against because any second each most team high well later "
    "four film name album among early north including following same south age found around under"
).split()


def queries() -> dict[str, str]:
    two_letters = [a + b for a in "abcdefghijklmnoprstuvw" for b in "aeioulrnst"]
    distinct = list(dict.fromkeys(COMMON))
    return {
        "a*": "a*",
        "s*": "s*",
        "?": "?",
        "*ing": "*ing",
        "*": "*",
        "200 ORed prefixes": " OR ".join(f"{p}*" for p in two_letters[:200]),
        "200 ANDed prefixes": " ".join(f"{p}*" for p in two_letters[:200])[:2000],
        "fuzzy ~2": "government~2",
        "30 ORed fuzzy ~2": " OR ".join(f"{w}yx~2" for w in distinct if len(w) >= 4)[:2000],
        "2,000 chars of common words": " ".join(distinct * 3)[:2000].rsplit(" ", 1)[0],
        "2,000 chars of common words ORed": " OR ".join(distinct * 3)[:2000].rsplit(" ", 1)[0],
        "phrase of common words": '"of the"',
        "phrase of one word twice": '"the the"',
        "phrase with slop": '"of the"~5',
        "phrase of six common words": '"one of the first of the"',
        "phrase of a rare and two common words": '"harbour of the"',
        "4 ORed phrases of common words": '"in the" OR "of the" OR "to the" OR "on the"',
        "negated common word": "-the",
        "16 negated common words": " ".join(f"-{w}" for w in distinct[:16]),
        "typo correction": "goverment polcie chnage",
    }


def one(index: str, query: str) -> dict:
    from newssearch import open_index

    with open_index(index) as ix:
        ix.search("government")
        started, cpu = time.perf_counter(), time.process_time()
        results = ix.search(query)
        first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        ix.search(query)
        again, again_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) // 1024
    return {"first_ms": round(first * 1000, 1), "again_ms": round(again * 1000, 1),
            "first_cpu_ms": round(first_cpu * 1000, 1), "again_cpu_ms": round(again_cpu * 1000, 1), "peak_mb": peak,
            "total": results.total, "capped": bool(results.notes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index")
    parser.add_argument("--markdown")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.index, args.one)))
        return
    rows = []
    for name, query in queries().items():
        out = subprocess.run([sys.executable, __file__, args.index, f"--one={query}"],
                             capture_output=True, text=True, check=True)
        figures = json.loads(out.stdout)
        rows.append((name, figures))
        print(f"{name:<36} {figures['first_ms']:>8.1f} ms {figures['again_ms']:>8.1f} ms "
              f"(CPU {figures['first_cpu_ms']:>7.1f} / {figures['again_cpu_ms']:>7.1f} ms) "
              f"{figures['peak_mb']:>5} MB  total {figures['total']:>7,}{'  capped' if figures['capped'] else ''}",
              flush=True)
    if args.markdown:
        lines = ["| query | first | again | CPU first | CPU again | peak RSS | total | capped |",
                 "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for name, f in rows:
            lines.append(f"| {name} | {f['first_ms']:,.0f} ms | {f['again_ms']:,.0f} ms "
                         f"| {f['first_cpu_ms']:,.0f} ms | {f['again_cpu_ms']:,.0f} ms | {f['peak_mb']} MB "
                         f"| {f['total']:,} | {'yes' if f['capped'] else ''} |")
        with open(args.markdown, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
