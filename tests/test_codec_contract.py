"""The Whoosh the codec was written for: its pin, and every private name and shape the codec relies on.

When this fails after a Whoosh upgrade, read the inventory in
``newssearch/codec/__init__.py`` before changing anything else.
"""

from __future__ import annotations

import importlib
import struct
import tomllib
from array import array
from importlib import metadata
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from newssearch import codec
from newssearch.codec import columns, postings, segments
from newssearch.schema import build_schema

from .conftest import REPO


def resolve(entry: str):
    module, _, qualname = entry.partition(":")
    found = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def test_the_installed_whoosh_is_the_pinned_one():
    requirements = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pin = f"{codec.WHOOSH_DISTRIBUTION}=={codec.WHOOSH_VERSION}"
    assert pin in requirements
    assert metadata.version(codec.WHOOSH_DISTRIBUTION) == codec.WHOOSH_VERSION


@pytest.mark.parametrize("entry", codec.INVENTORY)
def test_every_name_of_the_inventory_exists(entry):
    assert resolve(entry) is not None


def test_the_private_names_have_the_shapes_the_codec_writes_and_reads():
    from whoosh.codec.whoosh3 import W3TermInfo, _lenfield
    from whoosh.filedb.filetables import _lengths
    from whoosh.util.numeric import _length_byte_cache, byte_to_length, length_to_byte

    assert _lenfield("body") == "_body_len"
    # flags, weight, doc frequency, min and max length codes, max weight, min and max id
    assert W3TermInfo._struct.format in ("!BfIBBfII", b"!BfIBBfII")
    assert _lengths.format in ("!ii", b"!ii") and isinstance(_lengths, struct.Struct)
    assert len(_length_byte_cache) == 256
    lengths = [*range(2000), 10**5, 10**6, 2**31]
    assert columns.length_codes(array("I", lengths)).tolist() == [length_to_byte(n) for n in lengths]
    assert columns.LENGTH_OF_CODE.tolist() == [byte_to_length(b) for b in range(256)]
    assert [byte_to_length(length_to_byte(n)) for n in (0, 1, 2, 3)] == [0, 1, 2, 3]
    assert resolve("whoosh.codec.whoosh3:WHOOSH3_HEADER_MAGIC") == b"W3Bl"


def test_live_objects_have_the_attributes_the_codec_uses(tmp_path: Path):
    schema = build_schema()
    whoosh_index.create_in(str(tmp_path), schema).close()
    builder = segments.SegmentBuilder(tmp_path, schema)
    assert all(hasattr(schema["published"].column_type, a) for a in codec.NUMERIC_COLUMN_ATTRIBUTES)
    builder.add_batch([{"url": f"https://x/{n}", "kind": "seed", "body": "word " * n, "payload": {}}
                       for n in range(1, 300)])
    segment = builder.finish()
    assert all(hasattr(segment, a) for a in codec.SEGMENT_ATTRIBUTES)
    segments.commit(tmp_path, schema, [segment], 1)
    term_table = segments._TermTable(FileStorage(str(tmp_path)).create_file("probe"))
    assert all(hasattr(term_table, a) for a in codec.ORDERED_HASH_ATTRIBUTES)
    term_table.close()
    ix = segments.open_whoosh(tmp_path, schema)
    with ix.reader() as reader:
        (leaf, _offset), = reader.leaf_readers()
        assert all(hasattr(leaf, a) for a in codec.SEGMENT_READER_ATTRIBUTES)
        matcher = leaf._terms.matcher("body", b"word", schema["body"].format)
        assert type(matcher) is postings.W3LeafMatcher  # the block walk's fast path applies
        matcher._read_data()
        assert all(hasattr(matcher, a) for a in codec.MATCHER_ATTRIBUTES)
    ix.close()
