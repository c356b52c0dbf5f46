"""The server's own connection to the bus: kept up, tapped for the recent-events log, and
asked about its topology for the status routes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ose_mesh.adapters.bus import (
    BrokerError,
    BrokerUnavailable,
    Delivery,
    ExchangeType,
    MemoryBroker,
    NotFound,
    QueueInfo,
)
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


class ServerBus:
    def __init__(self, bus: MessageBus, settings: BusSettings, events: EventLog) -> None:
        self.bus = bus
        self.settings = settings
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

    def exchanges(self) -> list[ExchangeInfo]:
        broker = self.bus.broker
        if isinstance(broker, MemoryBroker):
            return [ExchangeInfo(n, t.value, d) for n, t, d in broker.exchanges() if n]
        return [ExchangeInfo(n, t.value, True) for n, t in STANDARD_EXCHANGES.items()]

    async def queues(self) -> list[QueueInfo]:
        broker = self.bus.broker
        if isinstance(broker, MemoryBroker):
            return sorted(broker.queue_infos(), key=lambda q: q.name)
        names = [DEAD_LETTERS, *([self._tap_queue] if self._tap_queue else [])]
        found = []
        for name in names:
            try:
                found.append(await broker.declare_queue(name, passive=True))
            except (BrokerError, BrokerUnavailable):
                continue
        return found
