from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from newssearch.cli import cli

from .conftest import REAL_SEED, REPO, write_seed


@pytest.fixture
def run(index_dir, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # text is 80 columns wide, whatever the terminal running the tests

    def invoke(*args: str, code: int = 0):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="newssearch")
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
    readme = (REPO / "README.md").read_text().split("**Indexing**")[1].split("**Querying.**")[0]
    documented = re.search(r"`--format json` prints one object with\s(.*?)\.", readme, re.S).group(1)
    assert set(re.findall(r"`(\w+)`", documented)) == set(report)


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
                        "category", "path", "highlight", "kind", "related_to", "title_highlight",
                        "similar_count", "similar_providers", "fields"}
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


# -- options and words ------------------------------------------------------------------


@pytest.mark.parametrize("args, wrong, suggestion", [
    (["--limt", "5"], "--limt", "--limit"),
    (["--limt=5"], "--limt", "--limit"),
    (["--sinse", "2020"], "--sinse", "--since"),
    (["--topics", "AI"], "--topics", "--topic"),
    (["--explian"], "--explian", "--explain"),
    (["-n", "5"], "-n", None),
    (["-L"], "-L", None),
])
def test_a_mistyped_option_is_bad_usage_not_a_word(run, indexed, args, wrong, suggestion):
    result = run("query", "facial", *args, code=2)
    assert f"Error: No such option '{wrong}'." in result.stderr
    if suggestion:
        assert f"'{suggestion}'" in result.stderr.split("Did you mean")[1]
    assert result.stdout == ""


@pytest.mark.parametrize("word", ["-heatwave", "-Heatwave", "-heat*"])
def test_a_dash_word_is_a_negation(run, indexed, word):
    data = json.loads(run("query", "category:news", word, "--format", "json").stdout)
    assert [h["url"] for h in data["hits"]] == ["https://x/a"]
    assert data["query"] == f"category:news {word}"


@pytest.mark.parametrize("word", ["-height", "-hx", "-help", "-5", "-"])
def test_a_dash_word_that_starts_like_a_short_option_is_still_a_word(run, indexed, word):
    """-h is help: "-height" must not print help, nor -5 be an option."""
    data = json.loads(run("query", "facial", word, "--format", "json").stdout)
    assert data["query"] == f"facial {word}"


def test_after_a_double_dash_every_token_is_a_word(run, indexed):
    data = json.loads(run("query", "--format", "json", "--limit", "1", "--", "--limit", "-h", "--").stdout)
    assert (data["query"], data["limit"]) == ("--limit -h --", 1)


def test_an_option_value_may_start_with_a_dash(run, indexed):
    data = json.loads(run("query", "--category", "-news", "--format", "json", "--topic=-x").stdout)
    assert data["total"] == 0


def test_an_option_without_its_value_is_bad_usage(run, indexed):
    result = run("query", "facial", "--limit", code=2)
    assert "Error: Option '--limit' requires an argument." in result.stderr


@pytest.mark.parametrize("args, message", [
    (["query", "x", "--sort", "random"],
     "Invalid value for '--sort': 'random' is not one of 'relevance', 'newest', 'oldest'. "
     'See "newssearch query --help".'),
    (["query", "--limt", "5"],
     "No such option '--limt'. (Did you mean one of: '--facet-limit', '--limit'?) See \"newssearch query --help\"."),
    (["qury"], "No such command 'qury'. Did you mean 'query'? See \"newssearch --help\"."),
    (["--bad"], "No such option '--bad'. See \"newssearch --help\"."),
    (["stats", "extra"], 'Got unexpected extra argument (extra). See "newssearch stats --help".'),
    (["index", "--workers", "0"], "Invalid value for '--workers': 0 is not in the range 1<=x<=64. "
                                  'See "newssearch index --help".'),
])
def test_bad_usage_is_one_line_with_where_to_look(run, args, message):
    assert run(*args, code=2).stderr == f"Error: {message}\n"


def test_the_bare_command_prints_its_help(run):
    assert "Commands:" in run(code=2).output


def test_query_help_documents_the_dash_rule(run):
    out = run("query", "--help").stdout
    assert "After -- every token is a word" in out and "-word is a negated word" in out
    assert run("query", "-h").stdout == out


# -- errors in context -------------------------------------------------------------------


@pytest.mark.parametrize("via", ["option", "env"])
def test_an_index_dir_that_is_a_file_is_one_line(run, seeds, tmp_path, monkeypatch, via):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    args = ["--index-dir", str(blocker)] if via == "option" else []
    if via == "env":
        monkeypatch.setenv("NEWSSEARCH_INDEX", str(blocker))
    for command in (["query", "x"], ["stats"]):
        result = run(*command, *args, code=1)
        assert result.stderr == f'Error: no index at {blocker}/: run "newssearch index" first\n'
    write_seed(seeds, "a.txt", title="Alpha")
    result = run("index", str(seeds), *args, code=1)
    assert result.stderr == f"Error: writing the index at {blocker}/: {blocker} is a file, not a folder\n"


