"""Segments as the indexer writes and merges them: many runs, deletions, workers, a dying worker, duplicates."""

from __future__ import annotations

import multiprocessing
import os
from datetime import datetime, timezone

import pytest

from newssearch import IndexingError, index_seeds, open_index, store
from newssearch import seeds as seeds_module
from newssearch import workers as processes
from newssearch.codec import segments
from newssearch.facets import FacetValue
from newssearch.indexing import SkippedFile
from newssearch.schema import build_schema

from .conftest import related, write_seed

ANIMALS = ["aardvark", "buffalo", "cheetah", "dolphin", "elephant", "flamingo", "gorilla", "hedgehog"]


def live_segments(index_dir):
    found, _generation = segments.read(store.current_generation(index_dir), build_schema())
    return found


def hits(index_dir, query="", **options):
    options.setdefault("collapse", False)  # every article: the seeds share their excerpt
    with open_index(index_dir) as ix:
        return ix.search(query, limit=200, **options).hits


def urls(index_dir, query="", **options):
    return [h.url for h in hits(index_dir, query, **options)]


def generations(index_dir):
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


def indexer_children():
    return [p for p in multiprocessing.active_children() if p.name.startswith("newssearch-indexer")]


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# -- many small runs ---------------------------------------------------------------


def test_many_small_runs_keep_few_segments_and_every_article_intact(seeds, index_dir, monkeypatch):
    monkeypatch.setattr(segments, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(segments, "SEGMENT_HEADROOM", 0)
    for i, animal in enumerate(ANIMALS[:6]):
        write_seed(
            seeds,
            f"{i}.txt",
            title=f"Headline on the {animal}",
            url=f"https://x/{i}",
            body=f"The {animal} was seen again.",
            topics=[f"Topic {i}", "Wildlife"],
            provider=f"Paper {i}",
            domain=f"paper{i}.example",
            published=f"2020-0{i + 1}-1{i}T10:0{i}:00Z",
            category="science",
            related=[related(f"Followup on the {animal}", f"https://r/{i}", published=f"2021-0{i + 1}-01T08:00:00Z")],
        )
        report = index_seeds([seeds], index_dir, workers=1)
        assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, i)
        assert (report.total_documents, report.seeds, report.related) == (2 * (i + 1), i + 1, i + 1)
        assert report.skipped == () and report.written
        found = live_segments(index_dir)
        assert len(found) <= 3
        assert sum(s.doc_count() for s in found) == 2 * (i + 1)

    for i, animal in enumerate(ANIMALS[:6]):
        seed, follow = sorted(hits(index_dir, animal), key=lambda h: h.kind, reverse=True)
        assert (seed.kind, seed.title, seed.url) == ("seed", f"Headline on the {animal}", f"https://x/{i}")
        assert seed.topics == (f"Topic {i}", "Wildlife")
        assert (seed.provider, seed.domain, seed.category) == (f"Paper {i}", f"paper{i}.example", "science")
        assert seed.published == at(f"2020-0{i + 1}-1{i}T10:0{i}:00Z")
        assert seed.path == str(seeds / f"{i}.txt")
        assert (follow.kind, follow.title, follow.url) == ("related", f"Followup on the {animal}", f"https://r/{i}")
        assert (follow.related_to, follow.provider) == (f"https://x/{i}", "Other Paper")
        assert follow.published == at(f"2021-0{i + 1}-01T08:00:00Z")

    # Columns of merged segments still filter and sort.
    assert urls(index_dir, "", topics=["wildlife"], sort="newest") == [f"https://x/{i}" for i in reversed(range(6))]
    assert urls(index_dir, "", providers=["Paper 2"]) == ["https://x/2"]
    assert sorted(urls(index_dir, "", since="2021")) == [f"https://r/{i}" for i in range(6)]
    with open_index(index_dir) as ix:
        stats = ix.stats(limit=20)
        results = ix.search("headline", facet_limit=20, collapse=False)
    assert (stats.articles, stats.seeds, stats.related) == (12, 6, 6)
    assert (stats.oldest, stats.newest) == (at("2020-01-10T10:00:00Z"), at("2021-06-01T08:00:00Z"))
    assert stats.topics[0] == FacetValue("Wildlife", 6)
    assert sorted(v.value for v in stats.topics[1:]) == [f"Topic {i}" for i in range(6)]
    assert results.total == 6
    assert results.facets.topics[0] == FacetValue("Wildlife", 6)


# -- deletions -------------------------------------------------------------------


