from __future__ import annotations

import json
import os
import shutil

import pytest

import newssearch
from newssearch import IndexLockedError, SchemaVersionError, index_seeds, indexing, open_index, store, workers
from newssearch.indexing import SkippedFile
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


def test_a_waiting_duplicate_that_turns_bad_as_the_holder_goes_keeps_nothing(seeds, index_dir):
    """Only a file the index held when it turned bad is kept: a duplicate never was.

    The holder of a url turns bad (and is kept), then is moved over the
    duplicate waiting behind it: the holder is gone and the duplicate is bad.
    The index held the duplicate's text at no point, so nothing of the url
    stays, as in a fresh build of the same files.
    """
    holder = write_seed(seeds, "a1.txt", title="Holder version", url="https://x/same")
    waiting = write_seed(seeds, "a2.txt", title="Waiting version", url="https://x/same")
    index_seeds([seeds], index_dir)
    holder.write_text("")
    bump(holder)
    index_seeds([seeds], index_dir)
    assert urls(index_dir, "holder") == ["https://x/same"]
    os.replace(holder, waiting)
    bump(waiting)
    report = index_seeds([seeds], index_dir)
    assert report.skipped == (SkippedFile(str(waiting), "empty file"),)
    assert urls(index_dir) == []


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


def test_a_url_belongs_to_the_first_file_in_path_order_whatever_came_first(seeds, index_dir):
    incumbent = write_seed(seeds, "b.txt", title="Incumbent", url="https://x/same")
    index_seeds([seeds], index_dir)
    newcomer = write_seed(seeds, "a.txt", title="Newcomer", url="https://x/same")  # sorts first, arrives later
    report = index_seeds([seeds], index_dir)
    assert (report.added, report.duplicates) == (1, 1)
    assert report.skipped == (SkippedFile(str(incumbent), f"duplicate webUrl, already indexed from {newcomer}"),)
    assert urls(index_dir, "newcomer") == ["https://x/same"] and urls(index_dir, "incumbent") == []
    # The newcomer goes: the file that waited takes the url back, although it did not change.
    newcomer.unlink()
    report = index_seeds([seeds], index_dir)
    assert (report.removed, report.duplicates, report.skipped) == (1, 0, ())
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
    monkeypatch.setattr(workers, "PARALLEL_THRESHOLD", 10)
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

    def explode(article, **options):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(workers, "seed_document", explode)
    with pytest.raises(RuntimeError):
        index_seeds([seeds], index_dir)
    assert urls(index_dir) == ["https://x/a"]
    assert sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-")) == ["gen-000001"]
    monkeypatch.undo()
    monkeypatch.setenv("NEWSSEARCH_INDEX", str(index_dir))
    assert index_seeds([seeds], index_dir).added == 1


