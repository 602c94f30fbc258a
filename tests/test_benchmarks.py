"""The benchmark suite, at a tiny size: the generator, the two peers, and run.py end to end."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tracemalloc
from contextlib import ExitStack, closing
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import make_corpus  # noqa: E402
import sqlite_baseline  # noqa: E402
import tantivy_baseline  # noqa: E402
from engines import ENGINES  # noqa: E402

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


def _generation_peak_bytes(out: Path, n: int, vocabulary) -> int:
    tracemalloc.start()
    try:
        make_corpus.generate(out, n, seed=5, known=2, vocabulary=vocabulary)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_generator_memory_does_not_grow_with_the_number_of_seeds(tmp_path):
    # A million seeds must fit: nothing may be kept per article written.
    # Ten times the articles, and the peak may grow by far less than the
    # ~300 bytes an article's kept url and plan would cost (~800 KB here).
    vocabulary = make_corpus.Vocabulary.english()
    small = _generation_peak_bytes(tmp_path / "small", 300, vocabulary)
    large = _generation_peak_bytes(tmp_path / "large", 3000, vocabulary)
    assert large - small < 150_000, (small, large)


def test_generator_refuses_a_folder_with_other_files_and_replaces_its_own(tmp_path):
    out = tmp_path / "c"
    make_corpus.generate(out, 8, seed=1, known=1)
    with pytest.raises(FileExistsError, match="not empty"):
        make_corpus.generate(out, 8, seed=1, known=1)
    make_corpus.generate(out, 4, seed=2, known=1, force=True)  # the old seeds go
    assert len(list(out.iterdir())) == 4
    (out / "notes.md").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.md"):
        make_corpus.generate(out, 4, seed=2, known=1, force=True)
    assert (out / "notes.md").read_text() == "mine" and len(list(out.iterdir())) == 5


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


def test_query_set_keeps_one_object_per_distinct_title_word_and_topic(corpus):
    # What the queries are drawn from is held for every document (a million at
    # full size): repeated words and topics must share one string each.
    import queries

    _df, docs = queries.corpus_stats(corpus)
    assert len(docs) == N
    words, topics = {}, {}
    for doc in docs:
        assert not hasattr(doc, "__dict__")  # slots: no per-document dict either
        for w in doc.title_words:
            assert words.setdefault(w, w) is w, w
        for t in doc.topics:
            assert topics.setdefault(t, t) is t, t
    assert len(words) < sum(len(d.title_words) for d in docs)  # there were repeats to share


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


def test_tantivy_peer_counts_exactly(corpus, tmp_path):
    index = tmp_path / "t"
    stats = tantivy_baseline.build(index, [corpus])
    assert stats["seeds"] == N and stats["skipped"] == 0 and stats["related"] > N
    assert stats["total_documents"] == stats["seeds"] + stats["related"]
    reader = tantivy_baseline.Reader(index)
    assert reader.searcher.num_docs == stats["total_documents"]
    known = json.loads(make_corpus.known_path(corpus).read_text())
    for item in known:
        r = tantivy_baseline.search(reader, item["query"])
        assert r.total == 1 + len(item["decoys"])  # made-up words: only these documents
        assert r.hits[0][0] == item["url"]          # the title boost puts the title match first
        assert sum(c for _, c in r.providers) == r.total == sum(c for _, c in r.years)
        w1, w2 = item["query"].split()
        assert tantivy_baseline.search(reader, f'"{w1} {w2}"').total == 1  # a phrase is a phrase
        assert tantivy_baseline.search(reader, f'"{w2} {w1}"').total == 0
    everything = tantivy_baseline.search(reader, "the", facet_limit=100)
    assert len(everything.years) >= 8 and len(everything.topics) > 10  # beyond the 10 shown by default
    in_2020 = tantivy_baseline.search(reader, "the", since="2020-01-01", until="2020-12-31")
    assert in_2020.total == dict(everything.years)["2020"]
    # Until a day includes that whole day, and since/until are inclusive: one year
    # split at a day boundary adds up.
    first = tantivy_baseline.search(reader, "the", since="2020-01-01", until="2020-06-30")
    second = tantivy_baseline.search(reader, "the", since="2020-07-01", until="2020-12-31")
    assert first.total + second.total == in_2020.total
    for topic, count in everything.topics:
        assert tantivy_baseline.search(reader, "the", topic=topic).total == count
    assert tantivy_baseline.search(reader, "the", topic="No Such Topic").total == 0
    # Punctuation and query syntax are searched as words, never interpreted.
    assert tantivy_baseline.search(reader, "the OR -world AND").total == \
        tantivy_baseline.search(reader, "the or world and").total
    assert tantivy_baseline.search(reader, "*:* ( ]").total == 0

    out = subprocess.run([sys.executable, str(BENCH / "tantivy_baseline.py"), "query", str(index),
                          known[0]["query"], "--json"], capture_output=True, text=True, check=True)
    answer = json.loads(out.stdout)
    assert answer["total"] == 1 + len(known[0]["decoys"]) and answer["hits"][0]["url"] == known[0]["url"]
    missing = subprocess.run([sys.executable, str(BENCH / "tantivy_baseline.py"), "query",
                              str(tmp_path / "nowhere"), "x"], capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "nowhere" in missing.stderr


@pytest.fixture(scope="module")
def three_engines(corpus, tmp_path_factory):
    """The tiny corpus built by each engine; yields {name: search(q)} over the open indexes."""
    work = tmp_path_factory.mktemp("engines")
    with ExitStack() as stack:
        searches = {}
        for name, engine in ENGINES.items():
            target = work / engine.target_name
            engine.build(corpus, target)
            searches[name] = stack.enter_context(engine.open(target))
        yield searches


def _facets(answer: dict, name: str) -> list:
    return [pair for pair in answer["facets"][name] if pair[1]]  # newssearch lists empty years as 0


AGREEING = [  # words every engine's stemmer maps alike, with and without filters
    {"query": "never"}, {"query": "people"}, {"query": "world"}, {"query": "the"},
    {"query": "said number"}, {"query": '"the world"'},
    {"query": "the", "topic": "AI"}, {"query": "the", "since": "2020-01-01", "until": "2020-12-31"},
    {"query": "and", "topic": "Climate", "since": "2018-03-01", "until": "2019-06-30"},
]


@pytest.mark.parametrize("q", AGREEING, ids=lambda q: " ".join(str(v) for v in q.values() if v))
def test_the_three_engines_agree_where_their_semantics_do(three_engines, q):
    # The baselines know no near-duplicates: newssearch shows every copy, as they do.
    answers = {name: search({**q, "collapse": False}) for name, search in three_engines.items()}
    assert len({a["total"] for a in answers.values()}) == 1, {n: a["total"] for n, a in answers.items()}
    assert answers["sqlite"]["total"] > 0
    # newssearch counts a facet without that facet's own filter (drill-sideways:
    # the other topics and years a user could switch to); the peers count the
    # filtered match set.  The facets not being filtered on must agree.
    compared = [f for f, flag in (("topics", "topic"), ("published", "since")) if not q.get(flag)]
    for facet in compared + ["provider"]:
        values = {name: _facets(a, facet) for name, a in answers.items()}
        assert values["newssearch"] == values["sqlite"] == values["tantivy"], (facet, values)


def test_known_items_agree_across_the_three_engines(corpus, three_engines):
    for item in json.loads(make_corpus.known_path(corpus).read_text()):
        answers = {name: search({"query": item["query"]}) for name, search in three_engines.items()}
        assert {a["total"] for a in answers.values()} == {1 + len(item["decoys"])}
        assert {a["urls"][0] for a in answers.values()} == {item["url"]}
        assert len({str(_facets(a, "published")) for a in answers.values()}) == 1


def test_where_the_engines_stemmers_differ(three_engines):
    total = lambda name, words: three_engines[name]({"query": words})["total"]  # noqa: E731
    # SQLite's Porter (1980) stems "one" to "on" and keeps "weekly" apart from
    # "week"; newssearch's Porter2 and tantivy's Snowball English do neither.
    assert total("sqlite", "one") == total("sqlite", "on")
    for name in ("newssearch", "tantivy"):
        assert total(name, "one") < total(name, "on")
        assert total(name, "weekly") == total(name, "week")
    assert total("sqlite", "weekly") != total("sqlite", "week")
    assert total("newssearch", "one") == total("tantivy", "one") < total("sqlite", "one")
    # Snowball's English stemmer (tantivy's, and newssearch's since schema 4) keeps "universe"
    # apart from "university" and "universal"; SQLite's Porter merges the three.
    assert total("tantivy", "universe") == total("newssearch", "universe") < total("sqlite", "universe")
    assert total("sqlite", "universe") == total("sqlite", "university") == total("sqlite", "universal")


def test_the_peers_query_commands_import_only_what_a_query_needs(corpus, tmp_path):
    # The cold CLI figure is "a Python process that opens the index and answers
    # one query": the YAML reader and the process pool are the build's, not its.
    targets = {"sqlite_baseline": tmp_path / "s.db", "tantivy_baseline": tmp_path / "t"}
    for module, target in targets.items():
        subprocess.run([sys.executable, str(BENCH / f"{module}.py"), "build", str(target), str(corpus)],
                       check=True, capture_output=True)
        code = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); import {module} as m; "
                f"m.main(['query', {str(target)!r}, 'the', '--json']); "
                "print(sorted({'yaml', 'multiprocessing', 'seedfile'} & set(sys.modules)))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        *answer, imported = out.stdout.strip().splitlines()
        assert json.loads(answer[-1])["total"] > 0
        assert imported == "[]", (module, imported)


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
    assert set(results["engines"]) == {"newssearch", "sqlite", "tantivy"}  # all three by default
    for name in ("newssearch", "sqlite", "tantivy"):
        e = results["engines"][name]
        assert e["build_s"] > 0 and e["index_bytes"] > 0
        assert e["build_peak_rss_bytes"] > 1e6 and e["query_peak_rss_bytes"] > 1e6
        assert e["build_tree_peak_rss_bytes"] >= e["build_peak_rss_bytes"] * 0.5 > 0
        assert e["cold_median_ms"] > 0
        for kind in ("overall", "common", "two", "phrase", "rare", "topic", "date", "known"):
            assert 0 < e["warm_ms"][kind]["p50"] <= e["warm_ms"][kind]["p95"]
        assert 0 <= e["mrr10"] <= 1
        assert e["known_total"] == 24 and e["known_found"] == 24  # every engine finds every known item
    assert results["engines"]["newssearch"]["noop_reindex_s"] > 0
    assert results["engines"]["newssearch"]["reindex"]["unchanged"] == N
    change = results["engines"]["newssearch"]["change"]
    assert change["changed_files"] == N // 100 and (change["updated"], change["unchanged"]) == (N // 100, N - N // 100)
    assert results["engines"]["newssearch"]["change_over_build"] > 0
    assert "change_reindex_s" not in results["engines"]["sqlite"]
    assert results["engines"]["sqlite"]["noop_reindex_s"] is None
    assert results["engines"]["tantivy"]["noop_reindex_s"] is None
    for key, peer in (("ratios", "sqlite"), ("ratios_tantivy", "tantivy")):
        ns, other = results["engines"]["newssearch"], results["engines"][peer]
        assert results[key]["build_s"] == pytest.approx(ns["build_s"] / other["build_s"])
        assert results[key]["index_bytes"] == pytest.approx(ns["index_bytes"] / other["index_bytes"])
        assert results[key]["noop_reindex_s"] is None

    queries = results["queries"]
    assert {q["kind"] for q in queries} == {"common", "two", "phrase", "rare", "topic", "date", "known"}
    for q in queries:
        # Queries are drawn from the corpus, so both engines match something.
        assert q["sqlite_total"] >= 1 and q["newssearch_total"] >= 1 and q["tantivy_total"] >= 1, q
        if q["kind"] == "known":  # made-up words: no stemming doubt
            assert q["sqlite_total"] == q["newssearch_total"] == q["tantivy_total"]

    text = md.read_text()
    assert text.startswith("# kept") and text.rstrip().endswith("tail") and "STALE-TABLE" not in text
    assert "| known-item MRR@10 |" in text
    assert "| figure | newssearch | SQLite FTS5 | Tantivy | ratio newssearch/SQLite | ratio newssearch/Tantivy |" in text
    assert "tantivy 0." in text  # the peer's version goes with its figures
    for line in text.splitlines():
        if line.startswith("| build (s) |") or line.startswith("| known-item MRR@10 |"):
            assert line.count("|") == 7, line


def test_engines_picks_a_subset_and_rejects_unknown_names(tmp_path):
    out, md = tmp_path / "results.json", tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--size", "40", "--workdir", str(tmp_path / "w"),
         "--queries-per-kind", "1", "--repeats", "1", "--cold-queries", "2",
         "--engines", "newssearch,tantivy", "--out", str(out), "--markdown", str(md)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert set(results["engines"]) == {"newssearch", "tantivy"}
    assert results["ratios"] == {} and results["ratios_tantivy"]["build_s"] > 0
    assert "| figure | newssearch | Tantivy | ratio newssearch/Tantivy |" in md.read_text()
    assert "SQLite FTS5 |" not in md.read_text()
    assert "ratio ns/Tantivy" in proc.stdout and "ratio ns/SQLite" not in proc.stdout

    # A saved query set is reused as it is, not drawn again.
    saved = tmp_path / "saved-queries.json"
    chosen = json.loads((tmp_path / "w" / "queries.json").read_text())[:3]
    saved.write_text(json.dumps(chosen))
    again = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--size", "40", "--workdir", str(tmp_path / "w"), "--queries", str(saved),
         "--repeats", "1", "--cold-queries", "0", "--engines", "newssearch", "--out", str(out)],
        capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert [q["query"] for q in json.loads(out.read_text())["queries"]] == [q["query"] for q in chosen]

    bad = subprocess.run([sys.executable, str(BENCH / "run.py"), "--engines", "newssearch,lucene",
                          "--workdir", str(tmp_path / "w")], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown engine 'lucene'" in bad.stderr
    assert "Traceback" not in bad.stderr


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


# -- the relevance set -----------------------------------------------------------

import relevance  # noqa: E402


def _judged(grades: dict[str, int], copies: dict[str, list[str]] | None = None) -> relevance.Judged:
    """A query judging story ``x`` by its url ``https://n.example/x`` (and the urls of its copies)."""
    story_of = {relevance.normalise_url(f"https://n.example/{name}"): name for name in grades}
    for name, urls in (copies or {}).items():
        story_of.update({relevance.normalise_url(url): name for url in urls})
    return relevance.Judged("topical", "q", grades, story_of)


