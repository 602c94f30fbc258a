"""Fault injection: kill the indexer, race it, break its environment and its files.

Each promise of RELIABILITY.md has a test here that tries to break it. The
suite runs in CI in well under two minutes; ``NEWSSEARCH_SOAK=1`` scales the
trial counts and corpus sizes up for a longer run by hand.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import IndexCorruptError, docvalues, index_seeds, indexing, open_index, store, workers
from newssearch.cli import cli
from newssearch.schema import SCHEMA_VERSION

from .conftest import write_seed

SOAK = bool(os.environ.get("NEWSSEARCH_SOAK"))
KILL_TRIALS = 200 if SOAK else 20
BASE_SEEDS = 2000 if SOAK else 150
UPDATE_SEEDS = 2000 if SOAK else 250


def newssearch(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newssearch", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def lingering(marker: str, wait: float = 5.0) -> list[int]:
    """Processes whose command line holds ``marker``, once given ``wait`` seconds to exit."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if marker.encode() in fh.read() and int(entry) != os.getpid():
                        found.append(int(entry))
            except (OSError, ValueError):
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def fingerprint(index_dir: Path) -> list[tuple]:
    """What a user sees: every article with its title, topics, date and a query's totals."""
    with open_index(index_dir) as ix:
        # Every article, not one per near-duplicate cluster: the corpus repeats its texts.
        results = ix.search("", limit=1000, facet_limit=100, collapse=False)
        hits = sorted((h.url, h.title, h.topics, h.published, h.kind, h.related_to) for h in results.hits)
        totals = [ix.search(q, collapse=False).total for q in ("story", "update", "alpha", '"breaking story"')]
        return [hits, totals, results.facets]


def make_corpus(folder: Path, count: int, *, start: int = 0, tag: str = "story") -> None:
    for i in range(start, start + count):
        write_seed(folder, f"{i:05d}.txt", title=f"Breaking {tag} number {i}", url=f"https://x/{i}",
                   excerpt=f"An {tag} about alpha and beta {i}", topics=[f"T{i % 7}"],
                   body="Body text. " * 20, published=f"20{10 + i % 10}-0{1 + i % 9}-1{i % 9}T10:00:00Z",
                   related=[{"title": f"Related to {i}", "webUrl": f"https://r/{i % 40}",
                             "publishedDateTime": "2020-01-01T00:00:00Z"}])


# -- crashes -----------------------------------------------------------------------


def test_sigkill_at_any_moment_leaves_the_old_or_the_new_index(tmp_path):
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    make_corpus(seeds, BASE_SEEDS)
    index_seeds([seeds], index_dir)
    old = fingerprint(index_dir)
    pristine = tmp_path / "pristine"
    shutil.copytree(index_dir, pristine, symlinks=True)

    # The update: new files, changed files, deleted files.
    make_corpus(seeds, UPDATE_SEEDS, start=BASE_SEEDS)
    make_corpus(seeds, 30, start=0, tag="update")
    for i in range(30, 60):
        (seeds / f"{i:05d}.txt").unlink()
    scratch = tmp_path / "scratch"
    index_seeds([seeds], scratch)
    new = fingerprint(scratch)
    assert new != old

    env = {**os.environ, "NEWSSEARCH_INDEX": str(index_dir)}
    started = time.monotonic()
    code, err = finish(newssearch("index", str(seeds), env=env))
    assert code == 0, err
    duration = time.monotonic() - started
    outcomes = {"old": 0, "new": 0}
    for trial in range(KILL_TRIALS):
        shutil.rmtree(index_dir)
        shutil.copytree(pristine, index_dir, symlinks=True)
        run = newssearch("index", str(seeds), env=env)
        # Spread the kills over the whole run, the commit and the switch included.
        time.sleep(duration * (trial + 0.5) / KILL_TRIALS)
        run.send_signal(signal.SIGKILL)
        finish(run, timeout=60)
        assert not lingering(str(seeds)), "workers outlived the killed indexer"
        now = fingerprint(index_dir)  # must open, and answer
        assert now in (old, new), f"trial {trial}: a mix of old and new"
        outcomes["old" if now == old else "new"] += 1
        # The next run completes and gives what a build from scratch gives.
        code, err = finish(newssearch("index", str(seeds), env=env))
        assert code == 0, err
        assert fingerprint(index_dir) == new
        leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith("gen-")]
        assert len(leftovers) <= store.KEEP_GENERATIONS
    assert outcomes["old"] > 0  # the kills did land before the switch


