"""Publishing events through a database outbox, and the log of recent events.

A publish is written to the outbox first (so it survives a crash or a broker outage), then
the relay publishes it with confirms and deletes it. While the broker is away the caller is
answered at once with "queued"; the relay drains the outbox when it returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ose_mesh.core.hub import STATUS, EventHub, Subscription
from ose_mesh.core.ports import EventBus, OutboxEntry, OutboxRepository
from ose_mesh.domain import (
    DomainError,
    EventMessage,
    EventRefused,
    HealthStatus,
    MessagePriority,
    StatusChange,
    storable,
)
from ose_mesh.domain.routing import topic_matches

log = logging.getLogger(__name__)

EVENTS_TOPIC = "events"
LOG_SIZE = 1000
CONFIRM_WAIT_SECONDS = 2.0
TRANSITIONS_PER_WRITE = 500


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    exchange: str
    routing_key: str
    event: EventMessage
    seen_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class PublishReceipt:
    event_id: str
    state: Literal["confirmed", "queued"]
    routed: bool | None  # None while queued


@dataclass(slots=True)
class RelayStats:
    published: int = 0
    returned: int = 0
    failed: int = 0  # refused by the broker (e.g. the exchange was deleted): dropped, logged


class EventLog:
    """The last events seen, newest last; new ones also go to the hub for subscriptions."""

    def __init__(self, hub: EventHub, size: int = LOG_SIZE) -> None:
        self._hub = hub
        self._events: deque[LoggedEvent] = deque(maxlen=size)
        self._ids: deque[str] = deque(maxlen=size)

    def add(self, entry: LoggedEvent) -> None:
        if entry.event.event_id in self._ids:
            return  # published here and seen again by the tap
        self._ids.append(entry.event.event_id)
        self._events.append(entry)
        self._hub.publish(EVENTS_TOPIC, entry)

    def recent(
        self, last: int = 100, exchange: str | None = None, pattern: str | None = None
    ) -> list[LoggedEvent]:
        chosen = [e for e in self._events if matches(e, exchange, pattern)]
        return chosen[-last:] if last else []


def matches(entry: LoggedEvent, exchange: str | None, pattern: str | None) -> bool:
    if exchange is not None and entry.exchange != exchange:
        return False
    return pattern is None or topic_matches(pattern, entry.routing_key)


class OutboxRelay:
    def __init__(
        self,
        outbox: OutboxRepository,
        bus: EventBus,
        events: EventLog,
        *,
        window: int = 100,
        batch: int = 1000,
    ) -> None:
        self._outbox = outbox
        self._bus = bus
        self._events = events
        self._window = window
        self._batch = batch
        self._wake = asyncio.Event()
        self._waiters: dict[str, asyncio.Future[bool]] = {}
        self.stats = RelayStats()

    @property
    def connected(self) -> bool:
        return self._bus.connected

    def wake(self) -> None:
        self._wake.set()

    def waiter(self, event_id: str) -> asyncio.Future[bool]:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters[event_id] = future
        return future

    def forget(self, event_id: str) -> None:
        self._waiters.pop(event_id, None)

    async def run(self) -> None:
        while True:
            try:
                drained = await self.drain()
            except Exception:
                log.warning("outbox relay: publishing failed, will retry", exc_info=True)
                drained = 0
            if not drained:
                self._wake.clear()
                try:
                    async with asyncio.timeout(0.5):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def drain(self) -> int:
        """Publish what is pending, a bounded window of confirms at a time."""
        if not self._bus.connected:
            return 0
        entries = await self._outbox.pending_outbox(self._batch)
        done = 0
        for start in range(0, len(entries), self._window):
            chunk = entries[start : start + self._window]
            results = await asyncio.gather(
                *(self._bus.publish_event(e.exchange, e.event, e.routing_key) for e in chunk),
                return_exceptions=True,
            )
            finished = [
                (entry, result)
                for entry, result in zip(chunk, results, strict=True)
                if not isinstance(result, BaseException) or _refused(result)
            ]
            await self._outbox.delete_outbox([entry.id for entry, _ in finished if entry.id])
            for entry, result in finished:
                self._settle(entry, result)
            done += len(finished)
            if len(finished) < len(chunk):
                break  # the broker went away mid-way: the rest stays in the outbox
        return done

    def _settle(self, entry: OutboxEntry, result: bool | BaseException) -> None:
        waiter = self._waiters.pop(entry.event.event_id, None)
        if isinstance(result, BaseException):
            self.stats.failed += 1
            log.error("dropping event %s: %s", entry.event.event_id, result)
            if waiter is not None and not waiter.done():
                waiter.set_exception(EventRefused(f"The broker refused the event: {result}"))
            return
        self.stats.published += 1
        if not result:
            self.stats.returned += 1
        self._events.add(LoggedEvent(entry.exchange, entry.routing_key, entry.event))
        if waiter is not None and not waiter.done():
            waiter.set_result(result)


def _refused(error: BaseException) -> bool:
    """The broker answered "no" for this message (a 4xx reply), as opposed to being away."""
    return 400 <= int(getattr(error, "code", 0) or 0) < 500


class EventService:
    def __init__(self, outbox: OutboxRepository, relay: OutboxRelay) -> None:
        self._outbox = outbox
        self._relay = relay

    async def enqueue(self, exchange: str, routing_key: str, event: EventMessage) -> None:
        """Store for publishing; return without waiting (status transitions)."""
        await self.enqueue_many([OutboxEntry(exchange, routing_key, event)])

    async def enqueue_many(self, entries: Sequence[OutboxEntry]) -> None:
        """Store several events in one write (all or none)."""
        for entry in entries:
            event = entry.event
            for name, text in (
                ("exchange", entry.exchange),
                ("routing_key", entry.routing_key),
                ("event_type", event.event_type),
                ("source_service", event.source_service),
                ("correlation_id", event.correlation_id),
                ("reply_to", event.reply_to),
                ("event_id", event.event_id),
            ):
                storable(name, text)
        await self._outbox.add_outbox(entries)
        self._relay.wake()

    async def publish(self, exchange: str, routing_key: str, event: EventMessage) -> PublishReceipt:
        """Store, then wait briefly for the broker's confirm; "queued" when it is away."""
        connected = self._relay.connected
        waiter = self._relay.waiter(event.event_id) if connected else None
        try:
            await self.enqueue(exchange, routing_key, event)
            if waiter is None:
                return PublishReceipt(event.event_id, "queued", None)
            async with asyncio.timeout(CONFIRM_WAIT_SECONDS):
                routed = await waiter
            return PublishReceipt(event.event_id, "confirmed", routed)
        except TimeoutError:
            return PublishReceipt(event.event_id, "queued", None)
        finally:
            self._relay.forget(event.event_id)