def _urls(*names: str) -> list[str]:
    return [f"https://n.example/{name}" for name in names]


def test_ndcg_is_one_for_the_ideal_ranking_and_the_direct_formula_for_any_other():
    judged = _judged({"a": 3, "b": 2, "c": 1, "d": 0})
    assert relevance.ndcg(_urls("a", "b", "c", "d"), judged) == pytest.approx(1.0)
    assert relevance.ndcg(_urls("a", "b", "c"), judged) == pytest.approx(1.0)  # a grade-0 story adds nothing
    ideal = 7 / 1 + 3 / math.log2(3) + 1 / math.log2(4)
    reverse = 0 / 1 + 1 / math.log2(3) + 3 / math.log2(4) + 7 / math.log2(5)
    assert relevance.ndcg(_urls("d", "c", "b", "a"), judged) == pytest.approx(reverse / ideal)
    assert reverse / ideal < relevance.ndcg(_urls("b", "a", "c"), judged) < 1
    # Unjudged hits gain nothing and push the judged ones down; only the top 10 count.
    late = _urls(*[f"x{i}" for i in range(9)], "a", "b")
    assert relevance.ndcg(late, judged) == pytest.approx((7 / math.log2(11)) / ideal)
    assert relevance.ndcg([], judged) == 0.0
    assert relevance.ndcg(_urls("a"), _judged({"a": 0})) == 0.0  # nothing relevant: no ideal to reach


