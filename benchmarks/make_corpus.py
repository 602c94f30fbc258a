"""Deterministic generator of synthetic article seeds for benchmarks and tests.

    python benchmarks/make_corpus.py OUT N [--seed S] [--known K] [--force]

writes N seed files ``000123_<hex>.txt`` into the folder OUT and the planted
known items into ``<OUT>.known.json`` *beside* the folder (so the folder holds
nothing but seeds and can be indexed as-is).

Every file has exactly the field set and shape of the real seed
``seeds/000_f5098144ecc78018.txt``: YAML front matter between ``---`` lines,
then an optional body.  The statistics aim to look like a real news feed:

* words are drawn from the 20,000 most frequent English words, weighted by
  their real frequency (``wordfreq``), so document frequencies follow the same
  Zipf curve as real text;
* 80 topics and 300 invented providers with Zipf popularity; 1-4 topics each;
* publication dates uniform over 2015-01-01 .. 2024-12-31 UTC, a few written
  with a +09:00 or -05:00 offset (same instant), as some feeds do;
* 0-3 related items, images and an opaque ``secured`` blob, so a file weighs
  about what the real one does (~3.5 KB).

Known items: K articles get a made-up two-word phrase (e.g. "zorbic
quantelle") in their title, and 2-3 decoy articles get the same two words
scattered (never adjacent in a title) in their title/excerpt/body.  Searching
for the two words should rank the title article first; this is what the
known-item MRR@10 of ``run.py`` measures.

Syndicated copies: about 3 % of the plain articles (``SYNDICATED``) carry the
story of one of the 200 plain articles before them, as a wire story reaches
several providers: the same title and excerpt under their own provider,
date and url, lightly edited (a provider's suffix on the title, a dateline,
a cut or a changed word in the excerpt; see :func:`syndicated`).  Those
draws come from a second generator seeded from S, so every article that is
not a copy is what it was before copies were planted.  ``<OUT>.known.json``
is unchanged; the copies are listed in ``<OUT>.copies.json`` (copy url ->
original url), the ground truth of ``benchmarks/near_duplicates.py``.

Determinism: the same (N, seed, K) and the same ``wordfreq`` data give
byte-identical files.  Only one ``random.Random(seed)`` instance is used.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import os
import random
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

# --------------------------------------------------------------------------
# Fixed vocabularies (not drawn from the seed: they are part of the "world").
# --------------------------------------------------------------------------

TOPICS = (
    "AI", "Computer Vision", "Machine Learning", "Robotics", "Climate",
    "Energy", "Electric Vehicles", "Space", "Astronomy", "Biotech",
    "Genetics", "Public Health", "Medicine", "Mental Health", "Nutrition",
    "Fitness", "Privacy", "Cybersecurity", "Cryptocurrency", "Fintech",
    "Banking", "Stock Markets", "Startups", "Venture Capital", "Retail",
    "E-commerce", "Smartphones", "Gaming", "Virtual Reality", "Social Media",
    "Streaming", "Music", "Film", "Television", "Books",
    "Art", "Architecture", "Design", "Fashion", "Food",
    "Travel", "Aviation", "Automotive", "Railways", "Shipping",
    "Agriculture", "Oceans", "Wildlife", "Forests", "Water",
    "Weather", "Earthquakes", "Elections", "Legislation", "Courts",
    "Policing", "Immigration", "Education", "Universities", "Labor",
    "Housing", "Real Estate", "Urban Planning", "Infrastructure", "Semiconductors",
    "Cloud Computing", "Open Source", "Quantum Computing", "Telecom", "Internet",
    "Drones", "Defense", "Diplomacy", "Trade", "Inflation",
    "Taxes", "Sports", "Football", "Tennis", "Olympics",
)
assert len(TOPICS) == 80 and len(set(TOPICS)) == 80

_PROVIDER_PREFIXES = (
    "Daily", "Morning", "Evening", "Weekly", "Sunday", "Metro", "Capital",
    "Coastal", "Northern", "Southern", "Western", "Eastern", "Global",
    "National", "Valley", "Harbor", "Lakeside", "Prairie", "Summit", "River",
    "Bay", "Union", "Pacific", "Atlantic", "Midland",
)
_PROVIDER_NOUNS = (
    "Ledger", "Herald", "Tribune", "Gazette", "Post", "Times", "Chronicle",
    "Dispatch", "Observer", "Journal", "Review", "Beacon", "Courier",
    "Sentinel", "Record", "Register", "Standard", "Examiner", "Monitor",
    "Bulletin", "Wire", "Report", "Digest", "Telegraph", "Press",
)
_TLDS = (".com", ".com", ".com", ".com", ".com", ".net", ".org", ".co.uk", ".news")

N_PROVIDERS = 300
VOCABULARY_SIZE = 20_000

IMAGE_SIZES = ((1280, 720), (1400, 933), (816, 554), (1200, 630), (1920, 1080), (640, 360))

START = datetime(2015, 1, 1, tzinfo=timezone.utc)
END = datetime(2025, 1, 1, tzinfo=timezone.utc)  # exclusive: last day is 2024-12-31
OFFSETS = (timezone(timedelta(hours=9)), timezone(timedelta(hours=-5)))

# Plain (unquoted) YAML scalars are only used for names that cannot be
# misread as another YAML type; everything else is double-quoted.
_PLAIN_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[ .-][A-Za-z0-9]+)*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "nan", "inf"}

FILENAME_RE = re.compile(r"\d{6}_[0-9a-f]{16}\.txt")


def make_providers() -> list[tuple[str, str]]:
    """300 (name, domain) pairs, the same on every run."""
    names = [f"{p} {n}" for p, n in itertools.product(_PROVIDER_PREFIXES, _PROVIDER_NOUNS)]
    # A string seed is hashed with SHA-512, so this order never changes.
    random.Random("newssearch-providers").shuffle(names)
    providers = []
    for i, name in enumerate(names[:N_PROVIDERS]):
        if i % 7 == 0:
            name = "The " + name  # some mastheads carry an article
        stem = re.sub(r"[^a-z]", "", name.lower().removeprefix("the "))
        providers.append((name, stem + _TLDS[i % len(_TLDS)]))
    return providers


def zipf_cum_weights(n: int, s: float) -> list[float]:
    """Cumulative weights of a Zipf(s) popularity over ranks 1..n."""
    return list(itertools.accumulate(1.0 / (rank ** s) for rank in range(1, n + 1)))


@dataclass
class Vocabulary:
    words: list[str]
    cum_weights: list[float]
    known: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def english(cls) -> Vocabulary:
        # wordfreq ships its data; nothing is downloaded.
        from wordfreq import top_n_list, word_frequency

        # Keep plain ASCII words so both engines tokenize them the same way
        # (drops digits, contractions and abbreviations like "u.s").
        words = [w for w in top_n_list("en", VOCABULARY_SIZE) if w.isascii() and w.isalpha()]
        weights = [word_frequency(w, "en") for w in words]
        return cls(words, list(itertools.accumulate(weights)), frozenset(words))

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum_weights, k=k)


# --------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------


def sentence(words: list[str]) -> str:
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def prose(rng: random.Random, words: list[str], keep: tuple[str, ...] = ()) -> str:
    """Cut a word list into sentences of 8-20 words; now and then a possessive.

    Words in ``keep`` (planted known-item words) never get a possessive, so
    that every engine sees them exactly as planted.
    """
    out, i = [], 0
    while i < len(words):
        n = rng.randint(8, 20)
        if len(words) - (i + n) < 4:  # no one-word sentence at the end
            n = len(words) - i
        chunk = list(words[i:i + n])
        if len(chunk) > 3 and rng.random() < 0.15:
            j = rng.randrange(len(chunk))
            if chunk[j] not in keep:
                chunk[j] += "\u2019s"  # the real feed uses typographic apostrophes
        out.append(sentence(chunk) + ".")
        i += n
    return " ".join(out)


def slugify(words: list[str], limit: int = 8) -> str:
    return "-".join(re.sub(r"[^a-z0-9]", "", w.lower()) for w in words[:limit]).strip("-") or "story"


def yaml_str(value: str) -> str:
    """A double-quoted YAML scalar.  JSON string escapes are valid YAML escapes."""
    return json.dumps(value, ensure_ascii=False)


def yaml_plain_or_quoted(value: str) -> str:
    if _PLAIN_SAFE.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return yaml_str(value)


def iso(dt: datetime) -> str:
    """2020-06-12T11:06:00Z, or with an explicit offset when not UTC."""
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    offset = dt.utcoffset()
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# --------------------------------------------------------------------------
# Known items
# --------------------------------------------------------------------------

_ONSETS = ("z", "q", "x", "v", "k", "zh", "kv", "gr", "bl", "th", "sk", "dr", "fl", "pr")
_VOWELS = ("a", "o", "e", "i", "u", "y")
_CODAS = ("r", "rb", "nt", "x", "lv", "z", "k", "")
_END1 = ("ic", "ar", "ent", "ous", "ish")
_END2 = ("elle", "ine", "ade", "orn", "ette")


def pseudo_word(rng: random.Random, endings: tuple[str, ...]) -> str:
    syllables = [rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                 for _ in range(rng.randint(1, 2))]
    return "".join(syllables) + rng.choice(endings)


def made_up_phrases(rng: random.Random, k: int, vocabulary: Vocabulary) -> list[tuple[str, str]]:
    """k two-word phrases of words that exist in no English word list nor elsewhere here."""
    from wordfreq import word_frequency

    used: set[str] = set()
    phrases = []
    while len(phrases) < k:
        pair = (pseudo_word(rng, _END1), pseudo_word(rng, _END2))
        if any(w in used or w in vocabulary.known or word_frequency(w, "en") > 0 or len(w) < 6
               for w in pair):
            continue
        used.update(pair)
        phrases.append(pair)
    return phrases


def insert_at(rng: random.Random, words: list[str], token: str, lo: int = 0) -> int:
    pos = rng.randint(lo, len(words))
    words.insert(pos, token)
    return pos


def scatter_pair(rng: random.Random, words: list[str], pair: tuple[str, str]) -> None:
    """Insert both words into ``words`` at least three positions apart."""
    while len(words) < 8:
        words.append(rng.choice(("the", "and", "of", "in", "with")))
    first, second = pair if rng.random() < 0.5 else pair[::-1]
    p = rng.randint(0, len(words) - 6)
    words.insert(p, first)
    q = rng.randint(p + 4, len(words))
    words.insert(q, second)


# --------------------------------------------------------------------------
# One article
# --------------------------------------------------------------------------


@dataclass
class Plan:
    """What a single article must carry besides its random text."""
    title_phrase: tuple[str, str] | None = None  # a known item: the phrase goes in the title
    decoy: tuple[str, str] | None = None         # a decoy of that phrase
    decoy_style: int = 0


class CorpusGenerator:
    def __init__(self, seed: int, vocabulary: Vocabulary | None = None):
        self.rng = random.Random(seed)
        self.vocabulary = vocabulary or Vocabulary.english()
        self.providers = make_providers()
        self.provider_cum = zipf_cum_weights(len(self.providers), 1.0)
        self.topic_cum = zipf_cum_weights(len(TOPICS), 1.0)
        self.span_minutes = int((END - START).total_seconds() // 60)

    # -- random pieces ----------------------------------------------------

    def provider(self) -> tuple[str, str]:
        return self.rng.choices(self.providers, cum_weights=self.provider_cum)[0]

    def topics(self) -> list[str]:
        k = self.rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
        chosen: list[str] = []
        while len(chosen) < k:
            t = self.rng.choices(TOPICS, cum_weights=self.topic_cum)[0]
            if t not in chosen:
                chosen.append(t)
        return chosen

    def moment(self) -> datetime:
        dt = START + timedelta(minutes=self.rng.randrange(self.span_minutes))
        if self.rng.random() < 0.03:
            dt = dt.astimezone(self.rng.choice(OFFSETS))  # same instant, local notation
        return dt

    def words(self, lo: int, hi: int) -> list[str]:
        return self.vocabulary.sample(self.rng, self.rng.randint(lo, hi))

    def url(self, domain: str, dt: datetime, slug: str, ident: str) -> str:
        d = dt.astimezone(timezone.utc)
        return f"https://www.{domain}/{d.year}/{d.month:02d}/{d.day:02d}/{slug}-{ident}"

    def image(self, domain: str, dt: datetime, slug: str, title: str | None) -> dict:
        w, h = self.rng.choice(IMAGE_SIZES)
        d = dt.astimezone(timezone.utc)
        tag = f"{self.rng.getrandbits(32):08x}"
        img = {
            "url": f"https://images.{domain}/uploads/{d.year}/{d.month:02d}/{slug}-{tag}.jpg",
            "width": w,
            "height": h,
            "isCached": self.rng.random() < 0.9,
        }
        if title is not None:
            img["title"] = title
        return img

    def secured(self) -> str:
        # Opaque blob shaped like the real one: base64 payload ';' base64 nonce.
        payload = base64.b64encode(self.rng.randbytes(405)).decode()
        nonce = base64.b64encode(self.rng.randbytes(16)).decode()
        return f"{payload};{nonce}"

    def related(self, when: datetime, index: int, n: int) -> list[dict]:
        items = []
        for j in range(n):
            name, domain = self.provider()
            dt = when + timedelta(minutes=self.rng.randint(-3 * 24 * 60, 3 * 24 * 60))
            title_words = self.words(7, 14)
            slug = slugify(title_words)
            url = self.url(domain, dt, slug, f"r{index}x{j}")
            item = {
                "title": sentence(title_words),
                "excerpt": prose(self.rng, self.words(25, 50)),
                "publishedDateTime": dt,
                "webUrl": url,
            }
            if self.rng.random() < 0.5:
                path = url.split(domain, 1)[1]
                item["ampWebUrl"] = f"https://www.{domain}/amp{path}"
                if self.rng.random() < 0.8:
                    cdn = "www-" + domain.replace(".", "-")
                    item["cdnAmpWebUrl"] = f"https://{cdn}.cdn.ampproject.org/c/s/www.{domain}/amp{path}"
            item["type"] = "article"
            item["provider"] = {"name": name, "domain": domain}
            item["quality"] = self.rng.randint(0, 100)
            item["images"] = [self.image(domain, dt, slug, None)
                              for _ in range(self.rng.choices((0, 1, 2), weights=(15, 75, 10))[0])]
            items.append(item)
        return items

    # -- the article --------------------------------------------------------

    def article(self, index: int, plan: Plan, copy_of: tuple[str, str, str] | None = None,
                syndication: random.Random | None = None) -> tuple[str, str, str]:
        """Return (file name, webUrl, file text).

        With ``copy_of`` (title, excerpt, url of an earlier article) the article
        is a syndicated copy of it, edited with draws from ``syndication``;
        every draw of the main generator is made as for any article.
        """
        rng = self.rng
        name, domain = self.provider()
        topics = self.topics()
        when = self.moment()

        title = self.words(8, 14)
        if rng.random() < 0.3:  # headlines often name their subject
            pos = rng.randint(0, len(title))
            title[pos:pos] = topics[0].split()
        excerpt = self.words(25, 45)
        body = self.words(0, 120)

        if plan.title_phrase:
            pos = rng.randint(0, len(title))
            title[pos:pos] = list(plan.title_phrase)
        if plan.decoy:
            a, b = plan.decoy
            if plan.decoy_style == 0:
                scatter_pair(rng, excerpt, plan.decoy)
            elif plan.decoy_style == 1:
                scatter_pair(rng, body, plan.decoy)
            else:  # one word in the title, the other further down
                insert_at(rng, title, a)
                insert_at(rng, body if body else excerpt, b)

        keep = plan.decoy or ()
        slug = slugify(title)
        url = self.url(domain, when, slug, str(100000 + index))
        title_text = sentence(title)

        excerpt_text = prose(rng, excerpt, keep)
        if copy_of is not None and syndication is not None:
            title_text, excerpt_text = syndicated(syndication, copy_of[0], copy_of[1], name)
        self.last = (title_text, excerpt_text)
        doc = {
            "category": "news",
            "title": title_text,
            "excerpt": excerpt_text,
            "publishedDateTime": when,
            "webUrl": url,
            "type": "article",
            "quality": rng.randint(0, 100),
            "heat": -1 if rng.random() < 0.8 else rng.randint(0, 100),
            "published": rng.random() < 0.5,
            "provider": {"name": name, "domain": domain},
            "topics": topics,
            "images": [self.image(domain, when, slug, title_text)
                       for _ in range(rng.choices((0, 1, 2), weights=(10, 75, 15))[0])],
            "related": self.related(when, index, rng.choices((0, 1, 2, 3), weights=(10, 20, 35, 35))[0]),
            "secured": self.secured(),
        }
        paragraphs = []
        i = 0
        while i < len(body):
            n = rng.randint(30, 60)
            paragraphs.append(prose(rng, body[i:i + n], keep))
            i += n
        text = render(doc, "\n\n".join(paragraphs))
        digest = hashlib.sha1(url.encode()).hexdigest()[:16]
        return f"{index:06d}_{digest}.txt", url, text

    # -- the corpus -----------------------------------------------------------

    def plan(self, n: int, known: int) -> tuple[dict[int, Plan], list[dict]]:
        """The special articles by index (known items and decoys); every other one is plain.

        Only those few are held: a million seeds must not mean a million
        objects (the random draws are the same as they always were).
        """
        plans: dict[int, Plan] = {}
        if known <= 0:
            return plans, []
        phrases = made_up_phrases(self.rng, known, self.vocabulary)
        n_decoys = [self.rng.randint(2, 3) for _ in phrases]
        chosen = self.rng.sample(range(n), known + sum(n_decoys))
        it = iter(chosen)
        items = []
        for phrase, nd in zip(phrases, n_decoys):
            target = next(it)
            plans[target] = Plan(title_phrase=phrase)
            decoys = [next(it) for _ in range(nd)]
            for style, d in enumerate(decoys):
                plans[d] = Plan(decoy=phrase, decoy_style=style)
            items.append({"query": " ".join(phrase), "target": target, "decoys": decoys})
        return plans, items


SYNDICATED = 0.03  # the share of plain articles that are syndicated copies
SYNDICATION_WINDOW = 200  # a copy is of one of this many plain articles before it
_DATELINES = ("WASHINGTON", "LONDON", "NEW YORK", "SAN FRANCISCO", "BRUSSELS", "TOKYO", "BERLIN", "PARIS")


def syndicated(rng: random.Random, title: str, excerpt: str, provider: str) -> tuple[str, str]:
    """A provider's copy of a wire story: the title and excerpt, lightly edited as feeds do."""
    words = excerpt.split()
    if rng.random() < 0.5:
        title = f"{title} {rng.choice(('-', '|', '–'))} {provider}"
    if rng.random() < 0.3 and len(words) > 12:  # the excerpt cut short
        words = words[: int(len(words) * rng.uniform(0.7, 0.9))] + ["…"]
    if rng.random() < 0.3 and len(words) > 4:  # an editor's changed word
        words[rng.randrange(len(words))] = rng.choice(words)
    if rng.random() < 0.3:
        words = [rng.choice(_DATELINES), f"({provider})", "—", *words]
    return title, " ".join(words)


