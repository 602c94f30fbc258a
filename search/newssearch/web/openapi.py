"""The API's OpenAPI 3.1 description, built from the parameter table and the result dataclasses.

Nothing is written twice: parameters come from :data:`params.PARAMS`, and
the response schemas from the fields of the library's frozen dataclasses,
which are what ``to_data`` turns into JSON.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any

from ..facets import Facets, FacetValue
from ..searching import Hit, IndexStats, SearchResults, StoredArticle
from . import params

_MODELS = (SearchResults, Hit, Facets, FacetValue, IndexStats, StoredArticle)


def _schema_of(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _schema_of(options[0])
        if "$ref" in inner:
            return {"oneOf": [inner, {"type": "null"}]}
        return {**inner, "type": [inner["type"], "null"]}
    if origin in (tuple, list):
        return {"type": "array", "items": _schema_of(typing.get_args(tp)[0])}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return {"$ref": f"#/components/schemas/{tp.__name__}"}
    if tp is datetime:
        return {"type": "string", "format": "date-time"}
    if origin is dict:
        return {"type": "object"}
    return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[tp]}


def _model(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    schema = {
        "type": "object",
        "properties": {f.name: _schema_of(hints[f.name]) for f in fields},
        "required": [f.name for f in fields],
    }
    if cls.__doc__:
        schema["description"] = cls.__doc__.strip().splitlines()[0]
    return schema


def _operation(summary: str, names: tuple[str, ...], content: dict[str, Any], *, not_found: bool = False) -> dict:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    responses = {
        "200": {"description": "OK", "content": content},
        "400": {"description": "A bad parameter, named in the error object", **error},
        "503": {"description": "No index, an unreadable index, or a search over the time limit", **error},
    }
    if not_found:
        responses["404"] = {"description": "The index holds no such article", **error}
    return {"get": {"summary": summary, "parameters": [params.openapi_parameter(n) for n in names], "responses": responses}}


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def openapi_document(version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the newssearch HTTP API."""
    schemas = {cls.__name__: _model(cls) for cls in _MODELS}
    schemas["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "parameter": {"type": "string"}},
        "required": ["error"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newssearch",
            "version": version,
            "description": "Search an index of news article seeds. /api/search returns what "
            "`newssearch query --format json` prints. Unknown parameters are refused.",
        },
        "paths": {
            "/api/search": _operation("Search: one page of hits, the total and the facet counts", params.SEARCH, _json("SearchResults")),
            "/api/stats": _operation("What the index holds", params.STATS, _json("IndexStats")),
            "/api/article": _operation("One article by its url, with its related articles", params.ARTICLE, _json("StoredArticle"), not_found=True),
            "/api/similar": _operation(
                "More like this: articles like the one at url (its most distinctive words), with filters and facets",
                params.SIMILAR, _json("SearchResults"), not_found=True,
            ),
            "/api/export": _operation(
                "Every match of a search, streamed (not one page)",
                params.EXPORT,
                {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/Hit"}}},
            ),
            "/feed.atom": _operation(
                "The newest matches of a search as an Atom feed", params.FEED, {"application/atom+xml": {"schema": {"type": "string"}}}
            ),
        },
        "components": {"schemas": schemas},
    }
