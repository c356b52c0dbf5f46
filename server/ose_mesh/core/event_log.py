"""The log of recent events, fed by one tap on the broker.

The tap is a private queue bound to the public exchanges (`ose.events`, `ose.logs`,
`ose.broadcast`), so the log shows what the broker actually delivered there, whoever
published it: this server's outbox relay, an SDK client, another replica. It is the only
way into the log, so an event appears once and only after the broker took it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ose_mesh.core.broker import BROADCAST, EVENTS, LOGS, Broker, Delivery
from ose_mesh.core.hub import EventHub
from ose_mesh.core.wire import MalformedEvent, decode
from ose_mesh.domain import EventMessage
from ose_mesh.domain.routing import topic_matches

EVENTS_TOPIC = "events"  # the hub topic new log entries are published on
LOG_SIZE = 1000
TAPPED = ((EVENTS, "#"), (LOGS, ""), (BROADCAST, ""))


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    exchange: str
    routing_key: str
    event: EventMessage
    seen_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EventLog:
    """The last events seen, newest last; new ones also go to the hub for subscriptions."""

    def __init__(self, hub: EventHub, size: int = LOG_SIZE) -> None:
        self._hub = hub
        self._events: deque[LoggedEvent] = deque(maxlen=size)
        self._ids: deque[str] = deque(maxlen=size)

    def add(self, entry: LoggedEvent) -> None:
        if entry.event.event_id in self._ids:
            return  # delivered twice (at least once means it can happen)
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


class EventTap:
    """The server's private queue on the public exchanges, feeding the log."""

    def __init__(self, broker: Broker, log: EventLog) -> None:
        self._broker = broker
        self._log = log
        self.queue: str | None = None
        self.seen = 0

    def own_queues(self) -> list[str]:
        return [self.queue] if self.queue else []

    async def attach(self) -> None:
        """After every (re)connection: declare the queue, bind it, consume from it."""
        info = await self._broker.declare_queue("", durable=False, exclusive=True, auto_delete=True)
        for exchange, key in TAPPED:
            await self._broker.bind(info.name, exchange, key)
        await self._broker.consume(info.name, self._record, prefetch=200)
        self.queue = info.name

    async def _record(self, delivery: Delivery) -> None:
        await delivery.ack()
        try:
            event = decode(delivery)
        except MalformedEvent:
            return
        self.seen += 1
        self._log.add(LoggedEvent(delivery.exchange, delivery.routing_key, event))
