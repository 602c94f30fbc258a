"""The incremental index equals a fresh build of the same files, after any sequence of edits.

A Hypothesis state machine edits a seed folder the way feeds do (files added,
edited, deleted, renamed, moved between folders, urls swapped and rotated,
duplicate urls, a related article becoming a seed and back, files turning
bad and good again, a feed named by position shifting by one) and after
every incremental run compares the whole index with a fresh build: every
article's stored fields, the totals, hits and facet counts of a few
queries (collapsed and not), the near-duplicate clusters, and the spelling
vocabulary's words and counts. Urls come in several spellings of one
address, which the indexer must take as one (newssearch.urls).

One rule is history's only mark, and the model holds it: a file that stops
parsing while the index holds it keeps its last version (see
``indexing.KEPT``). The fresh build reads a mirror folder in which such a
file holds that version.

``NEWSSEARCH_SOAK=1`` runs many more and longer sequences.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from newssearch import index_seeds, indexing, open_index, store, workers
from newssearch.schema import build_schema
from newssearch.urls import normalize_url
from newssearch.vocab import Vocabulary

from .conftest import related, seed_text

SOAK = bool(os.environ.get("NEWSSEARCH_SOAK"))
FOLDERS = ("a", "b")
NAMES = tuple(f"{i:04d}.txt" for i in range(5))
URLS = tuple(f"https://news.example/{i}" for i in range(6))
# Other spellings of two of them (newssearch.urls): the same article to the indexer.
SPELLINGS = ("http://www.news.example/1/", "https://news.example/2?utm_source=feed&amp")
RELATED_URLS = URLS[3:] + ("https://other.example/r1", "https://other.example/r2")
WORDS = ("police", "council", "budget", "harbour", "election", "storm", "vaccine", "rocket")
TOPICS = ("Politics", "Weather", "Science", "Health")
BAD = ("", "---\ntitle: [broken\n---\n", "no front matter at all\n", "---\ntitle: no url\n---\n")
QUERIES = ("", "police", "council OR storm", '"budget harbour"', "-election", "related")


@st.composite
def contents(draw) -> str:
    """The text of a good seed: a url from a small pool (so that files collide), words, topics, related entries."""
    title = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)))
    entries = draw(st.lists(st.tuples(st.sampled_from(RELATED_URLS), st.sampled_from(WORDS)), max_size=2))
    return seed_text(
        title=title,
        url=draw(st.sampled_from(URLS + SPELLINGS)),
        excerpt=draw(st.sampled_from(WORDS)),
        topics=draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True)),
        published=f"20{draw(st.integers(10, 24))}-0{draw(st.integers(1, 9))}-15T12:00:00Z",
        related=[related(f"related {word}", url) for url, word in entries],
        body=draw(st.sampled_from(("", "storm over the harbour", "police budget"))),
    )


def url_of(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("webUrl: "):
            return line[len("webUrl: ") :]
    return None


class FeedFolder(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(self.tmp.mktemp("feed"))
        self.seeds = self.root / "seeds"
        self.mirror = self.root / "mirror"
        self.files: dict[str, str] = {}  # relative path -> text on disk
        self.kept: dict[str, str] = {}  # relative path of a bad file -> the last version the index held
        # What the last run indexed: the kept rule asks whether the index held a file
        # when it turned bad, not whether it would hold it half-way through one edit.
        self.indexed: dict[str, str] = {}
        self.indexed_holders: set[str] = set()
        self.clock = 1_600_000_000 * 10**9
        self.runs = 0

    tmp: pytest.TempPathFactory  # set by the test below

    # -- the model ------------------------------------------------------------

    def good(self, rel: str) -> bool:
        return url_of(self.files[rel]) is not None and self.files[rel] not in BAD

    def effective(self) -> dict[str, str]:
        """What a fresh build must read: each file, or the kept version of a bad one."""
        return {rel: self.kept.get(rel, text) for rel, text in self.files.items()}

    def holders(self) -> set[str]:
        """The files whose seed article the index holds: the first in path order of each url."""
        seen: dict[str, str] = {}
        for rel, text in sorted(self.effective().items()):
            url = url_of(text)
            if url is not None and text not in BAD:
                seen.setdefault(normalize_url(url), rel)
        return set(seen.values())

    def write(self, rel: str, text: str) -> None:
        was_held = rel in self.indexed_holders
        previous = self.indexed.get(rel)
        self.files[rel] = text
        if self.good(rel):
            self.kept.pop(rel, None)
        elif rel not in self.kept and was_held and previous is not None:
            self.kept[rel] = previous
        path = self.seeds / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.clock += 10**9  # every write is seen as a change, whatever the file system's clock
        os.utime(path, ns=(self.clock, self.clock))

    def remove(self, rel: str) -> None:
        del self.files[rel]
        self.kept.pop(rel, None)
        (self.seeds / rel).unlink()

    # -- edits ----------------------------------------------------------------

    @initialize(texts=st.lists(contents(), min_size=1, max_size=5))
    def start(self, texts: list[str]) -> None:
        for i, text in enumerate(texts):
            self.write(f"{FOLDERS[i % 2]}/{NAMES[i]}", text)

    @rule(folder=st.sampled_from(FOLDERS), name=st.sampled_from(NAMES), text=contents())
    def add_or_edit(self, folder: str, name: str, text: str) -> None:
        self.write(f"{folder}/{name}", text)

    @precondition(lambda self: self.files)
    @rule(data=st.data())
    def delete(self, data) -> None:
        self.remove(data.draw(st.sampled_from(sorted(self.files))))

    @precondition(lambda self: self.files)
    @rule(data=st.data(), folder=st.sampled_from(FOLDERS), name=st.sampled_from(NAMES))
    def rename_or_move(self, data, folder: str, name: str) -> None:
        source = data.draw(st.sampled_from(sorted(self.files)))
        target = f"{folder}/{name}"
        if target == source:
            return
        text = self.files[source]
        self.remove(source)
        self.write(target, text)

    @precondition(lambda self: len(self.files) >= 2)
    @rule(data=st.data())
    def swap_or_rotate_urls(self, data) -> None:
        """Two or three good files pass their urls round (a file keeps its other fields)."""
        good = [rel for rel in sorted(self.files) if self.good(rel)]
        if len(good) < 2:
            return
        chosen = data.draw(st.lists(st.sampled_from(good), min_size=2, max_size=3, unique=True))
        urls = [url_of(self.files[rel]) for rel in chosen]
        for rel, url in zip(chosen, urls[1:] + urls[:1]):
            self.write(rel, self.files[rel].replace(f"webUrl: {url_of(self.files[rel])}\n", f"webUrl: {url}\n"))

    @precondition(lambda self: self.files)
    @rule(data=st.data(), folder=st.sampled_from(FOLDERS), name=st.sampled_from(NAMES))
    def copy_a_url(self, data, folder: str, name: str) -> None:
        """A new or edited file takes the url of another: a duplicate, before or after it in path order."""
        source = data.draw(st.sampled_from(sorted(self.files)))
        url = url_of(self.files[source])
        if url is not None:
            self.write(f"{folder}/{name}", seed_text(title="copied police story", url=url, topics=["Politics"]))

    @precondition(lambda self: self.files)
    @rule(data=st.data(), url=st.sampled_from(RELATED_URLS[:3]))
    def related_becomes_seed(self, data, url: str) -> None:
        """A file takes a url that other seeds list as related (and a later edit can take it back)."""
        rel = data.draw(st.sampled_from(sorted(self.files)))
        self.write(rel, seed_text(title="related story now a seed", url=url, topics=["Science"]))

    @precondition(lambda self: self.files)
    @rule(data=st.data(), bad=st.sampled_from(BAD))
    def turn_bad(self, data, bad: str) -> None:
        self.write(data.draw(st.sampled_from(sorted(self.files))), bad)

    @precondition(lambda self: any(not self.good(rel) for rel in self.files))
    @rule(data=st.data(), text=contents())
    def turn_good(self, data, text: str) -> None:
        self.write(data.draw(st.sampled_from(sorted(rel for rel in self.files if not self.good(rel)))), text)

    @precondition(lambda self: len([rel for rel in self.files if rel.startswith("a/")]) >= 2)
    @rule(text=contents())
    def feed_shifts_by_one(self, text: str) -> None:
        """A feed named by position: the oldest drops out, every file takes its successor's text."""
        names = sorted(rel for rel in self.files if rel.startswith("a/"))
        texts = [self.files[rel] for rel in names[1:]] + [text]
        for rel, new in zip(names, texts):
            self.write(rel, new)

    # -- the check ------------------------------------------------------------

    @invariant()
    def incremental_equals_fresh(self) -> None:
        if not self.files:
            return
        # Every other run in worker processes, batches of two files: the decisions
        # must not depend on which process read what.
        index_seeds([self.seeds], self.root / "incremental", workers=1 + self.runs % 2)
        self.indexed, self.indexed_holders = self.effective(), self.holders()
        shutil.rmtree(self.mirror, ignore_errors=True)
        for rel, text in self.effective().items():
            (self.mirror / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.mirror / rel).write_text(text, encoding="utf-8")
        fresh = self.root / f"fresh-{self.runs}"
        self.runs += 1
        index_seeds([self.mirror], fresh, workers=1)
        assert snapshot(self.root / "incremental", self.seeds) == snapshot(fresh, self.mirror)
        assert stored_owners_are_found_ones(self.root / "incremental") and stored_owners_are_found_ones(fresh)
        shutil.rmtree(fresh)
        again = index_seeds([self.seeds], self.root / "incremental", workers=1)
        assert not again.written, "an unchanged folder wrote a new generation"


