"""``newssearch export --format opensearch``: a mapping and _bulk NDJSON that hold exactly what the index holds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import index_seeds, open_index
from newssearch.cli import cli
from newssearch.errors import NewssearchError, QueryError
from newssearch.opensearch import MAX_ID_BYTES, export, mapping

from .conftest import related, write_seed

LONG_URL = "https://example.com/" + "é" * 400  # 820 bytes: over the _id limit


@pytest.fixture()
def index(tmp_path: Path) -> Path:
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    write_seed(seeds, "a.txt", title='Council "bans" facial recognition', url="https://x/a", topics=["AI", "Policy"],
               excerpt="Line one\nline two\u2028and a line separator", body="Body text, Zürich.",
               provider="Daily Ledger", related=[related("A follow-up", "https://x/a-related")])
    write_seed(seeds, "b.txt", title="Undated", url="https://x/b", published=None)
    write_seed(seeds, "c.txt", title="A long address", url=LONG_URL, published="2019-01-02T03:04:05+02:00")
    for i in range(30):
        # Distinct stories (near-duplicates would be one cluster, and this is about every article).
        write_seed(seeds, f"filler{i:02d}.txt", title=f"Filler story {i} of {i * 7}", url=f"https://x/filler/{i}",
                   excerpt=" ".join(f"w{i}x{j}" for j in range(40)))
    index_seeds([seeds], index_dir)
    return index_dir


def bulk(folder: Path) -> list[tuple[dict, dict]]:
    pairs = []
    for path in sorted(folder.glob("bulk-*.ndjson")):
        raw = path.read_bytes()
        assert raw.endswith(b"\n") and raw.isascii()
        lines = raw.decode("ascii").split("\n")[:-1]
        assert len(lines) % 2 == 0
        pairs += [(json.loads(a), json.loads(d)) for a, d in zip(lines[::2], lines[1::2])]
    return pairs


def test_every_article_is_exported_once_with_the_fields_the_index_stores(index, tmp_path):
    written = export(index, tmp_path / "out")
    pairs = bulk(tmp_path / "out")
    with open_index(index) as ix:
        total = ix.stats().articles
        assert written.articles == len(pairs) == total == 34  # 33 seeds and one related article
        for action, doc in pairs:
            stored = ix.article(doc["url"])
            assert stored is not None
            assert (doc["title"], doc["excerpt"], doc["body"], doc["topics"], doc["provider"], doc["kind"]) == (
                stored.title, stored.excerpt, stored.body, list(stored.topics), stored.provider, stored.kind)
            assert action == {"index": {"_index": "newssearch", "_id": action["index"]["_id"]}}
    ids = [a["index"]["_id"] for a, _ in pairs]
    assert len(set(ids)) == len(ids)
    by_url = {d["url"]: d for _, d in pairs}
    assert by_url["https://x/a"]["excerpt"] == "Line one\nline two\u2028and a line separator"  # escaped, not a line
    assert by_url["https://x/a-related"]["related_to"] == "https://x/a"
    assert "published" not in by_url["https://x/b"]
    assert by_url[LONG_URL]["published"] == "2019-01-02T01:04:05Z"  # UTC
    assert [d["url"] for _, d in pairs] == sorted(d["url"] for _, d in pairs)


def test_an_id_is_the_url_unless_it_is_longer_than_an_id_may_be(index, tmp_path):
    export(index, tmp_path / "out")
    ids = {d["url"]: a["index"]["_id"] for a, d in bulk(tmp_path / "out")}
    assert ids["https://x/a"] == "https://x/a"
    assert ids[LONG_URL] == "sha1:" + hashlib.sha1(LONG_URL.encode()).hexdigest()
    assert all(len(i.encode()) <= MAX_ID_BYTES for i in ids.values())


def test_bulk_files_stay_under_the_size_asked_and_replace_an_earlier_export(index, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "bulk-0099.ndjson").write_text("stale\n")
    (out / "notes.txt").write_text("mine")
    written = export(index, out, max_bytes=2_000, index="news-2020")
    files = sorted(out.glob("bulk-*.ndjson"))
    assert len(files) > 3 and files == sorted(written.files[1:])
    for path in files:  # one article may be larger than the limit alone; otherwise files stay under it
        size = path.stat().st_size
        assert size <= 2_000 or len(path.read_bytes().splitlines()) == 2
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "bulk-0099.ndjson").exists()
    assert {a["index"]["_index"] for a, _ in bulk(out)} == {"news-2020"}
    assert len(bulk(out)) == written.articles == 34


def test_the_mapping_types_every_field_a_document_has(index, tmp_path):
    export(index, tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "mapping.json").read_text())
    assert saved == mapping()
    properties = saved["mappings"]["properties"]
    assert saved["mappings"]["dynamic"] == "strict"  # a document with another field is refused, not guessed
    fields = set().union(*(d.keys() for _, d in bulk(tmp_path / "out")))
    assert fields <= set(properties)
    assert properties["published"]["type"] == "date"
    assert properties["topics"]["type"] == properties["provider"]["type"] == "keyword"  # exact facets
    assert properties["title"]["analyzer"] == "news"
    news = saved["settings"]["analysis"]["analyzer"]["news"]
    assert news["filter"] == ["lowercase", "asciifolding", "english_snowball"]
    assert saved["settings"]["analysis"]["filter"]["english_snowball"] == {"type": "stemmer", "language": "porter2"}


@pytest.mark.parametrize("name", ["Bad", "a b", "_x", "-x", "+x", "a/b", "a:b", "", "x" * 256])
def test_an_index_name_opensearch_refuses_is_refused_first(index, tmp_path, name):
    with pytest.raises(QueryError, match="index name"):
        export(index, tmp_path / "out", index=name)
    assert not (tmp_path / "out").exists()


def test_a_folder_that_cannot_be_written_is_one_error_naming_it(index, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(NewssearchError, match="cannot write the export to .*file/out"):
        export(index, tmp_path / "file" / "out")


def test_the_command_line_exports_and_reports_in_one_line(index, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["export", str(tmp_path / "out"), "--format", "opensearch", "--index-dir", str(index)])
    assert ok.exit_code == 0, ok.output
    assert ok.output == f"exported 34 articles to {tmp_path / 'out'}: mapping.json and 1 _bulk file\n"
    bad_name = runner.invoke(cli, ["export", str(tmp_path / "o2"), "--format", "opensearch", "--index-dir", str(index),
                                   "--index-name", "Bad"])
    assert bad_name.exit_code == 2 and "index name 'Bad'" in bad_name.output
    missing = runner.invoke(cli, ["export", str(tmp_path / "o3"), "--format", "opensearch", "--index-dir",
                                  str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and len(missing.output.strip().splitlines()) == 1
    assert not (tmp_path / "o3").exists()  # nothing written for an index that is not there
