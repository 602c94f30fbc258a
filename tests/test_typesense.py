"""The Typesense engine on a live node: syncing by the local rules, and the same answers as the local engine.

Each test has its own collection and ledger on the session's node
(``tests/typesense_servers.py``). The cross-engine test runs a set of
queries against a local index and the collection synced from the same seeds
and compares totals, facet counts, date spans, suggestions and the urls of
every page. Ranking is the one difference allowed: under the relevance sort
the order of hits is Typesense's (text match, then url), not BM25F, so the
test compares the sets of urls there and the exact order under the date sorts.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

import newssearch
from newssearch import index_seeds, open_index
from newssearch.cli import cli
from newssearch.engines import typesense as ts
from newssearch.indexing import index_seeds as index_local

from .conftest import REAL_SEED, REPO, related, write_seed

sys.path.insert(0, str(REPO / "benchmarks"))
import make_corpus  # noqa: E402


@pytest.fixture
def target(typesense_node, tmp_path, monkeypatch) -> str:
    """A fresh collection on the live node, and a ledger folder of this test's own."""
    monkeypatch.setenv(ts.SYNC_DIR_ENV, str(tmp_path / "ledgers"))
    return typesense_node.target("t" + uuid.uuid4().hex[:12])


def collection_docs(target: str) -> dict[str, dict]:
    """Every document of the collection, whole, by id."""
    t = ts.Target.parse(target)
    with ts.connected(t) as client:
        lines = client.collections[t.collection].documents.export()
    return {doc["id"]: doc for doc in map(json.loads, lines.splitlines()) if doc}


def fresh_docs(seeds: Path, tmp_path: Path) -> dict[str, dict]:
    """The documents a fresh local build of ``seeds`` gives: what the collection must hold."""
    folder = tmp_path / f"fresh-{uuid.uuid4().hex[:8]}"
    index_local([seeds], folder, workers=1)
    with open_index(folder, synonyms=False) as local:
        return {doc["id"]: doc for doc in (ts.document(*record) for record in local.records())}


def feed(seeds: Path) -> None:
    write_seed(seeds, "a.txt", title="Police budget vote", url="https://x/a", topics=["Politics"],
               related=[related("Harbour storm", "https://y/r1")], published="2021-03-04T05:06:07Z")
    write_seed(seeds, "b.txt", title="Harbour storm warning", url="https://x/b", topics=["Weather", "Politics"],
               provider="Coastal Record", published="2022-01-01T00:00:00Z")
    write_seed(seeds, "c.txt", title="Copy of a", url="https://x/a")  # a duplicate url: skipped
    (seeds / "bad.txt").write_text("---\ntitle: [broken\n---\n")
    write_seed(seeds, "d.txt", title="Undated council story", url="https://x/d", published=None)


# -- syncing ----------------------------------------------------------------------


real_document = ts.document


def test_a_sync_sends_everything_then_nothing_then_only_what_changed(target, seeds, tmp_path, monkeypatch):
    feed(seeds)
    first = index_seeds([seeds], target)
    assert first.remote is not None and first.remote.target == target
    assert (first.remote.documents, first.remote.upserted, first.remote.deleted) == (4, 4, 0)
    assert collection_docs(target) == fresh_docs(seeds, tmp_path)
    assert [s.path for s in first.skipped] == [str(seeds / "bad.txt"), str(seeds / "c.txt")]

    again = index_seeds([seeds], target)
    assert (again.remote.upserted, again.remote.deleted, again.remote.checked) == (0, 0, False)

    write_seed(seeds, "b.txt", title="Harbour storm over", url="https://x/b", topics=["Weather"])
    made = []
    with monkeypatch.context() as patch:
        patch.setattr(ts, "document", lambda *record: made.append(record[0]["url"]) or real_document(*record))
        edited = index_seeds([seeds], target)
    assert (edited.remote.upserted, edited.remote.deleted) == (1, 0)
    assert made == ["https://x/b"]  # the other articles' documents are not even made: their hashes match
    assert collection_docs(target) == fresh_docs(seeds, tmp_path)

    (seeds / "a.txt").unlink()  # its url passes to c.txt; its related article goes
    removed = index_seeds([seeds], target)
    assert (removed.remote.upserted, removed.remote.deleted) == (1, 1)
    assert collection_docs(target) == fresh_docs(seeds, tmp_path)


