"""Whoosh segments written directly from batches of documents, without Whoosh's writer.

The index stays a Whoosh index (the W3 codec of ``whoosh-reloaded==2.7.5``)
that Whoosh's own readers open; only the writing is ours. Whoosh's
``SegmentWriter`` sends every posting through several Python calls (the
field's generator, the posting pool, an external sort, the field writer's
``add``): about 2.5 ms of CPU per seed, seven times SQLite's whole build.
A :class:`SegmentBuilder` analyses a batch of documents per field at once
(:meth:`SegmentBuilder.add_batch`) into flat arrays (term id, docnum,
frequency, encoded positions), and at :meth:`SegmentBuilder.finish` sorts
them by term with NumPy and writes the files Whoosh's writer would write:

* ``.trm``, the term table (an ordered hash from field id and term bytes to
  ``W3TermInfo``);
* ``.pst``, the posting blocks (up to 128 postings each: delta-coded
  docnums, weights and position lists). Blocks are pickled with protocol 4
  (Whoosh's reader takes any) and zlib-compressed above
  :data:`COMPRESS_ABOVE` bytes, which each block's header says. Two
  encodings are shorter than Whoosh's own, which its reader reads back as
  the same numbers: position lists as bare tuples
  (:func:`_encode_positions`) and a block's weights, frequencies, as ints;
* ``.col`` files, the per-document columns (field lengths, stored fields,
  the url and date columns), in the formats of ``whoosh.columns`` (see
  :mod:`.columns`). A stored record is pickled without memo or frame
  (:func:`_record`).

``tests/test_codec_segments.py`` checks, for the same documents, that every term,
posting, position, weight, field length, stored field and column read back
from a built segment equals what Whoosh's writer makes.

:func:`commit` (of :mod:`.toc`) then publishes a list of segments as the
index's next generation (Whoosh's ``TOC``), :func:`delete_urls` marks documents of
existing segments deleted, and :func:`merge_small` keeps their number
down. Documents are analysed with the schema's own steps: text fields
through ``schema.term_of`` (what ``FastText`` indexes), every other indexed
field through its Whoosh field type.
"""

from __future__ import annotations

import io
import os
import pickle
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable
from itertools import chain, pairwise
from pathlib import Path

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.filedb.filetables import _lengths as _ENTRY_LENGTHS
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort

from ..schema import TEXT_FIELDS, TOKEN_PATTERN, term_of, token_parts, tokens
from .columns import VarBytesWriter, bytes_column_buffer, column_path, length_codes, length_column, write_numeric
from .postings import read_postings

# The table of contents, for the indexer: it creates, reads and publishes generations through here.
from .toc import INDEX_NAME, clean, commit, create, open_whoosh, read  # noqa: F401

BLOCK_SIZE = 128  # postings per block, as Whoosh's W3 codec writes them
# Posting blocks larger than this are zlib-compressed (their header says so, and
# Whoosh's reader inflates them; its own writer compresses every block) when that
# makes them smaller: a block of 128 postings to about 0.45 of its size, which
# takes the posting files at 100,000 seeds from 191 to 94 MB. The price is paid
# at query time: inflating a block costs about as much as unpickling it, so warm
# queries take 2 to 7 % more CPU at the median and about 18 % more at the 95th
# percentile, phrases of common words, whose blocks are inflated whole for their
# positions (benchmarks/RESULTS.md, "Index size: compressed postings"); and at
# build time. Below this size a block (a rare word's few postings) gains little
# for its cost: at 100,000 seeds, compressing blocks above 64 bytes cost the
# workers 12.4 s of CPU (12 %) for 97.8 MB; above 512 bytes, 7.6 s for 89.9 MB;
# above 1,024 bytes, 4.6 s for 68.8 MB (one build each, load about 2). A million-
# seed build was at 1.05 x SQLite's time with blocks above 64 bytes compressed.
COMPRESS_ABOVE = 512
MAX_SEGMENTS = 16  # see merge_small
# Segments incremental runs may add beyond MAX_SEGMENTS before the small ones are merged
# (see merge_small): a run that merges re-indexes every document of what it merges.
SEGMENT_HEADROOM = 8
MERGE_BATCH = 512  # documents re-indexed per call when merging
CHUNK_POSTINGS = 1 << 16  # postings turned into Python objects at a time when writing
# Whoosh pickles a block's data with protocol 2, which writes each position
# string through a latin-1 text round trip; its reader takes any protocol, and
# protocol 4 writes bytes as bytes: seven times faster, half the size.
BLOCK_PICKLE = 4

_findall = TOKEN_PATTERN.findall
_dumps = pickle.dumps
_compress = zlib.compress
_TERMINFO = W3TermInfo._struct


