"""What the command line prints, and how it ends, whatever its streams and its terminal do.

Widths, colour, broken pipes, full disks, closed descriptors and stop
signals: most of these need the real ``newssearch`` command in a process of
its own, with its streams pointed at /dev/full, a closed pipe or a
pseudo-terminal.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import index_seeds, open_index
from newssearch.cli import cli
from newssearch.facets import Facets, FacetValue
from newssearch.render import (
    MAX_HISTOGRAM_ROWS,
    cells,
    facet_lines,
    fit,
    highlight_lines,
    histogram_lines,
    results_text,
    terminal_width,
)
from newssearch.searching import Hit, SearchResults

from .conftest import seed_text, write_seed

ANSI = re.compile(r"\x1b\[[0-9;]*m")
COMMANDS = [["query", "story"], ["stats"], ["index"]]


def visible(line: str) -> str:
    return ANSI.sub("", line)


@pytest.fixture
def run(index_dir, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)

    def invoke(*args: str, code: int = 0, env: dict | None = None):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def long_titles(run, seeds):
    write_seed(seeds, "long.txt", title="Storm " + "word " * 150 + "end", url="https://x/long",
               excerpt="A " + "very " * 60 + "long excerpt about the storm and its aftermath", provider="P " * 80,
               topics=[f"topic{i} " * 5 for i in range(8)])
    write_seed(seeds, "wide.txt", title="Storm 台风 " + "暴风雨" * 60, url="https://x/wide", excerpt="台风 storm " * 30)
    run("index", str(seeds))
    return seeds


def check_fits(out: str, width: int) -> None:
    for line in out.splitlines():
        if line.strip().startswith(("https://", "index: ")):
            continue  # urls and the index folder are printed whole
        assert cells(visible(line)) <= width, line


# -- width ----------------------------------------------------------------------------


def test_text_output_fits_80_columns_when_not_a_terminal(run, long_titles):
    out = run("query", "storm").stdout
    check_fits(out, 80)
    assert re.search(r"^  \d\. Storm word word .*…$", out, re.M)
    assert "https://x/long" in out


@pytest.mark.parametrize("width", [20, 40, 61, 132])
def test_text_output_fits_the_columns_variable(run, long_titles, width):
    out = run("query", "storm", env={"COLUMNS": str(width)}).stdout
    check_fits(out, width)
    stats = run("stats", env={"COLUMNS": str(width)}).stdout
    check_fits(stats[stats.index("topics:"):], width)  # the lines above are short facts, printed whole


@pytest.mark.parametrize("columns, width", [("", 80), ("abc", 80), ("0", 80), ("-3", 80), ("5", 20), ("100", 100)])
def test_the_width_without_a_terminal(monkeypatch, columns, width):
    monkeypatch.setenv("COLUMNS", columns)
    assert terminal_width(io.StringIO()) == width
    assert terminal_width(None) == width


def test_wide_characters_count_two_columns(run, long_titles):
    out = run("query", "台风", env={"COLUMNS": "40"}).stdout
    title = next(line for line in out.splitlines() if "暴风雨" in line)
    assert cells(title) <= 40 and title.endswith("…")
    assert cells("暴风雨") == 6 and cells("e\u0301") == 1


def test_fit_cuts_with_an_ellipsis_only_when_needed():
    assert fit("short", 10) == "short"
    assert fit("exactly 10", 10) == "exactly 10"
    assert fit("one too long", 11) == "one too lo…"
    assert cells(fit("台风暴风雨", 5)) <= 5


def test_a_highlight_is_wrapped_and_never_cut_inside_a_marked_word():
    fragment = "lead " * 13 + "<mark>recognition</mark>, and &lt;b&gt; " + "tail " * 40 + "<mark>facial</mark>"
    for width in range(12, 90):
        lines = highlight_lines(fragment, width)
        assert 1 <= len(lines) <= 3
        for line in lines:
            assert cells(visible(line)) <= width, (width, line)
            # a style opened on a line is closed on it, and marks only whole words
            for styled in re.findall(r"\x1b\[33m\x1b\[1m(.*?)\x1b\[0m", line):
                assert styled in ("recognition", "facial")
        if width >= 30:  # 65 columns of lead-in, then the mark: it fits in three lines
            assert "\x1b[33m\x1b[1mrecognition\x1b[0m," in "".join(lines)
        assert lines[-1].endswith("…")  # the fragment did not fit in three lines


def test_a_highlight_keeps_its_punctuation_and_entities():
    lines = highlight_lines("say <mark>hello</mark>, &amp; <mark>world</mark>!", 80)
    assert [visible(line) for line in lines] == ["say hello, & world!"]


def test_a_word_longer_than_the_line_is_cut():
    lines = highlight_lines("<mark>" + "x" * 50 + "</mark> after", 20, max_lines=2)
    assert [cells(visible(line)) for line in lines] == [20, 5]
    assert visible(lines[0]).endswith("…") and lines[0].endswith("\x1b[0m…")


def test_facet_values_wrap_under_their_name():
    values = tuple(FacetValue(f"Topic number {i}", i + 1) for i in range(30))
    lines = facet_lines("topics", values, 50)
    assert len(lines) > 1
    assert all(cells(visible(line)) <= 50 for line in lines)
    assert all(line.startswith(" " * len("topics: ")) for line in lines[1:])
    assert " · ".join(visible(line).strip() for line in lines).removeprefix("topics: ") == " · ".join(
        f"{v.value} {v.count}" for v in values)


def test_a_day_histogram_is_bounded_and_shows_the_latest_days():
    days = tuple(FacetValue(f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}", i % 5) for i in range(300))
    lines = histogram_lines("published", days, 80, max_rows=7)
    assert len(lines) == 1 + 1 + 7
    assert "293 earlier not shown" in lines[1]
    assert visible(lines[-1]).startswith("  2020-11-20 ")
    assert len(histogram_lines("published", days * 20, 80, max_rows=10**6)) == 2 + MAX_HISTOGRAM_ROWS


def test_an_empty_bucket_is_a_row_without_a_bar():
    lines = histogram_lines("published", (FacetValue("2019", 3), FacetValue("2020", 0), FacetValue("2021", 1)), 80)
    assert [visible(line) for line in lines[1:]] == [
        "  2019 " + "█" * 30 + " 3",
        "  2020  0",
        "  2021 " + "█" * 10 + " 1",
    ]


def test_the_day_histogram_follows_the_facet_limit(run, seeds):
    for i in range(40):
        write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i}", published=f"2020-03-{1 + i % 28:02d}T10:00:00Z")
    run("index", str(seeds))
    out = run("query", "story", "--date-facet", "day", "--facet-limit", "5").stdout
    histogram = out.split("published:\n")[1].splitlines()
    assert len(histogram) <= 6
    assert histogram[-1].startswith("  2020-03-28 ")


def test_a_facet_limit_of_zero_prints_no_facets(run, seeds):
    write_seed(seeds, "a.txt", title="Story", url="https://x/a", topics=["AI"])
    run("index", str(seeds))
    out = run("query", "story", "--facet-limit", "0").stdout
    assert "topics:" not in out and "provider:" not in out and "published:" not in out


def test_a_long_query_in_the_suggestion_line_is_cut(run, seeds):
    write_seed(seeds, "a.txt", title="Facial recognition", url="https://x/a")
    run("index", str(seeds))
    out = run("query", "facal " + "recogniton " * 8).stdout
    check_fits(out, 80)
    first = out.splitlines()[0]
    assert first.startswith('no results for "facal recogniton recogniton') and first.endswith("…")
    assert "1. Facial recognition" in out


def test_results_text_renders_any_results():
    hit = Hit(rank=1000, score=1.0, title="T" * 200, url="https://x", provider="", domain="", published=None,
              topics=(), category="", path="", highlight="", kind="seed", related_to="")
    results = SearchResults(query="t", parsed="t", total=1001, page=100, limit=10, sort="relevance", hits=(hit,),
                            facets=Facets(), oldest=None, newest=None, suggestion=None, took_ms=1.0)
    lines = results_text(results, width=30)
    assert visible(lines[2]).startswith("1000. TTT") and cells(visible(lines[2])) == 30
    assert "unknown source" in lines[3]


# -- colour ---------------------------------------------------------------------------


def test_color_always_and_never(run, long_titles):
    assert "\x1b[" in run("query", "storm", "--color", "always").stdout
    assert "\x1b[" in run("stats", "--color", "always").stdout
    assert "\x1b[" not in run("query", "storm", "--color", "never").stdout
    assert "\x1b[" not in run("query", "storm").stdout  # auto: not a terminal
    run("query", "storm", "--color", "sometimes", code=2)


def in_a_terminal(args: list[str], env: dict, columns: int = 80, stream: str = "stdout") -> tuple[int, str]:
    """Run newssearch with its stdout (or stderr) on a pseudo-terminal of ``columns`` columns."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    other = "stderr" if stream == "stdout" else "stdout"
    proc = subprocess.Popen([sys.executable, "-m", "newssearch", *args], env=env,
                            **{stream: slave, other: subprocess.PIPE})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    with proc:
        err = getattr(proc, other).read()
    assert proc.returncode == 0, err
    return proc.returncode, b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.fixture
