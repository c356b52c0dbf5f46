"""Publishing events through a database outbox.

A publish is written to the outbox first (so it survives a crash or a broker outage), then
the relay publishes it with confirms and deletes it. While the broker is away the caller is
answered at once with "queued"; the relay drains the outbox when it returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ose_mesh.core.broker import EVENTS, BrokerError
from ose_mesh.core.ports import EventBus, OutboxEntry, OutboxRepository
from ose_mesh.domain import EventMessage, EventRefused, UnknownExchange, storable

log = logging.getLogger(__name__)

CONFIRM_WAIT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class PublishReceipt:
    event_id: str
    state: Literal["confirmed", "queued"]
    routed: bool | None  # None while queued
    exchange: str
    routing_key: str


@dataclass(slots=True)
class RelayStats:
    published: int = 0
    returned: int = 0
    failed: int = 0  # refused by the broker (e.g. the exchange was deleted): dropped, logged


class OutboxRelay:
    def __init__(
        self,
        outbox: OutboxRepository,
        bus: EventBus,
        *,
        window: int = 100,
        batch: int = 1000,
        claimant: str | None = None,
    ) -> None:
        """`claimant` names this relay where several share the outbox (cluster mode):
        each row is published by one of them, first by the one whose server wrote it."""
        self.claimant = claimant
        self._outbox = outbox
        self._bus = bus
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
        entries = await self._outbox.pending_outbox(self._batch, self.claimant)
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
        if waiter is not None and not waiter.done():
            waiter.set_result(result)


def _refused(error: BaseException) -> bool:
    """The broker answered "no" for this message, as opposed to being away."""
    return isinstance(error, BrokerError) and error.refused


class EventService:
    def __init__(self, outbox: OutboxRepository, relay: OutboxRelay, bus: EventBus) -> None:
        self._outbox = outbox
        self._relay = relay
        self._bus = bus

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
        await self._outbox.add_outbox(entries, self._relay.claimant)
        self._relay.wake()

    async def publish(
        self, event: EventMessage, exchange: str = EVENTS, routing_key: str | None = None
    ) -> PublishReceipt:
        """Publish as a client asked: the exchange must exist; the routing key defaults to
        `{source_service}.{event_type}`. Stored first, then the broker's confirm is awaited
        briefly; "queued" when it is away or slow (the relay publishes it later)."""
        if not await self._bus.exchange_exists(exchange):
            raise UnknownExchange(exchange)
        routing_key = routing_key or f"{event.source_service}.{event.event_type}"
        connected = self._relay.connected
        waiter = self._relay.waiter(event.event_id) if connected else None
        try:
            await self.enqueue(exchange, routing_key, event)
            if waiter is None:
                return PublishReceipt(event.event_id, "queued", None, exchange, routing_key)
            async with asyncio.timeout(CONFIRM_WAIT_SECONDS):
                routed = await waiter
            return PublishReceipt(event.event_id, "confirmed", routed, exchange, routing_key)
        except TimeoutError:
            return PublishReceipt(event.event_id, "queued", None, exchange, routing_key)
        finally:
            self._relay.forget(event.event_id)
