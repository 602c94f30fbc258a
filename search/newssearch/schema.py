"""The one Whoosh schema of a newssearch index, and the text analysis it uses.

Each indexed document is an article: a seed, or an entry of a seed's
``related`` list that is not a seed itself. Text fields are analysed the same
way (see "analysis" below: spellings folded together, CJK text cut into
characters and bigrams, English stems), so "Zurich" finds "Zürich", "US"
finds "U.S.", "ATT" finds "AT&T" and "東" finds "東京". Exact values for facets and filters
(topics, provider, category, kind) live in separate untokenised fields in
their original case; ``published`` and ``url`` are columns, read once per
index generation into the facet arrays of :mod:`newssearch.facets`.

Changing anything here changes what is on disk: bump ``SCHEMA_VERSION`` (in
:mod:`newssearch.store`, which checks it without importing Whoosh) so that an
old index asks for ``newssearch index --rebuild`` instead of answering wrongly.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_right
from functools import lru_cache

import Stemmer
from whoosh import columns, fields, formats
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, SubstitutionFilter
from whoosh.support.charset import accent_map

# Values stored in the index, kept in newssearch.store, which the indexer reads without Whoosh.
from .store import KIND_RELATED, KIND_SEED, NO_DATE, SCHEMA_VERSION  # noqa: F401

# Query-time weights of the text fields, for BM25F: a word in the title counts
# most, then the topics (an editor's summary of the article), then excerpt and
# provider, then the body.
FIELD_BOOSTS = {"title": 4.0, "topics": 2.5, "excerpt": 1.5, "provider": 1.5, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_BOOSTS)

# Names a user may write before a colon in a query, and the field each means.
FIELD_ALIASES = {
    "title": "title",
    "excerpt": "excerpt",
    "body": "body",
    "topic": "topics",
    "topics": "topics",
    "provider": "provider",
    "source": "provider",
    "category": "category",
    "url": "url",
}




# -- analysis ------------------------------------------------------------------
#
# A text becomes tokens, and each token one index term:
#
# 1. Tokens. A word is a run of word characters (letters, digits, "_") with
#    the combining marks inside it ("Zu\u0308rich" as a feed may send it,
#    Devanagari vowel signs) and the invisible soft hyphen and joiners. Words
#    may be joined by an inner dot ("U.S", "3.5"), an ampersand ("AT&T") or an
#    apostrophe of any form (' ’ ‘ ʼ ′ ` and full-width '), except that a
#    possessive "'s" ends the word ("Sony’s" is "Sony" then "s"). Hyphens,
#    dashes and spaces of every kind separate words.
# 2. CJK. Han, Hiragana, Katakana and Hangul are not written with spaces, so a
#    run of them is indexed as Lucene's CJK analyzer does, as overlapping
#    bigrams, and also as single characters, each at its own position in the
#    order 東, 東京, 京, 京都, 都. The single characters let "東" find "東京";
#    the bigrams make "東京" one term that only adjacent characters match; a
#    query run analysed the same way is a phrase of that sequence, which
#    occurs exactly where the text holds the run (see ``multitoken_query``).
# 3. Folding, so that spellings of one word meet: Unicode NFKC (ligatures
#    "ﬁ", full-width "ＡＩ", half-width kana, compatibility ideographs),
#    lowercase, accents off Latin and Greek letters (also when written as
#    combining marks), Arabic short vowels and Hebrew points dropped, ё "е",
#    letters without a decomposition spelled out (ß and ẞ
#    "ss", æ "ae", œ "oe", ø "o", ł "l", đ and ð "d", þ "th", ı "i"), every
#    apostrophe made "'", the ampersand dropped ("AT&T" is "att", as "ATT"),
#    and the dots of a dotted acronym dropped ("U.S." is "us", as "US"; a dot
#    between digits stays: "3.5" is not "35").
# 4. Stemming: Snowball's current English stemmer (PyStemmer), nothing added
#    (see ``stem``).
#
# The analyzer (``text_analyzer``) chains Whoosh filters for these steps; the
# indexer, the highlighter and the vocabulary run the same steps as plain
# string operations (``tokens`` and ``term_of``), and the tests check that
# they give exactly what the analyzer gives.

# Combining marks (Unicode categories Mn, Mc, Me) that are not word characters
# to Python's ``re``, as ranges, from the Unicode 14.0.0 of Python 3.11
# (``tests/test_analysis.py`` checks them against ``unicodedata``); the CJK
# voiced sound marks are left to the CJK runs.
_COMBINING_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1-\u05c2\u05c4-\u05c5\u05c7\u0610-\u061a"
    "\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7-\u06e8\u06ea-\u06ed\u0711\u0730-\u074a"
    "\u07a6-\u07b0\u07eb-\u07f3\u07fd\u0816-\u0819\u081b-\u0823\u0825-\u0827\u0829-\u082d\u0859-\u085b"
    "\u0898-\u089f\u08ca-\u08e1\u08e3-\u0903\u093a-\u093c\u093e-\u094f\u0951-\u0957\u0962-\u0963"
    "\u0981-\u0983\u09bc\u09be-\u09c4\u09c7-\u09c8\u09cb-\u09cd\u09d7\u09e2-\u09e3\u09fe\u0a01-\u0a03"
    "\u0a3c\u0a3e-\u0a42\u0a47-\u0a48\u0a4b-\u0a4d\u0a51\u0a70-\u0a71\u0a75\u0a81-\u0a83\u0abc"
    "\u0abe-\u0ac5\u0ac7-\u0ac9\u0acb-\u0acd\u0ae2-\u0ae3\u0afa-\u0aff\u0b01-\u0b03\u0b3c\u0b3e-\u0b44"
    "\u0b47-\u0b48\u0b4b-\u0b4d\u0b55-\u0b57\u0b62-\u0b63\u0b82\u0bbe-\u0bc2\u0bc6-\u0bc8\u0bca-\u0bcd"
    "\u0bd7\u0c00-\u0c04\u0c3c\u0c3e-\u0c44\u0c46-\u0c48\u0c4a-\u0c4d\u0c55-\u0c56\u0c62-\u0c63"
    "\u0c81-\u0c83\u0cbc\u0cbe-\u0cc4\u0cc6-\u0cc8\u0cca-\u0ccd\u0cd5-\u0cd6\u0ce2-\u0ce3\u0d00-\u0d03"
    "\u0d3b-\u0d3c\u0d3e-\u0d44\u0d46-\u0d48\u0d4a-\u0d4d\u0d57\u0d62-\u0d63\u0d81-\u0d83\u0dca"
    "\u0dcf-\u0dd4\u0dd6\u0dd8-\u0ddf\u0df2-\u0df3\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc"
    "\u0ec8-\u0ecd\u0f18-\u0f19\u0f35\u0f37\u0f39\u0f3e-\u0f3f\u0f71-\u0f84\u0f86-\u0f87\u0f8d-\u0f97"
    "\u0f99-\u0fbc\u0fc6\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074"
    "\u1082-\u108d\u108f\u109a-\u109d\u135d-\u135f\u1712-\u1715\u1732-\u1734\u1752-\u1753\u1772-\u1773"
    "\u17b4-\u17d3\u17dd\u180b-\u180d\u180f\u1885-\u1886\u18a9\u1920-\u192b\u1930-\u193b\u1a17-\u1a1b"
    "\u1a55-\u1a5e\u1a60-\u1a7c\u1a7f\u1ab0-\u1ace\u1b00-\u1b04\u1b34-\u1b44\u1b6b-\u1b73\u1b80-\u1b82"
    "\u1ba1-\u1bad\u1be6-\u1bf3\u1c24-\u1c37\u1cd0-\u1cd2\u1cd4-\u1ce8\u1ced\u1cf4\u1cf7-\u1cf9"
    "\u1dc0-\u1dff\u20d0-\u20f0\u2cef-\u2cf1\u2d7f\u2de0-\u2dff\u302a-\u302f\ua66f-\ua672\ua674-\ua67d"
    "\ua69e-\ua69f\ua6f0-\ua6f1\ua802\ua806\ua80b\ua823-\ua827\ua82c\ua880-\ua881\ua8b4-\ua8c5"
    "\ua8e0-\ua8f1\ua8ff\ua926-\ua92d\ua947-\ua953\ua980-\ua983\ua9b3-\ua9c0\ua9e5\uaa29-\uaa36\uaa43"
    "\uaa4c-\uaa4d\uaa7b-\uaa7d\uaab0\uaab2-\uaab4\uaab7-\uaab8\uaabe-\uaabf\uaac1\uaaeb-\uaaef"
    "\uaaf5-\uaaf6\uabe3-\uabea\uabec-\uabed\ufb1e\ufe00-\ufe0f\ufe20-\ufe2f\U000101fd\U000102e0"
    "\U00010376-\U0001037a\U00010a01-\U00010a03\U00010a05-\U00010a06\U00010a0c-\U00010a0f"
    "\U00010a38-\U00010a3a\U00010a3f\U00010ae5-\U00010ae6\U00010d24-\U00010d27\U00010eab-\U00010eac"
    "\U00010f46-\U00010f50\U00010f82-\U00010f85\U00011000-\U00011002\U00011038-\U00011046\U00011070"
    "\U00011073-\U00011074\U0001107f-\U00011082\U000110b0-\U000110ba\U000110c2\U00011100-\U00011102"
    "\U00011127-\U00011134\U00011145-\U00011146\U00011173\U00011180-\U00011182\U000111b3-\U000111c0"
    "\U000111c9-\U000111cc\U000111ce-\U000111cf\U0001122c-\U00011237\U0001123e\U000112df-\U000112ea"
    "\U00011300-\U00011303\U0001133b-\U0001133c\U0001133e-\U00011344\U00011347-\U00011348"
    "\U0001134b-\U0001134d\U00011357\U00011362-\U00011363\U00011366-\U0001136c\U00011370-\U00011374"
    "\U00011435-\U00011446\U0001145e\U000114b0-\U000114c3\U000115af-\U000115b5\U000115b8-\U000115c0"
    "\U000115dc-\U000115dd\U00011630-\U00011640\U000116ab-\U000116b7\U0001171d-\U0001172b"
    "\U0001182c-\U0001183a\U00011930-\U00011935\U00011937-\U00011938\U0001193b-\U0001193e\U00011940"
    "\U00011942-\U00011943\U000119d1-\U000119d7\U000119da-\U000119e0\U000119e4\U00011a01-\U00011a0a"
    "\U00011a33-\U00011a39\U00011a3b-\U00011a3e\U00011a47\U00011a51-\U00011a5b\U00011a8a-\U00011a99"
    "\U00011c2f-\U00011c36\U00011c38-\U00011c3f\U00011c92-\U00011ca7\U00011ca9-\U00011cb6"
    "\U00011d31-\U00011d36\U00011d3a\U00011d3c-\U00011d3d\U00011d3f-\U00011d45\U00011d47"
    "\U00011d8a-\U00011d8e\U00011d90-\U00011d91\U00011d93-\U00011d97\U00011ef3-\U00011ef6"
    "\U00016af0-\U00016af4\U00016b30-\U00016b36\U00016f4f\U00016f51-\U00016f87\U00016f8f-\U00016f92"
    "\U00016fe4\U00016ff0-\U00016ff1\U0001bc9d-\U0001bc9e\U0001cf00-\U0001cf2d\U0001cf30-\U0001cf46"
    "\U0001d165-\U0001d169\U0001d16d-\U0001d172\U0001d17b-\U0001d182\U0001d185-\U0001d18b"
    "\U0001d1aa-\U0001d1ad\U0001d242-\U0001d244\U0001da00-\U0001da36\U0001da3b-\U0001da6c\U0001da75"
    "\U0001da84\U0001da9b-\U0001da9f\U0001daa1-\U0001daaf\U0001e000-\U0001e006\U0001e008-\U0001e018"
    "\U0001e01b-\U0001e021\U0001e023-\U0001e024\U0001e026-\U0001e02a\U0001e130-\U0001e136\U0001e2ae"
    "\U0001e2ec-\U0001e2ef\U0001e8d0-\U0001e8d6\U0001e944-\U0001e94a\U000e0100-\U000e01ef"
)
# Letters that count as one CJK character with a following (half-width or
# combining) voiced sound mark: "ｶﾞ" is one character, "ガ" once folded.
_VOICED = "\u3099\u309a\uff9e\uff9f"
# Assigned characters only (Unicode 14): an unassigned code point is no word character.
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B),  # ideographic iteration marks, numerals
    (0x3041, 0x3096), (0x309D, 0x309F),  # Hiragana (3099-309c are sound marks)
    (0x30A1, 0x30FA), (0x30FC, 0x30FF),  # Katakana, not the middle dot 30fb: "東京・大阪" is two runs
    (0x3131, 0x318E),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF),  # CJK unified ideographs, extension A
    (0xA960, 0xA97C), (0xAC00, 0xD7A3), (0xD7B0, 0xD7C6), (0xD7CB, 0xD7FB),  # Hangul syllables, Jamo
    (0xF900, 0xFA6D), (0xFA70, 0xFAD9),  # CJK compatibility ideographs
    (0xFF66, 0xFF9D),  # half-width Katakana
    (0xFFA0, 0xFFBE), (0xFFC2, 0xFFC7), (0xFFCA, 0xFFCF), (0xFFD2, 0xFFD7), (0xFFDA, 0xFFDC),  # half-width Hangul
    (0x1B000, 0x1B122), (0x1B150, 0x1B152), (0x1B164, 0x1B167),  # Kana supplement, extensions
    (0x20000, 0x2A6DF), (0x2A700, 0x2B738), (0x2B740, 0x2B81D), (0x2B820, 0x2CEA1),  # extensions B-G
    (0x2CEB0, 0x2EBE0), (0x2F800, 0x2FA1D), (0x30000, 0x3134A),
)
_CJK = "".join(f"{chr(first)}-{chr(last)}" for first, last in _CJK_RANGES)
_CJK_FIRSTS = [first for first, _last in _CJK_RANGES]
# Invisible characters that do not break a word (and are folded away): soft
# hyphen, zero-width non-joiner and joiner, word joiner.
_INVISIBLE = "\u00ad\u200c\u200d\u2060"
_APOSTROPHES = "'\u2019\u2018\u02bc\u2032`\uff07"
_AMPERSANDS = "&\uff06\ufe60"
_DOTS = ".\uff0e"
# A word character that is not CJK (ʼ U+02BC is a letter to Unicode but an apostrophe here).
_LETTER = rf"[^\W{_CJK}{_VOICED}\u02bc]"
_MARK = rf"[{_COMBINING_MARKS}{_INVISIBLE}]"
# Marks are all non-ASCII: looking for them only before a non-ASCII character
# spares a test of some 300 ranges at the end of every word.
_WORD_PART = rf"{_LETTER}+(?:(?![\x00-\x7f]){_MARK}+{_LETTER}*)*"
_JOINER = rf"(?:[{_DOTS}{_AMPERSANDS}]|[{_APOSTROPHES}](?![sS](?!{_LETTER}|{_MARK})))"
_CJK_UNIT = rf"[{_CJK}][{_VOICED}]*"
# The exact tokenisation. Compiling it takes about 20 ms (each use of the CJK
# ranges fills a table of 65,536 entries), which a cold query and each indexing
# worker would pay: it is compiled on first need, for a match holding CJK, a
# voiced mark or "ʼ".
# Every token starts with a word character, CJK ones too.
_EXACT_TOKENS = rf"(?=\w)(?:{_WORD_PART}(?:{_JOINER}{_WORD_PART})*|(?:{_CJK_UNIT})+)"


@lru_cache(maxsize=1)
def _exact_pattern() -> re.Pattern[str]:
    return re.compile(_EXACT_TOKENS)


# The first cut, cheap to compile and as fast to run as the plain r"\w+" pattern
# before it (the exact one takes 45 % longer): "\w" is one test where the
# letter class above is one per range, and possessive repeats (nothing after
# them ever needs a character back) spare the engine its backtracking records.
# Its matches are the exact tokens, except that a match holding CJK, a voiced
# sound mark or "ʼ" may join several: ``token_parts`` cuts those.
_FAST_WORD_PART = rf"\w++(?:(?![\x00-\x7f])[{_COMBINING_MARKS}{_INVISIBLE}{_VOICED}]++\w*+)*+"
_FAST_JOINER = rf"(?:[{_DOTS}{_AMPERSANDS}]|[{_APOSTROPHES}](?![sS](?!\w|{_MARK})))"
# (Flags as a pickled pattern has them: opening an index unpickles the schema,
# and then finds this pattern in re's cache instead of compiling it again.)
TOKEN_PATTERN = re.compile(rf"{_FAST_WORD_PART}(?:{_FAST_JOINER}{_FAST_WORD_PART})*+", re.UNICODE)
_SPLIT_CHARS = frozenset(_VOICED + "\u02bc")


def _is_cjk_char(char: str) -> bool:
    code = ord(char)
    i = bisect_right(_CJK_FIRSTS, code) - 1
    return i >= 0 and code <= _CJK_RANGES[i][1]


# One character to its folded form, applied after NFKC and lowercasing.
_SPELLED_OUT = {
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
    "ħ": "h", "ŧ": "t", "ŋ": "n", "ƒ": "f", "ς": "σ", "ё": "е",
    "·": "",  # NFKC spells "ŀ" as "l·"
}


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # Latin and Greek letters lose their accents; Cyrillic й stays a letter of its own (ё is spelled out).
    blocks = [(0xC0, 0x24F), (0x370, 0x3FF), (0x1E00, 0x1FFF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF)]
    for first, last in blocks:
        for code in range(first, last + 1):
            char = chr(code)
            base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
            if base and base != char:
                table[code] = base.lower()
    # Whoosh's accent map also knows Latin letters with a stroke or hook, which
    # have no decomposition ("ƀ" is "b"); its entries for other characters are
    # not all right (it maps the combining tilde to "p") and are left out.
    for code, folded in accent_map.items():
        if unicodedata.name(chr(code), "").startswith("LATIN") and not table.get(code, "\x80").isascii():
            table[code] = folded.lower()
    spelled = str.maketrans(_SPELLED_OUT)
    table = {code: folded.translate(spelled) for code, folded in table.items()}  # "ǣ" is "æ", so "ae"
    table.update(spelled)
    # Combining accents that NFKC found no letter to compose with, Arabic short
    # vowels and Hebrew points (optional in writing, as Lucene's Arabic
    # normaliser treats them), and invisibles.
    for first, last in [(0x300, 0x36F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F),
                        (0x64B, 0x65F), (0x670, 0x670), (0x591, 0x5BD), (0x5BF, 0x5BF), (0x5C1, 0x5C2),
                        (0x5C4, 0x5C5), (0x5C7, 0x5C7)]:
        table.update(dict.fromkeys(range(first, last + 1), ""))
    table.update(dict.fromkeys(map(ord, _INVISIBLE), ""))
    table.update(dict.fromkeys(map(ord, _APOSTROPHES), "'"))
    table.update(dict.fromkeys(map(ord, _AMPERSANDS), ""))
    return table


FOLD_TABLE = _fold_table()
# A dot between two single letters of a dotted acronym: "u.s", "e.g", "u.s.a".
_ACRONYM_DOT = re.compile(r"(?<![^.])([^\W\d_])\.(?=[^\W\d_](?:\.|$))")


class _Stemmers(threading.local):
    """One Snowball English stemmer per thread: a PyStemmer object keeps a
    cache and work buffers of its own and is not safe to share between threads."""

    def __init__(self) -> None:
        self.english = Stemmer.Stemmer("english")


_STEMMERS = _Stemmers()


def stem(word: str) -> str:
    """English stem: Snowball's current English stemmer, through PyStemmer (C).

    It replaced Whoosh's port of Porter2 (schema version 4), which folded
    unrelated words together: "university" and "universe", "organization"
    and "organ", "added" and "ad", "evening" and "even", "international"
    and "intern". Snowball fixed those with exceptional prefixes and an
    undoubling rule, and joins "biologist" with "biology";
    ``benchmarks/relevance.py`` and ``benchmarks/stemming_rules.py
    --snowball`` measure the change (see ``benchmarks/RESULTS.md``).
    ``tests/test_schema.py`` checks it against Snowball's pure-Python
    implementation.

    newssearch once added a rule folding "-ition" nouns onto their verbs
    ("recognition" onto "recognize"). Measured on the 50,000 most frequent
    English words (``benchmarks/stemming_rules.py``), it joined 69 pairs of
    related words but also 49 unrelated pairs ("coalition" and "coal",
    "partition" and "part") and split 67 related pairs ("tradition" and
    "traditional", "exhibition" and "exhibit", "competition" and
    "competitive"); weighed by how often each word is used, the losses
    outweigh the gains by a third. So the stemmer has no rule of ours.

    Every stem of newssearch comes from here: the indexer and the query
    analyzer, the highlighter and the vocabulary of typo correction and
    wildcards (through :func:`term_of`).
    """
    return _STEMMERS.english.stemWord(word)


def fold_word(word: str) -> str:
    """One token folded (NFKC, lowercase, accents, apostrophes, ``&``, acronym dots): the analyzer's steps before stemming."""
    if not word.isascii():  # (NFKC leaves ASCII as it is)
        word = unicodedata.normalize("NFKC", word)
    folded = word.lower().translate(FOLD_TABLE)
    return _ACRONYM_DOT.sub(r"\1", folded) if "." in folded else folded