def test_a_second_copy_of_a_story_gains_nothing_in_ndcg():
    copies = {"a": ["https://www.other.example/amp/a/", "https://n.example/a?utm_source=rss&utm_medium=x#top",
                    "http://N.example/a/"]}
    judged = _judged({"a": 3, "b": 2}, copies)
    ideal = 7 + 3 / math.log2(3)
    for copy in copies["a"]:
        ranked = [_urls("a")[0], copy, _urls("b")[0]]
        assert relevance.ndcg(ranked, judged) == pytest.approx((7 + 0 + 3 / math.log2(4)) / ideal)
    assert relevance.ndcg([copies["a"][0], _urls("b")[0]], judged) == pytest.approx(1.0)  # any copy may stand for it


def test_reciprocal_rank_is_of_the_first_hit_of_the_best_grade():
    judged = _judged({"a": 3, "b": 2, "c": 3})
    assert relevance.reciprocal_rank(_urls("b", "x", "c", "a"), judged) == pytest.approx(1 / 3)
    assert relevance.reciprocal_rank(_urls("a"), judged) == 1.0
    assert relevance.reciprocal_rank(_urls("b", "x"), judged) == 0.0
    assert relevance.reciprocal_rank(_urls(*[f"x{i}" for i in range(10)], "a"), judged) == 0.0  # beyond the top 10


