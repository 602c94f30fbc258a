"""The vectorised matcher must agree with Whoosh's own on which documents match."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import index as whoosh_index

from newssearch import index_seeds, open_index, store
from newssearch.codec import postings
from newssearch.docvalues import DocValues
from newssearch.schema import TEXT_FIELDS
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
    yield QueryScorer(searcher, DocValues.load(gen)), searcher, index_dir
    searcher.close()


def whoosh_docs(searcher, q):
    return sorted(q.docs(searcher))


@pytest.mark.parametrize(
    "query",
    ["alpha", "alpha beta", "alpha OR late", "alpha -beta", "NOT alpha", "alp*", '"delta beta"', '"beta theta"~3',
     '"beta theta"', '"beta delta theta"', '"alpha alpha"', '"gamma late"',
     "title:gamma common", "(alpha OR beta) AND NOT late", "lat*", "zzz", "common"],
)
@pytest.mark.parametrize("numpy_from", [8192, 0])  # the library's threshold, and every list parsed with NumPy
def test_matches_agree_with_whoosh(scorer, query, numpy_from, monkeypatch):
    monkeypatch.setattr(postings, "NUMPY_POSTINGS", numpy_from)
    qs, searcher, index_dir = scorer
    with open_index(index_dir) as ix:
        q = ix._parse(query)[0]
    mine = np.flatnonzero(qs.evaluate(q).match).tolist()
    assert mine == whoosh_docs(searcher, q)


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


def test_scores_are_bm25f_computed_from_term_and_length_statistics(tmp_path):
    """Each hit's score is the formula of README ("Results are sorted by relevance") and of
    newssearch.scoring, computed here from the articles' own words: for each word and text field,
    ``boost * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))`` with
    ``idf = log(1 + (N - df + 0.5) / (df + 0.5))`` over the live articles, and lengths as Whoosh
    keeps them (a one-byte code)."""
    import math
    import random

    from whoosh.util.numeric import byte_to_length, length_to_byte

    from newssearch.schema import FIELD_BOOSTS, terms
    from newssearch.scoring import K1, B

    rng = random.Random(5)
    vocabulary = ["alpha", "beta", "gamma", "delta", "harbour", "storm"] + [f"filler{i}" for i in range(40)]
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    articles = {}
    for i in range(80):
        texts = {field: " ".join(rng.choices(vocabulary, k=rng.randint(0, n)))
                 for field, n in (("excerpt", 25), ("body", 300))}
        texts["title"] = " ".join(rng.choices(vocabulary, k=rng.randint(1, 6)))  # a seed needs a title
        articles[f"https://x/{i}"] = texts
        write_seed(seeds, f"{i:03d}.txt", url=f"https://x/{i}", provider="Example News", **texts)
    index_seeds([seeds], index_dir)
    for i in range(0, 80, 9):  # deleted documents stay in the segment: statistics are over live ones
        (seeds / f"{i:03d}.txt").unlink()
        del articles[f"https://x/{i}"]
    index_seeds([seeds], index_dir)

    fields = ("title", "excerpt", "body")
    analysed = {url: {f: terms(texts[f]) for f in fields} for url, texts in articles.items()}
    length = {url: {f: byte_to_length(length_to_byte(len(a[f]))) for f in fields} for url, a in analysed.items()}
    average = {f: sum(length[u][f] for u in articles) / len(articles) for f in fields}

    def expected(words: list[str]) -> dict[str, float]:
        scores: dict[str, float] = {}
        for word in words:
            for f in fields:
                df = sum(word in a[f] for a in analysed.values())
                idf = math.log(1 + (len(articles) - df + 0.5) / (df + 0.5))
                for url, a in analysed.items():
                    tf = a[f].count(word)
                    if tf:
                        norm = K1 * (1 - B + B * length[url][f] / average[f])
                        scores[url] = scores.get(url, 0.0) + FIELD_BOOSTS[f] * idf * tf * (K1 + 1) / (tf + norm)
        return scores

    with open_index(index_dir) as ix:
        for query, words in (("harbour", ["harbour"]), ("storm OR delta", ["storm", "delta"])):
            results = ix.search(query, limit=100)
            found = {hit.url: hit.score for hit in results.hits}
            want = expected(words)
            assert results.total == len(want) == len(found)
            assert found == pytest.approx(want, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("query", ["alpha alpha", "alpha beta alpha beta alpha", "alpha OR alpha OR late", "(alpha beta) (alpha beta) common"])
def test_a_repeated_part_is_read_once_and_counts_as_often_as_written(scorer, monkeypatch, query):
    qs, _, index_dir = scorer
    with open_index(index_dir) as ix:
        q = ix._parse(query)[0]
    once = qs.evaluate(q)
    from newssearch import scoring

    monkeypatch.setattr(scoring, "_multiplicities", lambda subqueries: [(sub, 1) for sub in subqueries])
    every_time = qs.evaluate(q)  # the reference: each part read as often as it is written
    assert np.array_equal(once.match, every_time.match) and once.match.any()
    np.testing.assert_allclose(once.score, every_time.score, rtol=1e-6)


@pytest.mark.parametrize("few_values", [0, 64])  # positions decoded with NumPy, or one by one when few
@pytest.mark.parametrize("locate_from", [0, 60, 10**9])  # every word located, the commoner ones, or none
def test_phrases_over_long_texts_match_as_whooshs_matchers_do(tmp_path, monkeypatch, locate_from, few_values):
    """Positions past 255 and gaps of every width, slops of 1 to 4, words repeated in a phrase: the
    vectorised phrase matcher (all positions decoded at once) agrees with Whoosh's."""
    import random

    from newssearch import scoring

    monkeypatch.setattr(postings, "NUMPY_POSTINGS", 0)
    monkeypatch.setattr(scoring, "PHRASE_LOCATE", locate_from)
    monkeypatch.setattr(postings, "_FEW_VALUES", few_values)
    rng = random.Random(11)
    vocabulary = ["the", "of", "storm", "harbour", "council", "vote"] + [f"filler{i}" for i in range(30)]
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    for i in range(120):
        weights = [40, 30, 3, 2, 2, 1] + [1] * 30
        body = " ".join(rng.choices(vocabulary, weights=weights, k=rng.choice([5, 60, 400, 1500])))
        write_seed(seeds, f"{i:03d}.txt", url=f"https://x/{i}", title=f"article {i}", body=body)
    index_seeds([seeds], index_dir)
    gen = store.live_generation(index_dir)
    ix = whoosh_index.open_dir(str(gen))
    with ix.searcher() as searcher, open_index(index_dir) as mine:
        qs = QueryScorer(searcher, DocValues.load(gen))
        found = 0
        for phrase in ["the of", "of the", "the the", "storm harbour", "the storm of", "council vote the",
                       "filler1 filler2", "of of of"]:
            for slop in (1, 2, 4):
                q = mine._parse(f'body:"{phrase}"~{slop}' if slop > 1 else f'body:"{phrase}"')[0]
                got = np.flatnonzero(qs.evaluate(q).match).tolist()
                assert got == whoosh_docs(searcher, q), (phrase, slop)
                found += len(got)
        assert found > 100  # the phrases do match, in many documents
    ix.close()


