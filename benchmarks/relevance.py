"""The relevance set: graded judgments on a generated corpus with planted ground truth.

    python benchmarks/relevance.py [--small] [--seed S] [--base N] [--per-class K]
                                   [--recency 30d] [--workdir DIR] [--out FILE]
                                   [--markdown FILE] [--label TEXT]

Writes a corpus (filler seeds from ``make_corpus.py``, plus planted articles
whose relevance to each query is known by construction), builds it with
newssearch and with the SQLite FTS5 baseline (``sqlite_baseline.py``), runs
every query in every configuration and reports nDCG@10 and MRR per query
class and overall. The same arguments give the same corpus, queries and
judgments (one ``random.Random(seed)``; ``wordfreq`` and Snowball data fixed by
the test extra's pins).

Configurations: ``sqlite`` (FTS5's bm25), ``bm25`` (newssearch with every
feature off), one configuration per feature turned on alone (``collapse``,
``recency``, ``synonyms``, ``similar``), and ``all`` of them together. Each
feature is switched by the library's own parameter
(``IndexSearcher.search(collapse=, recency=, now=)``,
``open_index(synonyms=)``, ``IndexSearcher.similar(url)``); a library without
that parameter reports the configuration as "not available", so one run
after a merge measures whatever the installed newssearch has. To compare two
versions of newssearch, run this twice with ``PYTHONPATH=<checkout>/search``
(the JSON records which newssearch answered).

Query classes (README.md in this folder has the details):

* ``known``: a unique article the user remembers three words of;
  ``known-typo``: the same with one word mistyped; ``known-inflection``: one
  word in another inflection than the article's ("elections" / "election").
* ``stemmer``: a word whose stem Whoosh's Porter2 port and Snowball's current
  English stemmer disagree about, with a hand-made judgment of which forms are
  the same word (``SENSES``): a related form in the article is relevant, an
  unrelated one ("universe" for "university") is a decoy.
* ``duplicates``: a story syndicated under several providers and url forms
  (tracking parameters, AMP, ``www.``, trailing slash), plus weaker distinct
  articles on it.
* ``synonyms``: the article says "United States", the query "US" (and the
  other way round; UK, EU, UN, AI).
* ``fresh``: versions of a running story a few days, about a year and about
  seven years old, the oldest the strongest text match; the query asks for the
  news, so the freshest is graded 3, the middle 2, the oldest 1.
* ``topical``: two topic words; planted articles graded 3 (about it: title,
  excerpt and body), 2 (excerpt), 1 (a passing mention in the body), and a
  syndicated copy of one of the best.
* ``similar``: more like this from one article of a planted cluster: the
  others in the cluster are relevant, its own syndicated copy is not (it is
  the same story). Measured only where ``similar`` exists.

Metrics. nDCG@10 with gain ``2**grade - 1`` and discount ``log2(rank + 1)``,
normalised by the ideal ranking of the judged stories. Duplicates are judged
redundant, as novelty-aware nDCG does: every copy of a story (the same
article under another url or provider) belongs to one story, and only the
highest-ranked copy gains; the others count 0. The ideal ranking holds each
story once. MRR is the reciprocal rank of the first hit of the query's best
grade within the top 10 (0 when absent). Overall figures are the mean over all
queries of the configuration.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import random
import shutil
import sqlite3
import sys
import time
from collections import defaultdict
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_corpus  # noqa: E402
import sqlite_baseline  # noqa: E402

K = 10  # the cut-off of nDCG and MRR: one results page
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)  # "now" of the fresh class: the day after the corpus's last
CLASSES = ("known", "known-typo", "known-inflection", "stemmer", "duplicates", "synonyms", "fresh", "topical", "similar")
CONFIGS = ("sqlite", "bm25", "collapse", "recency", "synonyms", "similar", "all")
MARK_START = "<!-- relevance-results:start -->"
MARK_END = "<!-- relevance-results:end -->"


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------


@dataclass
class Judged:
    """One query with its judgments: a grade (0-3) per story, and the story of each judged url."""

    cls: str
    query: str
    grades: dict[str, int]  # story id -> grade
    story_of: dict[str, str]  # normalised url -> story id
    source: str = ""  # the similar class: the url whose like is asked for

    def to_json(self) -> dict:
        return {"class": self.cls, "query": self.query, "source": self.source, "grades": self.grades,
                "story_of": self.story_of}


def gains(ranked_urls: list[str], judged: Judged, k: int = K) -> list[float]:
    """The gain of each of the top k hits: ``2**grade - 1`` for a story's first copy, 0 for a later copy or an unjudged url."""
    seen: set[str] = set()
    out = []
    for url in ranked_urls[:k]:
        story = judged.story_of.get(normalise_url(url))
        if story is None or story in seen:
            out.append(0.0)
            continue
        seen.add(story)
        out.append(float(2 ** judged.grades.get(story, 0) - 1))
    return out


