"""Near-duplicates: url identity in the index, clusters, collapsed search, get/show, --fields."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from newssearch import index_seeds
from newssearch.cli import cli
from newssearch.errors import QueryError
from newssearch.neardup import BANDS, HASHES, ROWS, THRESHOLD, clusters, estimated_similarity, shingles, signature, signature_matrix
from newssearch.searching import open_index
from newssearch.web.app import create_app

from .conftest import REAL_SEED, write_seed

WIRE_TITLE = "Storm floods the harbour district as rivers burst their banks overnight"
WIRE_EXCERPT = (
    "Emergency crews worked through the night to move residents from low streets near the harbour, "
    "where water rose faster than forecasters had warned, officials said on Tuesday morning."
)


def _story(seeds, name, url, provider, *, published="2021-05-04T10:00:00Z", title=WIRE_TITLE, excerpt=WIRE_EXCERPT, **kw):
    write_seed(seeds, name, title=title, excerpt=excerpt, url=url, provider=provider, domain=provider.lower() + ".example",
               published=published, **kw)


@pytest.fixture
def wire(seeds, index_dir):
    """One wire story from three providers (lightly edited), and an unrelated story."""
    _story(seeds, "a.txt", "https://www.reuters.example/storm-floods?utm_source=rss", "Reuters", topics=["Weather"])
    _story(seeds, "b.txt", "https://ap.example/storm", "AP", title=WIRE_TITLE + " - AP", published="2021-05-04T12:00:00Z",
           topics=["Weather"])
    _story(seeds, "c.txt", "https://local.example/news/flood", "Local Paper", excerpt="HARBOUR (Local Paper) — " + WIRE_EXCERPT,
           published="2020-12-31T23:00:00Z", topics=["Local"])
    _story(seeds, "d.txt", "https://other.example/harbour-festival", "Other", title="Harbour festival returns with storm of colour",
           excerpt="Music and boats fill the harbour district for the first festival since the pandemic.", topics=["Culture"])
    index_seeds([seeds], index_dir)
    return index_dir


# -- signatures and clusters ----------------------------------------------------


def test_a_signature_estimates_the_jaccard_similarity_of_the_shingles():
    rng = random.Random(3)
    words = [f"w{i}" for i in range(400)]
    for _ in range(40):
        base = rng.sample(words, 60)
        other = base[: rng.randint(10, 60)] + rng.sample(words, rng.randint(0, 40))
        a, b = set(shingles(" ".join(base), "")), set(shingles(" ".join(other), ""))
        exact = len(a & b) / len(a | b)
        assert abs(estimated_similarity(signature(" ".join(base), ""), signature(" ".join(other), "")) - exact) < 0.25


def test_text_of_fewer_than_eight_words_has_no_signature_and_is_never_clustered(seeds, index_dir):
    assert signature("Two words", "") == b""
    assert signature("A vote in the north", "on Sunday") == b""  # seven words
    assert signature("A vote in the north", "on Sunday morning") != b""
    assert estimated_similarity(b"", b"") == 0.0
    # Short headlines sharing words are different stories, not copies.
    for side in ("north", "east"):
        write_seed(seeds, f"{side}.txt", title=f"A vote in the {side}", url=f"https://x/{side}")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        assert ix.search("vote").total == 2
        assert ix.get("https://x/north").duplicates == ()


def test_clusters_are_the_connected_components_of_pairs_above_the_threshold_named_by_their_least_url():
    texts = [WIRE_TITLE, WIRE_TITLE + " - AP", "A wholly different story about markets and the budget vote today",
             WIRE_TITLE + " | Local", "A wholly different story about markets and the budget vote today!"]
    sigs, has = signature_matrix([signature(t, WIRE_EXCERPT if "Storm" in t else "") for t in texts])
    url_rank = np.array([3, 1, 0, 4, 2])
    live = np.ones(5, dtype=bool)
    found = clusters(sigs, has & live, url_rank)
    assert found.tolist() == [1, 1, 2, 1, 2]  # docs 0, 1, 3 under doc 1 (least url); 2 and 4 under doc 2
    live[1] = False  # a deleted document is in no cluster, and the next least url names it
    assert clusters(sigs, has & live, url_rank).tolist() == [0, 1, 2, 0, 2]


def test_clusters_do_not_depend_on_document_order():
    rng = random.Random(5)
    vocabulary = [f"word{i}" for i in range(300)]
    stories = [" ".join(rng.sample(vocabulary, 30)) for _ in range(12)]
    texts = [s if rng.random() < 0.5 else s + " extra" for s in stories for _ in range(rng.randint(1, 3))]
    sigs, has = signature_matrix([signature(t, "") for t in texts])
    urls = [f"https://x/{rng.random()}" for _ in texts]
    rank = np.argsort(np.argsort(urls))

    def partition(order):
        found = clusters(sigs[order], has[order], rank[order])
        return {frozenset(urls[order[j]] for j in np.flatnonzero(found == c)) for c in set(found.tolist())}, {
            urls[order[i]]: urls[order[found[i]]] for i in range(len(order))}

    first = partition(np.arange(len(texts)))
    for _ in range(5):
        assert partition(np.array(rng.sample(range(len(texts)), len(texts)))) == first


def test_the_bundled_seed_is_no_near_duplicate_of_its_related_articles():
    from newssearch.seeds import read_seed

    article = read_seed(str(REAL_SEED))
    own = signature(article.title, article.excerpt)
    assert all(estimated_similarity(own, signature(r.title, r.excerpt)) < THRESHOLD for r in article.related)


# -- url identity in the index --------------------------------------------------


def test_the_first_file_holding_any_spelling_of_a_url_wins(seeds, index_dir):
    write_seed(seeds, "1.txt", title="First", url="https://www.news.example/a/?utm_source=x&amp")
    write_seed(seeds, "2.txt", title="Second", url="http://news.example/a#top")
    write_seed(seeds, "3.txt", title="Third", url="https://news.example/a?page=2")
    report = index_seeds([seeds], index_dir)
    assert (report.seeds, report.duplicates) == (2, 1)
    with open_index(index_dir) as ix:
        shown = {h.url for h in ix.search("", collapse=False).hits}
        assert shown == {"https://www.news.example/a/?utm_source=x&amp", "https://news.example/a?page=2"}  # as written
        for spelling in ("https://news.example/a", "http://m.news.example/amp/a/", "HTTPS://NEWS.EXAMPLE/a?fbclid=1"):
            assert ix.get(spelling).title == "First"
        assert [h.title for h in ix.search("url:http://news.example/a/?ocid=msn").hits] == ["First"]


def test_a_related_entry_listed_under_two_spellings_is_indexed_once(seeds, index_dir):
    from .conftest import related

    write_seed(seeds, "s.txt", title="Seed", url="https://x.example/seed",
               related=[related("Other", "https://www.y.example/r?utm_medium=feed"), related("Other again", "http://y.example/r/")])
    assert index_seeds([seeds], index_dir).related == 1


# -- collapsed search -------------------------------------------------------------


def test_a_wire_story_is_one_hit_with_the_others_counted_and_named(wire):
    with open_index(wire) as ix:
        results = ix.search("harbour")
        assert results.total == 2
        festival = "https://other.example/harbour-festival"
        (top,) = [h for h in results.hits if h.url != festival]
        assert top.similar_count == 2
        assert set(top.similar_providers) == {"AP", "Reuters", "Local Paper"} - {top.provider}
        assert [h.similar_count for h in results.hits if h.url == festival] == [0]
        every = ix.search("harbour", collapse=False)
        assert every.total == 4 and all(h.similar_count == 0 for h in every.hits)


def test_the_hit_kept_is_the_best_ranked_under_the_sort(wire):
    with open_index(wire) as ix:
        newest = ix.search("storm", sort="newest")
        assert [h.url for h in newest.hits][0] == "https://ap.example/storm"
        oldest = ix.search("storm", sort="oldest")
        assert oldest.hits[0].url == "https://local.example/news/flood"
        relevance = ix.search("storm floods")
        uncollapsed = ix.search("storm floods", collapse=False)
        story = [h for h in uncollapsed.hits if h.url != "https://other.example/harbour-festival"]
        assert relevance.hits[0].url == story[0].url  # the best scored copy


def test_a_filter_on_one_copy_finds_the_story_through_it(wire):
    with open_index(wire) as ix:
        local = ix.search("storm", topics=["Local"])
        assert [h.url for h in local.hits] == ["https://local.example/news/flood"] and local.hits[0].similar_count == 0


def test_collapsed_facet_counts_are_the_totals_choosing_them_gives(wire):
    with open_index(wire) as ix:
        results = ix.search("harbour", facet_limit=100)
        for facet, option in (("topics", "topics"), ("provider", "providers")):
            for value in getattr(results.facets, facet):
                assert ix.search("harbour", **{option: [value.value]}).total == value.count, (facet, value)
        years = {v.value: v.count for v in results.facets.published}
        assert years == {"2020": 1, "2021": 2}
        for year, count in years.items():
            assert ix.search("harbour", since=year, until=year).total == count
        plain = ix.search("harbour", collapse=False, facet_limit=100)
        assert {v.value: v.count for v in plain.facets.published} == {"2020": 1, "2021": 3}


def test_paging_is_exact_over_collapsed_hits(seeds, index_dir):
    rng = random.Random(11)
    vocabulary = [f"term{i}" for i in range(500)]
    expected_stories = 0
    for story in range(30):
        title = "news " + " ".join(rng.sample(vocabulary, 12))
        excerpt = " ".join(rng.sample(vocabulary, 30))
        copies = rng.choice((1, 1, 2, 3))
        expected_stories += 1
        for c in range(copies):
            write_seed(seeds, f"{story:02d}-{c}.txt", title=title + ("" if c == 0 else f" - P{c}"), excerpt=excerpt,
                       url=f"https://p{c}.example/{story}", provider=f"P{c}")
    index_seeds([seeds], index_dir)
    with open_index(index_dir) as ix:
        whole = ix.search("news", limit=1000)
        assert whole.total == len(whole.hits) == expected_stories
        for limit in (1, 4, 7):
            pages = [ix.search("news", limit=limit, page=p) for p in range(1, expected_stories // limit + 2)]
            assert [h.url for page in pages for h in page.hits] == [h.url for h in whole.hits]
            assert all(page.total == expected_stories for page in pages)


def test_collapse_must_be_a_boolean(wire):
    with open_index(wire) as ix, pytest.raises(QueryError, match="collapse must be True or False"):
        ix.search("storm", collapse="no")


# -- get and --fields ---------------------------------------------------------------


def test_get_returns_every_field_related_articles_and_near_duplicates(wire):
    with open_index(wire) as ix:
        article = ix.get("http://reuters.example/storm-floods")
        assert article.url == "https://www.reuters.example/storm-floods?utm_source=rss"
        assert (article.title, article.excerpt, article.provider) == (WIRE_TITLE, WIRE_EXCERPT, "Reuters")
        # oldest first
        assert [d.url for d in article.duplicates] == ["https://local.example/news/flood", "https://ap.example/storm"]
        assert ix.get("https://other.example/harbour-festival").duplicates == ()
        assert ix.get("https://nowhere.example/") is None
        assert ix.article("https://ap.example/storm").title == WIRE_TITLE + " - AP"  # the older name stays


def test_hits_carry_the_stored_fields_asked_for(wire):
    with open_index(wire) as ix:
        hit = ix.search("festival", fields=["excerpt", "path", "published"]).hits[0]
        assert hit.fields["excerpt"].startswith("Music and boats")
        assert hit.fields["path"].endswith("d.txt") and hit.fields["published"].year == 2021
        assert ix.search("festival").hits[0].fields is None
        with pytest.raises(QueryError, match="unknown fields 'nope', 'secret'"):
            ix.search("festival", fields=["excerpt", "nope", "secret"])


# -- the command line -----------------------------------------------------------------


def _run(*args, code=0):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="newssearch")
    assert result.exit_code == code, result.output
    return result


def test_query_shows_similar_counts_and_no_collapse_shows_every_copy(wire, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = _run("query", "harbour").stdout
    assert out.startswith("2 results")
    assert re.search(r"\+2 similar from [A-Za-z ]+, [A-Za-z ]+", out), out
    assert _run("query", "harbour", "--no-collapse").stdout.startswith("4 results")
    data = json.loads(_run("query", "harbour", "--format", "json").stdout)
    (story,) = [h for h in data["hits"] if h["similar_count"]]
    assert data["total"] == 2 and story["similar_count"] == 2 and len(story["similar_providers"]) == 2


def test_query_fields_adds_stored_fields_to_json_and_text(wire, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    data = json.loads(_run("query", "festival", "--fields", "excerpt,body", "--format", "json").stdout)
    assert data["hits"][0]["fields"] == {"excerpt": "Music and boats fill the harbour district for the first festival "
                                                    "since the pandemic.", "body": ""}
    assert "excerpt: Music and boats" in _run("query", "festival", "--fields", "excerpt").stdout
    error = _run("query", "festival", "--fields", "excerpt,colour", code=2).stderr
    assert error.strip().splitlines() == ["Error: unknown field 'colour': choose from excerpt, body, title, url, provider, "
                                          "domain, published, topics, category, path, kind, related_to"]


def test_show_prints_every_field_related_and_near_duplicates(wire, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    out = _run("show", "https://reuters.example/storm-floods").stdout
    assert out.splitlines()[0] == WIRE_TITLE
    for text in ("url:        https://www.reuters.example/storm-floods?utm_source=rss", "provider:   Reuters",
                 "published:  2021-05-04T10:00:00Z", "topics:     Weather", "near-duplicates (2)", "https://ap.example/storm",
                 "Emergency crews worked through the night"):
        assert text in out, text
    data = json.loads(_run("show", "https://ap.example/storm", "--format", "json").stdout)
    assert data["title"] == WIRE_TITLE + " - AP" and data["excerpt"] == WIRE_EXCERPT
    assert {d["url"] for d in data["duplicates"]} == {"https://www.reuters.example/storm-floods?utm_source=rss",
                                                      "https://local.example/news/flood"}


def test_show_of_a_url_the_index_lacks_is_a_one_line_error(wire):
    result = _run("show", "https://nowhere.example/x", code=1)
    assert result.stderr == "Error: the index holds no article at https://nowhere.example/x\n"


def test_show_of_the_bundled_seed_lists_its_related_articles(seeds, index_dir, monkeypatch):
    import shutil

    shutil.copy(REAL_SEED, seeds / REAL_SEED.name) if seeds.mkdir(parents=True, exist_ok=True) is None else None
    index_seeds([seeds], index_dir)
    out = _run("show", "https://fastcompany.com/90516127/now-microsoft-is-banning-police-from-using-its-facial-recognition-tech-too").stdout
    assert "related (2)" in out and "near-duplicates" not in out
    assert "?amp&amp&amp&amp" in out  # the url as the seed wrote it


# -- the web API ---------------------------------------------------------------------------


def test_the_api_collapses_by_default_and_takes_a_collapse_parameter(wire):
    with TestClient(create_app(wire)) as client:
        collapsed = client.get("/api/search", params={"q": "harbour"}).json()
        assert collapsed["total"] == 2 and sorted(h["similar_count"] for h in collapsed["hits"]) == [0, 2]
        assert client.get("/api/search", params={"q": "harbour", "collapse": "false"}).json()["total"] == 4
        bad = client.get("/api/search", params={"q": "harbour", "collapse": "maybe"})
        assert bad.status_code == 400
        article = client.get("/api/article", params={"url": "http://www.ap.example/storm/"}).json()
        assert article["title"] == WIRE_TITLE + " - AP" and len(article["duplicates"]) == 2
        page = client.get("/", params={"q": "harbour"}).text
        assert "+2 similar from" in page and "collapse=false" in page
        assert "The same story elsewhere" in client.get("/article", params={"url": "https://ap.example/storm"}).text
        # "show every copy" holds for the next query typed on that page: the form carries it.
        every = client.get("/", params={"q": "harbour", "collapse": "false"}).text
        assert '<input type="hidden" name="collapse" value="false">' in every
        assert 'name="collapse"' not in page


def test_signatures_of_a_batch_are_each_article_signed_alone(monkeypatch):
    from newssearch import neardup

    rng = random.Random(8)
    vocabulary = ["storm", "harbour", "Zürich", "東京", "AT&T", "U.S.", "rise", "fall"] + [f"w{i}" for i in range(50)]
    texts = [(" ".join(rng.choices(vocabulary, k=rng.randint(0, 12))), " ".join(rng.choices(vocabulary, k=rng.randint(0, 40))))
             for _ in range(300)]
    alone = [neardup.signature(t, e) for t, e in texts]
    monkeypatch.setattr(neardup, "_CHUNK_SHINGLES", 50)  # many chunks, split between articles
    assert neardup.signatures(texts) == alone
    neardup._WORD_HASHES.clear()
    assert neardup.signatures(texts[::-1]) == alone[::-1]


def test_the_indexer_stores_the_signature_of_title_and_excerpt(wire):
    from newssearch import store
    from newssearch.codec import segments
    from newssearch.codec.columns import bytes_column

    gen = store.live_generation(wire)
    ix = segments.open_whoosh(gen)
    with ix.reader() as reader:
        stored = {}
        for leaf, _offset in reader.leaf_readers():
            values = bytes_column(gen, leaf.segment(), "minhash")
            for docnum, value in enumerate(values):
                if not leaf.segment().is_deleted(docnum):
                    payload = leaf.stored_fields(docnum)["payload"]
                    stored[payload["url"]] = (value, signature(payload["title"], payload["excerpt"]))
    ix.close()
    assert len(stored) == 4 and all(value == expected != b"" for value, expected in stored.values())


def test_the_corpus_generator_plants_copies_without_changing_any_other_article(tmp_path, monkeypatch):
    import sys

    from .conftest import REPO

    sys.path.insert(0, str(REPO / "benchmarks"))
    import make_corpus

    vocabulary = make_corpus.Vocabulary.english()
    make_corpus.generate(tmp_path / "with", 400, seed=3, known=2, vocabulary=vocabulary)
    monkeypatch.setattr(make_corpus, "SYNDICATED", 0.0)
    make_corpus.generate(tmp_path / "without", 400, seed=3, known=2, vocabulary=vocabulary)
    copies = json.loads((tmp_path / "with.copies.json").read_text())
    assert 4 <= len(copies) <= 30 and json.loads((tmp_path / "without.copies.json").read_text()) == {}
    from newssearch.seeds import read_seed

    by_url = {}
    for path in sorted((tmp_path / "with").iterdir()):
        article = read_seed(str(path))
        by_url[article.url] = article
        plain = (tmp_path / "without" / path.name).read_text()
        if article.url not in copies:
            assert path.read_text() == plain  # every other article is what it was
    for copy, original in copies.items():
        a, b = by_url[copy], by_url[original]
        assert a.url != b.url and a.title.startswith(b.title)
        assert estimated_similarity(signature(a.title, a.excerpt), signature(b.title, b.excerpt)) >= THRESHOLD


def _reference_clusters(signatures: np.ndarray, usable: np.ndarray, url_rank: np.ndarray) -> np.ndarray:
    """The clustering before it kept one band in memory at a time (the reference it must equal)."""
    size = len(signatures)
    result = np.arange(size, dtype=np.int32)
    docs = np.flatnonzero(usable)
    if len(docs) < 2:
        return result
    # Nodes numbered in url order: the least label of a component is its least url.
    docs = docs[np.argsort(url_rank[docs], kind="stable")]
    sigs = np.ascontiguousarray(signatures[docs])
    # Each band's key: its three 16-bit values in one 48-bit number.
    wide = sigs[:, : BANDS * ROWS].astype(np.uint64).reshape(-1, BANDS, ROWS)
    columns = np.ascontiguousarray((wide[:, :, 0] | wide[:, :, 1] << np.uint64(16) | wide[:, :, 2] << np.uint64(32)).T)
    del wide
    count = len(docs)
    firsts, seconds = [], []
    for band in range(BANDS):
        keys = columns[band]
        order = np.argsort(keys)
        ordered = keys[order]
        repeats = ordered[1:] == ordered[:-1]
        if not repeats.any():
            continue
        # Only the documents of buckets of two or more (a few percent), in url order within a bucket.
        shared = np.zeros(count, dtype=bool)
        shared[1:] |= repeats
        shared[:-1] |= repeats
        members = order[shared]
        members = members[np.lexsort((members, keys[members]))]
        member_keys = keys[members]
        same = member_keys[1:] == member_keys[:-1]
        later = np.flatnonzero(same) + 1
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        head = np.repeat(starts, np.diff(np.append(starts, len(members))))
        firsts += [members[later], members[later]]
        seconds += [members[later - 1], members[head[later]]]
    if not firsts:
        return result
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    pairs = np.unique(np.minimum(a, b).astype(np.int64) * count + np.maximum(a, b))
    a, b = pairs // count, pairs % count
    close = (sigs[a] == sigs[b]).sum(axis=1) >= THRESHOLD * HASHES
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


def test_clusters_equal_the_reference_that_held_every_band_at_once(monkeypatch):
    import newssearch.neardup as neardup

    monkeypatch.setattr(neardup, "_CHECK_PAIRS", 7)  # candidate pairs checked in several blocks
    rng = np.random.default_rng(11)
    for size in (2, 50, 900):
        stories = rng.integers(0, 1 << 16, size=(max(1, size // 6), 64), dtype=np.uint16)
        sigs = stories[rng.integers(0, len(stories), size=size)].copy()
        edits = rng.random(sigs.shape) < rng.choice([0.05, 0.4, 0.7], size=(size, 1))
        sigs[edits] = rng.integers(0, 1 << 16, size=int(edits.sum()), dtype=np.uint16)
        usable = rng.random(size) < 0.9
        url_rank = rng.permutation(size)
        found = clusters(sigs, usable, url_rank)
        assert found.tolist() == _reference_clusters(sigs, usable, url_rank).tolist()
        assert size < 50 or len(set(found.tolist())) < size  # the larger cases have clusters to find


def test_clusters_equal_the_reference_when_band_keys_share_their_digests(monkeypatch):
    import newssearch.neardup as neardup

    rng = np.random.default_rng(12)
    size = 600
    stories = rng.integers(0, 1 << 16, size=(80, 64), dtype=np.uint16)
    sigs = stories[rng.integers(0, len(stories), size=size)].copy()
    edits = rng.random(sigs.shape) < rng.choice([0.05, 0.4, 0.7], size=(size, 1))
    sigs[edits] = rng.integers(0, 1 << 16, size=int(edits.sum()), dtype=np.uint16)
    usable, url_rank = rng.random(size) < 0.9, rng.permutation(size)
    expected = _reference_clusters(sigs, usable, url_rank).tolist()
    # Four digests for every key: nearly every document is a candidate of every band.
    monkeypatch.setattr(neardup, "_digest", lambda keys: keys & np.uint64(3))
    assert clusters(sigs, usable, url_rank).tolist() == expected
    monkeypatch.setattr(neardup, "_digest", lambda keys: keys & np.uint64(0))
    assert clusters(sigs, usable, url_rank).tolist() == expected


def test_clusters_equal_the_reference_with_ties_in_url_rank():
    rng = np.random.default_rng(13)
    size = 400
    stories = rng.integers(0, 1 << 16, size=(40, 64), dtype=np.uint16)
    sigs = stories[rng.integers(0, len(stories), size=size)].copy()
    usable, url_rank = rng.random(size) < 0.8, rng.integers(0, 50, size=size)
    assert clusters(sigs, usable, url_rank).tolist() == _reference_clusters(sigs, usable, url_rank).tolist()


def test_signature_rows_of_a_column_buffer_equal_the_signature_matrix_of_its_values():
    from newssearch.neardup import signature_rows

    rng = np.random.default_rng(14)
    signed = [rng.integers(0, 1 << 16, size=64, dtype=np.uint16).astype("<u2").tobytes() for _ in range(5)]
    for values in ([], [b""] * 3, [signed[0], b"", signed[1], signed[2], b""], [b"", signed[3], b"odd", signed[4]]):
        data = b"xy" + b"".join(values)  # the values need not start at the buffer's first byte
        bounds = np.concatenate(([2], 2 + np.cumsum([len(v) for v in values], dtype=np.int64)))
        matrix, has = signature_rows(data, bounds)
        expected_matrix, expected_has = signature_matrix(values)
        assert has.tolist() == expected_has.tolist()
        assert matrix.dtype == expected_matrix.dtype and matrix.tolist() == expected_matrix.tolist()