def _deflate(data: bytes) -> bytes:
    """zlib data that ``zlib.decompress`` reads, made twice as fast as ``zlib.compress`` on small inputs.

    Setting up zlib's default window and state costs more than compressing a
    posting block; a block of 128 postings (at most a few KB) compresses as
    well in a 4 KB window. Levels 6 and 9 make a block 2.7 % smaller, for a
    quarter more time.
    """
    deflater = zlib.compressobj(1, zlib.DEFLATED, 12, 4)
    return deflater.compress(data) + deflater.flush()


def _store(data: bytes) -> bytes:
    """A stored record, zlib-compressed as Whoosh's reader expects (``CompressedBytesColumn``).

    Level 1: a record (about 1.8 KB for a seed with its body and related
    list, 0.7 KB for a related article) shrinks to 0.61 and 0.70 of its size,
    for about 45 and 22 µs; levels up to 9 gain 1 % more. At 100,000 seeds
    that is 120 MB of the index's 864, for 2 to 6 % more build CPU (see
    benchmarks/RESULTS.md, "Index size").
    """
    return _compress(data, 1)


_FRAME = 0x95  # protocol 4's FRAME opcode, then the frame's length in 8 bytes


def _record(stored: dict) -> bytes:
    """A document's stored fields pickled for its record, without what only a stream or sharing needs.

    ``pickle.loads`` (Whoosh's ``PickleColumn``) reads a pickle without memo
    opcodes (the pickler's ``fast`` mode, documented as deprecated but kept
    by CPython: a payload is a tree of strings and lists, nothing in it is
    shared or refers to itself) and without the frame of protocol 4 (a pickle
    read whole from bytes needs none): together 3.7 % of the compressed
    records, 8 MB at 100,000 seeds.
    """
    out = io.BytesIO()
    pickler = pickle.Pickler(out, BLOCK_PICKLE)
    pickler.fast = True  # no memo: every object is written where it occurs
    pickler.dump(stored)
    data = out.getvalue()
    if data[2] == _FRAME and int.from_bytes(data[3:11], "little") == len(data) - 11:  # one frame, the whole
        data = data[:2] + data[11:]
    return data


def _encode_positions(positions: list[int]) -> bytes:
    """A value of Whoosh's ``Positions`` format: a count, then the pickled position gaps.

    Whoosh's ``Positions.encode`` pickles a list (``\\x80\\x02]q\\x00`` and
    ``a.`` around the items); its ``decode_positions`` unpickles anything
    whose items are the gaps, and appends the final STOP when it is missing.
    So the gaps go as a bare tuple, without the protocol header, memo or STOP:
    ``K\\x05\\x85`` for one position, 7 bytes a value instead of 14, and
    the most common thing in the posting file.
    """
    deltas = (positions[0], *[b - a for a, b in pairwise(positions)])
    return pack_uint(len(deltas)) + _dumps(deltas, 2)[2:-3]  # cut: PROTO 2 before; BINPUT 0 and STOP after


# Most postings hold one position, and positions are small: encode each once.
_ONE_POSITION = [_encode_positions([p]) for p in range(4096)]
_ONE_POSITIONS = np.empty(len(_ONE_POSITION), dtype=object)
_ONE_POSITIONS[:] = _ONE_POSITION


class _TermTable(OrderedHashWriter):
    """Whoosh's ordered hash file of term infos, with one write per entry instead of five calls."""

    def __init__(self, dbfile) -> None:
        super().__init__(dbfile)
        self._position = dbfile.tell()
        self._write = dbfile.write

    def add(self, key: bytes, value: bytes) -> None:
        position = self._position
        self.index.append(position)
        entry = _ENTRY_LENGTHS.pack(len(key), len(value)) + key + value
        self._write(entry)
        self._position += len(entry)
        h = self.hashfn(key)
        self.buckets[h & 255].append((h, position))
        self.lastkey = key


# Joined between a batch's texts so that one search finds every token of the
# batch; a token of its own that no text is expected to hold (when one does,
# the batch is searched document by document).
_SEPARATOR_WORD = "nsbatchsep7q"
_SEPARATOR = f" {_SEPARATOR_WORD} "