def test_an_interrupted_sync_is_finished_by_the_next_run(target, seeds, tmp_path, monkeypatch):
    for i in range(7):
        write_seed(seeds, f"{i}.txt", title=f"Story number {i}", url=f"https://x/{i}")
    monkeypatch.setattr(ts, "IMPORT_BATCH", 2)
    real_import = ts._import
    calls = []

    def dies_after_one_batch(t, collection, docs):
        calls.append(len(docs))
        if len(calls) > 1:
            raise ts.EngineError("the connection went")
        return real_import(t, collection, docs)

    monkeypatch.setattr(ts, "_import", dies_after_one_batch)
    with pytest.raises(ts.EngineError, match="the connection went"):
        index_seeds([seeds], target)
    assert len(collection_docs(target)) == 2
    monkeypatch.setattr(ts, "_import", real_import)
    finished = index_seeds([seeds], target)  # the ledger did not change: the collection is compared anyway
    assert (finished.remote.checked, finished.remote.upserted) == (True, 5)
    assert collection_docs(target) == fresh_docs(seeds, tmp_path)


def test_documents_lost_by_the_collection_are_sent_again(target, seeds, tmp_path):
    feed(seeds)
    index_seeds([seeds], target)
    t = ts.Target.parse(target)
    lost = sorted(collection_docs(target))[:2]
    with ts.connected(t) as client:
        client.collections[t.collection].documents.delete({"filter_by": f"id:[{','.join(lost)}]"})
    report = index_seeds([seeds], target)
    assert (report.remote.checked, report.remote.upserted) == (True, 2)
    assert collection_docs(target) == fresh_docs(seeds, tmp_path)


def test_a_collection_of_other_fields_is_refused_and_rebuild_replaces_it(target, seeds, tmp_path):
    t = ts.Target.parse(target)
    with ts.connected(t) as client:
        client.collections.create({"name": t.collection, "fields": [{"name": "title", "type": "string"}]})
    feed(seeds)
    with pytest.raises(ts.EngineError, match=r"holds other fields than newssearch's .*--rebuild"):
        index_seeds([seeds], target)
    report = index_seeds([seeds], target, rebuild=True)
    assert report.remote.upserted == 4
    assert collection_docs(target) == fresh_docs(seeds, tmp_path)


def test_a_missing_collection_is_one_line_naming_the_command(target):
    with pytest.raises(ts.EngineError, match=r"no such collection: run \"newssearch index --index typesense://"):
        open_index(target)