def test_an_exception_in_the_commit_leaves_the_old_index(seeds, index_dir, monkeypatch):
    make_corpus(seeds, 20)
    index_seeds([seeds], index_dir)
    before = fingerprint(index_dir)
    make_corpus(seeds, 20, start=20)

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(index_dir))

    monkeypatch.setattr(docvalues, "build", fail)
    result = CliRunner().invoke(cli, ["index", str(seeds)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr == f"Error: writing the index at {index_dir}/: no space left on device\n"
    monkeypatch.undo()
    assert fingerprint(index_dir) == before
    assert [p.name for p in index_dir.iterdir() if p.name.startswith("gen-")] == ["gen-000001"]


def test_interrupting_the_cli_leaves_the_old_index(seeds, index_dir, monkeypatch):
    make_corpus(seeds, 10)
    index_seeds([seeds], index_dir)
    before = fingerprint(index_dir)
    make_corpus(seeds, 10, start=10)
    monkeypatch.setattr(workers, "seed_document", lambda article, **_: (_ for _ in ()).throw(KeyboardInterrupt()))
    result = CliRunner().invoke(cli, ["index", str(seeds)], catch_exceptions=False)
    assert result.exit_code == 130
    assert result.stderr == "Error: interrupted; the index is as it was before this run\n"
    monkeypatch.undo()
    assert fingerprint(index_dir) == before


# -- concurrency ---------------------------------------------------------------------


QUERY_LOOP = """
import sys, time, newssearch
ix = newssearch.open_index(sys.argv[1])
deadline = time.monotonic() + float(sys.argv[2])
seen = set()
while time.monotonic() < deadline:
    r = ix.search("story", collapse=False)  # every copy: each document is in one year
    seen.add(r.total)
    assert r.total == sum(f.count for f in r.facets.published), "facets from another generation"
print(sorted(seen))
"""


def test_queries_in_another_process_see_no_error_and_no_half_state(tmp_path):
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    make_corpus(seeds, 100)
    index_seeds([seeds], index_dir)
    querier = subprocess.Popen([sys.executable, "-c", QUERY_LOOP, str(index_dir), "6"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    totals = {100}
    step = 0
    while querier.poll() is None:
        step += 1
        make_corpus(seeds, 25, start=100 * step)
        totals.add(index_seeds([seeds], index_dir).seeds)
    out, err = querier.communicate()
    assert querier.returncode == 0, err
    seen = set(json.loads(out))
    assert seen <= totals and len(seen) > 1  # every answer is one whole generation


def test_two_indexers_at_once_one_waits_or_reports_the_lock(tmp_path):
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    make_corpus(seeds, 400)
    env = {**os.environ, "NEWSSEARCH_INDEX": str(index_dir)}
    runs = [newssearch("index", str(seeds), env=env) for _ in range(2)]
    results = [finish(r) for r in runs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 1])
    for code, err in results:
        if code == 1:
            assert err.startswith(f"Error: the index at {index_dir}/ is being written by another process")
    assert index_seeds([seeds], index_dir).unchanged == 400  # consistent and complete


def test_one_searcher_shared_by_threads_during_updates(seeds, index_dir):
    make_corpus(seeds, 50)
    index_seeds([seeds], index_dir)
    errors: list[BaseException] = []
    with open_index(index_dir) as ix:
        stop = threading.Event()

        def query() -> None:
            while not stop.is_set():
                try:
                    r = ix.search("story", topics=["T1"], limit=1000, collapse=False)
                    assert r.total == len(r.hits) == sum(f.count for f in r.facets.published)
                except BaseException as exc:  # noqa: BLE001
                    errors.append(exc)

        threads = [threading.Thread(target=query) for _ in range(3)]
        for t in threads:
            t.start()
        for step in range(1, 4):
            make_corpus(seeds, 10, start=50 + 10 * step)
            index_seeds([seeds], index_dir)
        stop.set()
        for t in threads:
            t.join()
        assert ix.search("story", collapse=False).total == 80
    assert errors == []


# -- the environment ---------------------------------------------------------------


def test_an_index_folder_that_cannot_be_created(run_cli, seeds, tmp_path):
    make_corpus(seeds, 2)
    (tmp_path / "file").write_text("x")
    result = run_cli("index", str(seeds), "--index-dir", str(tmp_path / "file" / "index"), code=1)
    assert result.stderr == (f"Error: writing the index at {tmp_path / 'file' / 'index'}/: "
                             f"{tmp_path / 'file'} is a file, not a folder\n")


def test_a_seeds_folder_that_vanishes_mid_run(seeds, index_dir, monkeypatch):
    make_corpus(seeds, 10)
    index_seeds([seeds], index_dir)
    make_corpus(seeds, 10, start=10)
    real = indexing.find_seed_files

    def vanish(paths, **options):
        found = real(paths, **options)
        shutil.rmtree(seeds)
        return found

    monkeypatch.setattr(indexing, "find_seed_files", vanish)
    report = index_seeds([seeds], index_dir)
    assert report.added == 0 and len(report.skipped) == 10
    assert all(s.reason == "no such file or directory" for s in report.skipped)
    monkeypatch.undo()
    assert len(fingerprint(index_dir)[0]) == 10 + 10  # the earlier ten seeds and their related
    with pytest.raises(Exception, match="no such file"):
        index_seeds([seeds], index_dir)


def test_files_deleted_or_truncated_while_being_read(seeds, index_dir, monkeypatch):
    make_corpus(seeds, 6)
    real = workers._parse

    def meddle(path):
        name = os.path.basename(path)
        if name == "00001.txt":
            os.unlink(path)
        elif name == "00002.txt":
            with open(path, "r+b") as f:
                f.truncate(40)
        return real(path)

    monkeypatch.setattr(workers, "_parse", meddle)
    report = index_seeds([seeds], index_dir)
    assert report.added == 4
    reasons = {os.path.basename(s.path): s.reason for s in report.skipped}
    assert reasons["00001.txt"] == "no such file or directory"
    assert reasons["00002.txt"].startswith("front matter is not closed")


def test_special_files_never_hang_the_run(seeds, index_dir):
    make_corpus(seeds, 2)
    os.mkfifo(seeds / "pipe.txt")
    report = index_seeds([seeds], index_dir)  # a FIFO in a folder is not a seed
    assert (report.added, report.skipped) == (2, ())
    result = CliRunner().invoke(cli, ["index", str(seeds / "pipe.txt")], catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (1, f"Error: {seeds / 'pipe.txt'}: not a regular file or folder\n")


def test_unreadable_files_are_skipped_with_the_reason(seeds, index_dir, monkeypatch):
    # Tests run as root, which reads any file whatever its mode: simulate the refusal.
    make_corpus(seeds, 3)
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith("00001.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    report = index_seeds([seeds], index_dir, workers=1)
    assert [(os.path.basename(s.path), s.reason) for s in report.skipped] == [("00001.txt", "permission denied")]


@pytest.mark.parametrize("version", [0, 99])
def test_an_index_of_another_schema_version(run_cli, seeds, index_dir, version):
    make_corpus(seeds, 2)
    index_seeds([seeds], index_dir)
    meta_path = store.current_generation(index_dir) / store.META
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = version
    meta_path.write_text(json.dumps(meta))
    how = "newssearch index" if version < SCHEMA_VERSION else "newssearch index --rebuild"
    expected = (f"Error: the index at {index_dir}/ was built with schema version {version}, this newssearch "
                f'uses version {SCHEMA_VERSION}: run "{how}"\n')
    assert run_cli("query", "story", code=1).stderr == expected
    if version < SCHEMA_VERSION:  # an older index is rebuilt from the seeds, with a notice
        result = run_cli("index", str(seeds))
        assert f"the index was built with schema version {version}; rebuilt it with version {SCHEMA_VERSION}" in result.stderr
    else:  # a newer one may still be in use by a newer newssearch: only on request
        assert run_cli("index", str(seeds), code=1).stderr == expected
        run_cli("index", str(seeds), "--rebuild")
    assert run_cli("query", "story", "--format", "json").stdout


def _scramble(path: Path) -> None:
    """Overwrite a file with as many bytes of garbage: only a checksum can tell."""
    path.write_bytes(b"x" * path.stat().st_size)


INDEXER_FILES = {"missing manifest", "same-size garbage in the related urls"}
DAMAGES = {
    "truncated postings": lambda gen: _truncate(next(gen.glob("*.pst"))),
    "garbage table of contents": lambda gen: next(gen.glob("_MAIN_*.toc")).write_bytes(b"\x00garbage"),
    "missing terms file": lambda gen: next(gen.glob("*.trm")).unlink(),
    "garbage facet arrays": lambda gen: (gen / "facets.npz").write_bytes(b"PK\x03\x04junk"),
    "missing manifest": lambda gen: (gen / store.MANIFEST).unlink(),
    "same-size garbage in the related urls": lambda gen: _scramble(gen / store.RELATED_URLS),
    "CURRENT names a missing generation": lambda gen: (gen.parent / "CURRENT").write_text("gen-000099\n"),
}


def _truncate(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(max(1, path.stat().st_size // 3))


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_index_is_reported_then_rebuilt(run_cli, seeds, index_dir, damage):
    make_corpus(seeds, 30)
    index_seeds([seeds], index_dir)
    expected = fingerprint(index_dir)
    gen = store.current_generation(index_dir)
    DAMAGES[damage](gen)
    if damage not in INDEXER_FILES:  # the manifest and related urls are the indexer's, not the searcher's
        result = run_cli("query", "story", code=1)
        assert result.stderr.startswith(f"Error: the index at {index_dir}/ is damaged (")
        assert result.stderr.endswith('): run "newssearch index --rebuild"\n')
        assert result.stderr.count("\n") == 1
    result = run_cli("index", str(seeds))
    if damage != "missing manifest":
        assert "the index was damaged" in result.stderr and "rebuilt it from the seeds" in result.stderr
    assert fingerprint(index_dir) == expected


# -- scale of input ------------------------------------------------------------------


def test_oversized_inputs_are_bounded(seeds, index_dir):
    big = seeds / "big.txt"
    with open(big, "wb") as f:  # a 50 MB seed, read no further than the limit
        f.write(b"---\ntitle: big\n")
        f.truncate(50 * 1024 * 1024)
    write_seed(seeds, "topics.txt", title="Many topics", url="https://x/t", topics=[f"t{i}" for i in range(10_000)])
    write_seed(seeds, "title.txt", title="word " * 200_000, url="https://x/title")
    started = time.monotonic()
    report = index_seeds([seeds], index_dir)
    assert time.monotonic() - started < 30
    assert report.added == 2
    assert report.skipped[0].reason == "file is larger than the 10 MB limit"
    warnings = {os.path.basename(w.path): w.reason for w in report.warnings}
    assert warnings == {"topics.txt": "kept the first 100 of 10000 topics",
                        "title.txt": "title cut to 1,000 of 999,999 characters"}
    with open_index(index_dir) as ix:
        assert ix.search("", topics=["t99"]).total == 1 and ix.search("", topics=["t100"]).total == 0


# -- what a query can touch ------------------------------------------------------------


def test_a_query_opens_no_file_outside_the_index(seeds, index_dir, tmp_path):
    make_corpus(seeds, 5)
    (tmp_path / "secret.txt").write_text("story secret")
    index_seeds([seeds], index_dir)
    opened: list[str] = []
    recording = threading.Event()

    def audit(event, args):
        if recording.is_set() and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            opened.append(os.fsdecode(args[0]))

    sys.addaudithook(audit)
    with open_index(index_dir) as ix:
        recording.set()
        try:
            for q in ("../secret.txt", str(tmp_path / "secret.txt"), "url:file:///etc/passwd",
                      "path:/etc/passwd", "body:secret~", "story~2", "stroy"):
                ix.search(q)
        finally:
            recording.clear()
    outside = [p for p in opened if not os.path.abspath(p).startswith(str(index_dir))]
    assert outside == []


@pytest.fixture
def run_cli(index_dir):
    def invoke(*args: str, code: int = 0):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result

    return invoke


def test_unexpected_failures_are_one_line(run_cli, seeds, index_dir, monkeypatch):
    make_corpus(seeds, 2)
    index_seeds([seeds], index_dir)
    from newssearch import searching

    monkeypatch.setattr(searching.IndexSearcher, "search", lambda *a, **k: 1 / 0)
    result = run_cli("query", "story", code=1)
    assert result.stderr == ("Error: unexpected ZeroDivisionError: division by zero "
                             "(set NEWSSEARCH_DEBUG=1 to see where; please report it)\n")


def test_corrupt_error_names_the_generation(seeds, index_dir):
    make_corpus(seeds, 2)
    index_seeds([seeds], index_dir)
    (store.current_generation(index_dir) / "facets.npz").unlink()
    with pytest.raises(IndexCorruptError, match=r"is damaged \(gen-000001/facets.npz is missing\)"):
        open_index(index_dir)


def test_a_real_write_failure_midway_leaves_the_old_index(tmp_path):
    """The operating system refuses the writes (a file size limit, as a full disk would)."""
    import resource

    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    make_corpus(seeds, 20)
    index_seeds([seeds], index_dir)
    before = fingerprint(index_dir)
    for i in range(200):  # long bodies: the new segment's files grow past the limit, the side files do not
        write_seed(seeds, f"long{i:03d}.txt", title=f"Long story {i}", url=f"https://x/long/{i}",
                   body=" ".join(f"w{(i * 7919 + k) % 5000}" for k in range(2000)))
    limit = 512 * 1024

    def small_files_only():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "NEWSSEARCH_INDEX": str(index_dir)}
    run = subprocess.run([sys.executable, "-m", "newssearch", "index", str(seeds)], env=env, capture_output=True,
                         text=True, timeout=300, preexec_fn=small_files_only)
    assert run.returncode == 1
    assert run.stderr.startswith("Error: ") and run.stderr.rstrip().endswith("file too large")
    assert run.stderr.count("\n") == 1
    assert fingerprint(index_dir) == before
    assert [p.name for p in index_dir.iterdir() if p.name.startswith("gen-")] == ["gen-000001"]
    assert index_seeds([seeds], index_dir).added == 200  # with room again, the next run completes
