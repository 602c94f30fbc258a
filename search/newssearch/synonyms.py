"""Synonyms, applied to a query when it is read: changing them needs no re-index.

A synonyms file has the format of Solr and Elasticsearch (``synonyms.txt``)::

    # a comment (a line starting with "#")
    EU, European Union              equivalent: each entry finds the others
    US, U.S. => United States, USA  one-way: a query for US or U.S. also finds the right side

Entries may be several words (``united states``); they are analysed as the
index analyses text (:func:`newssearch.schema.terms`: case, accents, acronym
dots folded, English stems), so ``U.S.`` and ``US`` are one entry and
``United States`` also matches "united state". Blank lines are ignored. A
line that cannot be read is a :class:`SynonymsError` naming the file and the
line. As in Solr, ``#`` starts a comment only at the start of a line ("C#" is
a word), and an entry cannot hold a comma.

How a query is expanded (:meth:`Synonyms.expand`):

* Each query word, and each run of words, that an entry matches becomes an
  ``OR`` of itself and the entry's synonyms, in the same fields with the same
  weights; a synonym of several words is a phrase. The longest match wins:
  in "united states senate", "united states" is matched before "united". A
  synonym that holds the query's words or another synonym in order ("united
  states of america" for "united states" or "usa") is left out: it finds
  nothing more, and a phrase costs more than words to match.
* The original words are always kept, also for a one-way rule: Solr's
  ``a => b`` *replaces* ``a`` because it is meant to run at index time too,
  and the index here holds the text as written.
* **Capitals.** An entry written in capitals (``WHO``, ``US``, ``U.S.``) is an
  acronym and matches only a query word written in capitals. The index folds
  case, so "who" and "WHO" are one term; without this rule the question "who
  won" would search for the World Health Organization, and "tell us" for the
  United States. An entry with a lowercase letter matches any case.
* **One-way for ambiguous acronyms.** For the same reason a query for
  "united states" must not add the term "us", which every article with the
  pronoun holds: such acronyms are written ``US => United States`` (one-way),
  not ``US, United States``. The shipped list (``synonyms.txt``) does so.
* Quoted phrases are searched as written: ``"us open"`` is not expanded, so
  quoting a word is how to search for it alone. A word that is one phrase
  because it holds a hyphen ("U.S.-China") or CJK characters ("東京", read as
  its characters and bigrams) is not expanded either: the parser builds it as
  it builds a quoted phrase. (A CJK synonym of a Latin word does work:
  ``Tokyo, 東京`` makes "Tokyo" find "東京".)
* Field-qualified words (``title:EU``) are expanded in that field only, and
  negated words (``-EU``) too: ``-EU`` leaves out "European Union" as well.
* Wildcard and fuzzy terms are not expanded.

The expansion shows in ``SearchResults.parsed`` (``--explain``) as
``<synonyms of US: united states, usa>``; the synonyms found in a hit are
highlighted as the query's own words are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from whoosh import query as wq

from .errors import QueryError, SynonymsError
from .schema import TEXT_FIELDS, term_of, tokens
from .schema import terms as analysed_terms

SYNONYMS_ENV = "NEWSSEARCH_SYNONYMS"
DEFAULT_FILE = Path(__file__).with_name("synonyms.txt")
MAX_WORDS = 8  # the most words of one entry: a longer one is a sentence, not a name


@dataclass(frozen=True)
class Entry:
    """One entry of a rule: the text as written, its index terms, and whether it is in capitals."""

    text: str
    terms: tuple[str, ...]
    capitals: bool


@dataclass(frozen=True)
class _Rule:
    capitals: bool  # the matched query words must be written in capitals
    alternatives: tuple[Entry, ...]


class Synonyms:
    """A parsed synonyms file: :meth:`load` a file, :meth:`parse` a text, :meth:`default` the shipped list."""

    def __init__(self, rules: dict[tuple[str, ...], list[_Rule]], source: str) -> None:
        self._rules = rules
        self.source = source
        self._longest = max((len(key) for key in rules), default=0)

    def __repr__(self) -> str:
        return f"Synonyms({self.source!r}, {len(self._rules)} entries)"

    def __len__(self) -> int:
        """How many entries (after analysis) have synonyms."""
        return len(self._rules)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Synonyms:
        """Read a synonyms file (UTF-8). Raises :class:`SynonymsError` naming the file (and line)."""
        name = os.fspath(path)
        try:
            text = Path(name).read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SynonymsError(name, None, f"not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise SynonymsError(name, None, (exc.strerror or str(exc)).lower()) from None
        return cls.parse(text, name)

    @classmethod
    def default(cls) -> Synonyms:
        """The list shipped with newssearch (news abbreviations; see ``synonyms.txt``)."""
        return _shipped()

    @classmethod
    def parse(cls, text: str, source: str = "<synonyms>") -> Synonyms:
        """Read the rules of a synonyms file's ``text``; ``source`` names it in errors."""
        rules: dict[tuple[str, ...], list[_Rule]] = {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip().lstrip("\ufeff")
            if not line or line.startswith("#"):
                continue
            if line.count("=>") > 1:
                raise SynonymsError(source, number, 'more than one "=>"')
            if "=>" in line:
                left_text, right_text = line.split("=>")
                left = _entries(left_text, source, number, "left of =>")
                right = _entries(right_text, source, number, "right of =>")
                for key in left:
                    _add(rules, key, right)
            else:
                entries = _entries(line, source, number, "")
                if len({e.terms for e in entries}) < 2:
                    raise SynonymsError(
                        source, number, "one entry alone has no synonyms: separate equivalent entries with commas"
                    )
                for key in entries:
                    _add(rules, key, entries)
        return cls(rules, source)

    def lookup(self, terms: tuple[str, ...], capitals: bool) -> tuple[Entry, ...]:
        """The synonyms of a run of query terms (``capitals``: written in capitals), best first, itself left out."""
        found: dict[tuple[str, ...], Entry] = {}
        for rule in self._rules.get(terms, ()):
            if rule.capitals and not capitals:
                continue
            for entry in rule.alternatives:
                if entry.terms != terms:
                    found.setdefault(entry.terms, entry)
        # A synonym holding the query's words, or another synonym, in order ("united states of
        # america" for "united states") finds nothing more, and a phrase of common words is
        # among the costliest things to match: it is left out.
        shorter = [terms, *found]
        return tuple(e for e in found.values() if not any(_holds(e.terms, other) for other in shorter))

    def expand(self, q: wq.Query, query: str) -> wq.Query:
        """``q`` (read from ``query``) with each word or run of words that has synonyms ORed with them."""
        if not self._rules:
            return q
        words = tokens(query)
        capitals = {term_of(t) for t in words if _in_capitals(t)}
        written: dict[str, str] = {}
        for word in words:
            written.setdefault(term_of(word), word)
        return _Expander(self, capitals, written).rewrite(q)


def resolve(synonyms: object) -> Synonyms | None:
    """What ``open_index(synonyms=...)`` means: True for ``$NEWSSEARCH_SYNONYMS`` (a file),
    else the shipped list; None or False for none; a path; or a :class:`Synonyms`."""
    if synonyms is None or synonyms is False:
        return None
    if synonyms is True:
        path = os.environ.get(SYNONYMS_ENV, "")
        if not path:
            return Synonyms.default()
        try:
            return Synonyms.load(path)
        except SynonymsError as exc:  # say where the name came from: it was not typed in this command
            raise SynonymsError(f"{exc.path} (named by ${SYNONYMS_ENV})", exc.line, exc.reason) from None
    if isinstance(synonyms, Synonyms):
        return synonyms
    if isinstance(synonyms, (str, os.PathLike)):
        if not os.fspath(synonyms):
            raise SynonymsError("", None, "the synonyms path is empty")
        return Synonyms.load(synonyms)
    raise QueryError(f"synonyms must be a path, a Synonyms, True or None, not {type(synonyms).__name__}")


@lru_cache(maxsize=1)
def _shipped() -> Synonyms:
    return Synonyms.load(DEFAULT_FILE)


def _holds(terms: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """Whether ``part`` is a shorter run of ``terms``, in order."""
    return len(part) < len(terms) and any(terms[i : i + len(part)] == part for i in range(len(terms) - len(part) + 1))


def _in_capitals(word: str) -> bool:
    """Whether a word as written is in capitals: "US", "U.S", "WHO" (not "Who", not "2020")."""
    return any(c.isalpha() for c in word) and word == word.upper() and word != word.lower()


def _entries(text: str, source: str, number: int, where: str) -> list[Entry]:
    side = f" {where}" if where else ""
    out = []
    for raw in text.split(","):
        written = " ".join(raw.split())
        if not written:
            raise SynonymsError(source, number, f"an empty entry{side} (two commas, or a comma at an end)")
        found = tuple(analysed_terms(written))
        if not found:
            raise SynonymsError(source, number, f"the entry {written!r}{side} holds no word")
        if len(found) > MAX_WORDS:
            raise SynonymsError(source, number, f"the entry {written!r}{side} has more than {MAX_WORDS} words")
        words = tokens(written)
        out.append(Entry(written, found, all(_in_capitals(w) for w in words)))
    return out


def _add(rules: dict[tuple[str, ...], list[_Rule]], key: Entry, alternatives: Iterable[Entry]) -> None:
    others = tuple(e for e in alternatives if e.terms != key.terms)
    if others:
        rules.setdefault(key.terms, []).append(_Rule(key.capitals, others))


class SynonymsOr(wq.Or):
    """A query word (or run of words) ORed with its synonyms; prints as ``<synonyms of ...>``."""

    def __init__(self, subqueries, boost: float = 1.0, label: str = "", alternatives: tuple[str, ...] = ()) -> None:
        super().__init__(subqueries, boost=boost)
        self.label = label
        self.alternatives = alternatives

    def apply(self, fn):
        return SynonymsOr([fn(q) for q in self.subqueries], self.boost, self.label, self.alternatives)

    def normalize(self):
        # Whoosh rebuilds a compound query as its class with (subqueries, boost): the label would go.
        return SynonymsOr([q.normalize() for q in self.subqueries], self.boost, self.label, self.alternatives)

    def __str__(self) -> str:
        return f"({self.subqueries[0]} OR <synonyms of {self.label}: {', '.join(self.alternatives)}>)"

    __unicode__ = __str__


def _group(node: wq.Query) -> tuple[str, tuple[tuple[str, float], ...]] | None:
    """A query word as the parser builds it: one term in a text field, or the same term ORed over
    several; its term and its (field, boost) pairs. None for anything else."""
    if type(node) is wq.Term and node.fieldname in TEXT_FIELDS and isinstance(node.text, str):
        return node.text, ((node.fieldname, node.boost),)
    if type(node) is wq.Or and node.boost == 1.0 and node.subqueries:
        subs = node.subqueries
        if all(type(c) is wq.Term and c.fieldname in TEXT_FIELDS and isinstance(c.text, str) for c in subs):
            if len({c.text for c in subs}) == 1:
                return subs[0].text, tuple((c.fieldname, c.boost) for c in subs)
    return None


class _Expander:
    def __init__(self, synonyms: Synonyms, capitals: set[str], written: dict[str, str]) -> None:
        self.synonyms = synonyms
        self.capitals = capitals
        self.written = written  # each term of the query as first written, for the explanation

    def rewrite(self, node: wq.Query) -> wq.Query:
        group = _group(node)
        if group is not None:
            return self._expanded(node, (group,)) or node
        if type(node) is wq.And:
            return wq.And(self._runs(list(node.subqueries)), boost=node.boost)
        if isinstance(node, (wq.Phrase, SynonymsOr)) or node.is_leaf():
            return node
        return node.apply(self.rewrite)

    def _runs(self, children: list[wq.Query]) -> list[wq.Query]:
        """The parts of an AND, runs of words with a multi-word entry replaced by their expansion."""
        groups = [_group(c) for c in children]
        out: list[wq.Query] = []
        i = 0
        while i < len(children):
            for length in range(min(self.synonyms._longest, len(children) - i), 1, -1):
                run = groups[i : i + length]
                if all(g is not None and g[1] == run[0][1] for g in run):  # type: ignore[index]
                    expanded = self._expanded(wq.And(children[i : i + length]), run)  # type: ignore[arg-type]
                    if expanded is not None:
                        out.append(expanded)
                        i += length
                        break
            else:
                out.append(self.rewrite(children[i]))
                i += 1
        return out

    def _expanded(self, node: wq.Query, run: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] | list) -> wq.Query | None:
        terms = tuple(g[0] for g in run)
        alternatives = self.synonyms.lookup(terms, all(t in self.capitals for t in terms))
        if not alternatives:
            return None
        fields = run[0][1]
        clauses: list[wq.Query] = [node]
        for entry in alternatives:
            for field, boost in fields:
                if len(entry.terms) == 1:
                    clauses.append(wq.Term(field, entry.terms[0], boost=boost))
                else:
                    clauses.append(wq.Phrase(field, list(entry.terms), boost=boost))
        return SynonymsOr(clauses, label=" ".join(self.written.get(t, t) for t in terms), alternatives=tuple(e.text for e in alternatives))
