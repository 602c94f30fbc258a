"""The ``newssearch`` command: read options, make one library call, print.

Errors are turned into one line here and nowhere else: ``Error: <message>``
on stderr and exit 1 (2 for bad usage, 128 + the signal's number when
interrupted: 130 for Ctrl-C, 143 for SIGTERM). Never a traceback for
anything newssearch expects to happen, including a standard stream that
cannot be written (a full disk, a closed pipe, a closed descriptor).
"""

from __future__ import annotations

import errno
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from . import __version__
from ._coldstart import defer_unused_imports
from .errors import NewssearchError, QueryError, first_line
from .store import INDEX_ENV

FORMATS = click.Choice(["text", "json"])
QUERY_FORMATS = click.Choice(["text", "json", "csv", "ndjson"])


def _not_empty(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # An empty --index-dir is almost always an unset shell variable ("$DIR"):
    # falling back to ./index would read, or write, the wrong index.
    if value == "":
        raise click.BadParameter("must not be empty", ctx, param)
    return value


def index_dir_option(func: Callable) -> Callable:
    # Not click.Path(file_okay=False): a file where the folder should be is a
    # failure to report in one line (exit 1), like any other unusable folder.
    return click.option(
        "--index-dir",
        type=click.Path(),
        envvar=INDEX_ENV,
        default="index",
        show_default=True,
        callback=_not_empty,
        help=f"Index folder (also ${INDEX_ENV}).",
    )(func)


def engine_option(func: Callable) -> Callable:
    """``--index URL``: a remote engine (newssearch.engines) instead of the ``--index-dir`` folder.

    The command then sees the url as its ``index_dir``: the library takes either.
    """
    import functools

    @functools.wraps(func)
    def command(*args, index_url: str | None = None, **kwargs):
        if index_url:
            kwargs["index_dir"] = index_url
        return func(*args, **kwargs)

    return click.option(
        "--index",
        "index_url",
        metavar="URL",
        help="A search engine instead of the index folder: typesense://HOST:PORT[,HOST:PORT...]/COLLECTION "
             "(the API key is read from $TYPESENSE_API_KEY).",
    )(command)


def filter_options(func: Callable) -> Callable:
    """The filters and sort that query and similar share, as IndexSearcher.search takes them."""
    for option in reversed([
        click.option("--topic", "topics", multiple=True, help="Keep articles with this topic (repeat: any of them)."),
        click.option("--provider", "providers", multiple=True, help="Keep articles from this provider (repeat: any)."),
        click.option("--category", help="Keep articles of this category."),
        click.option("--since", help="Published on or after: YYYY, YYYY-MM, YYYY-MM-DD, ISO datetime, or 7d/4w/6m/1y."),
        click.option("--until", help="Published on or before (inclusive), same forms as --since."),
        click.option("--now", help="The moment relative dates count back from (default: now)."),
        click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance",
                     show_default=True),
    ]):
        func = option(func)
    return func


def page_options(func: Callable) -> Callable:
    """The page and facet options query and similar share."""
    for option in reversed([
        click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="Hits per page."),
        click.option("--page", type=click.IntRange(1), default=1, show_default=True),
        click.option("--facet-limit", type=click.IntRange(0, 1000), default=10, show_default=True,
                     help="Values per facet, and the newest buckets of the date histogram (0: no facets)."),
        click.option("--date-facet", type=click.Choice(["year", "month", "day"]), default="year", show_default=True),
    ]):
        func = option(func)
    return func


def output_options(func: Callable) -> Callable:
    """The output options query and similar share."""
    func = click.option("--all", "every", is_flag=True, help="With --format csv or ndjson: every match, not one page.")(func)
    return click.option("--format", "fmt", type=QUERY_FORMATS, default="text", show_default=True,
                        help="Output format; csv and ndjson print one row or object per hit.")(func)


