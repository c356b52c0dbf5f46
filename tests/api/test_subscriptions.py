"""Live status over graphql-transport-ws (and the legacy graphql-ws protocol)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from tests.conftest import sqlite_url
from tests.fakes import ScriptedProber


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(database_url=sqlite_url(tmp_path))
    broker = MemoryBroker(MemoryVirtualHost())
    app = create_app(settings, prober=ScriptedProber(), broker=broker)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def subscribe(ws: WebSocketTestSession, query: str, variables: dict[str, Any]) -> None:
    ws.send_json({"type": "connection_init"})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
    )


def test_status_changes_arrive_as_they_happen(client: TestClient) -> None:
    client.post("/api/v1/heartbeat/register", json={"service_id": "a", "max_failures": 2})
    client.post("/api/v1/heartbeat/register", json={"service_id": "b"})
    with client.websocket_connect(
        "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        subscribe(
            ws,
            "subscription($ids: [String!]) { serviceStatusChanged(serviceIds: $ids) "
            "{ serviceId previous current reason } }",
            {"ids": ["a"]},
        )
        client.post("/api/v1/heartbeat/b/beat")  # filtered out
        client.post("/api/v1/heartbeat/a/beat")
        client.post("/api/v1/heartbeat/a/beat", json={"ok": False, "message": "down"})
        first = ws.receive_json()["payload"]["data"]["serviceStatusChanged"]
        second = ws.receive_json()["payload"]["data"]["serviceStatusChanged"]
    assert first == {
        "serviceId": "a", "previous": "UNKNOWN", "current": "HEALTHY",
        "reason": "heartbeat succeeded",
    }  # fmt: skip
    assert (second["previous"], second["current"]) == ("HEALTHY", "DEGRADED")
    assert "down" in second["reason"]


def test_heartbeats_stream_for_one_service(client: TestClient) -> None:
    client.post("/api/v1/heartbeat/register", json={"service_id": "a"})
    with client.websocket_connect(
        "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        subscribe(
            ws,
            'subscription { heartbeats(serviceId: "a") { serviceId ok latencyMs at } }',
            {},
        )
        client.post("/api/v1/heartbeat/a/beat", json={"latency_ms": 7})
        beat = ws.receive_json()["payload"]["data"]["heartbeats"]
    assert beat["serviceId"] == "a"
    assert beat["ok"] is True
    assert beat["latencyMs"] == 7.0


def test_heartbeats_of_an_unknown_service_is_an_error(client: TestClient) -> None:
    with client.websocket_connect(
        "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        subscribe(ws, 'subscription { heartbeats(serviceId: "nope") { ok } }', {})
        message = ws.receive_json()
    assert message["type"] == "next"
    assert message["payload"]["errors"][0]["message"] == "Service 'nope' is not registered."


def test_legacy_graphql_ws_protocol(client: TestClient) -> None:
    client.post("/api/v1/heartbeat/register", json={"service_id": "a"})
    with client.websocket_connect("ws://127.0.0.1/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {
                "id": "1",
                "type": "start",
                "payload": {"query": "subscription { serviceStatusChanged { current } }"},
            }
        )
        client.post("/api/v1/heartbeat/a/beat")
        message = ws.receive_json()
    assert message["type"] == "data"
    assert message["payload"]["data"]["serviceStatusChanged"] == {"current": "HEALTHY"}


def test_graph_changes_and_root_causes_arrive_live(client: TestClient) -> None:
    for sid in ("web", "db"):
        client.post("/api/v1/heartbeat/register", json={"service_id": sid, "max_failures": 1})
    with client.websocket_connect(
        "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        subscribe(ws, "subscription { graphChanged { action source target } }", {})
        client.post(
            "/api/v1/dependencies",
            json={"source": "web", "target": "db", "type": "hard", "relationship": "database"},
        )
        change = ws.receive_json()["payload"]["data"]["graphChanged"]
    assert change == {"action": "added", "source": "web", "target": "db"}
    client.post("/api/v1/heartbeat/db/beat", json={"ok": False})
    with client.websocket_connect(
        "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        subscribe(
            ws,
            'subscription { serviceStatusChanged(serviceIds: ["web"]) { current rootCauses } }',
            {},
        )
        client.post("/api/v1/heartbeat/web/beat", json={"ok": False})
        transition = ws.receive_json()["payload"]["data"]["serviceStatusChanged"]
    assert transition == {"current": "CRITICAL", "rootCauses": ["db"]}


def test_events_subscription_filters_by_exchange_and_pattern(client: TestClient) -> None:
    with client.websocket_connect(
        "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
    ) as ws:
        subscribe(
            ws,
            'subscription { events(exchange: "ose.events", pattern: "orders.#") '
            "{ eventType routingKey payload } }",
            {},
        )
        for key in ("users.created", "orders.created"):
            response = client.post(
                "/api/v1/messagebus/publish",
                json={
                    "event_type": key,
                    "source_service": "shop",
                    "routing_key": key,
                    "payload": {"key": key},
                },
            )
            assert response.status_code == 200
        event = ws.receive_json()["payload"]["data"]["events"]
    assert event == {
        "eventType": "orders.created", "routingKey": "orders.created",
        "payload": {"key": "orders.created"},
    }  # fmt: skip
