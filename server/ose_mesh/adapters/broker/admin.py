"""BrokerAdmin, one per backend: what each can tell about the broker's topology."""

from __future__ import annotations

from collections.abc import Callable

from ose_mesh.adapters.broker.management import ManagementClient
from ose_mesh.adapters.broker.memory import MemoryBroker
from ose_mesh.core.broker import (
    DEAD_LETTERS,
    STANDARD_EXCHANGES,
    Broker,
    BrokerError,
    BrokerUnavailable,
    ExchangeInfo,
    Listing,
    QueueInfo,
)


class ManagementTopology:
    """The whole vhost, from RabbitMQ's management API (pages as the API pages)."""

    def __init__(self, client: ManagementClient) -> None:
        self._client = client

    async def exchanges(self, page: int, page_size: int) -> Listing[ExchangeInfo]:
        found = await self._client.page("exchanges", page, page_size)
        items = [ExchangeInfo(e["name"], e["type"], bool(e.get("durable"))) for e in found.items]
        return Listing(
            items, found.page, found.page_size, found.page_count, found.total, "management"
        )

    async def queues(self, page: int, page_size: int) -> Listing[QueueInfo]:
        found = await self._client.page("queues", page, page_size)
        items = [
            QueueInfo(q["name"], int(q.get("messages") or 0), int(q.get("consumers") or 0))
            for q in found.items
        ]
        return Listing(
            items, found.page, found.page_size, found.page_count, found.total, "management"
        )


class MemoryTopology:
    """Everything in the in-memory virtual host."""

    def __init__(self, broker: MemoryBroker) -> None:
        self._broker = broker

    async def exchanges(self, page: int, page_size: int) -> Listing[ExchangeInfo]:
        every = [ExchangeInfo(n, t.value, d) for n, t, d in self._broker.exchanges() if n]
        return Listing.of(sorted(every, key=lambda e: e.name), page, page_size, "declared")

    async def queues(self, page: int, page_size: int) -> Listing[QueueInfo]:
        every = sorted(self._broker.queue_infos(), key=lambda q: q.name)
        return Listing.of(every, page, page_size, "declared")


class DeclaredTopology:
    """RabbitMQ without its management API: AMQP cannot list, so this tells what the server
    itself declared (the standard exchanges, the dead letters and its own queues)."""

    def __init__(self, broker: Broker, own_queues: Callable[[], list[str]]) -> None:
        self._broker = broker
        self._own_queues = own_queues

    async def exchanges(self, page: int, page_size: int) -> Listing[ExchangeInfo]:
        every = [ExchangeInfo(n, t.value, True) for n, t in STANDARD_EXCHANGES.items()]
        return Listing.of(sorted(every, key=lambda e: e.name), page, page_size, "declared")

    async def queues(self, page: int, page_size: int) -> Listing[QueueInfo]:
        every = []
        for name in [DEAD_LETTERS, *self._own_queues()]:
            try:  # a passive declare gives the counts
                every.append(await self._broker.declare_queue(name, passive=True))
            except (BrokerError, BrokerUnavailable):
                continue
        return Listing.of(every, page, page_size, "declared")
