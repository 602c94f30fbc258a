"""Near-duplicates: the same story under several providers and urls, found at index time.

A wire story reaches a feed many times: the same title and excerpt, give or
take a provider's suffix ("... - Reuters"), a dateline, a cut sentence.
Each article gets a MinHash signature of the word shingles of its title and
excerpt (:func:`signature`, computed where the document is made, stored in
the ``minhash`` column of its segment); once per index generation
:func:`clusters` groups the articles whose signatures say their shingle sets
overlap by at least :data:`THRESHOLD` (Jaccard), with NumPy over the whole
index: locality-sensitive hashing by bands proposes candidate pairs, each is
checked on its whole signature, and the checked pairs are joined into
clusters (connected components, so a chain of close copies is one cluster).

Canonical: a cluster depends on its articles' texts and urls only, never on
docnums or on the history of the index. Candidates of one band bucket are
taken in url order (each paired with the bucket's first url and with the one
before it), and a cluster is named by its member with the least
(normalised) url, so an updated index clusters exactly as a fresh build.

Parameters, measured by ``benchmarks/near_duplicates.py`` on 50,000 seeds of
``make_corpus.py --seed 0`` (147,326 articles with the related ones, 1,517
planted syndicated copies) and on the bundled real seed (Jaccard similarity
of the title+excerpt shingle sets, min / 1st percentile / median / max):

=================================  ======================  =====================
pairs                              3-word shingles         2-word shingles
=================================  ======================  =====================
planted copy and its original      0.51 / 0.56 / 0.83 / 1  0.60 / 0.63 / 0.88 / 1
20,000 random distinct articles    max 0.01                max 0.04
20,000 of one provider and topic   max 0.03                max 0.05
the real seed and its 2 related    0.00, 0.01              0.02, 0.05
=================================  ======================  =====================

* 3-word shingles, case folded: they keep distinct articles nearer 0 than
  2-word ones (which share "of the"); 4-word ones put edited copies as low
  as 0.43.
* :data:`THRESHOLD` 0.4, in the gap between 0.03 and 0.51 and leaning to
  the copies, whose similarity is estimated with a standard error of 0.06.
  Clustering the 50,000 seeds with it: every planted copy with its
  original, and no cluster joining two stories (at 0.5: 1,512 of 1,517;
  at 0.3: the same as 0.4).
* 64 MinHash values of 16 bits (b-bit MinHash: 128 bytes per article); LSH
  in 21 bands of 3 values. A pair of similarity s is a candidate with
  probability 1-(1-s^3)^21: 0.75 at s=0.4, 0.94 at 0.5, 0.99 at 0.6; at
  0.05 it is 0.003, so candidate pairs stay few. Each candidate is then
  checked on all 64 values.
* An article with fewer than :data:`MIN_WORDS` words of title and excerpt
  has no signature and is never clustered: too little text to call two
  articles the same story ("A vote in the north" and "A vote in the east"
  share half their 3-word shingles).

Cost at 50,000 seeds: see ``benchmarks/RESULTS.md`` ("Near-duplicates").
"""

from __future__ import annotations

import re
import zlib

import numpy as np

SHINGLE = 3  # words per shingle
HASHES = 64  # MinHash values per signature
BANDS = 21  # LSH bands of ROWS values each (63 of the 64)
ROWS = 3
THRESHOLD = 0.4  # the least estimated Jaccard similarity of two articles of one cluster
SIGNATURE_BYTES = HASHES * 2
MIN_WORDS = 8  # words of title and excerpt an article needs to be clustered

_WORD = re.compile(r"\w+")
# The hash family: h_k(x) = a_k * x + b_k mod 2^64, a_k odd; fixed, so signatures
# written by any process or version of this module agree.
_RANDOM = np.random.default_rng(20261203)
_A = _RANDOM.integers(1, 2**63, size=HASHES, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _RANDOM.integers(0, 2**63, size=HASHES, dtype=np.uint64)
# Multipliers mixing three word hashes into a shingle hash.
_M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)