@pytest.mark.parametrize("in_process", [False, True])
def test_a_failure_in_counting_removed_words_fails_the_run_and_leaves_the_previous_index_live(
    seeds, index_dir, monkeypatch, in_process
):
    write_seed(seeds, "a.txt", title="Alpha", url="https://x/a")
    index_seeds([seeds], index_dir)
    write_seed(seeds, "a.txt", title="Alpha again", url="https://x/a")  # its first version's words are forgotten

    def explode(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(indexing, "FORGET_IN_PROCESS", 0 if in_process else 10**9)
    monkeypatch.setattr(indexing, "_removed_words", explode)  # (a forked process has it too)
    with pytest.raises(RuntimeError, match="disk on fire"):
        index_seeds([seeds], index_dir)
    assert sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-")) == ["gen-000001"]
    monkeypatch.undo()
    assert index_seeds([seeds], index_dir).updated == 1
    assert urls(index_dir, "again") == ["https://x/a"]


def test_a_thread_beside_a_failing_block_has_ended_before_the_error_leaves():
    """The manifest and the vocabulary are written in threads beside the merge and the arrays.
    When the main block fails, its generation is removed: only once the thread has stopped
    writing into it (a file written during the removal kept the folder, seen under load)."""
    import time

    ended = []

    def slow_writer():
        time.sleep(0.3)
        ended.append(True)

    with pytest.raises(RuntimeError, match="disk on fire"):
        with indexing._in_thread(slow_writer):
            raise RuntimeError("disk on fire")
    assert ended == [True]

    def failing_writer():
        time.sleep(0.1)
        raise OSError("the thread's own error, dropped for the block's")

    with pytest.raises(RuntimeError, match="disk on fire"):
        with indexing._in_thread(failing_writer):
            raise RuntimeError("disk on fire")


def test_an_index_of_a_newer_schema_version_asks_for_a_rebuild(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    index_seeds([seeds], index_dir)
    meta_path = store.current_generation(index_dir) / store.META
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = SCHEMA_VERSION + 1
    meta_path.write_text(json.dumps(meta))
    message = f'schema version {SCHEMA_VERSION + 1}, this newssearch uses version {SCHEMA_VERSION}: run "newssearch index --rebuild"'
    with pytest.raises(SchemaVersionError, match=message):
        index_seeds([seeds], index_dir)
    with pytest.raises(SchemaVersionError):
        open_index(index_dir)
    assert index_seeds([seeds], index_dir, rebuild=True).added == 1
    assert len(urls(index_dir)) == 1


def test_an_index_of_an_older_schema_version_is_rebuilt_with_a_notice(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    index_seeds([seeds], index_dir)
    meta_path = store.current_generation(index_dir) / store.META
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = SCHEMA_VERSION - 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(SchemaVersionError, match=f'uses version {SCHEMA_VERSION}: run "newssearch index"$'):
        open_index(index_dir)
    report = index_seeds([seeds], index_dir)  # no --rebuild needed: the seeds are the source of truth
    assert report.added == 1
    changes = store.changes_since(SCHEMA_VERSION - 1)
    assert [w.reason for w in report.warnings] == [
        f"the index was built with schema version {SCHEMA_VERSION - 1}; rebuilt it with version {SCHEMA_VERSION}"
        + (f" ({changes})" if changes else "")
    ]
    assert len(urls(index_dir)) == 1


def test_an_index_stemmed_by_porter2_is_rebuilt_by_newssearch_index_with_a_one_line_notice(seeds, index_dir, monkeypatch):
    from click.testing import CliRunner
    from whoosh.lang.porter2 import stem as porter2

    from newssearch import schema
    from newssearch.cli import cli

    write_seed(seeds, "night.txt", title="An evening of jazz", url="https://x/night")
    with monkeypatch.context() as old:  # the index as schema version 3 made it: Porter2's stems
        old.setattr(schema, "stem", porter2)
        schema.term_of.cache_clear()
        index_seeds([seeds], index_dir, workers=1)
        with open_index(index_dir) as ix:
            assert ix.search("even").total == 1  # "evening" was stemmed to "even"
        meta_path = store.current_generation(index_dir) / store.META
        meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "schema_version": 3}))
    schema.term_of.cache_clear()
    with pytest.raises(SchemaVersionError, match=f'version 3, this newssearch uses version {SCHEMA_VERSION}: run "newssearch index"$'):
        open_index(index_dir)

    result = CliRunner().invoke(cli, ["index", str(seeds), "--index-dir", str(index_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    notices = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert notices == [
        f"warning {index_dir}: the index was built with schema version 3; rebuilt it with version {SCHEMA_VERSION} "
        "(a better English stemmer, urls compared in any spelling, near-duplicates grouped; "
        "an index about a third smaller on disk; a smaller index that checks a large unchanged corpus faster; "
        "compressed posting lists, a sixth smaller on disk)"
    ]
    with open_index(index_dir) as ix:
        assert ix.search("even").total == 0 and ix.search("evenings").total == 1


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


# -- the index equals a fresh build: one rule for who holds a url ------------------


def same_as_fresh_build(seeds, index_dir, tmp_path):
    """The incremental index against a build from scratch of the same folder."""
    from .test_equivalence import snapshot, stored_owners_are_found_ones

    fresh = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
    index_seeds([seeds], fresh)
    return snapshot(index_dir, seeds) == snapshot(fresh, seeds) and stored_owners_are_found_ones(index_dir)


def test_two_files_that_swap_their_urls_are_both_updated(seeds, index_dir, tmp_path):
    a = write_seed(seeds, "a.txt", title="Alpha story", url="https://x/1")
    b = write_seed(seeds, "b.txt", title="Beta story", url="https://x/2")
    index_seeds([seeds], index_dir)
    write_seed(seeds, "a.txt", title="Alpha story", url="https://x/2")
    write_seed(seeds, "b.txt", title="Beta story", url="https://x/1")
    bump(a), bump(b)
    report = index_seeds([seeds], index_dir)
    assert (report.updated, report.skipped) == (2, ())
    assert urls(index_dir, "alpha") == ["https://x/2"] and urls(index_dir, "beta") == ["https://x/1"]
    assert same_as_fresh_build(seeds, index_dir, tmp_path)


@pytest.mark.parametrize("edit", ["text", "url", "related", "bad", "duplicate"])
def test_owners_are_found_again_only_when_a_file_changed_what_it_claims(seeds, index_dir, tmp_path, monkeypatch, edit):
    """The owners are a function of each file's url, state and related urls: when an update
    edits only text, the base's owners are the run's (found once), and the index is still
    what a fresh build makes; any other edit finds them again."""
    for i in range(6):
        write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i}",
                   related=[related(f"Shared {i % 2}", f"https://r/{i % 2}"), related(f"Own {i}", f"https://r/own{i}")])
    index_seeds([seeds], index_dir)
    changes = {
        "text": {"title": "Story 2 revised"},
        "url": {"url": "https://x/20"},
        "related": {"related": [related("Shared 1", "https://r/1")]},
        "duplicate": {"url": "https://x/0"},
    }
    if edit == "bad":
        (seeds / "2.txt").write_text("no front matter")
    else:
        write_seed(seeds, "2.txt", **{"title": "Story 2", "url": "https://x/2",
                                      "related": [related("Shared 0", "https://r/0"), related("Own 2", "https://r/own2")],
                                      **changes[edit]})
    bump(seeds / "2.txt")
    from .test_equivalence import stored_owners_are_found_ones

    assert stored_owners_are_found_ones(index_dir) and all(store.load_related_columns(store.live_generation(index_dir))[2])
    calls = []
    counted = indexing.owners
    monkeypatch.setattr(indexing, "owners", lambda *columns: calls.append(1) or counted(*columns))
    before = store.live_generation(index_dir) / store.RELATED_URLS
    written = {}
    write = store.write_columns
    monkeypatch.setattr(store, "write_columns", lambda path, columns: written.update({path.name: columns}) or write(path, columns))
    report = index_seeds([seeds], index_dir)
    # The base's owners are read from where the build stored them; only an edit that changes
    # what a file claims finds them again.
    assert report.unchanged == 5 and len(calls) == (0 if edit == "text" else 1)
    monkeypatch.setattr(indexing, "owners", counted)
    # The manifest's columns equal to the base's are written as its compressed bytes, not
    # encoded again; the file is what writing its values afresh makes.
    encoded = {name for name, values in written[store.MANIFEST].items() if not isinstance(values, store.StoredColumn)}
    assert encoded == {"text": {"mtime_ns", "sizes"}, "url": {"mtime_ns", "sizes", "urls"}, "related": {"mtime_ns", "sizes"},
                       "bad": {"mtime_ns", "sizes", "states", "notes"}, "duplicate": {"mtime_ns", "urls"}}[edit]
    manifest = store.live_generation(index_dir) / store.MANIFEST
    columns = store.load_columns(manifest, {})
    assert report.duplicates == indexing._count_duplicates(columns["urls"], columns["states"]) == (edit == "duplicate")
    store.write_columns(tmp_path / "afresh.cols", columns)
    assert (tmp_path / "afresh.cols").read_bytes() == manifest.read_bytes()
    # The related urls file is the base's own when no file changed what it claims; written anew
    # otherwise, with the same urls unless a file's related urls changed.
    after = store.live_generation(index_dir) / store.RELATED_URLS
    assert after.samefile(before) is (edit == "text")
    assert (store.load_related_columns(after.parent)[:2] == store.load_related_columns(before.parent)[:2]) is (edit != "related")
    if edit == "bad":  # the index keeps the last good version, which a fresh build never saw
        assert urls(index_dir, "story") == [f"https://x/{i}" for i in range(6)]
        assert stored_owners_are_found_ones(index_dir)
    else:
        assert same_as_fresh_build(seeds, index_dir, tmp_path)


def test_a_base_without_stored_owners_is_updated_as_before(seeds, index_dir, tmp_path, monkeypatch):
    """A generation whose related urls file stores no owners (written before they were stored) has
    them found from its manifest; the next generation stores them."""
    import dataclasses

    for i in range(4):
        write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i}", related=[related(f"Shared {i}", "https://r/shared")])
    index_seeds([seeds], index_dir)
    gen = store.live_generation(index_dir)
    columns = store.load_columns(gen / store.RELATED_URLS, {})
    store.write_columns(gen / store.RELATED_URLS, {"paths": columns["paths"], "related": columns["related"]})
    meta = store.read_meta(gen)
    meta = dataclasses.replace(meta, files=store.file_sizes(gen), crc32=store.file_checksums(gen, meta.files))
    store.write_json(gen / store.META, meta.to_json())
    assert store.load_related_columns(gen)[2] is None
    bump(write_seed(seeds, "2.txt", title="Story 2 revised", url="https://x/2", related=[related("Shared 2", "https://r/shared")]))
    calls = []
    counted = indexing.owners
    monkeypatch.setattr(indexing, "owners", lambda *columns: calls.append(1) or counted(*columns))
    report = index_seeds([seeds], index_dir)
    assert (report.updated, report.warnings, len(calls)) == (1, (), 1)
    monkeypatch.setattr(indexing, "owners", counted)
    assert same_as_fresh_build(seeds, index_dir, tmp_path)  # (which compares the stored owners with owners())