def _tokenize(postings: _Postings, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each text's number of tokens, and all the tokens in order as the segment's token numbers.

    Tokens are the schema's (``schema.tokens``: words, and the grams of CJK
    runs). New tokens are stemmed and given term ids (``setdefault`` hands a new
    term the next id); ``set.difference`` finds them in C, so tokens seen
    before in the segment cost no Python work. Occurrences are counted for
    the spelling vocabulary.
    """
    joined = _SEPARATOR.join(texts)
    separated = joined.count(_SEPARATOR_WORD) == len(texts) - 1
    token_ids, token_term = postings.token_ids, postings.token_term
    if separated:
        found = _findall(joined)
        distinct = set(found)
        # Matches that are not one token as they are (CJK runs, see
        # schema.TOKEN_PATTERN) are found once, among the new ones, and cut
        # wherever they occur.
        split = postings.split
        for token in distinct.difference(token_ids).difference(split):
            parts = token_parts(token)
            if parts is not None:
                split[token] = tuple(part for part, _start, _end in parts)
        if split and not distinct.isdisjoint(split):
            found = list(chain.from_iterable(split.get(t, (t,)) for t in found))
            distinct = set(found)
    else:
        words = [tokens(text) for text in texts]
        found = list(chain.from_iterable(words))
        distinct = set(found)
    setdefault, term_ids = postings.term_ids.setdefault, postings.term_ids
    for token in distinct.difference(token_ids):
        token_ids[token] = len(token_term)
        token_term.append(setdefault(term_of(token), len(term_ids)))
    tok = np.fromiter(map(token_ids.__getitem__, found), dtype=np.int64, count=len(found))
    if separated:
        at = np.flatnonzero(tok == 0)
        lengths = np.diff(np.concatenate(([-1], at, [len(tok)]))) - 1
        tok = np.delete(tok, at)
    else:
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(texts))
        if _SEPARATOR_WORD in joined:  # the word itself, in a text: a token like any other
            if postings.separator_token is None:
                postings.separator_token = len(token_term)
                token_term.append(setdefault(term_of(_SEPARATOR_WORD), len(term_ids)))
            tok[tok == 0] = postings.separator_token
    counts = np.bincount(tok, minlength=len(token_term))
    counts[: len(postings.token_counts)] += postings.token_counts
    postings.token_counts = counts
    return lengths, tok


def _token_counts(postings: _Postings) -> dict[str, int]:
    """How often each raw token occurred in the segment's field."""
    counts = postings.token_counts.tolist()
    found = {token: counts[number] for token, number in postings.token_ids.items() if number}
    if postings.separator_token is not None:
        found[_SEPARATOR_WORD] = counts[postings.separator_token]
    return {token: n for token, n in found.items() if n}


def token_counts(documents: list[dict]) -> dict[str, int]:
    """How often each raw token occurs in the text fields of ``documents``: exactly what a
    :class:`SegmentBuilder` counts of them for the spelling vocabulary, without writing anything."""
    counts: Counter[str] = Counter()
    for name in TEXT_FIELDS:
        postings = _Postings()
        _tokenize(postings, [d.get(name) or "" for d in documents])
        counts.update(_token_counts(postings))
    return counts


def stored_payloads(folder: str | os.PathLike[str], schema, segment, docnums: Iterable[int]) -> list[dict]:
    """The stored payloads of some documents of one segment (deleted ones too)."""
    from whoosh.reading import SegmentReader

    reader = SegmentReader(FileStorage(os.fspath(folder)), schema, segment)
    try:
        return [reader.stored_fields(docnum)["payload"] for docnum in docnums]
    finally:
        reader.close()


class _Postings:
    """One field's postings in arrival order: flat arrays, one element per posting."""

    __slots__ = (
        "docs",
        "freqs",
        "separator_token",
        "split",
        "term_ids",
        "tids",
        "token_counts",
        "token_ids",
        "token_term",
        "values",
    )

    def __init__(self) -> None:
        # Term (str in text fields, else bytes) to its id, in order of arrival.
        self.term_ids: dict = {}
        # A text field's raw tokens, numbered in order of arrival (0 is the batch
        # separator), each one's term id, and how often each occurred.
        self.token_ids: dict[str, int] = {_SEPARATOR_WORD: 0}
        self.token_term = array("q", [-1])
        self.token_counts = np.zeros(1, dtype=np.int64)
        self.separator_token: int | None = None  # the separator word where a text holds it
        self.split: dict[str, tuple[str, ...]] = {}  # matches of the token pattern that are several tokens
        self.tids = array("I")
        self.docs = array("I")
        self.freqs = array("I")  # the weight of a posting is its frequency: no field boosts
        self.values: list[bytes] = []


