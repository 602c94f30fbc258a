"""The ASGI application: the search page, the article page, and the JSON API.

Routes::

    GET /                  the search page (every state in the URL)
    GET /article?url=      one article
    GET /api/search        IndexSearcher.search as JSON: newssearch query --format json
    GET /api/stats         IndexSearcher.stats as JSON: newssearch stats --format json
    GET /api/article?url=  IndexSearcher.article as JSON
    GET /api/similar?url=  IndexSearcher.similar as JSON: newssearch similar URL --format json
    GET /api/export        every match as CSV or NDJSON, streamed
    GET /feed.atom         the newest matches as an Atom feed
    GET /api/openapi.json  the API's OpenAPI 3.1 description

Errors: a bad parameter is HTTP 400 with ``{"error": message, "parameter":
name}``; no index (or one that cannot be read) is 503; a search that takes
longer than :data:`REQUEST_SECONDS` is 503 too. The searcher runs in worker
threads, so a slow search never stalls the event loop.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import __version__
from ..errors import ArticleNotFoundError, IndexCorruptError, IndexNotFoundError, QueryError, SchemaVersionError
from ..export import atom_feed, export_lines, first_and_rest, iter_hits
from ..render import to_data
from ..searching import IndexSearcher, open_index
from ..synonyms import Synonyms
from ..synonyms import resolve as resolve_synonyms
from . import params, view
from .openapi import openapi_document

HERE = Path(__file__).parent
SEARCHERS = 2  # searchers shared by the requests (see Index)
MORE_LIKE_THIS = 5  # the similar articles an article page lists
REQUEST_SECONDS = 10.0  # a search that takes longer is answered 503; its thread finishes alone
# No inline script or style, nothing from another origin: a seed's text that
# slips through escaping still cannot run or load anything.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_UNAVAILABLE = (IndexNotFoundError, SchemaVersionError, IndexCorruptError)


class Index:
    """The served index: a few searchers, opened on first use, so a server may start before the first index.

    An :class:`IndexSearcher` serialises its calls, so the server keeps up to
    ``searchers`` of them and lends one to each request (NumPy releases the
    interpreter lock in its large array operations, so two searches do run
    partly in parallel). Each switches to a new generation by itself when the
    index is re-indexed, and a search sees one generation from its matches to
    its facet counts.
    """

    def __init__(self, index_dir: Path, searchers: int = SEARCHERS, synonyms: Synonyms | None = None) -> None:
        self.index_dir = index_dir
        self.synonyms = synonyms
        self._idle: list[IndexSearcher] = []
        self._all: list[IndexSearcher] = []
        self._size = max(1, searchers)
        self._lock = threading.Lock()
        self._free = threading.Semaphore(self._size)

    def use(self, func: Callable[[IndexSearcher], Any]) -> Any:
        """``func(searcher)`` with a searcher of its own for the call."""
        with self._free:
            with self._lock:
                searcher = self._idle.pop() if self._idle else None
            if searcher is None:
                searcher = open_index(self.index_dir, synonyms=self.synonyms)
                with self._lock:
                    self._all.append(searcher)
            try:
                return func(searcher)
            finally:
                with self._lock:
                    keep = searcher in self._all
                    if keep:
                        self._idle.append(searcher)
                if not keep:  # closed while lent: close it now that it is back
                    searcher.close()

    def close(self) -> None:
        """Close the searchers (those lent out when they come back): the next request opens afresh."""
        with self._lock:
            idle, self._all, self._idle = self._idle, [], []
        for searcher in idle:
            searcher.close()


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every response (streamed ones too)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    index_dir: str | Path,
    *,
    request_seconds: float = REQUEST_SECONDS,
    searchers: int = SEARCHERS,
    synonyms: Synonyms | str | Path | bool | None = True,
) -> Starlette:
    """The ASGI application serving ``index_dir``; ``synonyms`` as :func:`open_index` takes them.

    The synonyms are read here, once: a bad file is reported when the server starts.
    """
    index = Index(Path(index_dir), searchers, resolve_synonyms(synonyms))
    # Autoescape everything, whatever a template's name: all text comes from seeds.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
    templates = Jinja2Templates(env=env)
    templates.env.globals.update(version=__version__, recency_choices=view.RECENCY_CHOICES)
    templates.env.filters.update(view.FILTERS)

    async def call(func: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run a library call in a worker thread, within the time limit."""
        with anyio.fail_after(request_seconds):
            return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs), abandon_on_cancel=True)

    def error(status: int, message: str, parameter: str | None = None) -> JSONResponse:
        body: dict[str, Any] = {"error": message}
        if parameter is not None:
            body["parameter"] = parameter
        headers = {"Retry-After": "5"} if status == 503 else None
        return JSONResponse(body, status_code=status, headers=headers)

    async def guarded(request: Request, names: tuple[str, ...], handler) -> Response:
        """Read ``names`` from the request, run ``handler(values)``, and turn failures into JSON errors."""
        try:
            values = params.read(request.query_params.multi_items(), names)
            return await handler(values)
        except params.ParamError as exc:
            return error(400, exc.message, exc.parameter)
        except QueryError as exc:  # what the parameters cannot catch: the query itself
            return error(400, str(exc), "q")
        except _UNAVAILABLE as exc:
            index.close()  # open afresh next time: the index may be (re)built by then
            return error(503, str(exc))
        except TimeoutError:
            return error(503, f"the request took longer than {request_seconds:g} s; try a narrower query")

    # -- API ---------------------------------------------------------------

    async def api_search(request: Request) -> Response:
        async def handler(values):
            results = await call(lambda: index.use(lambda ix: ix.search(values["q"], **params.search_options(values))))
            return JSONResponse(to_data(results))

        return await guarded(request, params.SEARCH, handler)

    async def api_stats(request: Request) -> Response:
        async def handler(values):
            stats = await call(lambda: index.use(lambda ix: ix.stats(values["limit"])))
            return JSONResponse(to_data(stats))

        return await guarded(request, params.STATS, handler)

    async def api_article(request: Request) -> Response:
        async def handler(values):
            article = await call(lambda: index.use(lambda ix: ix.get(values["url"])))
            if article is None:
                return error(404, "the index holds no article with this url", "url")
            return JSONResponse(to_data(article))

        return await guarded(request, params.ARTICLE, handler)

    async def api_similar(request: Request) -> Response:
        async def handler(values):
            options = params.search_options(values)
            try:
                results = await call(lambda: index.use(lambda ix: ix.similar(values["url"], **options)))
            except ArticleNotFoundError:
                return error(404, "the index holds no article with this url", "url")
            return JSONResponse(to_data(results))

        return await guarded(request, params.SIMILAR, handler)

    async def api_export(request: Request) -> Response:
        async def handler(values):
            fmt = values["format"]
            options = params.search_options(values)
            await call(lambda: index.use(lambda ix: None))  # 503 before any byte is sent when there is no index
            # The first page is searched before the response starts, so that a
            # bad query is a 400, not a broken stream.
            hits = await call(lambda: first_and_rest(iter_hits(index.index_dir, values["q"], **options)))
            media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
            name = f"newssearch-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.{fmt if fmt == 'csv' else 'ndjson'}"
            return StreamingResponse(
                (chunk.encode("utf-8") for chunk in export_lines(fmt, hits)),
                media_type=media,
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )

        return await guarded(request, params.EXPORT, handler)

    async def feed(request: Request) -> Response:
        async def handler(values):
            options = params.search_options(values)
            options.update(sort="newest", limit=values["entries"], facet_limit=0)
            results = await call(lambda: index.use(lambda ix: ix.search(values["q"], **options)))
            query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "entries"])
            title = f"newssearch: {values['q']}" if values["q"].strip() else "newssearch: newest articles"
            body = atom_feed(
                results,
                feed_url=str(request.url),
                page_url=str(request.url_for("page")) + ("?" + query if query else ""),
                title=title,
            )
            return Response(body, media_type="application/atom+xml; charset=utf-8")

        return await guarded(request, params.FEED, handler)

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(__version__))

    # -- pages -------------------------------------------------------------

    async def page(request: Request) -> Response:
        state = view.PageState.from_request(request.query_params.multi_items())
        context: dict[str, Any] = {"state": state, "results": None, "error": None, "problem": None}
        status = 200
        if state.error is not None:
            context["error"], status = state.error, 400
        else:
            try:
                results = await call(lambda: index.use(lambda ix: ix.search(state.values["q"], **state.search_options())))
                context["results"] = results
                context["page"] = view.ResultsView(results, state)
            except QueryError as exc:
                context["error"], status = params.ParamError("q", str(exc)), 400
            except _UNAVAILABLE as exc:
                index.close()
                context["problem"], status = str(exc), 503
            except TimeoutError:
                context["problem"], status = f"the search took longer than {request_seconds:g} s; try a narrower query", 503
        return templates.TemplateResponse(request, "search.html", context, status_code=status)

    async def article_page(request: Request) -> Response:
        url = request.query_params.get("url", "")
        context: dict[str, Any] = {"article": None, "problem": None, "url": url, "back": request.query_params.get("back", "")}
        status = 200
        try:
            article = await call(lambda: index.use(lambda ix: ix.get(url)))
            context["more"] = None
            if article is not None:
                with contextlib.suppress(ArticleNotFoundError):  # gone in a re-index between the two calls
                    more = await call(lambda: index.use(lambda ix: ix.similar(url, limit=MORE_LIKE_THIS, facet_limit=0)))
                    context["more"] = more.hits
            if article is None:
                context["problem"], status = "The index holds no article with this url.", 404
            context["article"] = article
        except _UNAVAILABLE as exc:
            index.close()
            context["problem"], status = str(exc), 503
        except TimeoutError:
            context["problem"], status = "the request took too long", 503
        return templates.TemplateResponse(request, "article.html", context, status_code=status)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            index.close()

    routes = [
        Route("/", page, name="page"),
        Route("/article", article_page, name="article"),
        Route("/api/search", api_search),
        Route("/api/stats", api_stats),
        Route("/api/article", api_article),
        Route("/api/similar", api_similar),
        Route("/api/export", api_export),
        Route("/api/openapi.json", openapi),
        Route("/feed.atom", feed, name="feed"),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(SecurityHeaders)
    app.state.index = index
    return app
