"""Measure what the near-duplicate clustering of newssearch.neardup rests on.

    python benchmarks/near_duplicates.py CORPUS [--index INDEX_DIR] [--pairs 20000]

CORPUS is a folder written by ``make_corpus.py`` (its ``<CORPUS>.copies.json``
lists the planted syndicated copies). Prints:

1. the exact Jaccard similarity of the title+excerpt shingle sets, for 2-,
   3- and 4-word shingles, of every planted copy and its original, and of
   random pairs of distinct articles (all, and those of the same provider
   and first topic, the likeliest to share phrasing), and of the bundled
   real seed against its related articles (distinct stories on one topic);
2. with ``--index``, an index of CORPUS built with newssearch: how many
   planted copies share their original's cluster (recall) and how many
   clustered articles are no planted copy of each other (false merges).

The figures in newssearch.neardup's docstring come from this script.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "search"))

from newssearch.seeds import find_seed_files, read_seed  # noqa: E402

_WORD = re.compile(r"\w+")


def shingle_set(title: str, excerpt: str, size: int) -> set[str]:
    words = _WORD.findall(f"{title} {excerpt}".casefold())
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def summary(values: list[float]) -> str:
    if not values:
        return "none"
    v = sorted(values)
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]  # noqa: E731
    return (f"n={len(v):>6}  min {v[0]:.2f}  p1 {pick(0.01):.2f}  median {pick(0.5):.2f}  "
            f"p99 {pick(0.99):.2f}  max {v[-1]:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--index", type=Path, help="an index of CORPUS, to measure the clusters themselves")
    ap.add_argument("--pairs", type=int, default=20000, help="random pairs of distinct articles")
    args = ap.parse_args(argv)
    copies: dict[str, str] = json.loads(args.corpus.with_name(args.corpus.name + ".copies.json").read_text())
    articles = {}
    for f in find_seed_files([str(args.corpus)]):
        a = read_seed(f.path)
        articles[a.url] = (a.title, a.excerpt, a.provider, a.topics[0] if a.topics else "")
    urls = sorted(articles)
    rng = random.Random(0)
    by_group: dict[tuple[str, str], list[str]] = {}
    for url in urls:
        by_group.setdefault(articles[url][2:4], []).append(url)
    groups = [g for g in by_group.values() if len(g) > 1]
    related_of = {**copies, **{v: v for v in copies.values()}}
    real = read_seed(str(ROOT / "seeds" / "000_f5098144ecc78018.txt"))
    for size in (2, 3, 4):
        sets = {u: shingle_set(t, e, size) for u, (t, e, _p, _t) in articles.items()}
        planted = [jaccard(sets[c], sets[o]) for c, o in copies.items() if c in sets and o in sets]
        distinct, alike = [], []
        while len(distinct) < args.pairs:
            a, b = rng.sample(urls, 2)
            if related_of.get(a, a) != related_of.get(b, b):
                distinct.append(jaccard(sets[a], sets[b]))
        while len(alike) < args.pairs and groups:
            a, b = rng.sample(rng.choice(groups), 2)
            if related_of.get(a, a) != related_of.get(b, b):
                alike.append(jaccard(sets[a], sets[b]))
        own = shingle_set(real.title, real.excerpt, size)
        real_pairs = [jaccard(own, shingle_set(r.title, r.excerpt, size)) for r in real.related]
        print(f"{size}-word shingles")
        print(f"  planted copies vs original : {summary(planted)}")
        print(f"  random distinct pairs      : {summary(distinct)}")
        print(f"  same provider and topic    : {summary(alike)}")
        print(f"  real seed vs its related   : {', '.join(f'{j:.2f}' for j in real_pairs)}")
    if args.index:
        from newssearch.searching import open_index
        from newssearch.urls import normalize_url

        truth = {normalize_url(u): normalize_url(related_of.get(u, u)) for u in urls}
        found = missed = false = 0
        with open_index(args.index) as ix:
            for url in urls:
                article = ix.get(url)
                if article is None:
                    continue
                mates = {normalize_url(d.url) for d in article.duplicates}
                key = normalize_url(url)
                false += sum(1 for m in mates if truth.get(m) != truth[key])
                if url in copies:
                    if normalize_url(copies[url]) in mates:
                        found += 1
                    else:
                        missed += 1
        print(f"clusters: {found} of {found + missed} planted copies share their original's cluster; "
              f"{false} cluster memberships (counted from both ends) join articles that are no copies of each other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
