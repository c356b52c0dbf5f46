"""GraphQL for the event bus: status, topology, recent events, publishing, live events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from ose_mesh import domain
from ose_mesh.api.graphql.context import mesh_of
from ose_mesh.api.graphql.types import InvalidFieldError, UnavailableError
from ose_mesh.api.json_input import MAX_NESTING, too_deep
from ose_mesh.core.broker import EVENTS
from ose_mesh.core.event_log import EVENTS_TOPIC, LoggedEvent, matches

MAX_EVENTS = 1000


@strawberry.type
class BusStatus:
    backend: str
    connected: bool
    broker: str
    published: int
    returned: int
    refused: int
    consumed: int
    dead_lettered: int
    outbox_backlog: int


@strawberry.type
class Exchange:
    name: str
    type: str
    durable: bool


@strawberry.type
class Queue:
    name: str
    messages: int
    consumers: int


@strawberry.type(description="An event seen on the bus.")
class Event:
    event_id: str
    event_type: str
    source_service: str
    exchange: str
    routing_key: str
    payload: JSON
    priority: int
    correlation_id: str | None
    timestamp: datetime
    seen_at: datetime

    @classmethod
    def from_log(cls, entry: LoggedEvent) -> Event:
        event = entry.event
        return cls(
            event_id=event.event_id,
            event_type=event.event_type,
            source_service=event.source_service,
            exchange=entry.exchange,
            routing_key=entry.routing_key,
            payload=cast(JSON, event.payload),
            priority=int(event.priority),
            correlation_id=event.correlation_id,
            timestamp=event.timestamp,
            seen_at=entry.seen_at,
        )


@strawberry.type(description="A publish: confirmed by the broker, or queued in the outbox.")
class PublishReceipt:
    event_id: str
    status: str
    routed: bool | None
    routing_key: str


@strawberry.type
class UnknownExchangeError:
    message: str
    exchange: str


PublishResult = Annotated[
    PublishReceipt | InvalidFieldError | UnknownExchangeError | UnavailableError,
    strawberry.union("PublishResult"),
]


@strawberry.input
class PublishInput:
    event_type: str
    source_service: str
    exchange: str = EVENTS
    # Optional rather than defaulting to {}: an object default cannot be shown by
    # introspection (graphql-core cannot print a JSON object as a default value).
    payload: JSON | None = strawberry.field(
        default=None, description="A JSON object; an empty one when left out."
    )
    routing_key: str | None = None
    priority: int = 5
    correlation_id: str | None = None
    metadata: JSON | None = strawberry.field(
        default=None, description="A JSON object; an empty one when left out."
    )


def _check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise ValueError(f"page must be at least 1, got {page}")
    if not 1 <= page_size <= 500:
        raise ValueError(f"pageSize must be from 1 to 500, got {page_size}")


def _object(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise domain.InvalidField(field, "must be a JSON object")
    if too_deep(value):
        raise domain.InvalidField(field, f"must not nest more than {MAX_NESTING} levels deep")
    return value


def _check(value: PublishInput) -> None:
    if not value.event_type.strip():
        raise domain.InvalidField("eventType", "must not be empty")
    if not value.source_service.strip():
        raise domain.InvalidField("sourceService", "must not be empty")
    if not 0 <= value.priority <= 9:
        raise domain.InvalidField("priority", f"must be from 0 to 9, got {value.priority}")
    if value.routing_key is not None and len(value.routing_key.encode()) > 255:
        raise domain.InvalidField("routingKey", "must be at most 255 bytes")


@strawberry.type
class BusQuery:
    @strawberry.field
    async def bus_status(self, info: Info) -> BusStatus:
        found = await mesh_of(info).bus.status()
        return BusStatus(
            backend=found.backend,
            connected=found.connected,
            broker=found.broker,
            published=found.published,
            returned=found.returned,
            refused=found.refused,
            consumed=found.consumed,
            dead_lettered=found.dead_lettered,
            outbox_backlog=found.outbox_backlog,
        )

    @strawberry.field(description="Exchanges, a page at a time (pageSize at most 500).")
    async def exchanges(self, info: Info, page: int = 1, page_size: int = 100) -> list[Exchange]:
        _check_page(page, page_size)
        found = await mesh_of(info).bus.exchanges(page, page_size)
        return [Exchange(name=e.name, type=e.type, durable=e.durable) for e in found.items]

    @strawberry.field(description="Queues with their counts, a page at a time.")
    async def queues(self, info: Info, page: int = 1, page_size: int = 100) -> list[Queue]:
        _check_page(page, page_size)
        found = await mesh_of(info).bus.queues(page, page_size)
        return [
            Queue(name=q.name, messages=q.message_count, consumers=q.consumer_count)
            for q in found.items
        ]

    @strawberry.field(description="Recent events (newest last), by exchange and topic pattern.")
    def events(
        self, info: Info, last: int = 100, exchange: str | None = None, pattern: str | None = None
    ) -> list[Event]:
        if not 1 <= last <= MAX_EVENTS:
            raise ValueError(f"last must be from 1 to {MAX_EVENTS}, got {last}")
        return [Event.from_log(e) for e in mesh_of(info).event_log.recent(last, exchange, pattern)]


@strawberry.type
class BusMutation:
    @strawberry.mutation(description="Publish an event (through the outbox).")
    async def publish_event(self, info: Info, input: PublishInput) -> PublishResult:
        try:
            _check(input)
            event = domain.EventMessage(
                event_type=input.event_type,
                source_service=input.source_service,
                payload=_object({} if input.payload is None else input.payload, "payload"),
                priority=domain.exact_priority(input.priority),
                correlation_id=input.correlation_id,
                metadata=_object({} if input.metadata is None else input.metadata, "metadata"),
            )
            receipt = await mesh_of(info).events.publish(event, input.exchange, input.routing_key)
        except domain.UnknownExchange as exc:
            return UnknownExchangeError(message=exc.message, exchange=exc.exchange)
        except domain.InvalidField as exc:
            return InvalidFieldError(message=exc.message, field=exc.field)
        except domain.DomainError as exc:
            return UnavailableError(message=exc.message)
        return PublishReceipt(
            event_id=receipt.event_id,
            status=receipt.state,
            routed=receipt.routed,
            routing_key=receipt.routing_key,
        )


@strawberry.type
class BusSubscription:
    @strawberry.subscription(description="Events as they are seen, filtered like `events`.")
    async def events(
        self, info: Info, exchange: str | None = None, pattern: str | None = None
    ) -> AsyncGenerator[Event, None]:
        subscription = mesh_of(info).hub.subscribe(
            EVENTS_TOPIC, accept=lambda entry: matches(entry, exchange, pattern)
        )
        try:
            async for entry in subscription:
                yield Event.from_log(entry)
        finally:
            subscription.close()
