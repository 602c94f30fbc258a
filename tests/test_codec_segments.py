"""Segments written by SegmentBuilder must read back exactly as Whoosh's own writer's do."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from newssearch.codec import columns, segments
from newssearch.codec.segments import SegmentBuilder, commit
from newssearch.schema import build_schema


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


def block_compressions(folder: Path) -> list[int]:
    """The compression flag of every posting block in the posting files of ``folder``, in file order."""
    from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC

    flags = []
    for path in sorted(folder.glob("*.pst")):
        raw = path.read_bytes()
        position = 0
        while position < len(raw):
            assert raw[position:position + 4] == WHOOSH3_HEADER_MAGIC
            position += 4
            while True:
                length = int.from_bytes(raw[position:position + 4], "big", signed=True)
                flags.append(pickle.loads(raw[position + 4:position + 4 + abs(length)])[3])  # the info tuple
                position += 4 + abs(length)
                if length < 0:
                    break
    return flags


@pytest.mark.parametrize(("chunk", "batch", "compress_above"),
                         [(1 << 16, 64, segments.COMPRESS_ABOVE), (7, 1, segments.COMPRESS_ABOVE),
                          (1 << 16, 1000, segments.COMPRESS_ABOVE), (1 << 16, 64, 1 << 30), (1 << 16, 64, 0)])
def test_a_built_segment_reads_back_like_whooshs(tmp_path, monkeypatch, chunk, batch, compress_above):
    # chunk: postings turned into objects at a time (all, or a few terms); batch: documents analysed at once;
    # compress_above: posting blocks compressed above the default size, never, or whenever smaller
    monkeypatch.setattr(segments, "CHUNK_POSTINGS", chunk)
    monkeypatch.setattr(segments, "COMPRESS_ABOVE", compress_above)
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


def test_a_segment_past_32768_documents_reads_back_like_whooshs(tmp_path):
    # Past 2**15 documents a VarBytesColumn (the url and stored-fields columns) also holds
    # every value's offset; few documents carry words, so Whoosh's writer takes a second.
    count = columns.OFFSETS_ABOVE + 232

    def sparse(n: int) -> dict:
        document = {"published": 1_600_000_000 + n, "payload": {"n": n}}
        if n % 500 == 0 or n == count - 1:
            document.update(url=f"https://example.com/{n}", kind="seed", title=f"word{n % 3} common")
        return document

    documents = [sparse(n) for n in range(count)]
    whoosh_made, ours = build_both(tmp_path, documents, batch=4096)
    assert ours == whoosh_made
    (url_column,) = (tmp_path / "ours").glob("*.url.col")
    assert url_column.read_bytes().endswith(b"IIX")  # the layout with offsets was written
    segment = segments.read(tmp_path / "ours")[0][0]
    urls = columns.bytes_column(tmp_path / "ours", segment, "url")
    assert [u.decode() for u in urls] == [d.get("url", "") for d in documents]
    published = columns.numeric_column(tmp_path / "ours", segment, "published", "q", 0)
    assert published.tolist() == [d["published"] for d in documents]


def test_deleting_by_url_looks_few_urls_up_and_scans_for_many_with_the_same_result(tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "LOOKUPS_PER_SCAN", 8)
    schema = build_schema()
    segments.create(tmp_path, schema)
    builder = SegmentBuilder(tmp_path, schema)
    builder.add_batch([doc(n) for n in range(200)])
    segment = builder.finish()
    segments.commit(tmp_path, schema, [segment], 1)
    wanted = {f"https://example.com/{n}" for n in (0, 7, 150, 199)}

    def deleted(urls: set[str]) -> list[int]:
        (fresh,), _ = segments.read(tmp_path, schema)  # an undeleted copy of the segment each time
        segments.delete_urls(tmp_path, schema, [fresh], urls)
        return sorted(fresh.deleted_docs())

    looked_up = deleted(wanted)  # 4 urls * 8 < 200 documents: each is looked up in the term table
    absent = {f"https://example.com/absent/{n}" for n in range(100)}
    scanned = deleted(wanted | absent)  # 104 * 8 >= 200: the url column is scanned
    assert looked_up == scanned == [0, 7, 150, 199]


@pytest.mark.parametrize("seed", range(6))
def test_the_url_column_scan_finds_the_documents_a_scan_url_by_url_finds(seed):
    """Urls short and long, empty, repeated, sharing their last bytes or differing only in their
    length: the scan by keys finds what testing each document's url against the set finds."""
    import random

    rng = random.Random(seed)
    pool = [b"", b"a", b"ab", b"https://x/1", b"https://y/1", b"xhttps://x/1", b"https://x/12345678", b"https://y/12345678",
            "https://x/é".encode(), b"\0" * 3]
    pool += [f"https://example.com/{rng.randrange(10**6)}".encode() for _ in range(40)]
    column = [rng.choice(pool) for _ in range(rng.randrange(1, 300))]
    for wanted in (set(rng.sample(pool, rng.randrange(1, 12))), {b"https://absent/1"}, set(pool)):
        data, bounds = segments._joined(column)
        found = segments._documents_with_urls(data.tobytes(), bounds, wanted, segments._url_keys(*segments._joined(sorted(wanted))))
        assert found == [d for d, url in enumerate(column) if url in wanted]


