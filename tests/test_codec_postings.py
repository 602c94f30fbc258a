"""Posting lists read a block at a time must equal Whoosh's own matchers, fast paths and fallbacks alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh import formats

from newssearch.codec import postings, segments
from newssearch.codec.postings import position_decoder, read_postings
from newssearch.schema import build_schema

# (field, term): a word in every document (several blocks), a rarer one, repeated words, a keyword value
TERMS = [("body", "common"), ("body", "rare"), ("title", "twice"), ("topic_facet", "AI"), ("url", "https://x/7")]


def document(n: int) -> dict:
    return {
        "url": f"https://x/{n}",
        "kind": "seed",
        "title": "twice twice" if n % 3 == 0 else "once twice",
        "body": "common " * (n % 4 + 1) + ("rare" if n % 17 == 0 else ""),
        "topic_facet": "AI" if n % 2 else "",
        "payload": {"n": n},
    }


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """Two segments with deleted documents in each, read through Whoosh's reader."""
    folder = tmp_path_factory.mktemp("postings")
    schema = build_schema()
    segments.create(folder, schema)
    built = []
    for first, last in ((0, 300), (300, 420)):
        builder = segments.SegmentBuilder(folder, schema)
        builder.add_batch([document(n) for n in range(first, last)])
        built.append(builder.finish())
    for segment in built:
        for docnum in range(0, segment.doc_count_all(), 7):
            segment.delete_document(docnum)
    segments.commit(folder, schema, built, 1)
    ix = segments.open_whoosh(folder, schema)
    reader = ix.reader()
    yield reader, list(reader.leaf_readers()), schema
    reader.close()
    ix.close()


def whooshs(reader, schema, field, text):
    """Whoosh's own matcher over the live documents: (docnums, weights, encoded values)."""
    btext = schema[field].to_bytes(text)
    matcher = reader.postings(field, btext)
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    return [d for d, _, _ in found], [w for _, w, _ in found], [v for _, _, v in found]


def live(reader, ids):
    return np.array([not reader.is_deleted(d) for d in ids.tolist()], dtype=bool)


@pytest.mark.parametrize(("field", "text"), TERMS)
@pytest.mark.parametrize("values", [False, True])
def test_postings_read_in_blocks_equal_whooshs(index, field, text, values):
    reader, leaves, schema = index
    ids, weights, encoded = read_postings(leaves, schema, field, text, values=values)
    # Whoosh hides deleted documents; the block reader keeps them for the live mask to drop.
    kept = live(reader, ids)
    assert not kept.all()
    expected_ids, expected_weights, expected_values = whooshs(reader, schema, field, text)
    assert ids[kept].tolist() == expected_ids
    assert weights[kept].tolist() == pytest.approx(expected_weights)
    if values:
        assert [v for v, k in zip(encoded, kept.tolist()) if k] == expected_values
    else:
        assert encoded == []


class _PublicOnly:
    """A segment reader without the private term table: what a Whoosh that renamed it would give."""

    def __init__(self, leaf) -> None:
        self._leaf = leaf

    def postings(self, field, text):
        return self._leaf.postings(field, text)


@pytest.mark.parametrize(("field", "text"), TERMS)
@pytest.mark.parametrize("values", [False, True])
def test_without_the_private_term_table_postings_come_through_whooshs_public_reader(index, field, text, values):
    _, leaves, schema = index
    fast = read_postings(leaves, schema, field, text, values=values)
    public = read_postings([(_PublicOnly(leaf), offset) for leaf, offset in leaves], schema, field, text,
                           values=values)
    assert public[0].tolist() == fast[0].tolist()  # deleted documents too: the live mask drops them
    assert public[1].tolist() == fast[1].tolist()
    assert public[2] == fast[2]


@pytest.mark.parametrize(("field", "text"), TERMS)
@pytest.mark.parametrize("values", [False, True])
def test_a_matcher_of_another_kind_is_read_one_posting_at_a_time(index, monkeypatch, field, text, values):
    _, leaves, schema = index
    fast = read_postings(leaves, schema, field, text, values=values)

    class Unknown:  # no matcher is one of these: every matcher takes the one-by-one path
        pass

    monkeypatch.setattr(postings, "W3LeafMatcher", Unknown)
    slow = read_postings(leaves, schema, field, text, values=values)
    assert slow[0].tolist() == fast[0].tolist()
    assert slow[1].tolist() == fast[1].tolist()
    assert slow[2] == fast[2]


def test_a_term_no_segment_holds_has_no_postings(index):
    _, leaves, schema = index
    ids, weights, encoded = read_postings(leaves, schema, "body", "absent", values=True)
    assert (ids.tolist(), weights.tolist(), encoded) == ([], [], [])


def test_positions_are_decoded_as_whoosh_decodes_them(index):
    _, leaves, schema = index
    for field, word in (("title", "twice"), ("body", "common"), ("body", "rare")):
        fmt = schema[field].format
        _, _, values = read_postings(leaves, schema, field, word, values=True)
        assert values
        assert [position_decoder(fmt)(v) for v in values] == [fmt.decode_positions(v) for v in values]


def test_a_format_other_than_positions_is_decoded_by_whoosh(tmp_path: Path):
    fmt = formats.Characters()
    value = fmt.encode([(0, 0, 5), (3, 10, 15)])
    assert position_decoder(fmt)(value) == fmt.decode_positions(value) == [0, 3]
