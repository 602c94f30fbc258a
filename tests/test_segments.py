"""Segments written by SegmentBuilder must read back exactly as Whoosh's own writer's do."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from newssearch import segments
from newssearch.schema import build_schema
from newssearch.segments import SegmentBuilder, commit


def contents(folder: Path) -> dict:
    """Everything a reader can see of an index: terms, postings, term stats, lengths, stored fields, columns."""
    ix = whoosh_index.open_dir(str(folder))
    with ix.reader() as reader:
        schema = reader.schema
        size = reader.doc_count_all()
        out: dict = {"docs": size, "deleted": sorted(d for d in range(size) if reader.is_deleted(d))}
        terms = {}
        for field, btext in reader.all_terms():
            fmt = schema[field].format
            info = reader.term_info(field, btext)
            matcher = reader.postings(field, btext)
            postings = []
            while matcher.is_active():
                value = matcher.value()
                positions = fmt.decode_positions(value) if field in schema and schema[field].format.__class__.__name__ == "Positions" else value
                postings.append((matcher.id(), matcher.weight(), positions))
                matcher.next()
            stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(), info.max_weight(),
                     info.min_id(), info.max_id())
            terms[(field, btext)] = (stats, postings)
        out["terms"] = terms
        out["stored"] = [reader.stored_fields(d) for d in range(size)]
        out["lengths"] = {
            f: ([reader.doc_field_length(d, f) for d in range(size)], reader.field_length(f))
            for f in schema.scorable_names()
        }
        out["columns"] = {f: list(reader.column_reader(f)) for f in schema.names() if schema[f].column_type}
    ix.close()
    return out


def build_both(tmp_path: Path, documents: list[dict], batch: int = 64) -> tuple[dict, dict]:
    schema = build_schema()
    by_whoosh = tmp_path / "whoosh"
    by_whoosh.mkdir()
    ix = whoosh_index.create_in(str(by_whoosh), schema)
    with ix.writer() as writer:
        for doc in documents:
            writer.add_document(**doc)
    ix.close()
    ours = tmp_path / "ours"
    ours.mkdir()
    whoosh_index.create_in(str(ours), schema).close()
    builder = SegmentBuilder(ours, schema)
    for start in range(0, len(documents), batch):
        builder.add_batch(documents[start : start + batch])
    commit(ours, schema, [builder.finish()], 1)
    return contents(by_whoosh), contents(ours)


def doc(n: int, **fields) -> dict:
    base = {
        "url": f"https://example.com/{n}",
        "kind": "seed",
        "title": f"Article {n}",
        "excerpt": "",
        "body": "",
        "topics": "",
        "provider": "Example News",
        "topic_facet": "",
        "provider_facet": "Example News",
        "category": "news",
        "published": 1_600_000_000 + n,
        "payload": {"n": n, "title": f"Article {n}"},
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(("chunk", "batch"), [(1 << 16, 64), (7, 1), (1 << 16, 1000)])
def test_a_built_segment_reads_back_like_whooshs(tmp_path, monkeypatch, chunk, batch):
    # chunk: postings turned into objects at a time (all, or a few terms); batch: documents analysed at once
    monkeypatch.setattr(segments, "CHUNK_POSTINGS", chunk)
    long_body = " ".join(f"w{i % 97} common" for i in range(5000))  # positions past 4096, tf > 1
    documents = [
        doc(0, title="Facial recognition in Zürich", excerpt="Sony’s café", topics="AI ; Privacy",
            topic_facet="AI,Privacy", body=long_body),
        doc(1, title="", excerpt="", provider="", provider_facet="", category=""),  # empty fields
        doc(2, title="naïve ǅemal İstanbul 🙂 U.S. don't", kind="related",
            excerpt="AT&T’s Ｕ．Ｓ． straße 東京都の知事 AI東京 ｶﾞｿﾘﾝ 한국어 Zu\u0308rich", body="東 京 東京 " * 3),
        # The word joined between a batch's texts, in a text: that batch is read document by document.
        doc(3, body=f"before {segments._SEPARATOR_WORD} after", excerpt=segments._SEPARATOR_WORD),
    ]
    # "common" spans several 128-posting blocks; repeated words weigh more.
    documents += [doc(n, body="common " * (n % 4 + 1) + f"rare{n}", topic_facet="AI") for n in range(4, 400)]
    whoosh_made, ours = build_both(tmp_path, documents)
    assert ours["terms"].keys() == whoosh_made["terms"].keys()
    for key in whoosh_made["terms"]:
        assert ours["terms"][key] == whoosh_made["terms"][key], key
    assert ours == whoosh_made


words = st.sampled_from(["alpha", "beta", "Gamma", "Zürich", "recognition", "recognize", "x", "2020", "é", "U.S.",
                         "AT&T", "O’Neill", "Trump's", "東京都", "東", "京都", "ｶﾞ", "한국", "ﬁ", "Zu\u0308rich", "&", "’"])
texts = st.lists(words | st.text(max_size=8), max_size=30).map(" ".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({"title": texts, "excerpt": texts, "body": texts, "topics": texts}), min_size=1,
                max_size=12))
def test_any_documents_read_back_like_whooshs(tmp_path_factory, fields):
    tmp_path = tmp_path_factory.mktemp("segments")
    documents = [doc(n, **f) for n, f in enumerate(fields)]
    whoosh_made, ours = build_both(tmp_path, documents)
    assert ours == whoosh_made


def test_the_builder_counts_every_raw_token_for_the_vocabulary(tmp_path):
    from collections import Counter

    from newssearch.schema import tokens

    documents = [doc(n, body=f"Word word WORD {n}", excerpt="café Café 東京") for n in range(150)]
    documents[7]["body"] += f" {segments._SEPARATOR_WORD}"  # the batch separator, as a real word
    builder = SegmentBuilder(tmp_path, build_schema())
    for start in range(0, len(documents), 64):
        builder.add_batch(documents[start : start + 64])
    builder.finish()
    expected = Counter()
    for document in documents:
        for field in ("title", "excerpt", "body", "topics", "provider"):
            expected.update(tokens(document[field]))
    assert builder.token_counts == expected
    assert builder.token_counts[segments._SEPARATOR_WORD] == 1