def test_url_identity_for_judging_drops_tracking_amp_www_and_slashes_only():
    same = ["https://www.a.example/2024/01/02/story-1", "http://a.example/2024/01/02/story-1/",
            "https://www.a.example/amp/2024/01/02/story-1?utm_source=x&utm_campaign=y", "https://a.example/2024/01/02/story-1#top"]
    assert len({relevance.normalise_url(u) for u in same}) == 1
    different = ["https://a.example/2024/01/02/story-2", "https://b.example/2024/01/02/story-1",
                 "https://a.example/2024/01/02/story-1?id=7"]
    assert len({relevance.normalise_url(u) for u in same[:1] + different}) == 4


def test_the_relevance_set_is_deterministic_and_its_judgments_name_planted_articles(tmp_path):
    first = relevance.plant(tmp_path / "a", seed=3, base=20, per_class=1)
    again = relevance.plant(tmp_path / "b", seed=3, base=20, per_class=1)
    assert [q.to_json() for q in first] == [q.to_json() for q in again]
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    urls = {relevance.normalise_url(front_matter(tmp_path / "a" / name)["webUrl"]) for name in names}
    assert {q.cls for q in first} == set(relevance.CLASSES)
    for q in first:
        assert set(q.story_of) <= urls and set(q.story_of.values()) == set(q.grades), q.query
        assert max(q.grades.values()) > 0 and (q.query or q.source)


