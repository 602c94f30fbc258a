"""Column files and field length codes: Whoosh's per-document values, read and written whole.

Whoosh's W3 codec keeps one file per column and segment
(``W3Codec.column_filename``), in the layouts of ``whoosh.columns``:

* ``NumericColumn``: every document's value, big-endian, for the first
  documents; the documents after the last one given a value take the
  column's default.
* ``VarBytesColumn``: the values back to back, then the array of their
  lengths, then (past 32,768 documents) the array of their offsets, then the
  typecodes of those arrays (``b"I"``, or e.g. ``b"IIX"`` with offsets). The
  stored fields are such a column (``_stored``), holding each document's
  zlib-wrapped pickled dict.
* Field lengths: a ``NumericColumn`` of one byte per document, the code
  ``whoosh.util.numeric.length_to_byte`` gives (a lossy, logarithmic scale),
  under the column name ``_lenfield(field)``.

Whoosh's reader returns these one Python call per document; here a column
is one NumPy array or one list.
"""

from __future__ import annotations

import os
import struct
from array import array
from pathlib import Path

import numpy as np
from whoosh.codec.whoosh3 import W3Codec, _lenfield
from whoosh.util.numeric import _length_byte_cache, byte_to_length

# Length code -> the length Whoosh reads back for it (``byte_to_length``).
LENGTH_OF_CODE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
# Whoosh's table of the smallest length of each code (``length_to_byte`` searches it).
_LENGTH_CACHE = np.array(_length_byte_cache, dtype=np.int64)
# Above this many documents a VarBytesColumn stores offsets as well as lengths.
OFFSETS_ABOVE = 2**15


def column_path(folder: str | os.PathLike[str], segment, name: str) -> Path:
    """The file of column ``name`` (a field, ``_stored``, or a :func:`length_column`) of ``segment``."""
    return Path(folder) / W3Codec.column_filename(segment, name)


def length_column(field: str) -> str:
    """The name of the column that holds a text field's length codes."""
    return _lenfield(field)


def length_codes(lengths: array) -> np.ndarray:
    """Whoosh's one-byte code of each field length (``length_to_byte``)."""
    codes = np.searchsorted(_LENGTH_CACHE, np.frombuffer(lengths, dtype=np.uint32), side="left")
    return np.minimum(codes, 255).astype(np.uint8)


def write_numeric(path: Path, values: np.ndarray) -> None:
    """A ``NumericColumn`` file: every document's value, big-endian."""
    path.write_bytes(values.astype(values.dtype.newbyteorder(">")).tobytes())


class VarBytesWriter:
    """A ``VarBytesColumn`` file written as values arrive: the values, then their
    lengths, then (past 32,768 documents) their offsets, then the typecodes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "wb")  # noqa: SIM115 - closed by finish() or discard()
        self.lengths = array("I")

    def add(self, value: bytes) -> None:
        self.file.write(value)
        self.lengths.append(len(value))

    def finish(self) -> None:
        lengths = np.frombuffer(self.lengths, dtype=np.uint32)
        trailer = b"I"
        self.file.write(lengths.astype(">u4").tobytes())
        if len(lengths) > OFFSETS_ABOVE:  # Whoosh's reader then takes offsets instead of summing lengths
            offsets = np.cumsum(lengths, dtype=np.int64) - lengths
            code = "I" if len(offsets) == 0 or offsets[-1] < 2**32 else "q"
            self.file.write(offsets.astype(">u4" if code == "I" else ">i8").tobytes())
            trailer = b"I" + code.encode() + b"X"
        self.file.write(trailer)
        self.file.close()

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def numeric_column(folder: str | os.PathLike[str], segment, fieldname: str, typecode: str, default) -> np.ndarray:
    """Every document's value in a ``NumericColumn`` of one segment, read in one go.

    The column file holds big-endian values for the first documents; the
    documents after the last one given a value take the default. (Whoosh's
    reader returns them one Python call at a time.)
    """
    count = segment.doc_count_all()
    values = np.full(count, default, dtype=np.dtype(typecode).newbyteorder("="))
    try:
        data = np.fromfile(column_path(folder, segment, fieldname), dtype=np.dtype(typecode).newbyteorder(">"))
    except FileNotFoundError:
        return values  # no document had a value
    values[: len(data)] = data[:count]
    return values


def field_length_codes(folder: str | os.PathLike[str], segment, field: str) -> np.ndarray:
    """Every document's one-byte length code of a text field (its length as Whoosh reads it back is
    ``LENGTH_OF_CODE[code]``)."""
    return numeric_column(folder, segment, length_column(field), "B", 0).astype(np.uint8, copy=False)


def bytes_column(folder: str | os.PathLike[str], segment, fieldname: str) -> list[bytes]:
    """Every document's value in a ``VarBytesColumn`` of one segment (the url column), read in one go."""
    data, bounds = bytes_column_buffer(folder, segment, fieldname)
    ends = bounds[1:].tolist()
    return [data[a:b] for a, b in zip(bounds[:-1].tolist(), ends)]


def bytes_column_buffer(folder: str | os.PathLike[str], segment, fieldname: str) -> tuple[bytes, np.ndarray]:
    """A ``VarBytesColumn`` of one segment as its bytes and where each document's value lies: document
    ``d``'s value is ``data[bounds[d]:bounds[d + 1]]``. (No Python object per document: the values of
    3 million documents cost a second as ``bytes``.)"""
    count = segment.doc_count_all()
    try:
        data = column_path(folder, segment, fieldname).read_bytes()
    except FileNotFoundError:
        return b"", np.zeros(count + 1, dtype=np.int64)
    # Layout: the values, the array of their lengths, optionally an array of
    # offsets, then the typecodes (see whoosh.columns.VarBytesColumn).
    end = len(data) - 1
    lengths_code = chr(data[end])
    if lengths_code == "X":
        lengths_code, offsets_code = chr(data[end - 2]), chr(data[end - 1])
        end = end - 2 - count * struct.calcsize(offsets_code)
    size = struct.calcsize(lengths_code)
    lengths = np.frombuffer(data, dtype=np.dtype(lengths_code).newbyteorder(">"), count=count, offset=end - size * count)
    bounds = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    return data, bounds
