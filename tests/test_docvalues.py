"""Doc values: the per-document arrays must hold what Whoosh's own reader reads, document by document."""

from __future__ import annotations

import numpy as np
import pytest

from newssearch import index_seeds, store
from newssearch.codec.toc import open_whoosh
from newssearch.docvalues import FACETS_FILE, URL_PREFIX, DocValues, release_pages
from newssearch.schema import NO_DATE, TEXT_FIELDS

from .conftest import related, write_seed


@pytest.fixture
def generation(seeds, index_dir):
    """Two segments, deleted documents, related articles, undated ones, labels in several spellings."""
    for i in range(40):
        write_seed(seeds, f"{i:02d}.txt", title=f"Story {i} " + "word " * (i % 6), url=f"https://x/{(i * 7) % 40}",
                   topics=["AI", "ai", "Climate"][: i % 4], provider=["Le Monde", "Tech Wire", ""][i % 3],
                   category=["news", "Opinion"][i % 2], published=None if i % 5 == 0 else f"2020-01-{i % 28 + 1:02d}",
                   body="text " * i,
                   related=[related(f"Related {i}", f"https://r/{i}")] if i % 4 == 0 else [])
    index_seeds([seeds], index_dir)
    for i in range(40, 50):
        write_seed(seeds, f"{i:02d}.txt", title=f"Late {i}", url=f"https://x/{i}", topics=["Robotics"])
    for i in range(0, 40, 6):
        (seeds / f"{i:02d}.txt").unlink()
    index_seeds([seeds], index_dir)
    return store.current_generation(index_dir)


def test_doc_values_equal_what_whooshs_reader_reads_per_document(generation):
    values = DocValues.load(generation)
    ix = open_whoosh(generation)
    with ix.reader() as reader:
        size = reader.doc_count_all()
        assert len(reader.leaf_readers()) == 2 and reader.has_deletions()
        assert values.size == size
        assert values.live.tolist() == [not reader.is_deleted(d) for d in range(size)]
        related = set(reader.postings("kind", b"related").all_ids())  # live ones
        assert set(np.flatnonzero(values.related & values.live).tolist()) == related and related
        urls = list(reader.column_reader("url"))
        assert sorted(range(size), key=lambda d: (urls[d], d)) == np.argsort(values.url_rank).tolist()
        assert values.published.tolist() == list(reader.column_reader("published"))
        assert (values.published == NO_DATE).any()
        for field in TEXT_FIELDS:
            expected = [reader.doc_field_length(d, field) or 0 for d in range(size)]
            assert values.lengths(field).tolist() == expected, field
        for name, field in (("topics", "topic_facet"), ("provider", "provider_facet"), ("category", "category")):
            labels = getattr(values, name)
            for term in reader.lexicon(field):
                if term.strip():
                    docs = set(reader.postings(field, term).all_ids())
                    selected = labels.mask([term.decode()], size) & values.live
                    assert docs <= set(np.flatnonzero(selected).tolist()), (field, term)
    ix.close()


def test_label_values_meet_across_spellings_and_count_once_per_document(generation):
    values = DocValues.load(generation)
    live = values.live
    ai = values.topics.mask(["ai"], values.size)
    assert (ai == values.topics.mask(["AI"], values.size)).all()
    counts = {v.value: v.count for v in values.topics.counts(live, 10)}
    assert counts["AI"] == int((ai & live).sum())  # "AI" and "ai" on one article count once


def test_doc_values_of_another_format_are_refused(generation):
    with np.load(generation / FACETS_FILE) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["format"] = np.array(int(arrays["format"]) + 1)
    np.savez(generation / FACETS_FILE, **arrays)
    with pytest.raises(ValueError, match="facet arrays of format"):
        DocValues.load(generation)


def test_label_groups_saved_with_the_generation_equal_those_computed_from_the_pairs(generation):
    from newssearch.docvalues import Labels

    values = DocValues.load(generation)
    for saved in (values.topics, values.provider, values.category):
        computed = Labels(saved.names, saved.docs, saved.ids)  # the reference: computed on open, as before
        everyone = np.ones(values.size, dtype=bool)
        assert saved.counts(everyone, 100) == computed.counts(everyone, 100) != ()
        assert saved.counts(values.live, 2) == computed.counts(values.live, 2)
        for value in [*saved.names.tolist(), "AI", "ai", "no such value"]:
            assert np.array_equal(saved.mask([value], values.size), computed.mask([value], values.size))