class SegmentBuilder:
    """Builds one new segment of the index in ``folder``, a batch of documents at a time.

    Documents get docnums 0, 1, 2... in the order they are added. Nothing is
    visible to readers until :func:`commit` lists the finished segment.
    Memory grows with :attr:`postings` (about 25 bytes each): callers finish
    a segment and start another when it is large enough.
    """

    def __init__(self, folder: str | os.PathLike[str], schema) -> None:
        names = schema.names()
        boosted = [n for n in names if schema[n].format and schema[n].format.field_boost != 1]
        if boosted:  # weights are stored as plain frequencies
            raise ValueError(f"field boosts are not supported: {boosted}")
        self._numeric: dict[str, tuple[object, np.dtype, array]] = {}
        self._bytes: dict[str, VarBytesWriter] = {}
        self.schema = schema
        self.folder = Path(folder)
        self.storage = FileStorage(os.fspath(folder))
        self.segment = W3Codec().new_segment(self.storage, INDEX_NAME)
        for name in names:
            column = schema[name].column_type
            if isinstance(column, columns.NumericColumn):
                dtype = np.dtype(column._typecode)
                self._numeric[name] = (column._default, dtype, array(dtype.char))
            elif type(column) is columns.VarBytesColumn:
                self._bytes[name] = self._column_file(name)
            elif column is not None:
                raise ValueError(f"column type of {name} is not supported: {column!r}")
        self._text = {name: _Postings() for name in TEXT_FIELDS}
        self._lengths = {name: array("I") for name in TEXT_FIELDS}
        self._other = {name: _Postings() for name in names if schema[name].indexed and name not in self._text}
        self._stored = [name for name in names if schema[name].stored]
        self._stored_file = self._column_file("_stored")  # Whoosh's stored-fields column
        self._analysis_cache: dict[tuple[str, object], list[tuple[bytes, int, bytes]]] = {}
        # Unique fields whose value is indexed as one term, as is (urls): asked once, not per document.
        probe = "A b/ç-"
        self._verbatim = {
            name for name in names
            if schema[name].indexed and schema[name].unique
            and list(schema[name].index(probe)) == [(probe.encode("utf-8"), 1, 1.0, b"")]
        }
        self.doc_count = 0
        self.postings = 0
        # Filled by finish(): how often each raw token occurred, for the spelling vocabulary.
        self.token_counts: Counter[str] = Counter()

    def _column_file(self, name: str) -> VarBytesWriter:
        return VarBytesWriter(column_path(self.folder, self.segment, name))

    def _analysed(self, name: str, value) -> list[tuple[bytes, int, bytes]]:
        """(term bytes, frequency, encoded value) of a non-text field, by Whoosh's own field type.

        Values of these fields repeat (kinds, categories, providers, topic
        sets), so each is analysed once; unique ones (urls) are not kept.
        """
        field = self.schema[name]
        if field.unique:
            if name in self._verbatim and isinstance(value, str):
                return [(value.encode("utf-8"), 1, b"")]
            return [(t, int(w), v) for t, _f, w, v in field.index(value)]
        key = (name, value)
        found = self._analysis_cache.get(key)
        if found is None:
            if len(self._analysis_cache) > 100_000:
                self._analysis_cache.clear()
            found = self._analysis_cache[key] = [(t, int(w), v) for t, _f, w, v in field.index(value)]
        return found

    def add(self, document: dict) -> int:
        """Add one document; returns its docnum. See :meth:`add_batch`."""
        return self.add_batch([document])[0]

    def add_batch(self, documents: list[dict]) -> range:
        """Add documents (field name to value, as for Whoosh's ``add_document``); returns their docnums.

        A text field is analysed for the whole batch at once: one regular
        expression search over the batch's texts, each distinct token stemmed
        and numbered once per segment, then one NumPy sort groups the tokens
        into postings, so Python's cost per document and field is a few list
        operations.
        """
        base = self.doc_count
        added = sum(self._add_text(postings, documents, base, name) for name, postings in self._text.items())
        added += self._add_other(documents, base)
        self._add_stored(documents)
        self._add_columns(documents)
        self.doc_count += len(documents)
        self.postings += added
        return range(base, base + len(documents))

    def _add_text(self, postings: _Postings, documents: list[dict], base: int, name: str) -> int:
        """Add a text field's postings for a batch, with positions; returns their number."""
        lengths, tok = _tokenize(postings, [d.get(name) or "" for d in documents])
        self._lengths[name].frombytes(lengths.astype(np.uint32).tobytes())
        total = len(tok)
        if not total:
            return 0
        term_ids = postings.term_ids
        tids = np.frombuffer(postings.token_term, dtype=np.int64)[tok]
        doc_of = np.repeat(np.arange(len(documents), dtype=np.int64), lengths)
        position = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        # One posting per (document, term); a stable sort keeps its positions in order.
        key = doc_of * len(term_ids) + tids
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        freqs = np.diff(np.append(starts, total))
        first = position[order[starts]]
        values = np.empty(len(starts), dtype=object)
        single = (freqs == 1) & (first < len(_ONE_POSITION))
        values[single] = _ONE_POSITIONS[first[single]]
        several = np.flatnonzero(~single)
        if len(several):
            sorted_positions = position[order].tolist()
            spans = zip(starts[several].tolist(), freqs[several].tolist())
            values[several] = [_encode_positions(sorted_positions[s : s + n]) for s, n in spans]
        postings.tids.frombytes(tids[order[starts]].astype(np.uint32).tobytes())
        postings.docs.frombytes((doc_of[order[starts]] + base).astype(np.uint32).tobytes())
        postings.freqs.frombytes(freqs.astype(np.uint32).tobytes())
        postings.values.extend(values.tolist())
        return len(starts)

    def _add_other(self, documents: list[dict], base: int) -> int:
        """Add the postings of the fields that are not text (ids, keywords); returns their number."""
        added = 0
        for name, postings in self._other.items():
            term_ids = postings.term_ids
            for i, document in enumerate(documents):
                value = document.get(name)
                if value is None:
                    continue
                for tbytes, freq, vbytes in self._analysed(name, value):
                    postings.tids.append(term_ids.setdefault(tbytes, len(term_ids)))
                    postings.docs.append(base + i)
                    postings.freqs.append(freq)
                    postings.values.append(vbytes)
                    added += 1
        return added

    def _add_stored(self, documents: list[dict]) -> None:
        """Each document's stored fields, one record in the stored-fields column."""
        for document in documents:
            stored = {name: document[name] for name in self._stored if document.get(name) is not None}
            self._stored_file.add(_store(_record(stored)) if stored else b"")

    def _add_columns(self, documents: list[dict]) -> None:
        """Each document's value (or the default) in every column of the schema."""
        for name, (default, _dtype, column_values) in self._numeric.items():
            field = self.schema[name]
            for document in documents:
                value = document.get(name)
                column_values.append(default if value is None else field.to_column_value(value))
        for name, column in self._bytes.items():
            field = self.schema[name]
            for document in documents:
                value = document.get(name)
                column.add(b"" if value is None else field.to_column_value(value))

    def discard(self) -> None:
        """Give up the segment: remove what was written of it."""
        for column in (self._stored_file, *self._bytes.values()):
            column.discard()

    def finish(self):
        """Write the segment's files into the folder; returns its Whoosh segment object.

        The builder cannot be used afterwards.
        """
        segment = self.segment
        segment.set_doc_count(self.doc_count)
        for column in (self._stored_file, *self._bytes.values()):
            column.finish()
        for name, (_default, dtype, values) in self._numeric.items():
            self._write_numeric(name, np.frombuffer(values, dtype=dtype))
        for postings in self._text.values():
            self.token_counts.update(_token_counts(postings))
        totals = {}
        codes = {}  # each document's length code per text field, for the column and the block headers
        for name, lengths in self._lengths.items():
            codes[name] = length_codes(lengths)
            total = int(np.frombuffer(lengths, dtype=np.uint32).sum())
            if total:  # as Whoosh, no length column for a field no document has words in
                self._write_numeric(length_column(name), codes[name])
                totals[name] = total
        segment._fieldlengths = totals  # what Whoosh's per-document writer records
        terms_file = segment.create_file(self.storage, W3Codec.TERMS_EXT)
        tindex = _TermTable(terms_file)
        fieldmap: dict[str, int] = {}
        tindex.extras["fieldmap"] = fieldmap
        postfile = segment.create_file(self.storage, W3Codec.POSTS_EXT)
        offset = 0
        for name in sorted([*self._text, *self._other]):
            postings = self._text.get(name) or self._other[name]
            if not postings.term_ids:
                continue
            fieldmap[name] = len(fieldmap)
            offset = _write_field(
                fieldmap[name], self.schema[name], postings, codes.get(name), postfile, offset, tindex
            )
            (self._text if name in self._text else self._other).pop(name)  # free it now
        tindex.close()
        postfile.close()
        return segment

    def _write_numeric(self, name: str, values: np.ndarray) -> None:
        """A ``NumericColumn`` file: every document's value, big-endian."""
        write_numeric(column_path(self.folder, self.segment, name), values)


