from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch.cli import cli

from .conftest import REAL_SEED, REPO, write_seed


@pytest.fixture
def run(index_dir):
    def invoke(*args: str, code: int = 0):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def indexed(run, seeds):
    write_seed(seeds, "a.txt", title="Facial recognition banned", url="https://x/a", topics=["AI"],
               excerpt="The council voted to ban facial recognition.", provider="Daily Ledger")
    write_seed(seeds, "b.txt", title="Heatwave in Zürich", url="https://x/b", topics=["Climate"],
               published="2021-03-01T00:00:00Z")
    run("index", str(seeds))
    return seeds


def test_index_prints_a_summary(run, seeds):
    write_seed(seeds, "a.txt", title="Alpha")
    (seeds / "bad.txt").write_text("no front matter")
    result = run("index", str(seeds))
    assert re.match(
        r"indexed 1 article: 1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped \(\d+\.\d s\)$",
        result.stdout.splitlines()[0],
    )
    assert f"skipped {seeds / 'bad.txt'}: no front matter (the first line must be ---)" in result.stderr


def test_index_json_report(run, seeds):
    write_seed(seeds, "a.txt", title="Alpha")
    (seeds / "bad.txt").write_text("")
    report = json.loads(run("index", str(seeds), "--format", "json").stdout)
    assert (report["added"], report["updated"], report["removed"], report["unchanged"]) == (1, 0, 0, 0)
    assert report["skipped"] == [{"path": str(seeds / "bad.txt"), "reason": "empty file"}]
    assert report["total_documents"] == 1
    assert isinstance(report["seconds"], float)


def test_strict_exits_1_when_a_file_was_skipped(run, seeds):
    (seeds / "bad.txt").write_text("")
    run("index", str(seeds), "--strict", code=1)


def test_quiet_prints_only_skipped_files(run, seeds):
    write_seed(seeds, "a.txt", title="Alpha")
    assert run("index", str(seeds), "--quiet").stdout == ""


def test_a_missing_path_is_one_line(run, tmp_path):
    result = run("index", str(tmp_path / "nope"), code=1)
    assert result.stderr == f"Error: {tmp_path / 'nope'}: no such file or directory\n"


def test_an_unwritable_index_folder_is_one_line(run, seeds, tmp_path):
    write_seed(seeds, "a.txt", title="Alpha")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("index", str(seeds), "--index-dir", str(blocker / "index"), code=1)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_query_text_output(run, indexed):
    out = run("query", "facial", "recognition").stdout
    assert out.startswith("1 result (")
    assert "  1. Facial recognition banned" in out
    assert "Daily Ledger · 2020-06-12 · AI" in out
    assert "The council voted to ban facial recognition." in out
    assert "topics: AI 1" in out
    assert re.search(r"published:\n  2020 █+ 1", out)
    assert "\x1b[" not in out  # no colour when not a terminal


def test_query_json_output(run, indexed):
    data = json.loads(run("query", "zurich", "--format", "json").stdout)
    assert set(data) == {"query", "parsed", "total", "page", "limit", "sort", "hits", "facets",
                         "oldest", "newest", "suggestion", "took_ms", "notes"}
    assert (data["query"], data["total"], data["page"], data["limit"]) == ("zurich", 1, 1, 10)
    hit = data["hits"][0]
    assert set(hit) == {"rank", "score", "title", "url", "provider", "domain", "published", "topics",
                        "category", "path", "highlight", "kind", "related_to", "title_highlight"}
    assert hit["published"] == "2021-03-01T00:00:00Z"
    assert data["facets"]["published"] == [{"value": "2021", "count": 1}]
    assert data["facets"]["topics"] == [{"value": "Climate", "count": 1}]


def test_query_options_reach_the_library(run, indexed):
    data = json.loads(run("query", "--topic", "climate", "--since", "2021", "--sort", "oldest",
                          "--date-facet", "month", "--format", "json").stdout)
    assert [h["url"] for h in data["hits"]] == ["https://x/b"]
    assert data["facets"]["published"] == [{"value": "2021-03", "count": 1}]


