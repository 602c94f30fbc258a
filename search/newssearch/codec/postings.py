"""The read side of posting lists: whole posting lists of Whoosh's W3 posting file at a time.

Whoosh's matchers walk postings one document at a time in Python: about
1.2 µs to decode a posting. Here a term's posting list is read whole into
NumPy arrays, for the scorer (:mod:`newssearch.scoring`), the doc values
(:mod:`newssearch.docvalues`) and the deletion of documents by url
(:mod:`newssearch.codec.segments`):

* a long list (:data:`NUMPY_POSTINGS` postings or more in a segment) is read
  with one call and its ids and weights parsed from the pickles' bytes with
  NumPy, never unpickling the positions it holds (about 3 times faster than
  unpickling at a common word, see the comment above :class:`_Blocks`);
* a short one is unpickled block by block, which costs less than setting the
  NumPy parse up;
* positions, for phrases, are parsed for all the documents a phrase needs at
  once (:func:`positions_of`).

The W3 layout of a term's postings (``whoosh.codec.whoosh3``): the
``WHOOSH3_HEADER_MAGIC``, then blocks, each an int length (negative for the
last block), a pickled info tuple (length, max id, max weight, compression,
min and max length codes), then the pickled ``(ids, weights, values)``
tuple, zlib-compressed if the info says so. Ids are delta-coded from 0 in
each block; weights are ``None`` (all 1), one float (all equal) or one per
posting. Every fast path falls back to unpickling on anything it does not
expect, and ``tests/test_codec_postings.py`` checks each against Whoosh's
own matchers and decoders.
"""

from __future__ import annotations

import itertools
import pickle
import struct
import zlib

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.matching import ListMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

_INT = struct.Struct("!i")  # Whoosh's StructFile.read_int: a big-endian int


def position_decoder(fmt):
    """A function from a posting's encoded value to its positions, as ``fmt.decode_positions``.

    For Whoosh's ``Positions`` format (a 4-byte frequency, then the pickled
    position gaps, perhaps without the final STOP opcode) the same steps
    without the per-call overhead: a phrase of two common words decodes a
    million values.
    """
    if type(fmt) is not formats.Positions:
        return fmt.decode_positions
    loads, accumulate = pickle.loads, itertools.accumulate

    def decode(value: bytes) -> list[int]:
        body = value[4:]
        if body[-1:] != b".":
            body += b"."
        return list(accumulate(loads(body)))

    return decode


def read_postings(leaves, schema, field: str, text: str | bytes, *, values: bool) -> tuple[np.ndarray, np.ndarray, list]:
    """Docnums, frequencies and (if asked) encoded values of a term over ``leaves``, deleted documents included.

    The term is looked up once per segment, in the segment's own term table:
    ``SegmentReader.postings`` would build a set of the segment's deleted
    documents and filter every posting through it; the live mask does that
    on whole arrays. When the term has :data:`NUMPY_POSTINGS` postings or more
    in all, the posting lists of every segment are parsed together.
    """
    btext = text if isinstance(text, bytes) else schema[field].to_bytes(text)
    fmt = schema[field].format
    ids_parts, weight_parts, value_parts = [], [], []
    found = []
    for leaf, offset in leaves:
        terms = getattr(leaf, "_terms", None)
        try:
            if terms is not None:
                found.append((terms, terms.term_info(field, btext), offset))
                continue
            matcher = leaf.postings(field, btext)
        except TermNotFound:
            continue
        if isinstance(matcher, FilterMatcher):
            matcher = matcher.child
        ids, weights, encoded = _read_all(matcher, values)
        ids_parts.append(ids + offset)
        weight_parts.append(weights)
        value_parts.extend(encoded)
    together = _read_together(found, fmt, values) if found else None
    if together is not None:
        ids_parts.append(together[0])
        weight_parts.append(together[1])
        value_parts.extend(together[2])
    else:
        fixed = fmt.fixed_value_size()
        for terms, info, offset in found:
            read = None
            if not info.is_inlined() and info.doc_frequency() < NUMPY_POSTINGS:
                start_offset, extent = info.extent()
                read = _read_extent_unpickled(terms._postfile, start_offset, extent, fixed, values)
            if read is None:
                matcher = terms._codec.postings_reader(terms._postfile, info, fmt, term=(field, btext))
                read = _read_all(matcher, values, info.doc_frequency())
            ids, weights, encoded = read
            ids_parts.append(ids + offset)
            weight_parts.append(weights)
            value_parts.extend(encoded)
    if not ids_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), []
    if len(ids_parts) == 1:
        return ids_parts[0], weight_parts[0], value_parts
    return np.concatenate(ids_parts), np.concatenate(weight_parts), value_parts