def test_stored_owners_that_do_not_fit_the_columns_are_not_used():
    paths, urls, related_urls = ["a", "b"], ["https://x/1", "https://x/1"], [["https://r/1"], ["https://r/1", "https://r/2"]]
    expected = indexing.owners(paths, urls, ["ok", "ok"], related_urls)
    assert expected == ({"https://x/1": "a"}, {"https://r/1": "a"})
    assert indexing.stored_owners(paths, urls, related_urls, ([0], [0])) == expected
    for wrong in (([2], [0]), ([-1], [0]), ([0], [3]), ([1, 0], [0]), ([0, 0], [0]), ([0], [0, 0])):
        assert indexing.stored_owners(paths, urls, related_urls, wrong) is None, wrong
    assert indexing.stored_owners(paths, urls, related_urls, None) is None


def test_stored_owners_that_are_not_rows_are_read_as_none(tmp_path):
    base = {"paths": ["a"], "related": [["https://r/1"]]}
    for holders, held in (([0], [0]), (["0"], [0]), ([0], [["x"]]), ([0], None)):
        columns = {**base, "seed_holders": holders} if held is None else {**base, "seed_holders": holders, "related_held": held}
        store.write_columns(tmp_path / store.RELATED_URLS, columns)
        stored = store.load_related_columns(tmp_path)[2]
        assert stored == ((holders, held) if (holders, held) == ([0], [0]) else None)


