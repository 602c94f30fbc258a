"""Turn library results into JSON-ready dicts and into text for a terminal.

Nothing here touches the index. Text output neutralises control characters
(an ANSI escape in a seed's title must not drive the user's terminal); JSON
output leaves escaping to the JSON encoder and carries highlights as
HTML-escaped fragments.

Text fits a width in terminal columns (:func:`cells`: a CJK character takes
two): what is cut ends in "…", and styles are applied after cutting, so a
cut never leaves a colour open. Urls and paths are never cut.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
from datetime import datetime
from typing import TYPE_CHECKING

import click

from .dates import iso
from .errors import readable

if TYPE_CHECKING:
    from .facets import FacetValue
    from .indexing import IndexReport
    from .searching import Hit, IndexStats, SearchResults, StoredArticle

# C0 and C1 controls, DEL, and the bidi controls that can disguise text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
BAR_WIDTH = 30
DEFAULT_WIDTH = 80  # when the output is not a terminal and $COLUMNS is unset
MIN_WIDTH = 20  # below this, cutting would leave nothing readable
INDENT = " " * 5
HIGHLIGHT_LINES = 3
# A rendering bound whatever the library returns: --date-facet day over years of news
# would otherwise print thousands of lines.
MAX_HISTOGRAM_ROWS = 100


def clean(text: object) -> str:
    """One printable line: control characters become spaces, bytes that are not UTF-8 ``\\xNN``."""
    return " ".join(_CONTROL.sub(" ", readable(str(text))).split())


def to_data(value: object) -> object:
    """A dataclass result as plain JSON types; datetimes as ``2020-06-12T11:06:00Z``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, str):
        return readable(value)
    return value


def report_data(report: IndexReport) -> dict:
    data = to_data(report)
    assert isinstance(data, dict)
    data["seconds"] = round(report.seconds, 3)
    return data


# -- text ----------------------------------------------------------------------


def report_text(report: IndexReport) -> list[str]:
    noun = "article" if report.seeds == 1 else "articles"
    summary = (
        f"indexed {report.seeds:,} {noun}: {report.added:,} added, {report.updated:,} updated, "
        f"{report.removed:,} removed, {report.unchanged:,} unchanged, {len(report.skipped):,} skipped "
        f"({report.seconds:.1f} s)"
    )
    if report.related:
        summary += f"; {report.related:,} related {'article' if report.related == 1 else 'articles'} searchable too"
    lines = [summary]
    if report.remote is not None:
        sync = report.remote
        what = (f"{sync.upserted:,} sent, {sync.deleted:,} deleted" if sync.checked
                else "nothing to send (the collection holds what the ledger holds)")
        lines.append(f"synced {clean(sync.target)}: {sync.documents:,} documents; {what}")
    lines += [f"skipped {clean(s.path)}: {clean(s.reason)}" for s in report.skipped]
    lines += [f"warning {clean(w.path)}: {clean(w.reason)}" for w in report.warnings]
    return lines


def terminal_width(stream) -> int:
    """The width text output fits: $COLUMNS, else the terminal's, else 80 (a file or a pipe)."""
    columns = 0
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        pass
    if columns <= 0:
        try:
            if stream is not None and stream.isatty():
                columns = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            pass
    return max(columns, MIN_WIDTH) if columns > 0 else DEFAULT_WIDTH


def results_text(
    results: SearchResults, *, explain: bool = False, width: int = DEFAULT_WIDTH, histogram_rows: int | None = None
) -> list[str]:
    """Search results as lines of at most ``width`` columns (urls and the parsed query are never cut)."""
    lines: list[str] = []
    if explain:
        lines.append(click.style("parsed: ", dim=True) + clean(results.parsed))
    if results.suggestion and results.total:
        lines.append(fit(f'no results for "{clean(results.query)}"; showing results for "{clean(results.suggestion)}"', width))
    elif results.suggestion:
        lines.append(fit(f'no results for "{clean(results.query)}"; did you mean "{clean(results.suggestion)}"?', width))
    lines += [f"note: {clean(note)}" for note in results.notes]  # whole: a cut note says less than nothing
    noun = "result" if results.total == 1 else "results"
    shown = f"{results.total:,} {noun}"
    if results.hits and results.total > len(results.hits):
        first = results.hits[0].rank
        shown += f", {first}-{results.hits[-1].rank} shown"
    lines.append(click.style(shown, bold=True) + f" ({results.took_ms:.1f} ms)")
    for hit in results.hits:
        lines.append("")
        number = f"{hit.rank:>3}. "
        if "<mark>" in hit.title_highlight:  # marked words in colour, cut as a highlight is
            title = "".join(highlight_lines(hit.title_highlight, width - len(number), max_lines=1))
        else:
            title = fit(clean(hit.title), width - len(number))
        lines.append(number + click.style(title, bold=True))
        meta = [clean(hit.provider or hit.domain or "unknown source")]
        if hit.published:
            meta.append(iso(hit.published)[:10])  # strftime writes the year 999 as "999"
        if hit.topics:
            meta.append(", ".join(clean(t) for t in hit.topics))
        if hit.kind == "related":
            meta.append("related article")
        lines.append(INDENT + click.style(fit(" · ".join(meta), width - len(INDENT)), fg="green"))
        lines += [INDENT + line for line in highlight_lines(hit.highlight, width - len(INDENT))]
        # A url is printed whole: cut, it would no longer lead anywhere.
        lines.append(INDENT + click.style(clean(hit.url), fg="blue"))
        if hit.similar_count:
            lines.append(INDENT + click.style(fit(similar_text(hit), width - len(INDENT)), dim=True))
        for name, value in (hit.fields or {}).items():
            lines.append(INDENT + fit(f"{name}: {_field_text(value)}", width - len(INDENT)))
    facets = results.facets
    if results.total:
        lines.append("")
        lines += facet_lines("topics", facets.topics, width)
        lines += facet_lines("provider", facets.provider, width)
        lines += histogram_lines("published", facets.published, width, histogram_rows)
    return lines


