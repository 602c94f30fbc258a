"""``newssearch query --format csv|ndjson [--all]``: the same rows as the API's export."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

import newssearch
from newssearch import export
from newssearch.cli import cli
from newssearch.render import to_data
from newssearch.web.app import create_app

from .web_corpus import FORMULA_TITLE, build


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build(tmp_path_factory.mktemp("export"))[1]


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["query", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_query_all_prints_what_the_api_export_streams(index_dir, monkeypatch, fmt):
    monkeypatch.setattr(export, "MAX_LIMIT", 4)
    printed = run("police", "--topic", "AI", "--topic", "Climate", "--sort", "newest", "--all", "--format", fmt,
                  "--index-dir", str(index_dir))
    with TestClient(create_app(index_dir)) as c:
        served = c.get("/api/export", params={"q": "police", "topic": ["AI", "Climate"], "sort": "newest", "format": fmt}).text
    assert printed.replace("\r\n", "\n") == served.replace("\r\n", "\n")
    with newssearch.open_index(index_dir) as ix:
        total = ix.search("police", topics=["AI", "Climate"]).total
    assert len(printed.strip().splitlines()) == total + (fmt == "csv")


def test_query_all_ndjson_objects_are_the_hits_of_format_json(index_dir):
    lines = run("police", "--all", "--format", "ndjson", "--index-dir", str(index_dir)).splitlines()
    with newssearch.open_index(index_dir) as ix:
        assert [json.loads(line) for line in lines] == to_data(ix.search("police", limit=1000).hits)


def test_csv_without_all_is_the_requested_page(index_dir):
    rows = list(csv.DictReader(io.StringIO(run("police", "--limit", "5", "--page", "2", "--format", "csv", "--index-dir", str(index_dir)))))
    with newssearch.open_index(index_dir) as ix:
        page = ix.search("police", limit=5, page=2).hits
    assert [r["url"] for r in rows] == [h.url for h in page]
    assert [r["rank"] for r in rows] == ["6", "7", "8", "9", "10"]


def test_csv_rows_parse_back_to_the_hits_with_formulas_defused(index_dir):
    rows = list(csv.DictReader(io.StringIO(run("--all", "--format", "csv", "--no-collapse", "--index-dir", str(index_dir)))))
    with newssearch.open_index(index_dir) as ix:
        total = ix.stats().articles
    assert len(rows) == total
    formula = next(r for r in rows if "HYPERLINK" in r["title"])
    assert formula["title"] == "'" + FORMULA_TITLE and formula["provider"] == "'@SUM(1+1)"
    assert all(not r[c].startswith(("=", "+", "@")) for r in rows for c in export.CSV_COLUMNS)


def test_all_without_an_export_format_is_a_usage_error(index_dir):
    result = CliRunner().invoke(cli, ["query", "police", "--all", "--index-dir", str(index_dir)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.strip() == "Error: --all needs --format csv or --format ndjson"


def test_a_bad_option_with_all_fails_before_any_row(index_dir):
    result = CliRunner().invoke(cli, ["query", "police", "--all", "--format", "csv", "--since", "someday",
                                      "--index-dir", str(index_dir)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.startswith("Error: since: cannot read date 'someday'")


def test_an_export_into_a_closed_pipe_ends_quietly(index_dir):
    # "true" reads nothing and exits long before Python has started: every write meets a closed pipe.
    command = f"{sys.executable} -m newssearch query --all --format ndjson --index-dir {index_dir} | true"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_no_match_gives_a_header_only_csv(index_dir):
    assert run("zzzzqqq", "--no-fuzzy", "--all", "--format", "csv", "--index-dir", str(index_dir)).splitlines() == [
        ",".join(export.CSV_COLUMNS)]