def dcg(values: list[float]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(values, start=1))


def ndcg(ranked_urls: list[str], judged: Judged, k: int = K) -> float:
    """nDCG@k, duplicates redundant (see the module docstring); 0 for a query without a relevant story."""
    ideal = dcg(sorted((float(2**g - 1) for g in judged.grades.values()), reverse=True)[:k])
    return dcg(gains(ranked_urls, judged, k)) / ideal if ideal > 0 else 0.0


def reciprocal_rank(ranked_urls: list[str], judged: Judged, k: int = K) -> float:
    """1/rank of the first hit of the best grade among the judged stories, within the top k; else 0."""
    best = max(judged.grades.values(), default=0)
    if best <= 0:
        return 0.0
    for rank, url in enumerate(ranked_urls[:k], start=1):
        story = judged.story_of.get(normalise_url(url))
        if story is not None and judged.grades.get(story, 0) == best:
            return 1.0 / rank
    return 0.0


_TRACKING = ("utm_", "fbclid", "gclid", "mc_", "ref", "cmpid", "ocid")


def normalise_url(url: str) -> str:
    """A url's identity for judging: scheme, ``www.``, AMP markers, tracking parameters, fragment and trailing slash off.

    The harness's own, so that judging owes nothing to the code judged: two
    copies of an article under these variants are one article.
    """
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = "/" + "/".join(p for p in parts.path.split("/") if p and p.lower() != "amp")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(_TRACKING) and k != "amp"])
    return urlunsplit(("", host, path.rstrip("/") or "/", query, ""))


# --------------------------------------------------------------------------
# Planted ground truth
# --------------------------------------------------------------------------

# Forms of news words (base form, another inflection). Hand-made rather than
# suffixes glued on ("new" and "news" are not one word); a few irregular ones
# (crises, children) that no suffix stemmer joins.
INFLECTIONS = [
    ("election", "elections"), ("vote", "voted"), ("voting", "votes"), ("tariff", "tariffs"), ("company", "companies"),
    ("court", "courts"), ("negotiation", "negotiations"), ("negotiate", "negotiating"), ("strike", "strikes"),
    ("investigate", "investigated"), ("investigation", "investigations"), ("policy", "policies"),
    ("agreement", "agreements"), ("announce", "announced"), ("arrest", "arrested"), ("attack", "attacks"),
    ("ban", "banned"), ("budget", "budgets"), ("candidate", "candidates"), ("city", "cities"), ("decline", "declining"),
    ("deploy", "deployed"), ("economy", "economies"), ("emission", "emissions"), ("factory", "factories"),
    ("flood", "flooding"), ("injure", "injured"), ("investor", "investors"), ("launch", "launched"),
    ("lawmaker", "lawmakers"), ("merger", "mergers"), ("minister", "ministers"), ("official", "officials"),
    ("price", "prices"), ("protest", "protested"), ("rally", "rallies"), ("reform", "reforms"),
    ("regulate", "regulated"), ("regulator", "regulators"), ("rescue", "rescued"), ("resign", "resigned"),
    ("sanction", "sanctions"), ("shortage", "shortages"), ("storm", "storms"), ("study", "studies"),
    ("subsidy", "subsidies"), ("threaten", "threatened"), ("warn", "warned"), ("worker", "workers"),
    ("wildfire", "wildfires"), ("crisis", "crises"), ("child", "children"),
]

# Which words are one word for a reader, as news uses them: words in one group
# are related, words in two groups are not. It covers the words whose stem
# Whoosh's Porter2 port and Snowball's current English stemmer disagree about
# among wordfreq's 50,000 most frequent English words, and the words those
# meet; a pair with a word outside every group is not asked.
_OLOGY = ("anthropolog archaeolog biolog cardiolog dermatolog ecolog entomolog geolog gynecolog meteorolog "
          "neurolog oncolog ophthalmolog patholog psycholog radiolog sociolog").split()
