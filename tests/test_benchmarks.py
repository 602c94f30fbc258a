"""The benchmark suite, at a tiny size: the generator, the baseline, and run.py end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import make_corpus  # noqa: E402
import sqlite_baseline  # noqa: E402

REAL_SEED = ROOT / "seeds" / "000_f5098144ecc78018.txt"
FIELDS = ["category", "title", "excerpt", "publishedDateTime", "webUrl", "type", "quality",
          "heat", "published", "provider", "topics", "images", "related", "secured"]
RELATED_FIELDS = {"title", "excerpt", "publishedDateTime", "webUrl", "ampWebUrl", "cdnAmpWebUrl",
                  "type", "provider", "quality", "images"}
N = 240


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert m, path
    return yaml.load(m.group(1), Loader=yaml.CSafeLoader)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "corpus"
    make_corpus.generate(out, N, seed=7)
    return out


def test_generator_is_deterministic(corpus, tmp_path):
    again = tmp_path / "corpus"
    make_corpus.generate(again, N, seed=7)
    names = sorted(p.name for p in corpus.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert len(names) == N and all(re.fullmatch(r"\d{6}_[0-9a-f]{16}\.txt", n) for n in names)
    for name in names:
        assert (corpus / name).read_bytes() == (again / name).read_bytes(), name
    assert make_corpus.known_path(corpus).read_bytes() == make_corpus.known_path(again).read_bytes()

    other = tmp_path / "other"  # another seed, another corpus
    make_corpus.generate(other, 20, seed=8, known=2)
    assert not {p.name for p in other.iterdir()} & set(names)


def test_seeds_have_the_real_seeds_shape(corpus):
    if REAL_SEED.exists():
        assert list(front_matter(REAL_SEED)) == FIELDS
    assert all(p.suffix == ".txt" for p in corpus.iterdir())  # known items live beside it
    sizes, years = [], set()
    for path in sorted(corpus.iterdir()):
        doc = front_matter(path)
        assert list(doc) == FIELDS, path
        assert doc["category"] == "news" and doc["type"] == "article"
        assert 8 <= len(doc["title"].split()) and 25 <= len(doc["excerpt"].split())
        when = doc["publishedDateTime"]
        assert when.tzinfo is not None
        years.add(when.year)
        assert set(doc["provider"]) == {"name", "domain"} and "." in doc["provider"]["domain"]
        assert 1 <= len(doc["topics"]) <= 4 and all(isinstance(t, str) for t in doc["topics"])
        for img in doc["images"]:
            assert set(img) == {"url", "width", "height", "isCached", "title"}
        assert 0 <= len(doc["related"]) <= 3
        for rel in doc["related"]:
            assert {"title", "excerpt", "publishedDateTime", "webUrl", "type", "provider",
                    "quality", "images"} <= set(rel) <= RELATED_FIELDS
        assert isinstance(doc["secured"], str) and len(doc["secured"]) > 500
        sizes.append(path.stat().st_size)
    assert 2800 < sum(sizes) / len(sizes) < 4200  # the real seed weighs 3.6 KB
    assert years <= set(range(2014, 2026)) and len(years) >= 8  # spread over ten years


def test_known_items_and_decoys(corpus):
    known = json.loads(make_corpus.known_path(corpus).read_text())
    assert len(known) == make_corpus.default_known(N) == 24
    docs = {front_matter(p)["webUrl"]: p for p in corpus.iterdir()}
    for item in known:
        w1, w2 = item["query"].split()
        title = front_matter(docs[item["url"]])["title"].lower()
        assert f"{w1} {w2}" in title
        assert 2 <= len(item["decoys"]) <= 3
        for url in item["decoys"]:
            doc = front_matter(docs[url])
            text = " ".join([doc["title"], doc["excerpt"], docs[url].read_text().split("\n---\n", 1)[1]]).lower()
            assert w1 in text and w2 in text
            assert f"{w1} {w2}" not in doc["title"].lower()


def test_sqlite_baseline_counts_exactly(corpus, tmp_path):
    db = tmp_path / "b.db"
    stats = sqlite_baseline.build(db, [corpus])
    assert stats["seeds"] == N and stats["skipped"] == 0 and stats["related"] > N  # 0-3 each
    known = json.loads(make_corpus.known_path(corpus).read_text())
    with closing(sqlite_baseline.connect(db)) as con:
        for item in known:
            r = sqlite_baseline.search(con, item["query"])
            assert r.total == 1 + len(item["decoys"])  # made-up words: only these documents
            assert r.hits[0][0] == item["url"]          # title weight puts the title match first
            assert sum(c for _, c in r.providers) == r.total == sum(c for _, c in r.years)
        everything = sqlite_baseline.search(con, "the")
        in_2020 = sqlite_baseline.search(con, "the", since="2020-01-01", until="2020-12-31")
        assert in_2020.total == dict(everything.years)["2020"]
        topic = everything.topics[0][0]
        assert sqlite_baseline.search(con, "the", topic=topic).total == everything.topics[0][1]
    out = subprocess.run([sys.executable, str(BENCH / "sqlite_baseline.py"), "query", str(db),
                          known[0]["query"], "--json"], capture_output=True, text=True, check=True)
    answer = json.loads(out.stdout)
    assert answer["total"] == 1 + len(known[0]["decoys"]) and answer["hits"][0]["url"] == known[0]["url"]


def test_whole_suite_at_tiny_size(tmp_path):
    out, md = tmp_path / "results.json", tmp_path / "RESULTS.md"
    md.write_text("# kept\n\n<!-- benchmark-results:start -->\nSTALE-TABLE\n<!-- benchmark-results:end -->\n\ntail\n")
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--size", str(N), "--workdir", str(tmp_path / "w"),
         "--queries-per-kind", "2", "--repeats", "1", "--cold-queries", "4",
         "--out", str(out), "--markdown", str(md)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ratio" in proc.stdout

    results = json.loads(out.read_text())
    assert results["meta"]["corpus"]["files"] == N
    for name in ("newssearch", "sqlite"):
        e = results["engines"][name]
        assert e["build_s"] > 0 and e["index_bytes"] > 0
        assert e["build_peak_rss_bytes"] > 1e6 and e["query_peak_rss_bytes"] > 1e6
        assert e["build_tree_peak_rss_bytes"] >= e["build_peak_rss_bytes"] * 0.5 > 0
        assert e["cold_median_ms"] > 0
        for kind in ("overall", "common", "two", "phrase", "rare", "topic", "date", "known"):
            assert 0 < e["warm_ms"][kind]["p50"] <= e["warm_ms"][kind]["p95"]
        assert 0 <= e["mrr10"] <= 1
        assert e["known_total"] == 24 and e["known_found"] == 24  # both engines find every known item
    assert results["engines"]["newssearch"]["noop_reindex_s"] > 0
    assert results["engines"]["newssearch"]["reindex"]["unchanged"] == N
    assert results["engines"]["sqlite"]["noop_reindex_s"] is None
    assert results["ratios"]["build_s"] > 0 and results["ratios"]["noop_reindex_s"] is None

    queries = results["queries"]
    assert {q["kind"] for q in queries} == {"common", "two", "phrase", "rare", "topic", "date", "known"}
    for q in queries:
        # Queries are drawn from the corpus, so both engines match something.
        assert q["sqlite_total"] >= 1 and q["newssearch_total"] >= 1, q
        if q["kind"] == "known":
            assert q["sqlite_total"] == q["newssearch_total"]  # made-up words: no stemming doubt

    text = md.read_text()
    assert text.startswith("# kept") and text.rstrip().endswith("tail") and "STALE-TABLE" not in text
    assert "| known-item MRR@10 |" in text


def test_build_pairs_reports_every_round_and_the_median(corpus):
    run = subprocess.run([sys.executable, str(BENCH / "build_pairs.py"), str(corpus), "--rounds", "2"],
                         capture_output=True, text=True, timeout=600, cwd=BENCH)
    assert run.returncode == 0, run.stderr
    rounds = re.findall(r"round (\d): newssearch ([\d.]+) s, SQLite ([\d.]+) s, ratio ([\d.]+)", run.stdout)
    assert [r[0] for r in rounds] == ["1", "2"]
    for _, ours, theirs, ratio in rounds:
        assert float(ours) > 0 and float(theirs) > 0
        assert float(ratio) == pytest.approx(float(ours) / float(theirs), abs=0.02)
    assert re.search(r"median ratio [\d.]+ over 2 rounds \(lowest [\d.]+, highest [\d.]+\)", run.stdout)
