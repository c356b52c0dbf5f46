"""The broker contract: the same cases, the same answers, on RabbitMQ and the memory twin."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ose_mesh.adapters.broker import AmqpBroker, MemoryBroker, MemoryVirtualHost
from ose_mesh.core.broker import (
    Broker,
    Delivery,
    ExchangeType,
    NotFound,
    PreconditionFailed,
    Properties,
)
from tests.conftest import RABBITMQ_URL

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Sandbox:
    """Unique names per test, removed afterwards (RabbitMQ is shared between runs)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self.queues: list[str] = []
        self.exchanges: list[str] = []

    def name(self, base: str) -> str:
        return f"{self.prefix}.{base}"

    async def exchange(self, base: str, kind: ExchangeType) -> str:
        name = self.name(base)
        await self.broker.declare_exchange(name, kind, durable=False)
        self.exchanges.append(name)
        return name

    async def queue(self, base: str, **arguments: Any) -> str:
        name = self.name(base)
        await self.broker.declare_queue(name, durable=False, arguments=arguments or None)
        self.queues.append(name)
        return name

    async def bound_queue(
        self,
        exchange: str,
        key: str = "",
        arguments: dict[str, Any] | None = None,
        base: str = "q",
        **queue_arguments: Any,
    ) -> str:
        queue = await self.queue(base, **queue_arguments)
        await self.broker.bind(queue, exchange, key, arguments)
        return queue

    async def cleanup(self) -> None:
        for queue in self.queues:
            await self.broker.delete_queue(queue)
        for exchange in self.exchanges:
            await self.broker.delete_exchange(exchange)