def test_a_segment_with_most_documents_deleted_is_rewritten(seeds, index_dir):
    paths = [
        write_seed(
            seeds,
            f"{i}.txt",
            title=f"Story of the {animal}",
            url=f"https://x/{i}",
            topics=["Nature"],
            related=[related(f"Note on the {animal}", f"https://r/{i}")],
        )
        for i, animal in enumerate(ANIMALS[:4])
    ]
    index_seeds([seeds], index_dir, workers=1)
    assert [s.doc_count_all() for s in live_segments(index_dir)] == [8]
    for path in paths[1:]:
        path.unlink()
    report = index_seeds([seeds], index_dir, workers=1)
    assert (report.removed, report.unchanged) == (3, 1)
    assert (report.total_documents, report.seeds, report.related) == (2, 1, 1)
    found = live_segments(index_dir)
    assert [s.deleted_count() for s in found] == [0] * len(found)
    assert sum(s.doc_count_all() for s in found) == 2
    assert sorted(urls(index_dir, "aardvark")) == ["https://r/0", "https://x/0"]
    for animal in ANIMALS[1:4]:
        assert urls(index_dir, animal) == []
    with open_index(index_dir) as ix:
        assert ix.stats().topics == (FacetValue("Nature", 1),)


# -- workers and small segments ----------------------------------------------------


def write_corpus(seeds):
    shared = related("Shared analysis of markets", "https://r/shared", provider="Wire Service")
    for i in range(60):
        listed = [related(f"Companion piece {i}", f"https://r/own-{i}", published=f"2019-{i % 12 + 1:02d}-05T00:00:00Z")]
        if i in (5, 50):  # the same related url listed by two seeds, in batches of different workers
            listed.append(shared)
        if i == 7:  # a related url that is another seed's own url
            listed.append(related("Seed forty as a related entry", "https://x/40"))
        if i == 45:
            listed.append(related("Seed three as a related entry", "https://x/3"))
        write_seed(
            seeds,
            f"{i:03d}.txt",
            title=f"Story {i} about {['markets', 'climate', 'elections'][i % 3]}",
            url=f"https://x/{i}",
            excerpt=f"Excerpt {i} with more words on {ANIMALS[i % 8]}",
            body=" ".join(f"paragraph {ANIMALS[(i + k) % 8]} word{k} markets" for k in range(6)),
            topics=[["Economy", "World"], ["Climate"], ["Politics", "World"]][i % 3],
            provider=f"Paper {i % 4}",
            published=f"2020-{i % 12 + 1:02d}-{i % 28 + 1:02d}T12:00:00Z",
            related=listed,
        )


def view(index_dir, query, **options):
    with open_index(index_dir) as ix:
        results = ix.search(query, limit=200, facet_limit=50, **options)
    return (
        results.total,
        [(h.url, h.kind, h.related_to, h.path, h.title, h.topics, h.provider, h.published) for h in results.hits],
        results.facets,
    )


QUERIES = [
    ("", {}),
    ("markets", {}),
    ("climate OR elections", {}),
    ("aardvark", {"topics": ["World"]}),
    ("story", {"sort": "newest"}),
    ("companion", {"sort": "oldest"}),
    ("shared analysis", {}),
    ("related entry", {}),
    ("", {"providers": ["Paper 1"], "since": "2020-06"}),
]


