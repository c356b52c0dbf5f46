"""Tokens with two scopes: no token 401, a read token where write is needed 403, and nothing
changed by a refused request; beat tokens; WebSocket tokens in connection_init; GraphQL
limits; per-service beat rate limit; CORS off by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ose_mesh import bootstrap
from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.api.access import Access, TokenFileError, Tokens, bearer
from ose_mesh.api.rest.ratelimit import BeatLimiter
from ose_mesh.app import MAX_SUBSCRIPTIONS_PER_CONNECTION, create_app
from ose_mesh.config import ConfigError, load_settings
from tests.conftest import sqlite_url
from tests.fakes import ScriptedProber

READ, WRITE = "read-token-123456", "write-token-456789"


def as_(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_client(tmp_path: Path, **settings: Any) -> TestClient:
    config = load_settings(database_url=sqlite_url(tmp_path), **settings)
    broker = MemoryBroker(MemoryVirtualHost())
    app = create_app(config, prober=ScriptedProber(), broker=broker)
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, read_tokens=READ, write_tokens=WRITE) as test_client:
        yield test_client


def registered(client: TestClient) -> list[str]:
    return sorted(client.get("/api/v1/heartbeat/status", headers=as_(READ)).json())


def test_reads_need_a_token_and_any_valid_token_reads(client: TestClient) -> None:
    refused = client.get("/api/v1/heartbeat/status")
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    wrong = client.get("/api/v1/heartbeat/status", headers=as_("guess"))
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "the token is not valid")
    for token in (READ, WRITE):
        assert client.get("/api/v1/heartbeat/status", headers=as_(token)).status_code == 200
        assert client.get("/metrics", headers=as_(token)).status_code == 200
    assert client.get("/metrics").status_code == 401


def test_what_stays_open(client: TestClient) -> None:
    for path in ("/health", "/", "/dependencies", "/api/openapi.json", "/api/docs"):
        assert client.get(path).status_code == 200, path
    assert client.get("/graphql", headers={"accept": "text/html"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/heartbeat/register", {"service_id": "new"}),
        (
            "POST",
            "/api/v1/dependencies",
            {"source": "new", "target": "db", "relationship": "database"},
        ),
        ("POST", "/api/v1/messagebus/publish", {"event_type": "x", "source_service": "new"}),
    ],
)
def test_changes_need_a_write_token_and_refusals_change_nothing(
    client: TestClient, method: str, path: str, body: dict[str, Any]
) -> None:
    before = client.get("/api/v1/dependencies/graph", headers=as_(READ)).json()
    sources = "{ events(last: 1000) { sourceService } }"
    assert client.request(method, path, json=body).status_code == 401
    forbidden = client.request(method, path, json=body, headers=as_(READ))
    assert forbidden.status_code == 403
    assert "write token" in forbidden.json()["detail"]
    assert client.get("/api/v1/dependencies/graph", headers=as_(READ)).json() == before
    assert {"sourceService": "new"} not in gql(client, sources, READ).json()["data"]["events"]
    assert client.request(method, path, json=body, headers=as_(WRITE)).status_code in (200, 201)


def test_a_service_beats_with_its_own_token(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/heartbeat/register", json={"service_id": "api"}, headers=as_(WRITE)
    ).json()
    client.post("/api/v1/heartbeat/register", json={"service_id": "db"}, headers=as_(WRITE))
    token = answer["beat_token"]
    assert token == Tokens.from_values([], [WRITE]).beat_token("api")
    assert client.post("/api/v1/heartbeat/api/beat", headers=as_(token)).status_code == 200
    # its token is good for its own beats only
    assert client.post("/api/v1/heartbeat/db/beat", headers=as_(token)).status_code == 401
    assert client.get("/api/v1/heartbeat/status", headers=as_(token)).status_code == 401
    assert client.post("/api/v1/heartbeat/api/beat", headers=as_(READ)).status_code == 403
    assert client.post("/api/v1/heartbeat/api/beat").status_code == 401


def gql(client: TestClient, query: str, token: str | None) -> Any:
    headers = as_(token) if token else {}
    return client.post("/graphql", json={"query": query}, headers=headers)


def test_graphql_reads_with_read_and_mutates_only_with_write(client: TestClient) -> None:
    assert gql(client, "{ heartbeatSummary { total } }", None).status_code == 401
    assert gql(client, "{ heartbeatSummary { total } }", READ).json()["data"] is not None
    mutation = 'mutation { registerService(input: {id: "gq"}) { __typename } }'
    refused = gql(client, mutation, READ)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "gq" not in registered(client)
    assert gql(client, mutation, WRITE).json()["data"]["registerService"]["__typename"]
    assert "gq" in registered(client)


def test_websocket_token_comes_in_connection_init(client: TestClient) -> None:
    with client.websocket_connect(
        "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403

    with client.websocket_connect(
        "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {READ}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        query = "subscription { servicesChanged { action serviceId } }"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        client.post("/api/v1/heartbeat/register", json={"service_id": "ws"}, headers=as_(WRITE))
        change = ws.receive_json()["payload"]["data"]["servicesChanged"]
        assert change == {"action": "registered", "serviceId": "ws"}
        mutation = 'mutation { deregisterService(id: "ws") { __typename } }'
        ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": mutation}})
        answer = ws.receive_json()  # refused before it runs: the protocol's `error` message
        assert (answer["id"], answer["type"]) == ("2", "error")
        assert answer["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "ws" in registered(client)


def test_subscriptions_per_connection_are_bounded(tmp_path: Path) -> None:
    with (
        make_client(tmp_path) as client,
        client.websocket_connect(
            "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
        ) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        query = "subscription { servicesChanged { action } }"
        for number in range(MAX_SUBSCRIPTIONS_PER_CONNECTION + 1):
            ws.send_json({"id": str(number), "type": "subscribe", "payload": {"query": query}})
        refused = ws.receive_json()
        assert refused["id"] == str(MAX_SUBSCRIPTIONS_PER_CONNECTION)
        assert refused["type"] == "error"
        assert "limit" in refused["payload"][0]["message"]


def test_graphql_documents_are_bounded(client: TestClient) -> None:
    deep = "{ dependencyGraph " + "{ services " * 12 + "{ id }" + " }" * 13
    assert "depth" in gql(client, deep, READ).json()["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: heartbeatSummary {{ total }}" for i in range(31)) + " }"
    assert "aliases" in gql(client, aliases, READ).json()["errors"][0]["message"]


def test_without_tokens_everything_is_open_and_beats_are_rate_limited(tmp_path: Path) -> None:
    with make_client(tmp_path, beats_per_second=2) as client:
        client.post("/api/v1/heartbeat/register", json={"service_id": "chatty"})
        answers = [client.post("/api/v1/heartbeat/chatty/beat") for _ in range(10)]
        refused = [a for a in answers if a.status_code == 429]
        assert refused, [a.status_code for a in answers]
        assert int(refused[0].headers["retry-after"]) >= 1
        assert refused[0].json()["error"] == "too_many_beats"
        # CORS is off unless origins are listed
        preflight = client.options(
            "/graphql",
            headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_cors_allow_list(tmp_path: Path) -> None:
    with make_client(tmp_path, cors_origins="https://ops.example") as client:
        asked = {"access-control-request-method": "POST"}
        allowed = client.options("/graphql", headers={"origin": "https://ops.example", **asked})
        assert allowed.headers["access-control-allow-origin"] == "https://ops.example"
        other = client.options("/graphql", headers={"origin": "https://evil.example", **asked})
        assert "access-control-allow-origin" not in other.headers


def test_beat_limiter_refills_with_time() -> None:
    now = [0.0]
    limiter = BeatLimiter(rate=1, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, 1]
    assert limiter.retry_after("b") is None  # per service
    now[0] = 1.0
    assert limiter.retry_after("a") is None


def test_tokens_and_token_files(tmp_path: Path) -> None:
    tokens = Tokens.from_values(["r1", " "], ["w1"])
    assert [tokens.access_of(t) for t in (None, "", "x", "r1", "w1")] == [
        Access.NONE, Access.NONE, Access.NONE, Access.READ, Access.WRITE,
    ]  # fmt: skip
    assert Tokens().access_of(None) is Access.WRITE  # no tokens configured
    assert "w1" not in repr(tokens)
    assert bearer("Bearer abc") == "abc"
    assert bearer("Basic abc") is None
    good = tmp_path / "tokens"
    good.write_text("# ops\nread r2\nwrite w2  # ci\n\n")
    from_file = Tokens.from_values([], [], good)
    assert from_file.access_of("w2") is Access.WRITE
    bad = tmp_path / "bad"
    bad.write_text("read r2\nadmin x\n")
    with pytest.raises(TokenFileError, match=r"bad:2: expected"):
        Tokens.from_values([], [], bad)
    with pytest.raises(ConfigError, match="OSE_MESH_TOKEN_FILE"):
        bootstrap.tokens(load_settings(token_file=str(bad)))


@pytest.mark.parametrize(
    "settings",
    [
        {"write_tokens": "short"},
        {"read_tokens": "long-enough-token-1,tiny", "write_tokens": "long-enough-token-2"},
    ],
)
def test_short_tokens_are_refused_at_start(settings: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="shorter than 16 characters"):
        bootstrap.tokens(load_settings(**settings))
    short = tmp_path / "tokens"
    short.write_text("write abc\n")
    with pytest.raises(ConfigError, match="OSE_MESH_TOKEN_FILE: a token is shorter"):
        bootstrap.tokens(load_settings(token_file=str(short)))
