"""The ``newssearch`` command: read options, make one library call, print.

Errors are turned into one line here and nowhere else: ``Error: <message>``
on stderr and exit 1 (2 for bad usage, 130 when interrupted). Never a
traceback for anything newssearch expects to happen.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from . import __version__
from .errors import NewssearchError, QueryError
from .store import INDEX_ENV

FORMATS = click.Choice(["text", "json"])
QUERY_FORMATS = click.Choice(["text", "json", "csv", "ndjson"])


def index_dir_option(func: Callable) -> Callable:
    return click.option(
        "--index-dir",
        type=click.Path(file_okay=False),
        envvar=INDEX_ENV,
        default="index",
        show_default=True,
        help=f"Index folder (also ${INDEX_ENV}).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newssearch")
def cli() -> None:
    """Full-text search for news article seeds.

    \b
    newssearch index                      index ./seeds into ./index
    newssearch query "facial recognition" search it
    newssearch stats                      what the index holds
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@index_dir_option
@click.option("--rebuild", is_flag=True, help="Build from scratch instead of updating.")
@click.option("--strict", is_flag=True, help="Exit 1 if any file was skipped.")
@click.option("--quiet", "-q", is_flag=True, help="Print only skipped files and errors.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
@click.option("--workers", type=click.IntRange(1, 64), help="Parsing processes (default: one per core).")
@click.option("--watch", is_flag=True, help="Keep running: index again as seed files appear, change and go.")
def index(paths: tuple[str, ...], index_dir: str, rebuild: bool, strict: bool, quiet: bool, fmt: str, workers: int | None, watch: bool) -> None:
    """Index seed files (default: ./seeds) into the index folder.

    Only new and changed files are read; files that are gone leave the index.
    A bad file is skipped and listed, and the run goes on.
    """
    from .indexing import index_seeds
    from .render import report_data, report_text

    if watch:
        if rebuild:
            raise _BadUsage("--watch cannot be combined with --rebuild: rebuild once, then watch")
        _watch(paths or ("seeds",), index_dir, workers, quiet, fmt)
        return

    with _errors(), _progress(enabled=not quiet and fmt == "text") as progress:
        report = index_seeds(paths or ("seeds",), index_dir, rebuild=rebuild, workers=workers, progress=progress)
    if fmt == "json":
        click.echo(json.dumps(report_data(report), ensure_ascii=False))
    else:
        lines = report_text(report)
        for line in lines if not quiet else lines[1:]:
            click.echo(line, err=line.startswith(("skipped", "warning")))
    if strict and report.skipped:
        sys.exit(1)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1)
@index_dir_option
@click.option("--topic", "topics", multiple=True, help="Keep articles with this topic (repeat: any of them).")
@click.option("--provider", "providers", multiple=True, help="Keep articles from this provider (repeat: any).")
@click.option("--category", help="Keep articles of this category.")
@click.option("--since", help="Published on or after: YYYY, YYYY-MM, YYYY-MM-DD, ISO datetime, or 7d/4w/6m/1y.")
@click.option("--until", help="Published on or before (inclusive), same forms as --since.")
@click.option("--now", help="The moment relative dates count back from (default: now).")
@click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="Hits per page.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--facet-limit", type=click.IntRange(0), default=10, show_default=True, help="Values per facet.")
@click.option("--date-facet", type=click.Choice(["year", "month", "day"]), default="year", show_default=True)
@click.option("--no-fuzzy", is_flag=True, help="Do not retry a query that finds nothing with typos corrected.")
@click.option("--explain", is_flag=True, help="Print how the query was parsed.")
@click.option("--format", "fmt", type=QUERY_FORMATS, default="text", show_default=True,
              help="Output format; csv and ndjson print one row or object per hit.")
@click.option("--all", "every", is_flag=True, help="With --format csv or ndjson: every match, not one page.")
def query(words: tuple[str, ...], index_dir: str, fmt: str, explain: bool, no_fuzzy: bool, every: bool, **options) -> None:
    """Search the index. WORDS are joined into one query.

    \b
    Syntax: all words must match; "a phrase", OR, NOT word or -word,
    field:value (title, excerpt, body, topic, provider, category),
    prefix*, word~ (typo-tolerant; word~2 for two typos).
    An empty query lists every article (newest first): browse with filters.
    """
    from .render import results_text, to_data
    from .searching import open_index

    if every or fmt in ("csv", "ndjson"):
        if fmt not in ("csv", "ndjson"):
            raise _BadUsage("--all needs --format csv or --format ndjson")
        _export(" ".join(words), index_dir, fmt, every, fuzzy=not no_fuzzy, **options)
        return
    with _errors():
        with open_index(index_dir) as ix:
            results = ix.search(" ".join(words), fuzzy=not no_fuzzy, **options)
    if fmt == "json":
        click.echo(json.dumps(to_data(results), ensure_ascii=False))
    else:
        for line in results_text(results, explain=explain):
            click.echo(line)


@cli.command()
@index_dir_option
@click.option("--limit", type=click.IntRange(0), default=10, show_default=True, help="Top topics and providers shown.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
def stats(index_dir: str, limit: int, fmt: str) -> None:
    """What the index holds: articles, date span, top topics and providers, size."""
    from .render import stats_text, to_data
    from .searching import open_index

    with _errors():
        with open_index(index_dir) as ix:
            result = ix.stats(limit)
    if fmt == "json":
        click.echo(json.dumps(to_data(result), ensure_ascii=False))
    else:
        for line in stats_text(result):
            click.echo(line)


@cli.command()
@index_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every network).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port (0: any free one).")
@click.option("--watch", "watch_paths", multiple=True, type=click.Path(),
              help="Also keep the index current from these seed paths (repeat for several).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes sharing the port (a search uses about one core).")
