"""The query language: from what a user types to a Whoosh query, and the checked search options.

Lucene-like syntax, all words required: ``"a phrase"``, ``OR``, ``NOT word``
or ``-word``, ``field:value``, wildcards ``polic*``/``po?ice`` over the words
as typed, ``word~`` for typos (:meth:`QueryReader.read`). Plain words, the
common case, are built directly (:func:`_plain_words_query`); anything else
goes through Whoosh's parser with newssearch's plugins, and wildcard and fuzzy
terms are then filled in from the index's words (:class:`~newssearch.spelling.Speller`)
within a budget shared by the whole query (:data:`MAX_CLAUSES`,
:data:`MAX_POSTINGS`, :data:`MAX_FUZZY_TERMS`).

:class:`Options` checks the other arguments of a search, each wrong one a
one-line :class:`~newssearch.errors.QueryError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, get_args

from whoosh import query as wq

from .dates import parse_bound
from .errors import QueryError
from .schema import FIELD_ALIASES, FIELD_BOOSTS, TEXT_FIELDS
from .schema import terms as analysed_terms
from .scoring import HasField, Nothing
from .spelling import EVERYTHING, OPERATORS, LazyTerms, Speller, candidate
from .synonyms import Synonyms
from .urls import normalize_url

Sort = Literal["relevance", "newest", "oldest"]
DateFacet = Literal["year", "month", "day"]
SORTS: tuple[Sort, ...] = get_args(Sort)
DATE_FACETS: tuple[DateFacet, ...] = get_args(DateFacet)
MAX_LIMIT = 1000
MAX_FACET_LIMIT = 1000
MAX_QUERY_CHARS = 2000

_DANGLING = re.compile(r"^\s*(?:(?:AND|OR)\s+)+|(?:\s+(?:AND|OR|NOT))+\s*$")
_PLAIN_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# MultifieldParser orders a word's fields by boost, highest first; so do we.
_PARSER_FIELD_ORDER = tuple(sorted(TEXT_FIELDS, key=lambda f: -FIELD_BOOSTS[f]))
# Terms all the wildcard and fuzzy terms of one query may stand for together,
# counted per field (``polic*`` in five fields with 3 words each is 15): Lucene's
# default limit on a query's clauses. Past it the least common words are left out
# and the results say so (``SearchResults.notes``).
MAX_CLAUSES = 1024
# Postings (one per document and field holding a term) those terms may read
# together: the cost of a query grows with them, and a few hundred common words
# (``a*``) hold millions. About half a second of reading at most, at 200,000 seeds.
MAX_POSTINGS = 1_000_000
# Fuzzy terms one query may hold; the others are searched as plain words. Finding
# a word's neighbours takes tens of milliseconds (an automaton over the vocabulary).
MAX_FUZZY_TERMS = 16


class QueryReader:
    """Reads query strings into Whoosh queries for one generation of the index."""

    def __init__(self, schema: Any, speller: Speller, synonyms: Synonyms | None = None) -> None:
        self._schema = schema
        self._speller = speller
        self._synonyms = synonyms
        self._parser_instance: Any = None

    @property
    def parser(self):
        # Whoosh's query parser compiles dozens of regexes on import: a cold
        # "newssearch query" of plain words never needs it (see _plain_words_query).
        if self._parser_instance is None:
            self._parser_instance = _make_parser(self._schema, self._speller)
        return self._parser_instance

    def read(self, query: str, reading: Callable[[], AbstractContextManager[None]]) -> tuple[wq.Query | None, str, bool]:
        """The Whoosh query for ``query`` (None: match everything), its readable form,
        and whether wildcard or fuzzy terms were cut to :data:`MAX_CLAUSES`.

        ``reading`` wraps the steps that read the index (the expansions), so
        that a damaged file is reported as the searcher reports it.
        """
        text = _unknown_fields_to_words(query)
        if not text.strip():
            return None, "<every article>", False
        q = _plain_words_query(text)
        if q is not None:
            q = self._expand(q, query)
            return q, str(q), False
        # A dangling AND/OR (or a trailing NOT) joins nothing: ignore it rather
        # than search for the word "or". An operator alone is still a word.
        text = _DANGLING.sub(" ", text).strip() or text
        parser = self.parser
        parser.expansions, parser.fuzzy_words, parser.fuzzy_capped = [], set(), False
        try:
            q = parser.parse(text, normalize=False)
        except Exception:  # noqa: BLE001 - Whoosh's parser has many failure modes; fall back to words
            q = None
        if q is None or _is_broken(q):
            # The words alone, operators included as words ("NOT NOT police" fails
            # Whoosh's parser): plain words cannot fail.
            q = _plain_words_query(" ".join(w.lower() for w in _PLAIN_WORD.findall(text)))
            if q is None:
                return None, "<every article>", False
            q = self._expand(q, query)
            return q, str(q), False
        # Synonyms before normalising: a quoted word is still a phrase then (searched
        # as written), and wildcard and fuzzy terms are still unfilled (not expanded).
        q = self._expand(_negations_alone(q), query)
        with reading():  # the expansions read the index
            q, capped = _fill_expansions(q, parser.expansions, self._speller)
        capped = capped or parser.fuzzy_capped
        q = q.normalize()
        if q is wq.NullQuery:
            return None, "<every article>", False
        return q, str(q), capped


    def _expand(self, q: wq.Query, query: str) -> wq.Query:
        """``q`` with the synonyms of its words ORed in (:meth:`Synonyms.expand`)."""
        return self._synonyms.expand(q, query) if self._synonyms is not None else q


def _plain_words_query(text: str) -> wq.Query | None:
    """The query Whoosh's parser would build for plain words (each word in any
    text field, all words required), built directly; None for anything else."""
    words = text.split()
    if not words or any(w in OPERATORS or not _PLAIN_WORD.fullmatch(w) for w in words):
        return None
    clauses = []
    for word in words:
        found = analysed_terms(word)
        if len(found) != 1:  # a CJK run is several terms: a phrase, which the parser builds
            return None
        term = found[0]
        clauses.append(wq.Or([wq.Term(f, term, boost=FIELD_BOOSTS[f]) for f in _PARSER_FIELD_ORDER]))
    return clauses[0] if len(clauses) == 1 else wq.And(clauses)


def _make_parser(schema, speller: Speller):
    """Whoosh's parser as newssearch reads queries: all words required, in every text field,
    with field aliases, ``+``/``-`` at word starts, and wildcard and fuzzy terms from ``speller``."""
    from whoosh import qparser

    # What qparser.MultifieldParser builds (it is a function, not a class to extend).
    parser = _parser_class(speller)(None, schema, group=qparser.AndGroup)
    parser.add_plugin(qparser.MultifieldPlugin(list(TEXT_FIELDS), fieldboosts=FIELD_BOOSTS))
    parser.expansions = []
    # "+word" and "-word" only at the start of a word: "follow-up" is one hyphenated term.
    parser.add_plugin(_plus_minus_plugin_class()(
        plusexpr=r"(?:(?<=\s)|(?<=^)|(?<=\())\+", minusexpr=r"(?:(?<=\s)|(?<=^)|(?<=\())-"
    ))
    aliases: dict[str, list[str]] = {}
    for alias, field in FIELD_ALIASES.items():
        if alias != field:
            aliases.setdefault(field, []).append(alias)
    parser.add_plugin(qparser.FieldAliasPlugin(aliases))
    parser.add_plugin(_fuzzy_plugin_class(speller)())
    return parser


# The classes below extend Whoosh's parser, imported only when a query needs it: each is
# made by a function.


def _parser_class(speller: Speller):
    from whoosh import qparser

    class Parser(qparser.QueryParser):
        """Whoosh's parser, with wildcards and fuzzy terms read from the typed text.

        Whoosh stems a prefix before expanding it (``police*`` became ``polic*``,
        which finds "policy" and "political"); here every wildcard and fuzzy
        term becomes an :class:`_Expansion`, filled in after parsing.
        """

        expansions: list[_Expansion]
        fuzzy_words: set[tuple[str, int | None]]
        fuzzy_capped: bool

        def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True, removestops=True):
            if termclass in (wq.Prefix, wq.Wildcard):
                pattern = text + "*" if termclass is wq.Prefix else text
                return self.expand(speller.pattern_terms(fieldname, pattern), fieldname, pattern, boost)
            if fieldname == "category" and termclass is wq.Term:
                # Categories are stored as written (lowercased): "category:economie"
                # finds "économie", as the category filter does.
                terms = speller.category_terms(text)
                if not terms:
                    return Nothing(f"category:{text}", "category")
                clauses = [wq.Term("category", t, boost=boost) for t in terms]
                return clauses[0] if len(clauses) == 1 else wq.Or(clauses)
            return super().term_query(fieldname, text, termclass, boost, tokenize, removestops)

        def expand(self, candidates, fieldname, label, boost):
            if candidates is EVERYTHING:
                return HasField(fieldname, boost=boost)
            expansion = _Expansion(fieldname, label, candidates, boost)
            self.expansions.append(expansion)
            return expansion

    return Parser


def _fuzzy_node_class(speller: Speller):
    from whoosh.qparser import syntax

    class FuzzyNode(syntax.TextNode):
        qclass = wq.FuzzyTerm

        def __init__(self, wordnode, maxdist):
            self.fieldname = wordnode.fieldname
            self.text = wordnode.text
            self.boost = wordnode.boost
            self.startchar = wordnode.startchar
            self.endchar = wordnode.endchar
            self.maxdist = maxdist

        def r(self):
            return f"{self.text!r}~{self.maxdist}"

        def query(self, parser):
            fieldname = self.fieldname or parser.fieldname
            if self.maxdist is not None and self.maxdist < 0:  # a malformed suffix: the plain word
                return parser.term_query(fieldname, self.text, wq.Term, boost=self.boost)
            key = (self.text, self.maxdist)
            if key not in parser.fuzzy_words and len(parser.fuzzy_words) >= MAX_FUZZY_TERMS:
                parser.fuzzy_capped = True  # finding a word's neighbours costs ~50 ms: bounded
                return parser.term_query(fieldname, self.text, wq.Term, boost=self.boost)
            parser.fuzzy_words.add(key)
            candidates = speller.fuzzy_terms(fieldname, self.text, self.maxdist)
            if candidates is None:  # not one word (or not a text field): the plain word
                return parser.term_query(fieldname, self.text, wq.Term, boost=self.boost)
            suffix = "~" if self.maxdist is None else f"~{self.maxdist}"
            return parser.expand(candidates, fieldname, self.text + suffix, self.boost)

    return FuzzyNode


def _fuzzy_plugin_class(speller: Speller):
    from whoosh import qparser
    from whoosh.qparser import syntax

    FuzzyNode = _fuzzy_node_class(speller)

    class FuzzyPlugin(qparser.FuzzyTermPlugin):
        # Whatever follows the "~" up to a space or bracket is its suffix: "~", "~1"
        # and "~2" are fuzzy (more than 2 counts as 2); anything else ("~-1",
        # "~1.5") is malformed and the word is searched as it is.
        expr = qparser.plugins.rcompile(r"(?<=\S)~(?P<maxdist>[^\s()\"^~]*)")

        def create(self, parser, match):
            suffix = match.group("maxdist")
            if not suffix:
                maxdist = None
            elif suffix.isdecimal() and suffix.isascii():
                maxdist = min(int(suffix), 2)
            else:
                maxdist = -1
            return self.FuzzinessNode(maxdist, 0, match.group(0))

        def do_fuzzyterms(self, parser, group):
            newgroup = group.empty_copy()
            i = 0
            while i < len(group):
                node = group[i]
                if i < len(group) - 1 and isinstance(node, syntax.WordNode):
                    following = group[i + 1]
                    if isinstance(following, self.FuzzinessNode):
                        node = FuzzyNode(node, following.maxdist)
                        i += 1
                if isinstance(node, self.FuzzinessNode):
                    node = None  # a "~" after nothing: punctuation
                elif isinstance(node, syntax.GroupNode):
                    node = self.do_fuzzyterms(parser, node)
                if node is not None:
                    newgroup.append(node)
                i += 1
            return newgroup

    return FuzzyPlugin


def _plus_minus_plugin_class():
    from whoosh import qparser
    from whoosh.qparser import syntax

    class PlusMinusPlugin(qparser.PlusMinusPlugin):
        # Whoosh sorts "+" and "-" only in the outermost group: "council (-police)"
        # failed to parse. Sort each bracketed group the same way.
        def do_plusminus(self, parser, group):
            inner = group.empty_copy()
            for node in group:
                inner.append(self.do_plusminus(parser, node) if isinstance(node, syntax.GroupNode) else node)
            return super().do_plusminus(parser, inner)


    return PlusMinusPlugin


class _Expansion(wq.Or):
    """A wildcard or fuzzy term in one field, before the clause budget gives it its terms.

    ``candidates`` are the index terms it may stand for, best first; after
    :func:`_fill_expansions` it is an ``Or`` of the chosen ones.
    """

    def __init__(self, fieldname: str, label: str, candidates: list[str] | LazyTerms, boost: float) -> None:
        super().__init__([], boost=1.0)
        self.fieldname = fieldname
        self.label = label
        self.candidates = candidates
        self.term_boost = boost

    def is_leaf(self) -> bool:  # to rewrites of the tree, until it is filled
        return True

    def apply(self, fn):
        return self

    def __str__(self) -> str:
        return f"{self.fieldname}:{self.label}"


def _fill_expansions(q: wq.Query, expansions: list[_Expansion], speller: Speller) -> tuple[wq.Query, bool]:
    """Give each expansion its terms within :data:`MAX_CLAUSES` for the whole query.

    The budget is shared out in turns, one term per expansion per turn, so
    ``police* a*`` keeps the words of ``police*`` whatever ``a*`` would take.
    A term whose postings would overrun :data:`MAX_POSTINGS` ends its
    expansion; a smaller term of another expansion may still fit.
    Each expansion takes its candidates in order (most common words first for
    wildcards, the closest then most common for fuzzy terms), skipping terms
    its field does not hold. Returns the query and whether the budget cut in.
    """
    chosen: dict[int, list[str]] = {id(e): [] for e in expansions}
    positions = {id(e): 0 for e in expansions}

    def next_term(e: _Expansion) -> tuple[str, int] | None:
        i = positions[id(e)]
        while True:
            term = candidate(e.candidates, i)
            if term is None:
                break
            i += 1
            df = speller.doc_frequency(e.fieldname, term)
            if df:
                positions[id(e)] = i
                return term, df
        positions[id(e)] = i
        return None

    clauses, postings = MAX_CLAUSES, MAX_POSTINGS
    active = list(expansions)
    capped = False
    while active:
        still = []
        for e in active:
            found = next_term(e)
            if found is None:
                continue
            term, df = found
            if clauses == 0 or df > postings:
                # Past either budget this expansion takes no more terms (none at
                # all if the budget ran out before its turn: it then matches
                # nothing, and the note says why).
                capped = True
                continue
            chosen[id(e)].append(term)
            clauses -= 1
            postings -= df
            still.append(e)
        active = still
    return _filled(q, chosen), capped


def _filled(q: wq.Query, chosen: dict[int, list[str]]) -> wq.Query:
    """``q`` with each expansion replaced by its chosen terms (``{id(expansion): terms}``)."""

    def fill(node: wq.Query) -> wq.Query:
        if isinstance(node, _Expansion):
            terms = chosen[id(node)]
            if not terms:
                return Nothing(f"{node.fieldname}:{node.label}", node.fieldname)
            clauses = [wq.Term(node.fieldname, t, boost=node.term_boost) for t in terms]
            return clauses[0] if len(clauses) == 1 else wq.Or(clauses)
        if node.is_leaf():
            return node
        node = node.apply(fill)
        if isinstance(node, wq.Or) and not isinstance(node, _Expansion):
            # "police*" in a field without such words adds nothing to an Or.
            found = [c for c in node.subqueries if not isinstance(c, Nothing)]
            if not found and node.subqueries:
                return Nothing(node.subqueries[0].label.split(":", 1)[-1])
            if len(found) < len(node.subqueries):
                node = node.__class__(found, boost=node.boost)
        return node

    return fill(q)


def _negations_alone(q: wq.Query) -> wq.Query:
    """Read a group of only negations (``-police``, ``(-a -b)``) as "every article but".

    Whoosh's ``+``/``-`` filter builds ``AndNot(<empty group>, banned)``,
    which normalises to nothing: ``-police`` found every article.
    """
    if not q.is_leaf():
        q = q.apply(_negations_alone)
    if isinstance(q, wq.AndNot) and isinstance(q.a, wq.CompoundQuery) and not q.a.subqueries:
        return wq.Not(q.b)
    return q


def _is_broken(q: wq.Query) -> bool:
    """Whether Whoosh read the string into terms of fields a user cannot have meant."""
    return any(isinstance(leaf, wq.Term) and leaf.fieldname not in _QUERY_FIELDS for leaf in q.leaves())


_QUERY_FIELDS = frozenset(TEXT_FIELDS) | {"category", "url"}


_FIELD_PREFIX = re.compile(r"(?<![\w\"])(\w+):", re.UNICODE)


_URL_VALUE = re.compile(r"(?<![\w\"])url:(?!\")([^\s()\"]+)", re.IGNORECASE)


def _url_values(query: str) -> str:
    """``url:https://x/a`` as one value: quoted, or with its colons as ``?`` when it holds a
    wildcard (``url:https://x/*``); Whoosh's parser would read "https" as a field name."""

    def quote(match: re.Match) -> str:
        value = match.group(1)
        if "*" in value or ("?" in value and normalize_url(value) == value):
            return "url:" + value.replace(":", "?")
        # As the index holds urls: normalised (newssearch.urls), so any spelling of an address finds it.
        return f'url:"{normalize_url(value)}"'

    return _URL_VALUE.sub(quote, query)


def _unknown_fields_to_words(query: str) -> str:
    """Field names are case-insensitive; ``nosuchfield:value`` means the words "nosuchfield value"."""
    def fix(match: re.Match) -> str:
        name = match.group(1).lower()
        return name + ":" if name in FIELD_ALIASES else match.group(1) + " "

    return _FIELD_PREFIX.sub(fix, _url_values(query))


@dataclass(frozen=True)
class Options:
    """The arguments of :meth:`IndexSearcher.search`, checked: each wrong one is a one-line QueryError."""

    sort: str
    limit: int
    page: int
    facet_limit: int
    date_facet: str
    since: datetime | None
    until: datetime | None
    topics: tuple[str, ...]
    providers: tuple[str, ...]
    category: str
    now: datetime | None = None  # None: the current time, read when the search runs
    recency: float | None = None  # the half-life of the recency decay in seconds, None: no decay

    @classmethod
    def check(cls, *, query, topics, providers, category, since, until, now, sort, limit, page, facet_limit, date_facet, fuzzy,
              recency=None) -> Options:
        if query is not None and not isinstance(query, str):
            raise QueryError(f"query must be a string, not {type(query).__name__}")
        if query and len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
        if not isinstance(sort, str) or sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if not isinstance(date_facet, str) or date_facet not in DATE_FACETS:
            raise QueryError(f"date_facet must be one of {', '.join(DATE_FACETS)}, not {date_facet!r}")
        _whole("limit", limit, 1, MAX_LIMIT)
        _whole("page", page, 1, None)
        _whole("facet_limit", facet_limit, 0, MAX_FACET_LIMIT)
        if not isinstance(fuzzy, bool):
            raise QueryError(f"fuzzy must be True or False, not {fuzzy!r}")
        if category is not None and not isinstance(category, str):
            raise QueryError(f"category must be a string, not {type(category).__name__}")
        values = {"topics": _values("topics", topics), "providers": _values("providers", providers)}
        try:
            base = _bound("now", now, end=False, base=None)
        except QueryError:
            raise
        except ValueError as exc:
            raise QueryError(f"now: {exc}") from None
        bounds: list[datetime | None] = []
        for name, value, end in (("since", since, False), ("until", until, True)):
            try:
                bounds.append(_bound(name, value, end=end, base=base))
            except QueryError:
                raise
            except ValueError as exc:
                raise QueryError(f"{name}: {exc}") from None
        if bounds[0] and bounds[1] and bounds[0] > bounds[1]:
            raise QueryError(f"since ({since}) is after until ({until})")
        return cls(sort, limit, page, facet_limit, date_facet, bounds[0], bounds[1],
                   values["topics"], values["providers"], (category or "").strip(),
                   now=base, recency=half_life(recency))


# The units of a recency half-life: those of the relative dates (``7d``, ``4w``, ``6m``,
# ``1y``) and hours. A month and a year are their mean lengths in the Gregorian calendar:
# a half-life is a duration, not a calendar span counted back from a date.
_HALF_LIFE_UNITS = {"h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "m": 30.436875 * 86400.0, "y": 365.2425 * 86400.0}
_HALF_LIFE = re.compile(r"^(\d+(?:\.\d+)?)\s*([hdwmy])$", re.IGNORECASE)


def half_life(value: object) -> float | None:
    """A ``recency`` argument in seconds (None, "" or "off" for no decay): ``30d``, ``12h``, ``2w``,
    ``6m``, ``1y``, ``1.5d`` or a ``timedelta``. Raises :class:`QueryError` naming the argument."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off")):
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        match = _HALF_LIFE.match(value.strip())
        if match is None:
            raise QueryError(f"recency must be a half-life such as 12h, 30d, 4w, 6m or 1y (or a timedelta), not {value!r}")
        seconds = float(match.group(1)) * _HALF_LIFE_UNITS[match.group(2).lower()]
    else:
        raise QueryError(f"recency must be a string such as 30d or a timedelta, not {type(value).__name__}")
    if not seconds > 0 or seconds > 10_000 * 365.2425 * 86400:
        raise QueryError(f"recency must be a half-life longer than zero and at most 10000y, not {value!r}")
    return seconds


def _whole(name: str, value: object, low: int, high: int | None) -> None:
    """Refuse anything but a whole number (not a bool) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"from {low} to {high:,}" if high is not None else f"from {low}"
        raise QueryError(f"{name} must be a whole number {span}, not {value!r}")


def _bound(name: str, value: object, *, end: bool, base: datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, date)):
        raise QueryError(f"{name} must be a date string, a date or a datetime, not {type(value).__name__}")
    return parse_bound(value, end=end, now=base) if name != "now" else parse_bound(value, end=False)


def _values(name: str, values: object) -> tuple[str, ...]:
    """Filter values as a tuple: one string is one value, blanks are dropped."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable) or isinstance(values, (bytes, dict)):
        raise QueryError(f"{name} must be a string or a list of strings, not {type(values).__name__}")
    out = []
    for value in values:
        if not isinstance(value, str):
            raise QueryError(f"{name} must be a string or a list of strings, not a list holding {type(value).__name__}")
        if value.strip():
            out.append(value.strip())
    return tuple(out)