def test_three_files_that_rotate_their_urls(seeds, index_dir, tmp_path):
    names = ["a.txt", "b.txt", "c.txt"]
    for i, name in enumerate(names):
        write_seed(seeds, name, title=f"Story {name[0]}", url=f"https://x/{i}")
    index_seeds([seeds], index_dir)
    for i, name in enumerate(names):
        bump(write_seed(seeds, name, title=f"Story {name[0]}", url=f"https://x/{(i + 1) % 3}"))
    report = index_seeds([seeds], index_dir)
    assert (report.updated, report.skipped, report.duplicates) == (3, (), 0)
    assert same_as_fresh_build(seeds, index_dir, tmp_path)


def test_a_new_file_takes_the_url_a_changed_file_gave_up(seeds, index_dir, tmp_path):
    a = write_seed(seeds, "c.txt", title="Old holder", url="https://x/taken")
    index_seeds([seeds], index_dir)
    bump(write_seed(seeds, "c.txt", title="Old holder", url="https://x/elsewhere"))
    write_seed(seeds, "b.txt", title="Newcomer", url="https://x/taken")  # read before the file that freed it
    report = index_seeds([seeds], index_dir)
    assert (report.added, report.updated, report.skipped) == (1, 1, ())
    assert urls(index_dir, "newcomer") == ["https://x/taken"]
    assert same_as_fresh_build(seeds, index_dir, tmp_path)
    assert a.exists()


def test_a_feed_named_by_position_shifts_by_one(seeds, index_dir, tmp_path):
    stories = [f"Story number {word}" for word in ("zero", "one", "two", "three", "four")]
    for i, title in enumerate(stories[:4]):
        write_seed(seeds, f"{i:04d}.txt", title=title, url=f"https://x/{i}")
    index_seeds([seeds], index_dir)
    # The oldest drops out: each file now holds its successor's article, and a new one arrives.
    for i, title in enumerate(stories[1:]):
        bump(write_seed(seeds, f"{i:04d}.txt", title=title, url=f"https://x/{i + 1}"))
    report = index_seeds([seeds], index_dir)
    assert (report.updated, report.skipped, report.duplicates) == (4, (), 0)
    assert sorted(urls(index_dir, "story")) == [f"https://x/{i}" for i in range(1, 5)]
    assert same_as_fresh_build(seeds, index_dir, tmp_path)