def render(doc: dict, body: str) -> str:
    """Hand-formatted YAML in the layout of the real seed (blank line between blocks)."""
    out = ["---"]
    for key in ("category", "title", "excerpt", "publishedDateTime", "webUrl", "type",
                "quality", "heat", "published"):
        out.append(f"{key}: {scalar(key, doc[key])}")
    out += ["", "provider:",
            f"  name: {yaml_plain_or_quoted(doc['provider']['name'])}",
            f"  domain: {doc['provider']['domain']}",
            "", "topics:"]
    out += [f"  - {yaml_plain_or_quoted(t)}" for t in doc["topics"]]
    out += ["", "images:" + ("" if doc["images"] else " []")]
    for img in doc["images"]:
        out += render_image(img, "  ")
    out += ["", "related:" + ("" if doc["related"] else " []")]
    for item in doc["related"]:
        first = True
        for key in ("title", "excerpt", "publishedDateTime", "webUrl", "ampWebUrl", "cdnAmpWebUrl", "type"):
            if key in item:
                out.append(f"{'  - ' if first else '    '}{key}: {scalar(key, item[key])}")
                first = False
        out += ["    provider:",
                f"      name: {yaml_plain_or_quoted(item['provider']['name'])}",
                f"      domain: {item['provider']['domain']}",
                f"    quality: {item['quality']}",
                "    images:" + ("" if item["images"] else " []")]
        for img in item["images"]:
            out += render_image(img, "      ")
    out += ["", f"secured: {yaml_str(doc['secured'])}", "---"]
    text = "\n".join(out) + "\n"
    if body:
        text += "\n" + body + "\n"
    return text