@pytest.fixture()
def common_words(tmp_path):
    """Articles where "the" is in all, "of" in most, "storm" in some and "harbour" in two."""
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    for i in range(60):
        words = ["the"] + (["of"] if i % 4 else []) + (["storm"] if i % 5 == 0 else []) + (
            ["harbour"] if i in (0, 10) else [])
        write_seed(seeds, f"{i:03d}.txt", url=f"https://x/{i}", title=f"article {i}", body=" ".join(words))
    index_seeds([seeds], index_dir)
    return index_dir


def test_the_commonest_words_past_the_posting_budget_are_left_out_and_named(common_words, monkeypatch):
    from newssearch import scoring

    with open_index(common_words) as ix:
        full_or = ix.search("the OR of OR storm")
        full_and = ix.search("the of storm")
        assert full_or.notes == full_and.notes == ()
        # "storm" holds 12 postings, "of" 45, "the" 60 (each in the body only): room for two words.
        monkeypatch.setattr(scoring, "MAX_WORD_POSTINGS", 60)
        cut_or = ix.search("the OR of OR storm")
        cut_and = ix.search("the of storm")
    assert full_or.total == 60 and cut_or.total == 45 + 3  # "the" left out: articles with "of" or "storm"
    assert full_and.total == 9 and cut_and.total == 9  # "the" is in every "of storm" article anyway
    for cut in (cut_or, cut_and):
        assert len(cut.notes) == 1 and cut.notes[0].endswith(": the") and "at most 60 postings" in cut.notes[0]