def _write_field(
    fieldnum: int, field_type, postings: _Postings, length_codes: np.ndarray | None, postfile, offset: int, tindex
) -> int:
    """Write one field's posting lists and term infos; returns the new end offset of the posting file.

    ``length_codes`` are the documents' one-byte field lengths (None for a field without lengths).
    The postings of a unique field without values (the url) are inlined in the term table, where
    Whoosh's reader finds them (``W3TermInfo.is_inlined``): one posting per term, each of which
    would otherwise cost a posting list of 56 bytes and a pointer of 12, against 17 to 20 inline.
    (Whoosh's writer inlines nothing by default; other fields are not inlined, so that a common
    word in one document of a small segment keeps the NumPy read path of long lists.)
    """
    field = _SortedField(postings)
    layout = _BlockLayout(field, length_codes)
    fixed = field_type.format.fixed_value_size()
    inline = bool(field_type.unique) and fixed == 0
    return _write_terms(pack_ushort(fieldnum), fixed, field, layout, postfile, offset, tindex, inline)


def _inlined(docnum: int, weight: float) -> bytes:
    """The postings ``((docnum,), (weight,), (None,))`` pickled for ``W3TermInfo.from_bytes``: without
    protocol header or memo (10 of the 30 bytes ``pickle.dumps`` writes), which ``pickle.loads`` needs not."""
    return _dumps(docnum, 2)[2:-1] + b"\x85" + _dumps(float(weight), 2)[2:-1] + b"\x85N\x85\x87."