def _set_color(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # click.echo strips styles when ctx.color is False, keeps them when True and,
    # when None, keeps them only on a terminal.
    if value == "always":
        ctx.color = True
    elif value == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        ctx.color = False
    return value


def synonyms_options(func: Callable) -> Callable:
    """``--synonyms FILE`` and ``--no-synonyms``: the ``synonyms`` argument of ``open_index``."""
    func = click.option("--no-synonyms", is_flag=True, help="Search without synonyms.")(func)
    return click.option(
        "--synonyms",
        "synonyms_file",
        metavar="FILE",
        help="Synonyms file (Solr format: \"a, b, c\" and \"a => b\"); default: $NEWSSEARCH_SYNONYMS, "
        "else the shipped list of news abbreviations.",
    )(func)


def _synonyms(synonyms_file: str | None, no_synonyms: bool) -> str | bool:
    """What ``--synonyms``/``--no-synonyms`` ask of ``open_index``."""
    if synonyms_file is not None and no_synonyms:
        raise _BadUsage("--synonyms and --no-synonyms cannot be combined")
    if no_synonyms:
        return False
    return synonyms_file if synonyms_file is not None else True


def color_option(func: Callable) -> Callable:
    return click.option(
        "--color",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
        expose_value=False,
        is_eager=True,
        callback=_set_color,
        help="Colour the text output: auto is only on a terminal, and never with $NO_COLOR or TERM=dumb.",
    )(func)


class _QueryCommand(click.Command):
    """A command whose words and options mix, where ``-word`` is a negated word.

    A token is an option when it starts with ``--`` (``--limt`` is a mistyped
    option, never a word) or is a dash and one letter (``-n``); any other
    token starting with a dash (``-microsoft``, ``-5``) is a word of the query.
    After ``--`` every token is a word. An unknown option is bad usage
    (exit 2), with click's "did you mean".
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        options: list[str] = []
        words: list[str] = []
        rest = iter(args)
        for arg in rest:
            name = arg.partition("=")[0] if arg.startswith("--") else arg
            if arg == "--":
                words.extend(rest)
            elif name in takes_value:
                options.append(arg)
                if takes_value[name] and "=" not in arg:
                    value = next(rest, None)
                    if value is None:
                        if ctx.resilient_parsing:  # completing its value
                            options.pop()
                            break
                        raise click.BadOptionUsage(name, f"Option {name!r} requires an argument.", ctx)
                    options.append(value)
            elif _looks_like_option(arg) and not ctx.resilient_parsing:
                raise click.NoSuchOption(name, possibilities=[n for n in takes_value if n.startswith("--")], ctx=ctx)
            else:
                words.append(arg)
        # Click's own parser would read "-height" as -h (help) followed by
        # unknown letters: the words reach it only after "--".
        return super().parse_args(ctx, [*options, "--", *words])


def _looks_like_option(arg: str) -> bool:
    return (arg.startswith("--") and len(arg) > 2) or (len(arg) == 2 and arg[0] == "-" and arg[1].isalpha())


class _OutputError(Exception):
    """Standard output or error could not be written (the OSError is ``error``)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _Group(click.Group):
    """The command group; an OSError reaching it is a failed write to a standard stream.

    Every OSError of the library is converted by ``_errors`` inside the
    commands, so what is left comes from printing. Click would end a closed
    pipe with exit 1 and let any other error out as a traceback: ``run``
    decides instead.
    """

    def make_context(self, *args, **kwargs) -> click.Context:  # type: ignore[override]
        try:
            return super().make_context(*args, **kwargs)  # prints --help and --version
        except OSError as exc:
            raise _OutputError(exc) from None
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OSError as exc:
            raise _OutputError(exc) from None
        except click.UsageError as exc:  # the command's own options, parsed here
            raise _one_line(exc) from None


def _one_line(exc: click.UsageError) -> click.ClickException:
    """Click's usage error, as one line like every error (its usage block and hint, folded in)."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        return exc  # plain "newssearch": the help is the answer
    message = " ".join(exc.format_message().split())
    if exc.ctx is not None:
        message += ("" if message.endswith((".", "?", "!", "?)")) else ".") + f' See "{exc.ctx.command_path} --help".'
    return _BadUsage(message)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newssearch")
def cli() -> None:
    """Full-text search for news article seeds.

    \b
    newssearch index                      index ./seeds into ./index
    newssearch query "facial recognition" search it
    newssearch similar URL                articles like the one at URL
    newssearch show URL                   one article, its related articles and near-duplicates
    newssearch stats                      what the index holds
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@index_dir_option
@engine_option
@click.option("--rebuild", is_flag=True, help="Build from scratch instead of updating.")
@click.option("--strict", is_flag=True, help="Exit 1 if any file was skipped.")
@click.option("--quiet", "-q", is_flag=True, help="Print only skipped files and errors.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
@click.option("--workers", type=click.IntRange(1, 64), help="Parsing processes (default: one per core).")
@click.option("--watch", is_flag=True, help="Keep running: index again as seed files appear, change and go.")
@color_option
def index(
    paths: tuple[str, ...], index_dir: str, rebuild: bool, strict: bool, quiet: bool, fmt: str, workers: int | None, watch: bool
) -> None:
    """Index seed files (default: ./seeds) into the index folder.

    Only new and changed files are read; files that are gone leave the index.
    A bad file is skipped and listed, and the run goes on.
    """
    from .engines import index_seeds
    from .render import report_data, report_text

    if watch:
        if rebuild:
            raise _BadUsage("--watch cannot be combined with --rebuild: rebuild once, then watch")
        _watch(paths or ("seeds",), index_dir, workers, quiet, fmt)
        return

    with _errors(index_dir, writing=True), _progress(enabled=not quiet and fmt == "text") as progress:
        report = index_seeds(paths or ("seeds",), index_dir, rebuild=rebuild, workers=workers, progress=progress)
    if fmt == "json":
        click.echo(_json(report_data(report)))
    else:
        lines = report_text(report)
        for line in lines if not quiet else lines[1:]:
            if line.startswith(("skipped", "warning")):
                with _quiet_if_unwritable():  # a diagnostic lost does not change what the run did
                    click.echo(line, err=True)
            else:
                click.echo(line)
    if strict and report.skipped:
        sys.exit(1)


@cli.command(cls=_QueryCommand)
@click.argument("words", nargs=-1)
@index_dir_option
@engine_option
@filter_options
@click.option("--recency", metavar="HALF_LIFE",
              help="Favour fresh articles: a relevance score halves (down to a fifth) every HALF_LIFE of age "
                   "at --now, e.g. 12h, 30d, 4w, 6m, 1y (off: no decay).")
@page_options
@click.option("--no-fuzzy", is_flag=True, help="Do not retry a query that finds nothing with typos corrected.")
@click.option("--no-collapse", is_flag=True,
              help="Show every copy of a story: by default near-duplicates (the same story from other providers) are one hit.")
@click.option("--fields", "field_names", default="", metavar="NAMES",
              help="Stored fields each hit also shows, comma-separated: excerpt, body, path, ...")
@click.option("--explain", is_flag=True, help="Print how the query was parsed.")
@output_options
@synonyms_options
@color_option
def query(
    words: tuple[str, ...], index_dir: str, fmt: str, explain: bool, no_fuzzy: bool, every: bool,
    no_collapse: bool, field_names: str, synonyms_file: str | None, no_synonyms: bool, **options,
) -> None:
    """Search the index. WORDS are joined into one query.

    \b
    Syntax: all words must match; "a phrase", OR, NOT word or -word,
    field:value (title, excerpt, body, topic, provider, category),
    prefix*, word~ (typo-tolerant; word~2 for two typos).
    An empty query lists every article (newest first): browse with filters.

    \b
    Words and options mix. A token starting with -- is an option, and so is
    a dash and one letter (-n): a mistyped option is an error, not a word.
    Any other -word is a negated word. After -- every token is a word:
    newssearch query --limit 5 -- --verbose -5
    """
    from .engines import open_index
    from .render import results_text, terminal_width, to_data

    synonyms = _synonyms(synonyms_file, no_synonyms)
    options["collapse"] = not no_collapse
    if field_names:
        options["fields"] = field_names.split(",")
    if every or fmt in ("csv", "ndjson"):
        if fmt not in ("csv", "ndjson"):
            raise _BadUsage("--all needs --format csv or --format ndjson")
        _export(" ".join(words), index_dir, fmt, every, fuzzy=not no_fuzzy, synonyms=synonyms, **options)
        return
    with _errors(index_dir):
        with open_index(index_dir, synonyms=synonyms) as ix:
            results = ix.search(" ".join(words), fuzzy=not no_fuzzy, **options)
    if fmt == "json":
        click.echo(_json(to_data(results)))
    else:
        lines = results_text(
            results, explain=explain, width=terminal_width(sys.stdout), histogram_rows=options["facet_limit"]
        )
        for line in lines:
            click.echo(line)


@cli.command()
@click.argument("url")
@index_dir_option
@filter_options
@click.option("--recency", metavar="HALF_LIFE", help="Favour fresh articles, as query --recency does.")
@page_options
@click.option("--explain", is_flag=True, help="Print the words picked from the article, with their weights.")
@output_options
@color_option
def similar(url: str, index_dir: str, fmt: str, explain: bool, every: bool, **options) -> None:
    """Articles like the one at URL (as indexed): a search for its most distinctive words.

    The words are picked as Lucene's MoreLikeThis picks them (tf-idf over the
    title, excerpt and body); the article itself is left out. Filters, sorts
    and output are those of "newssearch query".
    """
    from .engines import open_index
    from .export import first_and_rest, iter_similar
    from .render import results_text, terminal_width, to_data

    if every or fmt in ("csv", "ndjson"):
        if fmt not in ("csv", "ndjson"):
            raise _BadUsage("--all needs --format csv or --format ndjson")
        with _errors(index_dir):
            if every:
                hits = first_and_rest(iter_similar(index_dir, url, **options))
            else:
                with open_index(index_dir, synonyms=False) as ix:
                    hits = iter(ix.similar(url, **options).hits)
            _stream_export(fmt, hits)
        return
    with _errors(index_dir):
        with open_index(index_dir, synonyms=False) as ix:  # its query is the article's words: no synonyms
            results = ix.similar(url, **options)
    if fmt == "json":
        click.echo(_json(to_data(results)))
    else:
        for line in results_text(
            results, explain=explain, width=terminal_width(sys.stdout), histogram_rows=options["facet_limit"]
        ):
            click.echo(line)


@cli.command()
@click.argument("url")
@index_dir_option
@engine_option
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
@color_option
def show(url: str, index_dir: str, fmt: str) -> None:
    """Print every field of the article at URL, its related articles and its near-duplicates.

    URL may be any spelling of the address (http or https, www., tracking
    parameters, AMP markers): urls are compared normalised.
    """
    from .engines import open_index
    from .render import article_text, terminal_width, to_data

    with _errors(index_dir):
        with open_index(index_dir) as ix:
            article = ix.get(url)
    if article is None:
        raise click.ClickException(f"the index holds no article at {url}")
    if fmt == "json":
        click.echo(_json(to_data(article)))
    else:
        for line in article_text(article, width=terminal_width(sys.stdout)):
            click.echo(line)


@cli.command()
@index_dir_option
@engine_option
@click.option("--limit", type=click.IntRange(0), default=10, show_default=True, help="Top topics and providers shown.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format.")
@color_option
def stats(index_dir: str, limit: int, fmt: str) -> None:
    """What the index holds: articles, date span, top topics and providers, size."""
    from .engines import open_index
    from .render import stats_text, terminal_width, to_data

    with _errors(index_dir):
        with open_index(index_dir) as ix:
            result = ix.stats(limit)
    if fmt == "json":
        click.echo(_json(to_data(result)))
    else:
        for line in stats_text(result, width=terminal_width(sys.stdout)):
            click.echo(line)


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, writable=True), callback=_not_empty)
@index_dir_option
@engine_option
@click.option("--format", "fmt", type=click.Choice(["opensearch"]), required=True,
              help="opensearch: a mapping and _bulk NDJSON files for OpenSearch and Elasticsearch.")
