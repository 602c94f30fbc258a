"""``newssearch index --watch``: the index follows seed files as they appear, change and go."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import newssearch
from newssearch import store
from newssearch.errors import IndexLockedError
from newssearch.watch import is_seed_change, watch

from .conftest import write_seed

WAIT = 30  # seconds any one expected report may take, at most


def test_which_changes_matter(tmp_path):
    root = str(tmp_path / "seeds")
    os.makedirs(root)
    assert is_seed_change(f"{root}/a.txt", [root])
    assert is_seed_change(f"{root}/deep/er/a.YML", [root])
    assert is_seed_change(root, [root])  # the folder itself went or was renamed
    assert not is_seed_change(f"{root}/a.py", [root])
    assert not is_seed_change(f"{root}/.a.txt", [root])
    assert not is_seed_change(f"{root}/.git/a.txt", [root])
    assert not is_seed_change(f"{root}x/a.txt", [root])  # a sibling whose name starts the same
    assert not is_seed_change(str(tmp_path / "elsewhere.txt"), [root])
    named = str(tmp_path / "feed.json")
    assert is_seed_change(named, [named])  # a file named directly counts whatever its suffix


class Watcher:
    """``watch`` in a thread, its reports and errors in queues; stopped at the end of the test."""

    def __init__(self, paths: list[Path], index_dir: Path) -> None:
        self.reports: queue.Queue = queue.Queue()
        self.errors: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.failure: list[BaseException] = []

        def target() -> None:
            try:
                watch(paths, index_dir, on_report=self.reports.put, on_error=self.errors.put, stop=self.stop, workers=1)
            except BaseException as exc:  # noqa: BLE001 - reported by next()
                self.failure.append(exc)
                self.reports.put(None)

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def next(self):
        report = self.reports.get(timeout=WAIT)
        assert report is not None, self.failure
        return report

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


@pytest.fixture
def watcher(tmp_path):
    seeds = tmp_path / "seeds"
    write_seed(seeds, "first.txt", title="First story", url="https://w.example/first")
    started = Watcher([seeds], tmp_path / "index")
    yield started, seeds, tmp_path / "index"
    started.close()


def titles(index_dir: Path) -> list[str]:
    with newssearch.open_index(index_dir) as ix:
        return sorted(h.title for h in ix.search("", limit=1000).hits)


def test_watch_indexes_new_changed_and_removed_seeds(watcher):
    w, seeds, index_dir = watcher
    assert w.next().added == 1
    write_seed(seeds, "second.txt", title="Second story", url="https://w.example/second")
    assert w.next().added == 1
    assert titles(index_dir) == ["First story", "Second story"]
    write_seed(seeds, "second.txt", title="Second story, revised", url="https://w.example/second")
    assert w.next().updated == 1
    (seeds / "first.txt").unlink()
    assert w.next().removed == 1
    assert titles(index_dir) == ["Second story, revised"]


def test_a_burst_of_files_is_indexed_in_a_few_runs(watcher):
    w, seeds, index_dir = watcher
    w.next()
    for i in range(40):
        write_seed(seeds / "burst", f"b{i:02d}.txt", title=f"Burst story {i}", url=f"https://w.example/b{i}")
    added, runs = 0, 0
    while added < 40:
        added += w.next().added
        runs += 1
    assert added == 40 and runs < 40
    assert len(titles(index_dir)) == 41


def test_files_that_are_not_seeds_start_no_run(watcher):
    w, seeds, _ = watcher
    w.next()
    (seeds / "notes.py").write_text("x = 1\n")
    (seeds / ".hidden.txt").write_text("---\ntitle: t\nwebUrl: u\n---\n")
    time.sleep(1.5)  # more than a batch's quiet time: a run would have started by now
    write_seed(seeds, "third.txt", title="Third story", url="https://w.example/third")
    report = w.next()
    assert report.added == 1 and report.unchanged == 1


def test_a_run_that_finds_the_index_locked_is_retried_without_a_new_change(watcher):
    w, seeds, index_dir = watcher
    w.next()
    with store.write_lock(index_dir, 5):
        write_seed(seeds, "locked.txt", title="Locked story", url="https://w.example/locked")
        assert isinstance(w.errors.get(timeout=WAIT), IndexLockedError)
    assert w.next().added == 1
    assert "Locked story" in titles(index_dir)


def test_watch_raises_the_first_runs_errors(tmp_path):
    with pytest.raises(newssearch.InputPathError):
        watch([tmp_path / "missing"], tmp_path / "index", on_report=print, on_error=print)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_index_watch_command_reports_each_run_and_stops_cleanly(tmp_path, stop):
    seeds = tmp_path / "seeds"
    write_seed(seeds, "a.txt", title="Story A", url="https://w.example/a")
    proc = subprocess.Popen(
        [sys.executable, "-m", "newssearch", "index", "--watch", "--index-dir", str(tmp_path / "index"), "--workers", "1", str(seeds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().startswith("indexed 1 article: 1 added")
        write_seed(seeds, "b.txt", title="Story B", url="https://w.example/b")
        assert proc.stdout.readline().startswith("indexed 2 articles: 1 added")
        proc.send_signal(stop)
        assert proc.wait(WAIT) == 0
        stderr = proc.stderr.read()
        assert "watching" in stderr and "stopped watching" in stderr and "Traceback" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_watch_and_rebuild_together_is_a_usage_error(tmp_path):
    from click.testing import CliRunner

    from newssearch.cli import cli

    result = CliRunner().invoke(cli, ["index", "--watch", "--rebuild", "--index-dir", str(tmp_path / "i")], catch_exceptions=False)
    assert result.exit_code == 2 and "--watch cannot be combined with --rebuild" in result.output


def test_serve_watch_keeps_the_served_index_current(tmp_path):
    import json
    import re
    import urllib.request

    seeds = tmp_path / "seeds"
    write_seed(seeds, "a.txt", title="Served story A", url="https://w.example/sa")
    proc = subprocess.Popen(
        [sys.executable, "-m", "newssearch", "serve", "--index-dir", str(tmp_path / "index"), "--port", "0", "--watch", str(seeds)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        address = re.search(r"at (http://127\.0\.0\.1:\d+/)", proc.stdout.readline()).group(1)

        def total() -> int | None:
            try:
                with urllib.request.urlopen(address + "api/search?q=served", timeout=10) as response:
                    return json.load(response)["total"]
            except urllib.error.HTTPError as exc:
                assert exc.code == 503  # not indexed yet
                return None

        def wait_for(expected: int) -> None:
            deadline = time.monotonic() + WAIT
            while total() != expected:
                assert time.monotonic() < deadline, f"the served index never reached {expected}"
                time.sleep(0.2)

        wait_for(1)
        write_seed(seeds, "b.txt", title="Served story B", url="https://w.example/sb")
        wait_for(2)
        (seeds / "a.txt").unlink()
        wait_for(1)
        children = [int(c) for t in Path(f"/proc/{proc.pid}/task").iterdir() for c in (t / "children").read_text().split()]
        assert children, "serve --watch runs the indexer as a child process"
        proc.terminate()
        proc.wait(WAIT)
        deadline = time.monotonic() + WAIT
        while any(Path(f"/proc/{c}").exists() and "zombie" not in Path(f"/proc/{c}/status").read_text() for c in children):
            assert time.monotonic() < deadline, "the indexer outlived the server"
            time.sleep(0.1)
    finally:
        proc.terminate()
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_serve_watch_of_a_missing_path_is_a_one_line_error(tmp_path):
    from click.testing import CliRunner

    from newssearch.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--index-dir", str(tmp_path / "i"), "--watch", str(tmp_path / "nope")],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'nope'}: no such file or folder\n"


def test_index_watch_format_json_prints_one_report_object_per_line(tmp_path):
    import json

    seeds = tmp_path / "seeds"
    write_seed(seeds, "a.txt", title="Story A", url="https://w.example/ja")
    proc = subprocess.Popen(
        [sys.executable, "-m", "newssearch", "index", "--watch", "--format", "json", "--index-dir", str(tmp_path / "index"),
         "--workers", "1", str(seeds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert json.loads(proc.stdout.readline())["added"] == 1
        (seeds / "a.txt").unlink()
        assert json.loads(proc.stdout.readline())["removed"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
