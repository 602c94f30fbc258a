"""Posting lists read a block at a time must equal Whoosh's own matchers, fast paths and fallbacks alike."""

from __future__ import annotations

import itertools
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
from whoosh import formats
from whoosh.codec.whoosh3 import W3LeafMatcher

from newssearch.codec import postings, segments
from newssearch.codec.postings import position_decoder, read_postings
from newssearch.schema import build_schema

from .test_codec_segments import block_compressions

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


# -- the NumPy parsers, against unpickling ---------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def posting_block(draw):
    """A block's data as Whoosh or the segment builder pickles it: id gaps, minified weights, values.

    Hypothesis picks the shape (size, widest gap, weights kind, protocol); a seeded generator fills it.
    """
    count = draw(st.integers(1, 130))
    widest = draw(st.sampled_from([255, 70_000, 2**31 - 1]))
    kind = draw(st.sampled_from(["none", "one", "many", "ints"]))
    values = draw(st.sampled_from(["tuple", "none", "fixed"]))
    protocol = draw(st.sampled_from([2, 4]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    ids = (rng.randint(0, 2**31 - 1), *[rng.randint(1, widest) for _ in range(count - 1)])
    as_float32 = [float(np.float32(rng.uniform(0, 1000))) for _ in range(count)]
    # The builder writes a block's weights as ints (frequencies); past 255 they are not of the common shape.
    as_ints = tuple(rng.randint(1, rng.choice([9, 255, 300])) for _ in range(count))
    weights = {"none": None, "one": as_float32[0], "many": tuple(as_float32), "ints": as_ints}[kind]
    stored = {"tuple": tuple(b"v%d" % i for i in range(count)), "none": None, "fixed": b"ab" * count}[values]
    return count, pickle.dumps((ids, weights, stored), protocol)


def unpickled(counts, pickles):
    ids, weights = [], []
    for count, data in zip(counts, pickles):
        block_ids, block_weights, _ = pickle.loads(data)
        ids += list(itertools.accumulate(block_ids))
        weights += [1.0] * count if block_weights is None else (
            [block_weights] * count if isinstance(block_weights, float) else list(block_weights))
    return ids, np.array(weights, dtype=np.float32).tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(posting_block(), min_size=1, max_size=12))
def test_ids_and_weights_parsed_with_numpy_equal_unpickling(blocks):
    counts, pickles = [c for c, _ in blocks], [d for _, d in blocks]
    ids, weights = postings._decode_ids_weights(postings._Blocks.of(counts, pickles))
    assert (ids.tolist(), weights.tolist()) == unpickled(counts, pickles)


def test_blocks_of_the_common_shape_are_not_unpickled(monkeypatch):
    """The fast path is not a fallback in disguise: dense blocks never reach pickle.loads."""
    counts = [128, 128, 5, 3, 128, 2]
    # Weights as Whoosh writes them (floats) and as the builder does (ints).
    pickles = [pickle.dumps(((7 + 1000 * b, *[1] * (c - 1)), tuple((float if b < 3 else int)(i % 3 + 1) for i in range(c)),
                             tuple(b"x" for _ in range(c))), 4) for b, c in enumerate(counts)]
    expected = unpickled(counts, pickles)
    monkeypatch.setattr(postings.pickle, "loads", None)
    ids, weights = postings._decode_ids_weights(postings._Blocks.of(counts, pickles))
    assert (ids.tolist(), weights.tolist()) == expected


@st.composite
def positions(draw):
    """A sorted position list: its length and widest gap picked by Hypothesis, filled by a seeded generator."""
    count = draw(st.sampled_from([1, 2, 3, 50, 999, 1000, 1001, 1200]))
    widest = draw(st.sampled_from([255, 70_000, 2**24]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    return list(itertools.accumulate(rng.randint(1, widest) for _ in range(count)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(positions(), st.sampled_from(["whoosh", "cut", "builder"])), min_size=1, max_size=12))
def test_positions_parsed_with_numpy_equal_whooshs_decoding(lists):
    postings._FEW_VALUES, few = 0, postings._FEW_VALUES  # every list through NumPy, however short
    try:
        check_positions(lists)
    finally:
        postings._FEW_VALUES = few


def test_the_builders_position_values_are_parsed_without_unpickling(monkeypatch):
    """The fast path is not a fallback in disguise: the builder's values of every common length never reach
    the one-by-one decoder."""
    lists = [[5], [0, 255], [1, 2, 3], [7, 8, 9, 10], [70_000, 70_001], list(range(0, 1000, 2))] * 20
    values = [segments._encode_positions(found) for found in lists]
    monkeypatch.setattr(postings, "position_decoder", None)
    counts, flat = postings.positions_of(values, formats.Positions())
    assert counts.tolist() == [len(found) for found in lists]
    assert flat.tolist() == [p for found in lists for p in found]


def check_positions(lists):
    fmt = formats.Positions()
    # Whoosh's decoder takes a value with or without the pickle's final STOP, and the builder's
    # bare tuples: so does this one.
    encoders = {"whoosh": fmt.encode, "cut": lambda found: fmt.encode(found)[:-1],
                "builder": segments._encode_positions}
    values = [encoders[how](found) for found, how in lists]
    counts, flat = postings.positions_of(values, fmt)
    expected = [fmt.decode_positions(v) for v in values]
    assert counts.tolist() == [len(e) for e in expected]
    assert flat.tolist() == [p for e in expected for p in e]


def test_positions_of_another_format_are_decoded_by_whoosh():
    fmt = formats.Characters()
    values = [fmt.encode([(0, 0, 5), (3, 10, 15)]), fmt.encode([(7, 30, 34)])]
    counts, flat = postings.positions_of(values, fmt)
    assert (counts.tolist(), flat.tolist()) == ([2, 1], [0, 3, 7])


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    """A segment from the builder and one from Whoosh's own writer (protocol 2, zlib), with deletions:
    dense terms (gaps of 1), sparse ones (gaps past 255), a term in two documents, long position lists."""
    from whoosh import index as whoosh_index

    folder = tmp_path_factory.mktemp("varied")
    schema = build_schema()
    segments.create(folder, schema)

    def article(n: int) -> dict:
        words = ["dense"] + (["sparse"] if n % 300 == 0 else []) + (["pair"] if n in (5, 2900) else [])
        return {"url": f"https://x/{n}", "kind": "seed", "title": " ".join(words),
                "body": ("dense filler " * (n % 9)) + ("sparse " if n % 300 == 0 else "") + "dense " * (n % 200),
                "payload": {"n": n}}

    builder = segments.SegmentBuilder(folder, schema)
    builder.add_batch([article(n) for n in range(3000)])
    ours = builder.finish()
    for docnum in range(0, 3000, 11):
        ours.delete_document(docnum)
    segments.commit(folder, schema, [ours], 1)
    ix = segments.open_whoosh(folder, schema)
    with ix.writer() as writer:  # Whoosh's own writer adds a second segment
        writer.merge = False
        for n in range(3000, 3600):
            doc = article(n)
            doc["payload"] = {"n": n}
            writer.add_document(**doc)
    ix.close()
    ix = whoosh_index.open_dir(str(folder), schema=schema)
    reader = ix.reader()
    assert len(reader.leaf_readers()) == 2
    yield reader, list(reader.leaf_readers()), schema
    reader.close()
    ix.close()


@pytest.mark.parametrize("values", [False, True])
@pytest.mark.parametrize("numpy_from", [8192, 0])
def test_every_term_of_both_writers_reads_as_whooshs_matchers_give_it(varied, values, numpy_from, monkeypatch):
    monkeypatch.setattr(postings, "NUMPY_POSTINGS", numpy_from)
    reader, leaves, schema = varied
    assert _terms_read_as_whooshs_matchers_give_them(reader, leaves, schema, values) > 3000


def _terms_read_as_whooshs_matchers_give_them(reader, leaves, schema, values, longest=None) -> int:
    """Check every term of the title, body and url (of fewer than ``longest`` postings when given)
    against Whoosh's matchers; returns how many were checked."""
    checked = 0
    for field in ("title", "body", "url"):
        for btext in reader.lexicon(field):
            if longest is not None and reader.doc_frequency(field, btext) >= longest:
                continue
            ids, weights, encoded = read_postings(leaves, schema, field, btext, values=values)
            kept = live(reader, ids)
            expected_ids, expected_weights, expected_values = whooshs(reader, schema, field, btext)
            assert ids[kept].tolist() == expected_ids, (field, btext)
            assert weights[kept].tolist() == pytest.approx(expected_weights)
            if values:
                assert [v for v, k in zip(encoded, kept.tolist()) if k] == expected_values
            checked += 1
    return checked


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 130), st.integers(0, 2**32), st.sampled_from([2, 4, 4, 4])),
                min_size=1, max_size=6))