def test_the_stemmer_pairs_are_judged_by_senses_and_differ_between_the_two_stemmers():
    from snowballstemmer.english_stemmer import EnglishStemmer
    from whoosh.lang.porter2 import stem as porter2

    snowball = EnglishStemmer()
    pairs = relevance.stemmer_pairs()
    assert {("university", "universe"), ("evening", "even"), ("biology", "biologist")} <= {
        (a, b) if a > b else (b, a) for a, b, _related, _w in pairs}
    for a, b, related, weight in pairs:
        assert (porter2(a) == porter2(b)) != (snowball.stemWord(a) == snowball.stemWord(b)), (a, b)
        assert related == (relevance.SENSE_OF[a] == relevance.SENSE_OF[b]) and weight > 0


def test_relevance_small_runs_every_configuration_or_says_which_feature_is_missing(tmp_path):
    import inspect

    import newssearch

    out, md = tmp_path / "relevance.json", tmp_path / "RESULTS.md"
    md.write_text(f"# kept\n\n{relevance.MARK_START}\nSTALE\n{relevance.MARK_END}\n\ntail\n")
    proc = subprocess.run([sys.executable, str(BENCH / "relevance.py"), "--small", "--workdir", str(tmp_path / "w"),
                           "--out", str(out), "--markdown", str(md)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    configs = results["configs"]
    assert set(configs) == set(relevance.CONFIGS)
    has = {"collapse": "collapse" in inspect.signature(newssearch.IndexSearcher.search).parameters,
           "synonyms": "synonyms" in inspect.signature(newssearch.open_index).parameters,
           "similar": hasattr(newssearch.IndexSearcher, "similar")}
    for feature, present in has.items():
        assert ("unavailable" in configs[feature]) != present, feature
    for name, config in configs.items():
        if "unavailable" in config:
            assert config["unavailable"].startswith("not available: this newssearch has no"), name
            continue
        for cls, figures in config["classes"].items():
            assert 0 <= figures["ndcg"] <= 1 and 0 <= figures["mrr"] <= 1, (name, cls)
            assert figures["queries"] == (16 if cls == "overall" else 2), (name, cls)
    sqlite, bm25 = configs["sqlite"]["classes"], configs["bm25"]["classes"]
    assert bm25["known"]["mrr"] == 1.0 and sqlite["known"]["mrr"] == 1.0  # three title words find the article first
    assert sqlite["known-typo"]["ndcg"] == 0.0 < bm25["known-typo"]["ndcg"]  # FTS5 does not correct typos
    assert sqlite["synonyms"]["ndcg"] == bm25["synonyms"]["ndcg"] == 0.0  # "US" is not "United States" without synonyms
    assert bm25["duplicates"]["ndcg"] < 1.0  # the copies of a story push the other articles down
    assert "similar" not in bm25 and "similar" not in sqlite
    text = md.read_text()
    assert text.startswith("# kept") and text.rstrip().endswith("tail") and "STALE" not in text
    assert "| class | queries | sqlite | bm25 |" in text and "| overall | 16 |" in text


def test_weighted_sampling_draws_in_proportion_to_tiny_weights():
    import random

    items = ["heavy", "light", "lighter"]
    weights = [8e-12, 1e-12, 1e-12]  # word frequencies multiplied: this small
    firsts = [relevance.weighted_sample(random.Random(i), items, weights, 1)[0] for i in range(2000)]
    assert 0.75 < firsts.count("heavy") / len(firsts) < 0.85  # 8 / 10
    assert sorted(relevance.weighted_sample(random.Random(1), items, weights, 3)) == sorted(items)
    assert relevance.weighted_sample(random.Random(1), items, [1.0, 0.0, 1.0], 3).count("light") == 0


def test_a_planted_synonym_is_written_whole_and_its_other_form_is_absent(tmp_path):
    queries = relevance.plant(tmp_path / "c", seed=5, base=0, per_class=5)
    articles = {relevance.normalise_url(doc["webUrl"]): doc for doc in map(front_matter, (tmp_path / "c").iterdir())}
    forms = dict(relevance.SYNONYMS) | {long: short for short, long in relevance.SYNONYMS}
    for q in (q for q in queries if q.cls == "synonyms"):
        asked = next(form for form in forms if q.query.startswith(form + " "))
        (target,) = [url for url, story in q.story_of.items() if q.grades[story] == 3]
        title = articles[target]["title"]
        assert forms[asked] in title, (q.query, title)  # the other form, its words side by side
        words = {w.lower() for w in re.findall(r"\w+", " ".join([title, articles[target]["excerpt"], *articles[target]["topics"]]))}
        assert not words & {w.lower() for w in asked.split()}, (q.query, title)


def test_typesense_benchmark_on_one_node_agrees_with_the_local_engine_and_stops_its_server(tmp_path):
    corpus = tmp_path / "corpus"
    make_corpus.generate(corpus, 60, seed=11, known=3)
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    out, md = tmp_path / "ts.json", tmp_path / "RESULTS.md"
    md.write_text("# kept\n\nearlier sections\n")
    proc = subprocess.run(
        [sys.executable, str(BENCH / "typesense_cluster.py"), str(corpus), "--workdir", str(tmp_path / "w"),
         "--nodes", "1", "--queries-per-kind", "1", "--repeats", "1", "--rounds", "1",
         "--edit-fraction", "0.05", "--out", str(out), "--markdown", str(md)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Totals and facet counts: the same for all" in proc.stdout

    results = json.loads(out.read_text())
    meta = results["meta"]
    assert meta["corpus"]["files"] == 60 and meta["nodes"] == 1 and meta["refused_queries"] == []
    assert meta["queries"] == len(results["queries"]) == 6 + 3  # one per kind, and the known items
    for pid in meta["server_pids"]:  # the server is gone with the run
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert results["differences"] == []
    for q in results["queries"]:
        assert q["newssearch_total"] == q["typesense_total"] >= 1, q

    local, remote = (results["engines"][name]["figures"] for name in ("newssearch", "typesense"))
    edited = meta["edited_per_round"] == [3]  # 5 % of 60
    assert edited and local["incremental_changed"] == remote["incremental_changed"] == 3
    assert results["engines"]["typesense"]["noop"][0]["remote"]["upserted"] == 0
    for f in (local, remote):
        assert f["build_s"] > 0 and f["noop_s"] > 0 and f["incremental_s"] > 0
        for kind in ("overall", "common", "two", "phrase", "rare", "topic", "date", "known"):
            assert 0 < f["query_ms"][kind]["p50"] <= f["query_ms"][kind]["p95"]
        assert f["query_peak_rss_bytes"] > 1e6 and f["disk_bytes"] > 0
    assert remote["servers_peak_rss_bytes"] >= remote["servers_rss_bytes"] > 1e6
    assert remote["ledger_bytes"] > 0 and local["build_server_cpu_s"] is None

    # The benchmark edits its copy of the corpus, never the corpus it was given.
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before

    text = md.read_text()
    assert text.startswith("# kept\n\nearlier sections\n\n## The local engine against a Typesense cluster")
    assert "| figure | local (Whoosh) | Typesense (1 node) | ratio Typesense/local |" in text
    assert text.count("<!-- typesense-results:start -->") == 1

    import typesense_cluster

    typesense_cluster.write_markdown(md, results)  # a second run replaces its table, keeps the rest
    assert md.read_text() == text


def test_typesense_benchmark_refuses_bad_arguments_in_one_line(tmp_path):
    for args, message in (([str(tmp_path / "nothing")], "not a folder of seed files"),
                          ([str(ROOT / "seeds"), "--edit-fraction", "0"], "--edit-fraction must be in")):
        bad = subprocess.run([sys.executable, str(BENCH / "typesense_cluster.py"), *args,
                              "--workdir", str(tmp_path / "w")], capture_output=True, text=True)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr


def test_typesense_benchmark_keeps_only_the_queries_the_engine_accepts():
    import typesense_cluster

    queries = [{"kind": "common", "query": q} for q in ("market", "market OR trade", "mark*", '"a b"~2')]
    keep, refused = typesense_cluster.accepted(queries)
    assert [q["query"] for q in keep] == ["market"]
    assert [q["query"] for q in refused] == ["market OR trade", "mark*", '"a b"~2']
    assert all(q["reason"] for q in refused)


def test_cold_queries_run_newssearch_from_bytecode_as_an_installed_package_does():
    """run.py compiles the package before its cold CLI queries, whatever PYTHONDONTWRITEBYTECODE says."""
    import importlib.util

    import newssearch
    import run

    run.compile_newssearch()
    package = Path(newssearch.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 20
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime, source
