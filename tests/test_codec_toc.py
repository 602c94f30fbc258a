"""The table of contents: an index opens whatever module paths its pickled schema names."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.structfile import StructFile

from newssearch import index_seeds, open_index, store
from newssearch.codec import toc
from newssearch.schema import build_schema

from .conftest import write_seed

OLD, MOVED = b"newssearch.schema", b"newssearch.moved0"  # same length: the pickle's framing is unchanged


def move_schema_module(gen: Path) -> None:
    """Rewrite the generation's table of contents as if ``newssearch.schema`` had lived elsewhere when
    it was written (its classes then unpickle from nowhere), and record the new checksums."""
    (path,) = gen.glob("_MAIN_*.toc")
    data = path.read_bytes()
    assert OLD in data  # the schema pickle names our classes by module path
    path.write_bytes(data.replace(OLD, MOVED))
    meta = store.read_meta(gen)
    meta = dataclasses.replace(meta, crc32=store.file_checksums(gen, meta.files))
    store.write_json(gen / store.META, meta.to_json())


@pytest.fixture
def moved(tmp_path: Path) -> tuple[Path, Path]:
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    write_seed(seeds, "a.txt", title="Facial recognition in Zürich", url="https://x/a", topics=["AI"])
    write_seed(seeds, "b.txt", title="Harbour news", url="https://x/b")
    index_seeds([seeds], index_dir)
    move_schema_module(store.current_generation(index_dir))
    return seeds, index_dir


def test_the_rewritten_table_of_contents_names_a_module_that_does_not_exist(moved):
    _, index_dir = moved
    (path,) = store.current_generation(index_dir).glob("_MAIN_*.toc")
    assert MOVED in path.read_bytes() and OLD not in path.read_bytes()
    assert importlib.util.find_spec(MOVED.decode()) is None


def test_an_index_is_opened_without_unpickling_the_schema_of_its_table_of_contents(tmp_path, monkeypatch):
    schema = build_schema()
    whoosh_index.create_in(str(tmp_path), schema).close()

    def refuse(*args, **kwargs):
        raise AssertionError("the pickled schema was read")

    monkeypatch.setattr(StructFile, "read_string", refuse)  # how TOC.read loads the schema pickle
    assert toc.read(tmp_path, schema) == ([], 0)
    toc.open_whoosh(tmp_path).close()


def test_an_index_opens_and_answers_when_its_pickled_schema_names_a_module_path_that_is_gone(moved):
    _, index_dir = moved
    gen = store.current_generation(index_dir)
    segments, generation = toc.read(gen, build_schema())
    assert generation == 1 and sum(s.doc_count() for s in segments) == 2
    with open_index(index_dir) as ix:
        assert [h.url for h in ix.search("zurich").hits] == ["https://x/a"]


def test_an_index_updates_when_its_pickled_schema_names_a_module_path_that_is_gone(moved):
    seeds, index_dir = moved
    write_seed(seeds, "c.txt", title="Zürich harbour", url="https://x/c")
    (seeds / "b.txt").unlink()
    report = index_seeds([seeds], index_dir)
    assert (report.added, report.removed) == (1, 1)
    with open_index(index_dir) as ix:
        assert sorted(h.url for h in ix.search("zurich").hits) == ["https://x/a", "https://x/c"]
        assert ix.search("harbour").total == 1