def test_typo_fallback_is_announced(run, indexed):
    out = run("query", "facal").stdout
    assert out.startswith('no results for "facal"; showing results for "facial"')


def test_explain_prints_the_parsed_query(run, indexed):
    out = run("query", "recognize", "-banned", "--explain").stdout
    assert out.startswith("parsed: ") and "title:recogn^4.0" in out and "ANDNOT" in out


def test_bad_option_values(run, indexed):
    result = run("query", "x", "--since", "someday", code=2)
    assert "since: cannot read date 'someday'" in result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    run("query", "x", "--sort", "random", code=2)


def test_query_without_an_index(run, index_dir):
    result = run("query", "anything", code=1)
    assert result.stderr == f'Error: no index at {index_dir}/: run "newssearch index" first\n'


def test_stats(run, indexed, index_dir):
    out = run("stats").stdout
    assert "articles:  2 (2 seeds, 0 related)" in out
    assert "published: 2020-06-12 to 2021-03-01" in out
    data = json.loads(run("stats", "--format", "json").stdout)
    assert data["articles"] == 2


def test_control_characters_never_reach_the_terminal(run, seeds):
    write_seed(seeds, "evil.txt", title="Evil \x1b[31mred\x1b[0m title", url="https://x/e",
               excerpt="bell\x07 and \u202ereversed", provider="Bad\x1b]0;owned\x07 Source")
    run("index", str(seeds))
    out = run("query", "evil").stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "Evil [31mred [0m title" in out
    data = json.loads(run("query", "evil", "--format", "json").stdout)
    assert data["hits"][0]["title"] == "Evil \x1b[31mred\x1b[0m title"  # JSON keeps the data, escaped


def test_every_command_has_help(run):
    for command in ([], ["index"], ["query"], ["stats"]):
        assert "Usage:" in run(*command, "--help").stdout


def test_the_installed_command_indexes_and_queries_the_bundled_seeds(tmp_path):
    exe = shutil.which("newssearch", path=os.path.dirname(sys.executable))
    assert exe, "the newssearch console script is installed"
    env = {**os.environ, "NEWSSEARCH_INDEX": str(tmp_path / "index")}
    index = subprocess.run([exe, "index"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert index.returncode == 0, index.stderr
    assert index.stdout.startswith("indexed 1 article: 1 added")
    query = subprocess.run([exe, "query", "facial recognition", "--format", "json"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout)["total"] == 3
    module = subprocess.run([sys.executable, "-m", "newssearch", "stats"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "articles:  3 (1 seeds, 2 related)" in module.stdout


def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert blocks
    shutil.copytree(REAL_SEED.parent, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert (Path(tmp_path) / "index" / "CURRENT").exists()


def test_the_cli_defers_imports_without_breaking_them():
    code = (
        "import sys; from newssearch.cli import _defer_unused_imports; _defer_unused_imports()\n"
        "import newssearch.searching, whoosh.compat\n"
        "assert 'urllib.request' not in sys.modules and 'asyncio.base_events' not in sys.modules\n"
        "from cached_property import cached_property\n"
        "class C:\n"
        "    calls = 0\n"
        "    @cached_property\n"
        "    def value(self):\n"
        "        C.calls += 1\n"
        "        return 42\n"
        "    @cached_property\n"
        "    async def later(self):\n"
        "        return 7\n"
        "c = C()\n"
        "assert (c.value, c.value, C.calls) == (42, 42, 1)\n"
        "import urllib.request, asyncio\n"
        "assert callable(urllib.request.urlopen) and asyncio.run(asyncio.sleep(0, 'ok')) == 'ok'\n"
        "async def main():\n"
        "    return await C().later\n"
        "assert asyncio.run(main()) == 7\n"
        "print('fine')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "fine", run.stderr