class EncodedValues:
    """The encoded values (positions) of chosen postings, in order, as slices of one buffer."""

    def __init__(self, buf: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> None:
        self._buf, self._starts, self._sizes = buf, starts, sizes

    @classmethod
    def of(cls, values: list[bytes]) -> EncodedValues:
        sizes = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        return cls(np.frombuffer(b"".join(values) + bytes(16), dtype=np.uint8), np.cumsum(sizes) - sizes, sizes)

    def __len__(self) -> int:
        return len(self._starts)

    def chosen(self, wanted: np.ndarray) -> EncodedValues:
        """The values marked in ``wanted``."""
        return EncodedValues(self._buf, self._starts[wanted], self._sizes[wanted])

    def __iter__(self):
        """Each value as bytes."""
        buf = self._buf
        return (buf[a:a + z].tobytes() for a, z in zip(self._starts.tolist(), self._sizes.tolist()))

    def positions(self, fmt, chunk: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """:func:`positions_of` the values in ``chunk``."""
        return _positions_in(self._buf, self._starts[chunk], self._sizes[chunk], fmt)


def read_postings_and_values(leaves, schema, field: str, text: str | bytes
                             ) -> tuple[np.ndarray, np.ndarray, EncodedValues | list]:
    """:func:`read_postings` with the encoded values (positions), located rather than unpickled when that is cheap.

    A long list of Whoosh's ``Positions`` format is read with its values in
    one buffer, never unpickled: where each value lies is parsed with NumPy
    (:func:`_value_slices`), and the values come as :class:`EncodedValues`.
    Otherwise they are unpickled, as :func:`read_postings` gives them.
    """
    btext = text if isinstance(text, bytes) else schema[field].to_bytes(text)
    fmt = schema[field].format
    if type(fmt) is formats.Positions and all(hasattr(leaf, "_terms") for leaf, _ in leaves):
        found = []
        for leaf, offset in leaves:
            try:
                found.append((leaf._terms, leaf._terms.term_info(field, btext), offset))
            except TermNotFound:
                continue
        located = _read_together(found, fmt, values=True, locate=True) if found else None
        if located is not None:
            return located
    return read_postings(leaves, schema, field, btext, values=True)


def _read_together(found: list, fmt, values: bool, locate: bool = False) -> tuple | None:
    """A term's postings in every segment, parsed with NumPy at once; None when it is short or not of that shape.

    The values (if asked) are unpickled, or with ``locate`` found in place as
    :class:`EncodedValues` (None when a block's values are not of that shape).
    """
    counts = [info.doc_frequency() for _, info, _ in found]
    if sum(counts) < NUMPY_POSTINGS or any(info.is_inlined() for _, info, _ in found):
        return None
    layouts = []
    for terms, info, _ in found:
        offset, length = info.extent()
        layout = _layout(terms._postfile, offset, length[0] if isinstance(length, tuple) else length)
        if layout is None:
            return None
        layouts.append(layout)
    blocks = _blocks(layouts, inflate="whole" if locate else "heads")
    decoded = _decode_ids_weights(blocks, values=locate) if blocks is not None else None
    if blocks is None or decoded is None or (locate and decoded[2] is None):
        return None
    ids, weights = decoded[0], decoded[1]
    ids += np.repeat(np.array([offset for _, _, offset in found], dtype=np.int64), counts)
    if locate:
        return ids, weights, EncodedValues(blocks.buf, *decoded[2])
    return ids, weights, _values(blocks, fmt.fixed_value_size()) if values else []


def _read_all(matcher, values: bool = False, count: int | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """Every posting of a leaf matcher, a block at a time: ids, weights and, if asked, encoded values.

    ``count``, the number of postings when known, picks the way: NumPy parses
    long lists faster than unpickling them, but costs a millisecond to set up.
    """
    if not isinstance(matcher, W3LeafMatcher):  # inlined or in-memory postings: few, read one by one
        if isinstance(matcher, ListMatcher):
            matcher.reset()  # from the first: the deletion filter it came in has moved it past deleted ones
        id_list, weight_list, value_list = [], [], []
        while matcher.is_active():
            id_list.append(matcher.id())
            weight_list.append(matcher.weight())
            if values:
                value_list.append(matcher.value())
            matcher.next()
        return np.array(id_list, dtype=np.int64), np.array(weight_list, dtype=np.float32), value_list
    if not matcher._byteids and (count is None or count >= NUMPY_POSTINGS):
        extent = matcher._length[0] if isinstance(matcher._length, tuple) else matcher._length  # a 1-tuple in Whoosh 2.7
        layout = _layout(matcher._postfile, matcher._startoffset, extent)
        blocks = _blocks([layout]) if layout is not None else None
        decoded = _decode_ids_weights(blocks) if blocks is not None else None
        if blocks is not None and decoded is not None:
            return decoded[0], decoded[1], _values(blocks, matcher._fixedsize) if values else []
    return _read_all_unpickled(matcher, values)


# -- the fast path: a posting list's ids and weights parsed from the pickles with NumPy ------------
#
# A block's data is the pickle of ``(ids, weights, values)``; unpickling it makes a
# Python object of every id, weight and (for text fields) position list, most of
# which a query that only scores throws away. The pickle of a tuple of small ints
# is regular: MARK, then ``K x`` for an int below 256 (``M xx`` below 65,536,
# ``J xxxx`` a signed 32-bit int), then TUPLE; floats are ``G`` and 8 big-endian
# bytes. A block's first id is a docnum, its others are gaps, below 256 in every
# block of a term that is in many documents: exactly the terms whose reading is
# slow. So the ids and weights of all such blocks of a term are parsed at once
# with NumPy, and their values are never unpickled. A block of any other shape
# (a wider gap, another protocol's opcodes) is unpickled on its own, and
# ``tests/test_codec_postings.py`` checks both against Whoosh's matchers.

NUMPY_POSTINGS = 8192  # posting lists at least this long are parsed with NumPy (measured break-even: ~60 blocks)

_K, _M, _J, _G, _N = ord("K"), ord("M"), ord("J"), ord("G"), ord("N")
_MARK, _TUPLE, _TUPLE1 = ord("("), ord("t"), 0x85  # TUPLE1..TUPLE3 are 0x85..0x87
_BINPUT, _LONG_BINPUT, _MEMOIZE, _FRAME = ord("q"), ord("r"), 0x94, 0x95
_INFO_TAIL = b"tq\x00."  # a block info tuple's end: TUPLE, memo 0, STOP (protocol 2, as Whoosh writes it)


class _Blocks:
    """Posting blocks ready to parse: each block's posting count, where its data pickle starts in ``buf``
    (zero-padded past the end), and a function from a block's number to its whole data pickle."""

    __slots__ = ("counts", "buf", "starts", "data")

    def __init__(self, counts: np.ndarray, buf: np.ndarray, starts: np.ndarray, data) -> None:
        self.counts, self.buf, self.starts, self.data = counts, buf, starts, data

    @classmethod
    def of(cls, counts: list[int], pickles: list[bytes]) -> _Blocks:
        """Blocks from their posting counts and uncompressed data pickles (the tests' way in)."""
        sizes = np.fromiter(map(len, pickles), dtype=np.int64, count=len(pickles))
        buf = np.frombuffer(b"".join([*pickles, _padding(max(counts, default=0))]), dtype=np.uint8)
        return cls(np.array(counts, dtype=np.int64), buf, np.cumsum(sizes) - sizes, pickles.__getitem__)


def _padding(most: int) -> bytes:
    """Zeros after the last block: a block of another shape may send offsets this far past its start before it is refused."""
    return bytes(_HEAD + _HEAD_PER_POSTING * most + 16)


# A block's ids take at most 5 bytes each and its weights 9, after a few bytes of
# framing: the rest of its pickle, the values, is never looked at.
_HEAD, _HEAD_PER_POSTING = 32, 14


def _layout(postfile, start_offset: int, extent: int) -> tuple[bytes, list[int], list[int]] | None:
    """A W3 posting list read whole, where each block's info pickle starts, and where each block ends.

    Only the block lengths are read here, in Python; None when an info pickle
    has not the end Whoosh writes (TUPLE, memo 0, STOP).
    """
    raw = postfile.get(start_offset, extent)
    unpack_from, find = _INT.unpack_from, raw.find
    starts: list[int] = []
    ends: list[int] = []
    position = len(WHOOSH3_HEADER_MAGIC)
    while position < len(raw):
        length = unpack_from(raw, position)[0]
        start = position + 4
        if find(_INFO_TAIL, start, start + 64) < 0:
            return None
        starts.append(start)
        position = start + abs(length)
        ends.append(position)
        if length < 0:
            break
    return raw, starts, ends


def _blocks(layouts: list[tuple[bytes, list[int], list[int]]], inflate: str = "heads") -> _Blocks | None:
    """The blocks of posting lists laid out by :func:`_layout` (a term in each segment), in order.

    Their info tuples (protocol 2 pickles of six numbers: count, last id, max
    weight, compression, min and max length codes) are parsed together with
    NumPy. ``inflate`` says what of a compressed block's data is inflated and
    appended: its ``heads`` (the ids and weights) or the ``whole`` of it (the
    values too).
    None when an info is not of that shape.
    """
    raws = [raw for raw, _, _ in layouts]
    shifts = np.cumsum([len(r) for r in raws]) - np.array([len(r) for r in raws])
    info = np.concatenate([np.array(starts, dtype=np.int64) + shift for (_, starts, _), shift in zip(layouts, shifts)])
    ends = np.concatenate([np.array(e, dtype=np.int64) + shift for (_, _, e), shift in zip(layouts, shifts)])
    if not len(info):
        return None
    # One buffer for all: the lists, then the heads of inflated blocks, then zeros.
    store = bytearray().join(raws)
    del raws
    store += bytes(64)
    buf = np.frombuffer(store, dtype=np.uint8)
    if (buf[info] != 0x80).any() or (buf[info + 1] != 2).any() or (buf[info + 2] != _MARK).any():
        return None
    cursor = info + 3
    items = []
    for i in range(6):
        if i == 2:  # the max weight, a float: not needed
            if (buf[cursor] != _G).any():
                return None
            cursor = cursor + 9
            continue
        item = _int_items(buf, cursor)
        if item is None:
            return None
        items.append(item[0])
        cursor = item[1]
    for i, byte in enumerate(_INFO_TAIL):
        if (buf[cursor + i] != byte).any():
            return None
    del buf  # the buffer grows below: no view of it may be alive
    counts, compressed = items[0], items[2] != 0
    whole_starts, whole_ends = (cursor + len(_INFO_TAIL)).tolist(), ends.tolist()
    inflated = set(np.flatnonzero(compressed).tolist())
    data_starts = cursor + len(_INFO_TAIL)
    appended: dict[int, int] = {}
    for b in sorted(inflated):
        data = zlib.decompress(store[whole_starts[b]:whole_ends[b]])
        if inflate == "heads":
            data = data[:_HEAD + _HEAD_PER_POSTING * int(counts[b])]
        else:
            appended[b] = len(data)
        data_starts[b] = len(store)
        store += data
    store += _padding(int(counts.max()))

    def pickled(b: int) -> bytes:  # unless kept whole, inflated again when asked: it would double the memory
        if b in appended:
            return bytes(store[data_starts[b]:data_starts[b] + appended[b]])
        whole = store[whole_starts[b]:whole_ends[b]]
        return zlib.decompress(whole) if b in inflated else bytes(whole)

    buf = np.frombuffer(store, dtype=np.uint8)
    return _Blocks(counts, buf, data_starts, pickled)


def _int_items(buf: np.ndarray, cursor: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The non-negative ints pickled at each offset ``cursor``, and the offsets after them; None unless all are."""
    value, after, valid = _int_items_lenient(buf, cursor)
    return (value, after) if valid.all() else None


def _int_items_lenient(buf: np.ndarray, cursor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ints pickled at each offset ``cursor`` (``K`` and one byte, ``M`` and two, ``J`` and four,
    little-endian), the offsets after them, and which are such non-negative ints."""
    op = buf[cursor]
    b1, b2, b3, b4 = (buf[cursor + i].astype(np.int64) for i in (1, 2, 3, 4))
    value = np.where(op == _K, b1, np.where(op == _M, b1 | b2 << 8, b1 | b2 << 8 | b3 << 16 | b4 << 24))
    valid = ((op == _K) | (op == _M) | (op == _J)) & (value < 1 << 31)
    return value, cursor + np.where(op == _K, 2, np.where(op == _M, 3, 5)), valid


def _decode_ids_weights(blocks: _Blocks, values: bool = False) -> tuple | None:
    """The docnums and weights of ``blocks``; None when they hold no postings.

    With ``values``, also where each posting's encoded value lies in
    ``blocks.buf`` (start, size): None for both when a block's values are not
    a tuple of bytes pickled with protocol 4 (the caller then unpickles them).
    """
    n, buf, starts = blocks.counts, blocks.buf, blocks.starts
    if not len(n) or n.min() < 1:
        return None
    at = buf.__getitem__
    good = (at(starts) == 0x80) & (at(starts + 2) != 0)
    cursor = starts + 2
    cursor += np.where((at(starts + 1) >= 4) & (at(cursor) == _FRAME), 9, 0)  # protocol 4's 8-byte FRAME
    marked = n >= 4  # MARK, items, TUPLE for 4 or more; items, then TUPLE1..3 for fewer
    good &= ~marked | (at(cursor) == _MARK)
    cursor += marked
    # The first id, a docnum: any width.
    first_id, cursor, valid = _int_items_lenient(buf, cursor)
    good &= valid
    # The gaps: K and one byte each, when the block is of the common shape.
    total = int(n.sum())
    first = np.cumsum(n) - n
    gaps = n - 1
    within = np.arange(total - len(n)) - np.repeat(np.cumsum(gaps) - gaps, gaps)
    gap_at = np.repeat(cursor, gaps) + 2 * within
    shaped = at(gap_at) == _K
    good &= _every(shaped, gaps)
    ids = np.empty(total, dtype=np.int64)
    ids[first] = first_id
    gap_slots = np.ones(total, dtype=bool)
    gap_slots[first] = False
    ids[gap_slots] = at(gap_at + 1)
    del within, gap_at, shaped, gap_slots  # a common word's are megabytes: gone before the weights
    cursor += 2 * gaps
    good &= at(cursor) == np.where(marked, _TUPLE, _TUPLE1 + n - 1)
    cursor += 1
    memo = at(cursor)
    good &= (memo == _BINPUT) | (memo == _MEMOIZE) | (memo == _LONG_BINPUT)
    cursor += np.where(memo == _BINPUT, 2, np.where(memo == _MEMOIZE, 1, 5))
    # Weights: None (all 1), one float (all equal), or a tuple of floats (Whoosh's writer)
    # or of ints below 256 (the builder's: frequencies, see segments._write_terms).
    op = at(cursor)
    item = at(cursor + marked)  # a tuple's first weight
    tupled = ((op == _MARK) & marked & (item == _G)) | ((op == _G) & (at(cursor + 9) == _G) & (n >= 2) & ~marked)
    int_tupled = (~marked | (op == _MARK)) & (item == _K)  # a lone weight is a float: K starts a tuple
    single = (op == _G) & ~tupled
    good &= (op == _N) | single | tupled | int_tupled
    per_block = np.ones(len(n), dtype=np.float32)
    per_block[single] = _floats(buf, cursor[single] + 1)
    weights = np.repeat(per_block, n)
    for kind, width in ((tupled, 9), (int_tupled, 2)):
        if not kind.any():
            continue
        block = np.flatnonzero(kind)
        count = n[block]
        offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        where = np.repeat(cursor[block] + marked[block], count) + width * offset
        good[block] &= _every(at(where) == (_G if width == 9 else _K), count)
        slots = np.repeat(first[block], count) + offset
        weights[slots] = _floats(buf, where + 1) if width == 9 else at(where + 1)
        del offset, where, slots
    tupled_width = np.where(tupled, 9, 2)
    tupled |= int_tupled
    slices: tuple[np.ndarray, np.ndarray] | None = None
    if values and good.all():
        # Past the weights: 'N', or one float, or the tuple's floats, its end and its memo.
        after = np.where(op == _N, cursor + 1, cursor + 9)
        after[tupled] = cursor[tupled] + marked[tupled] + tupled_width[tupled] * n[tupled]
        closed = at(after[tupled]) == np.where(marked[tupled], _TUPLE, _TUPLE1 + n[tupled] - 1)
        memo_skipped = _skip_memo(buf, after[tupled] + 1)
        if closed.all() and memo_skipped is not None:
            after[tupled] = memo_skipped
            slices = _value_slices(buf, after, n, 1 + tupled.astype(np.int64))
    # Ids are delta-coded from 0 in each block: a running sum that restarts per block.
    for b in np.flatnonzero(~good).tolist():  # blocks of another shape: unpickled
        data = pickle.loads(blocks.data(b))
        block_ids, block_weights = data[0], data[1]
        span = slice(first[b], first[b] + n[b])
        ids[span] = block_ids
        weights[span] = 1.0 if block_weights is None else block_weights
    ids = _group_sums(ids, first)
    if values:
        return ids, weights, slices
    return ids, weights


def _skip_memo(buf: np.ndarray, cursor: np.ndarray) -> np.ndarray | None:
    """Past the memo opcode a pickler writes after a tuple (BINPUT, MEMOIZE or LONG_BINPUT); None if one is not."""
    memo = buf[cursor]
    if not ((memo == _BINPUT) | (memo == _MEMOIZE) | (memo == _LONG_BINPUT)).all():
        return None
    return cursor + np.where(memo == _BINPUT, 2, np.where(memo == _MEMOIZE, 1, 5))


_SHORT_BINBYTES, _BINBYTES, _BINGET, _LONG_BINGET = ord("C"), ord("B"), ord("h"), ord("j")


def _value_slices(buf: np.ndarray, cursor: np.ndarray, n: np.ndarray,
                  memo_base: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Where each value of each block lies in ``buf``, given where each block's values tuple starts.

    Protocol 4 pickles a tuple of bytes as MARK (for 4 or more), then each
    value as ``C`` and a one-byte size (``B`` and four bytes from 256 on),
    its bytes, and MEMOIZE; a value that is the same object as an earlier
    one (the builder shares the encoding of common position lists) is a
    memo reference instead, ``h`` or ``j`` and the memo's number: the block's
    ids tuple is memo 0, a tuple of weights memo 1 (``memo_base`` is the
    first number values take). One value of every block is found per step;
    None when anything else is met (protocol 2 pickles bytes as calls to
    ``codecs.encode``).
    """
    marked = n >= 4
    if (buf[cursor[marked]] != _MARK).any():
        return None
    cursor = cursor + marked
    total = int(n.sum())
    first = np.cumsum(n) - n
    # Offsets fit 32 bits unless a posting list passes 2 GB: half the memory of a common word's slices.
    offset_type: type[np.signedinteger] = np.int32 if len(buf) < 2**31 - 2**20 else np.int64
    starts: np.ndarray = np.zeros(total, dtype=offset_type)
    sizes: np.ndarray = np.zeros(total, dtype=offset_type)
    refs = np.full(total, -1, dtype=np.int64)  # a memo reference's number, or -1
    order = np.argsort(-n, kind="stable")  # blocks with more postings first: those still going are a prefix
    n_sorted, first_sorted, at_sorted = n[order], first[order], cursor[order]
    last = len(buf) - 8
    for k in range(int(n_sorted[0])):
        going = int(np.searchsorted(-n_sorted, -k, side="left"))
        c = at_sorted[:going]
        if c.max() >= last:
            return None
        op = buf[c]
        slots = first_sorted[:going] + k
        if (op == _SHORT_BINBYTES).all():  # the common step: every block's next value is short bytes
            size = buf[c + 1].astype(np.int64)
            starts[slots] = c + 2
            sizes[slots] = size
            at_sorted[:going] = c + 3 + size
            continue
        b1, b2, b3, b4 = (buf[c + i].astype(np.int64) for i in (1, 2, 3, 4))
        short, long_, get, long_get = op == _SHORT_BINBYTES, op == _BINBYTES, op == _BINGET, op == _LONG_BINGET
        if not (short | long_ | get | long_get).all():
            return None
        wide = b1 | b2 << 8 | b3 << 16 | b4 << 24
        size = np.where(short, b1, np.where(long_, wide, 0))
        begin = c + np.where(short, 2, np.where(long_, 5, 0))
        stored = short | long_
        starts[slots] = begin
        sizes[slots] = size
        refs[slots] = np.where(get, b1, np.where(long_get, wide, -1))
        at_sorted[:going] = np.where(stored, begin + size + 1, c + np.where(get, 2, 5))
    stored_slots = np.flatnonzero(refs < 0)
    ends = starts[stored_slots] + sizes[stored_slots]  # each stored value is followed by MEMOIZE
    if len(ends) and (ends.max() >= last or (buf[ends] != _MEMOIZE).any()):
        return None
    referring = np.flatnonzero(refs >= 0)
    if len(referring):
        # The m-th value a block stores is memo (memo_base + m) of that block.
        block_of = np.repeat(np.arange(len(n)), n)
        stored_before = np.zeros(len(n) + 1, dtype=np.int64)
        np.add.at(stored_before, block_of[stored_slots] + 1, 1)
        stored_before = np.cumsum(stored_before)
        rank = refs[referring] - memo_base[block_of[referring]]
        in_block = stored_before[block_of[referring] + 1] - stored_before[block_of[referring]]
        if ((rank < 0) | (rank >= in_block)).any():
            return None
        target = stored_slots[stored_before[block_of[referring]] + rank]
        if (target >= referring).any():  # a memo refers back, never forward
            return None
        starts[referring], sizes[referring] = starts[target], sizes[target]
    return starts, sizes


def _group_sums(deltas: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The running sums of ``deltas``, restarting at each group's first index ``first``: delta decoding
    of every block (or position list) at once."""
    sums = np.cumsum(deltas)
    if len(first) > 1:
        restart = np.zeros(len(sums), dtype=sums.dtype)
        restart[first[1:]] = sums[first[1:] - 1]
        sums -= np.maximum.accumulate(restart)
    return sums


def _every(flags: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per group of ``counts`` consecutive ``flags``: are they all true (an empty group is)."""
    every = np.ones(len(counts), dtype=bool)
    every[np.repeat(np.arange(len(counts)), counts)[~flags]] = False
    return every


def _floats(buf: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The big-endian doubles that start at each offset ``where`` of ``buf``, as float32."""
    windows = np.lib.stride_tricks.as_strided(buf, shape=(len(buf) - 7, 8), strides=(1, 1))
    raw = np.ascontiguousarray(windows[where])
    with np.errstate(over="ignore", invalid="ignore"):  # bytes of a refused block, overwritten later
        return raw.view(">f8").ravel().astype(np.float32)


def _read_all_unpickled(m, values: bool = False) -> tuple[np.ndarray, np.ndarray, list]:
    """Ids, weights and (if asked) encoded values of every block, by unpickling each block: the
    reference the NumPy paths are checked against, and the way for short lists."""
    # The blocks are walked here rather than with the matcher's _goto/_read_data,
    # which set a dozen attributes per block; ids and weights of all blocks are
    # turned into arrays once at the end.
    file = m._postfile.file
    unpack_int = _INT.unpack
    load = pickle.load
    position = m._baseoffset
    id_blocks, weight_blocks, lengths, encoded = [], [], [], []
    while True:
        file.seek(position)
        length = unpack_int(file.read(4))[0]
        following = position + 4 + abs(length)
        count, _, _, compression, _, _ = load(file)
        raw = file.read(following - file.tell())
        ids, weights, block_values = pickle.loads(zlib.decompress(raw) if compression else raw)
        id_blocks.append(ids)
        weight_blocks.append(weights)
        lengths.append(count)
        if values:
            encoded.extend(_restored(block_values, count, m._fixedsize))
        if length < 0:
            break
        position = following
    return *_arrays(id_blocks, weight_blocks, lengths, m._byteids), encoded


def _read_extent_unpickled(postfile, start_offset: int, extent, fixed: int | None,
                           values: bool) -> tuple[np.ndarray, np.ndarray, list] | None:
    """:func:`_read_all_unpickled` of a posting list given by its extent in the posting file, read in one call.

    Creating Whoosh's matcher and walking its blocks costs three reads and a
    seek per block, about what inflating a compressed block costs: this pays
    for part of the compression. None when a block's info has not the end
    Whoosh writes (the caller then walks it with the matcher).
    """
    raw = postfile.get(start_offset, extent[0] if isinstance(extent, tuple) else extent)
    if raw[:len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
        return None
    unpack_from, find, loads, decompress = _INT.unpack_from, raw.find, pickle.loads, zlib.decompress
    view = memoryview(raw)
    position = len(WHOOSH3_HEADER_MAGIC)
    id_blocks, weight_blocks, lengths, encoded = [], [], [], []
    while True:
        length = unpack_from(raw, position)[0]
        start = position + 4
        following = start + abs(length)
        tail = find(_INFO_TAIL, start, start + 64)
        if tail < 0 or following > len(raw):
            return None
        count, _, _, compression, _, _ = loads(view[start:tail + len(_INFO_TAIL)])
        data = view[tail + len(_INFO_TAIL):following]
        ids, weights, block_values = loads(decompress(data) if compression else data)
        id_blocks.append(ids)
        weight_blocks.append(weights)
        lengths.append(count)
        if values:
            encoded.extend(_restored(block_values, count, fixed))
        if length < 0:
            break
        position = following
    return *_arrays(id_blocks, weight_blocks, lengths, False), encoded


def _arrays(id_blocks: list, weight_blocks: list, lengths: list[int], byteids: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ids and weights of unpickled blocks as arrays: ids delta-decoded, minified weights restored."""
    total = sum(lengths)
    ids = np.fromiter(itertools.chain.from_iterable(id_blocks), dtype=np.int64, count=total)
    if not byteids:  # delta-encoded within each block: a running sum that restarts per block
        ids = _group_sums(ids, np.cumsum(lengths) - np.array(lengths))
    if all(isinstance(w, (tuple, list)) for w in weight_blocks):
        weights = np.fromiter(itertools.chain.from_iterable(weight_blocks), dtype=np.float32, count=total)
    else:
        weights = np.concatenate([
            np.ones(n, dtype=np.float32) if w is None
            else np.full(n, w, dtype=np.float32) if isinstance(w, float)
            else np.asarray(w, dtype=np.float32)
            for w, n in zip(weight_blocks, lengths)
        ])
    return ids, weights


def _values(blocks: _Blocks, fixed: int | None) -> list:
    """The encoded values of every posting of ``blocks``, as ``W3LeafMatcher._read_values`` restores them."""
    encoded: list = []
    loads, data = pickle.loads, blocks.data
    for b, count in enumerate(blocks.counts.tolist()):
        encoded.extend(_restored(loads(data(b))[2], count, fixed))
    return encoded


def _restored(values, count: int, fixed: int | None):
    """A block's minified values as ``W3LeafMatcher._read_values`` restores them: as stored, one
    ``None`` each for a format without values, or cut from one string for fixed-size values."""
    if fixed is None or fixed < 0:
        return values
    if fixed == 0:
        return [None] * count
    return [values[i:i + fixed] for i in range(0, len(values), fixed)]


def positions_of(values: list[bytes], fmt) -> tuple[np.ndarray, np.ndarray]:
    """The positions of each encoded value, flattened: how many each value holds, and all of them in order.

    For Whoosh's ``Positions`` format (a 4-byte count, then the protocol 2
    pickle of the list of position gaps, or the builder's bare tuple of them,
    see ``segments._encode_positions``) every value of the common shape is
    parsed at once with NumPy: a first position of any width, then gaps below
    256 (``K`` and one byte each), at most 1,000 of them (the pickler's batch).
    Values of any other shape, and other formats, are decoded one by one as
    Whoosh decodes them; ``tests/test_codec_postings.py`` checks both.
    """
    if type(fmt) is not formats.Positions:
        return _positions_one_by_one(values, fmt.decode_positions)
    return EncodedValues.of(values).positions(fmt)


def _positions_in(buf: np.ndarray, starts: np.ndarray, sizes: np.ndarray, fmt) -> tuple[np.ndarray, np.ndarray]:
    """:func:`positions_of` the values that lie at ``starts`` in ``buf``, ``sizes`` bytes each."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if type(fmt) is not formats.Positions or len(starts) < _FEW_VALUES:
        # Few values (a phrase of a rare word): decoding them one by one costs less than setting NumPy up.
        return _positions_one_by_one([buf[a:a + z].tobytes() for a, z in zip(starts.tolist(), sizes.tolist())],
                                     position_decoder(fmt))
    n = np.zeros(len(starts), dtype=np.int64)
    for i in range(4):  # the big-endian count
        n = n << 8 | buf[np.minimum(starts + i, len(buf) - 1)]
    # Two shapes: Whoosh's list (a header of PROTO 2, EMPTY_LIST and memo 0; MARK, items, APPENDS
    # for 2 or more, the item then APPEND for one) and the builder's bare tuple (no header; MARK,
    # items, TUPLE for 4 or more, the items then TUPLE1..3 for fewer).
    listed = buf[np.minimum(starts + 4, len(buf) - 1)] == 0x80
    header = np.where(listed, 5, 0)
    marked = np.where(listed, n >= 2, n >= 4)
    # A value of the common shape holds its count, header and MARK, 2 to 5 bytes of first item, 2 a gap
    # and 1 or 2 of end (and every offset read below stays within the value, or the zeros after the last).
    least = 4 + header + marked + 2 + 2 * (n - 1) + 1
    good = (n >= 1) & (n <= 1000) & (sizes >= least) & (sizes <= least + 4)
    n = np.where(good, n, 1)  # shapes refused here are decoded one by one below
    for i, byte in enumerate(b"\x80\x02]q\x00", start=4):  # protocol 2, an empty list, memo 0
        good &= ~listed | (buf[starts + i] == byte)
    cursor = starts + 4 + header
    marked = np.where(listed, n >= 2, n >= 4)
    good &= ~marked | (buf[cursor] == _MARK)
    cursor += marked
    first_item = _int_items_lenient(buf, cursor)
    good &= first_item[2]
    cursor = first_item[1]
    total = int(n.sum())
    first = np.cumsum(n) - n
    gaps = n - 1
    within = np.arange(total - len(n)) - np.repeat(np.cumsum(gaps) - gaps, gaps)
    gap_at = np.repeat(cursor, gaps) + 2 * within  # each gap's K: past its value's first item, 2 bytes a gap
    del within
    good &= _every(buf[gap_at] == _K, gaps)
    deltas = np.empty(total, dtype=np.int64)
    deltas[first] = first_item[0]
    gap_slots = np.ones(total, dtype=bool)
    gap_slots[first] = False
    deltas[gap_slots] = buf[gap_at + 1]
    del gap_at, gap_slots
    cursor += 2 * gaps
    good &= buf[cursor] == np.where(listed, np.where(marked, _APPENDS, _APPEND),
                                    np.where(marked, _TUPLE, _TUPLE1 + np.minimum(n, 3) - 1))
    end = cursor + 1 - starts  # then the value ends, or ends with STOP (Whoosh reads both)
    good &= (end == sizes) | ((end + 1 == sizes) & (buf[cursor + 1] == _STOP))
    positions = _group_sums(deltas, first)
    if good.all():
        return n, positions
    # Values of another shape: decoded by Whoosh's rules, then spliced in.
    decode = position_decoder(fmt)
    others = {b: decode(buf[starts[b]:starts[b] + sizes[b]].tobytes()) for b in np.flatnonzero(~good).tolist()}
    counts = n.copy()
    for b, found in others.items():
        counts[b] = len(found)
    out = np.empty(int(counts.sum()), dtype=np.int64)
    out_first = np.cumsum(counts) - counts
    kept = np.repeat(good, n)
    out[np.repeat(out_first[good], n[good]) + (np.arange(total) - np.repeat(first, n))[kept]] = positions[kept]
    for b, found in others.items():
        out[out_first[b]:out_first[b] + counts[b]] = found
    return counts, out


_APPEND, _APPENDS, _STOP = ord("a"), ord("e"), ord(".")
_FEW_VALUES = 64


def _positions_one_by_one(values: list[bytes], decode) -> tuple[np.ndarray, np.ndarray]:
    decoded = [decode(v) for v in values]
    counts = np.fromiter(map(len, decoded), dtype=np.int64, count=len(decoded))
    return counts, np.fromiter(itertools.chain.from_iterable(decoded), dtype=np.int64, count=int(counts.sum()))
