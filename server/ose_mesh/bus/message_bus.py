"""MessageBus: the reference's Python API over RabbitMQ or the in-memory twin.

Delivery is at least once: messages are persistent and published with confirms (and
`mandatory`, so unroutable ones are counted, not lost silently); consumers ack manually
after the handler succeeded; a failing handler is retried with backoff and then the message
is dead-lettered to `ose.dead-letters`, never requeued forever.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from ose_mesh.bus.backends import broker_from_environment
from ose_mesh.core.broker import (
    BROADCAST,
    DEAD_LETTERS,
    EVENTS,
    LOGS,
    STANDARD_EXCHANGES,
    TASKS,
    Broker,
    Delivery,
    ExchangeType,
    NotFound,
)
from ose_mesh.core.wire import MalformedEvent, decode, encode
from ose_mesh.domain import EventMessage

log = logging.getLogger(__name__)

__all__ = [
    "BROADCAST",  # the standard exchanges (core/broker.py), where SDK users have found them
    "DEAD_LETTERS",
    "EVENTS",
    "LOGS",
    "STANDARD_EXCHANGES",
    "TASKS",
    "BusStats",
    "EventHandler",
    "MessageBus",
    "RetryPolicy",
    "RpcError",
    "RpcHandler",
]
MAX_PRIORITY = 9
SEEN_IDS = 10_000

EventHandler = Callable[[EventMessage], Awaitable[Any]]
RpcHandler = Callable[[EventMessage], Awaitable[dict[str, Any]]]


class RpcError(Exception):
    """A request could not be answered: nobody serves it, or no reply came in time."""


@dataclass(slots=True)
class BusStats:
    published: int = 0
    returned: int = 0
    consumed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    malformed: int = 0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 0.1  # doubled after every failed attempt


class MessageBus:
    def __init__(
        self,
        broker: Broker | None = None,
        *,
        name: str = "ose-mesh-client",
        retry: RetryPolicy | None = None,
        dedupe: bool = False,
    ) -> None:
        self.name = name
        self._broker = broker
        self.retry = retry or RetryPolicy()
        self.dedupe = dedupe
        self.stats = BusStats()
        self._queues: set[str] = set()
        self._reply_queue: str | None = None
        self._pending: dict[str, asyncio.Future[EventMessage]] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._ready = False

    @property
    def broker(self) -> Broker:
        if self._broker is None:
            self._broker = broker_from_environment()
        return self._broker

    @property
    def connected(self) -> bool:
        """Connected, with the topology (and stay_connected's consumers) in place."""
        return self._ready and self._broker is not None and self._broker.connected

    async def connect(self) -> None:
        """Connect and declare the standard topology (durable exchanges, dead letters)."""
        await self._connect_topology()
        self._ready = True

    async def _connect_topology(self) -> None:
        self._ready = False
        await self.broker.connect()
        for name, kind in STANDARD_EXCHANGES.items():
            await self.broker.declare_exchange(name, kind, durable=True)
        await self.broker.declare_queue(DEAD_LETTERS, durable=True)
        await self.broker.bind(DEAD_LETTERS, DEAD_LETTERS)

    async def stay_connected(
        self,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        *,
        max_backoff: float = 1.0,
    ) -> None:
        """Keep the connection up until cancelled: reconnect with backoff (capped, so the
        topology and `on_connect`'s consumers are back within about a second of the broker's
        return), never raising a connection error to the caller."""
        delay = 0.1
        while True:
            if self.connected:
                delay = 0.1
                await asyncio.sleep(0.2)
                continue
            try:
                self._queues.clear()
                self._reply_queue = None
                await self._connect_topology()
                if on_connect is not None:
                    await on_connect()
                self._ready = True
                log.info("message bus connected (%s)", self.name)
            except Exception as exc:
                log.warning("message bus unavailable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(max_backoff, delay * 2)

    async def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        self._ready = False
        if self._broker is not None:
            await self._broker.close()
        self._queues.clear()
        self._reply_queue = None

    # -- topology ------------------------------------------------------------------------

    async def declare_exchange(
        self, name: str, exchange_type: ExchangeType = ExchangeType.TOPIC, *, durable: bool = True
    ) -> None:
        await self.broker.declare_exchange(name, exchange_type, durable=durable)

    async def declare_queue(
        self,
        name: str,
        *,
        durable: bool = True,
        exclusive: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
    ) -> str:
        """A durable queue with priorities (0-9) and the dead-letter exchange, unless the
        arguments say otherwise."""
        merged = {
            "x-max-priority": MAX_PRIORITY,
            "x-dead-letter-exchange": DEAD_LETTERS,
            **(arguments or {}),
        }
        info = await self.broker.declare_queue(
            name, durable=durable, exclusive=exclusive, auto_delete=auto_delete, arguments=merged
        )
        self._queues.add(info.name)
        return info.name

    async def bind(
        self, queue: str, exchange: str, routing_key_or_headers: str | dict[str, Any] = "#"
    ) -> None:
        """Bind with a routing key (topic pattern, direct key) or, for headers exchanges, a
        dict of headers (with an optional "x-match")."""
        if isinstance(routing_key_or_headers, dict):
            await self.broker.bind(queue, exchange, "", routing_key_or_headers)
        else:
            await self.broker.bind(queue, exchange, routing_key_or_headers)

    # -- publishing ----------------------------------------------------------------------

    async def exchange_exists(self, name: str) -> bool:
        """Whether `name` exists: the standard exchanges always; others by a passive
        declare, so False while disconnected."""
        if name in STANDARD_EXCHANGES or name == "":
            return True
        if not self.connected:
            return False
        try:
            await self.broker.declare_exchange(name, ExchangeType.TOPIC, passive=True)
        except NotFound:
            return False
        return True

    async def publish_event(
        self,
        exchange: str,
        event: EventMessage,
        routing_key: str | None = None,
        *,
        headers: dict[str, Any] | None = None,
        persistent: bool = True,
        mandatory: bool = True,
    ) -> bool:
        """Publish and wait for the broker's confirm. Routing key defaults to
        `{source_service}.{event_type}`. Returns False when no queue took the message."""
        body, properties = encode(event, persistent=persistent)
        if headers:
            properties = replace(properties, headers={**properties.headers, **headers})
        key = (
            routing_key if routing_key is not None else f"{event.source_service}.{event.event_type}"
        )
        routed = await self.broker.publish(exchange, key, body, properties, mandatory=mandatory)
        self.stats.published += 1
        if not routed:
            self.stats.returned += 1
        return routed

    # -- consuming -----------------------------------------------------------------------

    async def consume(self, queue: str, handler: EventHandler, *, prefetch: int = 10) -> str:
        """Call `handler` with every event of the queue (declared if it does not exist)."""
        if queue not in self._queues:
            await self.declare_queue(queue)

        async def on_delivery(delivery: Delivery) -> None:
            await self._handle(delivery, handler)

        return await self.broker.consume(queue, on_delivery, prefetch=prefetch)

    async def cancel(self, consumer_tag: str) -> None:
        await self.broker.cancel(consumer_tag)

    async def _handle(self, delivery: Delivery, handler: EventHandler) -> None:
        try:
            event = decode(delivery)
        except MalformedEvent as exc:
            log.warning("dead-lettering a malformed message: %s", exc)
            self.stats.malformed += 1
            self.stats.dead_lettered += 1
            await delivery.reject(requeue=False)
            return
        if self.dedupe and event.event_id and event.event_id in self._seen:
            self.stats.duplicates += 1
            await delivery.ack()
            return
        for attempt in range(1, self.retry.attempts + 1):
            try:
                await handler(event)
                break
            except Exception:
                log.exception("handler failed on %s (attempt %d)", event.event_type, attempt)
                if attempt == self.retry.attempts:
                    self.stats.dead_lettered += 1
                    await delivery.reject(requeue=False)
                    return
                self.stats.retried += 1
                await asyncio.sleep(self.retry.backoff_seconds * 2 ** (attempt - 1))
        self._remember(event.event_id)
        self.stats.consumed += 1
        await delivery.ack()

    def _remember(self, event_id: str) -> None:
        if not self.dedupe or not event_id:  # a message without an id is never a duplicate
            return
        self._seen[event_id] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)

    # -- request / reply -----------------------------------------------------------------

    async def rpc(
        self, exchange: str, routing_key: str, event: EventMessage, timeout: float = 5.0
    ) -> EventMessage:
        """Send a request and wait for its reply (a per-process reply queue, matched by
        correlation id). Raises RpcError when nobody serves it or no reply comes in time."""
        reply_queue = await self._replies()
        correlation_id = event.correlation_id or uuid.uuid4().hex
        future: asyncio.Future[EventMessage] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        request = replace(event, correlation_id=correlation_id, reply_to=reply_queue)
        try:
            if not await self.publish_event(exchange, request, routing_key, persistent=False):
                raise RpcError(f"nobody serves '{routing_key}' on '{exchange}'")
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise RpcError(
                f"no reply to '{event.event_type}' from '{routing_key}' within {timeout:g}s"
            ) from None
        finally:
            self._pending.pop(correlation_id, None)

    async def serve_rpc(self, queue: str, handler: RpcHandler, *, prefetch: int = 10) -> str:
        """Answer requests arriving in `queue`: the handler's dict is the reply payload.
        Several processes serving one queue share the load."""

        async def answer(request: EventMessage) -> None:
            payload = await handler(request)
            if request.reply_to:
                reply = EventMessage(
                    event_type=f"{request.event_type}.reply",
                    source_service=self.name,
                    payload=payload,
                    correlation_id=request.correlation_id,
                )
                await self.publish_event("", reply, request.reply_to, persistent=False)

        return await self.consume(queue, answer, prefetch=prefetch)

    async def _replies(self) -> str:
        if self._reply_queue is None:
            info = await self.broker.declare_queue(
                "", durable=False, exclusive=True, auto_delete=True
            )

            async def on_reply(delivery: Delivery) -> None:
                await delivery.ack()
                try:
                    reply = decode(delivery)
                except MalformedEvent:
                    return
                future = self._pending.get(reply.correlation_id or "")
                if future is not None and not future.done():
                    future.set_result(reply)

            await self.broker.consume(info.name, on_reply, prefetch=100)
            self._reply_queue = info.name
        return self._reply_queue