@pytest.fixture(params=["memory", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    broker: Broker
    if request.param == "memory":
        broker = MemoryBroker(MemoryVirtualHost())
    else:
        broker = AmqpBroker(RABBITMQ_URL)
    await broker.connect()
    box = Sandbox(broker)
    try:
        yield box
    finally:
        await box.cleanup()
        await broker.close()


def message(body: str = "x", **properties: Any) -> tuple[bytes, Properties]:
    return body.encode(), Properties(**properties)


async def publish(box: Sandbox, exchange: str, key: str = "", body: str = "x", *,
                  mandatory: bool = False, **properties: Any) -> bool:  # fmt: skip
    data, props = message(body, **properties)
    return await box.broker.publish(exchange, key, data, props, mandatory=mandatory)


async def drain(box: Sandbox, queue: str, ack: bool = True) -> list[Delivery]:
    found = []
    while (delivery := await box.broker.get(queue)) is not None:
        found.append(delivery)
        if ack:
            await delivery.ack()
    return found


async def bodies(box: Sandbox, queue: str) -> list[str]:
    return [d.body.decode() for d in await drain(box, queue)]


async def next_message(box: Sandbox, queue: str, seconds: float = 5.0) -> Delivery:
    """Dead-lettering happens after the reject is answered: wait for the message."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (delivery := await box.broker.get(queue)) is None:
        assert asyncio.get_running_loop().time() < deadline, f"nothing arrived in {queue}"
        await asyncio.sleep(0.02)
    return delivery


async def eventually(check: Callable[[], Any], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# -- topic routing: `*` is exactly one word, `#` zero or more ------------------------------

TOPIC_CASES = [
    ("a.b.c", "a.b.c", True),
    ("a.*.c", "a.b.c", True),
    ("a.*", "a.b.c", False),
    ("a.#", "a", True),
    ("a.#", "a.b.c", True),
    ("#", "", True),
    ("#", "a.b", True),
    ("*", "", False),
    ("", "", True),
    ("a.*", "a.", True),
    ("*", "a.b", False),
    ("a.#.c", "a.c", True),
    ("a.#.c", "a.b.b.c", True),
    ("a.#.c", "a.b.b", False),
    ("#.c", "c", True),
    ("#.c", "a.c.d", False),
    ("a.*.#", "a", False),
    ("a.*.#", "a.b", True),
    ("*.*", "a.", True),
    ("a.*.b", "a..b", True),
    ("#.#", "a", True),
    ("a.b", "a.b.c", False),
    ("discovery.#", "discovery.health.degraded", True),
    ("*.health.*", "discovery.health.dead", True),
    ("#.health.#", "health", True),
    ("*.health", "health", False),
]


@pytest.mark.parametrize(("pattern", "key", "routed"), TOPIC_CASES)
async def test_topic_routing(sandbox: Sandbox, pattern: str, key: str, routed: bool) -> None:
    exchange = await sandbox.exchange("topic", ExchangeType.TOPIC)
    queue = await sandbox.bound_queue(exchange, pattern)
    await publish(sandbox, exchange, key)
    assert len(await drain(sandbox, queue)) == (1 if routed else 0)


# -- headers exchanges ---------------------------------------------------------------------

HEADER_CASES = [
    ({"a": "1", "b": "2"}, {"a": "1", "b": "2", "c": "3"}, True),
    ({"a": "1", "b": "2"}, {"a": "1"}, False),
    ({"x-match": "all", "a": "1"}, {"a": "2"}, False),
    ({"x-match": "any", "a": "1", "b": "2"}, {"b": "2"}, True),
    ({"x-match": "any", "a": "1", "b": "2"}, {"c": "3"}, False),
    ({"x-match": "all", "x-tag": "t", "a": "1"}, {"a": "1"}, True),
    ({"x-match": "all-with-x", "x-tag": "t"}, {"x-tag": "t"}, True),
    ({"x-match": "all-with-x", "x-tag": "t", "a": "1"}, {"a": "1"}, False),
    ({"x-match": "any-with-x", "x-tag": "t", "a": "9"}, {"x-tag": "t"}, True),
    ({"x-match": "any", "x-tag": "t"}, {"x-tag": "t"}, False),
]


@pytest.mark.parametrize(("binding", "headers", "routed"), HEADER_CASES)
async def test_headers_routing(
    sandbox: Sandbox, binding: dict[str, Any], headers: dict[str, Any], routed: bool
) -> None:
    exchange = await sandbox.exchange("headers", ExchangeType.HEADERS)
    queue = await sandbox.bound_queue(exchange, "", binding)
    await publish(sandbox, exchange, "ignored", headers=headers)
    assert len(await drain(sandbox, queue)) == (1 if routed else 0)


# -- direct, fanout, default exchange ------------------------------------------------------


async def test_direct_routes_on_the_exact_key(sandbox: Sandbox) -> None:
    exchange = await sandbox.exchange("direct", ExchangeType.DIRECT)
    exact = await sandbox.bound_queue(exchange, "factory-reset.execute", base="exact")
    await publish(sandbox, exchange, "factory-reset.execute", "hit")
    await publish(sandbox, exchange, "factory-reset.*", "miss")
    assert await bodies(sandbox, exact) == ["hit"]


async def test_fanout_reaches_every_bound_queue_once(sandbox: Sandbox) -> None:
    exchange = await sandbox.exchange("fanout", ExchangeType.FANOUT)
    first = await sandbox.bound_queue(exchange, "a", base="first")
    await sandbox.broker.bind(first, exchange, "b")  # bound twice: still one copy
    second = await sandbox.bound_queue(exchange, "", base="second")
    await publish(sandbox, exchange, "anything", "hello")
    assert await bodies(sandbox, first) == ["hello"]
    assert await bodies(sandbox, second) == ["hello"]


async def test_default_exchange_routes_by_queue_name(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("direct-to-me")
    await publish(sandbox, "", queue, "straight")
    assert await bodies(sandbox, queue) == ["straight"]


# -- mandatory -------------------------------------------------------------------------------


async def test_unroutable_mandatory_message_is_returned(sandbox: Sandbox) -> None:
    exchange = await sandbox.exchange("topic", ExchangeType.TOPIC)
    await sandbox.bound_queue(exchange, "only.this")
    assert (
        await publish(sandbox, exchange, "something.else", mandatory=True, message_id="m1") is False
    )
    assert await publish(sandbox, exchange, "only.this", mandatory=True, message_id="m2") is True


async def test_unroutable_plain_message_is_dropped_silently(sandbox: Sandbox) -> None:
    exchange = await sandbox.exchange("topic", ExchangeType.TOPIC)
    assert await publish(sandbox, exchange, "nobody.listens") is True


# -- consumers -------------------------------------------------------------------------------


async def test_competing_consumers_take_turns(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("work")
    got: dict[str, list[str]] = {"one": [], "two": []}

    def worker(name: str) -> Callable[[Delivery], Any]:
        async def handle(delivery: Delivery) -> None:
            got[name].append(delivery.body.decode())
            await delivery.ack()

        return handle

    tags = [
        await sandbox.broker.consume(queue, worker("one"), prefetch=1),
        await sandbox.broker.consume(queue, worker("two"), prefetch=1),
    ]
    for i in range(6):
        await publish(sandbox, "", queue, str(i))

    async def all_in() -> bool:
        return len(got["one"]) + len(got["two"]) == 6

    await eventually(all_in)
    for tag in tags:
        await sandbox.broker.cancel(tag)
    assert sorted(got["one"] + got["two"]) == [str(i) for i in range(6)]
    assert len(got["one"]) == len(got["two"]) == 3


async def test_a_consumer_gets_messages_in_order_and_stops_when_cancelled(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("ordered")
    seen: list[str] = []

    async def handle(delivery: Delivery) -> None:
        seen.append(delivery.body.decode())
        await delivery.ack()

    tag = await sandbox.broker.consume(queue, handle, prefetch=5)
    for i in range(5):
        await publish(sandbox, "", queue, str(i))

    async def five() -> bool:
        return len(seen) == 5

    await eventually(five)
    await sandbox.broker.cancel(tag)
    await publish(sandbox, "", queue, "after")
    await asyncio.sleep(0.1)
    assert seen == ["0", "1", "2", "3", "4"]
    assert await bodies(sandbox, queue) == ["after"]


# -- requeue, redelivered, dead letters ------------------------------------------------------


async def test_requeued_message_comes_back_redelivered_in_its_place(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("requeue")
    for body in ("first", "second"):
        await publish(sandbox, "", queue, body)
    first = await sandbox.broker.get(queue)
    assert first is not None
    assert first.redelivered is False
    await first.nack(requeue=True)
    again = await drain(sandbox, queue)
    assert [(d.body, d.redelivered) for d in again] == [(b"first", True), (b"second", False)]


async def test_unacked_messages_return_when_the_connection_closes(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("unacked")
    await publish(sandbox, "", queue, "pending")
    taken = await sandbox.broker.get(queue)
    assert taken is not None
    await sandbox.broker.close()
    await sandbox.broker.connect()

    async def back() -> bool:
        info = await sandbox.broker.declare_queue(queue, durable=False, passive=True)
        return info.message_count == 1

    await eventually(back)
    [delivery] = await drain(sandbox, queue)
    assert delivery.redelivered is True


@pytest.mark.parametrize("how", ["nack", "reject"])
async def test_refused_messages_are_dead_lettered_with_x_death(sandbox: Sandbox, how: str) -> None:
    dead = await sandbox.exchange("dlx", ExchangeType.FANOUT)
    parking = await sandbox.bound_queue(dead, base="parking")
    work = await sandbox.queue("work", **{"x-dead-letter-exchange": dead})
    await publish(sandbox, "", work, "poison", headers={"trace": "t1"})
    delivery = await sandbox.broker.get(work)
    assert delivery is not None
    await (delivery.nack(requeue=False) if how == "nack" else delivery.reject(requeue=False))
    parked = await next_message(sandbox, parking)
    death = parked.properties.headers["x-death"][0]
    assert parked.body == b"poison"
    assert parked.properties.headers["trace"] == "t1"
    assert (death["queue"], death["reason"], death["count"]) == (work, "rejected", 1)
    assert death["exchange"] == ""
    assert list(death["routing-keys"]) == [work]
    assert parked.properties.headers["x-first-death-reason"] == "rejected"


async def test_dead_letter_routing_key_and_repeated_deaths_count(sandbox: Sandbox) -> None:
    first = await sandbox.queue(
        "first",
        **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": sandbox.name("second")},
    )
    await sandbox.queue(
        "second", **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": first}
    )
    await publish(sandbox, "", first, "bouncing")
    for queue in (first, sandbox.name("second"), first):
        delivery = await next_message(sandbox, queue)
        await delivery.reject(requeue=False)
    final = await next_message(sandbox, sandbox.name("second"))
    deaths = {(d["queue"], d["reason"]): d["count"] for d in final.properties.headers["x-death"]}
    assert deaths == {(first, "rejected"): 2, (sandbox.name("second"), "rejected"): 1}
    assert final.properties.headers["x-death"][0]["queue"] == first


async def test_a_queue_without_dead_letter_exchange_drops_refused_messages(
    sandbox: Sandbox,
) -> None:
    queue = await sandbox.queue("plain")
    await publish(sandbox, "", queue)
    delivery = await sandbox.broker.get(queue)
    assert delivery is not None
    await delivery.reject(requeue=False)
    assert await drain(sandbox, queue) == []


# -- TTL -------------------------------------------------------------------------------------


async def test_message_ttl_expires_into_the_dead_letter_exchange(sandbox: Sandbox) -> None:
    dead = await sandbox.exchange("dlx", ExchangeType.FANOUT)
    parking = await sandbox.bound_queue(dead, base="parking")
    queue = await sandbox.queue("ttl", **{"x-dead-letter-exchange": dead})
    await publish(sandbox, "", queue, "short-lived", expiration="50")
    await publish(sandbox, "", queue, "long-lived", expiration="60000")

    async def expired() -> bool:
        info = await sandbox.broker.declare_queue(parking, durable=False, passive=True)
        return info.message_count == 1

    await eventually(expired)
    [parked] = await drain(sandbox, parking)
    assert parked.body == b"short-lived"
    assert parked.properties.headers["x-death"][0]["reason"] == "expired"
    assert parked.properties.expiration is None
    assert await bodies(sandbox, queue) == ["long-lived"]


async def test_queue_message_ttl(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("queue-ttl", **{"x-message-ttl": 50})
    await publish(sandbox, "", queue, "gone soon")
    await asyncio.sleep(0.3)
    assert await drain(sandbox, queue) == []


# -- priority --------------------------------------------------------------------------------


async def test_priority_queue_delivers_highest_first(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("prio", **{"x-max-priority": 9})
    for body, priority in (
        ("low", 1),
        ("critical", 9),
        ("normal", 5),
        ("none", None),
        ("also-low", 1),
    ):
        await publish(sandbox, "", queue, body, priority=priority)
    assert await bodies(sandbox, queue) == ["critical", "normal", "low", "also-low", "none"]


async def test_priority_is_ignored_without_x_max_priority(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("fifo")
    for body, priority in (("a", 1), ("b", 9), ("c", 5)):
        await publish(sandbox, "", queue, body, priority=priority)
    assert await bodies(sandbox, queue) == ["a", "b", "c"]


async def test_priority_above_the_maximum_counts_as_the_maximum(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("capped", **{"x-max-priority": 5})
    for body, priority in (("five", 5), ("nine", 9), ("three", 3)):
        await publish(sandbox, "", queue, body, priority=priority)
    assert await bodies(sandbox, queue) == ["five", "nine", "three"]


# -- properties survive the trip ---------------------------------------------------------------


async def test_properties_arrive_as_sent(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("props")
    await publish(
        sandbox, "", queue, '{"a": 1}', content_type="application/json", delivery_mode=2,
        priority=7, correlation_id="corr-1", reply_to="replies", message_id="m-1",
        type="service.started", app_id="discovery", headers={"cloudEvents_specversion": "1.0"},
    )  # fmt: skip
    [delivery] = await drain(sandbox, queue)
    p = delivery.properties
    assert (p.content_type, p.delivery_mode, p.correlation_id, p.reply_to) == (
        "application/json", 2, "corr-1", "replies",
    )  # fmt: skip
    assert (p.message_id, p.type, p.app_id) == ("m-1", "service.started", "discovery")
    assert p.headers == {"cloudEvents_specversion": "1.0"}
    assert delivery.routing_key == queue


# -- errors ----------------------------------------------------------------------------------


async def test_passive_declares_of_missing_things(sandbox: Sandbox) -> None:
    with pytest.raises(NotFound):
        await sandbox.broker.declare_exchange(
            sandbox.name("nope"), ExchangeType.TOPIC, passive=True
        )
    with pytest.raises(NotFound):
        await sandbox.broker.declare_queue(sandbox.name("nope"), passive=True)
    queue = await sandbox.queue("still-usable")  # the backend recovers after the refusal
    assert (await sandbox.broker.declare_queue(queue, durable=False, passive=True)).name == queue


async def test_publishing_to_a_missing_exchange_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(NotFound):
        await publish(sandbox, sandbox.name("missing"), "key")
    queue = await sandbox.queue("after-error")
    await publish(sandbox, "", queue, "fine")
    assert await bodies(sandbox, queue) == ["fine"]


async def test_redeclaring_with_another_type_is_refused(sandbox: Sandbox) -> None:
    name = await sandbox.exchange("typed", ExchangeType.TOPIC)
    with pytest.raises(PreconditionFailed):
        await sandbox.broker.declare_exchange(name, ExchangeType.FANOUT, durable=False)
    await sandbox.broker.declare_exchange(name, ExchangeType.TOPIC, durable=False)


async def test_binding_to_a_missing_queue_is_refused(sandbox: Sandbox) -> None:
    exchange = await sandbox.exchange("topic", ExchangeType.TOPIC)
    with pytest.raises(NotFound):
        await sandbox.broker.bind(sandbox.name("ghost"), exchange, "#")


async def test_queue_info_counts_ready_messages(sandbox: Sandbox) -> None:
    queue = await sandbox.queue("counted")
    for _ in range(3):
        await publish(sandbox, "", queue)
    info = await sandbox.broker.declare_queue(queue, durable=False, passive=True)
    assert (info.message_count, info.consumer_count) == (3, 0)
