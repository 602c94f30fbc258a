"""Run the web application with uvicorn, and the ``--watch`` indexer beside it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence

import click
import uvicorn

from ..errors import InputPathError, NewssearchError
from ..store import resolve_index_dir
from ..synonyms import Synonyms
from ..synonyms import resolve as resolve_synonyms
from .app import create_app


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a busy port or an unknown host is a one-line error."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise NewssearchError(f"cannot listen on {host}:{port}: {str(exc.strerror or exc).lower()}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.set_inheritable(False)
    except OSError as exc:
        sock.close()
        raise NewssearchError(f"cannot listen on {host}:{port}: {(exc.strerror or str(exc)).lower()}") from None
    return sock


def _stop_with_parent_function():
    """A function for the forked child that asks Linux to stop it when its parent dies (None elsewhere).

    prctl is looked up here, in the parent: a forked child should not load libraries.
    """
    try:
        import ctypes
        import signal

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run(
    index_dir: str | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    watch_paths: Sequence[str] = (),
    workers: int = 1,
    synonyms: Synonyms | str | bool | None = True,
) -> None:
    """Serve until interrupted; print the address once listening.

    With ``watch_paths``, ``newssearch index --watch`` runs as a child
    process: indexing is CPU work that would hold the server's interpreter
    lock, and a process of its own can fork its parser workers safely, which
    a threaded server cannot. It is stopped with the server.

    With ``workers`` above 1, that many server processes are forked after the
    port is bound and accept on it in turn (the pre-fork model of gunicorn):
    a search holds the interpreter lock, so one process uses about one core.
    Each opens the index on its own. ``synonyms`` are read once, before
    listening (as :func:`open_index` takes them), so a bad file stops the start.
    """
    index_path = resolve_index_dir(index_dir)
    synonyms = resolve_synonyms(synonyms)
    for path in watch_paths:
        if not os.path.exists(path):
            raise InputPathError(f"{path}: no such file or folder")
    listener = _listen(host, port)
    listener.listen(2048)
    stop_with_parent = _stop_with_parent_function()
    watcher = None
    if watch_paths:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "newssearch", "index", "--watch", "--quiet", "--index-dir", str(index_path), *watch_paths],
            stdin=subprocess.DEVNULL,
            # uvicorn ends the process by re-raising the signal that stopped it, past
            # any finally: the child must also go when its parent dies. (No thread
            # runs yet, so a preexec_fn is safe here.)
            preexec_fn=stop_with_parent,
        )
    address, bound_port = listener.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    click.echo(f"newssearch: serving {index_path} at http://{shown}:{bound_port}/ (Ctrl+C stops)")
    sys.stdout.flush()
    try:
        if workers <= 1:
            _serve(index_path, listener, synonyms)
        else:
            _prefork(index_path, listener, workers, stop_with_parent, synonyms)
    finally:
        if watcher is not None:
            watcher.terminate()
            try:
                watcher.wait(timeout=10)
            except subprocess.TimeoutExpired:
                watcher.kill()


def _serve(index_path, listener: socket.socket, synonyms: Synonyms | None) -> None:
    config = uvicorn.Config(create_app(index_path, synonyms=synonyms or False), log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[listener])


def _prefork(index_path, listener: socket.socket, workers: int, stop_with_parent, synonyms: Synonyms | None) -> None:
    """Fork ``workers`` servers on ``listener``; stop them all on Ctrl+C or SIGTERM, or when one dies."""
    import signal

    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve, and never return into the parent's code
            code = 0
            try:
                if stop_with_parent is not None:
                    stop_with_parent()
                _serve(index_path, listener, synonyms)
            except BaseException:  # noqa: BLE001 - a worker reports through its exit status
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    stopping = crashed = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while children:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            break
        if pid in children:
            children.remove(pid)
            if not stopping:  # a worker died on its own: stop the others
                crashed = True
                stop(None, None)
    if crashed:
        raise NewssearchError("a server process stopped unexpectedly; stopped the others")