def test_a_missing_or_short_column_file_reads_as_the_default_for_the_documents_it_lacks(tmp_path):
    # Whoosh's own writer writes a numeric column only up to the last document given a value,
    # and no file at all when none was: the fallbacks for segments it wrote.
    schema = build_schema()
    builder = SegmentBuilder(tmp_path, schema)
    builder.add_batch([{"kind": "seed", "payload": {}} for _ in range(3)])  # no url, no date, no words
    segment = builder.finish()
    (published,) = tmp_path.glob("*.published.col")
    columns.write_numeric(published, np.array([42], dtype="q"))
    assert columns.numeric_column(tmp_path, segment, "published", "q", -5).tolist() == [42, -5, -5]
    published.unlink()
    assert columns.numeric_column(tmp_path, segment, "published", "q", -5).tolist() == [-5, -5, -5]
    assert columns.numeric_column(tmp_path, segment, columns.length_column("body"), "B", 0).tolist() == [0, 0, 0]
    for path in tmp_path.glob("*.url.col"):
        path.unlink()
    assert columns.bytes_column(tmp_path, segment, "url") == [b"", b"", b""]


def test_unique_values_go_through_whooshs_field_type_when_it_does_not_index_them_as_they_are(tmp_path):
    # The builder asks the url field once whether it indexes a value verbatim; a Whoosh whose ID
    # field changed would answer no, and every value then goes through the field type itself.
    schema = build_schema()
    documents = [doc(n, url=f"https://example.com/Ç/{n}") for n in range(150)]
    built = {}
    for name, verbatim in (("verbatim", True), ("analysed", False)):
        folder = tmp_path / name
        folder.mkdir()
        segments.create(folder, schema)
        builder = SegmentBuilder(folder, schema)
        assert builder._verbatim == {"url"}
        if not verbatim:
            builder._verbatim = set()
        builder.add_batch(documents)
        commit(folder, schema, [builder.finish()], 1)
        built[name] = contents(folder)
    assert built["analysed"] == built["verbatim"]


def test_the_builder_refuses_what_its_format_cannot_write(tmp_path):
    from whoosh import columns as whoosh_columns
    from whoosh import fields

    with pytest.raises(ValueError, match="field boosts are not supported"):
        SegmentBuilder(tmp_path, fields.Schema(title=fields.TEXT(field_boost=2.0)))
    with pytest.raises(ValueError, match="column type of tags is not supported"):
        SegmentBuilder(tmp_path, fields.Schema(tags=fields.COLUMN(whoosh_columns.RefBytesColumn())))


@pytest.mark.parametrize("positions", [[0], [5], [300], [3, 7], [1, 2, 3], [1, 2, 3, 4], [70_000, 2**24, 2**31 - 1],
                                       list(range(0, 3000, 3))])