def highlight_lines(fragment: str, width: int, max_lines: int = HIGHLIGHT_LINES) -> list[str]:
    """An HTML highlight for a terminal, wrapped into at most ``max_lines`` lines of ``width`` columns.

    Marks are in colour, entities decoded, controls removed. Words are never
    split between lines, and a highlighted word is never cut (only a word
    longer than a whole line is); what does not fit ends in an ellipsis.
    Styles are applied after cutting, so no colour is left open.
    """
    words: list[list[tuple[str, bool]]] = [[]]
    for text, marked in _pieces(fragment):
        for i, part in enumerate(text.split(" ")):
            if i:
                words.append([])
            if part:
                words[-1].append((part, marked))
    words = [w for w in words if w]
    lines: list[list[list[tuple[str, bool]]]] = []
    used = 0
    for word in words:
        size = sum(cells(t) for t, _ in word)
        if lines and used + 1 + size <= width:
            lines[-1].append(word)
            used += 1 + size
            continue
        if len(lines) == max_lines:
            _end_with_ellipsis(lines[-1], width)
            break
        if size > width:  # a word longer than a line: cut it, with its ellipsis
            word, size = _cut_word(word, width - 1) + [("…", False)], width
        lines.append([word])
        used = size
    return [" ".join("".join(_styled(t, m) for t, m in word) for word in line) for line in lines]


def _end_with_ellipsis(line: list[list[tuple[str, bool]]], width: int) -> None:
    """Make room for " …" at the end of a full line by dropping its last words."""
    used = sum(sum(cells(t) for t, _ in w) for w in line) + len(line) - 1
    while len(line) > 1 and used + 2 > width:
        used -= sum(cells(t) for t, _ in line.pop()) + 1
    if used + 2 > width:  # one word filling the line
        line[0] = _cut_word(line[0], width - 2)
    if not line[-1] or line[-1][-1][0] != "…":
        line.append([("…", False)])


def _cut_word(word: list[tuple[str, bool]], room: int) -> list[tuple[str, bool]]:
    kept: list[tuple[str, bool]] = []
    for text, marked in word:
        if room <= 0:
            break
        piece = _cut(text, room)
        kept.append((piece, marked))
        room -= cells(piece)
    return kept


def _pieces(fragment: str) -> list[tuple[str, bool]]:
    """The fragment's text as (text, highlighted) pieces, entities decoded, controls removed."""
    pieces, last = [], 0
    for match in _MARK.finditer(fragment):
        pieces.append((_inline(html.unescape(fragment[last : match.start()])), False))
        pieces.append((_inline(html.unescape(match.group(1))), True))
        last = match.end()
    pieces.append((_inline(html.unescape(fragment[last:])), False))
    return [(text, marked) for text, marked in pieces if text]


def _styled(text: str, marked: bool) -> str:
    return click.style(text, fg="yellow", bold=True) if marked else text


def _inline(text: str) -> str:
    # Like clean(), but keeps one space at the edges: the pieces are joined back together.
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", text))