class _SortedField:
    """A field's postings sorted by term (in term bytes order), then docnum (arrival order)."""

    def __init__(self, postings: _Postings) -> None:
        self.btexts = [t.encode("utf-8") if isinstance(t, str) else t for t in postings.term_ids]
        self.by_text = sorted(range(len(self.btexts)), key=self.btexts.__getitem__)
        rank = np.empty(len(self.btexts), dtype=np.int64)
        rank[self.by_text] = np.arange(len(self.btexts))
        self.posting_rank = rank[np.frombuffer(postings.tids, dtype=np.uint32)]
        order = np.argsort(self.posting_rank, kind="stable")
        # Narrow types: this runs at a worker's peak memory, once per field.
        self.docs = np.frombuffer(postings.docs, dtype=np.int32)[order]
        self.weights = np.frombuffer(postings.freqs, dtype=np.uint32)[order].astype(np.float32)
        values = np.empty(len(postings.values), dtype=object)
        values[:] = postings.values
        postings.values = []
        self.values = values[order]


class _BlockLayout:
    """Where each term's postings and each 128-posting block start and end, and the statistics
    Whoosh keeps of each block (its header) and each term (its term info), computed on whole arrays."""

    def __init__(self, field: _SortedField, length_codes: np.ndarray | None) -> None:
        docs, weights = field.docs, field.weights
        df = np.bincount(field.posting_rank, minlength=len(field.btexts))
        self.term_ends = term_ends = np.cumsum(df)
        term_starts = term_ends - df
        blocks = (df + BLOCK_SIZE - 1) // BLOCK_SIZE
        first_block = np.cumsum(blocks) - blocks
        block_term = np.repeat(np.arange(len(df)), blocks)
        block_starts = term_starts[block_term] + (np.arange(len(block_term)) - first_block[block_term]) * BLOCK_SIZE
        block_ends = np.minimum(block_starts + BLOCK_SIZE, term_ends[block_term])

        self.deltas = deltas = docs.copy()
        deltas[1:] -= docs[:-1]
        deltas[block_starts] = docs[block_starts]  # each block's ids are delta-coded from 0
        codes = length_codes[docs] if length_codes is not None else np.zeros(len(docs), dtype=np.uint8)
        self.block_max_w = np.maximum.reduceat(weights, block_starts).tolist()
        self.block_min_w = np.minimum.reduceat(weights, block_starts).tolist()
        self.block_min_l = np.minimum.reduceat(codes, block_starts).tolist()
        self.block_max_l = np.maximum.reduceat(codes, block_starts).tolist()
        self.term_weight = np.add.reduceat(weights.astype(np.float64), term_starts).tolist()
        self.term_max_w = np.maximum.reduceat(weights, term_starts).tolist()
        self.term_min_l = np.minimum.reduceat(codes, term_starts).tolist()
        self.term_max_l = np.maximum.reduceat(codes, term_starts).tolist()
        self.block_starts, self.block_ends = block_starts.tolist(), block_ends.tolist()
        self.blocks = blocks.tolist()
        self.term_starts, self.term_end_list = term_starts.tolist(), term_ends.tolist()