EVENTS_EXCHANGE = "ose.events"
_PRIORITY = {
    HealthStatus.DEAD: MessagePriority.CRITICAL,
    HealthStatus.CRITICAL: MessagePriority.HIGH,
    HealthStatus.DEGRADED: MessagePriority.NORMAL,
}


def transition_event(change: StatusChange) -> EventMessage:
    """A status transition as the event every subscriber of `ose.events` sees."""
    return EventMessage(
        event_type=f"service.health.{change.current.value}",
        source_service=change.service_id,
        payload={
            "service_id": change.service_id,
            "previous": change.previous.value,
            "current": change.current.value,
            "reason": change.reason,
            "root_causes": list(change.root_causes),
            "at": change.at.isoformat(),
        },
        priority=_PRIORITY.get(change.current, MessagePriority.LOW),
        timestamp=change.at,
    )


def subscribe_transitions(hub: EventHub) -> Subscription:
    """Subscribe before anything can change (the lifespan does it first)."""
    return hub.subscribe(STATUS, size=100_000)


async def forward_transitions(subscription: Subscription, events: EventService) -> None:
    """Publish every status transition to `ose.events` as `{service_id}.health.{status}`.
    A storm of them (a network outage turns every service dead) is stored in batches, one
    write for up to TRANSITIONS_PER_WRITE, not one round trip each."""
    async for changes in subscription.batches(TRANSITIONS_PER_WRITE):
        entries = [
            OutboxEntry(
                EVENTS_EXCHANGE,
                f"{change.service_id}.health.{change.current.value}",
                transition_event(change),
            )
            for change in changes
        ]
        try:
            await events.enqueue_many(entries)
        except DomainError as exc:  # the database is away, or refused them: keep forwarding
            log.error(
                "lost the events of %d transitions (%s, …): %s",
                len(changes),
                changes[0].service_id,
                exc.message,
            )