def test_urls_alike_beyond_the_sorted_prefix_are_ranked_by_the_whole_url(seeds, index_dir):
    # Only URL_PREFIX bytes are sorted in NumPy: runs of urls alike that far (some of them ending
    # there, some updated so that a deleted copy has the same url) must still come out in url order.
    stem = "https://news.example/" + "section/" * (URL_PREFIX // 8)
    tails = ["b", "", "a", "ab", "b/c", "a/z", "", "~", "0", "aa"]
    for i, tail in enumerate(tails):
        write_seed(seeds, f"{i:02d}.txt", title=f"Story {i}", url=stem + tail + (f"?p={i}" if i % 3 == 0 else ""))
    write_seed(seeds, "short.txt", title="Short", url="https://news.example/a")
    index_seeds([seeds], index_dir)
    for i in (1, 4, 8):  # a second segment, and deleted copies of the same urls in the first
        write_seed(seeds, f"{i:02d}.txt", title=f"Story {i} again", url=stem + tails[i])
    write_seed(seeds, "late.txt", title="Late", url=stem[:URL_PREFIX])
    index_seeds([seeds], index_dir)
    generation = store.current_generation(index_dir)
    values = DocValues.load(generation)
    ix = open_whoosh(generation)
    with ix.reader() as reader:
        assert len(reader.leaf_readers()) == 2 and reader.has_deletions()
        urls = list(reader.column_reader("url"))
    ix.close()
    assert sum(len(u) > URL_PREFIX for u in urls) >= 10
    assert sorted(range(len(urls)), key=lambda d: (urls[d], d)) == np.argsort(values.url_rank).tolist()


def _np_load(path) -> dict[str, np.ndarray]:
    """The reference reader: numpy's own, every array read and checksummed."""
    with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _assert_same_arrays(found: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(found) == list(expected)
    for name, array in expected.items():
        assert found[name].dtype == array.dtype and found[name].shape == array.shape, name
        assert np.array_equal(found[name], array), name


def test_facet_arrays_are_mapped_in_place_and_equal_what_np_load_reads(generation):
    from newssearch.docvalues import ALIGN, map_arrays

    mapped = map_arrays(generation / FACETS_FILE)
    _assert_same_arrays(mapped, _np_load(generation / FACETS_FILE))
    for name, array in mapped.items():
        assert not array.flags.owndata and not array.flags.writeable, name  # the file's bytes, not a copy
        assert array.__array_interface__["data"][0] % ALIGN == 0, name


def test_a_generation_opens_with_the_same_doc_values_as_a_full_read(generation):
    mapped = DocValues.load(generation)
    full = DocValues(_np_load(generation / FACETS_FILE))
    assert np.array_equal(mapped.live, full.live) and np.array_equal(mapped.cluster, full.cluster)
    everyone = np.ones(mapped.size, dtype=bool)
    for name in ("topics", "provider", "category"):
        assert getattr(mapped, name).counts(everyone, 100) == getattr(full, name).counts(everyone, 100) != ()
    assert mapped.histogram(mapped.live, "day") == full.histogram(full.live, "day")
    assert mapped.provider_of(np.arange(mapped.size)) == full.provider_of(np.arange(full.size))


@pytest.mark.parametrize("writer", [np.savez, np.savez_compressed], ids=["np.savez", "np.savez_compressed"])
def test_facet_files_numpy_wrote_read_the_same(generation, tmp_path, writer):
    """Files of older builds (np.savez placed arrays anywhere) and compressed ones: copied or read by np.load."""
    from newssearch.docvalues import map_arrays

    arrays = _np_load(generation / FACETS_FILE)
    writer(tmp_path / "old.npz", **arrays)
    found = map_arrays(tmp_path / "old.npz")
    _assert_same_arrays(found, arrays)
    assert all(array.flags.aligned for array in found.values())


def test_saved_facet_arrays_are_a_plain_npz_that_numpy_reads(generation, tmp_path):
    import zipfile

    from newssearch.docvalues import save_arrays

    arrays = _np_load(generation / FACETS_FILE)
    with open(tmp_path / "saved.npz", "wb") as handle:
        save_arrays(handle, arrays)
    _assert_same_arrays(_np_load(tmp_path / "saved.npz"), arrays)
    with zipfile.ZipFile(tmp_path / "saved.npz") as archive:
        assert archive.testzip() is None  # every member's checksum holds


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04junk", b"not a zip at all"])
def test_a_facet_file_that_is_no_npz_is_refused_as_np_load_refuses_it(tmp_path, damage):
    from newssearch.docvalues import map_arrays

    (tmp_path / "bad.npz").write_bytes(damage)
    with pytest.raises(Exception) as mapped:
        map_arrays(tmp_path / "bad.npz")
    with pytest.raises(Exception) as loaded:
        _np_load(tmp_path / "bad.npz")
    assert type(mapped.value) is type(loaded.value)


@pytest.mark.parametrize(
    "array",
    [np.array(4), np.zeros((3, 4), dtype="<f4", order="F"), np.zeros(0, dtype="<U1"), np.ones(5, dtype=bool),
     np.arange(24, dtype=">i2").reshape(2, 3, 4), np.array(["Le Monde", "AI"]), np.arange(70_000, dtype=np.int64)],
    ids=["0-d", "fortran", "empty", "bool", "3-d big-endian", "strings", "long"],
)
def test_npy_headers_are_read_as_numpys_own_parser_reads_them(array):
    import io

    from numpy.lib import format as npy

    from newssearch.docvalues import _npy_header

    written = io.BytesIO()
    npy.write_array(written, array)
    stream = io.BytesIO(written.getvalue())
    assert npy.read_magic(stream) == (1, 0)
    shape, fortran, dtype = npy.read_array_header_1_0(stream)
    assert _npy_header(written.getvalue()) == (shape, fortran, dtype, stream.tell())
    assert _npy_header(written.getvalue().replace(b"'shape'", b"'shapE'")) is None  # anything else: numpy's parser


def _linked_copy(gen, target):
    """A generation's folder of hard links, but for its doc values: a place to build them again."""
    import os
    import shutil

    shutil.copytree(gen, target, copy_function=os.link)
    (target / FACETS_FILE).unlink(missing_ok=True)
    return target


def _build_in(gen, target, previous=None):
    """The doc values ``docvalues.build`` writes for ``gen`` (from ``previous`` if given), read back."""
    from newssearch import docvalues

    folder = _linked_copy(gen, target)
    ix = open_whoosh(folder)
    with ix.reader() as reader:
        counts = docvalues.build(reader, folder, previous) if previous is not None else docvalues.build(reader, folder)
    ix.close()
    return counts, {name: np.array(value) for name, value in docvalues.map_arrays(folder / FACETS_FILE).items()}


def _assert_same_arrays(found, expected):
    assert found.keys() == expected.keys()
    for name in expected:
        assert found[name].dtype == expected[name].dtype, name
        assert found[name].tolist() == expected[name].tolist(), name


_WIRE = "Storm floods the valley as rivers rise over their banks and towns evacuate"
_LONG = "https://example.com/" + "a-long-shared-path/" * 4  # past URL_PREFIX bytes: urls sorted whole


def _random_seed(rng, seeds, number: int, version: int) -> None:
    """Seed ``number`` as of ``version``: urls sharing long prefixes, labels in several spellings, wire copies."""
    url = (_LONG if number % 3 == 0 else "https://x.example/") + f"{(number * 7 + version * (number % 2)) % 97}"
    title = _WIRE + (" again" if number % 4 else "") if rng.random() < 0.3 else f"Story {number} of {version} " + "word " * int(rng.integers(0, 9))
    write_seed(seeds, f"{number:03d}.txt", title=title, url=url,
               excerpt=f"Excerpt {rng.integers(0, 5)} of a report on the valley and its rivers today",
               topics=[str(t) for t in rng.choice(["AI", "ai", "Climate", "Émigrés", "emigres", f"T{version}"], size=int(rng.integers(0, 3)))],
               provider=str(rng.choice(["Le Monde", "Tech Wire", "", "tech wire", f"P{version}"])),
               category=str(rng.choice(["news", "Opinion", "opinion"])),
               published=None if rng.random() < 0.2 else f"20{rng.integers(10, 25)}-0{rng.integers(1, 9)}-1{rng.integers(0, 9)}",
               body="text " * int(rng.integers(0, 30)),
               related=[related(f"Related {number} {version}", f"{url}/r{i}") for i in range(int(rng.integers(0, 3)))])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_doc_values_built_from_the_previous_generation_equal_a_full_build_over_many_generations(seeds, index_dir, tmp_path, seed):
    from newssearch import docvalues

    rng = np.random.default_rng(seed)
    numbers = set(range(60))
    for number in numbers:
        _random_seed(rng, seeds, number, 0)
    index_seeds([seeds], index_dir)
    previous = store.current_generation(index_dir)
    reused = 0
    for version in range(1, 7):
        for number in rng.choice(sorted(numbers), size=8, replace=False).tolist():  # changed
            _random_seed(rng, seeds, number, version)
        for number in rng.choice(sorted(numbers), size=4, replace=False).tolist():  # removed
            (seeds / f"{number:03d}.txt").unlink()
            numbers.discard(number)
        for number in range(100 + version * 10, 100 + version * 10 + int(rng.integers(0, 8))):  # added
            _random_seed(rng, seeds, number, version)
            numbers.add(number)
        index_seeds([seeds], index_dir)
        gen = store.current_generation(index_dir)
        scratch_counts, scratch = _build_in(gen, tmp_path / f"scratch-{version}")
        counts, found = _build_in(gen, tmp_path / f"reused-{version}", previous)
        assert counts == scratch_counts
        _assert_same_arrays(found, scratch)
        # And equal to what the indexer itself wrote.
        _assert_same_arrays(found, {k: np.array(v) for k, v in docvalues.map_arrays(gen / FACETS_FILE).items()})
        old = docvalues._Previous.open(previous, store_segments(gen), len(found["live"]))
        reused += old is not None
        previous = gen
    assert reused >= 4  # most runs kept segments of the one before
    assert (scratch["cluster"] != np.arange(len(scratch["cluster"]))).any()  # near-duplicates were found


def store_segments(gen):
    from newssearch.codec import toc

    return toc.read(gen)[0]


def test_doc_values_from_a_generation_of_other_arrays_are_a_full_build(generation, tmp_path):
    from newssearch import docvalues

    gens = sorted(p for p in generation.parent.iterdir() if p.name.startswith("gen-"))
    previous = gens[gens.index(generation) - 1]
    _, expected = _build_in(generation, tmp_path / "scratch")
    # Another format, then no arrays at all: the previous generation is not used.
    damaged = _linked_copy(previous, tmp_path / "previous")
    with np.load(previous / FACETS_FILE) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["format"] = np.array(int(arrays["format"]) + 1)
    with open(damaged / FACETS_FILE, "wb") as handle:
        docvalues.save_arrays(handle, arrays)
    assert docvalues._Previous.open(damaged, store_segments(generation), len(expected["live"])) is None
    _, found = _build_in(generation, tmp_path / "other-format", damaged)
    _assert_same_arrays(found, expected)
    (damaged / FACETS_FILE).unlink()
    _, found = _build_in(generation, tmp_path / "no-arrays", damaged)
    _assert_same_arrays(found, expected)
    # Arrays of another size than the segments say.
    arrays["format"] = np.array(docvalues.FORMAT)
    arrays["live"] = arrays["live"][:-1]
    with open(damaged / FACETS_FILE, "wb") as handle:
        docvalues.save_arrays(handle, arrays)
    assert docvalues._Previous.open(damaged, store_segments(generation), len(expected["live"])) is None


@pytest.mark.parametrize("seed", [4, 5])
def test_doc_values_from_a_generation_holding_the_same_segments_in_another_order_equal_a_full_build(seeds, index_dir, tmp_path, seed):
    """The previous order of urls and labels is not trusted to be the docnum order: equal urls of two
    reused segments, and a label's documents, come out by docnum whatever order the segments had."""
    from newssearch.codec import toc

    rng = np.random.default_rng(seed)
    for run in range(4):  # a segment per run, each replacing some seeds of the others
        for number in rng.choice(40, size=15, replace=False).tolist():
            _random_seed(rng, seeds, number, run)
        index_seeds([seeds], index_dir)
    gen = store.current_generation(index_dir)
    found_segments, number = toc.read(gen)
    assert len(found_segments) >= 3
    for name, order in (("reversed", found_segments[::-1]), ("rotated", found_segments[1:] + found_segments[:1])):
        folder = _linked_copy(gen, tmp_path / name)
        ix = open_whoosh(folder)
        schema = ix.schema
        ix.close()
        toc.commit(folder, schema, order, number + 1)
        (folder / "meta.json").unlink(missing_ok=True)
        _, expected = _build_in(folder, tmp_path / f"{name}-scratch")
        _, found = _build_in(folder, tmp_path / f"{name}-reused", gen)
        _assert_same_arrays(found, expected)


def test_the_indexer_given_the_live_generation_as_previous_writes_the_arrays_of_a_full_build(seeds, index_dir, tmp_path, monkeypatch):
    """The indexer passes the generation it builds on as ``previous``, and writes, run after run,
    what a full build writes."""
    from newssearch import docvalues

    full_build = docvalues.build
    given = []

    def build_from_live(reader, gen, previous=None):
        given.append(previous)
        return full_build(reader, gen, previous)

    monkeypatch.setattr(docvalues, "build", build_from_live)
    rng = np.random.default_rng(6)
    for version in range(4):
        for number in rng.choice(50, size=20 if version == 0 else 6, replace=False).tolist():
            _random_seed(rng, seeds, number, version)
        index_seeds([seeds], index_dir)
        gen = store.current_generation(index_dir)
        monkeypatch.setattr(docvalues, "build", full_build)
        _, expected = _build_in(gen, tmp_path / f"scratch-{version}")
        monkeypatch.setattr(docvalues, "build", build_from_live)
        _assert_same_arrays({k: np.array(v) for k, v in docvalues.map_arrays(gen / FACETS_FILE).items()}, expected)
    assert given[0] is None and all(p is not None and p.name < q.name for p, q in zip(given[1:], given[2:]))


def test_doc_values_of_a_run_that_only_removed_files_equal_a_full_build(seeds, index_dir, tmp_path):
    """Every segment kept, none new: the arrays come from the previous generation and the deletions."""
    from newssearch import docvalues

    rng = np.random.default_rng(7)
    for number in range(40):
        _random_seed(rng, seeds, number, 0)
    index_seeds([seeds], index_dir)
    previous = store.current_generation(index_dir)
    for number in range(0, 40, 3):
        (seeds / f"{number:03d}.txt").unlink()
    index_seeds([seeds], index_dir)
    gen = store.current_generation(index_dir)
    segments = store_segments(gen)
    old = docvalues._Previous.open(previous, segments, sum(s.doc_count_all() for s in segments))
    assert old is not None and all(place is not None for place in old.places)  # nothing new to read
    scratch_counts, expected = _build_in(gen, tmp_path / "scratch")
    counts, found = _build_in(gen, tmp_path / "reused", previous)
    assert counts == scratch_counts and not expected["live"].all()
    _assert_same_arrays(found, expected)


def _some_clusters(values: DocValues, rng) -> None:
    """Give ``values`` near-duplicate clusters: each named by its least docnum, as neardup names them by url."""
    cluster = np.arange(values.size)
    for lead in range(0, values.size - 3, 5):
        cluster[lead + 1 : lead + 1 + int(rng.integers(0, 3))] = lead
    values.cluster, values._clustered = cluster, None


@pytest.mark.parametrize("seed", range(6))
def test_facet_counts_of_sorted_docnums_equal_those_of_the_mask(generation, seed):
    values = DocValues.load(generation)
    rng = np.random.default_rng(seed)
    _some_clusters(values, rng)
    for share in (0.0, 0.1, 0.5, 1.0):
        mask = (rng.random(values.size) < share) & values.live
        docs = np.flatnonzero(mask)
        for labels in (values.topics, values.provider, values.category):
            assert labels.counts(docs, 10) == labels.counts(mask, 10)
            clustered = labels.counts(docs, 10, values.cluster, values.clustered())
            assert clustered == labels.counts(mask, 10, values.cluster, values.clustered())
        for granularity in ("year", "month", "day"):
            assert values.histogram(docs, granularity) == values.histogram(mask, granularity)
            assert values.histogram(docs, granularity, 3, group=values.cluster) == values.histogram(
                mask, granularity, 3, group=values.cluster)
    assert values.clustered().any() and values.topics.counts(values.live, 10)


def test_the_provider_of_documents_is_the_spelling_their_seed_wrote(generation):
    values = DocValues.load(generation)
    ix = open_whoosh(generation)
    with ix.searcher() as searcher:
        docs = [d for d in range(values.size) if values.live[d]]
        written = [searcher.stored_fields(d)["payload"].get("provider") or "" for d in docs]
    ix.close()
    assert values.provider_of(np.array(docs)) == written and set(written) >= {"Le Monde", "Tech Wire"}
    assert values.provider_of(np.zeros(0, dtype=np.int64)) == []


def test_released_pages_of_a_mapped_array_read_back_the_same_values(generation):
    mapped = DocValues.load(generation)
    full = DocValues(_np_load(generation / FACETS_FILE))
    for field in TEXT_FIELDS:
        before = mapped.length_codes[field].copy()
        release_pages(mapped.length_codes[field])
        assert np.array_equal(mapped.length_codes[field], before) and np.array_equal(before, full.length_codes[field])
    release_pages(full.published)  # an array in memory: left as it is
    assert np.array_equal(full.published, mapped.published)


def test_facet_arrays_of_format_4_are_read_and_the_next_run_writes_the_current_format(generation, seeds, index_dir):
    """Before format 5 the lengths were saved decoded (float32, ``length_*``). Such a generation still
    answers every query as before, with the same scores, and the next run remakes its arrays."""
    import json
    import zlib

    from newssearch import open_index
    from newssearch.codec.columns import LENGTH_OF_CODE
    from newssearch.docvalues import FORMAT, save_arrays

    queries = ("story", "word text", "late OR related", '"story 3"', "title:word")
    with open_index(index_dir) as ix:
        expected = {q: [(hit.url, hit.score) for hit in ix.search(q, limit=100).hits] for q in queries}
    arrays = _np_load(generation / FACETS_FILE)
    for field in TEXT_FIELDS:
        arrays[f"length_{field}"] = LENGTH_OF_CODE[arrays.pop(f"length_code_{field}")]
    arrays["format"] = np.array(4)
    with open(generation / FACETS_FILE, "wb") as handle:
        save_arrays(handle, arrays)
    meta = json.loads((generation / store.META).read_text())
    meta["files"][FACETS_FILE] = (generation / FACETS_FILE).stat().st_size
    meta["crc32"][FACETS_FILE] = zlib.crc32((generation / FACETS_FILE).read_bytes())
    (generation / store.META).write_text(json.dumps(meta))

    old = DocValues.load(generation)
    assert all(old.lengths(f).tolist() == arrays[f"length_{f}"].tolist() for f in TEXT_FIELDS)
    with open_index(index_dir) as ix:
        assert {q: [(hit.url, hit.score) for hit in ix.search(q, limit=100).hits] for q in queries} == expected
        assert all(expected.values())
    write_seed(seeds, "99.txt", title="Story again", url="https://x/99")
    index_seeds([seeds], index_dir)
    remade = _np_load(store.current_generation(index_dir) / FACETS_FILE)
    assert int(remade["format"]) == FORMAT and not any(name.startswith("length_") and "code" not in name for name in remade)
