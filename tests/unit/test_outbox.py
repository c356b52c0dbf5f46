"""Publishing through the outbox: stored first, confirmed when the broker answers in time,
queued while it is away, dropped only when the broker refuses the message itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ose_mesh.core.broker import STANDARD_EXCHANGES, BrokerError, BrokerUnavailable, NotFound
from ose_mesh.core.outbox import EventService, OutboxRelay
from ose_mesh.domain import EventMessage, EventRefused, InvalidField, UnknownExchange
from tests.eventually import eventually
from tests.fakes import MemoryRepository


class FakeBus:
    """An EventBus whose broker is scripted: up or away, and what it answers per exchange."""

    def __init__(self) -> None:
        self.connected = True
        self.exchanges = set(STANDARD_EXCHANGES) | {"orders"}
        self.published: list[tuple[str, str | None, EventMessage]] = []
        self.refuse: dict[str, BaseException] = {}

        class Stats:
            dead_lettered = 0

        self.stats = Stats()

    async def exchange_exists(self, name: str) -> bool:
        return name in self.exchanges

    async def publish_event(
        self, exchange: str, event: EventMessage, routing_key: str | None = None, **_: Any
    ) -> bool:
        if not self.connected:
            raise BrokerUnavailable()
        if exchange in self.refuse:
            raise self.refuse[exchange]
        self.published.append((exchange, routing_key, event))
        return exchange != "orders"  # nothing is bound to "orders": returned unrouted


@pytest.fixture
def parts() -> tuple[MemoryRepository, FakeBus, OutboxRelay, EventService]:
    outbox, bus = MemoryRepository(), FakeBus()
    relay = OutboxRelay(outbox, bus)
    return outbox, bus, relay, EventService(outbox, relay, bus)


async def test_a_publish_is_confirmed_with_its_default_routing_key(parts: Any) -> None:
    outbox, bus, relay, events = parts
    running = asyncio.create_task(relay.run())
    try:
        receipt = await events.publish(EventMessage("order.placed", "shop", {"id": 1}))
        assert (receipt.state, receipt.routed) == ("confirmed", True)
        assert (receipt.exchange, receipt.routing_key) == ("ose.events", "shop.order.placed")
        unrouted = await events.publish(EventMessage("x", "shop"), "orders", "k")
        assert (unrouted.state, unrouted.routed) == ("confirmed", False)
    finally:
        running.cancel()
    assert [key for _, key, _ in bus.published] == ["shop.order.placed", "k"]
    assert await outbox.outbox_backlog() == 0
    assert (relay.stats.published, relay.stats.returned) == (2, 1)


async def test_an_unknown_exchange_is_refused_and_nothing_is_stored(parts: Any) -> None:
    outbox, _, _, events = parts
    with pytest.raises(UnknownExchange):
        await events.publish(EventMessage("t", "s"), "nope")
    assert await outbox.outbox_backlog() == 0


async def test_while_the_broker_is_away_events_wait_in_the_outbox(parts: Any) -> None:
    outbox, bus, relay, events = parts
    bus.connected = False
    receipt = await events.publish(EventMessage("t", "s"))
    assert receipt.state == "queued"
    assert receipt.routed is None
    assert await relay.drain() == 0
    assert await outbox.outbox_backlog() == 1
    bus.connected = True
    assert await relay.drain() == 1
    assert await outbox.outbox_backlog() == 0
    assert [e.event_id for _, _, e in bus.published] == [receipt.event_id]


async def test_a_broker_going_away_mid_publish_loses_nothing(parts: Any) -> None:
    outbox, bus, relay, events = parts
    bus.refuse["ose.events"] = BrokerError(500, "nack")  # not a refusal of the message
    await events.enqueue("ose.events", "a", EventMessage("t", "s"))
    assert await relay.drain() == 0
    assert await outbox.outbox_backlog() == 1
    del bus.refuse["ose.events"]
    assert await relay.drain() == 1


async def test_a_refused_event_is_dropped_and_its_publisher_told(parts: Any) -> None:
    outbox, bus, relay, events = parts
    bus.refuse["orders"] = NotFound("NOT_FOUND - no exchange 'orders'")
    running = asyncio.create_task(relay.run())
    try:
        with pytest.raises(EventRefused, match="NOT_FOUND"):
            await events.publish(EventMessage("t", "s"), "orders")
    finally:
        running.cancel()
    await eventually(lambda: relay.stats.failed == 1)
    assert await outbox.outbox_backlog() == 0


async def test_values_a_database_cannot_store_are_refused_before_writing(parts: Any) -> None:
    outbox, _, _, events = parts
    with pytest.raises(InvalidField, match="event_type"):
        await events.publish(EventMessage("bad\x00type", "s"), routing_key="fine")
    assert await outbox.outbox_backlog() == 0
