"""The indexing processes (newssearch.workers): batches, when to fork, and dying with the indexer."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from newssearch import workers
from newssearch.errors import SeedError
from newssearch.schema import build_schema

from .conftest import write_seed


def test_files_go_to_the_workers_in_batches_of_parse_batch(monkeypatch):
    monkeypatch.setattr(workers, "PARSE_BATCH", 3)
    assert workers.batches([str(i) for i in range(7)]) == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert workers.batches([]) == []


def test_no_process_is_started_for_few_files_or_one_worker(tmp_path):
    schema = build_schema()
    assert workers.start(tmp_path, schema, workers.PARALLEL_THRESHOLD - 1, 4) is None
    assert workers.start(tmp_path, schema, workers.PARALLEL_THRESHOLD, 1) is None


def test_a_segment_writer_reports_each_file_in_order_and_where_its_documents_are(seeds, tmp_path):
    good = write_seed(seeds, "a.txt", title="Alpha", url="https://x/a",
                      related=[{"title": "R", "webUrl": "https://r/1"}])
    bad = seeds / "b.txt"
    bad.write_text("no front matter")
    writer = workers.SegmentWriter(tmp_path, build_schema())
    try:
        parsed, error = writer.parse([str(good), str(bad)])
        assert isinstance(error, SeedError) and error.path == str(bad)
        assert (parsed.path, parsed.url, parsed.related, parsed.docnum, parsed.related_docnums) == (
            str(good), "https://x/a", ("https://r/1",), 0, (1,))
        assert parsed.segid == writer.builder.segment.segid
    finally:
        writer.abandon()


def test_a_worker_whose_parent_already_died_exits():
    """The race the kill test found: the parent dies between fork and the worker's kill-on-death request."""
    code = "from newssearch import workers; workers.die_with_parent(2**22 + 12345); print('alive')"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (1, "")


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        try:
            for task in os.listdir(f"/proc/{parent}/task"):
                with open(f"/proc/{parent}/task/{task}/children") as fh:
                    children = [int(c) for c in fh.read().split()]
                found.update(children)
                todo += children
        except OSError:
            continue
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_forked_before_the_walk_die_with_a_killed_indexer(seeds, tmp_path):
    for i in range(3000):
        write_seed(seeds, f"{i:04d}.txt", title=f"Story {i}", url=f"https://x/{i}", body="Some words of a body. " * 40)
    code = ("import sys; from newssearch import indexing, workers; workers.EARLY_WORKERS = 10; workers.PARSE_BATCH = 2; "
            "indexing.index_seeds([sys.argv[1]], sys.argv[2], workers=2)")
    run = subprocess.Popen([sys.executable, "-c", code, str(seeds), str(tmp_path / "index")])
    try:
        deadline = time.monotonic() + 120
        while len(_descendants(run.pid)) < 2 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        started = _descendants(run.pid)
        assert len(started) >= 2, "two workers"
    finally:
        run.kill()
        run.wait()
    deadline = time.monotonic() + 10
    while any(map(_running, started)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in started if _running(pid)], "processes outlived the killed indexer"


def test_a_seeds_related_entries_are_the_documents_right_after_it(seeds, tmp_path):
    # The indexer keeps only each seed's docnum and finds its related entries after it.
    paths = [str(write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i}",
                            related=[{"title": f"R{i}-{k}", "webUrl": f"https://r/{i}/{k}"} for k in range(i % 4)]))
             for i in range(9)]
    writer = workers.SegmentWriter(tmp_path, build_schema())
    try:
        results = writer.parse(paths)
        assert [len(r.related_docnums) for r in results] == [i % 4 for i in range(9)]
        for parsed in results:
            assert parsed.related_docnums == tuple(range(parsed.docnum + 1, parsed.docnum + 1 + len(parsed.related)))
    finally:
        writer.abandon()


def test_a_small_run_is_queued_whole_before_its_first_result_is_asked_for(seeds, tmp_path, monkeypatch):
    """The workers parse while the main process does its own work (an update finds who held each
    url before): every batch of a small run is queued at once, a larger run's first window."""
    monkeypatch.setattr(workers, "PARSE_BATCH", 16)
    paths = [str(write_seed(seeds, f"{i:03d}.txt", title=f"Story {i}", url=f"https://x/{i}")) for i in range(240)]
    for queued_at_once, whole in ((len(paths) // 16, True), (4, False)):
        monkeypatch.setattr(workers, "QUEUED_AT_ONCE", queued_at_once)
        folder = tmp_path / f"segments-{whole}"
        folder.mkdir()
        pool = workers.start(folder, build_schema(), len(paths), 2)
        assert pool is not None
        try:
            results = pool.run(paths)
            assert pool._stopping is whole  # the end is signalled once the last batch is queued
            if whole:  # nothing asked for yet, and both workers are at work
                deadline = time.monotonic() + 30
                while any(q.empty() for q in pool.results) and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert all(not q.empty() for q in pool.results)
            assert [r.path for r in results] == paths
            assert sum(s.doc_count_all() for found, _ in pool.finish() for s in found) == len(paths)
        finally:
            pool.stop()
