"""Queues of the in-memory broker: messages in priority order, consumers taking turns."""

from __future__ import annotations

import asyncio
import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ose_mesh.core.broker import Delivery, Handler, Properties

if TYPE_CHECKING:
    from ose_mesh.adapters.broker.memory.broker import MemoryBroker


@dataclass(slots=True)
class Message:
    body: bytes
    exchange: str
    routing_key: str
    properties: Properties
    seq: int
    expires_at: float | None = None  # on the virtual host's monotonic clock
    redelivered: bool = False


@dataclass(eq=False, slots=True)
class Consumer:
    tag: str
    queue: str
    handler: Handler
    prefetch: int
    owner: MemoryBroker
    inbox: asyncio.Queue[Delivery] = field(default_factory=asyncio.Queue)
    unacked: int = 0
    worker: asyncio.Task[None] | None = None


class Queue:
    def __init__(self, name: str, durable: bool, exclusive: bool, auto_delete: bool,
                 arguments: dict[str, Any], owner: MemoryBroker | None) -> None:  # fmt: skip
        self.name = name
        self.durable = durable
        self.exclusive = exclusive
        self.auto_delete = auto_delete
        self.arguments = arguments
        self.owner = owner
        self.max_priority: int | None = arguments.get("x-max-priority")
        self.message_ttl: int | None = arguments.get("x-message-ttl")
        self.heap: list[tuple[int, int, Message]] = []
        self.consumers: list[Consumer] = []
        self.turn = 0

    def push(self, message: Message) -> None:
        priority = 0
        if self.max_priority is not None:
            priority = min(message.properties.priority or 0, self.max_priority)
        heapq.heappush(self.heap, (-priority, message.seq, message))

    def pop(self) -> Message:
        return heapq.heappop(self.heap)[2]

    def head(self) -> Message | None:
        return self.heap[0][2] if self.heap else None

    def next_consumer(self) -> Consumer | None:
        """Round robin among consumers with room under their prefetch."""
        for step in range(len(self.consumers)):
            consumer = self.consumers[(self.turn + step) % len(self.consumers)]
            if consumer.prefetch == 0 or consumer.unacked < consumer.prefetch:
                self.turn = (self.turn + step + 1) % len(self.consumers)
                return consumer
        return None


def ttl_ms(expiration: str | None, queue_ttl: int | None) -> int | None:
    """A message's time to live: the shorter of its own and its queue's, if any."""
    values = [int(v) for v in (expiration, queue_ttl) if v is not None]
    return min(values) if values else None