def stored_owners_are_found_ones(index_dir) -> bool:
    """Whether the owners stored in the live generation's related urls are what owners() finds
    from its manifest (the reference they cache)."""
    gen = store.live_generation(index_dir)
    paths, _, _, urls, states, _ = indexing._load_manifest(gen).columns
    related_paths, related, stored = store.load_related_columns(gen)
    assert related_paths == paths and stored is not None
    return indexing.stored_owners(paths, urls, related, stored) == indexing.owners(paths, urls, states, related)


def snapshot(index_dir: Path, root: Path) -> dict:
    """Everything a user can see of an index, with paths relative to the seed folder."""
    from whoosh import index as whoosh_index

    prefix = str(root) + os.sep

    def relative(value):
        if isinstance(value, str):
            return value.replace(prefix, "")
        if isinstance(value, list):
            return [relative(v) for v in value]
        if isinstance(value, dict):
            return {k: relative(v) for k, v in value.items()}
        return value

    with open_index(index_dir) as ix:
        searches = {}
        for query in QUERIES:
            results = ix.search(query, limit=100, facet_limit=100, fuzzy=False)
            searches[query] = (
                results.total,
                sorted((h.url, h.title, relative(h.path), h.kind, h.related_to, h.similar_count, h.similar_providers)
                       for h in results.hits),
                results.facets,
            )
            every = ix.search(query, limit=100, facet_limit=100, fuzzy=False, collapse=False)
            searches[query + " (every copy)"] = (every.total, sorted(h.url for h in every.hits), every.facets)
        stats = ix.stats(limit=100)
        urls = [h.url for h in ix.search("", limit=1000, collapse=False).hits]
        # Near-duplicate clusters: each article's other members, by url (docnums differ between the two).
        clusters = {url: sorted(d.url for d in ix.get(url).duplicates) for url in urls}
    ix = whoosh_index.open_dir(str(store.live_generation(index_dir)), schema=build_schema())
    with ix.reader() as reader:
        stored = sorted((relative(fields["payload"]) for _, fields in reader.iter_docs()), key=lambda p: (p["url"], p["kind"]))
    ix.close()
    vocabulary = Vocabulary.load(store.live_generation(index_dir)).counts
    return {
        "stored": stored,
        "searches": searches,
        "counts": (stats.articles, stats.seeds, stats.related),
        "clusters": clusters,
        "vocabulary": vocabulary,  # what typo corrections and wildcards draw on
    }


def test_the_incremental_index_equals_a_fresh_build(tmp_path_factory, monkeypatch):
    monkeypatch.setattr(workers, "PARALLEL_THRESHOLD", 2)
    monkeypatch.setattr(workers, "PARSE_BATCH", 2)
    FeedFolder.tmp = tmp_path_factory
    run = FeedFolder.TestCase
    run.settings = settings(
        max_examples=300 if SOAK else 15,
        stateful_step_count=20 if SOAK else 8,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    run().runTest()
