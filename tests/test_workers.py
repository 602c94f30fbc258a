"""The indexing processes (newssearch.workers): batches, when to fork, and dying with the indexer."""

from __future__ import annotations

import subprocess
import sys

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
