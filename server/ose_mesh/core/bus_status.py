"""What the message-bus status routes answer: the connection, the relay's and the tap's
counts, the outbox backlog, alert webhooks, and the broker's topology."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ose_mesh.core.broker import BrokerAdmin, ExchangeInfo, Listing, QueueInfo
from ose_mesh.core.event_log import EventTap
from ose_mesh.core.outbox import RelayStats
from ose_mesh.core.ports import EventBus, Notifier, OutboxRepository


@dataclass(frozen=True, slots=True)
class NotifierStatus:
    urls: int
    delivered: int
    failed: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class BusStatus:
    backend: Literal["memory", "amqp"]
    connected: bool
    broker: str  # its address, without credentials
    published: int
    returned: int
    refused: int
    consumed: int
    dead_lettered: int
    outbox_backlog: int
    webhooks: NotifierStatus


class BusQueries:
    def __init__(
        self,
        *,
        backend: Literal["memory", "amqp"],
        broker_address: str,
        bus: EventBus,
        relay: RelayStats,
        tap: EventTap,
        outbox: OutboxRepository,
        admin: BrokerAdmin,
        notifier: Notifier,
    ) -> None:
        self.backend = backend
        self.broker_address = broker_address
        self._bus = bus
        self._relay = relay
        self._tap = tap
        self._outbox = outbox
        self._admin = admin
        self._notifier = notifier

    async def status(self) -> BusStatus:
        notifier = self._notifier.stats
        return BusStatus(
            backend=self.backend,
            connected=self._bus.connected,
            broker=self.broker_address,
            published=self._relay.published,
            returned=self._relay.returned,
            refused=self._relay.failed,
            consumed=self._tap.seen,
            dead_lettered=self._bus.stats.dead_lettered,
            outbox_backlog=await self._outbox.outbox_backlog(),
            webhooks=NotifierStatus(
                len(self._notifier.urls), notifier.delivered, notifier.failed, notifier.last_error
            ),
        )

    async def exchanges(self, page: int, page_size: int) -> Listing[ExchangeInfo]:
        return await self._admin.exchanges(page, page_size)

    async def queues(self, page: int, page_size: int) -> Listing[QueueInfo]:
        return await self._admin.queues(page, page_size)