def test_where_each_value_lies_is_found_in_protocol_4_blocks_and_refused_in_others(shapes):
    counts, pickles, expected = [], [], []
    for count, seed, protocol in shapes:
        rng = random.Random(seed)
        ids = (rng.randint(0, 2**31 - 1), *(rng.randint(1, 255) for _ in range(count - 1)))  # the common shape
        weights = [float(rng.randint(1, rng.choice([1, 9]))) for _ in range(count)]
        # Minified as the writers do: None when all are 1, one float when all are equal, else
        # a tuple of floats (Whoosh's writer) or of ints (the builder).
        many = tuple(weights) if seed % 2 else tuple(map(int, weights))
        minified = None if set(weights) == {1.0} else weights[0] if len(set(weights)) == 1 else many
        # Some values the same object as an earlier one, as the builder shares common encodings:
        # the pickle refers back to its memo.
        shared = [bytes(rng.getrandbits(8) for _ in range(rng.choice([5, 40, 255, 256, 300]))) for _ in range(3)]
        values = tuple(rng.choice(shared) if rng.random() < 0.3 else
                       bytes(rng.getrandbits(8) for _ in range(rng.choice([5, 40, 255, 256, 300])))
                       for _ in range(count))
        pickled = pickle.dumps((ids, minified, values), protocol)
        counts.append(count)
        pickles.append(pickled)
        expected += list(values)
    _, _, slices = postings._decode_ids_weights(postings._Blocks.of(counts, pickles), values=True)
    if any(protocol == 2 for _, _, protocol in shapes):
        assert slices is None  # protocol 2 pickles bytes as calls: left to unpickling
    else:
        found = postings.EncodedValues(postings._Blocks.of(counts, pickles).buf, *slices)
        assert list(found) == expected