def render_image(img: dict, indent: str) -> list[str]:
    lines = [f"{indent}- url: {yaml_str(img['url'])}",
             f"{indent}  width: {img['width']}",
             f"{indent}  height: {img['height']}",
             f"{indent}  isCached: {'true' if img['isCached'] else 'false'}"]
    if "title" in img:
        lines.append(f"{indent}  title: {yaml_str(img['title'])}")
    return lines


def scalar(key: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)  # unquoted, like the real seed: YAML reads it as a timestamp
    if key in ("category", "type"):
        return yaml_plain_or_quoted(value)
    return yaml_str(value)


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def default_known(n: int) -> int:
    return min(50, n // 10)


def known_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".known.json")


def copies_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".copies.json")


def generate(out: Path, n: int, seed: int = 0, known: int | None = None, force: bool = False,
             vocabulary: Vocabulary | None = None) -> list[dict]:
    """Write the corpus and ``<out>.known.json``; return the known items."""
    out = Path(out)
    known = default_known(n) if known is None else known
    if known * 4 > n:
        raise ValueError(f"{known} known items need at least {known * 4} articles (got {n})")
    out.mkdir(parents=True, exist_ok=True)
    # Two passes over the folder rather than a list of it: a million names.
    with os.scandir(out) as entries:
        first = next(entries, None)
    if first is not None:
        if not force:
            raise FileExistsError(f"{out} is not empty (use --force to replace generated seeds)")
        with os.scandir(out) as entries:
            stranger = next((e for e in entries if not FILENAME_RE.fullmatch(e.name)), None)
        if stranger is not None:
            raise FileExistsError(f"{out} holds files this tool did not write, e.g. {stranger.path}")
        with os.scandir(out) as entries:
            for e in entries:
                os.unlink(e.path)

    gen = CorpusGenerator(seed, vocabulary)
    plans, items = gen.plan(n, known)
    plain = Plan()
    syndication = random.Random(f"newssearch-syndication-{seed}")
    recent: list[tuple[str, str, str]] = []  # (title, excerpt, url) of the last plain originals
    # Written as they come (a JSON object, one pair a line): not held, as urls are not.
    copies = open(copies_path(out), "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    copies.write("{")
    separator = "\n"
    # Only the known items' and decoys' urls are needed afterwards: keeping
    # every url would hold ~150 MB at a million seeds.
    urls: dict[int, str] = {}
    for i in range(n):
        plan = plans.get(i, plain)
        copy_of = None
        if plan is plain and recent and syndication.random() < SYNDICATED:
            copy_of = recent[syndication.randrange(len(recent))]
        name, url, text = gen.article(i, plan, copy_of, syndication)
        if plan is not plain:
            urls[i] = url
        elif copy_of is not None:
            copies.write(f"{separator} {json.dumps(url)}: {json.dumps(copy_of[2])}")
            separator = ",\n"
        else:
            recent.append((*gen.last, url))
            del recent[:-SYNDICATION_WINDOW]
        # newline="" keeps "\n" on every platform: byte-identical output.
        with open(out / name, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    known_items = [{"query": it["query"], "url": urls[it["target"]],
                    "decoys": [urls[d] for d in it["decoys"]]} for it in items]
    known_path(out).write_text(json.dumps(known_items, indent=1) + "\n", encoding="utf-8")
    copies.write("\n}\n")
    copies.close()
    return known_items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder to write the seed files into")
    ap.add_argument("n", type=int, help="number of articles")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--known", type=int, default=None,
                    help="known items to plant (default: min(50, N/10))")
    ap.add_argument("--force", action="store_true",
                    help="replace the seeds of an earlier run in OUT")
    args = ap.parse_args(argv)
    items = generate(args.out, args.n, args.seed, args.known, args.force)
    print(f"wrote {args.n} seeds to {args.out} and {len(items)} known items to {known_path(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