def test_position_lists_are_written_as_bare_tuples_that_whooshs_decoder_reads(positions):
    from whoosh import formats

    fmt = formats.Positions()
    value = segments._encode_positions(positions)
    assert fmt.decode_positions(value) == positions
    assert fmt.decode_frequency(value) == len(positions)
    assert not value.endswith(b".")  # Whoosh's decoder adds the STOP it then expects
    assert len(value) < len(fmt.encode(positions))  # the point: 7 bytes instead of 14 for one small position


def test_stored_records_are_compressed_and_read_back_by_whooshs_reader(tmp_path):
    body = "The harbour district flooded after the storm, and the council met on Monday. " * 4
    documents = [doc(n, body=body, payload={"n": n, "body": body, "title": f"Article {n}"}) for n in range(50)]
    whoosh_made, ours = build_both(tmp_path, documents)
    assert ours["stored"] == whoosh_made["stored"]
    raw = sum(len(pickle.dumps({"payload": d["payload"]}, segments.BLOCK_PICKLE)) for d in documents)
    stored = sum(p.stat().st_size for p in (tmp_path / "ours").glob("*._stored.col"))
    assert stored < raw / 2


def test_posting_blocks_above_the_threshold_are_compressed_when_that_makes_them_smaller(tmp_path):
    # "common" fills three full blocks and a short one; "rare" words have one posting each.
    documents = [doc(n, body=f"common rare{n}") for n in range(400)]
    _, ours = build_both(tmp_path, documents)
    ix = whoosh_index.open_dir(str(tmp_path / "ours"))
    with ix.reader() as reader:
        info = reader.term_info("body", "common")
        _offset, length = info.extent()
    ix.close()
    flags = block_compressions(tmp_path / "ours")
    assert 1 in flags and 0 in flags  # the full blocks compressed, the tiny ones (one rare posting) not
    # "common"'s 400 postings (ids, weights and positions: 4 bytes each pickled) in under a byte each.
    assert (length[0] if isinstance(length, tuple) else length) < 400
    assert ours["terms"][("body", b"common")][1] == [(n, 1.0, [0]) for n in range(400)]


@pytest.mark.parametrize("size", [10, 70_000])  # one frame; past pickle's 64 KB frames
def test_stored_records_are_pickled_without_memo_or_frame_and_read_back_by_whooshs_reader(tmp_path, size):
    import pickletools

    shared = ["https://x/1", "A title"]  # the same list twice: written twice, read back equal
    payload = {"n": 1, "body": "word " * size, "related": [shared, shared], "published": None, "score": 1.5}
    record = segments._record({"payload": payload})
    opcodes = {op.name for op, _, _ in pickletools.genops(record)}
    assert not opcodes & {"MEMOIZE", "BINPUT", "LONG_BINPUT", "BINGET", "LONG_BINGET"}
    assert ("FRAME" in opcodes) == (size > 10_000)  # a frame is cut only where it is the whole pickle
    # Shorter than the default pickle for what payloads are: trees with nothing shared.
    tree = {**payload, "related": [["https://x/1", "A title"], ["https://x/2", "Another title"]]}
    assert len(segments._record({"payload": tree})) < len(pickle.dumps({"payload": tree}, segments.BLOCK_PICKLE))
    whoosh_made, ours = build_both(tmp_path, [doc(0, payload=payload), doc(1)])
    assert ours["stored"] == whoosh_made["stored"] == [{"payload": payload}, {"payload": doc(1)["payload"]}]


def test_url_postings_are_inlined_in_the_term_table_and_no_other_fields(tmp_path):
    documents = [doc(n, body=f"common hapax{n}") for n in range(3)]
    _, ours = build_both(tmp_path, documents)  # (reads back as Whoosh's writer's, which inlines nothing)
    ix = whoosh_index.open_dir(str(tmp_path / "ours"))
    with ix.reader() as reader:
        assert reader.term_info("url", b"https://example.com/1").is_inlined()
        assert list(reader.postings("url", b"https://example.com/1").all_ids()) == [1]
        assert not reader.term_info("body", "hapax1").is_inlined()  # a text term of one posting keeps its block
    ix.close()
