"""Idle and slow clients cannot hold the server's sockets: slow-header connections and
WebSockets that never send connection_init (both protocols) are closed after their
timeouts, and /health answers while a thousand such sockets are open."""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from ose_mesh.serving import raise_open_file_limit
from tests.conftest import sqlite_url
from tests.integration.server import MeshProcess

pytestmark = pytest.mark.integration

TIMEOUT = 1.5  # header and connection_init timeouts of the server under test
IDLE = 1_000


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[MeshProcess]:
    env = {"OSE_MESH_HEADER_TIMEOUT": str(TIMEOUT), "OSE_MESH_WS_INIT_TIMEOUT": str(TIMEOUT)}
    # Started with the common soft limit of 1,024 open files, which the server raises.
    server = MeshProcess(sqlite_url(tmp_path), tmp_path, env, open_files=1024)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def slow_header_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never finished
    return sock


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_slow_headers_are_closed_and_health_answers_meanwhile(mesh: MeshProcess) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raise_open_file_limit() > IDLE + 100, "the test itself needs the sockets"
    try:
        idle = [slow_header_socket(mesh.port) for _ in range(IDLE)]
        try:
            health = httpx.get(f"{mesh.url}/health", timeout=5)
            assert health.status_code == 200
            assert not closed_by_server(idle[-1], 0.01)  # answered while they were open
            time.sleep(TIMEOUT)
            still_open = [sock for sock in idle if not closed_by_server(sock, TIMEOUT * 2)]
            assert still_open == []
        finally:
            for sock in idle:
                sock.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("protocol", ["graphql-ws", "graphql-transport-ws"])
def test_websockets_without_connection_init_are_closed(mesh: MeshProcess, protocol: str) -> None:
    url = f"ws://127.0.0.1:{mesh.port}/graphql"
    sockets: list[ClientConnection] = [
        connect(url, subprotocols=[protocol], open_timeout=5)
        for _ in range(20)  # type: ignore[list-item]
    ]
    codes = []
    for ws in sockets:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT * 4)
        assert closed.value.rcvd is not None
        codes.append(closed.value.rcvd.code)
    assert set(codes) == {4408}


def test_a_malformed_message_closes_with_4400(mesh: MeshProcess) -> None:
    url = f"ws://127.0.0.1:{mesh.port}/graphql"
    for message in ("[]", '"x"', "42", "null", '{"type": 7}'):
        with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            ws.send(message)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4400, message
    assert httpx.get(f"{mesh.url}/health").status_code == 200


def test_the_access_log_shows_no_query_strings(mesh: MeshProcess) -> None:
    summary = f"{mesh.url}/api/v1/heartbeat/summary?access_token=PlantedInUrl"
    assert httpx.get(summary).status_code == 200
    mesh.stop()
    log = mesh.log_path.read_text()
    assert '"GET /api/v1/heartbeat/summary HTTP/1.1" 200' in log
    assert "PlantedInUrl" not in log
