"""Highlighted fragments: the part of a text where the query's words are, as safe HTML.

Whoosh's highlighter pushes every token of every shown hit through its
analyzer's generator chain, which was measured at about 40 % of a warm
query. This one runs the same steps as the index analyzer (the same token
pattern, lowercase, accent folding, the same stemmer) as plain string
operations with a cache of stems, then picks the window of text with the
most matches.

The result is HTML-escaped text with matched words wrapped in ``<mark>``
and ``…`` where text was cut: safe to place in a page as it is.
"""

from __future__ import annotations

import html

from .schema import TOKEN_PATTERN, term_of, token_parts

FRAGMENT_CHARS = 220
LEAD_CHARS = 70  # context kept before the first match of a fragment


def matches(text: str, terms: frozenset[str]) -> list[tuple[int, int]]:
    """(start, end) of every word of ``text`` whose index term is in ``terms``, in order.

    In a CJK run the matched characters and bigrams are marked, overlapping
    ones as one span ("東京" for the terms of 東京: 東, 東京 and 京).
    """
    # Each distinct word is stemmed once, and only if it could match: stemming
    # keeps an ASCII word's first letter (lowercased), so an ASCII word starting
    # with another letter than every term cannot. That spares a cold query most of its
    # stemming. A text without a matching word (most fields of most hits) costs
    # one search and no positions.
    firsts = {term[:1] for term in terms}
    hits = {
        word
        for word in set(TOKEN_PATTERN.findall(text))
        if (word[:1].lower() in firsts or not word.isascii()) and _matched(word, terms)
    }
    if not hits:
        return []
    spans: list[tuple[int, int]] = []
    for m in TOKEN_PATTERN.finditer(text):
        word = m.group()
        if word not in hits:
            continue
        parts = token_parts(word)
        if parts is None:
            spans.append(m.span())
            continue
        for part, s, e in parts:
            if term_of(part) not in terms:
                continue
            if spans and spans[-1][1] > m.start() + s:  # overlaps the last (CJK grams): one span
                spans[-1] = (spans[-1][0], max(spans[-1][1], m.start() + e))
            else:
                spans.append((m.start() + s, m.start() + e))
    return spans


def _matched(word: str, terms: frozenset[str]) -> bool:
    """Whether a match of the token pattern holds a term of ``terms``."""
    parts = token_parts(word)
    if parts is None:
        return term_of(word) in terms
    return any(term_of(part) in terms for part, _s, _e in parts)


Phrase = tuple[tuple[str, ...], int]  # the index terms of a phrase, and its slop


def marked_spans(text: str, terms: frozenset[str], phrases: tuple[Phrase, ...] = ()) -> list[tuple[int, int]]:
    """(start, end) of every word to mark: words whose term is in ``terms``, and the
    words of each occurrence of a phrase (not its words found elsewhere)."""
    spans = set(matches(text, terms)) if terms else set()
    if phrases:
        spans.update(_phrase_spans(text, phrases))
    return sorted(spans)


def _phrase_spans(text: str, phrases: tuple[Phrase, ...]) -> set[tuple[int, int]]:
    """The words of every occurrence of the phrases, read as the index reads them: each
    next word at most ``slop`` positions after the one before (1: right after)."""
    words = frozenset(w for phrase, _ in phrases for w in phrase)
    spans = matches(text, words)
    if not spans:
        return set()
    # Token positions of the matched words: count the words in between.
    positions, position, last = [], -1, 0
    for start, end in spans:
        position += 1 + len(TOKEN_PATTERN.findall(text, last, start))
        positions.append(position)
        last = end
    terms = [term_of(text[s:e]) for s, e in spans]
    found: set[tuple[int, int]] = set()
    for phrase, slop in phrases:
        slop = max(1, slop)
        for i, term in enumerate(terms):
            if term != phrase[0]:
                continue
            paths = [[i]]
            for word in phrase[1:]:
                paths = [
                    path + [j]
                    for path in paths
                    for j in range(path[-1] + 1, len(spans))
                    if 0 < positions[j] - positions[path[-1]] <= slop and terms[j] == word
                ]
                if not paths:
                    break
            for path in paths:
                found.update(spans[j] for j in path)
    return found


def marked(text: str, terms: frozenset[str], phrases: tuple[Phrase, ...] = ()) -> str:
    """All of ``text`` as HTML with the matched words in ``<mark>``: for titles."""
    return _marked(text, marked_spans(text, terms, phrases), 0, len(text))


def fragment(text: str, terms: frozenset[str], size: int = FRAGMENT_CHARS, phrases: tuple[Phrase, ...] = ()) -> tuple[str, int]:
    """The best window of ``text`` as HTML, and how many matches it shows (0: none found).

    Every match inside the window is marked, also those before the densest run
    of matches (in the lead-in) or after it.
    """
    spans = marked_spans(text, terms, phrases)
    if not spans:
        return "", 0
    if len(text) <= size:  # it all fits: show it all
        return _marked(text, spans, 0, len(text)), len(spans)
    # The window of `size` characters holding the most matches, starting a little
    # before its first match so the reader sees some context.
    best_first, best_count, last = 0, 0, 0
    for first in range(len(spans)):
        while last < len(spans) and spans[last][1] - spans[first][0] <= size - LEAD_CHARS:
            last += 1
        if last - first > best_count:
            best_first, best_count = first, last - first
    start = max(0, spans[best_first][0] - LEAD_CHARS)
    if start:  # begin at a word boundary
        space = text.find(" ", start, spans[best_first][0])
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", spans[best_first + best_count - 1][1], end)
        end = space if space >= 0 else end
    shown = [(s, e) for s, e in spans if s >= start and e <= end]
    body = _marked(text, shown, start, end).strip()
    lead = "…" if TOKEN_PATTERN.search(text, 0, start) else ""
    rest = text[end:]
    if TOKEN_PATTERN.search(rest):
        return lead + body + "…", len(shown)
    return lead + body + html.escape(rest.strip()), len(shown)


def _marked(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    """``text[start:end]`` escaped, with the spans inside it in ``<mark>``."""
    out, position = [], start
    for s, e in spans:
        if e > end:
            break
        out.append(html.escape(text[position:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        position = e
    out.append(html.escape(text[position:end]))
    return "".join(out)


def plain(text: str, size: int = FRAGMENT_CHARS) -> str:
    """The start of ``text`` as HTML, cut at a word boundary: the fallback when nothing matched."""
    if len(text) <= size:
        return html.escape(text)
    cut = text.rfind(" ", 0, size)
    return html.escape(text[: cut if cut > 0 else size]) + "…"