def test_an_index_dir_under_a_missing_folder_is_created(run, seeds, tmp_path):
    write_seed(seeds, "a.txt", title="Alpha")
    run("index", str(seeds), "--index-dir", str(tmp_path / "new" / "deeper" / "index"))
    assert "articles:  1" in run("stats", "--index-dir", str(tmp_path / "new" / "deeper" / "index")).stdout


def test_an_empty_index_dir_is_bad_usage(run, seeds):
    for command in (["index", str(seeds)], ["query", "x"], ["stats"]):
        result = run(*command, "--index-dir", "", code=2)
        assert "Invalid value for '--index-dir': must not be empty" in result.stderr


def test_the_index_dir_option_wins_over_the_variable_and_the_variable_over_the_default(
        run, indexed, index_dir, tmp_path, monkeypatch):
    other = tmp_path / "other"
    assert run("stats", "--index-dir", str(other), code=1).stderr == (
        f'Error: no index at {other}/: run "newssearch index" first\n')
    assert "articles:  2" in run("stats").stdout  # $NEWSSEARCH_INDEX
    monkeypatch.delenv("NEWSSEARCH_INDEX")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert run("stats", code=1).stderr == 'Error: no index at index/: run "newssearch index" first\n'


def enospc(filename):
    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", *([filename] if filename else []))
    return fail


def test_a_failed_index_write_says_the_index_was_being_written_and_which_file(run, seeds, index_dir, monkeypatch):
    from newssearch import docvalues

    write_seed(seeds, "a.txt", title="Alpha")
    inside = index_dir / "gen-000001" / "facets.npz"
    monkeypatch.setattr(docvalues, "build", enospc(str(inside)))
    result = run("index", str(seeds), code=1)
    assert result.stderr == f"Error: writing the index at {index_dir}/: no space left on device ({inside})\n"
    monkeypatch.setattr(docvalues, "build", enospc(None))
    result = run("index", str(seeds), code=1)
    assert result.stderr == f"Error: writing the index at {index_dir}/: no space left on device\n"


def test_an_error_without_a_file_name_or_with_a_descriptor(run, indexed, index_dir, monkeypatch):
    from newssearch import searching

    def fail(*args, **kwargs):
        error = OSError(errno.EIO, "Input/output error")
        error.filename = 7  # what some calls on a file descriptor leave
        raise error

    monkeypatch.setattr(searching.IndexSearcher, "search", fail)
    assert run("query", "x", code=1).stderr == f"Error: reading the index at {index_dir}/: input/output error\n"


def test_a_failed_read_says_what_was_being_read(run, indexed, index_dir, tmp_path, monkeypatch):
    from newssearch import searching

    inside = index_dir / "gen-000001" / "x.seg"
    monkeypatch.setattr(searching.IndexSearcher, "search", enospc(str(inside)))
    assert run("query", "x", code=1).stderr == f"Error: reading the index at {index_dir}/: no space left on device ({inside})\n"
    outside = tmp_path / "elsewhere.txt"
    monkeypatch.setattr(searching.IndexSearcher, "stats", enospc(str(outside)))
    assert run("stats", code=1).stderr == f"Error: reading {outside}: no space left on device\n"


def test_a_file_size_limit_names_the_index(tmp_path, seeds):
    """A real failure: the operating system refuses to grow a file (EFBIG, as a full disk gives ENOSPC)."""
    import resource

    # Words of their own, so that the files outgrow the limit compressed too (the stored records are).
    for i in range(50):
        write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i}",
                   body=" ".join(f"w{i}n{j}" for j in range(2000)))

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    env = {**os.environ, "NEWSSEARCH_INDEX": str(tmp_path / "index")}
    run = subprocess.run([sys.executable, "-m", "newssearch", "index", str(seeds)], env=env, capture_output=True,
                         text=True, timeout=120, preexec_fn=limit)
    assert run.returncode == 1
    assert re.fullmatch(rf"Error: writing the index at {re.escape(str(tmp_path / 'index'))}/: file too large"
                        rf"( \(.*\))?\n", run.stderr)


# -- shell completion and the README ------------------------------------------------------


def complete(*words: str, shell: str = "bash") -> str:
    exe = shutil.which("newssearch", path=os.path.dirname(sys.executable))
    env = {**os.environ, "_NEWSSEARCH_COMPLETE": f"{shell}_complete", "COMP_WORDS": " ".join(words),
           "COMP_CWORD": str(len(words) - 1)}
    run = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_shell_completion_completes_commands_options_and_choices():
    assert "plain,query" in complete("newssearch", "qu").splitlines()
    assert {"plain,--limit", "plain,--since"} <= set(complete("newssearch", "query", "facial", "--").splitlines())
    assert complete("newssearch", "query", "--sort", "ne").splitlines() == ["plain,newest"]
    assert complete("newssearch", "query", "-microsoft", "--col").splitlines() == ["plain,--color"]