SENSES = [
    "add added adding adds", "ad ads", "eff effing", "ef", "epp epps", "epping", "ep eps", "err erred errs", "er ers",
    "emerge emerged emerges emerging emergence emergent", "emergency emergencies",
    "even evens evenly", "evening evenings", "inter interred interment", "intern interns", "interned internment",
    "internal internally internals internalized", "international internationally internationals",
    "later", "lateral laterally", "of", "off offs", "offing",
    "organ organs", "organic organically organics", "organism organisms",
    "organization organizations organizational organize organized organizer organizers organizes organizing",
    "past pasts", "paste pasted pasting", "universe universes", "universal universally universality",
    "university universities", "apology apologies apologize apologized apologizes apologizing",
    "apologist apologists", "interfere interfered interferes interfering interference", "vie vying",
    "technology technologies technological technologically technologist technologists",
] + [f"{s}y {s}ist {s}ists {s}ical {s}ically {s}ic" for s in _OLOGY]
SENSE_OF = {word: i for i, group in enumerate(SENSES) for word in group.split()}

# Abbreviation and spelled-out form, as the shipped synonyms list has them.
SYNONYMS = [("US", "United States"), ("UK", "United Kingdom"), ("EU", "European Union"), ("UN", "United Nations"),
            ("AI", "artificial intelligence")]


@lru_cache(maxsize=2)
def stemmer_pairs(top: int = 50_000) -> tuple[tuple[str, str, bool, float], ...]:
    """Word pairs that exactly one of Porter2 (Whoosh) and Snowball English gives one stem: (a, b, related, weight).

    Both stemmers are run here from their own packages (Whoosh's port, and
    Snowball's pure-Python one), so the set is the same whichever newssearch
    is measured. The weight ``f(a) * f(b)`` is how often the pair meets in
    queries and text (as ``stemming_rules.py`` weighs pairs).
    """
    from snowballstemmer.english_stemmer import EnglishStemmer
    from whoosh.lang.porter2 import stem as porter2
    from wordfreq import top_n_list, word_frequency

    snowball = EnglishStemmer()
    words = [w for w in top_n_list("en", top) if w.isascii() and w.isalpha()]
    old = {w: porter2(w) for w in words}
    new = {w: snowball.stemWord(w) for w in words}
    by_old, by_new = defaultdict(set), defaultdict(set)
    for w in words:
        by_old[old[w]].add(w)
        by_new[new[w]].add(w)
    pairs = set()
    for w in words:
        if old[w] != new[w]:
            for other in by_old[old[w]] ^ by_new[new[w]]:
                pairs.add(tuple(sorted((w, other))))
    out = []
    for a, b in sorted(pairs):
        if a in SENSE_OF and b in SENSE_OF:
            out.append((a, b, SENSE_OF[a] == SENSE_OF[b], word_frequency(a, "en") * word_frequency(b, "en")))
    return tuple(out)


def weighted_sample(rng: random.Random, items: list, weights: list[float], k: int) -> list:
    """k items without replacement, each drawn in proportion to its weight (Efraimidis and Spirakis)."""
    # The key u ** (1 / w), as its logarithm: weights of 1e-12 would round every key to 0.
    keyed = sorted(((math.log(1.0 - rng.random()) / w, i) for i, w in enumerate(weights) if w > 0), reverse=True)
    return [items[i] for _key, i in keyed[:k]]


@dataclass
class Article:
    """A planted article: what goes into its seed file."""

    title: list[str]
    excerpt: list[str]
    body: list[str] = field(default_factory=list)
    when: datetime | None = None
    provider: tuple[str, str] | None = None
    url: str = ""
    topics: list[str] | None = None  # None: drawn as make_corpus.py draws them