def test_the_cheapest_part_is_always_read_and_phrases_and_negated_words_count_too(common_words, monkeypatch):
    from newssearch import scoring

    monkeypatch.setattr(scoring, "MAX_WORD_POSTINGS", 1)
    with open_index(common_words) as ix:
        alone = ix.search("the")
        assert (alone.total, alone.notes) == (60, ())  # one word, however common, is answered
        phrase = ix.search('"the of"')
        assert (phrase.total, phrase.notes) == (45, ())  # and one phrase
        both = ix.search("storm OR harbour")
        assert both.total == 2 and both.notes[0].endswith(": storm")  # the rarer one is kept
        # A phrase is left out whole: harbour is cheaper.
        mixed = ix.search('"the of" OR harbour')
        assert mixed.total == 2 and mixed.notes[0].endswith(': "the of"')
        # Negated words too: the cheaper exclusion is kept (both harbour articles have storm).
        negated = ix.search("harbour -storm")
        assert negated.total == 0 and negated.notes == ()
        excluded = ix.search("the -harbour -of")
        assert excluded.total == 58 and excluded.notes[0].endswith(": of")  # only harbour excluded


def test_norms_are_the_formula_per_document_to_the_bit(scorer):
    """A norm is looked up by the document's length code in a table of 256: the same float32 number as
    ``k1 * (1 - b + b * len / avglen)`` computed for the document, with ``avglen`` the mean
    length of the live documents (deleted ones do not count)."""
    from newssearch.codec.columns import LENGTH_OF_CODE
    from newssearch.scoring import K1, B

    qs, _, _ = scorer
    values = QueryScorer(qs.searcher, qs.doc_values)
    docs = np.arange(values.size)
    body = qs.doc_values.lengths("body")
    assert body[qs.doc_values.live].mean() != body.mean()  # the deletions change the average
    for field in TEXT_FIELDS:
        lengths = qs.doc_values.lengths(field)
        average = float(lengths[qs.doc_values.live].astype(np.float64).mean())
        expected = (K1 * (1 - B + B * lengths / max(average, 1e-9))).astype(np.float32)  # an empty field
        found = values._norm(field, docs)
        assert values._averages[field] == pytest.approx(average, rel=1e-12)
        assert np.array_equal(found, expected), field
        assert len(values._norm_tables[field]) == len(LENGTH_OF_CODE)  # no array per document kept


SHAPES = ["alpha", "alpha beta", "alpha OR late", "alpha -beta", "NOT alpha", "alp*", '"delta beta"', '"beta theta"~3',
          "title:gamma common", "(alpha OR beta) AND NOT late", "lat*", "zzz", "common", "alpha^2 beta^0.5",
          "(alpha OR beta) late", "alpha alpha beta", "title:gamma^3 OR late OR zzz", "(alpha beta) OR (gamma late)",
          "alpha OR beta OR gamma OR delta OR late OR common", "zzz alpha", "alpha zzz OR late",
          '"beta theta"', '"beta delta theta"', '"alpha alpha"', '"gamma late"', '"delta beta" OR late',
          '"delta beta"^2 alpha', '"beta theta"~3 -alpha']


@pytest.mark.parametrize("query", SHAPES)
def test_a_query_held_as_docnums_matches_and_scores_as_over_arrays_of_the_index(scorer, query, monkeypatch):
    """The sparse form (few matches: docnums and their scores) gives the same matches and the
    same float32 scores, to the bit, as arrays over every document."""
    from newssearch import scoring

    qs, _, index_dir = scorer
    with open_index(index_dir) as ix:
        q = ix._parse(query)[0]
    monkeypatch.setattr(scoring, "SPARSE_FROM", 10**9)  # every part as arrays over the index
    reference = qs.evaluate(q)
    assert not reference.is_sparse() or not reference.any()  # nothing found is held as no docnums
    monkeypatch.setattr(scoring, "SPARSE_FROM", 0)  # every part of Terms, Ors and Ands as docnums
    found = qs.evaluate(q)
    if query in ("alpha", "alpha beta", "alpha OR late", "common", "(alpha OR beta) late", "zzz alpha", '"delta beta"'):
        assert found.is_sparse()  # the shapes the sparse form serves
    assert found.any() == reference.any()
    assert found.scores_of(np.flatnonzero(reference.match)).tolist() == reference.score[reference.match].tolist()
    assert np.array_equal(found.match, reference.match) and np.array_equal(found.score, reference.score)
    assert found.left_out == reference.left_out


def test_parts_past_the_budget_are_left_out_alike_in_both_forms(common_words, monkeypatch):
    from newssearch import scoring

    monkeypatch.setattr(scoring, "MAX_WORD_POSTINGS", 60)
    results = {}
    for sparse_from in (10**9, 0):
        monkeypatch.setattr(scoring, "SPARSE_FROM", sparse_from)
        with open_index(common_words) as ix:
            results[sparse_from] = [ix.search(q) for q in ("the OR of OR storm", "the of storm", "storm harbour")]
    for dense, sparse in zip(results[10**9], results[0]):
        assert (sparse.total, sparse.notes, sparse.hits, sparse.facets) == (dense.total, dense.notes, dense.hits, dense.facets)
    assert results[0][0].notes