@pytest.mark.parametrize("early", [False, True], ids=["forked-to-parse", "forked-before-the-walk"])
def test_small_segments_from_two_workers_search_like_one_serial_build(seeds, tmp_path, monkeypatch, early):
    # Workers forked when the files to parse are known, or (as for a large run) before the walk,
    # idle until the run hands them their writers.
    write_corpus(seeds)
    serial = index_seeds([seeds], tmp_path / "serial", workers=1)
    pools, prestarted = [], []

    helped = []

    class Spy(processes.Workers):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pools.append(self)

        def stat(self, prefix, names):
            helped.append(len(names))
            return super().stat(prefix, names)

    prestart = processes.prestart
    monkeypatch.setattr(processes, "Workers", Spy)
    monkeypatch.setattr(processes, "prestart", lambda *args: prestarted.append(prestart(*args)) or prestarted[-1])
    monkeypatch.setattr(processes, "EARLY_WORKERS", 10 if early else 10**9)
    monkeypatch.setattr(seeds_module, "HELPED_FROM", 10)  # early workers stat half of a folder's files for the walk
    monkeypatch.setattr(seeds_module, "STAT_CHUNK", 7)
    monkeypatch.setattr(processes, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(processes, "PARSE_BATCH", 8)
    monkeypatch.setattr(processes, "SEGMENT_POSTINGS", 300)
    parallel = index_seeds([seeds], tmp_path / "parallel", workers=2)

    assert len(pools) == 1 and (prestarted == pools if early else prestarted == [None])
    assert helped == ([7, 7, 7, 7, 2] if early else [])  # half of the folder's 60 files, in chunks
    assert indexer_children() == []
    assert len(live_segments(tmp_path / "serial")) == 1
    assert len(live_segments(tmp_path / "parallel")) >= 4
    # 60 seeds, 60 companions and the shared analysis; seeds 40 and 3 are only seeds.
    for report in (serial, parallel):
        assert (report.added, report.skipped) == (60, ())
        assert (report.total_documents, report.seeds, report.related) == (121, 60, 61)
    for query, options in QUERIES:
        assert view(tmp_path / "parallel", query, **options) == view(tmp_path / "serial", query, **options), query
    with open_index(tmp_path / "parallel") as p, open_index(tmp_path / "serial") as s:
        assert p.stats(limit=50).topics == s.stats(limit=50).topics
        assert p.stats(limit=50).provider == s.stats(limit=50).provider

    for folder in (tmp_path / "serial", tmp_path / "parallel"):
        shared = hits(folder, "shared analysis")
        assert [(h.url, h.kind, h.related_to, h.provider) for h in shared] == [
            ("https://r/shared", "related", "https://x/5", "Wire Service")
        ]
        assert urls(folder, "related entry") == []
        forty = hits(folder, '"story 40"')
        assert [(h.url, h.kind, h.related_to) for h in forty] == [("https://x/40", "seed", "")]
        assert urls(folder, "", topics=["World"]).count("https://x/3") == 1


def test_a_large_build_sizes_its_segments_to_need_no_merge_and_searches_like_a_serial_build(seeds, tmp_path, monkeypatch):
    # Postings per segment grow with the run so that each worker's share makes at most its share of
    # MAX_SEGMENTS: merging a large build down (re-indexing in one process) cost more than its parse.
    write_corpus(seeds)
    serial = index_seeds([seeds], tmp_path / "serial", workers=1)
    monkeypatch.setattr(processes, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(processes, "PARSE_BATCH", 4)
    monkeypatch.setattr(processes, "SEGMENT_POSTINGS", 300)  # 10 segments or more unsized
    monkeypatch.setattr(segments, "MAX_SEGMENTS", 5)
    merged: list[int] = []
    merge_small = segments.merge_small

    def spy(folder, schema, found, *args, **kwargs):
        merged.append(len(found))
        return merge_small(folder, schema, found, *args, **kwargs)

    monkeypatch.setattr(segments, "merge_small", spy)
    parallel = index_seeds([seeds], tmp_path / "parallel", workers=2)
    assert merged and merged[0] <= 5  # written that way, not merged down to it
    assert 2 <= len(live_segments(tmp_path / "parallel")) <= 5
    assert (parallel.total_documents, parallel.seeds) == (serial.total_documents, serial.seeds)
    for query, options in QUERIES:
        assert view(tmp_path / "parallel", query, **options) == view(tmp_path / "serial", query, **options), query


def test_workers_forked_before_the_walk_are_stopped_when_there_is_nothing_to_parse(seeds, index_dir, monkeypatch):
    write_corpus(seeds)
    index_seeds([seeds], index_dir, workers=1)
    monkeypatch.setattr(processes, "EARLY_WORKERS", 10)
    pools, prestart = [], processes.prestart
    monkeypatch.setattr(processes, "prestart", lambda *args: pools.append(prestart(*args)) or pools[-1])
    report = index_seeds([seeds], index_dir, workers=2)
    assert not report.written and pools[0] is not None
    assert indexer_children() == []
    for i in range(3):  # a few changed files: parsed in this process, the early workers stopped
        write_seed(seeds, f"{i:03d}.txt", title=f"Changed {i}", url=f"https://x/{i}")
    report = index_seeds([seeds], index_dir, workers=2)
    assert report.updated == 3 and pools[1] is not None
    assert indexer_children() == []
    assert urls(index_dir, "changed") and len(urls(index_dir, "changed")) == 3


def test_a_writer_told_its_share_grows_its_segments_from_the_postings_per_file_seen(tmp_path):
    writer = processes.SegmentWriter(tmp_path, build_schema(), files=1000, segments=4)
    assert writer.segment_postings() == processes.SEGMENT_POSTINGS  # nothing seen yet
    writer.files, writer.postings = 10, 600_000  # 60,000 postings a file: 60 million for 1,000
    assert writer.segment_postings() == 15_000_000
    writer.files, writer.postings = 10, 2_000  # a small run keeps the floor
    assert writer.segment_postings() == processes.SEGMENT_POSTINGS
    assert processes.SegmentWriter(tmp_path, build_schema()).segment_postings() == processes.SEGMENT_POSTINGS


def _runs_of_equal_segments(seeds, index_dir, runs, per_run):
    for run in range(runs):
        for i in range(per_run):
            write_seed(seeds, f"{run}-{i}.txt", title=f"Run {run} story {i} {ANIMALS[i % 8]}", url=f"https://x/{run}/{i}")
        index_seeds([seeds], index_dir, workers=1)


def test_merges_never_write_a_segment_larger_than_the_largest_and_stop_when_all_are_large(seeds, index_dir, monkeypatch):
    from newssearch import indexing

    monkeypatch.setattr(segments, "MAX_SEGMENTS", 2)
    monkeypatch.setattr(segments, "SEGMENT_HEADROOM", 0)
    monkeypatch.setattr(indexing, "MERGED_DOCUMENTS", 0)  # the floor: the index's own largest segment
    _runs_of_equal_segments(seeds, index_dir, 3, 4)
    # Three segments of four articles: no two fit in one of four, so none is rewritten, run after run.
    sizes = [s.doc_count_all() for s in live_segments(index_dir)]
    assert sizes == [4, 4, 4]
    index_seeds([seeds], index_dir, workers=1)
    assert [s.doc_count_all() for s in live_segments(index_dir)] == sizes
    assert len(urls(index_dir)) == 12


def test_small_segments_are_merged_into_one_no_larger_than_the_largest(seeds, index_dir, monkeypatch):
    from newssearch import indexing

    monkeypatch.setattr(segments, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(segments, "SEGMENT_HEADROOM", 0)
    monkeypatch.setattr(indexing, "MERGED_DOCUMENTS", 0)
    _runs_of_equal_segments(seeds, index_dir, 1, 8)
    for run in range(1, 4):  # three runs of two: the third makes a fourth segment, two small ones merge
        for i in range(2):
            write_seed(seeds, f"{run}-{i}.txt", title=f"Run {run} story {i}", url=f"https://x/{run}/{i}")
        index_seeds([seeds], index_dir, workers=1)
    assert sorted(s.doc_count_all() for s in live_segments(index_dir)) == [2, 4, 8]
    assert len(urls(index_dir)) == 14


def test_small_runs_add_segments_until_the_headroom_is_used_then_merge_down_to_the_maximum(seeds, index_dir, monkeypatch):
    from newssearch import indexing

    monkeypatch.setattr(segments, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(segments, "SEGMENT_HEADROOM", 2)
    monkeypatch.setattr(indexing, "MERGED_DOCUMENTS", 0)
    _runs_of_equal_segments(seeds, index_dir, 1, 8)
    counts = []
    for run in range(1, 7):  # runs of one article: a segment each
        write_seed(seeds, f"{run}.txt", title=f"Run {run} story", url=f"https://x/{run}")
        index_seeds([seeds], index_dir, workers=1)
        counts.append(len(live_segments(index_dir)))
    # Five segments (3 + 2) are kept as they are; the sixth makes the smallest merge back down to three.
    assert counts == [2, 3, 4, 5, 3, 4]
    assert sorted(s.doc_count_all() for s in live_segments(index_dir))[-1] == 8
    assert len(urls(index_dir)) == 14


def test_mostly_deleted_segments_are_rewritten_in_segments_no_larger_than_the_largest(seeds, index_dir, monkeypatch):
    from newssearch import indexing

    monkeypatch.setattr(indexing, "MERGED_DOCUMENTS", 0)
    _runs_of_equal_segments(seeds, index_dir, 3, 6)
    for run in range(3):  # two thirds of every segment go
        for i in range(2, 6):
            (seeds / f"{run}-{i}.txt").unlink()
    write_seed(seeds, "big.txt", title="A late story", url="https://x/late")
    index_seeds([seeds], index_dir, workers=1)
    found = live_segments(index_dir)
    assert all(s.deleted_count() == 0 for s in found) and all(s.doc_count_all() <= 6 for s in found)
    assert sorted(urls(index_dir)) == sorted([f"https://x/{run}/{i}" for run in range(3) for i in range(2)] + ["https://x/late"])


# -- a worker that dies ----------------------------------------------------------------


def test_a_worker_that_dies_fails_the_run_and_leaves_the_index_as_it_was(seeds, index_dir, monkeypatch):
    write_seed(seeds, "000.txt", title="Original article", url="https://x/original", topics=["Kept"])
    index_seeds([seeds], index_dir, workers=1)
    live = (index_dir / store.CURRENT).read_text()
    before = generations(index_dir)
    for i in range(1, 13):
        write_seed(seeds, f"{i:03d}.txt", title=f"Newcomer {i}", url=f"https://x/{i}")

    def die(self, paths):
        os._exit(3)

    monkeypatch.setattr(processes, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(processes.SegmentWriter, "parse", die)
    with pytest.raises(IndexingError, match=r"index: an indexing worker died \(exit code 3\); the index is as it was"):
        index_seeds([seeds], index_dir, workers=2)
    assert indexer_children() == []
    assert (index_dir / store.CURRENT).read_text() == live
    assert generations(index_dir) == before
    assert urls(index_dir) == ["https://x/original"]
    assert urls(index_dir, "newcomer") == []
    with open_index(index_dir) as ix:
        assert (ix.stats().articles, ix.stats().topics) == (1, (FacetValue("Kept", 1),))

    monkeypatch.undo()  # the next run goes ahead: nothing was left locked or half-written
    report = index_seeds([seeds], index_dir, workers=1)
    assert (report.added, report.unchanged, report.total_documents) == (12, 1, 13)


# -- duplicates ----------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_a_losing_duplicate_leaves_no_trace(seeds, index_dir, monkeypatch, workers):
    monkeypatch.setattr(processes, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(processes, "PARSE_BATCH", 1)  # with workers: winner and loser in different processes
    shared_url = "https://r/shared"
    winner = write_seed(
        seeds,
        "a.txt",
        title="First telling",
        url="https://x/same",
        topics=["Travel"],
        related=[related("Shared piece", shared_url)],
    )
    loser = write_seed(
        seeds,
        "b.txt",
        title="Second telling of zanzibar",
        url="https://x/same",
        body="quokka quokka",
        topics=["Loser topic"],
        provider="Loser Press",
        related=[related("Loser followup wombat", "https://r/loser-only"), related("Shared piece retold kiwifruit", shared_url)],
    )
    for i in range(10):
        write_seed(seeds, f"f{i:02d}.txt", title=f"Filler {i}", url=f"https://x/filler-{i}", topics=["Filler"])

    report = index_seeds([seeds], index_dir, workers=workers)
    assert report.skipped == (SkippedFile(str(loser), f"duplicate webUrl, already indexed from {winner}"),)
    assert (report.added, report.total_documents, report.seeds, report.related) == (11, 12, 11, 1)
    for word in ("zanzibar", "quokka", "wombat", "kiwifruit", "loser", "second"):
        assert urls(index_dir, word) == [], word
    assert "https://r/loser-only" not in urls(index_dir)
    assert urls(index_dir, "", topics=["Loser topic"]) == []
    assert urls(index_dir, "", providers=["Loser Press"]) == []
    assert [(h.url, h.title, h.path) for h in hits(index_dir, "telling")] == [("https://x/same", "First telling", str(winner))]
    assert [(h.url, h.title, h.related_to) for h in hits(index_dir, "shared piece")] == [
        (shared_url, "Shared piece", "https://x/same")
    ]
    with open_index(index_dir) as ix:
        stats = ix.stats(limit=50)
        results = ix.search("", facet_limit=50)
    assert (stats.articles, stats.seeds, stats.related) == (12, 11, 1)
    assert "Loser topic" not in {v.value for v in stats.topics + results.facets.topics}
    assert "Loser Press" not in {v.value for v in stats.provider + results.facets.provider}

    again = index_seeds([seeds], index_dir, workers=workers)  # still refused, still no trace, not listed again
    assert (again.skipped, again.duplicates, again.written) == ((), 1, False)
    assert (again.unchanged, again.total_documents) == (12, 12)
    assert urls(index_dir, "zanzibar") == []


def test_a_losing_duplicate_does_not_change_typo_correction(seeds, tmp_path):
    winner = write_seed(seeds, "a.txt", title="Zanzibar travel", url="https://x/same")
    index_seeds([seeds], tmp_path / "alone", workers=1)
    write_seed(seeds, "b.txt", title="Other words", url="https://x/same", body="zanzibat")
    report = index_seeds([seeds], tmp_path / "with-loser", workers=1)
    assert [s.reason for s in report.skipped] == [f"duplicate webUrl, already indexed from {winner}"]
    for folder in (tmp_path / "alone", tmp_path / "with-loser"):
        with open_index(folder) as ix:
            results = ix.search("zanzibat")  # a typo of the winner's word, which only the loser wrote
        assert (results.total, results.suggestion) == (1, "zanzibar"), folder.name
        assert [h.url for h in results.hits] == ["https://x/same"]
