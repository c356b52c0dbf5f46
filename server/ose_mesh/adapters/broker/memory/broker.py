"""The in-memory broker: an exact twin of RabbitMQ's routing and delivery, in-process.

It follows RabbitMQ where in-memory test brokers usually cut corners: topic `#` matches zero
or more words, headers exchanges honour every x-match mode, competing consumers take turns
within their prefetch, unroutable mandatory messages are returned, rejected and expired
messages are dead-lettered with an `x-death` history, priorities apply only to queues
declared with `x-max-priority`, and requeued messages come back marked redelivered in their
original position. Time (message expiry, x-death times) comes from the virtual host's clock.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from dataclasses import replace
from typing import Any

from ose_mesh.adapters.broker.memory.queues import Consumer, Message, Queue, ttl_ms
from ose_mesh.adapters.broker.memory.routing import Binding, Exchange
from ose_mesh.core.broker import (
    Delivery,
    ExchangeType,
    Handler,
    NotFound,
    PreconditionFailed,
    Properties,
    QueueInfo,
)
from ose_mesh.core.clock import SystemClock
from ose_mesh.core.ports import Clock

log = logging.getLogger(__name__)


class MemoryVirtualHost:
    """Exchanges and queues shared by every MemoryBroker connected to it."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.exchanges: dict[str, Exchange] = {"": Exchange("", ExchangeType.DIRECT, True)}
        self.queues: dict[str, Queue] = {}
        self._seq = itertools.count()

    def next_seq(self) -> int:
        return next(self._seq)

    def route(self, exchange: Exchange, routing_key: str, headers: dict[str, Any]) -> list[Queue]:
        if exchange.name == "":
            queue = self.queues.get(routing_key)
            return [queue] if queue else []
        names = exchange.bound_queues(routing_key, headers)
        return [self.queues[name] for name in names if name in self.queues]


_shared: MemoryVirtualHost | None = None


def shared_virtual_host() -> MemoryVirtualHost:
    """The process's in-memory broker: every bus in one process must meet in the same one,
    as services meet in one RabbitMQ vhost."""
    global _shared
    if _shared is None:
        _shared = MemoryVirtualHost()
    return _shared