README_COMPLETION = {
    "bash": 'eval "$(_NEWSSEARCH_COMPLETE=bash_source newssearch)"',
    "zsh": 'eval "$(_NEWSSEARCH_COMPLETE=zsh_source newssearch)"',
    "fish": "_NEWSSEARCH_COMPLETE=fish_source newssearch | source",
}


@pytest.mark.parametrize("shell", README_COMPLETION)
def test_the_readme_completion_lines_give_a_script(shell):
    assert README_COMPLETION[shell] in (REPO / "README.md").read_text()
    exe = shutil.which("newssearch", path=os.path.dirname(sys.executable))
    env = {**os.environ, "_NEWSSEARCH_COMPLETE": f"{shell}_source"}
    run = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "_NEWSSEARCH_COMPLETE" in run.stdout


def test_the_readme_bash_line_completes_in_bash():
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    script = (README_COMPLETION["bash"] + "\nCOMP_WORDS=(newssearch query -microsoft --li); COMP_CWORD=3\n"
              '_newssearch_completion newssearch; echo "${COMPREPLY[@]}"')
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert (run.stdout, run.stderr) == ("--limit\n", "")


def test_the_readme_synopsis_lists_every_option_of_every_command():
    readme = (REPO / "README.md").read_text()
    synopsis = readme.split("## Command line")[1].split("```")[1]
    for name, command in cli.commands.items():
        usage = _usage_of(synopsis, name)
        documented = set(re.findall(r"--[a-z-]+|-[a-z]\b", usage))
        actual = {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts if opt.startswith("--")}
        assert documented == actual, name


def _usage_of(synopsis: str, name: str) -> str:
    parts = re.split(r"^newssearch ", synopsis, flags=re.M)
    return next(part for part in parts if part.startswith(name + " "))


def test_stats_limit_bounds_the_topics_and_providers(run, seeds):
    for i in range(5):
        write_seed(seeds, f"{i}.txt", title=f"Story {i}", url=f"https://x/{i}", topics=[f"T{i}"], provider=f"P{i}")
    run("index", str(seeds))
    out = run("stats", "--limit", "2").stdout
    assert re.search(r"^topics: T\d 1 · T\d 1$", out, re.M) and re.search(r"^provider: P\d 1 · P\d 1$", out, re.M)
    assert "topics:" not in run("stats", "--limit", "0").stdout
    data = json.loads(run("stats", "--limit", "3", "--format", "json").stdout)
    assert (len(data["topics"]), len(data["provider"])) == (3, 3)


def test_an_unreadable_index_folder_is_one_line(run, indexed, index_dir, monkeypatch):
    """What a folder without read permission gives (simulated: the tests may run as root)."""
    read_text = Path.read_text

    def refuse(self, *args, **kwargs):
        if self.name == "CURRENT":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    for command in (["query", "x"], ["stats"]):
        assert run(*command, code=1).stderr == (
            f"Error: reading the index at {index_dir}/: permission denied ({index_dir / 'CURRENT'})\n")


def test_a_failed_read_of_a_seed_while_indexing_names_the_seed(run, seeds, monkeypatch):
    from newssearch.engines import whoosh

    seed = write_seed(seeds, "a.txt", title="Alpha")
    monkeypatch.setattr(whoosh, "index_seeds", enospc(str(seed)))  # the local engine's writer
    assert run("index", str(seeds), code=1).stderr == f"Error: reading {seed}: no space left on device\n"


def test_file_names_that_are_not_utf8_are_shown_with_byte_escapes(tmp_path):
    seeds = tmp_path / "seeds"
    write_seed(seeds, os.fsdecode(b"caf\xe9.txt"), title="Zurich cafe", url="https://x/cafe")
    (seeds / os.fsdecode(b"b\xffad.txt")).write_text("")
    index_dir = str(tmp_path / "index")
    runner = CliRunner()
    report = runner.invoke(cli, ["index", str(seeds), "--index-dir", index_dir, "--format", "json"], catch_exceptions=False)
    assert json.loads(report.output)["skipped"][0]["path"].endswith("b\\xffad.txt")
    text = runner.invoke(cli, ["index", str(seeds), "--index-dir", index_dir], catch_exceptions=False)
    assert text.exit_code == 0 and "b\\xffad.txt: empty file" in text.output
    hits = json.loads(runner.invoke(cli, ["query", "cafe", "--index-dir", index_dir, "--format", "json"]).output)["hits"]
    assert [h["path"] for h in hits] == [str(seeds) + "/caf\\xe9.txt"]


def test_facet_limit_is_bounded_as_the_library_bounds_it(tmp_path):
    seeds = tmp_path / "seeds"
    write_seed(seeds, "a.txt", title="Alpha")
    CliRunner().invoke(cli, ["index", str(seeds), "--index-dir", str(tmp_path / "index")], catch_exceptions=False)
    result = CliRunner().invoke(cli, ["query", "alpha", "--index-dir", str(tmp_path / "index"), "--facet-limit", "1001"])
    assert result.exit_code == 2 and "--facet-limit" in result.output and "1000" in result.output