def terminal_env(long_titles, index_dir):
    """The environment minus what says anything about colour or width."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "TERM")}
    return {**env, "NEWSSEARCH_INDEX": str(index_dir)}


def test_auto_colour_on_a_terminal_unless_no_color_or_a_dumb_terminal(terminal_env):
    def colour(extra: dict, *flags: str) -> bool:
        _, out = in_a_terminal(["query", "storm", *flags], {**terminal_env, **extra})
        assert "2. Storm" in visible(out)
        return "\x1b[" in out

    assert colour({"TERM": "xterm"})
    assert not colour({"TERM": "xterm", "NO_COLOR": "1"})
    assert not colour({"TERM": "dumb"})
    assert not colour({"TERM": "xterm"}, "--color", "never")
    assert colour({"TERM": "dumb", "NO_COLOR": "1"}, "--color", "always")
    assert colour({"TERM": "xterm", "NO_COLOR": ""})  # an empty NO_COLOR counts as unset (no-color.org)


def test_text_fits_the_terminal_width(terminal_env):
    _, out = in_a_terminal(["query", "storm", "--color", "never"], {**terminal_env, "TERM": "xterm"}, columns=50)
    check_fits(out, 50)
    assert any(cells(line) == 50 for line in out.splitlines())


def test_the_columns_variable_wins_over_the_terminal(terminal_env):
    _, out = in_a_terminal(["query", "storm"], {**terminal_env, "COLUMNS": "30"}, columns=50)
    check_fits(out, 30)


def test_a_progress_bar_only_on_a_terminal_and_not_when_quiet(terminal_env, seeds):
    write_seed(seeds, "new.txt", title="Brand new", url="https://x/new")
    _, err = in_a_terminal(["index", str(seeds)], terminal_env, stream="stderr")
    assert "parsing" in err and "100%" in err
    write_seed(seeds, "newer.txt", title="Newer", url="https://x/newer")
    _, err = in_a_terminal(["index", str(seeds), "--quiet"], terminal_env, stream="stderr")
    assert err == ""


# -- standard streams ---------------------------------------------------------------


@pytest.fixture
def env(tmp_path, seeds):
    for i in range(30):
        write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i}", excerpt="story " * 40)
    index_seeds([seeds], tmp_path / "index")
    return {**os.environ, "NEWSSEARCH_INDEX": str(tmp_path / "index"), "COLUMNS": "80"}


def newssearch(args: list[str], env: dict, cwd: Path, **streams) -> subprocess.CompletedProcess:
    streams.setdefault("stdout", subprocess.PIPE)
    streams.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "newssearch", *args], env=env, cwd=cwd, timeout=120, **streams)


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_full_disk_on_stdout_is_one_line(env, seeds, command, fmt):
    with open("/dev/full", "w") as full:
        run = newssearch([*command, "--format", fmt], env, seeds.parent, stdout=full)
    assert run.returncode == 1
    assert run.stderr.decode() == "Error: writing the output: no space left on device\n"


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_closed_pipe_ends_the_run_quietly(env, seeds, command, fmt):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first write: `newssearch ... | head -0`
    try:
        run = newssearch([*command, "--format", fmt], env, seeds.parent, stdout=write)
    finally:
        os.close(write)
    assert (run.returncode, run.stderr.decode()) == (128 + signal.SIGPIPE, "")


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_closed_stdout_is_one_line(env, seeds, command, fmt):
    run = newssearch([*command, "--format", fmt], env, seeds.parent, stdout=None, pass_fds=(),
                     preexec_fn=lambda: os.close(1))
    assert run.returncode == 1
    assert run.stderr.decode() == "Error: writing the output: bad file descriptor\n"


def test_a_closed_stdout_never_receives_index_files(env, seeds):
    write_seed(seeds, "new.txt", title="Brand new", url="https://x/new")
    run = newssearch(["index", "--quiet"], env, seeds.parent, stdout=None, preexec_fn=lambda: os.close(1))
    assert (run.returncode, run.stderr) == (0, b"")
    with open_index(env["NEWSSEARCH_INDEX"]) as ix:
        assert ix.search("brand").total == 1


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["query", "--help"], ["stats", "-h"]])
def test_help_and_version_on_a_full_disk(env, seeds, args):
    with open("/dev/full", "w") as full:
        run = newssearch(args, env, seeds.parent, stdout=full)
    assert (run.returncode, run.stderr.decode()) == (1, "Error: writing the output: no space left on device\n")


@pytest.mark.parametrize("how", ["closed", "full"])
@pytest.mark.parametrize("args, code", [(["query", "--limt", "5"], 2), (["query", "--index-dir", "nowhere"], 1),
                                        (["query", "story"], 0), (["index", "nowhere"], 1)])
def test_an_unwritable_stderr_keeps_the_exit_status(env, seeds, how, args, code):
    if how == "closed":
        run = newssearch(args, env, seeds.parent, stderr=None, preexec_fn=lambda: os.close(2))
    else:
        with open("/dev/full", "w") as full:
            run = newssearch(args, env, seeds.parent, stderr=full)
    assert run.returncode == code
    if code == 0:
        assert run.stdout.startswith(b"30 results")


def test_a_closed_pipe_on_a_long_output(env, seeds):
    """The reader leaves mid-output, as ``| head -1`` does."""
    proc = subprocess.Popen([sys.executable, "-m", "newssearch", "query", "story", "--limit", "30"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"30 results")
    proc.stdout.close()
    with proc:
        err = proc.stderr.read()
    assert proc.returncode in (0, 128 + signal.SIGPIPE)  # 0 when all of it fit in the pipe first
    assert err == b""


# -- stop signals ---------------------------------------------------------------------


def started_writing(index_dir: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not (index_dir / "gen-000002").exists():
        assert process.poll() is None, "the run ended before the signal"
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.fixture
def indexing(tmp_path, seeds):
    """Start ``newssearch index`` over 10,000 new seeds once an index exists; returns it once writing started.

    Enough work (several seconds) that the signal, sent as soon as the new generation's folder
    appears, arrives while the run is under way even on a loaded machine."""
    index_dir = tmp_path / "index"
    write_seed(seeds, "first.txt", title="First story", url="https://x/first")
    index_seeds([seeds], index_dir)
    template = seed_text(title="Story NUMBER", url="https://x/NUMBER", body="words of the body " * 50)
    for i in range(10_000):
        (seeds / f"{i:05d}.txt").write_text(template.replace("NUMBER", str(i)))
    env = {**os.environ, "NEWSSEARCH_INDEX": str(index_dir)}

    def start(**popen) -> subprocess.Popen:
        # A session of its own, as `timeout`, systemd and container runtimes signal a group.
        # SIGHUP as a terminal leaves it, even when the tests themselves run under `nohup` (which the
        # indexer, by design, would keep ignoring).
        popen.setdefault("preexec_fn", lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
        proc = subprocess.Popen([sys.executable, "-m", "newssearch", "index", str(seeds), "--workers", "2"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **popen)
        deadline = time.monotonic() + 60
        while not (index_dir / "gen-000002").exists():
            assert proc.poll() is None, "the run ended before the signal"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        return proc

    start.index_dir = index_dir
    return start


@pytest.mark.parametrize("signum, group", [(signal.SIGTERM, True), (signal.SIGTERM, False), (signal.SIGHUP, False)],
                         ids=["TERM-to-the-group", "TERM", "HUP"])
def test_a_stop_signal_is_handled_as_ctrl_c(indexing, signum, group):
    proc = indexing()
    if group:  # the workers get it too
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert (proc.returncode, out, err.decode()) == (
        128 + signum, b"", f"Error: interrupted by {name}; the index is as it was before this run\n")
    with open_index(indexing.index_dir) as ix:
        assert ix.search("story").total == 1


def test_a_hangup_ignored_by_the_caller_stays_ignored(indexing):
    """``nohup newssearch index``: the run goes on when the terminal closes."""
    proc = indexing(preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    os.killpg(proc.pid, signal.SIGHUP)
    out, err = proc.communicate(timeout=300)
    assert (proc.returncode, err) == (0, b"")
    assert out.startswith(b"indexed 10,001 articles: 10,000 added")


def test_a_terminal_that_stops_taking_the_progress_bar_does_not_stop_the_run(monkeypatch):
    from newssearch import cli as cli_module

    class HungUp(io.StringIO):
        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(sys, "stderr", HungUp())
    with cli_module._progress(enabled=True) as update:
        assert update is not None
        update(1, 10)
        update(10, 10)
