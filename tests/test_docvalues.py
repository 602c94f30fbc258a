"""Doc values: the per-document arrays must hold what Whoosh's own reader reads, document by document."""

from __future__ import annotations

import numpy as np
import pytest

from newssearch import index_seeds, store
from newssearch.codec.toc import open_whoosh
from newssearch.docvalues import FACETS_FILE, URL_PREFIX, DocValues
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
            assert values.lengths[field].tolist() == expected, field
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