@click.option("--index-name", default="newssearch", show_default=True, help="The index the _bulk actions name.")
def export(out: str, index_dir: str, fmt: str, index_name: str) -> None:
    """Write the whole index into the folder OUT for another search engine (see README)."""
    from .opensearch import MAPPING_FILE
    from .opensearch import export as export_opensearch

    with _errors(index_dir):
        written = export_opensearch(index_dir, out, index=index_name)
    bulks = len(written.files) - 1
    click.echo(f"exported {written.articles:,} articles to {written.folder}: {MAPPING_FILE} and "
               f"{bulks} _bulk file{'s' if bulks != 1 else ''}")


def _json(data: object) -> str:
    # Readable UTF-8 JSON, or pure ASCII escapes when the output's encoding could not carry it.
    return json.dumps(data, ensure_ascii=not _unicode_output())


def _unicode_output() -> bool:
    import codecs

    try:
        return codecs.lookup(sys.stdout.encoding or "ascii").name.startswith("utf")
    except (AttributeError, LookupError):
        return False


@cli.command()
@index_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every network).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port (0: any free one).")
@click.option("--watch", "watch_paths", multiple=True, type=click.Path(),
              help="Also keep the index current from these seed paths (repeat for several).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes sharing the port (a search uses about one core).")
@synonyms_options
def serve(
    index_dir: str, host: str, port: int, watch_paths: tuple[str, ...], workers: int,
    synonyms_file: str | None, no_synonyms: bool,
) -> None:
    """Serve a search page and a JSON API over the index, read-only.

    The page is at /, the API at /api/search, /api/stats, /api/article,
    /api/similar, /api/export and /feed.atom, described at /api/openapi.json.
    A re-index (by "newssearch index" or --watch) is picked up by the next request.
    """
    from .web.server import run

    synonyms = _synonyms(synonyms_file, no_synonyms)
    with _errors(index_dir):
        run(index_dir, host=host, port=port, watch_paths=watch_paths, workers=workers, synonyms=synonyms)