def shingles(title: str, excerpt: str) -> list[str]:
    """The word shingles :func:`signature` hashes (for tests and measurements)."""
    words = _WORD.findall(f"{title} {excerpt}".casefold())
    return [" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)]


def signature(title: str, excerpt: str) -> bytes:
    """The MinHash signature of an article's title and excerpt: 64 little-endian uint16, or b""
    when the text has fewer than :data:`MIN_WORDS` words. (One article of :func:`signatures`.)"""
    return signatures([(title, excerpt)])[0]


# A word's hash, computed once per process: news repeats its words.
_WORD_HASHES: dict[str, int] = {}
_MAX_CACHED_WORDS = 500_000
_CHECK_PAIRS = 1 << 16  # candidate pairs checked on their whole signatures at a time
_CHUNK_SHINGLES = 8_192  # shingles hashed at a time: a (64, chunk) uint64 array is 4 MB


def signatures(texts: list[tuple[str, str]]) -> list[bytes]:
    """:func:`signature` of each (title, excerpt), computed for the whole batch at once.

    Python touches each word once (its CRC-32, cached); the shingle hashes,
    the 64 hash functions and the minimum per article are NumPy operations
    over the batch, about half the time of the articles one at a time.
    """
    words = [_WORD.findall(f"{title} {excerpt}".casefold()) for title, excerpt in texts]
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    result = [b""] * len(texts)
    if not len(words) or lengths.max(initial=0) < MIN_WORDS:
        return result
    cache = _WORD_HASHES
    if len(cache) > _MAX_CACHED_WORDS:
        cache.clear()
    flat = [w for ws in words for w in ws]
    for w in set(flat).difference(cache):
        cache[w] = zlib.crc32(w.encode("utf-8", "surrogatepass"))
    hashes = np.fromiter(map(cache.__getitem__, flat), dtype=np.uint64, count=len(flat))
    # (uint64 arithmetic wraps modulo 2^64, which is what a hash wants.)
    keys = hashes[:-2] * _M1 + hashes[1:-1] * _M2 + hashes[2:]
    keys ^= keys >> np.uint64(29)
    # A shingle starting at position i of the flat list belongs to its article if all three words do.
    ends = np.cumsum(lengths)
    starts = ends - lengths
    counts = np.where(lengths >= MIN_WORDS, lengths - (SHINGLE - 1), 0)
    first = np.repeat(starts, counts) + (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts))
    keys = keys[first]
    signed = np.flatnonzero(counts)
    mins = np.empty((HASHES, len(signed)), dtype=np.uint64)
    offsets = np.concatenate(([0], np.cumsum(counts[signed])))
    row = 0
    while row < len(signed):  # chunks of whole articles
        last = int(np.searchsorted(offsets, offsets[row] + _CHUNK_SHINGLES, "right")) - 1
        last = max(last, row + 1)
        lo, hi = offsets[row], offsets[last]
        # (hash function, shingle): each article's shingles are contiguous along the rows
        values = _A[:, None] * keys[None, lo:hi] + _B[:, None]
        mins[:, row:last] = np.minimum.reduceat(values, offsets[row:last] - lo, axis=1)
        row = last
    packed = np.ascontiguousarray((mins & np.uint64(0xFFFF)).astype("<u2").T)
    for i, article in enumerate(signed.tolist()):
        result[article] = packed[i].tobytes()
    return result


def estimated_similarity(a: bytes, b: bytes) -> float:
    """The Jaccard similarity two signatures estimate (0.0 when either is empty)."""
    if len(a) != SIGNATURE_BYTES or len(b) != SIGNATURE_BYTES:
        return 0.0
    return float(np.mean(np.frombuffer(a, "<u2") == np.frombuffer(b, "<u2")))