def _write_terms(field_prefix: bytes, fixed: int | None, field: _SortedField, layout: _BlockLayout, postfile,
                 offset: int, tindex, inline: bool = False) -> int:
    """Write every term's posting blocks and term info; returns the new end offset of the posting file.

    With ``inline``, a term of one posting has it in its term info instead (see :func:`_write_field`).
    """
    dumps, compress, join = _dumps, _deflate, b"".join
    docs, weights, values, deltas = field.docs, field.weights, field.values, layout.deltas
    btexts, by_text = field.btexts, field.by_text
    starts_all, ends_all, blocks_of = layout.block_starts, layout.block_ends, layout.blocks
    block_max_w, block_min_w, block_min_l, block_max_l = (
        layout.block_max_w, layout.block_min_w, layout.block_min_l, layout.block_max_l)
    term_weight, term_max_w, term_min_l, term_max_l = (
        layout.term_weight, layout.term_max_w, layout.term_min_l, layout.term_max_l)
    term_start_list, term_end_list, term_ends = layout.term_starts, layout.term_end_list, layout.term_ends
    block = 0
    t = 0
    while t < len(blocks_of):
        # Postings become Python objects a chunk of terms at a time: all at once
        # would triple the builder's memory for a moment.
        base = term_start_list[t]
        upto = max(t + 1, int(np.searchsorted(term_ends, base + CHUNK_POSTINGS, side="right")))
        end = term_end_list[upto - 1]
        delta_list = deltas[base:end].tolist()
        doc_list = docs[base:end].tolist()
        weight_list = weights[base:end].astype(np.int64).tolist()  # frequencies: see below
        value_list = values[base:end].tolist()
        for term in range(t, upto):
            count = blocks_of[term]
            s, e = term_start_list[term] - base, term_end_list[term] - base
            if inline and e - s == 1:
                info = _TERMINFO.pack(1, term_weight[term], 1, term_min_l[term], term_max_l[term], term_max_w[term],
                                      doc_list[s], doc_list[s])
                tindex.add(field_prefix + btexts[by_text[term]], info + _inlined(doc_list[s], weight_list[s]))
                block += count
                continue
            parts = [WHOOSH3_HEADER_MAGIC]
            for b in range(block, block + count):
                s, e = starts_all[b] - base, ends_all[b] - base
                high, low = block_max_w[b], block_min_w[b]
                # Whoosh's minified weights: None when all are 1, one float when all are equal
                # (its reader checks for a float), else one per posting. Whoosh writes those as
                # floats, 9 bytes each; they are frequencies, so ints (2 bytes each below 256)
                # read back as the same numbers.
                w = None if high == low == 1.0 else high if high == low else tuple(weight_list[s:e])
                v: tuple | bytes | None
                if fixed is None:
                    v = tuple(value_list[s:e])
                elif fixed == 0:
                    v = None
                else:
                    v = join(value_list[s:e])
                data = dumps((tuple(delta_list[s:e]), w, v), BLOCK_PICKLE)
                level = 0
                if len(data) > COMPRESS_ABOVE:
                    deflated = compress(data)
                    if len(deflated) < len(data):
                        data, level = deflated, 1
                info = dumps((e - s, doc_list[e - 1], high, level, block_min_l[b], block_max_l[b]), 2)
                size = len(info) + len(data)
                parts += (pack_int(-size if b == block + count - 1 else size), info, data)
            block += count
            blob = join(parts)
            postfile.write(blob)
            s, e = term_start_list[term] - base, term_end_list[term] - base
            info = _TERMINFO.pack(
                0, term_weight[term], e - s, term_min_l[term], term_max_l[term], term_max_w[term], doc_list[s],
                doc_list[e - 1],
            )
            tindex.add(field_prefix + btexts[by_text[term]], info + pack_long(offset) + pack_int(len(blob)))
            offset += len(blob)
        t = upto
    return offset


def delete_urls(folder: str | os.PathLike[str], schema, segments: list, urls: set[str]) -> list:
    """Mark deleted, in ``segments``, every document whose url is in ``urls``; returns ``segments``.

    Deletions live in the segment objects (the next ``TOC``), not in files.
    A few urls are looked up in each segment's term table; more are matched
    against the segment's url column (:func:`_documents_with_urls`).
    """
    from whoosh.reading import SegmentReader

    if not urls:
        return segments
    storage = FileStorage(os.fspath(folder))
    encoded = {url.encode("utf-8") for url in urls}
    wanted = _url_keys(*_joined(sorted(encoded)))
    for segment in segments:
        if len(encoded) * LOOKUPS_PER_SCAN < segment.doc_count_all():
            reader = SegmentReader(storage, schema, segment)
            try:
                for url in encoded:
                    for docnum in read_postings([(reader, 0)], schema, "url", url, values=False)[0].tolist():
                        segment.delete_document(docnum)
            finally:
                reader.close()
        else:
            for docnum in _documents_with_urls(*bytes_column_buffer(folder, segment, "url"), encoded, wanted):
                segment.delete_document(docnum)
    return segments


# Looking a url up in a segment's term table costs about what scanning this many documents'
# urls does (measured at 180,000 documents a segment: 30,000 urls were 1.6 s looked up or
# scanned one by one, 0.1 s scanned as arrays).
LOOKUPS_PER_SCAN = 1024


def _documents_with_urls(data: bytes, bounds: np.ndarray, encoded: set[bytes], wanted: np.ndarray) -> list[int]:
    """The documents of a url column (``data``, ``bounds``: see ``bytes_column_buffer``) whose url
    is one of ``encoded`` (whose keys are ``wanted``).

    Each url's key (:func:`_url_keys`) is computed for every document at once; the few
    documents whose key is wanted are then compared whole. No Python object per document:
    made into bytes one by one, 3 million urls cost a second and a half.
    """
    keys = _url_keys(np.frombuffer(data, dtype=np.uint8), bounds)
    candidates = np.flatnonzero(np.isin(keys, wanted)).tolist()
    ends = bounds[1:]
    return [d for d in candidates if data[int(bounds[d]) : int(ends[d])] in encoded]


