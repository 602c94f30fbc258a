"""The index folder (newssearch.store): generations written in one block, atomic side files, the write lock."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from newssearch import index_seeds, store
from newssearch.errors import IndexCorruptError

from .conftest import write_seed


def _sealed(gen: store.NewGeneration) -> store.GenerationMeta:
    return gen.seal(created="2020-01-01T00:00:00Z", updated="2020-01-02T00:00:00Z", documents=3, seeds=2, related=1)


def test_a_new_generation_is_published_when_its_block_ends(tmp_path):
    with store.new_generation(tmp_path, None) as gen:
        gen.write_json(store.MANIFEST, {"paths": []})
        meta = _sealed(gen)
    assert store.current_generation(tmp_path) == gen.folder
    assert store.check_schema(tmp_path, gen.folder) == meta == store.read_meta(gen.folder)
    assert meta.files == {store.MANIFEST: len('{"paths":[]}')}
    store.verify_files(tmp_path, gen.folder, meta, checksums=True)


def test_a_new_generation_is_discarded_when_its_block_raises(tmp_path):
    with store.new_generation(tmp_path, None) as first:
        _sealed(first)
    with pytest.raises(RuntimeError, match="disk on fire"):
        with store.new_generation(tmp_path, first.folder) as second:
            _sealed(second)
            raise RuntimeError("disk on fire")
    assert store.current_generation(tmp_path) == first.folder
    assert not second.folder.exists()


def test_a_generation_never_sealed_is_not_published(tmp_path):
    with pytest.raises(RuntimeError, match="was not sealed"):
        with store.new_generation(tmp_path, None) as gen:
            gen.write_json(store.MANIFEST, {})
    assert store.current_generation(tmp_path) is None
    assert not gen.folder.exists()


def test_a_new_generation_links_only_whooshs_files_of_its_base(tmp_path):
    base = tmp_path / "gen-000001"
    base.mkdir()
    (base / "_MAIN_1.toc").write_bytes(b"toc")
    (base / store.MANIFEST).write_text("{}")
    (tmp_path / store.CURRENT).write_text("gen-000001\n")
    with store.new_generation(tmp_path, base) as gen:
        assert sorted(p.name for p in gen.folder.iterdir()) == ["_MAIN_1.toc"]
        assert (gen.folder / "_MAIN_1.toc").stat().st_ino == (base / "_MAIN_1.toc").stat().st_ino
        assert gen.folder.name == "gen-000002"
        _sealed(gen)


def test_an_atomic_write_that_fails_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "side.json"
    target.write_text("old")
    with pytest.raises(ValueError):
        with store.atomic_write(target) as handle:
            handle.write(b"half of the new")
            raise ValueError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["side.json"]


def test_an_atomic_write_never_writes_through_a_hard_link(tmp_path):
    live, new = tmp_path / "live.json", tmp_path / "new.json"
    live.write_text("live")
    new.hardlink_to(live)
    store.write_json(new, {"a": 1})
    assert live.read_text() == "live"
    assert json.loads(new.read_text()) == {"a": 1}


def test_json_side_files_keep_paths_that_are_not_utf8(tmp_path):
    path = "seeds/caf\udce9.txt"  # os.fsdecode of a Latin-1 file name
    store.write_json(tmp_path / "m.json", {"paths": [path]})
    assert (tmp_path / "m.json").read_bytes().isascii()
    assert store.load_json(tmp_path / "m.json", {}) == {"paths": [path]}
    store.write_json(tmp_path / "v.json", {"words": ["café"]}, ascii=False)
    assert (tmp_path / "v.json").read_text(encoding="utf-8") == '{"words":["café"]}'


def test_every_side_file_an_index_run_writes_is_named_by_the_store_and_checksummed(seeds, index_dir):
    write_seed(seeds, "a.txt", title="Alpha", url="https://x/a")
    index_seeds([seeds], index_dir)
    gen = store.current_generation(index_dir)
    meta = store.read_meta(gen)
    side_files = {store.MANIFEST, store.RELATED_URLS, store.KEPT_VERSIONS, store.DOC_VALUES, store.VOCABULARY}
    assert side_files <= set(meta.files)
    assert side_files - {store.MANIFEST} <= set(meta.crc32)
    assert (gen / store.META).exists() and store.META not in meta.files
    assert (meta.documents, meta.seeds, meta.related, meta.schema_version) == (1, 1, 0, store.SCHEMA_VERSION)


def test_metadata_that_is_not_an_object_is_a_damaged_index(tmp_path):
    gen = tmp_path / "gen-000001"
    gen.mkdir()
    (gen / store.META).write_text("[1, 2]")
    with pytest.raises(IndexCorruptError, match=r"cannot read gen-000001/meta\.json: not a JSON object"):
        store.read_meta(gen)


def test_a_damaged_generation_is_reported_in_one_line(tmp_path):
    error = store.damaged(tmp_path, tmp_path / "gen-000004", ValueError("bad block\nat offset 12"))
    assert error.detail == "gen-000004: ValueError: bad block"
    assert "\n" not in str(error)


def test_a_lock_left_by_a_killed_indexer_does_not_block(tmp_path):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from newssearch import store\n"
        "with store.write_lock(Path(sys.argv[1]), 0):\n    print('locked', flush=True); time.sleep(60)"
    ), str(index_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(Exception, match="being written by another process"):
        with store.write_lock(index_dir, 0.1):
            pass
    holder.kill()
    holder.communicate()
    with store.write_lock(index_dir, 0.5):
        pass




COLUMN_CASES = {
    "empty": {"paths": [], "sizes": [], "related": []},
    "one row of empty values": {"paths": [""], "sizes": [0], "related": [[]]},
    "awkward values": {
        "paths": ["/feed/a.txt", "/feed/b\udcff.txt", "/feed/東京.txt", "/feed/new\nline.txt", ""],
        "sizes": [0, -1, 2**62, -(2**63), 7],
        "related": [[], ["https://x/1", "https://x/\u00e9"], [""], ["a", "", "b"], []],
        "notes": ["", "line 3: bad yaml", "a NUL \0 here", "", "é"],  # a NUL: kept as JSON
        "lists with a NUL": [["a\0b"], [], [], [], ["c"]],
        "lists of numbers": [[1], [], [2, 3], [], []],
    },
}


@pytest.mark.parametrize("case", COLUMN_CASES)
def test_column_files_read_back_what_was_written_as_json_would(tmp_path, case):
    columns = COLUMN_CASES[case]
    store.write_columns(tmp_path / "side.cols", columns)
    loaded = store.load_columns(tmp_path / "side.cols", {})
    assert loaded == columns == json.loads(json.dumps(columns))
    assert list(loaded) == list(columns)


def column_kinds(path) -> dict[str, str]:
    """How each column of a column file is stored (from its header)."""
    data = path.read_bytes()
    start = data.index(b"\n") + 1
    size = int.from_bytes(data[start : start + 4], "little")
    return {name: kind for name, kind, _, _ in json.loads(data[start + 4 : start + 4 + size])}


@pytest.mark.parametrize("related", [
    [("https://x/1", "https://x/2"), (), ("https://x/3",)],  # a build: every file parsed, tuples
    [["https://x/1", "https://x/2"], (), ["https://x/3"]],  # an update: lists read back, tuples parsed
])
def test_related_urls_given_as_tuples_are_stored_as_string_lists_not_json(tmp_path, related):
    """A parse gives each file's related urls as a tuple: those are string lists too (JSON took
    seconds to write and read at a million seeds), and they read back as lists."""
    store.write_columns(tmp_path / "related.cols", {"paths": ["a", "b", "c"], "related": related})
    assert column_kinds(tmp_path / "related.cols") == {"paths": "str", "related": "strlists"}
    assert store.load_columns(tmp_path / "related.cols", {})["related"] == [list(r) for r in related]


def test_a_stored_column_is_written_again_byte_for_byte(tmp_path):
    """A column read with ``stored`` and written back as it is makes the file a fresh write of
    the same values makes, and reads back the same; the others are encoded as usual."""
    columns = COLUMN_CASES["awkward values"]
    store.write_columns(tmp_path / "a.cols", columns)
    stored: dict[str, store.StoredColumn] = {}
    loaded = store.load_columns(tmp_path / "a.cols", {}, stored)
    assert list(stored) == list(columns)
    mixed = {name: stored[name] if name in ("paths", "related") else values for name, values in loaded.items()}
    store.write_columns(tmp_path / "b.cols", mixed)
    assert (tmp_path / "b.cols").read_bytes() == (tmp_path / "a.cols").read_bytes()
    changed = {**mixed, "sizes": [1, 2, 3, 4, 5]}
    store.write_columns(tmp_path / "c.cols", changed)
    assert store.load_columns(tmp_path / "c.cols", {}) == {**columns, "sizes": [1, 2, 3, 4, 5]}


def test_a_column_file_that_is_damaged_is_an_index_error_naming_it(tmp_path):
    path = tmp_path / "gen-000001" / "side.cols"
    path.parent.mkdir()
    store.write_columns(path, COLUMN_CASES["awkward values"])
    data = path.read_bytes()
    for damaged in (b"", data[:-3], data + b"x", b"not a column file", data[:40] + bytes(len(data) - 40)):
        path.write_bytes(damaged)
        with pytest.raises(IndexCorruptError, match=r"cannot read side\.cols"):
            store.load_columns(path, {})
    assert store.load_columns(tmp_path / "missing.cols", {"x": []}) == {"x": []}