@lru_cache(maxsize=200_000)
def term_of(token: str) -> str:
    """The index term of one token (a word, or one CJK gram of ``tokens``): what :func:`text_analyzer` makes of it."""
    return stem(fold_word(token))


def cjk_grams(run: str) -> tuple[tuple[str, int, int], ...]:
    """The tokens of a CJK run, with their offsets in it: each character, then the bigram it starts.

    "東京都" gives 東, 東京, 京, 京都, 都; a run of one character, that character.
    A voiced sound mark belongs to the character before it.
    """
    units: list[tuple[int, int]] = []
    for i, char in enumerate(run):
        if char in _VOICED and units:
            units[-1] = (units[-1][0], i + 1)
        else:
            units.append((i, i + 1))
    grams = []
    for i, (start, end) in enumerate(units):
        grams.append((run[start:end], start, end))
        if i + 1 < len(units):
            grams.append((run[start : units[i + 1][1]], start, units[i + 1][1]))
    return tuple(grams)


@lru_cache(maxsize=50_000)
def token_parts(match: str) -> tuple[tuple[str, int, int], ...] | None:
    """The tokens of one match of ``TOKEN_PATTERN``, with their offsets in it; None when it is one token as it is.

    A match is several tokens when it holds CJK text (cut into characters and
    bigrams), a voiced sound mark or "ʼ"; it may also be none ("ʼ" alone).
    """
    if match.isascii() or not any(c in _SPLIT_CHARS or _is_cjk_char(c) for c in match):
        return None
    parts: list[tuple[str, int, int]] = []
    for m in _exact_pattern().finditer(match):
        word, start = m.group(), m.start()
        if _is_cjk_char(word[0]):
            parts.extend((gram, start + s, start + e) for gram, s, e in cjk_grams(word))
        else:
            parts.append((word, start, m.end()))
    return tuple(parts)


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` in order, one per position: words, and the grams of CJK runs."""
    found = TOKEN_PATTERN.findall(text)
    if text.isascii():
        return found
    split = {m: parts for m in set(found) if (parts := token_parts(m)) is not None}
    if not split:
        return found
    return [token for m in found for token in ((m,) if m not in split else (p[0] for p in split[m]))]


def terms(text: str) -> list[str]:
    """The index terms of ``text`` in order: what :func:`text_analyzer` makes of it."""
    return [term_of(t) for t in tokens(text)]


def is_cjk(token: str) -> bool:
    """Whether a token (one of ``tokens``) is CJK text: a character or a bigram."""
    return not token.isascii() and _is_cjk_char(token[0])


class TokenPartsFilter(Filter):
    """Cuts matches of ``TOKEN_PATTERN`` into their tokens (``token_parts``), each at its own position."""

    def __call__(self, tokens):
        shift = 0  # positions added (or removed) so far by the matches before
        for t in tokens:
            if t.positions:
                t.pos += shift
            parts = token_parts(t.text)
            if parts is None:
                yield t
                continue
            pos, start = (t.pos if t.positions else 0), (t.startchar if t.chars else 0)
            for k, (part, s, e) in enumerate(parts):
                t.text = part
                if t.positions:
                    t.pos = pos + k
                if t.chars:
                    t.startchar, t.endchar = start + s, start + e
                yield t
            shift += len(parts) - 1


class NFKCFilter(Filter):
    """Unicode compatibility normalisation (NFKC) of each token."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = unicodedata.normalize("NFKC", t.text)
            yield t


class FastText(fields.TEXT):
    """A ``TEXT`` field whose indexing runs the analyzer's steps as string operations.

    Whoosh pushes every token through a chain of generators and ``Token``
    objects; the same steps on plain strings, with a cache of stems, make the
    same terms, positions and weights (``tests/test_schema.py`` checks it) at
    a fraction of the cost. Queries still use the analyzer itself.
    """

    def index(self, value, **kwargs):
        if not isinstance(value, str) or not isinstance(self.format, formats.Positions):
            yield from super().index(value, **kwargs)
            return
        positions: dict[str, list[int]] = {}
        for position, token in enumerate(tokens(value)):
            term = term_of(token)
            found = positions.get(term)
            if found is None:
                positions[term] = [position]
            else:
                found.append(position)
        boost = self.format.field_boost
        encode = self.format.encode
        for term, found in positions.items():
            yield term.encode("utf-8"), len(found), float(len(found)) * boost, encode(found)


def text_analyzer(*, stemming: bool = True):
    """The analysis above as a Whoosh chain: tokens, CJK grams, folding, then (optionally) stems.

    Folding comes before stemming: the stemmer knows only plain letters.
    There are no stop words: BM25 already weighs "the" near zero, and phrases
    and queries like "The Who" keep working.
    """
    analyzer = (
        RegexTokenizer(TOKEN_PATTERN)
        | TokenPartsFilter()
        | NFKCFilter()
        | LowercaseFilter()
        | CharsetFilter(FOLD_TABLE)
        | SubstitutionFilter(_ACRONYM_DOT, r"\1")
    )
    if stemming:
        analyzer = analyzer | StemFilter(stemfn=stem, cachesize=-1)
    return analyzer


def build_schema() -> fields.Schema:
    stemmed = text_analyzer()
    # A query word that analyses into several terms ("U.S.-China", "follow-up",
    # "東京都") is a phrase of them: the words as written, next to each other.
    stemmed_text = {"analyzer": stemmed, "multitoken_query": "phrase"}
    return fields.Schema(
        # identity and bookkeeping
        url=fields.ID(unique=True, sortable=True),
        kind=fields.ID(),
        # ranked text
        title=FastText(**stemmed_text),
        excerpt=FastText(**stemmed_text),
        body=FastText(**stemmed_text),
        topics=FastText(**stemmed_text),
        provider=FastText(**stemmed_text),
        # exact values, original case, for filters and facet counts
        topic_facet=fields.KEYWORD(commas=True, lowercase=False, scorable=False),
        provider_facet=fields.ID(),
        category=fields.KEYWORD(commas=True, lowercase=True, scorable=False),
        # Seconds since the epoch, UTC. A column only: date filters and facets read
        # it into NumPy (see newssearch.facets), so index terms for it would be waste
        # (16 per document, a fifth of all postings).
        published=fields.COLUMN(columns.NumericColumn("q", default=NO_DATE)),
        # The MinHash signature of title and excerpt (newssearch.neardup): a column only,
        # read whole per generation to cluster near-duplicates.
        minhash=fields.COLUMN(columns.VarBytesColumn()),
        # what a hit shows, in one stored record: no per-field stored reads
        payload=fields.STORED(),
    )