def _export(query: str, index_dir: str, fmt: str, every: bool, *, synonyms: str | bool = True, **options) -> None:
    """``query --format csv|ndjson``: the page's hits, or with ``--all`` every match, streamed."""
    from .engines import open_index
    from .export import first_and_rest, iter_hits

    with _errors(index_dir):
        if every:
            hits = first_and_rest(iter_hits(index_dir, query, synonyms=synonyms, **options))
        else:
            with open_index(index_dir, synonyms=synonyms) as ix:
                hits = iter(ix.search(query, **options).hits)
        _stream_export(fmt, hits)


def _stream_export(fmt: str, hits) -> None:
    """Write ``hits`` as CSV or NDJSON rows; a reader that leaves early is not an error."""
    from .export import export_lines

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
            click.echo(_json(report_data(report)))
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
    with _errors(index_dir, writing=True):
        try:
            watch(paths, index_dir, on_report=on_report, on_error=on_error, workers=workers)
        except KeyboardInterrupt:
            click.echo("stopped watching", err=True)


class _BadUsage(click.ClickException):
    """A bad option value or query: one line like every error, but exit 2."""

    exit_code = 2


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the signal arrives and handled as Ctrl-C is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _errors(index_dir: str, *, writing: bool = False) -> Iterator[None]:
    """Turn what the library raises into one line; ``writing`` when the command writes the index."""
    try:
        yield
    except QueryError as exc:
        raise _BadUsage(str(exc)) from None
    except NewssearchError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt as exc:
        sys.exit(_interrupted(exc))
    except OSError as exc:
        raise click.ClickException(_os_error(exc, index_dir, writing)) from None
    except Exception as exc:
        # A bug, or a failure nobody foresaw: still one line, the traceback on request.
        if os.environ.get("NEWSSEARCH_DEBUG"):
            raise
        detail = first_line(exc)[:300]
        raise click.ClickException(
            f"unexpected {type(exc).__name__}: {detail} (set NEWSSEARCH_DEBUG=1 to see where; please report it)"
        ) from None


