from __future__ import annotations

import json
import os
import shutil

import pytest

import newssearch
from newssearch import IndexLockedError, SchemaVersionError, index_seeds, open_index
from newssearch import indexing, store
from newssearch.schema import SCHEMA_VERSION

from .conftest import REAL_SEED, related, write_seed


def urls(index_dir, query="", **options):
    with open_index(index_dir) as ix:
        return [h.url for h in ix.search(query, limit=100, **options).hits]


def bump(path):
    """Change a file's mtime so the indexer sees it as edited even within one clock tick."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_first_run_adds_every_seed_and_reports_counts(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha", url="https://x/a")
    write_seed(seeds, "b.txt", title="Beta", url="https://x/b")
    report = index_seeds([seeds], index_dir)
    assert (report.added, report.updated, report.removed, report.unchanged) == (2, 0, 0, 0)
    assert report.skipped == ()
    assert (report.total_documents, report.seeds, report.related) == (2, 2, 0)
    assert report.written
    assert sorted(urls(index_dir)) == ["https://x/a", "https://x/b"]


def test_the_index_dir_defaults_to_the_environment_variable(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    report = index_seeds([seeds])
    assert report.index_dir == str(index_dir)
    assert (index_dir / store.CURRENT).exists()


def test_an_unchanged_corpus_writes_nothing(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    index_seeds([seeds], index_dir)
    generation = (index_dir / store.CURRENT).read_text()
    report = index_seeds([seeds], index_dir)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 1)
    assert not report.written
    assert report.total_documents == 1
    assert (index_dir / store.CURRENT).read_text() == generation


def test_a_changed_file_is_updated(seeds, index_dir):
    path = write_seed(seeds, "a.txt", title="Old headline", url="https://x/a")
    index_seeds([seeds], index_dir)
    write_seed(seeds, "a.txt", title="Fresh headline", url="https://x/a")
    bump(path)
    report = index_seeds([seeds], index_dir)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    assert urls(index_dir, "fresh") == ["https://x/a"]
    assert urls(index_dir, "old") == []


def test_a_deleted_file_leaves_the_index(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha", url="https://x/a")
    gone = write_seed(seeds, "b.txt", title="Beta", url="https://x/b")
    index_seeds([seeds], index_dir)
    gone.unlink()
    report = index_seeds([seeds], index_dir)
    assert (report.removed, report.unchanged) == (1, 1)
    assert urls(index_dir) == ["https://x/a"]


def test_a_renamed_file_keeps_one_document_with_the_new_path(seeds, index_dir):
    old = write_seed(seeds, "a.txt", title="Alpha", url="https://x/a")
    index_seeds([seeds], index_dir)
    old.rename(seeds / "renamed.txt")
    report = index_seeds([seeds], index_dir)
    assert (report.added, report.removed) == (1, 1)
    with open_index(index_dir) as ix:
        hits = ix.search("alpha").hits
    assert [h.path for h in hits] == [str(seeds / "renamed.txt")]


def test_a_file_that_turns_bad_keeps_its_last_good_version(seeds, index_dir):
    path = write_seed(seeds, "a.txt", title="Good version", url="https://x/a")
    index_seeds([seeds], index_dir)
    path.write_text("---\ntitle: [broken\n---\n")
    bump(path)
    report = index_seeds([seeds], index_dir)
    assert len(report.skipped) == 1
    assert "kept the last good version" in report.skipped[0].reason
    assert report.removed == 0
    assert urls(index_dir, "good") == ["https://x/a"]
    # Fixed again: it is picked up as an update.
    write_seed(seeds, "a.txt", title="Repaired version", url="https://x/a")
    bump(path)
    assert index_seeds([seeds], index_dir).updated == 1
    assert urls(index_dir, "repaired") == ["https://x/a"]


def test_bad_files_are_skipped_and_the_run_goes_on(seeds, index_dir):
    write_seed(seeds, "good.txt", title="Good")
    (seeds / "empty.txt").write_text("")
    (seeds / "binary.txt").write_bytes(b"\x00\x01\x02")
    report = index_seeds([seeds], index_dir)
    assert report.added == 1
    assert [(os.path.basename(s.path), s.reason) for s in report.skipped] == [
        ("binary.txt", "binary file (contains NUL bytes)"),
        ("empty.txt", "empty file"),
    ]


def test_a_duplicate_url_is_skipped_naming_the_first_file(seeds, index_dir):
    first = write_seed(seeds, "a.txt", title="First", url="https://x/same")
    write_seed(seeds, "b.txt", title="Second", url="https://x/same")
    report = index_seeds([seeds], index_dir)
    assert report.added == 1
    assert report.skipped[0].reason == f"duplicate webUrl, already indexed from {first}"
    assert urls(index_dir, "first") == ["https://x/same"]


def test_a_url_already_indexed_stays_with_its_file(seeds, index_dir):
    write_seed(seeds, "b.txt", title="Incumbent", url="https://x/same")
    index_seeds([seeds], index_dir)
    write_seed(seeds, "a.txt", title="Newcomer", url="https://x/same")  # sorts first, arrives later
    report = index_seeds([seeds], index_dir)
    assert report.added == 0 and "duplicate" in report.skipped[0].reason
    assert urls(index_dir, "incumbent") == ["https://x/same"]


def test_related_articles_are_indexed_once_and_never_over_a_seed(seeds, index_dir):
    shared = related("Shared follow-up story", "https://x/shared")
    write_seed(seeds, "a.txt", title="Seed A", url="https://x/a", related=[shared, related("Echo", "https://x/b")])
    write_seed(seeds, "b.txt", title="Seed B", url="https://x/b", related=[shared])
    report = index_seeds([seeds], index_dir)
    assert (report.seeds, report.related) == (2, 1)
    with open_index(index_dir) as ix:
        hit = ix.search("shared follow-up").hits[0]
        assert (hit.kind, hit.related_to, hit.path) == ("related", "https://x/a", str(seeds / "a.txt"))
        assert [h.kind for h in ix.search("echo OR seed", limit=50).hits].count("related") == 0


def test_a_related_article_moves_to_the_next_seed_when_its_owner_goes(seeds, index_dir):
    shared = related("Shared follow-up story", "https://x/shared")
    owner = write_seed(seeds, "a.txt", title="Seed A", url="https://x/a", related=[shared])
    write_seed(seeds, "b.txt", title="Seed B", url="https://x/b", related=[shared])
    index_seeds([seeds], index_dir)
    owner.unlink()
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        hits = ix.search("shared follow-up").hits
    assert [(h.url, h.related_to) for h in hits] == [("https://x/shared", "https://x/b")]


def test_a_related_article_disappears_when_no_seed_lists_it(seeds, index_dir):
    path = write_seed(seeds, "a.txt", title="Seed A", url="https://x/a", related=[related("Gone soon", "https://x/r")])
    index_seeds([seeds], index_dir)
    write_seed(seeds, "a.txt", title="Seed A", url="https://x/a")
    bump(path)
    report = index_seeds([seeds], index_dir)
    assert report.related == 0
    assert urls(index_dir, "gone") == []


def test_a_related_url_that_becomes_a_seed_is_indexed_once_as_the_seed(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Seed A", url="https://x/a", related=[related("Promoted story", "https://x/p")])
    index_seeds([seeds], index_dir)
    write_seed(seeds, "p.txt", title="Promoted story in full", url="https://x/p")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        hits = ix.search("promoted").hits
    assert [(h.url, h.kind) for h in hits] == [("https://x/p", "seed")]


def test_rebuild_starts_from_scratch(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    index_seeds([seeds], index_dir)
    report = index_seeds([seeds], index_dir, rebuild=True)
    assert (report.added, report.unchanged, report.total_documents) == (1, 0, 1)


def test_files_indexed_from_another_folder_stay_while_they_exist(tmp_path, index_dir):
    one, two = tmp_path / "one", tmp_path / "two"
    write_seed(one, "a.txt", title="Alpha", url="https://x/a")
    write_seed(two, "b.txt", title="Beta", url="https://x/b")
    index_seeds([one], index_dir)
    report = index_seeds([two], index_dir)
    assert (report.added, report.removed) == (1, 0)
    shutil.rmtree(one)
    assert index_seeds([two], index_dir).removed == 1
    assert urls(index_dir) == ["https://x/b"]


def test_parallel_parsing_gives_the_same_index_as_serial(seeds, tmp_path, monkeypatch):
    for i in range(40):
        write_seed(seeds, f"{i:03d}.txt", title=f"Story number {i}", url=f"https://x/{i}", topics=["AI"])
    (seeds / "bad.txt").write_text("---\n: : :\n")
    monkeypatch.setattr(indexing, "PARALLEL_THRESHOLD", 10)
    parallel = index_seeds([seeds], tmp_path / "p", workers=2)
    serial = index_seeds([seeds], tmp_path / "s", workers=1)
    assert (parallel.added, len(parallel.skipped)) == (serial.added, len(serial.skipped)) == (40, 1)
    assert parallel.skipped[0].reason == serial.skipped[0].reason
    assert sorted(urls(tmp_path / "p", "story")) == sorted(urls(tmp_path / "s", "story"))


def test_progress_is_reported_per_parsed_file(seeds, index_dir):
    for i in range(3):
        write_seed(seeds, f"{i}.txt", title=f"T{i}", url=f"https://x/{i}")
    calls = []
    index_seeds([seeds], index_dir, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_a_second_writer_waits_then_reports_the_lock(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    index_dir.mkdir()
    with store.write_lock(index_dir, timeout=0):
        with pytest.raises(IndexLockedError, match="being written by another process"):
            index_seeds([seeds], index_dir, lock_timeout=0.2)
    assert index_seeds([seeds], index_dir).added == 1  # released: the next run goes ahead


def test_a_failure_while_writing_leaves_the_previous_index_live(seeds, index_dir, monkeypatch):
    write_seed(seeds, "a.txt", title="Alpha", url="https://x/a")
    index_seeds([seeds], index_dir)
    write_seed(seeds, "b.txt", title="Beta", url="https://x/b")

    def explode(article):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(indexing, "seed_document", explode)
    with pytest.raises(RuntimeError):
        index_seeds([seeds], index_dir)
    assert urls(index_dir) == ["https://x/a"]
    assert sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-")) == ["gen-000001"]
    monkeypatch.undo()
    monkeypatch.setenv("NEWSSEARCH_INDEX", str(index_dir))
    assert index_seeds([seeds], index_dir).added == 1


def test_an_index_of_another_schema_version_asks_for_a_rebuild(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    index_seeds([seeds], index_dir)
    meta_path = store.current_generation(index_dir) / store.META
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = 0
    meta_path.write_text(json.dumps(meta))
    message = f'schema version 0, this newssearch uses version {SCHEMA_VERSION}: run "newssearch index --rebuild"'
    with pytest.raises(SchemaVersionError, match=message):
        index_seeds([seeds], index_dir)
    with pytest.raises(SchemaVersionError):
        open_index(index_dir)
    assert index_seeds([seeds], index_dir, rebuild=True).added == 1
    assert len(urls(index_dir)) == 1


def test_old_generations_are_collected(seeds, index_dir):
    path = write_seed(seeds, "a.txt", title="Alpha")
    for _ in range(5):
        bump(path)
        index_seeds([seeds], index_dir)
    gens = sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))
    assert gens == ["gen-000003", "gen-000004", "gen-000005"]  # the live one and two before it


def test_the_remains_of_a_dead_run_are_removed(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    index_seeds([seeds], index_dir)
    (index_dir / "gen-000002").mkdir()  # a run killed before it published
    (index_dir / "gen-000002" / "MAIN_half.seg").write_bytes(b"junk")
    write_seed(seeds, "b.txt", title="Beta")
    index_seeds([seeds], index_dir)
    gens = sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))
    assert gens == ["gen-000001", "gen-000002"]
    assert not (index_dir / "gen-000002" / "MAIN_half.seg").exists()


def test_the_bundled_seed_indexes(index_dir):
    report = index_seeds([REAL_SEED.parent], index_dir)
    assert (report.added, report.related, report.skipped) == (1, 2, ())
    assert newssearch.read_seed(REAL_SEED).url in urls(index_dir, "facial recognition")