class Planter:
    """Plants articles and their judged queries beside a filler corpus."""

    def __init__(self, seed: int, per_class: int):
        self.gen = make_corpus.CorpusGenerator(seed)
        self.rng = self.gen.rng
        self.per_class = per_class
        self.articles: list[Article] = []
        self.queries: list[Judged] = []
        self._stories = 0
        vocab = self.gen.vocabulary.words
        # Words a user remembers: neither rare nor common (ranks 3,000-15,000), no
        # word whose stem the two stemmers disagree about, none used twice.
        from snowballstemmer.english_stemmer import EnglishStemmer
        from whoosh.lang.porter2 import stem as porter2

        self._porter2, self._snowball = porter2, EnglishStemmer()
        taken = {w for pair in INFLECTIONS for w in pair} | set(SENSE_OF) | {"us", "uk", "eu", "un", "ai"}
        self._memorable = [w for w in vocab[3000:15000] if len(w) >= 5 and w not in taken and len(self.stems(w)) == 1]
        self.rng.shuffle(self._memorable)

    # -- pieces ------------------------------------------------------------

    def memorable(self, n: int) -> list[str]:
        out, self._memorable = self._memorable[:n], self._memorable[n:]
        return out

    def filler(self, lo: int, hi: int) -> list[str]:
        return self.gen.words(lo, hi)

    def filler_without(self, lo: int, hi: int, stems: set[str]) -> list[str]:
        """Random words, but none with one of these stems (by either stemmer)."""
        return [w for w in self.filler(lo, hi) if not stems & self.stems(w)]

    def story(self) -> str:
        self._stories += 1
        return f"s{self._stories}"

    def place(self, words: list[str], planted: list[str], lo: int = 0) -> list[str]:
        out = list(words)
        for w in planted:
            out.insert(self.rng.randint(lo, len(out)), w)
        return out

    def add(self, article: Article) -> Article:
        gen = self.gen
        if article.when is None:
            article.when = gen.moment()
        if article.provider is None:
            article.provider = gen.provider()
        if not article.url:
            slug = make_corpus.slugify(article.title)
            article.url = gen.url(article.provider[1], article.when, slug, f"p{len(self.articles)}")
        self.articles.append(article)
        return article

    def judge(self, cls: str, query: str, graded: list[tuple[list[Article], int]], source: str = "") -> None:
        """A query, and per story (its copies) a grade."""
        grades, story_of = {}, {}
        for copies, grade in graded:
            story = self.story()
            grades[story] = grade
            for a in copies:
                story_of[normalise_url(a.url)] = story
        self.queries.append(Judged(cls, query, grades, story_of, source))

    def copy(self, original: Article, variant: int) -> Article:
        """Another copy of a story: another provider (or the same), another url form, the excerpt barely edited."""
        when = original.when + timedelta(minutes=self.rng.randint(5, 600))
        name, domain = self.gen.provider() if variant else original.provider
        path = urlsplit(original.url).path
        if variant == 0:  # the same article, linked with tracking parameters
            url = original.url + "?utm_source=newsletter&utm_medium=email&utm_campaign=daily"
        elif variant == 1:
            url = f"https://www.{domain}/amp{path}"
        elif variant == 2:
            url = f"https://{domain}{path}/"
        else:
            url = f"https://www.{domain}{path}?utm_source=rss&ref=feed#top"
        excerpt = list(original.excerpt)
        excerpt[self.rng.randrange(len(excerpt))] = self.gen.vocabulary.sample(self.rng, 1)[0]
        return self.add(Article(list(original.title), excerpt, list(original.body), when, (name, domain), url))

    # -- the classes ---------------------------------------------------------

    def known(self) -> None:
        """Known items, exact, with a typo, with another inflection."""
        for _n in range(self.per_class):
            words = self.memorable(3)
            target = self.add(Article(self.place(self.filler(7, 11), words), self.filler(25, 40), self.filler(0, 80)))
            self.judge("known", " ".join(self.rng.sample(words, 3)), [([target], 3)])
        for _n in range(self.per_class):
            words = self.memorable(3)
            target = self.add(Article(self.place(self.filler(7, 11), words), self.filler(25, 40), self.filler(0, 80)))
            typo = list(words)
            i = max(range(3), key=lambda j: len(typo[j]))
            typo[i] = self.mistype(typo[i])
            self.judge("known-typo", " ".join(typo), [([target], 3)])
        forms = self.rng.sample(INFLECTIONS, min(self.per_class, len(INFLECTIONS)))
        for base, other in forms:
            written, asked = (base, other) if self.rng.random() < 0.5 else (other, base)
            words = self.memorable(2)
            stems = self.stems(base) | self.stems(other)
            title, excerpt = self.filler_without(7, 11, stems), self.filler_without(25, 40, stems)
            target = self.add(Article(self.place(title, [written, *words]), excerpt))
            self.judge("known-inflection", " ".join(self.rng.sample([asked, *words], 3)), [([target], 3)])

    def mistype(self, word: str) -> str:
        """One slip: two inner letters swapped, or one dropped (a word the vocabulary does not hold)."""
        for _ in range(20):
            i = self.rng.randint(1, len(word) - 3)
            if self.rng.random() < 0.5 and word[i] != word[i + 1]:
                typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            else:
                typo = word[:i] + word[i + 1 :]
            if typo not in self.gen.vocabulary.known:
                return typo
        return word[:-1]

    def stemmer(self, pairs: tuple[tuple[str, str, bool, float], ...]) -> None:
        """A related form in the article is relevant; an unrelated one is a decoy that must not outrank the article."""
        chosen = weighted_sample(self.rng, pairs, [p[3] for p in pairs], self.per_class)
        for a, b, related, _weight in chosen:
            asked, other = (a, b) if self.rng.random() < 0.5 else (b, a)
            words = self.memorable(2)
            # Only the planted forms may match the word asked: no "of" among the random words of an
            # article planted for "of" and "offing", under either stemmer.
            stems = self.stems(a) | self.stems(b)

            def filler(lo: int, hi: int, stems: set[str] = stems) -> list[str]:
                return self.filler_without(lo, hi, stems)

            if related:  # the article says it another way
                target = self.add(Article(self.place(filler(7, 11), [other, *words]), filler(25, 40)))
                self.judge("stemmer", " ".join([asked, *words]), [([target], 3)])
            else:  # the article says it; a decoy says the look-alike, in its title
                target = self.add(Article(filler(8, 12), self.place(filler(25, 40), [asked, *words])))
                decoy = self.add(Article(self.place(filler(7, 11), [other, *words]), filler(25, 40)))
                self.judge("stemmer", " ".join([asked, *words]), [([target], 3), ([decoy], 0)])

    def stems(self, word: str) -> set[str]:
        """The word's stems by both stemmers."""
        return {self._porter2(word), self._snowball.stemWord(word)}

    def duplicates(self) -> None:
        """A story under several urls and providers, and weaker distinct articles on it."""
        for _n in range(self.per_class):
            words = self.memorable(3)
            story = self.add(Article(self.place(self.filler(7, 11), words), self.place(self.filler(25, 40), words[:2]),
                                     self.filler(40, 100)))
            copies = [story] + [self.copy(story, v) for v in range(self.rng.randint(3, 5))]
            second = self.add(Article(self.filler(8, 12), self.place(self.filler(25, 40), words), self.filler(20, 60)))
            third = self.add(Article(self.filler(8, 12), self.filler(25, 40), self.place(self.filler(40, 100), words)))
            self.judge("duplicates", " ".join(words), [(copies, 3), ([second], 2), ([third], 1)])

    def synonyms(self) -> None:
        for n in range(self.per_class):
            short, long = SYNONYMS[n % len(SYNONYMS)]
            written, asked = (long, short) if n % 2 == 0 else (short, long)
            words = self.memorable(2)
            # The article says one form only: no "us" (or "united") of its random words may stand in for the other.
            either = {w.lower() for w in (short, *long.split())}
            title, excerpt = ([w for w in self.filler(lo, hi) if w not in either] for lo, hi in ((7, 11), (25, 40)))
            topics = [t for t in self.gen.topics() if not either & set(t.lower().split())]  # no topic "AI" either
            target = self.add(Article(self.place(title, [written, *words]), excerpt, topics=topics or ["Diplomacy"]))
            # ("United States" goes in as one piece: its words side by side, as a phrase finds them.)
            graded = [([target], 3)]
            if asked == "US":  # "us" the pronoun, with the same two words: not about the country
                decoy = self.add(Article(self.place(self.filler(7, 11), words), self.place(self.filler(25, 40), ["us"])))
                graded.append(([decoy], 0))
            self.judge("synonyms", " ".join([asked, *words]), graded)

    def fresh(self) -> None:
        """Three versions of a running story; the oldest is the strongest match, the freshest the news."""
        for _n in range(self.per_class):
            words = self.memorable(3)
            ages = (timedelta(days=self.rng.randint(1, 10)), timedelta(days=self.rng.randint(300, 500)),
                    timedelta(days=self.rng.randint(2200, 3000)))
            versions = []
            for k, age in enumerate(ages):  # k = 0 fresh: words once; 2 stale: in title, excerpt and body
                excerpt = self.place(self.filler(25, 40), words if k >= 1 else [])
                body = self.place(self.filler(40, 100), words if k >= 2 else [])
                versions.append(self.add(Article(self.place(self.filler(7, 11), words), excerpt, body, NOW - age)))
            self.judge("fresh", " ".join(words), [([versions[0]], 3), ([versions[1]], 2), ([versions[2]], 1)])

    def topical(self) -> None:
        for _n in range(self.per_class):
            words = self.memorable(2)
            graded = []
            for grade, count in ((3, 2), (2, 3), (1, 3)):
                for _ in range(count):
                    if grade == 3:
                        a = Article(self.place(self.filler(7, 11), words), self.place(self.filler(25, 40), words),
                                    self.place(self.filler(60, 120), words * 2))
                    elif grade == 2:
                        a = Article(self.filler(8, 12), self.place(self.filler(25, 40), words), self.filler(20, 80))
                    else:
                        a = Article(self.filler(8, 12), self.filler(25, 40), self.place(self.filler(80, 120), words, lo=20))
                    article = self.add(a)
                    copies = [article, self.copy(article, 1)] if grade == 3 and not graded else [article]
                    graded.append((copies, grade))
            self.judge("topical", " ".join(words), graded)

    def similar(self) -> None:
        """A cluster of articles on one subject (sharing words of six); more like one of them."""
        for _n in range(self.per_class):
            subject = self.memorable(6)
            members = []
            for _ in range(5):
                shared = self.rng.sample(subject, 4)
                members.append(self.add(Article(self.place(self.filler(6, 9), shared[:2]),
                                                self.place(self.filler(25, 40), shared), self.filler(20, 60))))
            source = members[0]
            own_copy = self.copy(source, 1)
            graded = [([source, own_copy], 0)] + [([m], 2) for m in members[1:]]
            self.judge("similar", "", graded, source=source.url)

    # -- writing -------------------------------------------------------------

    def write(self, out: Path, base: int) -> None:
        """The filler seeds, then the planted ones, as ``make_corpus.py`` writes them."""
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        plain = make_corpus.Plan()
        for i in range(base):
            name, _url, text = self.gen.article(i, plain)
            (out / name).write_text(text, encoding="utf-8", newline="")
        for j, a in enumerate(self.articles):
            i = base + j
            (out / f"{i:06d}_{i:016x}.txt").write_text(self.render(a), encoding="utf-8", newline="")

    def render(self, a: Article) -> str:
        gen, rng = self.gen, self.rng
        name, domain = a.provider
        slug = make_corpus.slugify(a.title)
        title = make_corpus.sentence(a.title)
        doc = {
            "category": "news", "title": title, "excerpt": make_corpus.prose(rng, a.excerpt, tuple(a.excerpt)),
            "publishedDateTime": a.when, "webUrl": a.url, "type": "article", "quality": rng.randint(0, 100),
            "heat": -1, "published": True, "provider": {"name": name, "domain": domain},
            "topics": gen.topics() if a.topics is None else a.topics,
            "images": [gen.image(domain, a.when, slug, title)], "related": [], "secured": gen.secured(),
        }
        body = make_corpus.prose(rng, a.body, tuple(a.body)) if a.body else ""
        return make_corpus.render(doc, body)