def test_a_folder_with_a_duplicate_url_writes_nothing_when_unchanged(seeds, index_dir):
    write_seed(seeds, "a.txt", title="First", url="https://x/same")
    write_seed(seeds, "b.txt", title="Second", url="https://x/same")
    index_seeds([seeds], index_dir)
    live = store.current_generation(index_dir)
    for _ in range(2):
        report = index_seeds([seeds], index_dir)
        assert (report.written, report.skipped, report.duplicates, report.unchanged) == (False, (), 1, 2)
    assert store.current_generation(index_dir) == live


def test_the_same_folder_reached_twice_is_one_set_of_files(seeds, index_dir, tmp_path):
    write_seed(seeds, "a.txt", title="Alpha")
    write_seed(seeds, "b.txt", title="Beta")
    link = tmp_path / "link"
    link.symlink_to(seeds, target_is_directory=True)
    report = index_seeds([seeds, link], index_dir)
    assert (report.added, report.skipped, report.duplicates) == (2, (), 0)
    again = index_seeds([seeds, link], index_dir)
    assert (again.written, again.skipped, again.unchanged) == (False, (), 2)
    # A hard link is the same file too.
    os.link(seeds / "a.txt", seeds / "a-again.txt")
    report = index_seeds([seeds, link], index_dir)
    assert (report.skipped, report.duplicates, report.total_documents) == ((), 0, 2)


def test_a_bad_file_is_listed_on_every_run_but_writes_nothing(seeds, index_dir):
    write_seed(seeds, "good.txt", title="Good")
    (seeds / "bad.txt").write_text("---\ntitle: [broken\n---\n")
    index_seeds([seeds], index_dir)
    report = index_seeds([seeds], index_dir)
    assert report.written is False
    assert [os.path.basename(s.path) for s in report.skipped] == ["bad.txt"]


def test_a_kept_version_that_lost_its_url_comes_back_when_the_url_is_free(seeds, index_dir, tmp_path):
    kept = write_seed(seeds, "b.txt", title="Kept telling", url="https://x/same")
    index_seeds([seeds], index_dir)
    kept.write_text("---\ntitle: [broken\n---\n")
    bump(kept)
    assert "kept the last good version" in index_seeds([seeds], index_dir).skipped[0].reason
    first = write_seed(seeds, "a.txt", title="Earlier telling", url="https://x/same")
    index_seeds([seeds], index_dir)
    assert urls(index_dir, "telling") == ["https://x/same"] and urls(index_dir, "kept") == []
    first.unlink()
    index_seeds([seeds], index_dir)
    assert urls(index_dir, "kept") == ["https://x/same"]


