"""Turn library results into JSON-ready dicts and into text for a terminal.

Nothing here touches the index. Text output neutralises control characters
(an ANSI escape in a seed's title must not drive the user's terminal); JSON
output leaves escaping to the JSON encoder and carries highlights as
HTML-escaped fragments.
"""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import datetime

import click

from typing import TYPE_CHECKING

from .dates import iso

if TYPE_CHECKING:
    from .facets import FacetValue
    from .indexing import IndexReport
    from .searching import IndexStats, SearchResults

# C0 and C1 controls, DEL, and the bidi controls that can disguise text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
BAR_WIDTH = 30


def clean(text: object) -> str:
    """One printable line: control characters become spaces."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def to_data(value: object) -> object:
    """A dataclass result as plain JSON types; datetimes as ``2020-06-12T11:06:00Z``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
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
    lines += [f"skipped {clean(s.path)}: {clean(s.reason)}" for s in report.skipped]
    lines += [f"warning {clean(w.path)}: {clean(w.reason)}" for w in report.warnings]
    return lines


def results_text(results: SearchResults, *, explain: bool = False) -> list[str]:
    lines: list[str] = []
    if explain:
        lines.append(click.style("parsed: ", dim=True) + clean(results.parsed))
    if results.suggestion and results.total:
        lines.append(f'no results for "{clean(results.query)}"; showing results for "{clean(results.suggestion)}"')
    elif results.suggestion:
        lines.append(f'no results for "{clean(results.query)}"; did you mean "{clean(results.suggestion)}"?')
    lines += [f"note: {clean(note)}" for note in results.notes]
    noun = "result" if results.total == 1 else "results"
    shown = f"{results.total:,} {noun}"
    if results.hits and results.total > len(results.hits):
        first = results.hits[0].rank
        shown += f", {first}-{results.hits[-1].rank} shown"
    lines.append(click.style(shown, bold=True) + f" ({results.took_ms:.1f} ms)")
    for hit in results.hits:
        lines.append("")
        title = highlight_text(hit.title_highlight) if "<mark>" in hit.title_highlight else clean(hit.title)
        lines.append(f"{hit.rank:>3}. " + click.style(title, bold=True))
        meta = [clean(hit.provider or hit.domain or "unknown source")]
        if hit.published:
            meta.append(hit.published.strftime("%Y-%m-%d"))
        if hit.topics:
            meta.append(", ".join(clean(t) for t in hit.topics))
        if hit.kind == "related":
            meta.append("related article")
        lines.append("     " + click.style(" · ".join(meta), fg="green"))
        if hit.highlight:
            lines.append("     " + highlight_text(hit.highlight))
        lines.append("     " + click.style(clean(hit.url), fg="blue"))
    facets = results.facets
    if results.total:
        lines.append("")
        lines += facet_lines("topics", facets.topics)
        lines += facet_lines("provider", facets.provider)
        lines += histogram_lines("published", facets.published)
    return lines


def highlight_text(fragment: str) -> str:
    """An HTML highlight for a terminal: marks in colour, entities decoded, controls removed."""
    parts, last = [], 0
    for match in _MARK.finditer(fragment):
        parts.append(_inline(html.unescape(fragment[last : match.start()])))
        parts.append(click.style(_inline(html.unescape(match.group(1))), fg="yellow", bold=True))
        last = match.end()
    parts.append(_inline(html.unescape(fragment[last:])))
    return "".join(parts).strip()


def _inline(text: str) -> str:
    # Like clean(), but keeps one space at the edges: the pieces are joined back together.
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", text))


def facet_lines(name: str, values: tuple[FacetValue, ...]) -> list[str]:
    if not values:
        return []
    items = " · ".join(f"{clean(v.value)} {v.count:,}" for v in values)
    return [click.style(f"{name}: ", bold=True) + items]


def histogram_lines(name: str, values: tuple[FacetValue, ...]) -> list[str]:
    if not values:
        return []
    top = max(v.count for v in values)
    width = max(len(v.value) for v in values)
    lines = [click.style(f"{name}:", bold=True)]
    for v in values:
        bar = "█" * max(1, round(BAR_WIDTH * v.count / top))
        lines.append(f"  {v.value:<{width}} {click.style(bar, fg='cyan')} {v.count:,}")
    return lines


def stats_text(stats: IndexStats) -> list[str]:
    span = "no dates"
    if stats.oldest and stats.newest:
        span = f"{stats.oldest:%Y-%m-%d} to {stats.newest:%Y-%m-%d}"
    lines = [
        f"index:     {clean(stats.index_dir)} ({stats.generation}, schema {stats.schema_version})",
        f"articles:  {stats.articles:,} ({stats.seeds:,} seeds, {stats.related:,} related)",
        f"published: {span}",
        f"size:      {_size(stats.size_bytes)}",
        f"updated:   {clean(stats.updated)}",
    ]
    lines += facet_lines("topics", stats.topics)
    lines += facet_lines("provider", stats.provider)
    return lines


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} bytes"
