"""The server's own connection to the bus: kept up, tapped for the recent-events log, and
asked about its topology for the status routes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generic, TypeVar

from ose_mesh.adapters.bus import (
    BrokerError,
    BrokerUnavailable,
    Delivery,
    ExchangeType,
    MemoryBroker,
    NotFound,
    QueueInfo,
)
from ose_mesh.adapters.rabbitmq_management import ManagementClient
from ose_mesh.bus import BROADCAST, DEAD_LETTERS, EVENTS, LOGS, MessageBus
from ose_mesh.bus.config import BusSettings
from ose_mesh.bus.message_bus import STANDARD_EXCHANGES
from ose_mesh.bus.wire import MalformedEvent, decode
from ose_mesh.core.events import EventLog, LoggedEvent

log = logging.getLogger(__name__)

TAPPED = ((EVENTS, "#"), (LOGS, ""), (BROADCAST, ""))


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    name: str
    type: str
    durable: bool


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    items: list[T]
    page: int
    page_size: int
    page_count: int
    total: int
    source: str  # "management" (the whole vhost) or "declared" (what this server declared)


def _slice(items: list[T], page: int, page_size: int, source: str) -> Listing[T]:
    start = (page - 1) * page_size
    count = max(1, -(-len(items) // page_size))
    return Listing(items[start : start + page_size], page, page_size, count, len(items), source)


class ServerBus:
    def __init__(
        self,
        bus: MessageBus,
        settings: BusSettings,
        events: EventLog,
        management: ManagementClient | None = None,
    ) -> None:
        self.bus = bus
        self.settings = settings
        self.management = management
        self._events = events
        self._tap_queue: str | None = None
        self.seen = 0

    @property
    def backend(self) -> str:
        return self.settings.backend

    async def on_connect(self) -> None:
        """After every (re)connection: a private queue that sees the public exchanges."""
        broker = self.bus.broker
        info = await broker.declare_queue("", durable=False, exclusive=True, auto_delete=True)
        for exchange, key in TAPPED:
            await broker.bind(info.name, exchange, key)
        await broker.consume(info.name, self._record, prefetch=200)
        self._tap_queue = info.name

    async def _record(self, delivery: Delivery) -> None:
        await delivery.ack()
        try:
            event = decode(delivery)
        except MalformedEvent:
            return
        self.seen += 1
        self._events.add(LoggedEvent(delivery.exchange, delivery.routing_key, event))

    async def exchange_exists(self, name: str) -> bool:
        if name in STANDARD_EXCHANGES or name == "":
            return True
        if not self.bus.connected:
            return False
        try:
            await self.bus.broker.declare_exchange(name, ExchangeType.TOPIC, passive=True)
        except NotFound:
            return False
        return True

    async def exchanges(self, page: int = 1, page_size: int = 100) -> Listing[ExchangeInfo]:
        if self.management is not None:
            found = await self.management.page("exchanges", page, page_size)
            items = [
                ExchangeInfo(e["name"], e["type"], bool(e.get("durable"))) for e in found.items
            ]
            return Listing(
                items, found.page, found.page_size, found.page_count, found.total, "management"
            )
        broker = self.bus.broker
        if isinstance(broker, MemoryBroker):
            every = [ExchangeInfo(n, t.value, d) for n, t, d in broker.exchanges() if n]
        else:
            every = [ExchangeInfo(n, t.value, True) for n, t in STANDARD_EXCHANGES.items()]
        return _slice(sorted(every, key=lambda e: e.name), page, page_size, "declared")

    async def queues(self, page: int = 1, page_size: int = 100) -> Listing[QueueInfo]:
        if self.management is not None:
            found = await self.management.page("queues", page, page_size)
            items = [
                QueueInfo(q["name"], int(q.get("messages") or 0), int(q.get("consumers") or 0))
                for q in found.items
            ]
            return Listing(
                items, found.page, found.page_size, found.page_count, found.total, "management"
            )
        broker = self.bus.broker
        if isinstance(broker, MemoryBroker):
            every = sorted(broker.queue_infos(), key=lambda q: q.name)
        else:
            every = []
            for name in [DEAD_LETTERS, *([self._tap_queue] if self._tap_queue else [])]:
                try:  # a passive declare gives the counts
                    every.append(await broker.declare_queue(name, passive=True))
                except (BrokerError, BrokerUnavailable):
                    continue
        return _slice(every, page, page_size, "declared")