def plant(out: Path, seed: int, base: int, per_class: int) -> list[Judged]:
    """Write the corpus into ``out`` and return its judged queries."""
    planter = Planter(seed, per_class)
    planter.known()
    planter.stemmer(stemmer_pairs())
    planter.duplicates()
    planter.synonyms()
    planter.fresh()
    planter.topical()
    planter.similar()
    planter.write(out, base)
    return planter.queries


# --------------------------------------------------------------------------
# The engines and their configurations
# --------------------------------------------------------------------------


def features() -> dict[str, str | None]:
    """For each feature, None when the installed newssearch has it, else why not."""
    import newssearch
    from newssearch.searching import IndexSearcher

    search = inspect.signature(IndexSearcher.search).parameters
    opener = inspect.signature(newssearch.open_index).parameters
    missing = {
        "collapse": "collapse" not in search,
        "recency": "recency" not in search or "now" not in search,
        "synonyms": "synonyms" not in opener,
        "similar": not callable(getattr(IndexSearcher, "similar", None)),
    }
    where = {"collapse": "IndexSearcher.search(collapse=)", "recency": "IndexSearcher.search(recency=, now=)",
             "synonyms": "open_index(synonyms=)", "similar": "IndexSearcher.similar(url)"}
    return {name: (f"not available: this newssearch has no {where[name]}" if gone else None) for name, gone in missing.items()}


