"""The codec: the only code that knows Whoosh's on-disk format and private names.

newssearch is fast because it writes Whoosh W3 segments from NumPy arrays
(:mod:`.segments`) and reads posting lists and columns a whole block or file
at a time (:mod:`.postings`, :mod:`.columns`), instead of one Python call
per posting. Both rely on the bytes and internals of the pinned
``whoosh-reloaded==2.7.5`` (see ``pyproject.toml``). Everything above this
package (scoring, doc values, indexing, searching) uses only Whoosh's public
API and these modules:

* :mod:`.postings`: read a term's postings (docnums, weights, encoded
  positions) over a list of segment readers; decode positions.
* :mod:`.columns`: read and write column files and field length codes.
* :mod:`.segments`: build a segment from batches of documents; delete
  documents by url; merge small segments.
* :mod:`.toc`: the table of contents: create, read and publish a generation,
  and open an index with the schema passed in (so that no pickled class path
  of ours is ever needed to read an index).

Inventory of what the codec relies on (``INVENTORY`` below lists the
importable names; ``tests/test_codec_contract.py`` checks every entry):

Private or internal names
  ``whoosh.codec.whoosh3._lenfield``: the column name of a field's lengths.
  ``whoosh.codec.whoosh3.W3TermInfo._struct``: the packed term info
  (weight, doc frequency, min/max length codes, max weight, min/max id),
  followed by the postings' offset (long) and length (int).
  ``whoosh.filedb.filetables._lengths``: the (key, value) length header of
  an entry of the ordered hash file of terms; ``OrderedHashWriter``'s
  attributes ``index``, ``hashfn``, ``buckets``, ``lastkey``, ``extras``
  (``_TermTable`` writes entries itself, in one call each).
  ``whoosh.util.numeric._length_byte_cache``: the smallest length of each
  one-byte length code (``length_to_byte`` searches it).
  ``NumericColumn._typecode`` and ``._default``: a column's array type and
  the value of documents without one.
  A W3 segment's ``_fieldlengths`` (the total length of each field, which
  Whoosh's own writer records).
  ``SegmentReader._terms`` (the segment's term table, whose ``matcher``
  gives postings without Whoosh's deleted-document filter) and
  ``FilterMatcher.child``.
  ``W3LeafMatcher``'s ``_postfile``, ``_baseoffset``, ``_byteids``,
  ``_fixedsize``, ``_startoffset`` and ``_length`` (the posting list's
  extent; Whoosh 2.7 keeps the length as a 1-tuple), and
  ``_data``, ``_read_data``, ``_blocklength``, ``_read_values``,
  ``_values``, ``_lastblock``, ``_goto``, ``_nextoffset`` (the block walk).

Layouts (written here, read by Whoosh; read here, written by Whoosh)
  Posting blocks: ``WHOOSH3_HEADER_MAGIC``, then per block an int length
  (negative for the last), a pickled info tuple ``(count, max id, max
  weight, compression, min length code, max length code)``, then the pickled
  ``(id deltas, weights, values)``; weights minified to ``None`` (all 1) or
  one float (all equal); zlib when the info says so (see :mod:`.postings`).
  The pickles' opcodes themselves are parsed for long lists: protocol 2
  infos ending in TUPLE, BINPUT 0, STOP; data of protocol 2 or 4 whose ids
  are K/M/J ints and weights ``G`` floats (anything else is unpickled).
  Positions values: a 4-byte count, then the pickled position deltas
  (``formats.Positions.encode``).
  Column files: see :mod:`.columns` (``NumericColumn``, ``VarBytesColumn``
  with offsets past 32,768 documents, the ``_stored`` column of
  zlib-wrapped pickles).
  The table of contents (``TOC``): written and read by Whoosh's own code,
  always read with the schema passed in.

Public names used beyond their documented purpose
  ``W3Codec.column_filename``, ``TERMS_EXT``, ``POSTS_EXT``,
  ``new_segment``; ``TOC``, ``clean_files``, ``FileIndex``;
  ``whoosh.system.pack_*``; ``byte_to_length``. The vocabulary
  (:mod:`newssearch.vocab`) uses Whoosh's public Levenshtein automaton and
  ``damerau_levenshtein``: no format, no private name, so it stays outside.

Checking a new Whoosh release
  1. Run ``tests/test_codec_contract.py``: it fails on any missing name or
     changed shape above, and states the pinned version.
  2. Run ``tests/test_codec_segments.py`` (segments built here read back
     exactly as Whoosh's own writer's, including past 32,768 documents) and
     ``tests/test_codec_postings.py`` (block reads and their fallbacks equal
     Whoosh's matchers).
  3. Run the whole suite and ``benchmarks/run.py``; then move the pin.
"""

from __future__ import annotations

# The Whoosh distribution and version whose format this package knows.
WHOOSH_DISTRIBUTION = "whoosh-reloaded"
WHOOSH_VERSION = "2.7.5"

# Importable names the codec relies on, as "module:qualified.name".
INVENTORY = (
    "whoosh.codec.whoosh3:_lenfield",
    "whoosh.codec.whoosh3:W3TermInfo._struct",
    "whoosh.codec.whoosh3:WHOOSH3_HEADER_MAGIC",
    "whoosh.codec.whoosh3:W3Codec.column_filename",
    "whoosh.codec.whoosh3:W3Codec.new_segment",
    "whoosh.codec.whoosh3:W3Codec.TERMS_EXT",
    "whoosh.codec.whoosh3:W3Codec.POSTS_EXT",
    "whoosh.codec.whoosh3:W3LeafMatcher._read_data",
    "whoosh.codec.whoosh3:W3LeafMatcher._read_values",
    "whoosh.codec.whoosh3:W3LeafMatcher._goto",
    "whoosh.filedb.filetables:_lengths",
    "whoosh.filedb.filetables:OrderedHashWriter",
    "whoosh.filedb.filestore:FileStorage",
    "whoosh.util.numeric:_length_byte_cache",
    "whoosh.util.numeric:byte_to_length",
    "whoosh.util.numeric:length_to_byte",
    "whoosh.matching.wrappers:FilterMatcher",
    "whoosh.reading:SegmentReader",
    "whoosh.reading:TermNotFound",
    "whoosh.index:TOC",
    "whoosh.index:FileIndex",
    "whoosh.index:clean_files",
    "whoosh.columns:NumericColumn",
    "whoosh.columns:VarBytesColumn",
    "whoosh.formats:Positions",
    "whoosh.system:pack_int",
    "whoosh.system:pack_long",
    "whoosh.system:pack_uint",
    "whoosh.system:pack_ushort",
)
# Instance attributes, checked on live objects by the contract test.
MATCHER_ATTRIBUTES = (
    "_postfile", "_baseoffset", "_byteids", "_fixedsize", "_startoffset", "_length", "_data", "_blocklength",
    "_values", "_lastblock", "_nextoffset",
)
ORDERED_HASH_ATTRIBUTES = ("index", "hashfn", "buckets", "lastkey", "extras")
SEGMENT_READER_ATTRIBUTES = ("_terms",)
SEGMENT_ATTRIBUTES = ("_fieldlengths",)
NUMERIC_COLUMN_ATTRIBUTES = ("_typecode", "_default")
