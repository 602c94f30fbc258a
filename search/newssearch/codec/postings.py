"""The read side of posting lists: whole blocks of Whoosh's W3 posting file at a time.

Whoosh's matchers walk postings one document at a time in Python: about
1.2 µs to decode a posting. Here a term's posting list is read a whole block
(up to 128 postings) at a time into NumPy arrays, for the scorer
(:mod:`newssearch.scoring`), the doc values (:mod:`newssearch.docvalues`)
and the deletion of documents by url (:mod:`newssearch.codec.segments`).

The W3 layout of a term's postings (``whoosh.codec.whoosh3``): the
``WHOOSH3_HEADER_MAGIC``, then blocks, each an int length (negative for the
last block), a pickled info tuple (length, max id, max weight, compression,
min and max length codes), then the pickled ``(ids, weights, values)``
tuple, zlib-compressed if the info says so. Ids are delta-coded from 0 in
each block; weights are ``None`` (all 1), one float (all equal) or one per
posting.
"""

from __future__ import annotations

import itertools
import pickle
import struct
import zlib

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

_INT = struct.Struct("!i")  # Whoosh's StructFile.read_int: a big-endian int


def position_decoder(fmt):
    """A function from a posting's encoded value to its positions, as ``fmt.decode_positions``.

    For Whoosh's ``Positions`` format (a 4-byte frequency, then the pickled
    list of position gaps, its final STOP opcode dropped) the same steps
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
    """Docnums, frequencies and (if asked) encoded values of a term over ``leaves``, deleted documents included."""
    btext = text if isinstance(text, bytes) else schema[field].to_bytes(text)
    fmt = schema[field].format
    ids_parts, weight_parts, value_parts = [], [], []
    for leaf, offset in leaves:
        # The segment's own term table: SegmentReader.postings would build a set of
        # the segment's deleted documents and filter every posting through it;
        # the live mask does that here, on whole arrays.
        terms = getattr(leaf, "_terms", None)
        try:
            matcher = terms.matcher(field, btext, fmt) if terms is not None else leaf.postings(field, btext)
        except TermNotFound:
            continue
        if isinstance(matcher, FilterMatcher):
            matcher = matcher.child
        ids, weights, encoded = _read_all(matcher, values)
        ids_parts.append(ids + offset)
        weight_parts.append(weights)
        value_parts.extend(encoded)
    if not ids_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), []
    return np.concatenate(ids_parts), np.concatenate(weight_parts), value_parts


def _read_all(matcher, values: bool = False) -> tuple[np.ndarray, np.ndarray, list]:
    """Every posting of a leaf matcher, a block at a time: ids, weights and, if asked, encoded values."""
    if not isinstance(matcher, W3LeafMatcher):  # inlined or in-memory postings: few, read one by one
        id_list, weight_list, value_list = [], [], []
        while matcher.is_active():
            id_list.append(matcher.id())
            weight_list.append(matcher.weight())
            if values:
                value_list.append(matcher.value())
            matcher.next()
        return np.array(id_list, dtype=np.int64), np.array(weight_list, dtype=np.float32), value_list
    # The blocks are walked here rather than with the matcher's _goto/_read_data,
    # which set a dozen attributes per block; ids and weights of all blocks are
    # turned into arrays once at the end. Whoosh 2.7's W3 block layout: an int
    # length (negative for the last block), a pickled info tuple (length, max id,
    # max weight, compression, min and max length codes), then the pickled
    # (ids, weights, values) tuple, zlib-compressed if asked.
    m = matcher
    if values:  # phrases: few terms, and the values need the matcher's own decoding
        return _read_all_values(m)
    postfile = m._postfile
    file = postfile.file
    unpack_int = _INT.unpack
    load = pickle.load
    position = m._baseoffset
    id_blocks, weight_blocks, lengths = [], [], []
    while True:
        file.seek(position)
        length = unpack_int(file.read(4))[0]
        last = length < 0
        following = position + 4 + abs(length)
        blocklength, _, _, compression, _, _ = load(file)
        raw = file.read(following - file.tell())
        data = pickle.loads(zlib.decompress(raw) if compression else raw)
        id_blocks.append(data[0])
        weight_blocks.append(data[1])
        lengths.append(blocklength)
        if last:
            break
        position = following
    total = sum(lengths)
    ids = np.fromiter(itertools.chain.from_iterable(id_blocks), dtype=np.int64, count=total)
    if not m._byteids:  # delta-encoded within each block: a running sum that restarts per block
        ids = np.cumsum(ids)
        if len(lengths) > 1:
            ends = np.cumsum(lengths)[:-1]
            restart = np.zeros(total, dtype=np.int64)
            restart[ends] = ids[ends - 1]
            ids -= np.maximum.accumulate(restart)
    if all(isinstance(w, (tuple, list)) for w in weight_blocks):
        weights = np.fromiter(itertools.chain.from_iterable(weight_blocks), dtype=np.float32, count=total)
    else:
        weights = np.concatenate([
            np.ones(n, dtype=np.float32) if w is None
            else np.full(n, w, dtype=np.float32) if isinstance(w, float)
            else np.asarray(w, dtype=np.float32)
            for w, n in zip(weight_blocks, lengths)
        ])
    return ids, weights, []


def _read_all_values(m) -> tuple[np.ndarray, np.ndarray, list]:
    """Like :func:`_read_all`, with each posting's encoded value (positions), through the matcher."""
    id_parts, weight_parts, encoded = [], [], []
    while True:
        if m._data is None:
            m._read_data()
        ids = np.asarray(m._data[0], dtype=np.int64)
        if not m._byteids:  # delta-encoded
            ids = np.cumsum(ids)
        id_parts.append(ids)
        raw_weights = m._data[1]
        if raw_weights is None:
            weights = np.ones(m._blocklength, dtype=np.float32)
        elif isinstance(raw_weights, float):
            weights = np.full(m._blocklength, raw_weights, dtype=np.float32)
        else:
            weights = np.asarray(raw_weights, dtype=np.float32)
        weight_parts.append(weights)
        m._read_values()
        encoded.extend(m._values)
        if m._lastblock:
            break
        m._goto(m._nextoffset)
    return np.concatenate(id_parts), np.concatenate(weight_parts), encoded
