"""Without tokens (the embedded default on loopback) a web page must not be able to drive
the mesh: cross-site changes are refused whatever their spelling, and DNS rebinding meets
a Host check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.test_access import make_client

FORM = {"service_id": "planted", "health_url": "http://127.0.0.1:9/"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as test_client:
        yield test_client


def registered(client: TestClient) -> list[str]:
    return list(client.get("/api/v1/heartbeat/status").json())


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"},  # another port
        {"Origin": "null"},  # sandboxed frames, file:// pages
        {"Origin": "http://127.0.0.1.evil.example"},
        {"Origin": "http://127.0.0.1:8001"},
    ],
)
def test_cross_site_changes_are_refused(client: TestClient, headers: dict[str, str]) -> None:
    as_form = client.post("/api/v1/heartbeat/register", data=FORM, headers=headers)
    assert as_form.status_code == 403, as_form.text
    assert "another site" in as_form.json()["detail"]
    as_json = client.post("/api/v1/heartbeat/register", json=FORM, headers=headers)
    assert as_json.status_code == 403
    beat = client.post("/api/v1/heartbeat/service-mesh/beat", headers=headers)
    assert beat.status_code == 403
    mutation = 'mutation { deregisterService(id: "service-mesh") { __typename } }'
    assert client.post("/graphql", json={"query": mutation}, headers=headers).status_code == 403
    event = {"event_type": "x", "source_service": "y"}
    assert client.post("/api/v1/messagebus/publish", json=event, headers=headers).status_code == 403
    assert "planted" not in registered(client)
    assert "service-mesh" in registered(client)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, the SDK, other servers
        {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"},  # our own pages
        {"Sec-Fetch-Site": "none"},  # typed by the user
    ],
)
def test_same_site_and_non_browser_changes_pass(
    client: TestClient, headers: dict[str, str]
) -> None:
    answer = client.post("/api/v1/heartbeat/register", json=FORM, headers=headers)
    assert answer.status_code == 201, answer.text


def test_an_allowed_origin_may_change(tmp_path: Path) -> None:
    with make_client(tmp_path, cors_origins="https://console.example") as client:
        headers = {"Origin": "https://console.example", "Sec-Fetch-Site": "cross-site"}
        answer = client.post("/api/v1/heartbeat/register", json=FORM, headers=headers)
        assert answer.status_code == 201


def test_cross_site_websockets_are_refused(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(
            "ws://127.0.0.1/graphql",
            subprotocols=["graphql-transport-ws"],
            headers={"Origin": "https://evil.example"},
        ) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008
    with client.websocket_connect(
        "ws://127.0.0.1/graphql",
        subprotocols=["graphql-transport-ws"],
        headers={"Origin": "http://127.0.0.1"},
    ) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", "", "[::2]:8000"]
)
def test_dns_rebinding_meets_the_host_check(client: TestClient, host: str) -> None:
    for method in ("GET", "POST"):
        answer = client.request(
            method,
            "/api/v1/heartbeat/register" if method == "POST" else "/api/v1/heartbeat/status",
            json=FORM,
            headers={"Host": host},
        )
        assert answer.status_code == 400, (host, answer.text)
        assert "OSE_MESH_ALLOWED_HOSTS" in answer.json()["detail"]
    assert "planted" not in registered(client)


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "LOCALHOST:8000", "[::1]:8000"])
def test_loopback_names_are_answered(client: TestClient, host: str) -> None:
    assert client.get("/health", headers={"Host": host}).status_code == 200


def test_allowed_hosts_are_a_setting(tmp_path: Path) -> None:
    with make_client(tmp_path, allowed_hosts="mesh.example.com") as client:
        assert client.get("/health", headers={"Host": "mesh.example.com"}).status_code == 200
        assert client.get("/health", headers={"Host": "127.0.0.1"}).status_code == 400
    beyond = make_client(tmp_path, host="0.0.0.0", write_tokens="w" * 20)
    with beyond as client:  # listening beyond loopback: any name unless set
        assert client.get("/health", headers={"Host": "mesh.internal"}).status_code == 200
