"""Doc values: every document's filter, sort, length and facet values as NumPy arrays.

Whoosh's own facets (``groupedby``) visit every match in Python and cost
most of a query's time (about 0.7 s of 0.9 s on 50,000 seeds). newssearch
instead reads each document's facet values once per index generation, right
after the commit, into flat arrays saved beside the index (``facets.npz``).
A query then turns its matches into a boolean mask and every count, filter,
date histogram and sort is a vectorised NumPy operation: no query per bucket,
no stored-field read per hit.

The same arrays serve the date and label filters, the url sort, the BM25
field lengths of :mod:`newssearch.scoring` and the facet counts. They are
read from the segments' column files and posting lists through
:mod:`newssearch.codec`, never from Whoosh's bytes here.

Docnums are Whoosh's: the arrays are only valid for the generation they were
built from, which is why they live in that generation's folder.
"""

from __future__ import annotations

import io
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from . import store
from .codec.columns import LENGTH_OF_CODE, bytes_column, bytes_column_buffer, field_length_codes, numeric_column
from .codec.postings import read_postings
from .facets import FacetValue, top_values
from .schema import KIND_RELATED, NO_DATE, TEXT_FIELDS, fold_word
from .store import DOC_VALUES as FACETS_FILE  # noqa: E402 - the one place a side file is named

if TYPE_CHECKING:
    import mmap

# 3: each label facet's folded groups are saved, not computed on open; 4: near-duplicate clusters;
# 5: field lengths as their one-byte codes (``length_code_*``, uint8), not decoded float32 (``length_*``).
FORMAT = 5
READABLE_FORMATS = (4, 5)  # a generation written before 5 is read (its lengths coded on open) and remade by the next run
MAX_BUCKETS = 1000  # the most buckets a date histogram holds (see DocValues.histogram)