def test_an_unchanged_corpus_succeeds_on_a_read_only_index(seeds, index_dir, monkeypatch):
    write_seed(seeds, "a.txt", title="Alpha")
    index_seeds([seeds], index_dir)
    before = sorted(p.name for p in index_dir.rglob("*"))
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):  # tests run as root, which writes anywhere: simulate EROFS
        if str(path).startswith(str(index_dir)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    report = index_seeds([seeds], index_dir)
    assert (report.written, report.unchanged) == (False, 1)
    write_seed(seeds, "b.txt", title="Beta")
    with pytest.raises(OSError, match="read-only"):
        index_seeds([seeds], index_dir)
    monkeypatch.undo()
    assert sorted(p.name for p in index_dir.rglob("*")) == before


def test_an_unchanged_run_removes_what_a_killed_run_left(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha")
    index_seeds([seeds], index_dir)
    (index_dir / "gen-000002").mkdir()  # SIGTERM or SIGKILL before it published
    (index_dir / "gen-000002" / "MAIN_half.seg").write_bytes(b"junk")
    assert index_seeds([seeds], index_dir).written is False
    assert sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-")) == ["gen-000001"]


def test_a_file_name_that_is_not_utf8_is_indexed(seeds, index_dir, tmp_path):
    name = os.fsdecode(b"caf\xe9.txt")
    write_seed(seeds, name, title="Zurich cafe", url="https://x/cafe")
    (seeds / os.fsdecode(b"b\xffad.txt")).write_text("")
    report = index_seeds([seeds], index_dir)
    assert report.added == 1
    with open_index(index_dir) as ix:
        assert [h.path for h in ix.search("cafe").hits] == [str(seeds / name)]
    assert [s.path for s in report.skipped] == [str(seeds / os.fsdecode(b"b\xffad.txt"))]
    assert newssearch.errors.readable(report.skipped[0].path).endswith("b\\xffad.txt")
    assert index_seeds([seeds], index_dir).written is False
    assert same_as_fresh_build(seeds, index_dir, tmp_path)


def test_paths_may_be_one_path_and_must_not_be_empty(seeds, index_dir, tmp_path):
    write_seed(seeds, "a.txt", title="Alpha")
    assert index_seeds(str(seeds), index_dir).added == 1  # one path, not a list of characters
    assert index_seeds(seeds, tmp_path / "other").added == 1
    for bad, message in (([], "no seed files or folders given"), (42, "expected a path or a list of paths"), ([None], "expected a path")):
        with pytest.raises(newssearch.InputPathError, match=message):
            index_seeds(bad, index_dir)


@pytest.mark.parametrize(("option", "value"), [("workers", 0), ("workers", True), ("workers", "2"), ("lock_timeout", -1), ("lock_timeout", "3")])
def test_index_seeds_options_are_checked(seeds, index_dir, option, value):
    with pytest.raises(newssearch.InputPathError, match=option):
        index_seeds([seeds], index_dir, **{option: value})


def test_stats_size_is_the_live_generation_on_disk(seeds, index_dir):
    path = write_seed(seeds, "a.txt", title="Alpha")
    for _ in range(3):
        bump(path)
        index_seeds([seeds], index_dir)
    live = store.current_generation(index_dir)
    with open_index(index_dir) as ix:
        assert ix.stats().size_bytes == sum(p.stat().st_size for p in live.iterdir() if p.is_file())


def test_the_vocabulary_counts_what_the_live_articles_hold(seeds, index_dir, tmp_path):
    from newssearch.vocab import Vocabulary

    path = write_seed(seeds, "a.txt", title="Zanzibar harbour", url="https://x/a")
    write_seed(seeds, "b.txt", title="Harbour news", url="https://x/b")
    index_seeds([seeds], index_dir)
    for _ in range(3):  # edited again and again: its words must not pile up
        bump(write_seed(seeds, "a.txt", title="Zanzibar harbour", url="https://x/a"))
        index_seeds([seeds], index_dir)
    path.unlink()
    index_seeds([seeds], index_dir)
    counts = Vocabulary.load(store.current_generation(index_dir)).counts
    assert "zanzibar" not in counts
    index_seeds([seeds], tmp_path / "fresh")
    assert counts == Vocabulary.load(store.current_generation(tmp_path / "fresh")).counts


def test_an_unchanged_corpus_is_recognised_by_its_columns_as_by_comparing_each_file(seeds, index_dir, tmp_path):
    # The no-op run compares the manifest's path, time and size columns with the walk's in C;
    # it must decide what the per-file comparison decides, for bad, kept and duplicate files too.
    from newssearch import indexing
    from newssearch.seeds import find_seed_files

    for i in range(6):
        write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i % 4}")  # 4 and 5: duplicates
    (seeds / "bad.txt").write_text("no front matter")
    kept = write_seed(seeds, "kept.txt", title="Kept", url="https://x/kept")
    index_seeds([seeds], index_dir)
    kept.write_text("---\ntitle: [\n---\n")  # turns bad while indexed: its last version is kept
    index_seeds([seeds], index_dir)

    def run(manifest, files):
        state = indexing._Run(manifest, files, [str(seeds)], base)
        skipped = sorted(state.skipped, key=lambda s: s.path)
        return (state.to_parse, state.removed, state.unchanged, skipped, state.removed_count, state.duplicate_count)

    base = store.current_generation(index_dir)
    loaded = indexing._load_manifest(base)
    files = find_seed_files([seeds])
    assert indexing._Run(loaded, files, [str(seeds)], base).same
    assert run(loaded, files) == run(loaded.entries(), files)  # a plain dict: file by file
    fast = run(loaded, files)
    assert fast[:3] == ([], [], 8) and {s.path for s in fast[3]} == {str(seeds / "bad.txt"), str(kept)}
    assert fast[4:] == (0, 2)
    # One file touched: the same paths, compared by the time and size columns; as file by file.
    os.utime(seeds / "0.txt", ns=(1, 1))
    files = find_seed_files([seeds])
    by_column, by_file = (indexing._Run(m, files, [str(seeds)], base) for m in (loaded, loaded.entries()))
    assert not by_column.same and by_column.new == by_file.new and len(by_column.new) == 7
    assert run(loaded, files) == run(loaded.entries(), files)
    assert [f.path for f in run(loaded, files)[0]] == [str(seeds / "0.txt")]
    # And one gone: not the same paths, file by file again.
    (seeds / "1.txt").unlink()
    files = find_seed_files([seeds])
    assert not indexing._Run(loaded, files, [str(seeds)], base).same
    assert run(loaded, files) == run(loaded.entries(), files)
    assert [f.path for f in run(loaded, files)[0]] == [str(seeds / "0.txt")]


def _owners_by_the_rule(paths, urls, states, related):
    """The ownership rule, file by file: what ``owners`` computes column by column."""
    seeds: dict[str, str] = {}
    for path, url, state in zip(paths, urls, states):
        if state != indexing.BAD and url not in seeds:
            seeds[url] = path
    owned: dict[str, str] = {}
    for path, url, state, listed in zip(paths, urls, states, related):
        if state != indexing.BAD and seeds[url] == path:
            for other in listed:
                if other not in seeds and other not in owned:
                    owned[other] = path
    return seeds, owned


@pytest.mark.parametrize("seed", range(20))
def test_owners_follow_the_rule_file_by_file(seed):
    import random

    rng = random.Random(seed)
    urls = [f"u{i}" for i in range(12)]  # few urls: duplicates, seeds listed as related, urls listed twice
    paths = sorted(f"/feed/{rng.randrange(10**6):06}.txt" for _ in range(rng.randrange(0, 30)))
    paths = list(dict.fromkeys(paths))
    states = [rng.choice([indexing.OK, indexing.OK, indexing.KEPT, indexing.BAD]) for _ in paths]
    seed_urls = [rng.choice(urls) if state != indexing.BAD else "" for state in states]
    related = [[rng.choice(urls) for _ in range(rng.randrange(4))] if state != indexing.BAD else [] for state in states]
    assert indexing.owners(paths, seed_urls, states, related) == _owners_by_the_rule(paths, seed_urls, states, related)


def test_a_seed_path_that_is_not_there_is_reported_before_the_index_folder_is_made(tmp_path):
    """The folders are walked while the base loads, inside the write lock, so the given paths
    are checked first: a typo makes no empty index folder."""
    with pytest.raises(newssearch.InputPathError, match="no-such-folder"):
        index_seeds([tmp_path / "no-such-folder"], tmp_path / "index")
    assert not (tmp_path / "index").exists()


def test_removed_words_counted_in_a_forked_process_leave_the_vocabulary_as_a_fresh_build_has_it(
    seeds, index_dir, tmp_path, monkeypatch
):
    """From FORGET_IN_PROCESS removed documents their words are counted in a forked process
    (in a thread below that): the vocabulary is the same either way, a fresh build's."""
    for i in range(12):
        write_seed(seeds, f"{i:02d}.txt", title=f"Harbour {i} storm", url=f"https://x/{i}",
                   body=f"quay{i} lighthouse " * 3, related=[related(f"Ferry {i}", f"https://r/{i}")])
    index_seeds([seeds], index_dir)
    monkeypatch.setattr(indexing, "FORGET_IN_PROCESS", 1)
    forked = []
    child = workers.Child
    monkeypatch.setattr(workers, "Child", lambda *args: forked.append(args[0].__name__) or child(*args))
    for i in range(0, 12, 3):
        write_seed(seeds, f"{i:02d}.txt", title=f"Harbour {i} revised", url=f"https://x/{i}", body="breakwater")
    (seeds / "01.txt").unlink()
    report = index_seeds([seeds], index_dir)
    assert (report.updated, report.removed) == (4, 1) and forked == ["_removed_words"]
    assert same_as_fresh_build(seeds, index_dir, tmp_path)
    from newssearch.vocab import Vocabulary

    words = Vocabulary.load(store.live_generation(index_dir)).counts
    assert "quay3" not in words and "quay2" in words and words["breakwater"] == 4
