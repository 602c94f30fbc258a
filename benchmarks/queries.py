"""The benchmark's query set, drawn from the corpus itself.

Each query is a dict ``{"kind", "query", "topic", "since", "until"}`` (unused
filters are None).  The kinds stress different paths of a search engine:

``common``   one frequent content word: a huge match set to rank and count
``two``      two words of one real title, ANDed
``phrase``   a quoted adjacent pair of content words from one real title
``rare``     a word found in only a handful of documents
``topic``    a frequent word, filtered to one topic (popular ones come up most)
``date``     a frequent word, filtered to a date range of one month to two years
``known``    a planted known-item phrase (unquoted); scored by MRR@10

Words are taken as the corpus spells them; stop words and words under three
letters are never used alone, since engines are free to drop them.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from multiprocessing import Pool
from pathlib import Path

from seedfile import find_seeds, parse_seed

KINDS = ("common", "two", "phrase", "rare", "topic", "date")

# A broad English stop list (a superset of Whoosh's and of most engines'):
# no query word is one that some engine would silently ignore.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up us very was we were what when where which
while who whom why will with would yet you your yours yourself yourselves tbd may also
""".split())

_WORD = re.compile(r"[a-z]+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content(word: str) -> bool:
    return len(word) >= 3 and word not in STOP_WORDS


@dataclass(frozen=True, slots=True)
class Doc:
    title_words: tuple[str, ...]
    topics: tuple[str, ...]
    published: int | None


def corpus_stats(corpus: Path) -> tuple[Counter, list[Doc]]:
    """Document frequency of every word, and what the queries are drawn from per document."""
    df: Counter = Counter()
    docs: list[Doc] = []
    with Pool() as pool:
        for seed in pool.imap(parse_seed, find_seeds([corpus]), chunksize=64):
            if seed is None:
                continue
            df.update(set(words_of(f"{seed.title} {seed.excerpt} {seed.body}")))
            # One object per distinct word or topic, not one per occurrence:
            # 0.5 KB per document instead of 1.15 KB (tracemalloc, 10,000
            # seeds), under 0.5 GB at a million instead of over 1.1 GB.
            docs.append(Doc(tuple(map(sys.intern, words_of(seed.title))),
                            tuple(map(sys.intern, seed.topics)), seed.published))
    return df, docs


def build_queries(corpus: Path, per_kind: int, seed: int = 0,
                  known: list[dict] | None = None) -> list[dict]:
    """``per_kind`` queries of every kind, plus one ``known`` query per known item.

    Every query is built from one real document (its title words, topics and
    date), so it matches at least that document in any sane engine.
    """
    rng = random.Random(seed)
    df, docs = corpus_stats(corpus)
    excluded: set[str] = set()
    for item in known or ():
        excluded.update(words_of(item["query"]))  # planted words are not "real" vocabulary

    def usable(w: str) -> bool:
        return content(w) and w not in excluded

    by_df = [w for w, _ in df.most_common() if usable(w)]
    common = set(by_df[:300])
    top = by_df[:100]
    rare = sorted(w for w in by_df if 2 <= df[w] <= 5 and len(w) >= 5) or by_df[-100:]

    def doc_with(test) -> tuple[Doc, list]:
        """A random document and the non-empty list ``test`` picks from it."""
        for _ in range(10_000):
            doc = rng.choice(docs)
            found = test(doc)
            if found:
                return doc, found
        raise ValueError("corpus too small or too odd to draw queries from")

    def common_title_words(doc: Doc) -> list[str]:
        return [w for w in doc.title_words if w in common]

    def one(kind: str) -> dict:
        q = {"kind": kind, "query": "", "topic": None, "since": None, "until": None}
        if kind == "common":
            q["query"] = rng.choice(top)
        elif kind == "two":
            _doc, ws = doc_with(lambda d: len(set(filter(usable, d.title_words))) >= 2
                                and sorted(set(filter(usable, d.title_words))))
            q["query"] = " ".join(rng.sample(ws, 2))
        elif kind == "phrase":
            _doc, pairs = doc_with(lambda d: [(a, b) for a, b in zip(d.title_words, d.title_words[1:])
                                              if usable(a) and usable(b)])
            q["query"] = '"{} {}"'.format(*rng.choice(pairs))
        elif kind == "rare":
            q["query"] = rng.choice(rare)
        elif kind == "topic":
            doc, ws = doc_with(lambda d: d.topics and common_title_words(d))
            q["query"], q["topic"] = rng.choice(ws), rng.choice(doc.topics)
        elif kind == "date":
            doc, ws = doc_with(lambda d: d.published is not None and common_title_words(d))
            day = datetime.fromtimestamp(doc.published, timezone.utc).date()
            span = rng.randint(30, 730)
            since = day - timedelta(days=rng.randint(0, span))
            q["query"], q["since"] = rng.choice(ws), since.isoformat()
            q["until"] = (since + timedelta(days=span)).isoformat()
        return q

    queries = [one(kind) for kind in KINDS for _ in range(per_kind)]
    queries += [{"kind": "known", "query": item["query"], "topic": None, "since": None,
                 "until": None, "url": item["url"]} for item in known or ()]
    return queries


def write_queries(path: Path, queries: list[dict]) -> None:
    Path(path).write_text(json.dumps(queries, indent=1) + "\n", encoding="utf-8")


def read_queries(path: Path) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
