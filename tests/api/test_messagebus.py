"""The bus routes and GraphQL fields, on the in-memory backend: publishing through the
outbox, status transitions as events, the recent-events log, and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.bus import EventMessage, MessageBus
from ose_mesh.config import load_settings
from ose_mesh.core.broker import BrokerUnavailable, Properties
from tests.api.conftest import gql
from tests.conftest import sqlite_url
from tests.eventually import eventually
from tests.fakes import ScriptedProber

PUBLISH = "/api/v1/messagebus/publish"
REFERENCE_BODY = {
    "exchange": "ose.events",
    "event_type": "service.started",
    "source_service": "discovery",
    "payload": {"service_id": "discovery", "version": "1.0.0"},
    "routing_key": "discovery.lifecycle",
    "priority": 5,
}


class SwitchableBroker(MemoryBroker):
    """The memory broker with a plug to pull: while `up` is False it behaves as an
    unreachable RabbitMQ (not connected, publishes fail)."""

    up = True

    @property
    def connected(self) -> bool:
        return self.up and super().connected

    async def connect(self) -> None:
        if not self.up:
            raise BrokerUnavailable("switched off")
        await super().connect()

    async def publish(self, *args: Any, **kwargs: Any) -> bool:
        if not self.up:
            raise BrokerUnavailable("switched off")
        return await super().publish(*args, **kwargs)


@pytest.fixture
def vhost() -> MemoryVirtualHost:
    return MemoryVirtualHost()


@pytest.fixture
def broker(vhost: MemoryVirtualHost) -> SwitchableBroker:
    return SwitchableBroker(vhost)


@pytest.fixture
async def app(tmp_path: Path, broker: SwitchableBroker) -> AsyncIterator[Starlette]:
    settings = load_settings(database_url=sqlite_url(tmp_path))
    application = create_app(settings, prober=ScriptedProber(), broker=broker)
    async with application.router.lifespan_context(application):
        # The mesh watches itself: its first beat makes a transition event. Tests start once
        # that event went out, so the outbox holds only what a test puts there.
        mesh = application.state.mesh
        await eventually(lambda: mesh.event_log.recent(1, None, "service-mesh.#"))
        yield application


async def listener(vhost: MemoryVirtualHost, pattern: str) -> tuple[MessageBus, list[Any]]:
    """A consumer of ose.events, as another service would be."""
    bus = MessageBus(MemoryBroker(vhost))
    await bus.connect()
    received: list[Any] = []

    async def on(event: EventMessage) -> None:
        received.append(event)

    queue = await bus.declare_queue("listener")
    await bus.bind(queue, "ose.events", pattern)
    await bus.consume(queue, on)
    return bus, received


async def drained(client: httpx.AsyncClient) -> None:
    async def backlog_empty() -> bool:
        status = (await client.get("/api/v1/messagebus/status")).json()
        return bool(status["outbox_backlog"] == 0)

    await eventually(backlog_empty)


async def test_publish_as_in_the_reference(
    client: httpx.AsyncClient, vhost: MemoryVirtualHost
) -> None:
    _, received = await listener(vhost, "discovery.#")
    response = await client.post(PUBLISH, json=REFERENCE_BODY)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "confirmed"
    assert answer["routed"] is True
    assert answer["routing_key"] == "discovery.lifecycle"
    await eventually(lambda: received)
    event = received[0]
    assert (event.event_id, event.event_type) == (answer["event_id"], "service.started")
    assert event.payload == {"service_id": "discovery", "version": "1.0.0"}
    status = (await client.get("/api/v1/messagebus/status")).json()
    assert status["backend"] == "memory"
    assert status["connected"] is True
    assert status["published"] >= 1
    assert status["outbox_backlog"] == 0


async def test_status_transitions_are_published(
    client: httpx.AsyncClient, vhost: MemoryVirtualHost
) -> None:
    _, received = await listener(vhost, "*.health.*")
    await client.post("/api/v1/heartbeat/register", json={"service_id": "payments"})
    await client.post("/api/v1/heartbeat/payments/beat")
    await eventually(lambda: any(e.source_service == "payments" for e in received))
    event = next(e for e in received if e.source_service == "payments")
    assert event.event_type == "service.health.healthy"
    assert event.payload["previous"] == "unknown"
    assert event.payload["current"] == "healthy"


async def test_events_are_listed_and_filtered(client: httpx.AsyncClient) -> None:
    for key in ("orders.created", "orders.paid", "users.created"):
        body = {**REFERENCE_BODY, "routing_key": key, "event_type": key}
        assert (await client.post(PUBLISH, json=body)).status_code == 200
    result = await gql(
        client,
        '{ events(last: 10, exchange: "ose.events", pattern: "orders.*") '
        "{ eventType routingKey payload } }",
    )
    assert [e["routingKey"] for e in result["data"]["events"]] == ["orders.created", "orders.paid"]


async def test_while_the_broker_is_away_publishes_queue_then_drain(
    client: httpx.AsyncClient, broker: SwitchableBroker, vhost: MemoryVirtualHost
) -> None:
    _, received = await listener(vhost, "discovery.#")
    broker.up = False
    response = await client.post(PUBLISH, json=REFERENCE_BODY)
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    status = (await client.get("/api/v1/messagebus/status")).json()
    assert status["connected"] is False
    # ours, and possibly a status change of the mesh itself (its own check goes on)
    assert status["outbox_backlog"] >= 1
    broker.up = True
    await eventually(lambda: received)
    assert received[0].event_id == response.json()["event_id"]
    await drained(client)  # the entry is marked sent once the broker confirmed it


async def test_structured_cloud_event(client: httpx.AsyncClient, vhost: MemoryVirtualHost) -> None:
    _, received = await listener(vhost, "billing.#")
    response = await client.post(
        PUBLISH,
        json={
            "specversion": "1.0",
            "id": "ce-invoice-7",
            "type": "invoice.sent",
            "source": "billing",
            "time": "2026-11-30T10:00:00Z",
            "data": {"invoice": 7},
        },
        headers={"content-type": "application/cloudevents+json"},
    )
    assert response.status_code == 200
    await eventually(lambda: received)
    assert received[0].payload == {"invoice": 7}
    assert response.json()["routing_key"] == "billing.invoice.sent"
    assert response.json()["event_id"] == received[0].event_id == "ce-invoice-7"  # kept
    assert received[0].timestamp.isoformat() == "2026-11-30T10:00:00+00:00"


async def test_a_cloud_event_source_uri_becomes_one_routing_word(
    client: httpx.AsyncClient,
) -> None:
    event = {"specversion": "1.0", "id": "1", "type": "order.placed", "data": {}}
    for source, word in (("https://shop.example/orders", "orders"), ("/sensors/tn-1", "tn-1"),
                         ("urn:event:from:a.b", "event-from-a-b")):  # fmt: skip
        answer = await client.post(
            PUBLISH,
            json={**event, "source": source},
            headers={"content-type": "application/cloudevents+json"},
        )
        assert answer.json()["routing_key"] == f"{word}.order.placed", answer.text
    for bad in ({"id": ""}, {"id": "x" * 65}, {"time": "yesterday"}, {"time": "2026-11-30"}):
        refused = await client.post(
            PUBLISH,
            json={**event, "source": "s", **bad},
            headers={"content-type": "application/cloudevents+json"},
        )
        assert refused.status_code == 422, (bad, refused.text)


async def test_graphql_publish_status_and_topology(client: httpx.AsyncClient) -> None:
    result = await gql(
        client,
        """mutation { publishEvent(input: {eventType: "t", sourceService: "s",
             payload: {a: 1}, priority: 9}) {
               __typename ... on PublishReceipt { status routed } } }""",
    )
    assert result["data"]["publishEvent"] == {
        "__typename": "PublishReceipt", "status": "confirmed", "routed": True,
    }  # fmt: skip
    info = await gql(
        client, "{ busStatus { backend connected } exchanges { name type } queues { name } }"
    )
    assert info["data"]["busStatus"] == {"backend": "memory", "connected": True}
    names = {e["name"]: e["type"] for e in info["data"]["exchanges"]}
    assert names["ose.events"] == "topic"
    assert names["ose.tasks"] == "direct"
    assert names["ose.logs"] == "fanout"
    assert "ose.dead-letters" in {q["name"] for q in info["data"]["queues"]}


async def test_the_reference_rest_listings(client: httpx.AsyncClient) -> None:
    exchanges = (await client.get("/api/v1/messagebus/exchanges")).json()["exchanges"]
    assert {"name": "ose.events", "type": "topic", "durable": True} in exchanges
    queues = (await client.get("/api/v1/messagebus/queues")).json()["queues"]
    assert any(q["name"] == "ose.dead-letters" for q in queues)


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"exchange": "no.such.exchange"}, 404, "no.such.exchange"),
        ({"routing_key": "k" * 256}, 422, "routing_key"),
        ({"priority": 10}, 422, "priority"),
        ({"priority": -1}, 422, "priority"),
        ({"event_type": ""}, 422, "event_type"),
        ({"source_service": None}, 422, "source_service"),
        ({"payload": [1, 2]}, 422, "payload"),
        ({"payload": "text"}, 422, "payload"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
async def test_bad_publishes_are_refused_and_publish_nothing(
    client: httpx.AsyncClient, change: dict[str, Any], status: int, words: str
) -> None:
    body = {k: v for k, v in {**REFERENCE_BODY, **change}.items() if v is not None}
    response = await client.post(PUBLISH, json=body)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    # The outbox is first in, first out: once a good event published after the bad one
    # is seen, anything the bad one had left behind would have been seen before it.
    good = (await client.post(PUBLISH, json=REFERENCE_BODY)).json()["event_id"]
    await drained(client)
    query = "{ events(last: 1000) { eventId sourceService } }"
    seen = (await gql(client, query))["data"]["events"]
    assert [e["eventId"] for e in seen if e["sourceService"] == "discovery"] == [good]


async def test_oversized_and_malformed_publishes(client: httpx.AsyncClient) -> None:
    huge = {**REFERENCE_BODY, "payload": {"blob": "x" * (1024 * 1024)}}
    assert (await client.post(PUBLISH, json=huge)).status_code == 413
    malformed = await client.post(
        PUBLISH, content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400


async def test_graphql_publish_errors(client: httpx.AsyncClient) -> None:
    result = await gql(
        client,
        """mutation { a: publishEvent(input: {eventType: "t", sourceService: "s", exchange: "nope"})
             { __typename } b: publishEvent(input: {eventType: "", sourceService: "s"})
             { __typename ... on InvalidFieldError { field } }
             c: publishEvent(input: {eventType: "t", sourceService: "s", priority: 12})
             { __typename ... on InvalidFieldError { field } } }""",
    )
    assert result["data"]["a"] == {"__typename": "UnknownExchangeError"}
    assert result["data"]["b"] == {"__typename": "InvalidFieldError", "field": "eventType"}
    assert result["data"]["c"] == {"__typename": "InvalidFieldError", "field": "priority"}


async def test_a_tapped_event_from_elsewhere_shows_in_the_log(
    client: httpx.AsyncClient, vhost: MemoryVirtualHost
) -> None:
    other = MessageBus(MemoryBroker(vhost))
    await other.connect()
    await other.publish_event("ose.logs", EventMessage("log.line", "worker", {"line": "hi"}), "")
    await other.broker.publish("ose.events", "junk.key", b"not json", Properties())

    async def seen() -> list[Any]:
        return (await gql(client, '{ events(last: 10, exchange: "ose.logs") { eventType } }'))[
            "data"
        ]["events"]

    assert await eventually(seen) == [{"eventType": "log.line"}]


async def test_listings_are_paged(client: httpx.AsyncClient) -> None:
    first = (await client.get("/api/v1/messagebus/exchanges", params={"page_size": 2})).json()
    assert first["source"] == "declared"
    assert len(first["exchanges"]) == 2
    assert first["total"] >= 5
    assert first["page_count"] == -(-first["total"] // 2)
    second = (
        await client.get("/api/v1/messagebus/exchanges", params={"page": 2, "page_size": 2})
    ).json()
    assert not {e["name"] for e in first["exchanges"]} & {e["name"] for e in second["exchanges"]}
    for bad in ({"page": "0"}, {"page_size": "501"}, {"page": "x"}):
        response = await client.get("/api/v1/messagebus/queues", params=bad)
        assert response.status_code == 400


@pytest.mark.parametrize("priority", [0, 1, 3, 4, 6, 8, 9])
async def test_the_amqp_priority_is_carried_exactly(
    client: httpx.AsyncClient, vhost: MemoryVirtualHost, priority: int
) -> None:
    _, received = await listener(vhost, "exact.#")
    body = {"event_type": "p", "source_service": "exact", "priority": priority}
    assert (await client.post(PUBLISH, json=body)).status_code == 200
    await eventually(lambda: received)
    assert received[0].priority == priority
    result = await gql(
        client,
        f"""mutation {{ publishEvent(input: {{eventType: "q", sourceService: "exact",
             priority: {priority}}}) {{ __typename }} }}""",
    )
    assert result["data"]["publishEvent"]["__typename"] == "PublishReceipt"
    await eventually(lambda: len(received) == 2)
    assert received[1].priority == priority
    events = await gql(client, '{ events(last: 10, pattern: "exact.#") { priority } }')
    assert {e["priority"] for e in events["data"]["events"]} == {priority}