class Labels:
    """A multi-valued or single-valued label facet: names and doc->label ids.

    Values are compared as queries compare words, case and accents folded
    (``fold_word``): "Robotics", "robotics" and "ROBOTICS" are one value, and
    so are "Émigrés" and "emigres". Filters select every spelling of a value
    and facets count each value once per document, under its commonest
    spelling, so a facet count is what selecting it yields.
    """

    def __init__(self, names: np.ndarray, docs: np.ndarray, ids: np.ndarray) -> None:
        self.names = names  # str array, original case
        self.docs = docs  # int32, one entry per (doc, label) pair
        self.ids = ids  # int32, the label of each pair
        group_of: dict[str, int] = {}
        groups = np.zeros(len(names), dtype=np.int32)
        for i, name in enumerate(names.tolist()):
            groups[i] = group_of.setdefault(fold_word(name.strip()), len(group_of))
        self._group_of = group_of
        # One (doc, value) pair per document and folded value: a document tagged
        # both "AI" and "ai" counts once.
        pair_groups = groups[ids] if len(ids) else np.zeros(0, dtype=np.int32)
        # Sorted and deduplicated by hand: np.unique imports numpy.ma, a tenth of a cold query.
        keys = np.sort(docs.astype(np.int64) * max(1, len(group_of)) + pair_groups)
        if len(keys):
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        self._pair_docs = (keys // max(1, len(group_of))).astype(np.int64)
        self._pair_groups = (keys % max(1, len(group_of))).astype(np.int32)
        # The name shown for a value: its commonest spelling over the whole index
        # (ties by name, so it does not change from one query to the next).
        spelling_counts = np.bincount(ids, minlength=len(names)) if len(ids) else np.zeros(len(names), dtype=np.int64)
        shown = [""] * len(group_of)
        best = [-1] * len(group_of)
        for i in np.lexsort((names, -spelling_counts)).tolist() if len(names) else []:
            g = int(groups[i])
            if best[g] < 0:
                best[g] = i
                shown[g] = str(names[i])
        self._shown = np.array(shown, dtype=str) if shown else np.zeros(0, dtype=str)
        self._fold = fold_word

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        """What the generation saves of this facet, so that opening it computes nothing."""
        return {
            f"{name}_names": self.names,
            f"{name}_docs": self.docs,
            f"{name}_ids": self.ids,
            f"{name}_keys": np.array(list(self._group_of), dtype=str) if self._group_of else np.zeros(0, dtype=str),
            f"{name}_pair_docs": self._pair_docs.astype(np.int32),
            f"{name}_pair_groups": self._pair_groups,
            f"{name}_shown": self._shown,
        }

    @classmethod
    def restore(cls, arrays, name: str) -> Labels:
        """The facet as :meth:`arrays` saved it. (Folding every value and deduplicating every
        (document, value) pair on each open cost 26 ms of a cold query at 50,000 seeds.)"""
        self = cls.__new__(cls)
        self.names, self.docs, self.ids = arrays[f"{name}_names"], arrays[f"{name}_docs"], arrays[f"{name}_ids"]
        self._group_of = {key: i for i, key in enumerate(arrays[f"{name}_keys"].tolist())}
        self._pair_docs = arrays[f"{name}_pair_docs"]
        self._pair_groups = arrays[f"{name}_pair_groups"]
        self._shown = arrays[f"{name}_shown"]
        self._fold = fold_word
        return self

    def groups_of(self, values) -> list[int]:
        """The folded values matching any of ``values``."""
        out = []
        for value in values:
            group = self._group_of.get(self._fold(str(value).strip()))
            if group is not None:
                out.append(group)
        return out

    def shown(self, value: str) -> str:
        """The name ``value`` is counted under in facets: its commonest spelling ("" if no document has it)."""
        group = self._group_of.get(self._fold(str(value).strip()))
        return "" if group is None else str(self._shown[group])

    def mask(self, values, size: int) -> np.ndarray:
        """Docs carrying any of ``values`` (in any spelling)."""
        wanted = np.zeros(len(self._group_of), dtype=bool)
        wanted[self.groups_of(values)] = True
        mask = np.zeros(size, dtype=bool)
        mask[self._pair_docs[wanted[self._pair_groups]]] = True
        return mask

    def counts(
        self, docs: np.ndarray, limit: int, cluster: np.ndarray | None = None, clustered: np.ndarray | None = None
    ) -> tuple[FacetValue, ...]:
        """Values carried by the docs in ``docs``, most frequent first.

        ``docs`` is a boolean mask over the index, or sorted docnums: a search
        with few matches counts those (:meth:`_counts_of`), the same numbers
        without a pass over every (doc, value) pair of the index.

        With ``cluster`` (each doc's near-duplicate cluster, and ``clustered``
        the docs of clusters of two or more) a value counts the clusters
        among ``docs`` that carry it, each once: what a collapsed search
        filtered on it finds.
        """
        if limit <= 0 or not len(self._pair_groups):
            return ()
        if docs.dtype != bool:
            return self._counts_of(docs, limit, cluster, clustered)
        chosen = docs[self._pair_docs]
        if cluster is None or clustered is None:
            counts = np.bincount(self._pair_groups[chosen], minlength=len(self._shown))
            return top_values(self._shown, counts, limit)
        # The pairs of clustered docs: a few percent, found once per generation's mask.
        cached = getattr(self, "_grouped_pairs", None)
        if cached is None or cached[0] is not clustered:
            where = np.flatnonzero(clustered[self._pair_docs])
            cached = self._grouped_pairs = (clustered, where, self._pair_docs[where], self._pair_groups[where])
        _, where, grouped_docs, grouped_groups = cached
        counts = np.bincount(self._pair_groups[chosen], minlength=len(self._shown))
        picked = chosen[where]
        grouped = picked.any()
        if grouped:  # count each (cluster, value) once: take the clustered pairs out, and their distinct keys back in
            counts -= np.bincount(grouped_groups[picked], minlength=len(self._shown))
            width = max(1, len(self._shown))
            keys = _distinct(cluster[grouped_docs[picked]].astype(np.int64) * width + grouped_groups[picked])
            counts = counts + np.bincount(keys % width, minlength=len(self._shown))
        return top_values(self._shown, counts, limit)

    def _counts_of(
        self, docs: np.ndarray, limit: int, cluster: np.ndarray | None, clustered: np.ndarray | None
    ) -> tuple[FacetValue, ...]:
        """:meth:`counts` of sorted docnums, at a cost of their number, not the index's.

        Each doc's pairs are a run of the pairs (sorted by doc), found by
        binary search; the counting is then the mask path's on those pairs.
        """
        pair_docs = self._pair_docs
        docs = docs.astype(pair_docs.dtype, copy=False)  # searchsorted would convert the 3-million pairs instead
        starts = np.searchsorted(pair_docs, docs, "left")
        runs = np.searchsorted(pair_docs, docs, "right") - starts
        pairs = np.repeat(starts - (np.cumsum(runs) - runs), runs) + np.arange(int(runs.sum()))
        groups = self._pair_groups[pairs]
        counts = np.bincount(groups, minlength=len(self._shown))
        if cluster is not None and clustered is not None:
            pair_of = pair_docs[pairs]
            picked = clustered[pair_of]
            if picked.any():  # as in counts(): each (cluster, value) of the clustered pairs once
                counts -= np.bincount(groups[picked], minlength=len(self._shown))
                width = max(1, len(self._shown))
                keys = _distinct(cluster[pair_of[picked]].astype(np.int64) * width + groups[picked])
                counts = counts + np.bincount(keys % width, minlength=len(self._shown))
        return top_values(self._shown, counts, limit)


def docs_of(chosen: np.ndarray) -> np.ndarray:
    """The docnums of a selection: a boolean mask over the index, or sorted docnums (returned as they are)."""
    return np.flatnonzero(chosen) if chosen.dtype == bool else chosen


def restrict(chosen: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The docs of selection ``chosen`` (mask or sorted docnums, see :func:`docs_of`) that ``mask`` holds, in its form."""
    return chosen & mask if chosen.dtype == bool else chosen[mask[chosen]]


def count(chosen: np.ndarray) -> int:
    """How many docs a selection (mask or sorted docnums) holds."""
    return int(np.count_nonzero(chosen)) if chosen.dtype == bool else len(chosen)


class DocValues:
    """Every document's filter, sort, length and facet values, indexed by Whoosh docnum."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.live: np.ndarray = arrays["live"]
        self.related: np.ndarray = arrays["related"]
        self.published: np.ndarray = arrays["published"]
        self.url_rank: np.ndarray = arrays["url_rank"]
        # Each document's near-duplicate cluster: the docnum of its member with the least url
        # (newssearch.neardup); a document alike no other is its own.
        self.cluster: np.ndarray = arrays["cluster"]
        self._clustered: np.ndarray | None = None
        self._provider_of: np.ndarray | None = None
        self.topics = Labels.restore(arrays, "topic")
        self.provider = Labels.restore(arrays, "provider")
        self.category = Labels.restore(arrays, "category")
        # Each text field's length per document as Whoosh's one-byte code: a quarter of the float
        # lengths' memory, and BM25 needs a norm for only 256 distinct lengths (QueryScorer._norm).
        self.length_codes: dict[str, np.ndarray] = {}
        for f in TEXT_FIELDS:
            if f"length_code_{f}" in arrays:
                self.length_codes[f] = arrays[f"length_code_{f}"]
            elif f"length_{f}" in arrays:  # format 4: decoded lengths, each exactly one code's length
                self.length_codes[f] = np.searchsorted(LENGTH_OF_CODE, arrays[f"length_{f}"]).astype(np.uint8)
        self.size = len(self.live)
        self._dated: np.ndarray | None = None

    @classmethod
    def load(cls, gen: Path) -> DocValues:
        """The generation's arrays, mapped from its file (:func:`map_arrays`), not read into memory."""
        arrays = map_arrays(gen / FACETS_FILE)
        if int(arrays["format"]) not in READABLE_FORMATS:
            raise ValueError(f"facet arrays of format {int(arrays['format'])}, expected {FORMAT}")
        return cls(arrays)

    def lengths(self, field: str) -> np.ndarray:
        """Every document's length of a text field as Whoosh reads it back (float32; 0 without the field)."""
        codes = self.length_codes.get(field)
        return LENGTH_OF_CODE[codes] if codes is not None else np.zeros(self.size, dtype=np.float32)

    def clustered(self) -> np.ndarray:
        """Docs of a cluster of two or more (computed once per generation)."""
        if self._clustered is None:
            alone = self.cluster == np.arange(self.size)
            clustered = ~alone
            clustered[self.cluster[~alone]] = True
            self._clustered = clustered
        return self._clustered

    def provider_of(self, docs: np.ndarray) -> list[str]:
        """The provider of each of ``docs`` ("" for none), as the seed wrote it."""
        if not len(docs):
            return []  # most hits: no near-duplicates, and no index-sized array for them
        if self._provider_of is None:
            # The narrowest type that holds every provider id (a few hundred providers: 2 bytes a document, not 8).
            ids = np.full(self.size, -1, dtype=np.min_scalar_type(-max(len(self.provider.names), 1)))
            ids[self.provider.docs] = self.provider.ids
            release_pages(self.provider.docs)  # read once: this array answers from now on
            release_pages(self.provider.ids)
            self._provider_of = ids
        names = self.provider.names
        return [str(names[i]) if i >= 0 else "" for i in self._provider_of[docs].tolist()]

    def dated(self) -> np.ndarray:
        """Docs that have a date (computed once per generation)."""
        if self._dated is None:
            self._dated = self.published != NO_DATE
        return self._dated

    def histogram(
        self,
        docs: np.ndarray,
        granularity: str,
        limit: int = MAX_BUCKETS,
        until: int | None = None,
        group: np.ndarray | None = None,
    ) -> tuple[FacetValue, ...]:
        """Counts of the docs in ``docs`` (a mask, or sorted docnums) per year, month or day, oldest first.

        Every bucket from the first to the last one holding a document is
        listed, empty ones with a count of 0, so the histogram can be drawn as
        it is. At most ``limit`` buckets are returned: the newest ones, ending
        at the last bucket holding a document, or at ``until`` (seconds: the
        end of the search's date range) when that comes first, so that a
        chosen bar's months or days are listed (``SearchResults.oldest``
        keeps the whole span). ``limit`` 0 gives no histogram. With ``group``
        (each doc's near-duplicate cluster) a bucket counts clusters, each once.
        """
        chosen = restrict(docs, self.dated())
        seconds = self.published[chosen]
        if not len(seconds) or limit <= 0:
            return ()
        unit = {"year": "Y", "month": "M", "day": "D"}[granularity]
        buckets = seconds.astype("datetime64[s]").astype(f"datetime64[{unit}]")
        last = buckets.max()
        if until is not None:
            last = min(last, np.datetime64(int(until), "s").astype(f"datetime64[{unit}]"))
        first = max(buckets.min(), last - (limit - 1))  # in units of the buckets' own type
        if last < first:
            return ()
        steps = (buckets - first).astype(np.int64)
        size = int((last - first).astype(np.int64)) + 1
        kept = (steps >= 0) & (steps < size)
        counts = np.bincount(steps[kept], minlength=size)
        if group is not None:
            # The docs of clusters (a few percent) counted again, once per (cluster, bucket).
            clustered = docs_of(restrict(chosen, self.clustered()))
            if len(clustered):
                where = (
                    self.published[clustered].astype("datetime64[s]").astype(f"datetime64[{unit}]") - first
                ).astype(np.int64)
                inside = (where >= 0) & (where < size)
                counts = counts - np.bincount(where[inside], minlength=size)
                keys = _distinct(group[clustered[inside]].astype(np.int64) * size + where[inside])
                counts = counts + np.bincount(keys % size, minlength=size)
        values = first + np.arange(size).astype(f"timedelta64[{unit}]")
        return tuple(FacetValue(str(v), int(c)) for v, c in zip(values, counts))


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of ``keys`` (np.unique imports numpy.ma, a tenth of a cold query)."""
    keys = np.sort(keys)
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys


# The file: an uncompressed .npz (what np.savez writes and np.load reads) whose arrays are mapped
# in place. Reading it whole with np.load cost a cold query 31 ms at 100,000 seeds (20 MB: a copy
# and a CRC-32 of every array) and would cost ten times that at a million; a query touches only
# some of the arrays, and those through the page cache.
ALIGN = 64  # where each array's bytes start: numpy's own alignment inside a .npy (format.ARRAY_ALIGN)
_PADDING = 0xD935  # the id of the zip extra field that aligns a member (as Android's zipalign pads)
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip member's local header: 30 bytes, then name and extra
_ZIP64_SIZES = 0x0001  # the zip64 extra field: the member's sizes when the header says 0xFFFFFFFF


def save_arrays(handle: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as ``np.savez`` does, each one's bytes at a multiple of :data:`ALIGN` in the file.

    Still a plain ``.npz`` (``np.load`` reads it as before); the alignment, padded
    into each member's extra field, is what lets :func:`map_arrays` use the
    bytes in place. The members' dates are fixed, so a build's file does not
    depend on the clock.
    """
    import zipfile

    from numpy.lib import format as npy

    with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            # Where the member's data starts: after the 30-byte header, the name, our padding
            # record (4 bytes and the padding) and the 20-byte zip64 record zipfile adds.
            start = handle.tell() + _LOCAL_HEADER.size + len(info.filename.encode("ascii")) + 4 + 20
            padding = -start % ALIGN
            info.extra = struct.pack("<HH", _PADDING, padding) + bytes(padding)
            with archive.open(info, "w", force_zip64=True) as member:
                npy.write_array(member, np.asanyarray(value), allow_pickle=False)


def map_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` at ``path``, equal to what ``np.load`` gives, mapped read-only.

    The members of an uncompressed ``.npz`` are walked from their local
    headers and each array made over the mapped file, without reading or
    copying it (an unaligned one, as ``np.savez`` placed them before
    :func:`save_arrays`, is copied). Anything else (compressed members,
    pickled objects, a file this walk does not understand) is read by
    ``np.load``, which also reports a damaged file. Like Whoosh's own files
    on the query path, the bytes are not checksummed here: the generation's
    sizes are checked on open (:func:`newssearch.store.verify_files`) and
    its checksums by the indexer. A generation's files are never rewritten
    in place (:func:`newssearch.store.atomic_write` replaces a file whole), so
    a mapping stays valid as long as a searcher holds it, even after its
    generation is collected.
    """
    import mmap

    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else None
    arrays = _mapped_members(mapped) if mapped is not None else None
    if arrays is not None:
        return arrays
    with open(path, "rb") as handle:  # np.load leaves a file it opened itself open when it refuses it
        with np.load(handle, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}


def release_pages(array: np.ndarray) -> None:
    """Let the process's memory go of the pages of a mapped ``array`` (:func:`map_arrays`) it has read.

    For an array whose values a searcher has copied into another form (the
    field lengths, once turned into BM25 norms): read once, its pages would
    otherwise count in the process's memory (RSS) for good, beside the copy.
    The file's pages stay in the page cache, and reading the array again maps
    them back. Anything not mapped from a file is left as it is.
    """
    import mmap

    buffer = array.base
    if not isinstance(buffer, mmap.mmap) or not hasattr(buffer, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    start = array.ctypes.data - np.frombuffer(buffer, dtype=np.uint8).ctypes.data
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE  # whole pages of the array only: its neighbours stay
    last = (start + array.nbytes) // mmap.PAGESIZE * mmap.PAGESIZE
    if last > first:
        buffer.madvise(mmap.MADV_DONTNEED, first, last - first)


def _mapped_members(buffer: mmap.mmap) -> dict[str, np.ndarray] | None:
    """Every member of a stored (uncompressed) zip of .npy files, or None if it is not one."""
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    try:
        while buffer[offset : offset + 4] == b"PK\x03\x04":
            _, _, flags, method, _, _, _, stored, size, name_length, extra_length = _LOCAL_HEADER.unpack_from(buffer, offset)
            name = buffer[offset + 30 : offset + 30 + name_length].decode("utf-8")
            start = offset + 30 + name_length + extra_length
            if 0xFFFFFFFF in (stored, size):
                size, stored = _zip64_sizes(buffer[offset + 30 + name_length : start])
            if flags & 0x08 or method != 0 or stored != size or not name.endswith(".npy") or start + size > len(buffer):
                return None  # sizes after the data, compressed, or not an array: np.load's job
            arrays[name[: -len(".npy")]] = _mapped_array(buffer, start, start + size)
            offset = start + size
    except (ValueError, struct.error, UnicodeDecodeError):
        return None
    if buffer[offset : offset + 4] != b"PK\x01\x02" or not arrays:
        return None  # the central directory should come next
    return arrays


# The header numpy writes (format.write_array): magic, version 1.0, its length, then the repr of
# a dict of sorted keys, padded with spaces to a multiple of 64 and ending in a newline.
_NPY_HEADER = re.compile(
    rb"\x93NUMPY\x01\x00..\{'descr': '([<>|][a-zA-Z]\d+)', 'fortran_order': (False|True), "
    rb"'shape': \(((?:\d+, )*\d+,?)?\), \} *\n",
    re.DOTALL,
)


def _npy_header(data: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int] | None:
    """(shape, Fortran order, dtype, header length) of a .npy header as numpy writes it, else None."""
    match = _NPY_HEADER.match(data)
    if match is None or match.end() != 10 + struct.unpack_from("<H", data, 8)[0]:
        return None
    shape = tuple(int(length) for length in match.group(3).split(b",") if length.strip()) if match.group(3) else ()
    return shape, match.group(2) == b"True", np.dtype(match.group(1).decode("ascii")), match.end()


def _zip64_sizes(extra: bytes) -> tuple[int, int]:
    """(uncompressed, compressed) size from a local header's zip64 extra field."""
    while len(extra) >= 4:
        kind, length = struct.unpack_from("<HH", extra)
        if kind == _ZIP64_SIZES and length >= 16:
            size, stored = struct.unpack_from("<QQ", extra, 4)
            return size, stored
        extra = extra[4 + length :]
    raise ValueError("no zip64 sizes")


def _mapped_array(buffer: mmap.mmap, start: int, end: int) -> np.ndarray:
    """The .npy array stored from ``start`` to ``end`` of ``buffer``, over its bytes."""
    found = _npy_header(buffer[start : min(end, start + 4096)])  # numpy's own are a few hundred bytes
    if found is None:  # another writer's spelling: numpy's own parser (ast.literal_eval, 0.1 ms an array)
        from numpy.lib import format as npy

        stream = io.BytesIO(buffer[start : min(end, start + 65536)])
        version = npy.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(stream)
        else:
            raise ValueError(f"a .npy of version {version}")
        found = shape, fortran, dtype, stream.tell()
    shape, fortran, dtype, length = found
    if dtype.hasobject:
        raise ValueError("pickled objects")
    offset = start + length
    count = 1
    for extent in shape:
        count *= extent
    if offset + count * dtype.itemsize != end:
        raise ValueError("the array does not fill its member")
    array = np.ndarray(shape, dtype=dtype, buffer=buffer, offset=offset, order="F" if fortran else "C")
    return array if array.flags.aligned else array.copy()


def build(reader, gen: Path, previous: Path | None = None) -> tuple[int, int]:
    """Read the doc values of every document of ``reader`` and save them in ``gen``.

    Column files and posting lists are read whole from each segment's files
    through :mod:`newssearch.codec`, not a document at a time. With
    ``previous``, the generation ``gen`` was made from, what a segment of
    both generations holds is taken from ``previous``'s arrays instead (see
    :class:`_Previous`): the arrays are the same, at a cost that follows the
    new segments. Returns the number of live documents and how many of them
    are related articles.
    """
    size = reader.doc_count_all()
    leaf_readers = list(reader.leaf_readers()) if size else []
    segments = [leaf.segment() for leaf, _ in leaf_readers]
    live = np.ones(size, dtype=bool)
    for (_, offset), segment in zip(leaf_readers, segments):
        live[[offset + d for d in segment.deleted_docs()]] = False
    old = _Previous.open(previous, segments, size) if previous is not None and size else None
    # The segments whose values are read from their files: all of them without ``old``.
    fresh = leaf_readers if old is None else [leaf for leaf, place in zip(leaf_readers, old.places) if place is None]

    def postings(field: str, term: bytes | str) -> np.ndarray:
        # Whole blocks at a time, deleted documents included: counts are taken over live ones.
        return read_postings(fresh, reader.schema, field, term, values=False)[0]

    related = np.zeros(size, dtype=bool)
    related[postings("kind", KIND_RELATED)] = True
    if old is not None:
        related |= old.kept("related", False)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "live": live,
        "published": _per_segment(segments, old, "published",
                                  lambda s: numeric_column(gen, s, "published", "q", NO_DATE), np.int64).astype(np.int64),
        "related": related,
        "url_rank": _url_rank(gen, segments, size, old),
    }
    arrays["cluster"] = _clusters(gen, segments, live, arrays["url_rank"])
    for name, field in (("topic", "topic_facet"), ("provider", "provider_facet"), ("category", "category")):
        if old is None:
            found = _labels(reader.lexicon(field), field, postings)
        else:
            found = old.labels(name, _labels(_fresh_lexicon(fresh, field), field, postings))
        arrays.update(Labels(*found).arrays(name))
    for field in TEXT_FIELDS:
        arrays[f"length_code_{field}"] = _per_segment(segments, old, f"length_code_{field}",
                                                      lambda s, f=field: field_length_codes(gen, s, f), np.uint8)
    with store.atomic_write(gen / FACETS_FILE) as handle:
        save_arrays(handle, arrays)
    return int(live.sum()), int((live & related).sum())


class _Previous:
    """The arrays of the generation a new one was made from, for the segments both hold.

    Whoosh never rewrites a segment: one of the same id (and as many documents)
    holds the same urls, dates, lengths, labels and kinds in both generations,
    only its deletions may differ. Those values are copied from the previous
    arrays by docnum (``places``: each segment's docnums there, or None for a
    segment the previous generation lacks, whose files are read). Only
    ``live`` and the near-duplicate clusters, which depend on every
    document's deletions, are always computed whole. The previous arrays are a
    cache: any doubt about them (another format, an unreadable file, sizes
    that disagree) gives a full build.
    """

    def __init__(self, arrays: dict[str, np.ndarray], places: list[tuple[int, int] | None], segments: list, size: int) -> None:
        self.arrays = arrays
        self.places = places
        previous_size = len(arrays["live"])
        self.to_new = np.full(previous_size, -1, dtype=np.int64)  # each previous docnum's docnum here, or -1
        self.reused = np.zeros(size, dtype=bool)
        for (_, start, end), place in zip(_spans(segments), places):
            if place is not None:
                self.to_new[place[0] : place[1]] = np.arange(start, end)
                self.reused[start:end] = True

    @classmethod
    def open(cls, previous: Path, segments: list, size: int) -> _Previous | None:
        """The previous generation's arrays, or None when none can be used."""
        from .codec import toc

        try:
            arrays = map_arrays(previous / FACETS_FILE)
            if int(arrays["format"]) != FORMAT:
                return None
            spans: dict[str, tuple[int, int]] = {}
            for segment, start, end in _spans(toc.read(previous)[0]):
                spans[segment.segid] = (start, end)
            if spans and max(end for _, end in spans.values()) != len(arrays["live"]):
                return None
        except Exception:  # noqa: BLE001 - a cache that cannot be read is not used: the build reads everything
            return None
        places = []
        for segment in segments:
            place = spans.get(segment.segid)
            places.append(place if place is not None and place[1] - place[0] == segment.doc_count_all() else None)
        if not any(place is not None for place in places):
            return None
        return cls(arrays, places, segments, size)

    def in_order(self) -> bool:
        """Whether the reused segments come in the order they had: their documents' docnums then keep their order."""
        starts = [place[0] for place in self.places if place is not None]
        return all(a < b for a, b in zip(starts, starts[1:]))

    def kept(self, name: str, default) -> np.ndarray:
        """The array ``name`` over this generation's docnums: the previous values of reused segments, else ``default``."""
        values = self.arrays[name]
        out = np.full(len(self.reused), default, dtype=values.dtype)
        moved = self.to_new >= 0
        out[self.to_new[moved]] = values[moved]
        return out

    def order(self, name: str) -> np.ndarray:
        """The docnums of the reused segments, in the order the previous ranks ``name`` put them."""
        ranks = self.arrays[name]
        by_rank = np.empty(len(ranks), dtype=np.int64)
        by_rank[ranks] = np.arange(len(ranks))
        moved = self.to_new[by_rank]
        return moved[moved >= 0]

    def labels(self, name: str, fresh: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A label facet as :func:`_labels` reads it from every segment: the previous (doc, label) pairs
        of the reused segments joined with ``fresh``, those of the other segments."""
        names, docs, ids = self.arrays[f"{name}_names"], self.arrays[f"{name}_docs"], self.arrays[f"{name}_ids"]
        docs = self.to_new[docs]
        moved = docs >= 0
        docs, ids = docs[moved], ids[moved]
        fresh_names, fresh_docs, fresh_ids = fresh
        # Every name some document of this generation carries, in the lexicon's (byte) order.
        used = names[np.flatnonzero(np.bincount(ids, minlength=len(names)))].tolist() if len(ids) else []
        merged = sorted(set(used).union(fresh_names.tolist()), key=lambda n: n.encode("utf-8"))
        number = {n: i for i, n in enumerate(merged)}
        remap = np.array([number.get(n, -1) for n in names.tolist()], dtype=np.int32)
        fresh_remap = np.array([number[n] for n in fresh_names.tolist()], dtype=np.int32)
        width = len(self.reused) + 1
        # As read term by term, each term's documents in docnum order: one sort of (label, doc) numbers.
        keys = np.sort(np.concatenate((
            (remap[ids].astype(np.int64) * width + docs) if len(ids) else np.zeros(0, np.int64),
            (fresh_remap[fresh_ids].astype(np.int64) * width + fresh_docs) if len(fresh_ids) else np.zeros(0, np.int64),
        )))
        return np.array(merged, dtype=str), (keys % width).astype(np.int32), (keys // width).astype(np.int32)


def _per_segment(segments: list, old: _Previous | None, name: str, read, dtype) -> np.ndarray:
    """An array made of each segment's values, read by ``read(segment)`` or taken from ``old``."""
    parts = []
    for index, segment in enumerate(segments):
        place = old.places[index] if old is not None else None
        parts.append(read(segment) if old is None or place is None else old.arrays[name][place[0] : place[1]])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _fresh_lexicon(leaves: list, field: str) -> list[bytes]:
    """The terms of ``field`` in any of ``leaves``, in order."""
    terms: set[bytes] = set()
    for leaf, _ in leaves:
        terms.update(leaf.lexicon(field))
    return sorted(terms)


def _clusters(gen: Path, segments: list, live: np.ndarray, url_rank: np.ndarray) -> np.ndarray:
    """Each document's near-duplicate cluster (see :mod:`newssearch.neardup`), from the signature columns."""
    from . import neardup  # NumPy's random generators: imported by a build, not by a query

    signatures = np.zeros((len(live), neardup.HASHES), dtype="<u2")
    has = np.zeros(len(live), dtype=bool)
    for segment, start, end in _spans(segments):  # one segment's values as Python bytes at a time
        signatures[start:end], has[start:end] = neardup.signature_rows(*bytes_column_buffer(gen, segment, "minhash"))
    return neardup.clusters(signatures, has & live, url_rank)


def _spans(segments: list) -> Iterator[tuple[Any, int, int]]:
    """Each segment with the docnums it holds in the whole index: ``(segment, start, end)``."""
    start = 0
    for segment in segments:
        end = start + segment.doc_count_all()
        yield segment, start, end
        start = end


URL_PREFIX = 64  # bytes of each url sorted in NumPy; urls alike that far are sorted whole in Python


def _url_rank(gen: Path, segments: list, size: int, old: _Previous | None = None) -> np.ndarray:
    """Each document's rank in url order (ties by docnum): sorting by url is then an integer sort.

    Fixed-width bytes sort with memcmp, several times faster than Python
    objects, but a width of the longest url costs its length for every
    document (gigabytes at a million seeds with one long url). So the first
    :data:`URL_PREFIX` bytes are sorted in NumPy, and each run of equal
    prefixes holding a longer url is put in order by the whole urls. (Urls
    hold no NUL byte, which fixed-width bytes would drop: a seed with one is
    refused.)

    With ``old``, the documents of the segments the previous generation held
    are already in order (its ranks). When those segments kept their order,
    the few others are placed among them by binary search
    (:func:`_merged_url_rank`); otherwise they are sorted alone and merged in
    by a stable sort that finds the two runs (timsort: 0.14 s instead of
    3.4 s for 3 million urls).
    """
    if not size:
        return np.zeros(0, dtype=np.int32)
    if old is not None and old.in_order():
        return _merged_url_rank(_Urls(gen, segments), old, size)
    prefixes = np.zeros(size, dtype=f"S{URL_PREFIX}")
    longer = np.zeros(size, dtype=bool)
    for segment, start, end in _spans(segments):  # one segment's urls as Python bytes at a time
        urls = bytes_column(gen, segment, "url")
        prefixes[start:end] = urls  # cut at URL_PREFIX bytes
        longer[start:end] = np.fromiter(map(len, urls), dtype=np.int64, count=len(urls)) > URL_PREFIX
    if old is None:
        order = np.argsort(prefixes, kind="stable")
    else:
        new = np.flatnonzero(~old.reused)
        order = np.concatenate((old.order("url_rank"), new[np.argsort(prefixes[new], kind="stable")]))
        order = order[np.argsort(prefixes[order], kind="stable")]
    ordered = prefixes[order]
    del prefixes
    # Runs of equal prefixes, and those of them with a url the prefix does not hold whole.
    run = np.cumsum(np.concatenate(([True], ordered[1:] != ordered[:-1]))) - 1
    del ordered
    runs = int(run[-1]) + 1
    shared = np.bincount(run, minlength=runs) > 1
    cut = np.bincount(run, weights=longer[order], minlength=runs) > 0
    if old is not None:
        # Equal urls in docnum order: the merge kept the previous generation's documents before the others.
        _sort_runs_by_docnum(order, run, shared & ~cut)
    unsettled = np.flatnonzero(shared & cut)
    if len(unsettled):
        _sort_runs_by_whole_url(gen, segments, order, run, unsettled)
    rank = np.empty(size, dtype=np.int32)
    rank[order] = np.arange(size, dtype=np.int32)
    return rank


class _Urls:
    """Every document's url in one buffer (no Python object per url), for comparing a few of them."""

    def __init__(self, gen: Path, segments: list) -> None:
        parts, starts, ends = [], [], []
        total = 0
        for segment in segments:
            data, bounds = bytes_column_buffer(gen, segment, "url")
            parts.append(data)
            starts.append(bounds[:-1] + total)
            ends.append(bounds[1:] + total)
            total += len(data)
        # Padded, so that the first URL_PREFIX bytes of the last url can be cut out as of any other.
        self.buffer = np.zeros(total + URL_PREFIX, dtype=np.uint8)
        at = 0
        for data in parts:
            self.buffer[at : at + len(data)] = np.frombuffer(data, dtype=np.uint8)
            at += len(data)
        self.starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        self.lengths = (np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)) - self.starts

    def prefixes(self, docs: np.ndarray) -> np.ndarray:
        """The first :data:`URL_PREFIX` bytes of the urls of ``docs``, as fixed-width bytes (NUL-padded)."""
        columns = np.arange(URL_PREFIX)
        out = np.empty((len(docs), URL_PREFIX), dtype=np.uint8)
        for lo in range(0, len(docs), 8192):  # (8192, 64) indices at a time: 4 MB
            chosen = docs[lo : lo + 8192]
            block = self.buffer[self.starts[chosen][:, None] + columns]
            block[columns >= self.lengths[chosen][:, None]] = 0
            out[lo : lo + len(chosen)] = block
        return out.view(f"S{URL_PREFIX}").reshape(len(docs))

    def url(self, doc: int) -> bytes:
        """The whole url of ``doc``."""
        start = int(self.starts[doc])
        return self.buffer[start : start + int(self.lengths[doc])].tobytes()

    def before(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether (url, docnum) of each of ``a`` comes before that of the same place in ``b``."""
        first, second = self.prefixes(a), self.prefixes(b)
        result = first < second
        for i in np.flatnonzero(first == second).tolist():  # equal prefixes: rare but for equal urls
            x, y = int(a[i]), int(b[i])
            if self.lengths[x] > URL_PREFIX or self.lengths[y] > URL_PREFIX:
                result[i] = (self.url(x), x) < (self.url(y), y)
            else:
                result[i] = x < y
        return result

    def sort(self, docs: np.ndarray) -> np.ndarray:
        """``docs`` in (url, docnum) order."""
        docs = np.sort(docs)
        prefixes = self.prefixes(docs)
        order = np.argsort(prefixes, kind="stable")
        docs, prefixes = docs[order], prefixes[order]
        run = np.cumsum(np.concatenate(([True], prefixes[1:] != prefixes[:-1]))) - 1 if len(docs) else docs
        for group in np.split(np.arange(len(docs)), np.flatnonzero(np.diff(run)) + 1):
            if len(group) > 1 and (self.lengths[docs[group]] > URL_PREFIX).any():
                docs[group] = sorted(docs[group].tolist(), key=lambda d: (self.url(d), d))
        return docs


def _merged_url_rank(urls: _Urls, old: _Previous, size: int) -> np.ndarray:
    """:func:`_url_rank` when the reused segments kept their order: those documents are in (url, docnum)
    order as the previous ranks put them, and each other document is placed among them by a binary
    search of all of them at once (22 steps at 3 million), comparing a few urls a step."""
    kept = old.order("url_rank")
    fresh = urls.sort(np.flatnonzero(~old.reused))
    lo = np.zeros(len(fresh), dtype=np.int64)
    hi = np.full(len(fresh), len(kept), dtype=np.int64)
    active = np.flatnonzero(lo < hi)
    while len(active):
        mid = (lo[active] + hi[active]) // 2
        before = urls.before(kept[mid], fresh[active])
        lo[active] = np.where(before, mid + 1, lo[active])
        hi[active] = np.where(before, hi[active], mid)
        active = active[lo[active] < hi[active]]
    order = np.insert(kept, lo, fresh)  # fresh documents at one place stay in their (url, docnum) order
    rank = np.empty(size, dtype=np.int32)
    rank[order] = np.arange(size, dtype=np.int32)
    return rank


def _sort_runs_by_docnum(order: np.ndarray, run: np.ndarray, chosen: np.ndarray) -> None:
    """Put in docnum order, in place, the runs of ``order`` marked in ``chosen`` (a mask over runs)."""
    positions = np.flatnonzero(chosen[run])
    if len(positions):
        order[positions] = order[positions][np.lexsort((order[positions], run[positions]))]


def _sort_runs_by_whole_url(gen: Path, segments: list, order: np.ndarray, run: np.ndarray, runs: np.ndarray) -> None:
    """Put in order, in place, the ``runs`` of ``order`` (docnums sorted by url prefix) by whole url, then docnum."""
    chosen = np.zeros(int(run[-1]) + 1, dtype=bool)
    chosen[runs] = True
    positions = np.flatnonzero(chosen[run])
    wanted = order[positions]
    urls: dict[int, bytes] = {}
    for segment, start, end in _spans(segments):
        inside = wanted[(wanted >= start) & (wanted < end)]
        if len(inside):  # only these urls made into Python bytes: most documents of a segment are not
            data, bounds = bytes_column_buffer(gen, segment, "url")
            urls.update((d, data[a:b]) for d, a, b in zip(inside.tolist(), bounds[inside - start].tolist(), bounds[inside - start + 1].tolist()))
    bounds = np.flatnonzero(np.diff(run[positions])) + 1
    for group_positions in np.split(positions, bounds):
        docs = order[group_positions].tolist()
        order[group_positions] = sorted(docs, key=lambda d: (urls[d], d))


def _labels(lexicon, field: str, postings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One label facet's names (the terms of ``lexicon``), and its (doc, label id) pairs (see :class:`Labels`)."""
    names: list[str] = []
    ids: list[int] = []
    parts: list[np.ndarray] = []
    for term in lexicon:
        if not term.strip():
            continue  # "no provider" is not a provider
        found = postings(field, term)
        parts.append(found)
        ids.extend([len(names)] * len(found))
        names.append(term.decode("utf-8"))
    return (
        np.array(names, dtype=str),
        np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32),
        np.array(ids, dtype=np.int32),
    )