class MemoryBroker:
    """One connection to a MemoryVirtualHost; implements the Broker protocol."""

    def __init__(self, vhost: MemoryVirtualHost | None = None) -> None:
        self.vhost = vhost or shared_virtual_host()
        self._connected = False
        self._tags = itertools.count(1)
        self._unacked: dict[int, tuple[Queue, Message, Consumer | None]] = {}
        self._consumers: dict[str, Consumer] = {}

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self._connected = True

    async def close(self) -> None:
        """As a closed channel: consumers end, unacked messages go back marked redelivered,
        exclusive queues disappear."""
        for tag in list(self._consumers):
            await self.cancel(tag)
        for queue, message, _ in self._unacked.values():
            message.redelivered = True
            queue.push(message)
        touched = {queue.name for queue, _, _ in self._unacked.values()}
        self._unacked.clear()
        for name, queue in list(self.vhost.queues.items()):
            if queue.exclusive and queue.owner is self:
                self._drop_queue(name)
        for name in touched:
            if name in self.vhost.queues:
                self._dispatch(self.vhost.queues[name])
        self._connected = False

    # -- topology ------------------------------------------------------------------------

    async def declare_exchange(
        self, name: str, type: ExchangeType, *, durable: bool = True, passive: bool = False
    ) -> None:
        existing = self.vhost.exchanges.get(name)
        if passive:
            if existing is None:
                raise NotFound(f"NOT_FOUND - no exchange '{name}' in vhost '/'")
            return
        if existing is not None:
            if existing.type is not type or existing.durable != durable:
                raise PreconditionFailed(
                    f"PRECONDITION_FAILED - inequivalent arg 'type' for exchange '{name}' "
                    f"in vhost '/': received '{type}' but current is '{existing.type}'"
                )
            return
        self.vhost.exchanges[name] = Exchange(name, type, durable)

    async def declare_queue(
        self,
        name: str,
        *,
        durable: bool = True,
        exclusive: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
        passive: bool = False,
    ) -> QueueInfo:
        existing = self.vhost.queues.get(name)
        if passive:
            if existing is None:
                raise NotFound(f"NOT_FOUND - no queue '{name}' in vhost '/'")
            return self._info(existing)
        arguments = dict(arguments or {})
        if existing is not None:
            if existing.arguments != arguments or existing.durable != durable:
                raise PreconditionFailed(
                    f"PRECONDITION_FAILED - inequivalent arguments for queue '{name}' in vhost '/'"
                )
            return self._info(existing)
        name = name or f"amq.gen-{uuid.uuid4().hex[:22]}"
        queue = Queue(name, durable, exclusive, auto_delete, arguments, self if exclusive else None)
        self.vhost.queues[name] = queue
        return self._info(queue)

    async def bind(
        self,
        queue: str,
        exchange: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        if queue not in self.vhost.queues:
            raise NotFound(f"NOT_FOUND - no queue '{queue}' in vhost '/'")
        target = self.vhost.exchanges.get(exchange)
        if target is None or exchange == "":
            raise NotFound(f"NOT_FOUND - no exchange '{exchange}' in vhost '/'")
        binding = Binding(queue, routing_key, dict(arguments or {}))
        if binding not in target.bindings:
            target.bindings.append(binding)

    async def delete_queue(self, name: str) -> None:
        self._drop_queue(name)

    async def delete_exchange(self, name: str) -> None:
        if name:
            self.vhost.exchanges.pop(name, None)

    def exchanges(self) -> list[tuple[str, ExchangeType, bool]]:
        return [(e.name, e.type, e.durable) for e in self.vhost.exchanges.values()]

    def queue_infos(self) -> list[QueueInfo]:
        return [self._info(q) for q in self.vhost.queues.values()]

    def _drop_queue(self, name: str) -> None:
        queue = self.vhost.queues.pop(name, None)
        if queue is None:
            return
        for consumer in queue.consumers:
            if consumer.worker is not None:
                consumer.worker.cancel()
        for exchange in self.vhost.exchanges.values():
            exchange.bindings = [b for b in exchange.bindings if b.queue != name]

    def _info(self, queue: Queue) -> QueueInfo:
        self._expire(queue)
        return QueueInfo(queue.name, len(queue.heap), len(queue.consumers))

    # -- publishing ----------------------------------------------------------------------

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: Properties,
        *,
        mandatory: bool = False,
    ) -> bool:
        target = self.vhost.exchanges.get(exchange)
        if target is None:
            raise NotFound(f"NOT_FOUND - no exchange '{exchange}' in vhost '/'")
        queues = self.vhost.route(target, routing_key, properties.headers)
        for queue in queues:
            self._enqueue(queue, body, exchange, routing_key, properties)
        await asyncio.sleep(0)  # a confirm is a round trip: let others run
        return bool(queues) or not mandatory

    def _enqueue(
        self, queue: Queue, body: bytes, exchange: str, routing_key: str, properties: Properties
    ) -> None:
        ttl = ttl_ms(properties.expiration, queue.message_ttl)
        expires_at = None if ttl is None else self.vhost.clock.monotonic() + ttl / 1000
        message = Message(
            body, exchange, routing_key, properties, self.vhost.next_seq(), expires_at
        )
        queue.push(message)
        if ttl is not None:
            asyncio.get_running_loop().call_later(ttl / 1000 + 0.001, self._on_ttl, queue.name)
        self._dispatch(queue)

    def _on_ttl(self, name: str) -> None:
        queue = self.vhost.queues.get(name)
        if queue is not None:
            self._expire(queue)
            self._dispatch(queue)

    def _expire(self, queue: Queue) -> None:
        """Messages expire when they reach the head of their queue (as in RabbitMQ)."""
        now = self.vhost.clock.monotonic()
        while (message := queue.head()) is not None:
            if message.expires_at is None or message.expires_at > now:
                return
            queue.pop()
            self._dead_letter(queue, message, "expired")

    def _dead_letter(self, queue: Queue, message: Message, reason: str) -> None:
        if "x-dead-letter-exchange" not in queue.arguments:
            return
        target = self.vhost.exchanges.get(queue.arguments["x-dead-letter-exchange"])
        if target is None:
            return
        headers = dict(message.properties.headers)
        deaths = [dict(d) for d in headers.get("x-death", [])]
        entry = next(
            (d for d in deaths if d["queue"] == queue.name and d["reason"] == reason), None
        )
        if entry is None:
            entry = {
                "count": 0,
                "reason": reason,
                "queue": queue.name,
                "exchange": message.exchange,
                "routing-keys": [message.routing_key],
            }
            if message.properties.expiration is not None:
                entry["original-expiration"] = message.properties.expiration
        else:
            deaths.remove(entry)
        entry["count"] += 1
        entry["time"] = self.vhost.clock.wall().replace(microsecond=0)
        headers["x-death"] = [entry, *deaths]
        headers.setdefault("x-first-death-exchange", message.exchange)
        headers.setdefault("x-first-death-queue", queue.name)
        headers.setdefault("x-first-death-reason", reason)
        properties = replace(message.properties, headers=headers, expiration=None)
        routing_key = queue.arguments.get("x-dead-letter-routing-key", message.routing_key)
        for dead_queue in self.vhost.route(target, routing_key, headers):
            self._enqueue(dead_queue, message.body, target.name, routing_key, properties)

    # -- consuming -----------------------------------------------------------------------

    async def consume(self, queue: str, handler: Handler, *, prefetch: int = 10) -> str:
        source = self.vhost.queues.get(queue)
        if source is None:
            raise NotFound(f"NOT_FOUND - no queue '{queue}' in vhost '/'")
        consumer = Consumer(f"ctag-{uuid.uuid4().hex[:12]}", queue, handler, prefetch, self)
        consumer.worker = asyncio.get_running_loop().create_task(self._work(consumer))
        source.consumers.append(consumer)
        self._consumers[consumer.tag] = consumer
        self._dispatch(source)
        return consumer.tag

    async def cancel(self, consumer_tag: str) -> None:
        consumer = self._consumers.pop(consumer_tag, None)
        if consumer is None:
            return
        queue = self.vhost.queues.get(consumer.queue)
        if queue is not None:
            queue.consumers.remove(consumer)
            if queue.auto_delete and not queue.consumers:
                self._drop_queue(queue.name)
        if consumer.worker is not None:
            consumer.worker.cancel()

    async def get(self, queue: str) -> Delivery | None:
        source = self.vhost.queues.get(queue)
        if source is None:
            raise NotFound(f"NOT_FOUND - no queue '{queue}' in vhost '/'")
        self._expire(source)
        if not source.heap:
            return None
        message = source.pop()
        return self._deliver(source, message, None)

    async def _work(self, consumer: Consumer) -> None:
        while True:
            delivery = await consumer.inbox.get()
            try:
                await consumer.handler(delivery)
            except Exception:
                log.exception("consumer %s failed on a message", consumer.tag)

    def _dispatch(self, queue: Queue) -> None:
        while True:
            self._expire(queue)
            if not queue.heap:
                return
            consumer = queue.next_consumer()
            if consumer is None:
                return
            message = queue.pop()
            owner = consumer.owner
            consumer.inbox.put_nowait(owner._deliver(queue, message, consumer))

    def _deliver(self, queue: Queue, message: Message, consumer: Consumer | None) -> Delivery:
        tag = next(self._tags)
        self._unacked[tag] = (queue, message, consumer)
        if consumer is not None:
            consumer.unacked += 1

        async def settle(action: str, requeue: bool) -> None:
            self._settle(tag, action, requeue)

        return Delivery(
            message.body,
            message.exchange,
            message.routing_key,
            message.properties,
            message.redelivered,
            tag,
            settle,
        )

    def _settle(self, tag: int, action: str, requeue: bool) -> None:
        entry = self._unacked.pop(tag, None)
        if entry is None:
            return  # settled twice: RabbitMQ would close the channel; we ignore it
        queue, message, consumer = entry
        if consumer is not None:
            consumer.unacked -= 1
        if action != "ack":
            if requeue:
                message.redelivered = True
                queue.push(message)
            else:
                self._dead_letter(queue, message, "rejected")
        if queue.name in self.vhost.queues:
            self._dispatch(queue)
