"""The event bus against raw aiormq in the same run (RabbitMQ at 127.0.0.1:5672).

Both sides send the same bytes (an encoded EventMessage: JSON body, CloudEvents headers)
with publisher confirms and the same in-flight window, so the ratio is our overhead.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiormq

from benchmarks.common import percentile
from ose_mesh.adapters.broker import AmqpBroker, MemoryBroker, MemoryVirtualHost
from ose_mesh.adapters.broker.amqp import _to_amqp
from ose_mesh.bus import EventMessage, MessageBus, ServiceEventBus
from ose_mesh.core.wire import encode

URL = os.environ.get("OSE_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
MESSAGES = 20_000
WINDOW = 100
ROUNDS = 3  # medians of this many rounds, the two sides alternating
RAW_ACK_BATCH = 50


@dataclass
class BusFigures:
    publish_ours: float
    publish_raw: float
    consume_ours: float
    consume_raw: float
    consume_raw_batched: float
    latency_ours: tuple[float, float]
    latency_raw: tuple[float, float]
    rpc_calls_per_second: float
    rpc_p50_ms: float
    memory_per_second: float


def sample_event(n: int = 0) -> EventMessage:
    return EventMessage("bench.event", "bench", {"n": n, "pad": "x" * 32})


async def windowed(count: int, send: Callable[[int], Awaitable[object]]) -> float:
    """Messages per second, `WINDOW` confirms in flight at a time."""
    started = time.perf_counter()
    for start in range(0, count, WINDOW):
        await asyncio.gather(*(send(n) for n in range(start, min(count, start + WINDOW))))
    return count / (time.perf_counter() - started)


async def raw_channel() -> tuple[aiormq.abc.AbstractConnection, aiormq.abc.AbstractChannel]:
    connection = await aiormq.connect(URL)
    channel = await connection.channel(publisher_confirms=True)
    return connection, channel


async def publish_rates(queue: str) -> tuple[float, float]:
    """Confirmed publishes per second, ours and raw aiormq (medians of ROUNDS rounds)."""
    body, properties = encode(sample_event())
    amqp_properties = _to_amqp(properties)
    connection, channel = await raw_channel()
    await channel.queue_declare(queue, durable=False, arguments={"x-max-priority": 9})
    bus = MessageBus(AmqpBroker(URL))
    await bus.connect()
    event = sample_event()

    async def raw(n: int) -> None:
        await channel.basic_publish(body, routing_key=queue, properties=amqp_properties)

    async def ours(n: int) -> None:
        await bus.publish_event("", event, routing_key=queue, mandatory=False)

    rates: list[tuple[float, float]] = []
    for _ in range(ROUNDS):
        await channel.queue_purge(queue)
        our_rate = await windowed(MESSAGES, ours)
        await channel.queue_purge(queue)
        rates.append((our_rate, await windowed(MESSAGES, raw)))
    await channel.queue_purge(queue)
    await bus.close()
    await connection.close()
    our_rates, raw_rates = zip(*rates, strict=True)
    return statistics.median(our_rates), statistics.median(raw_rates)


async def consume_rates(queue: str) -> tuple[float, float, float]:
    """Drain a queue of MESSAGES with manual acks, prefetch 200: ours, raw aiormq acking
    every message, raw aiormq acking every RAW_ACK_BATCH-th with `multiple`."""
    connection, channel = await raw_channel()
    body, properties = encode(sample_event())
    amqp_properties = _to_amqp(properties)
    done = asyncio.Event()
    seen = 0

    async def fill() -> None:
        nonlocal seen
        await channel.queue_purge(queue)
        await windowed(
            MESSAGES,
            lambda n: channel.basic_publish(body, routing_key=queue, properties=amqp_properties),
        )
        done.clear()
        seen = 0

    async def raw_rate(ack_every: int) -> float:
        await fill()
        consumer = await connection.channel()
        await consumer.basic_qos(prefetch_count=200)

        async def on_raw(message: aiormq.abc.DeliveredMessage) -> None:
            nonlocal seen
            seen += 1
            if seen % ack_every == 0 or seen == MESSAGES:
                tag = message.delivery.delivery_tag
                await message.channel.basic_ack(tag, multiple=ack_every > 1)
            if seen == MESSAGES:
                done.set()

        started = time.perf_counter()
        await consumer.basic_consume(queue, on_raw)
        await done.wait()
        rate = MESSAGES / (time.perf_counter() - started)
        await consumer.close()
        return rate

    async def our_rate() -> float:
        await fill()
        bus = MessageBus(AmqpBroker(URL))
        await bus.connect()

        async def on_event(event: EventMessage) -> None:
            nonlocal seen
            seen += 1
            if seen == MESSAGES:
                done.set()

        started = time.perf_counter()
        await bus.broker.consume(queue, lambda d: bus._handle(d, on_event), prefetch=200)
        await done.wait()
        rate = MESSAGES / (time.perf_counter() - started)
        await bus.close()
        return rate

    rates: list[tuple[float, float, float]] = []
    for _ in range(ROUNDS):
        rates.append((await our_rate(), await raw_rate(1), await raw_rate(RAW_ACK_BATCH)))
    await connection.close()
    ours, raw, raw_batched = zip(*rates, strict=True)
    return statistics.median(ours), statistics.median(raw), statistics.median(raw_batched)


async def latency(
    queue: str, use_bus: bool, rate: int = 1000, seconds: float = 4.0
) -> tuple[float, float]:
    """Publish → consume latency (p50, p99, ms) at `rate` messages per second offered."""
    sent: dict[str, float] = {}
    delays: list[float] = []
    count = int(rate * seconds)
    connection, channel = await raw_channel()
    await channel.queue_purge(queue)
    bus = MessageBus(AmqpBroker(URL))
    await bus.connect()

    async def on_event(event: EventMessage) -> None:
        delays.append(time.perf_counter() - sent[event.event_id])

    async def on_raw(message: aiormq.abc.DeliveredMessage) -> None:
        delays.append(time.perf_counter() - sent[message.header.properties.message_id])
        await message.channel.basic_ack(message.delivery.delivery_tag)

    if use_bus:
        await bus.broker.consume(queue, lambda d: bus._handle(d, on_event), prefetch=200)
    else:
        consumer = await connection.channel()
        await consumer.basic_qos(prefetch_count=200)
        await consumer.basic_consume(queue, on_raw)
    started = time.perf_counter()
    pending = set()
    for n in range(count):
        event = sample_event(n)
        sent[event.event_id] = time.perf_counter()
        if use_bus:
            job = bus.publish_event("", event, routing_key=queue, mandatory=False)
        else:
            body, properties = encode(event)
            job = channel.basic_publish(body, routing_key=queue, properties=_to_amqp(properties))
        pending.add(asyncio.ensure_future(job))
        pending = {p for p in pending if not p.done()}
        await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
    await asyncio.gather(*pending)
    while len(delays) < count:  # noqa: ASYNC110 (filled by the consumer callback)
        await asyncio.sleep(0.01)
    await bus.close()
    await connection.close()
    ms = [d * 1000 for d in delays]
    return percentile(ms, 0.50), percentile(ms, 0.99)


async def rpc(callers: int = 64, calls_each: int = 20) -> tuple[float, float]:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    server = ServiceEventBus(name, MessageBus(AmqpBroker(URL)))

    @server.on_request("echo")
    async def echo(request: EventMessage) -> dict[str, object]:
        return request.payload

    await server.initialize()
    client = ServiceEventBus(f"{name}-client", MessageBus(AmqpBroker(URL)))
    await client.initialize()
    times: list[float] = []

    async def caller() -> None:
        for n in range(calls_each):
            started = time.perf_counter()
            await client.request(name, "echo", {"n": n}, timeout=10)
            times.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    rate = callers * calls_each / (time.perf_counter() - started)
    for bus in (server, client):
        await bus.close()
        await bus.bus.broker.delete_queue(bus.queue)
        await bus.bus.broker.delete_queue(bus.rpc_queue)
        await bus.bus.close()
    return rate, statistics.median(times)


async def memory_throughput() -> float:
    """Publish and consume MESSAGES through the in-memory twin."""
    bus = MessageBus(MemoryBroker(MemoryVirtualHost()))
    await bus.connect()
    done = asyncio.Event()
    seen = 0

    async def on_event(event: EventMessage) -> None:
        nonlocal seen
        seen += 1
        if seen == MESSAGES:
            done.set()

    await bus.consume("memory-bench", on_event, prefetch=200)
    event = sample_event()
    started = time.perf_counter()
    await windowed(MESSAGES, lambda n: bus.publish_event("", event, "memory-bench"))
    await done.wait()
    rate = MESSAGES / (time.perf_counter() - started)
    await bus.close()
    return rate


async def measure() -> BusFigures:
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    connection, channel = await raw_channel()
    await channel.queue_declare(queue, durable=False, arguments={"x-max-priority": 9})
    try:
        publish_ours, publish_raw = await publish_rates(queue)
        consume_ours, consume_raw, consume_raw_batched = await consume_rates(queue)
        latency_raw = await latency(queue, use_bus=False)
        latency_ours = await latency(queue, use_bus=True)
        rpc_rate, rpc_p50 = await rpc()
        memory_rate = await memory_throughput()
    finally:
        await channel.queue_delete(queue)
        await connection.close()
    return BusFigures(
        publish_ours, publish_raw, consume_ours, consume_raw, consume_raw_batched,
        latency_ours, latency_raw,
        rpc_rate, rpc_p50, memory_rate,
    )  # fmt: skip


def run() -> BusFigures:
    try:
        import uvloop

        return uvloop.run(measure())
    except ImportError:
        return asyncio.run(measure())


if __name__ == "__main__":
    print(run())
