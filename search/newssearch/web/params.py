"""The parameters of the HTTP API, declared once: read, checked, and described in OpenAPI.

Each endpoint names the parameters it takes; a request with another one, or
with one given twice that takes a single value, is refused with HTTP 400 and
a JSON object naming it. A typo in a saved URL (``topics=`` for ``topic=``)
should not silently return every article.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..dates import parse_bound
from ..errors import QueryError
from ..query import half_life
from ..searching import DATE_FACETS, MAX_FACET_LIMIT, MAX_LIMIT, SORTS

MAX_FEED_ENTRIES = 100
EXPORT_FORMATS = ("csv", "ndjson")


class ParamError(ValueError):
    """A request parameter that cannot be used; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # str, list, int, enum, bool, date, halflife
    description: str
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    required: bool = False


PARAMS = {
    p.name: p
    for p in (
        Param("q", "str", "The query, in newssearch's syntax (empty: every article, newest first).", ""),
        Param("topic", "list", "Keep articles with this topic; repeat for any of several (case-insensitive)."),
        Param("provider", "list", "Keep articles from this provider; repeat for any of several."),
        Param("category", "str", "Keep articles of this category."),
        Param("since", "date", "Published on or after: YYYY, YYYY-MM, YYYY-MM-DD, an ISO datetime, or 7d/4w/6m/1y."),
        Param("until", "date", "Published on or before (inclusive), same forms as since."),
        Param("now", "date", "The moment relative dates count back from (default: now)."),
        Param("sort", "enum", "Order of the hits.", "relevance", choices=SORTS),
        Param("recency", "halflife", "Favour fresh articles: a relevance score halves (down to a fifth) every "
              "half-life of age, e.g. 12h, 30d, 4w, 6m, 1y; off or empty: no decay."),
        Param("limit", "int", "Hits per page.", 10, 1, MAX_LIMIT),
        Param("page", "int", "Page number, from 1.", 1, 1, None),
        Param("facet_limit", "int", "Values per facet.", 10, 0, MAX_FACET_LIMIT),
        Param("date_facet", "enum", "Bucket of the date histogram.", "year", choices=DATE_FACETS),
        Param("fuzzy", "bool", "Retry a query that finds nothing with its typos corrected.", True),
        Param("collapse", "bool", "One hit per near-duplicate cluster (the same story from other providers), "
              "with the count and providers of the others; false shows every copy.", True),
        Param("format", "enum", "Export format: CSV (one row per hit) or NDJSON (one hit object per line).",
              None, choices=EXPORT_FORMATS, required=True),
        Param("entries", "int", "Entries in the feed (newest matches).", 20, 1, MAX_FEED_ENTRIES),
        Param("url", "str", "The article's url, in any spelling (compared normalised: scheme, www., tracking "
              "parameters and AMP markers make no difference).", required=True),
    )
}

FILTERS = ("q", "topic", "provider", "category", "since", "until", "now", "fuzzy")
SEARCH = FILTERS + ("sort", "recency", "limit", "page", "facet_limit", "date_facet", "collapse")
EXPORT = FILTERS + ("sort", "recency", "format", "collapse")
FEED = FILTERS + ("entries",)
ARTICLE = ("url",)
SIMILAR = ("url", "topic", "provider", "category", "since", "until", "now", "sort", "recency", "limit", "page",
           "facet_limit", "date_facet", "collapse")
STATS = ("limit",)  # top topics and providers listed

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def read(query: Iterable[tuple[str, str]], names: Iterable[str]) -> dict[str, Any]:
    """The values of ``names`` from a request's ``(name, value)`` pairs, defaults filled in.

    Raises :class:`ParamError` for an unknown parameter, a repeated single
    value, a value of the wrong form, and a missing required one.
    """
    allowed = tuple(names)
    given: dict[str, list[str]] = {}
    for name, value in query:
        if name not in allowed:
            raise ParamError(name, f"unknown parameter {name!r}; this endpoint takes {', '.join(allowed)}")
        given.setdefault(name, []).append(value)
    out: dict[str, Any] = {}
    for name in allowed:
        param = PARAMS[name]
        values = given.get(name, [])
        if param.kind == "list":
            out[name] = [v.strip() for v in values if v.strip()]
            continue
        if len(values) > 1:
            raise ParamError(name, f"{name} is given {len(values)} times; it takes one value")
        raw = values[0] if values else None
        if raw is None or (raw.strip() == "" and param.kind != "str"):
            if param.required:
                raise ParamError(name, f"{name} is required")
            out[name] = param.default
            continue
        out[name] = _convert(param, raw)
    _check_dates(out)
    return out


def _convert(param: Param, raw: str) -> Any:
    name, text = param.name, raw.strip()
    if param.kind == "str":
        return raw
    if param.kind == "enum":
        if text not in param.choices:
            raise ParamError(name, f"{name} must be one of {', '.join(param.choices)}, not {raw!r}")
        return text
    if param.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ParamError(name, f"{name} must be true or false, not {raw!r}")
    if param.kind == "int":
        span = f"from {param.minimum}" + (f" to {param.maximum}" if param.maximum is not None else "")
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise ParamError(name, f"{name} must be a whole number {span}, not {raw!r}")
        number = int(text)
        if (param.minimum is not None and number < param.minimum) or (param.maximum is not None and number > param.maximum):
            raise ParamError(name, f"{name} must be a whole number {span}, not {raw!r}")
        return number
    if param.kind == "date":
        return text
    if param.kind == "halflife":
        try:
            if half_life(text) is None:  # "off"
                return None
        except QueryError as exc:
            raise ParamError(name, str(exc)) from None
        return text
    raise AssertionError(param.kind)


def _check_dates(values: dict[str, Any]) -> None:
    """Read the date bounds here, so that an error names the parameter that holds it."""
    bounds: dict[str, datetime] = {}
    now = None
    for name, end in (("now", False), ("since", False), ("until", True)):
        if values.get(name) is None:
            continue
        try:
            bounds[name] = parse_bound(values[name], end=end, now=now)
        except ValueError as exc:
            raise ParamError(name, f"{name}: {exc}") from None
        if name == "now":
            now = bounds[name]
    if "since" in bounds and "until" in bounds and bounds["since"] > bounds["until"]:
        raise ParamError("since", f"since ({values['since']}) is after until ({values['until']})")


def search_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :meth:`IndexSearcher.search` from read parameter values."""
    renames = {"topic": "topics", "provider": "providers"}
    skip = {"q", "format", "entries", "url"}
    return {renames.get(k, k): v for k, v in values.items() if k not in skip}


def openapi_parameter(name: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of one query parameter."""
    param = PARAMS[name]
    schema: dict[str, Any]
    if param.kind == "list":
        schema = {"type": "array", "items": {"type": "string"}}
    elif param.kind == "int":
        schema = {"type": "integer", "minimum": param.minimum}
        if param.maximum is not None:
            schema["maximum"] = param.maximum
    elif param.kind == "enum":
        schema = {"type": "string", "enum": list(param.choices)}
    elif param.kind == "bool":
        schema = {"type": "boolean"}
    else:
        schema = {"type": "string"}
    if param.default is not None and not param.required:
        schema["default"] = param.default
    out: dict[str, Any] = {"name": name, "in": "query", "description": param.description, "schema": schema}
    if param.required:
        out["required"] = True
    if param.kind == "list":
        out["style"], out["explode"] = "form", True
    return out