def _os_error(exc: OSError, index_dir: str, writing: bool) -> str:
    """``writing the index at index/: no space left on device (index/gen-000002/x.seg)``.

    A failure without a file name (a write to an open file, as on a full
    disk) or with one inside the index folder is the index's; any other file
    is one the command was reading.
    """
    reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) and (blocker := _file_in_the_way(index_dir)):
        reason = f"{blocker} is a file, not a folder"  # mkdir's "file exists" would not say which
    name = os.fsdecode(exc.filename) if isinstance(exc.filename, (str, bytes, os.PathLike)) else None
    folder = os.path.abspath(index_dir)
    if name is None or os.path.abspath(name) == folder or os.path.abspath(name).startswith(folder + os.sep):
        where = "" if name is None or os.path.abspath(name) == folder else f" ({name})"
        verb = "writing" if writing else "reading"
        return f"{verb} the index at {index_dir.rstrip(os.sep) + os.sep}: {reason}{where}"
    return f"reading {name}: {reason}"


def _file_in_the_way(index_dir: str) -> str | None:
    """The index folder, or the first of its parents, that exists and is not a folder."""
    path = os.path.normpath(index_dir)
    while path and path != os.path.dirname(path):
        if os.path.lexists(path):
            return None if os.path.isdir(path) else path
        path = os.path.dirname(path)
    return None


def _interrupted(exc: BaseException | None) -> int:
    """Say the run was stopped; the exit status is 128 + the signal's number."""
    import signal

    signum = getattr(exc, "signum", signal.SIGINT)
    how = "interrupted" if signum == signal.SIGINT else f"interrupted by {signal.Signals(signum).name}"
    with _quiet_if_unwritable():
        click.echo(f"Error: {how}; the index is as it was before this run", err=True)
    return 128 + signum


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar = None
    broken = False

    def update(done: int, total: int) -> None:
        # The bar is decoration: a terminal that stops taking it (closed, hung up)
        # must not stop the indexing, nor be reported as a failure of the index.
        nonlocal bar, broken
        if broken:
            return
        try:
            if bar is None:
                bar = click.progressbar(length=total, label="parsing", file=sys.stderr)
                bar.__enter__()
            bar.update(done - bar.pos)
        except OSError:
            broken = True

    try:
        yield update
    finally:
        if bar is not None and not broken:
            with _quiet_if_unwritable():
                bar.__exit__(None, None, None)