def _joined(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as a url column is laid out: their bytes back to back, and where each lies."""
    bounds = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in values], out=bounds[1:])
    return np.frombuffer(b"".join(values), dtype=np.uint8), bounds


_KEY_BYTES = np.arange(8)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _url_keys(data: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """A 64-bit key of each value ``data[bounds[i]:bounds[i + 1]]``, a function of its bytes alone:
    its last 8 bytes (zeros before a shorter one) mixed with its length. Equal urls, equal keys."""
    starts, ends = bounds[:-1], bounds[1:]
    keys = np.zeros(len(starts), dtype=np.uint64)
    for lo in range(0, len(starts), 65536):  # (65536, 8) positions at a time: 4 MB
        first, last = starts[lo : lo + 65536], ends[lo : lo + 65536]
        at = last[:, None] - 8 + _KEY_BYTES
        tail = data[np.maximum(at, 0)] if len(data) else np.zeros(at.shape, dtype=np.uint8)
        tail[at < first[:, None]] = 0
        keys[lo : lo + len(first)] = np.ascontiguousarray(tail).view("<u8").ravel()
    lengths = (ends - starts).astype(np.uint64)
    lengths *= _GOLDEN
    keys ^= lengths
    return keys


def merge_small(folder: str | os.PathLike[str], schema, segments: list, rebuild, prepare=None, min_documents: int = 0) -> list:
    """Keep the number of segments bounded, and drop deleted documents' weight.

    Every query looks a term up once per segment, so segments must not pile
    up as incremental runs each add one or two. But a merge costs as much as
    indexing what it rewrites, so it is done in tiers, as Lucene's merge
    policy does: runs add small segments until there are more than
    ``MAX_SEGMENTS + SEGMENT_HEADROOM``, and then the smallest are merged
    into one, back down to ``MAX_SEGMENTS``. A build writes fewer than
    ``MAX_SEGMENTS`` (see ``newssearch.workers``), so at a million seeds the
    runs after it that each change 1 % of the files merge one run in four or
    five, not every run. Segments of which more than half the documents are
    deleted, then the smallest ones, are rewritten together as one new
    segment: each live document's stored payload is turned back into
    a document by ``rebuild(payload)`` and indexed again (the builder is fast
    enough that this beats reading postings back), and each batch of them
    passed to ``prepare(batch)`` (when given) before it is added, to fill
    what is computed a batch at a time. Segment order, hence docnum order,
    is kept for the rest.

    A merge never writes a segment of more documents than the index's
    largest, or than ``min_documents`` (the size a build's process writes
    before its sizing grows, see ``newssearch.workers``): its memory then
    stays what the build's processes needed, however large the index and
    however many documents one run changes. So the smallest segments are
    chosen only as far as they fit in one; when even the two smallest do
    not, the index keeps more than ``MAX_SEGMENTS`` (they are all large) and
    nothing is merged for their sake. Segments mostly deleted are rewritten
    in any case, in as many segments of at most that size as they need.
    """
    from whoosh.reading import SegmentReader

    if not segments:
        return segments
    largest = max(min_documents, *(s.doc_count_all() for s in segments))
    deleted = {i for i, s in enumerate(segments) if s.deleted_count() * 2 > s.doc_count_all()}
    if not deleted and len(segments) <= MAX_SEGMENTS + SEGMENT_HEADROOM:
        return segments
    chosen = set(deleted)
    merged = sum(segments[i].doc_count() for i in chosen)
    for i in sorted(range(len(segments)), key=lambda i: segments[i].doc_count()):
        if len(segments) - len(chosen) + bool(chosen) <= MAX_SEGMENTS:
            break
        if i in chosen:
            continue
        if merged + segments[i].doc_count() > largest:
            break  # the rest are larger still
        chosen.add(i)
        merged += segments[i].doc_count()
    if not deleted and len(chosen) < 2:  # rewriting one segment alone would not lessen their number
        return segments
    storage = FileStorage(os.fspath(folder))
    written: list = []
    builder = SegmentBuilder(folder, schema)

    def add(batch: list[dict]) -> None:
        nonlocal builder
        if prepare is not None:
            prepare(batch)
        builder.add_batch(batch)
        if builder.doc_count >= largest:
            written.append(builder.finish())
            builder = SegmentBuilder(folder, schema)

    for i in sorted(chosen):
        segment = segments[i]
        reader = SegmentReader(storage, schema, segment)
        try:
            batch: list[dict] = []
            for docnum in range(segment.doc_count_all()):
                if not segment.is_deleted(docnum):
                    batch.append(rebuild(reader.stored_fields(docnum)["payload"]))
                if len(batch) == MERGE_BATCH:
                    add(batch)
                    batch = []
            if batch:
                add(batch)
        finally:
            reader.close()
    if builder.doc_count:
        written.append(builder.finish())
    else:
        builder.discard()
    return [s for i, s in enumerate(segments) if i not in chosen] + written
