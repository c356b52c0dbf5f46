"""The broker port: what the SDK and the server speak to a message broker (RabbitMQ or its
in-memory twin), and what they ask an administrator of one (its topology).

Adapters (`adapters/broker`) implement it and turn the broker's own refusals into the errors
below, so neither the SDK nor the core ever looks at a reply code of a driver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Literal, Protocol, TypeVar

from ose_mesh.domain.errors import DomainError, Unavailable


class ExchangeType(StrEnum):
    TOPIC = "topic"
    DIRECT = "direct"
    FANOUT = "fanout"
    HEADERS = "headers"


# The mesh's standard topology, declared by every bus that connects.
EVENTS = "ose.events"
TASKS = "ose.tasks"
LOGS = "ose.logs"
BROADCAST = "ose.broadcast"
DEAD_LETTERS = "ose.dead-letters"
STANDARD_EXCHANGES = {
    EVENTS: ExchangeType.TOPIC,
    TASKS: ExchangeType.DIRECT,
    LOGS: ExchangeType.FANOUT,
    BROADCAST: ExchangeType.FANOUT,
    DEAD_LETTERS: ExchangeType.FANOUT,
}


class BrokerError(DomainError):
    """The broker refused an operation; `code` is the AMQP reply code (404, 406…)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def refused(self) -> bool:
        """The broker said "no" to this request itself (a 4xx reply): sending the same again
        fails again. Otherwise (a nack, a channel closed for another reason) it may pass."""
        return 400 <= self.code < 500


class NotFound(BrokerError):
    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class PreconditionFailed(BrokerError):
    def __init__(self, message: str) -> None:
        super().__init__(406, message)


class BrokerUnavailable(Unavailable):
    """No connection to the broker right now."""

    def __init__(self, message: str = "The message broker is unreachable.") -> None:
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Properties:
    """The AMQP basic properties we use."""

    content_type: str | None = None
    delivery_mode: int | None = None  # 2 = persistent
    priority: int | None = None
    correlation_id: str | None = None
    reply_to: str | None = None
    expiration: str | None = None  # milliseconds, as text (AMQP)
    message_id: str | None = None
    timestamp: datetime | None = None
    type: str | None = None
    app_id: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Delivery:
    body: bytes
    exchange: str
    routing_key: str
    properties: Properties
    redelivered: bool
    delivery_tag: int
    _settle: Callable[[str, bool], Awaitable[object]] | None = None

    async def ack(self) -> None:
        if self._settle is not None:
            await self._settle("ack", False)

    async def nack(self, requeue: bool = True) -> None:
        if self._settle is not None:
            await self._settle("nack", requeue)

    async def reject(self, requeue: bool = True) -> None:
        if self._settle is not None:
            await self._settle("reject", requeue)


@dataclass(frozen=True, slots=True)
class QueueInfo:
    name: str
    message_count: int
    consumer_count: int


Handler = Callable[[Delivery], Awaitable[None]]


class Broker(Protocol):
    """One connection to a broker (or to the in-memory twin), with confirms on."""

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def connected(self) -> bool: ...

    async def declare_exchange(
        self, name: str, type: ExchangeType, *, durable: bool = True, passive: bool = False
    ) -> None: ...

    async def declare_queue(
        self,
        name: str,
        *,
        durable: bool = True,
        exclusive: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
        passive: bool = False,
    ) -> QueueInfo: ...

    async def bind(
        self,
        queue: str,
        exchange: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None: ...

    async def delete_queue(self, name: str) -> None: ...

    async def delete_exchange(self, name: str) -> None: ...

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: Properties,
        *,
        mandatory: bool = False,
    ) -> bool:
        """Publish and wait for the broker's confirm; False when a mandatory message was
        returned as unroutable."""
        ...

    async def consume(self, queue: str, handler: Handler, *, prefetch: int = 10) -> str:
        """Deliver messages to `handler` (manual acks); returns the consumer tag."""
        ...

    async def cancel(self, consumer_tag: str) -> None: ...

    async def get(self, queue: str) -> Delivery | None:
        """One message, or None when the queue is empty (basic.get, manual ack)."""
        ...


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    name: str
    type: str
    durable: bool


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """One page of a topology listing."""

    items: list[T]
    page: int
    page_size: int
    page_count: int
    total: int
    source: Literal["management", "declared"]  # the whole vhost, or what this server declared

    @classmethod
    def of(
        cls, every: list[T], page: int, page_size: int, source: Literal["management", "declared"]
    ) -> Listing[T]:
        """The page of `every` (already sorted) that `page` and `page_size` name."""
        start = (page - 1) * page_size
        count = max(1, -(-len(every) // page_size))
        return cls(every[start : start + page_size], page, page_size, count, len(every), source)


class BrokerAdmin(Protocol):
    """The broker's topology, as far as the backend can tell: the management API lists the
    whole vhost, AMQP alone only what this server declared, the in-memory twin everything."""

    async def exchanges(self, page: int, page_size: int) -> Listing[ExchangeInfo]: ...

    async def queues(self, page: int, page_size: int) -> Listing[QueueInfo]: ...
