"""What the pages show, computed from a search's results: links, ranges, bars, highlighted titles.

The page's whole state lives in its URL (query, filters, sort, page, date
level), so every link here is the current state with one change.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from ..dates import parse_bound
from ..export import link_target
from ..searching import SearchResults
from . import params

PAGE_FACET_LIMIT = 50  # the page lists more values than the API's default: it has a filter box
# The recency choices the page offers (the API takes any half-life): value, label.
RECENCY_CHOICES = (("", "Off"), ("7d", "1 week"), ("30d", "30 days"), ("1y", "1 year"))
NEXT_LEVEL = {"year": "month", "month": "day", "day": "day"}
BAR_STEPS = 25  # bar heights are CSS classes h0..h25: the policy allows no inline style


@dataclass
class PageState:
    """The page's parameters: the raw strings as given (for links) and their checked values."""

    given: dict[str, list[str]]
    values: dict[str, Any]
    error: params.ParamError | None = None

    @classmethod
    def from_request(cls, items: Iterable[tuple[str, str]]) -> PageState:
        # The page ignores parameters it does not know (an old bookmark); the API refuses them.
        given: dict[str, list[str]] = {}
        for name, value in items:
            if name in params.SEARCH:
                given.setdefault(name, []).append(value)
        pairs = [(n, v) for n, vs in given.items() for v in vs]
        try:
            values = params.read(pairs, params.SEARCH)
            error = None
        except params.ParamError as exc:
            values, error = params.read([], params.SEARCH), exc
        if "facet_limit" not in given:
            values["facet_limit"] = PAGE_FACET_LIMIT
        return cls(given, values, error)

    def search_options(self) -> dict[str, Any]:
        return params.search_options(self.values)

    def first(self, name: str) -> str:
        return (self.given.get(name) or [""])[0]

    def selected(self, name: str) -> set[str]:
        return {v.casefold() for v in self.values.get(name) or ()}

    def url(self, **changes: Any) -> str:
        """This page's URL with ``changes`` (None removes a parameter); back to page 1 unless ``page`` is given."""
        state = {k: list(v) for k, v in self.given.items()}
        if "page" not in changes:
            state.pop("page", None)
        for name, value in changes.items():
            if value is None or value == "" or value == []:
                state.pop(name, None)
            else:
                state[name] = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        pairs = [(name, v) for name in params.SEARCH for v in state.get(name, []) if v != ""]
        return "/?" + urlencode(pairs) if pairs else "/"

    def api_url(self, path: str, **extra: str) -> str:
        pairs = [(n, v) for n in params.FILTERS for v in self.given.get(n, []) if v != ""]
        if path == "/api/export":
            pairs += [(name, self.first(name)) for name in ("sort", "recency") if self.first(name)]
        pairs += list(extra.items())
        return path + ("?" + urlencode(pairs) if pairs else "")


@dataclass
class Bar:
    label: str
    count: int
    step: int
    href: str
    current: bool


@dataclass
class ResultsView:
    """Everything the results part of the page shows besides the hits themselves."""

    results: SearchResults
    state: PageState

    @property
    def range_text(self) -> str:
        r = self.results
        if not r.hits:
            return f"0 of {r.total:,}"
        return f"{r.hits[0].rank:,}\u2013{r.hits[-1].rank:,} of {r.total:,}"

    @property
    def pages(self) -> int:
        return max(1, -(-self.results.total // self.results.limit))

    def page_links(self) -> list[tuple[str, str | None, bool]]:
        """(label, href, is_current) for a compact pager: first, last, and two around the current page."""
        current, last = self.results.page, self.pages
        shown = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
        out: list[tuple[str, str | None, bool]] = []
        previous = 0
        for n in shown:
            if n - previous > 1:
                out.append(("\u2026", None, False))
            out.append((f"{n:,}", self.state.url(page=n), n == current))
            previous = n
        return out

    def bars(self) -> list[Bar]:
        values = self.results.facets.published
        if not values:
            return []
        # The date facet is counted without its own filter (a multi-select
        # facet), so it spans every date; a drill-down shows the chosen span.
        low, high = self._date_span()
        if low is not None or high is not None:
            values = tuple(v for v in values if _overlaps(v.value, low, high)) or values
        top = max(v.count for v in values)
        level = self.state.values["date_facet"]
        nxt = NEXT_LEVEL[level]
        return [
            Bar(
                label=v.value,
                count=v.count,
                step=max(1, round(BAR_STEPS * v.count / top)),
                href=self.state.url(since=v.value, until=v.value, date_facet=nxt),
                current=self.state.first("since") == v.value == self.state.first("until"),
            )
            for v in values
        ]

    def _date_span(self) -> tuple[datetime | None, datetime | None]:
        values = self.state.values
        try:
            now = parse_bound(values["now"], end=False) if values.get("now") else None
            low = parse_bound(values["since"], end=False, now=now) if values.get("since") else None
            high = parse_bound(values["until"], end=True, now=now) if values.get("until") else None
        except ValueError:
            return None, None
        return low, high

    def unlisted(self, name: str, values) -> list[str]:
        """Chosen values of a facet that its counts do not list (none left, or past the facet limit)."""
        listed = {v.value.casefold() for v in values}
        return [c for c in self.state.values[name] if c.casefold() not in listed]

    def title_html(self, hit) -> Markup:
        """The title, escaped, with the query's words in ``<mark>``, as the library marks it."""
        return Markup(hit.title_highlight or html.escape(hit.title))


def _overlaps(bucket: str, low: datetime | None, high: datetime | None) -> bool:
    """Whether a histogram bucket (``2020``, ``2020-06``, ``2020-06-12``) overlaps the span low..high."""
    start, end = parse_bound(bucket, end=False), parse_bound(bucket, end=True)
    return (low is None or end >= low) and (high is None or start <= high)


def safe_back(value: str) -> str:
    """A "back to results" target: only a search page of this site, never another origin or scheme."""
    return value if value == "/" or value.startswith("/?") else "/"


FILTERS = {
    "link_target": link_target,
    "safe_back": safe_back,
    "thousands": lambda n: f"{n:,}",
}