def test_the_command_line_syncs_and_searches_through_index(target, seeds):
    feed(seeds)
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(seeds), "--index", target])
    assert result.exit_code == 0, result.output
    assert f"synced {target}: 4 documents; 4 sent, 0 deleted" in result.output
    result = runner.invoke(cli, ["query", "harbour", "--index", target, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == 2 and {h["url"] for h in data["hits"]} == {"https://x/b", "https://y/r1"}
    result = runner.invoke(cli, ["query", "harbour", "OR", "storm", "--index", target])
    assert result.exit_code == 2
    assert "the Typesense engine cannot search OR between words" in result.output
    result = runner.invoke(cli, ["stats", "--index", target, "--format", "json"])
    assert json.loads(result.output)["articles"] == 4


# -- the same answers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def both(typesense_node, tmp_path_factory):
    """A generated corpus (near-duplicates, related articles, many topics) in a local index and a collection."""
    root = tmp_path_factory.mktemp("engines")
    corpus = root / "corpus"
    make_corpus.generate(corpus, 300, seed=3)
    write_seed(corpus, "zz-escape.txt", title="<script>alert(1)</script> police & \"harbour\"",
               url="https://x/escape", excerpt="<b>police</b> storm", topics=["Politics"])
    # Text whose terms are not plain ASCII words: folded, joined, or CJK grams.
    write_seed(corpus, "zz-unicode.txt", title="Zürich talks: O’Neill of AT&T meets the U.S. envoy in 東京",
               url="https://x/unicode", excerpt="Straße des Émigrés, café crème", topics=["Émigrés"])
    write_seed(corpus, "zz-unicode2.txt", title="Zurich strasse news from the US and Tokyo (東京都)",
               url="https://x/unicode2", topics=["emigres"], provider="Café Press")
    patch = pytest.MonkeyPatch()
    patch.setenv(ts.SYNC_DIR_ENV, str(root / "ledgers"))
    target = typesense_node.target("both" + uuid.uuid4().hex[:8])
    index_seeds([corpus], target)
    local_dir = root / "local"
    index_seeds([corpus], local_dir)
    with open_index(local_dir, synonyms=False) as local, open_index(target, synonyms=False) as remote:
        yield local, remote
    patch.undo()


QUERIES = ["", "police", "machine learning", '"of the"', "police -election", "-the", "computer vision privacy",
           '"computer vision" -privacy', "banking -crypto", '"police & harbour"', "zzzz-nothing-matches",
           "zurich", "Zürich", "O'Neill", "ATT", "AT&T", "US", "U.S.", "東京", "京都", "strasse", '"cafe creme"', "-東京"]
OPTIONS = [
    {},
    {"collapse": False},
    {"topics": ["AI", "robotics"]},
    {"providers": ["the weekly sentinel"]},
    {"topics": ["emigres"], "providers": ["cafe press", "the weekly sentinel"]},
    {"category": "technology"},
    {"since": "2020", "until": "2022-06", "date_facet": "month"},
    {"since": "2019-06-01", "date_facet": "day", "facet_limit": 40},
    {"sort": "newest", "topics": ["Climate"]},
    {"sort": "oldest", "collapse": False},
    {"facet_limit": 3, "limit": 7, "page": 2},
]


def every_url(searcher, query: str, options: dict) -> list[str]:
    """The urls of every page, in result order."""
    urls: list[str] = []
    page = 1
    while True:
        results = searcher.search(query, **{**options, "limit": 100, "page": page, "fuzzy": False})
        urls += [h.url for h in results.hits]
        if len(urls) >= results.total or not results.hits:
            return urls
        page += 1


@pytest.mark.parametrize("query", QUERIES)
def test_both_engines_find_the_same_articles_and_counts(both, query):
    local, remote = both
    story = {payload["url"]: lead for payload, lead, _topics, _provider in local.records()}
    for options in OPTIONS:
        a, b = local.search(query, **options), remote.search(query, **options)
        where = f"{query!r} {options}"
        assert (a.total, a.page, a.limit, a.sort) == (b.total, b.page, b.limit, b.sort), where
        assert a.facets == b.facets, where
        assert (a.oldest, a.newest, a.suggestion) == (b.oldest, b.newest, b.suggestion), where
        assert len(a.hits) == len(b.hits), where
        if a.sort != "relevance":
            assert [h.url for h in a.hits] == [h.url for h in b.hits], where
            assert [h.similar_count for h in a.hits] == [h.similar_count for h in b.hits], where
        whole = {k: v for k, v in options.items() if k not in ("limit", "page", "facet_limit")}
        urls_a, urls_b = every_url(local, query, whole), every_url(remote, query, whole)
        if a.sort != "relevance":
            assert urls_a == urls_b, where
        elif whole.get("collapse", True):
            # Each story's best ranked copy stands for it, and the ranking differs: the same stories.
            assert sorted(story[u] for u in urls_a) == sorted(story[u] for u in urls_b), where
        else:
            assert sorted(urls_a) == sorted(urls_b), where


def test_highlights_are_the_local_ones_and_escaped(both):
    local, remote = both
    a, b = local.search("police harbour", limit=50, collapse=False), remote.search("police harbour", limit=50, collapse=False)
    mine = {h.url: (h.title_highlight, h.highlight) for h in a.hits}
    theirs = {h.url: (h.title_highlight, h.highlight) for h in b.hits}
    assert mine == theirs
    title, fragment = theirs["https://x/escape"]
    assert title == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>police</mark> &amp; &quot;<mark>harbour</mark>&quot;"
    assert "<b>" not in fragment


def test_a_misspelt_query_is_corrected_as_locally(both):
    local, remote = both
    for query in ("polise", "robotcs", "elecion", "sciense", "marcet growth", "goverment budget"):
        a, b = local.search(query), remote.search(query)
        assert a.suggestion is not None and (a.suggestion, a.total) == (b.suggestion, b.total), query


def test_an_article_with_its_related_and_duplicates_is_the_local_one(both):
    local, remote = both
    checked = 0
    for hit in local.search("", limit=300, collapse=False).hits:
        a, b = local.get(hit.url), remote.get(hit.url)
        assert b is not None
        assert (a.url, a.title, a.excerpt, a.body, a.topics, a.published) == (b.url, b.title, b.excerpt, b.body, b.topics, b.published)
        assert [h.url for h in a.related] == [h.url for h in b.related]
        assert sorted(h.url for h in a.duplicates) == sorted(h.url for h in b.duplicates)
        checked += bool(a.duplicates) or bool(a.related)
    assert checked > 20
    assert remote.get("https://nowhere.example/x") is None


def test_stats_agree(both):
    local, remote = both
    a, b = local.stats(limit=5), remote.stats(limit=5)
    assert (a.articles, a.seeds, a.related, a.oldest, a.newest, a.topics, a.provider) == (
        b.articles, b.seeds, b.related, b.oldest, b.newest, b.topics, b.provider)


def test_what_the_engine_cannot_do_is_refused_not_answered_otherwise(both):
    _, remote = both
    with pytest.raises(newssearch.QueryError, match="cannot rank by recency"):
        remote.search("police", recency="30d")
    with pytest.raises(newssearch.QueryError, match="at most 250"):
        remote.search("police", limit=251)
    with pytest.raises(newssearch.QueryError, match="cannot find similar articles"):
        remote.similar("https://x/escape")


def test_the_readme_example_runs_on_a_live_node(target, tmp_path, monkeypatch):
    readme = (REPO / "README.md").read_text().split("## Typesense")[1]
    block = re.search(r"```py\n(.*?)```", readme, re.S).group(1)
    shutil.copytree(REAL_SEED.parent, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block.replace("typesense://10.0.0.1:8108/news", target), "README.md", "exec"), scope)
    assert scope["report"].remote.documents == len(collection_docs(target)) > 0


def test_every_match_exports_and_the_opensearch_export_are_the_local_ones(both, tmp_path):
    """``query --all`` pages through the collection; ``export`` writes what the local index would."""
    from newssearch.export import iter_hits
    from newssearch.opensearch import export

    local, remote = both
    options = {"topics": ["AI"], "sort": "newest", "synonyms": False}
    assert [h.url for h in iter_hits(remote.index_dir, "", **options)] == [h.url for h in iter_hits(local.index_dir, "", **options)]
    mine, theirs = export(local.index_dir, tmp_path / "local"), export(remote.index_dir, tmp_path / "remote")
    assert mine.articles == theirs.articles > 300
    for a, b in zip(mine.files, theirs.files, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_the_json_of_a_date_sorted_query_is_the_local_one_but_for_timing_and_parsing(both):
    """``query --format json`` prints the same object: only ``took_ms`` and ``parsed`` (how each
    engine reads the query) differ, and scores, which a date sort leaves out."""
    local, remote = both
    runner = CliRunner()
    outputs = []
    for index in (["--index-dir", str(local.index_dir), "--no-synonyms"], ["--index", remote.index_dir]):
        result = runner.invoke(cli, ["query", "police", "--sort", "newest", "--topic", "AI", "--since", "2018",
                                     "--fields", "excerpt,path", "--format", "json", *index])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data.pop("took_ms") >= 0 and data.pop("parsed")
        outputs.append(data)
    assert outputs[0]["total"] > 0
    assert outputs[0] == outputs[1]


# -- the equivalence rule, remotely ---------------------------------------------------


def test_after_any_sequence_of_edits_the_collection_holds_what_a_fresh_build_would(typesense_node, tmp_path_factory, monkeypatch):
    """The local equivalence machine (tests/test_equivalence.py), each run also synced to a collection
    of its own, which must then hold exactly the documents of a fresh build of the same files."""
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import invariant

    from newssearch import workers

    from .test_equivalence import FeedFolder

    monkeypatch.setattr(workers, "PARALLEL_THRESHOLD", 2)
    monkeypatch.setattr(workers, "PARSE_BATCH", 2)
    monkeypatch.setenv(ts.SYNC_DIR_ENV, str(tmp_path_factory.mktemp("ledgers")))

    class RemoteFeed(FeedFolder):
        def __init__(self) -> None:
            super().__init__()
            self.target = typesense_node.target("eq" + uuid.uuid4().hex[:12])

        @invariant()
        def collection_equals_fresh(self) -> None:
            if not self.files:
                return
            index_seeds([self.seeds], self.target, workers=1)
            mirror = self.root / "remote-mirror"
            shutil.rmtree(mirror, ignore_errors=True)
            for rel, text in self.effective().items():
                (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
                (mirror / rel).write_text(text, encoding="utf-8")
            fresh = fresh_docs(mirror, self.root)
            # The mirror's paths are not the seeds' paths: compare everything else.
            assert strip_paths(collection_docs(self.target), self.seeds) == strip_paths(fresh, mirror)

    RemoteFeed.tmp = tmp_path_factory
    run = RemoteFeed.TestCase
    run.settings = settings(max_examples=8, stateful_step_count=6, deadline=None, suppress_health_check=list(HealthCheck))
    run().runTest()


def strip_paths(docs: dict[str, dict], root: Path) -> dict[str, dict]:
    """Documents with the seed folder taken out of the paths in their payloads (and the hash that covers them)."""
    out = {}
    for key, doc in docs.items():
        payload = json.loads(doc["payload"])
        payload["path"] = payload["path"].replace(str(root) + "/", "")
        out[key] = {**doc, "payload": payload, "h": None}
    return out


def test_a_query_with_synonyms_says_they_were_not_applied(both):
    local, remote = both
    with open_index(remote.index_dir) as searcher:  # the default: the shipped synonyms
        assert searcher.search("AI budget").notes == (
            "synonyms are not applied by the Typesense engine: 1 of the query's words or phrases have some in "
            f"{searcher.synonyms.source}",)
        assert len(searcher.search('"artificial intelligence" -"european union"').notes) == 1
        assert searcher.search("police").notes == ()
    assert remote.search("AI budget").notes == ()  # opened without synonyms


def test_the_compared_queries_find_something(both):
    """The comparison above is not of empty answers: all but one query find articles."""
    local, _ = both
    empty = [q for q in QUERIES if local.search(q, fuzzy=False).total == 0]
    assert empty == ["zzzz-nothing-matches"]
    assert {h.url for h in local.search("東京", collapse=False).hits} == {"https://x/unicode", "https://x/unicode2"}