def main() -> None:
    """The console script."""
    defer_unused_imports()
    _stop_on_termination()
    sys.exit(run(sys.argv[1:]))


def run(args: list[str]) -> int:
    """Run the command line on ``args`` and return its exit status, whatever its streams do.

    Click's standalone mode is replaced here so that a standard stream that
    cannot be written ends the run with one line (or silently, for a closed
    pipe as Unix tools do) instead of a traceback.
    """
    _occupy_closed_streams()
    for stream in (sys.stdout, sys.stderr):
        # A terminal or a PYTHONIOENCODING that cannot encode a title's “quotes”
        # gets "?" for them, not a UnicodeEncodeError halfway through the output.
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="replace")
    try:
        try:
            code = cli.main(args, prog_name="newssearch", standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
        except click.ClickException as exc:
            code = exc.exit_code
            with _quiet_if_unwritable():
                exc.show()
        except click.Abort as exc:  # Ctrl-C outside the library call; click wraps it
            code = _interrupted(exc.__cause__)
        if sys.stdout is not None:
            sys.stdout.flush()
    except _OutputError as exc:
        code = _output_failed(exc.error)
    except OSError as exc:
        code = _output_failed(exc)
    except KeyboardInterrupt as exc:  # while reporting: the status still says why
        code = 128 + getattr(exc, "signum", 2)
    return code if isinstance(code, int) else (0 if code is None else 1)


def _output_failed(exc: OSError) -> int:
    """Standard output (or error) could not be written: the whole output is in doubt.

    A closed pipe (``| head``) is how a reader says it has enough: exit
    quietly with the status a process killed by SIGPIPE has, as Unix tools
    do. Anything else (a full disk, a closed descriptor) is one line on
    stderr, when stderr can take it, and exit 1.
    """
    _discard(sys.stdout, 1)
    if exc.errno == errno.EPIPE:
        _discard(sys.stderr, 2)
        return 128 + 13  # SIGPIPE
    with _quiet_if_unwritable():
        click.echo(f"Error: writing the output: {(exc.strerror or str(exc)).lower()}", err=True)
    return 1


@contextmanager
def _quiet_if_unwritable() -> Iterator[None]:
    """Write to stderr if it can be written; if not, drop what is pending and go on."""
    try:
        yield
    except OSError:
        _discard(sys.stderr, 2)


def _discard(stream, fd: int) -> None:
    # What a failed write left in the stream's buffer would be flushed again,
    # and fail again noisily, when the interpreter exits: point the descriptor
    # at /dev/null so that last flush goes nowhere.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def _occupy_closed_streams() -> None:
    """Give a closed standard output or error a descriptor (``newssearch query x >&-``).

    Python sets ``sys.stdout`` to None when descriptor 1 is closed, and
    click then prints nothing at all, silently: the results would be lost
    with exit 0, as would an index file opened as descriptor 1 take every
    write meant for output. Descriptor 1 becomes /dev/null opened read-only,
    so that printing fails as it should ("bad file descriptor", exit 1);
    descriptor 2 becomes /dev/null, so that messages go nowhere.
    """
    for fd, name, mode in ((1, "stdout", os.O_RDONLY), (2, "stderr", os.O_WRONLY)):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
            continue  # replaced by someone who knows better (a test runner)
        except OSError:
            pass
        devnull = os.open(os.devnull, mode)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
        setattr(sys, name, open(fd, "w", closefd=False))


def _stop_on_termination() -> None:
    """Make SIGTERM and SIGHUP stop a run as Ctrl-C does.

    ``timeout``, systemd and container runtimes stop a process with
    SIGTERM; a closed terminal sends SIGHUP. Either now raises
    :class:`_Terminated` (a ``KeyboardInterrupt``), so an indexing run is
    cancelled through the same ``with`` blocks and the same one-line message
    as Ctrl-C, and exits 128 + the signal's number. Indexing workers are
    forked with this handler: in them it restores the default and resends
    the signal, so a worker dies of it as before and its indexer decides.
    """
    import signal

    pid = os.getpid()

    def stop(signum: int, frame: object) -> None:
        if os.getpid() != pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise _Terminated(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:  # not if the caller chose to ignore it (nohup)
            signal.signal(signum, stop)


if __name__ == "__main__":
    main()