@contextmanager
def no_synonyms_variable():
    """The shipped synonyms list, whatever ``$NEWSSEARCH_SYNONYMS`` says in the shell running the benchmark."""
    saved = os.environ.pop("NEWSSEARCH_SYNONYMS", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["NEWSSEARCH_SYNONYMS"] = saved


def config_features(config: str) -> set[str]:
    return {"bm25": set(), "all": {"collapse", "recency", "synonyms", "similar"}}.get(config, {config})


def run_newssearch(index_dir: Path, queries: list[Judged], config: str, available: dict, recency: str) -> dict[int, list[str]]:
    """The ranked urls of every query this configuration can answer, by query number."""
    import newssearch

    on = {f for f in config_features(config) if available[f] is None}
    opener_args = {}
    if available["synonyms"] is None and "synonyms" not in on:
        opener_args["synonyms"] = None
    search_args: dict = {"limit": K, "facet_limit": 0}
    if available["collapse"] is None:
        search_args["collapse"] = "collapse" in on
    if available["recency"] is None and "recency" in on:
        search_args.update(recency=recency, now=NOW)
    answers = {}
    with no_synonyms_variable(), newssearch.open_index(index_dir, **opener_args) as ix:
        for n, q in enumerate(queries):
            if q.cls == "similar":
                if "similar" not in on:
                    continue
                results = ix.similar(q.source, limit=K)
            else:
                results = ix.search(q.query, **search_args)
            answers[n] = [h.url for h in results.hits]
    return answers


def run_sqlite(db: Path, queries: list[Judged]) -> dict[int, list[str]]:
    answers = {}
    with closing(sqlite_baseline.connect(db)) as con:
        for n, q in enumerate(queries):
            if q.cls != "similar":
                answers[n] = [url for url, _title, _score in sqlite_baseline.search(con, q.query, limit=K, facet_limit=0).hits]
    return answers


def score(queries: list[Judged], answers: dict[int, list[str]]) -> dict:
    """Mean nDCG@10 and MRR per class and overall, and the per-query figures."""
    per_class: dict[str, list[tuple[float, float]]] = defaultdict(list)
    per_query = {}
    for n, urls in answers.items():
        q = queries[n]
        figures = (ndcg(urls, q), reciprocal_rank(urls, q))
        per_class[q.cls].append(figures)
        per_query[n] = figures
    every = [f for values in per_class.values() for f in values]
    summary = {cls: {"ndcg": mean(v[0] for v in values), "mrr": mean(v[1] for v in values), "queries": len(values)}
               for cls, values in per_class.items()}
    # Overall: the classes every configuration answers (the similar class only some do).
    common = [f for cls, values in per_class.items() if cls != "similar" for f in values]
    summary["overall"] = {"ndcg": mean(v[0] for v in common), "mrr": mean(v[1] for v in common), "queries": len(common)}
    return {"classes": summary, "per_query": per_query, "answered": len(every)}


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def table(results: dict) -> str:
    configs = [c for c in CONFIGS if c in results["configs"]]
    lines = ["| class | queries | " + " | ".join(configs) + " |", "| --- | ---: | " + " | ".join("---:" for _ in configs) + " |"]
    rows = [c for c in CLASSES if any(c in (results["configs"][x].get("classes") or {}) for x in configs)] + ["overall"]
    for cls in rows:
        count = next((results["configs"][x]["classes"][cls]["queries"] for x in configs
                      if cls in (results["configs"][x].get("classes") or {})), 0)
        cells = []
        for x in configs:
            entry = results["configs"][x]
            if entry.get("unavailable"):
                cells.append("n/a")
            elif cls in entry["classes"]:
                c = entry["classes"][cls]
                cells.append(f"{c['ndcg']:.3f} / {c['mrr']:.3f}")
            else:
                cells.append("—")
        lines.append(f"| {cls} | {count} | " + " | ".join(cells) + " |")
    notes = [f"* `{x}`: {results['configs'][x]['unavailable']}" for x in configs if results["configs"][x].get("unavailable")]
    if results["configs"].get("all", {}).get("without"):
        notes.append(f"* `all`: without {', '.join(results['configs']['all']['without'])} (not available)")
    return "\n".join(lines + ([""] + notes if notes else []))


def markdown(results: dict) -> str:
    m = results["meta"]
    head = (f"Run {m['date']}: {m['label']}; {m['seeds']} seeds ({m['base']} filler, {m['planted']} planted), "
            f"{m['queries']} queries, seed {m['seed']}, recency half-life {m['recency']}; newssearch schema version "
            f"{m['schema_version']}, SQLite {m['sqlite']}. Cells: nDCG@10 / MRR.")
    return head + "\n\n" + table(results) + "\n"


def write_markdown(path: Path, text: str) -> None:
    block = f"{MARK_START}\n\n{text}\n{MARK_END}"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if MARK_START in old and MARK_END in old:
        before, rest = old.split(MARK_START, 1)
        new = before + block + rest.split(MARK_END, 1)[1]
    else:
        new = block + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="a few seconds: 300 filler seeds, 2 queries per class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base", type=int, default=None, help="filler seeds (default 10,000; --small 300)")
    ap.add_argument("--per-class", type=int, default=None, help="queries per class (default 30; --small 2)")
    ap.add_argument("--recency", default="30d", help="the half-life of the recency configurations (default 30d)")
    ap.add_argument("--workdir", type=Path, default=HERE / "work" / "relevance")
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default WORKDIR/relevance.json)")
    ap.add_argument("--markdown", type=Path, default=None, help="replace the table between the relevance markers of FILE")
    ap.add_argument("--label", default="", help="what this run measures, for the table's heading")
    args = ap.parse_args(argv)
    base = args.base if args.base is not None else (300 if args.small else 10_000)
    per_class = args.per_class if args.per_class is not None else (2 if args.small else 30)
    if base < 0 or per_class < 1:
        ap.error("--base must be at least 0 and --per-class at least 1")

    import newssearch
    from newssearch import store

    work = args.workdir.resolve()
    corpus, index_dir, db = work / "corpus", work / "newssearch-index", work / "sqlite.db"
    started = time.perf_counter()
    queries = plant(corpus, args.seed, base, per_class)
    planted = len(os.listdir(corpus)) - base
    log(f"corpus: {base} filler + {planted} planted seeds, {len(queries)} queries ({time.perf_counter() - started:.1f} s)")
    if index_dir.exists():
        shutil.rmtree(index_dir)
    newssearch.index_seeds([corpus], index_dir, rebuild=True)
    sqlite_baseline.build(db, [corpus])
    log(f"built both ({time.perf_counter() - started:.1f} s)")

    available = features()
    results: dict = {"meta": {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "label": args.label or "newssearch as installed",
        "seed": args.seed, "base": base, "planted": planted, "seeds": base + planted, "queries": len(queries),
        "per_class": per_class, "recency": args.recency, "newssearch": str(Path(newssearch.__file__).parent),
        "schema_version": store.SCHEMA_VERSION, "sqlite": sqlite3.sqlite_version, "features": available,
    }, "configs": {}, "queries": [q.to_json() for q in queries]}
    for config in CONFIGS:
        if config == "sqlite":
            answers = run_sqlite(db, queries)
        else:
            wanted = config_features(config)
            gone = [available[f] for f in wanted if available[f] is not None]
            if gone and config != "all":
                results["configs"][config] = {"unavailable": gone[0]}
                continue
            if config == "all" and len(gone) == len(wanted):
                results["configs"][config] = {"unavailable": "not available: this newssearch has none of the features"}
                continue
            answers = run_newssearch(index_dir, queries, config, available, args.recency)
        results["configs"][config] = score(queries, answers)
        results["configs"][config]["answers"] = answers
        if config == "all":
            results["configs"][config]["without"] = sorted(f for f in config_features(config) if available[f] is not None)
    log(f"queries run ({time.perf_counter() - started:.1f} s)")

    print(table(results))
    out = args.out or work / "relevance.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        write_markdown(args.markdown, markdown(results))
    return 0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
