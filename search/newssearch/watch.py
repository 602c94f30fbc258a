"""Keep an index current while seed files appear, change and go: ``newssearch index --watch``.

The folders are watched with ``watchfiles`` (the operating system's change
notifications, through the Rust ``notify`` crate), not a polling loop of
ours. Changes are batched: a burst (a feed dropping 500 files, an editor
saving through a temporary file) becomes one indexing run once no new
change has come for :data:`QUIET_MS`, and at most :data:`MAX_WAIT_MS` after
the first. Each run is an ordinary incremental :func:`index_seeds`: it
reads only new and changed files and drops the ones that are gone, so a
missed or doubled notification cannot leave the index wrong, only late
until the next change.

A run that fails (another process holds the index, a watched folder was
removed) is reported and tried again after :data:`RETRY_MS`, until it
succeeds or the watch stops.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .engines import index_seeds
from .errors import NewssearchError
from .indexing import IndexReport
from .seeds import SEED_SUFFIXES, find_seed_files

QUIET_MS = 300  # a burst has ended when nothing changed for this long
MAX_WAIT_MS = 2000  # but index at most this long after its first change
RETRY_MS = 2000  # after a failed run
WAKE_MS = 200  # how often the watch wakes without a change: to start, to retry, to stop


def is_seed_change(path: str, roots: Iterable[str]) -> bool:
    """Whether a change at ``path`` can matter to the index of ``roots``.

    Seed suffixes only, no hidden files or folders (what :func:`find_seed_files`
    reads); a file given by name matters whatever its suffix. A change to a
    folder itself (renamed, removed) always matters: its files went with it.
    """
    path = os.path.abspath(path)
    roots = [os.path.abspath(r) for r in roots]
    if path in roots:
        return True
    root = next((r for r in roots if path.startswith(r.rstrip(os.sep) + os.sep)), None)
    if root is None:
        return False
    parts = Path(os.path.relpath(path, root)).parts
    if any(part.startswith(".") for part in parts):
        return False
    name = parts[-1]
    dot = name.rfind(".")
    return dot <= 0 or name[dot:].lower() in SEED_SUFFIXES or os.path.isdir(path)


def watch(
    paths: Iterable[str | os.PathLike[str]],
    index_dir: str | os.PathLike[str] | None = None,
    *,
    on_report: Callable[[IndexReport], None],
    on_error: Callable[[Exception], None],
    stop: threading.Event | None = None,
    workers: int | None = None,
    force_polling: bool | None = None,
) -> None:
    """Index ``paths`` into ``index_dir``, then again after every batch of changes, until ``stop`` is set.

    The first run's errors are raised (a missing path, an index of another
    schema); later ones go to ``on_error`` and the run is retried. Every
    finished run goes to ``on_report``, including those that changed
    nothing (a file touched without change).
    """
    import watchfiles

    roots = [os.fspath(p) for p in paths] or ["seeds"]
    find_seed_files(roots)  # a missing path fails now, as in "newssearch index"
    # The watch starts before the first run, so that nothing written during that
    # run is missed: the first batch (changes, or none after WAKE_MS) starts it.
    first, pending, failed_at = True, True, 0.0
    for changes in watchfiles.watch(
        *roots,
        watch_filter=lambda _change, path: is_seed_change(path, roots),
        debounce=MAX_WAIT_MS,
        step=QUIET_MS,
        stop_event=stop,
        rust_timeout=WAKE_MS,
        yield_on_timeout=True,
        raise_interrupt=True,
        force_polling=force_polling,
    ):
        if not changes and not (pending and time.monotonic() - failed_at >= RETRY_MS / 1000):
            continue
        try:
            report = index_seeds(roots, index_dir, workers=workers)
        except (NewssearchError, OSError) as exc:
            if first:
                raise
            pending, failed_at = True, time.monotonic()
            on_error(exc)
            continue
        first = pending = False
        on_report(report)