def signature_matrix(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Signatures as an (n, 64) uint16 array, and which rows have one."""
    has = np.fromiter((len(v) == SIGNATURE_BYTES for v in values), dtype=bool, count=len(values))
    matrix = np.zeros((len(values), HASHES), dtype="<u2")
    if has.any():
        joined = b"".join(v for v, ok in zip(values, has.tolist()) if ok)
        matrix[has] = np.frombuffer(joined, dtype="<u2").reshape(-1, HASHES)
    return matrix, has


def signature_rows(data: bytes, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`signature_matrix` of the values ``data[bounds[i]:bounds[i + 1]]`` (a column as
    :func:`newssearch.codec.columns.bytes_column_buffer` reads it), without a Python object per value:
    when every value is a signature or empty, the values back to back are the matrix's rows."""
    lengths = np.diff(bounds)
    has = lengths == SIGNATURE_BYTES
    if not ((lengths == 0) | has).all():  # a value of another size: one at a time, as signature_matrix does
        return signature_matrix([data[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())])
    matrix = np.zeros((len(lengths), HASHES), dtype="<u2")
    rows = int(has.sum())
    if rows:
        matrix[has] = np.frombuffer(data, dtype="<u2", count=rows * HASHES, offset=int(bounds[0])).reshape(rows, HASHES)
    return matrix, has


def _in_rank_order(docs: np.ndarray, usable: np.ndarray, url_rank: np.ndarray) -> np.ndarray:
    """``docs`` (the usable ones) by ``url_rank``, ties by docnum. The ranks docvalues gives are a
    permutation: each rank's document is then found by a scatter, not an argsort (0.37 s at 3 million)."""
    size = len(usable)
    ranks = np.asarray(url_rank)
    if len(ranks) == size and size and ranks.min() >= 0 and ranks.max() < size:
        at = np.full(size, -1, dtype=np.int64)
        at[ranks] = np.arange(size)
        if (at >= 0).all():  # every rank taken once
            return at[usable[at]]
    return docs[np.argsort(ranks[docs], kind="stable")]


_KEY_MASK = (1 << (16 * ROWS)) - 1
# Every band's 8-byte read must stay inside its row: the last band starts 120 bytes in.
assert (BANDS - 1) * ROWS * 2 + 8 <= SIGNATURE_BYTES and ROWS * 2 <= 8


def _digest(keys: np.ndarray) -> np.ndarray:
    """A 32-bit digest of 48-bit band keys (equal keys, equal digests)."""
    digest = keys >> np.uint64(24)
    digest ^= keys
    digest &= np.uint64(0xFFFFFFFF)
    return digest


def clusters(signatures: np.ndarray, usable: np.ndarray, url_rank: np.ndarray) -> np.ndarray:
    """Each document's cluster, as the docnum of its member with the least url.

    ``signatures`` is :func:`signature_matrix`'s array, ``usable`` the
    documents to cluster (live, with a signature), ``url_rank`` each
    document's rank in url order. A document outside ``usable``, or alike
    no other, is a cluster of its own.
    """
    size = len(signatures)
    result = np.arange(size, dtype=np.int32)
    docs = np.flatnonzero(usable)
    if len(docs) < 2:
        return result
    count = len(docs)
    # Nodes numbered in url order: the least label of a component is its least url. ``docs``
    # stays in docnum order, each with its node: a band's values are then read down the
    # signature rows in order (gathering them in url order cost as much as the sort).
    by_node = _in_rank_order(docs, usable, url_rank)
    node = np.empty(size, dtype=np.uint64)
    node[by_node] = np.arange(count, dtype=np.uint64)
    node = node[docs]
    where = np.empty(count, dtype=np.int64)  # each node's place in ``docs``
    where[node.astype(np.int64)] = np.arange(count)
    firsts, seconds = [], []
    rows = np.ascontiguousarray(signatures, dtype="<u2")
    for band in range(BANDS):
        # The band's key: its three 16-bit values in one 48-bit number, which are the 6 bytes at
        # the band's place in each row, read as the low bytes of a little-endian 64-bit number
        # (one pass, where converting the three columns and shifting them cost three).
        wide = np.ndarray((size,), dtype="<u8", buffer=rows, offset=band * ROWS * 2, strides=(rows.strides[0],))
        keys = wide[docs]
        keys &= np.uint64(_KEY_MASK)
        # Buckets of two or more found by sorting values, not by an argsort (four times slower
        # at 3 million): a 32-bit digest of the key above each document's node. Equal keys have
        # equal digests; the few documents whose digest repeats (a few percent) are then put
        # in order by their whole key, so a digest shared by two keys only adds a candidate.
        # (In place where it can be: each temporary is 24 MB at 3 million.)
        packed = _digest(keys)
        packed <<= np.uint64(32)
        packed |= node
        packed.sort()
        repeats = packed[1:] ^ packed[:-1]  # equal digests: differing below bit 32 only
        repeats = repeats < np.uint64(1 << 32)
        if not repeats.any():
            continue
        shared = np.zeros(count, dtype=bool)
        shared[1:] |= repeats
        shared[:-1] |= repeats
        members = (packed[shared] & np.uint64(0xFFFFFFFF)).astype(np.int64)
        del packed, shared
        member_keys = keys[where[members]]
        in_order = np.lexsort((members, member_keys))  # by key, in url order within a bucket
        members, member_keys = members[in_order], member_keys[in_order]
        same = member_keys[1:] == member_keys[:-1]
        later = np.flatnonzero(same) + 1
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        head = np.repeat(starts, np.diff(np.append(starts, len(members))))
        firsts += [members[later], members[later]]
        seconds += [members[later - 1], members[head[later]]]
    docs = by_node
    if not firsts:
        return result
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    pairs = np.unique(np.minimum(a, b).astype(np.int64) * count + np.maximum(a, b))
    a, b = pairs // count, pairs % count
    close = np.zeros(len(a), dtype=bool)
    for lo in range(0, len(a), _CHECK_PAIRS):  # two (pairs, 64) uint16 blocks at a time
        hi = lo + _CHECK_PAIRS
        close[lo:hi] = (signatures[docs[a[lo:hi]]] == signatures[docs[b[lo:hi]]]).sum(axis=1) >= THRESHOLD * HASHES
    a, b = a[close], b[close]
    labels = np.arange(count, dtype=np.int64)
    while len(a):
        low = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        labels = labels[labels]  # pointer jumping: a label is a node, whose own label is lower
        if np.array_equal(labels, before):
            break
    while True:  # labels point at roots
        jumped = labels[labels]
        if np.array_equal(jumped, labels):
            break
        labels = jumped
    result[docs] = docs[labels]
    return result