def cells(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (CJK) characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    from unicodedata import combining, east_asian_width

    return sum(0 if combining(c) else 2 if east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in an ellipsis when it was cut."""
    if cells(text) <= width:
        return text
    return _cut(text, max(width - 1, 0)).rstrip() + "…"


def _cut(text: str, width: int) -> str:
    """The longest start of ``text`` that fits in ``width`` columns."""
    if text.isascii():
        return text[:width]
    used = 0
    for i, char in enumerate(text):
        used += cells(char)
        if used > width:
            return text[:i]
    return text


def facet_lines(name: str, values: tuple[FacetValue, ...], width: int = DEFAULT_WIDTH) -> list[str]:
    """``topics: AI 12 · Climate 3``, wrapped under its name to fit ``width``; long values are cut."""
    if not values:
        return []
    label = f"{name}: "
    room = max(width - len(label), 10)
    lines: list[list[str]] = [[]]
    used = 0
    for v in values:
        count = f" {v.count:,}"
        item = fit(clean(v.value), room - len(count)) + count
        size = cells(item)
        if lines[-1] and used + 3 + size > room:
            lines.append([])
        used = size if not lines[-1] else used + 3 + size
        lines[-1].append(item)
    first, *rest = [" · ".join(items) for items in lines]
    return [click.style(label, bold=True) + first] + [" " * len(label) + line for line in rest]


def histogram_lines(
    name: str, values: tuple[FacetValue, ...], width: int = DEFAULT_WIDTH, max_rows: int | None = None
) -> list[str]:
    """One bar per date bucket, scaled to ``width``; at most ``max_rows`` rows, the latest ones."""
    if not values or max_rows == 0:  # --facet-limit 0: no facets at all
        return []
    lines = [click.style(f"{name}:", bold=True)]
    rows = MAX_HISTOGRAM_ROWS if max_rows is None else max(1, min(max_rows, MAX_HISTOGRAM_ROWS))
    if len(values) > rows:
        hidden = len(values) - rows
        values = values[-rows:]
        lines.append(f"  … {hidden:,} earlier not shown (raise --facet-limit, or use --format json)")
    top = max(v.count for v in values)
    label = max(len(v.value) for v in values)
    number = max(len(f"{v.count:,}") for v in values)
    bar_width = max(1, min(BAR_WIDTH, width - 2 - label - 1 - 1 - number))
    for v in values:
        bar = "█" * max(1, round(bar_width * v.count / top)) if v.count else ""
        lines.append(f"  {v.value:<{label}} {click.style(bar, fg='cyan')} {v.count:,}")
    return lines


def stats_text(stats: IndexStats, *, width: int = DEFAULT_WIDTH) -> list[str]:
    """The index's statistics; the index folder is printed whole, facet values are fitted to ``width``."""
    span = "no dates"
    if stats.oldest and stats.newest:
        span = f"{iso(stats.oldest)[:10]} to {iso(stats.newest)[:10]}"
    lines = [
        f"index:     {clean(stats.index_dir)} ({stats.generation}, schema {stats.schema_version})",
        f"articles:  {stats.articles:,} ({stats.seeds:,} seeds, {stats.related:,} related)",
        f"published: {span}",
        f"size:      {_size(stats.size_bytes)}",
        f"updated:   {clean(stats.updated)}",
    ]
    lines += facet_lines("topics", stats.topics, width)
    lines += facet_lines("provider", stats.provider, width)
    return lines


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def similar_text(hit: Hit) -> str:
    """``+2 similar from Reuters, AP``: what a collapsed hit stands for."""
    text = f"+{hit.similar_count} similar"
    if hit.similar_providers:
        text += " from " + ", ".join(clean(p) for p in hit.similar_providers)
    return text


def _field_text(value: object) -> str:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(clean(v) for v in value)
    return clean(value)


def article_text(article: StoredArticle, *, width: int = DEFAULT_WIDTH) -> list[str]:
    """Every field of one article (``newssearch show``), then its related articles and near-duplicates.

    The excerpt and body are wrapped to ``width``, not cut: they are what the reader came for.
    """
    import textwrap

    lines = [click.style(clean(article.title), bold=True)]
    rows = [
        ("url", article.url), ("provider", article.provider), ("domain", article.domain),
        ("published", iso(article.published) if article.published else ""), ("topics", ", ".join(article.topics)),
        ("category", article.category), ("kind", article.kind), ("path", article.path),
        ("related to", article.related_to),
    ]
    lines += [f"{name + ':':<12}{clean(value)}" for name, value in rows if value]
    for name, text in (("excerpt", article.excerpt), ("body", article.body)):
        if text.strip():
            lines += ["", click.style(name, bold=True)]
            for paragraph in text.split("\n\n"):
                lines += textwrap.wrap(clean(paragraph), max(width, MIN_WIDTH)) or [""]
    for name, hits in (("related", article.related), ("near-duplicates", article.duplicates)):
        if hits:
            lines += ["", click.style(f"{name} ({len(hits)})", bold=True)]
            for hit in hits:
                meta = " · ".join(x for x in (clean(hit.provider or hit.domain), iso(hit.published)[:10] if hit.published else "") if x)
                lines.append(fit(f"  {clean(hit.title)} ({meta})" if meta else f"  {clean(hit.title)}", width))
                lines.append("    " + click.style(clean(hit.url), fg="blue"))
    return lines
