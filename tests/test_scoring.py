"""The vectorised matcher must agree with Whoosh's own on which documents match."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import index as whoosh_index

from newssearch import index_seeds, open_index, store
from newssearch.facets import Columns
from newssearch.scoring import QueryScorer

from .conftest import write_seed

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    """An index of 400 articles in two segments, with deletions: the awkward case."""
    root = tmp_path_factory.mktemp("scoring")
    seeds, index_dir = root / "seeds", root / "index"
    for i in range(300):
        words = [WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7)]
        write_seed(seeds, f"{i:03d}.txt", title=" ".join(words), url=f"https://x/{i}",
                   excerpt=" ".join(words[::-1]) + " common", body="alpha " * (i % 5))
    index_seeds([seeds], index_dir)
    for i in range(300, 400):  # a second segment
        write_seed(seeds, f"{i:03d}.txt", title=f"{WORDS[i % 11]} late", url=f"https://x/{i}", excerpt="common")
    for i in range(0, 300, 7):  # deletions in the first segment
        (seeds / f"{i:03d}.txt").unlink()
    index_seeds([seeds], index_dir)
    gen = store.live_generation(index_dir)
    ix = whoosh_index.open_dir(str(gen))
    searcher = ix.searcher()
    assert len(searcher.reader().leaf_readers()) >= 2 and searcher.reader().has_deletions()
    yield QueryScorer(searcher, Columns.load(gen)), searcher, index_dir
    searcher.close()


def whoosh_docs(searcher, q):
    return sorted(q.docs(searcher))


@pytest.mark.parametrize(
    "query",
    ["alpha", "alpha beta", "alpha OR late", "alpha -beta", "NOT alpha", "alp*", '"delta beta"', '"beta theta"~3',
     '"beta theta"', '"beta delta theta"', '"alpha alpha"', '"gamma late"',
     "title:gamma common", "(alpha OR beta) AND NOT late", "lat*", "zzz", "common"],
)
def test_matches_agree_with_whoosh(scorer, query):
    qs, searcher, index_dir = scorer
    with open_index(index_dir) as ix:
        q = ix._parse(query)[0]
    mine = np.flatnonzero(qs.evaluate(q).match).tolist()
    assert mine == whoosh_docs(searcher, q)


def test_postings_read_in_blocks_equal_whooshs(scorer):
    qs, searcher, _ = scorer
    reader = searcher.reader()
    for field, text in (("excerpt", "common"), ("title", "alpha"), ("body", "alpha")):
        ids, weights = qs.postings(field, text)
        # Whoosh hides deleted documents; the block reader keeps them for the live mask to drop.
        assert not qs.live[ids].all()
        live = qs.live[ids]
        expected = list(reader.postings(field, text).items_as("weight"))
        assert ids[live].tolist() == [d for d, _ in expected]
        assert weights[live].tolist() == pytest.approx([w for _, w in expected])


def test_scores_follow_bm25(scorer):
    qs, _, index_dir = scorer
    with open_index(index_dir) as ix:
        q = ix._parse("body:alpha")[0]
    result = qs.evaluate(q)
    ids, tf = qs.postings("body", "alpha")
    live = qs.live[ids]
    ids, tf = ids[live], tf[live]
    # More occurrences score higher (documents of equal length aside, tf saturates but grows).
    by_tf = {}
    for doc, f in zip(ids.tolist(), tf.tolist()):
        by_tf.setdefault(f, set()).add(round(float(result.score[doc]), 5))
    means = [np.mean(list(v)) for _, v in sorted(by_tf.items())]
    assert means == sorted(means) and len(means) > 1
    assert (result.score[~result.match] == 0).all()


def test_the_phrase_cases_above_are_not_vacuous(scorer):
    qs, searcher, index_dir = scorer
    with open_index(index_dir) as ix:
        for query in ('"delta beta"', '"beta theta"~3', '"beta delta theta"', '"alpha alpha"', '"gamma late"'):
            assert qs.evaluate(ix._parse(query)[0]).match.sum() > 0, query


def test_positions_are_decoded_as_whoosh_decodes_them(scorer):
    from newssearch.scoring import position_decoder

    qs, searcher, _ = scorer
    for field, word in (("title", "alpha"), ("excerpt", "common"), ("body", "alpha")):
        fmt = searcher.schema[field].format
        _, _, values = qs._postings(field, word, values=True)
        assert values
        assert [position_decoder(fmt)(v) for v in values] == [fmt.decode_positions(v) for v in values]