@pytest.mark.parametrize(("field", "word"), [("body", "common"), ("body", "rare"), ("title", "twice")])
def test_positions_read_from_the_builders_blocks_without_unpickling_equal_whooshs(index, field, word, monkeypatch):
    monkeypatch.setattr(postings, "NUMPY_POSTINGS", 0)
    reader, leaves, schema = index
    ids, weights, values = read_postings(leaves, schema, field, word, values=True)
    wanted = np.arange(len(ids)) % 2 == 0
    monkeypatch.setattr(postings, "_read_all_unpickled", None)  # the NumPy path, or a failure
    fast_ids, fast_weights, encoded = postings.read_postings_and_values(leaves, schema, field, word)
    assert (fast_ids.tolist(), fast_weights.tolist()) == (ids.tolist(), weights.tolist())
    assert list(encoded) == values
    assert list(encoded.chosen(wanted)) == [v for v, w in zip(values, wanted.tolist()) if w]


@pytest.mark.parametrize("values", [False, True])
def test_short_lists_are_read_in_one_call_without_whooshs_matcher_and_equal_its_postings(varied, values, monkeypatch):
    # Both segments: the builder's (blocks compressed above COMPRESS_ABOVE, not below) and Whoosh's
    # writer's (every block compressed, protocol 2).
    reader, leaves, schema = varied

    read_all = postings._read_all

    def no_block_walk(matcher, *args):
        assert not isinstance(matcher, W3LeafMatcher), "a posting list walked with Whoosh's matcher"
        return read_all(matcher, *args)  # inlined postings (the urls) come in a list

    monkeypatch.setattr(postings, "_read_all", no_block_walk)
    assert _terms_read_as_whooshs_matchers_give_them(reader, leaves, schema, values, postings.NUMPY_POSTINGS) > 3000


def test_the_builders_segment_holds_compressed_and_uncompressed_blocks(varied):
    # What the tests of this module read: both kinds of block, so that every path meets both.
    reader, leaves, _ = varied
    folder = Path(leaves[0][0]._storage.folder)
    flags = block_compressions(folder)  # the builder's .pst (Whoosh's writer made a compound file)
    assert 0 in flags and 1 in flags