def serve(index_dir: str, host: str, port: int, watch_paths: tuple[str, ...], workers: int) -> None:
    """Serve a search page and a JSON API over the index, read-only.

    The page is at /, the API at /api/search, /api/stats, /api/article,
    /api/export and /feed.atom, described at /api/openapi.json. A re-index
    (by "newssearch index" or --watch) is picked up by the next request.
    """
    from .web.server import run

    with _errors():
        run(index_dir, host=host, port=port, watch_paths=watch_paths, workers=workers)


def _export(query: str, index_dir: str, fmt: str, every: bool, **options) -> None:
    """``query --format csv|ndjson``: the page's hits, or with ``--all`` every match, streamed."""
    from .export import export_lines, first_and_rest, iter_hits
    from .searching import open_index

    with _errors():
        if every:
            hits = first_and_rest(iter_hits(index_dir, query, **options))
        else:
            with open_index(index_dir) as ix:
                hits = iter(ix.search(query, **options).hits)
        try:
            for chunk in export_lines(fmt, hits):
                sys.stdout.write(chunk)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader (head, a closed pager) has all it wanted: not an error.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)


def _watch(paths: tuple[str, ...], index_dir: str, workers: int | None, quiet: bool, fmt: str) -> None:
    """``index --watch``: one report per run (a JSON object per line with --format json)."""
    import signal

    from .render import report_data, report_text
    from .watch import watch

    def on_report(report) -> None:
        if fmt == "json":
            click.echo(json.dumps(report_data(report), ensure_ascii=False))
            return
        lines = report_text(report)
        for line in lines if not quiet else lines[1:]:
            click.echo(line, err=line.startswith(("skipped", "warning")))

    def on_error(exc: Exception) -> None:
        click.echo(f"Error: {exc} (will try again)", err=True)

    # Ctrl+C and SIGTERM (a service manager's stop) both end the watch between
    # runs, or cancel the run under way (the index stays as it was). SIGINT is
    # set explicitly: a process started in the background inherits it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))
    if fmt == "text" and not quiet:
        click.echo(f"watching {', '.join(paths)} (Ctrl+C stops)", err=True)
    with _errors():
        try:
            watch(paths, index_dir, on_report=on_report, on_error=on_error, workers=workers)
        except KeyboardInterrupt:
            click.echo("stopped watching", err=True)


class _BadUsage(click.ClickException):
    """A bad option value or query: one line like every error, but exit 2."""

    exit_code = 2


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except QueryError as exc:
        raise _BadUsage(str(exc)) from None
    except NewssearchError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("Error: interrupted; the index is as it was before this run", err=True)
        sys.exit(130)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise click.ClickException(f"{where}{(exc.strerror or str(exc)).lower()}") from None
    except Exception as exc:
        # A bug, or a failure nobody foresaw: still one line, the traceback on request.
        if os.environ.get("NEWSSEARCH_DEBUG"):
            raise
        detail = (str(exc).splitlines() or [""])[0][:300]
        raise click.ClickException(
            f"unexpected {type(exc).__name__}: {detail} (set NEWSSEARCH_DEBUG=1 to see where; please report it)"
        ) from None


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="parsing", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def main() -> None:
    _defer_unused_imports()
    cli(prog_name="newssearch")


def _defer_unused_imports() -> None:
    """Spare a command-line run two imports Whoosh makes and newssearch never uses.

    ``whoosh.compat`` imports ``urllib.request`` (HTTP and e-mail parsing,
    about 25 ms) for a download helper, and ``cached_property`` imports
    ``asyncio`` (about 20 ms) for coroutine support: together about a fifth
    of a cold ``newssearch query``. Each is replaced by a stub only while the
    module that imports it loads; the stub's functions import the real module
    when first called, so ``urlretrieve`` and async cached properties still
    work. Only this process is touched: the library never does this to its
    host. (A ``LazyLoader`` does not help on Python 3.11: ``import asyncio``
    touches the module and loads it at once.)
    """
    import importlib
    import inspect  # already loaded (dataclasses imports it)
    import types

    def real(name: str, attribute: str):
        return getattr(importlib.import_module(name), attribute)

    def iscoroutinefunction(func) -> bool:
        if isinstance(sys.modules.get("asyncio"), types.ModuleType) and "asyncio.base_events" in sys.modules:
            return real("asyncio", "iscoroutinefunction")(func)
        return inspect.iscoroutinefunction(func)  # what asyncio's answers on Python 3.11+

    stubs = {
        ("urllib.request", "whoosh.compat"): {"urlretrieve": lambda *a, **k: real("urllib.request", "urlretrieve")(*a, **k)},
        ("asyncio", "cached_property"): {
            "iscoroutinefunction": iscoroutinefunction,
            "ensure_future": lambda *a, **k: real("asyncio", "ensure_future")(*a, **k),
        },
    }
    for (name, importer), functions in stubs.items():
        if name in sys.modules or importer in sys.modules:
            continue
        stub = types.ModuleType(name)
        stub.__dict__.update(functions)
        sys.modules[name] = stub
        try:
            importlib.import_module(importer)
        except ImportError:
            pass  # not installed: nothing to spare
        finally:
            if sys.modules.get(name) is stub:
                del sys.modules[name]


if __name__ == "__main__":
    main()
