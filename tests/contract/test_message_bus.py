"""The SDK on both backends: the reference's samples, retries and dead letters, RPC,
de-duplication, CloudEvents on the wire."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from cloudevents.core.bindings import amqp as ce_amqp

from ose_mesh.adapters.broker import AmqpBroker, MemoryBroker, MemoryVirtualHost
from ose_mesh.bus import (
    DEAD_LETTERS,
    EVENTS,
    EventMessage,
    MessageBus,
    MessagePriority,
    RetryPolicy,
    RpcError,
    ServiceEventBus,
)
from ose_mesh.core.broker import Broker, Properties
from tests.conftest import RABBITMQ_URL

BACKENDS = ["memory", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Configure the environment the way a user would for this backend."""
    if request.param == "memory":
        monkeypatch.setenv("OSE_BUS", "memory")
    else:
        monkeypatch.setenv("OSE_BUS", "amqp")
        monkeypatch.setenv("RABBITMQ_URL", RABBITMQ_URL)
    return str(request.param)


def new_broker(backend: str, vhost: MemoryVirtualHost) -> Broker:
    return MemoryBroker(vhost) if backend == "memory" else AmqpBroker(RABBITMQ_URL)


@pytest.fixture
async def buses(backend: str) -> AsyncIterator[Callable[..., MessageBus]]:
    """Makes buses on one broker (one vhost in memory); closes them afterwards."""
    vhost = MemoryVirtualHost()
    made: list[MessageBus] = []

    def make(**options: Any) -> MessageBus:
        bus = MessageBus(new_broker(backend, vhost), **options)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def wait_for(condition: Any, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# -- the reference's samples, only the import line changed ----------------------------------


async def test_reference_sample_using_in_services(backend: str) -> None:
    from ose_mesh.bus import ExchangeTypes, MessageBus, EventMessage, MessagePriority  # noqa: I001

    received: list[EventMessage] = []
    queue = unique("my-queue")

    # -- the sample --
    bus = MessageBus()
    await bus.connect()
    await bus.declare_exchange("ose.events", ExchangeTypes.TOPIC)
    event = EventMessage(
        event_type="service.health.degraded",
        source_service="discovery",
        payload={"health_score": 65, "reason": "high_latency"},
        priority=MessagePriority.HIGH,
    )
    await bus.publish_event("ose.events", event, routing_key="discovery.health")

    async def handle_event(event: EventMessage) -> None:
        received.append(event)

    await bus.consume(queue, handle_event)
    # -- end of sample; then bind the queue and publish again to see it arrive --
    await bus.bind(queue, "ose.events", "discovery.#")
    await bus.publish_event("ose.events", event, routing_key="discovery.health")
    await wait_for(lambda: received)
    assert received[0].payload == {"health_score": 65, "reason": "high_latency"}
    assert received[0].priority is MessagePriority.HIGH
    assert received[0].source_service == "discovery"
    await bus.broker.delete_queue(queue)
    await bus.close()


async def test_reference_sample_service_event_bus(backend: str) -> None:
    from ose_mesh.bus import ServiceEventBus, message_bus

    handled: list[EventMessage] = []
    optimized: list[str] = []

    async def optimize_service(service_id: str) -> None:
        optimized.append(service_id)

    # -- the sample --
    event_bus = ServiceEventBus(unique("discovery"), message_bus)
    await event_bus.initialize()

    @event_bus.on_event("optimization.request")
    async def handle_optimization_request(event: EventMessage) -> None:
        service_id = event.payload.get("service_id")
        handled.append(event)
        await optimize_service(service_id)

    await event_bus.emit("discovery.completed", {"services_found": 12})
    await event_bus.broadcast("system.shutdown", {"reason": "maintenance"})
    # -- end of sample --
    await event_bus.ready()
    await event_bus.emit("optimization.request", {"service_id": "redis"})
    await wait_for(lambda: optimized)
    assert optimized == ["redis"]
    assert handled[0].event_type == "optimization.request"
    await event_bus.close()
    await message_bus.broker.delete_queue(event_bus.queue)
    await message_bus.broker.delete_queue(event_bus.rpc_queue)
    await message_bus.close()


# -- ServiceEventBus ---------------------------------------------------------------------------


async def test_broadcast_reaches_every_service_bus(buses: Callable[..., MessageBus]) -> None:
    make = buses
    got: dict[str, list[str]] = {}
    services = []
    for name in ("alpha", "beta", "gamma"):
        service = ServiceEventBus(unique(name), make())
        got[service.service_name] = []

        def handler(sink: list[str]) -> Any:
            async def on(event: EventMessage) -> None:
                sink.append(event.payload["reason"])

            return on

        service.on_event("system.#")(handler(got[service.service_name]))
        await service.initialize()
        services.append(service)
    await services[0].broadcast("system.shutdown", {"reason": "maintenance"})
    await wait_for(lambda: all(got.values()))
    assert all(v == ["maintenance"] for v in got.values())
    for service in services:
        await service.close()
        await service.bus.broker.delete_queue(service.queue)
        await service.bus.broker.delete_queue(service.rpc_queue)


async def test_instances_of_one_service_share_its_events(buses: Callable[..., MessageBus]) -> None:
    make = buses
    name = unique("worker")
    seen: list[int] = []

    async def on(event: EventMessage) -> None:
        seen.append(event.payload["n"])

    instances = [ServiceEventBus(name, make()) for _ in range(2)]
    for instance in instances:
        instance.on_event("job.#")(on)
        await instance.initialize()
    for n in range(10):
        await instances[0].emit("job.created", {"n": n})
    await wait_for(lambda: len(seen) == 10)
    await asyncio.sleep(0.1)
    assert sorted(seen) == list(range(10))  # each once, not once per instance
    for instance in instances:
        await instance.close()
    await instances[0].bus.broker.delete_queue(instances[0].queue)
    await instances[0].bus.broker.delete_queue(instances[0].rpc_queue)


# -- RPC -------------------------------------------------------------------------------------


async def test_rpc_round_trip_and_shared_responders(buses: Callable[..., MessageBus]) -> None:
    make = buses
    name = unique("pricing")
    answered_by: list[int] = []
    responders = [ServiceEventBus(name, make()) for _ in range(2)]
    for index, responder in enumerate(responders):

        def quote(i: int) -> Any:
            async def answer(request: EventMessage) -> dict[str, Any]:
                answered_by.append(i)
                return {"price": request.payload["qty"] * 3}

            return answer

        responder.on_request("quote")(quote(index))
        await responder.initialize()
    client = ServiceEventBus(unique("checkout"), make())
    await client.initialize()
    replies = await asyncio.gather(
        *(client.request(name, "quote", {"qty": q}, timeout=5) for q in range(1, 9))
    )
    assert [r["price"] for r in replies] == [3 * q for q in range(1, 9)]
    assert set(answered_by) == {0, 1}  # the load was shared
    for bus in (*responders, client):
        await bus.close()
        await bus.bus.broker.delete_queue(bus.queue)
        await bus.bus.broker.delete_queue(bus.rpc_queue)


async def test_rpc_without_responder_or_reply_is_a_clear_error(
    buses: Callable[..., MessageBus],
) -> None:
    bus = buses()
    await bus.connect()
    request = EventMessage("quote", "checkout", {})
    with pytest.raises(RpcError, match="nobody serves"):
        await bus.rpc("ose.tasks", unique("nobody.quote"), request, timeout=1)
    silent = unique("silent")
    await bus.declare_queue(silent)
    await bus.bind(silent, "ose.tasks", silent)
    with pytest.raises(RpcError, match="no reply"):
        await bus.rpc("ose.tasks", silent, request, timeout=0.3)
    await bus.broker.delete_queue(silent)


# -- delivery guarantees ---------------------------------------------------------------------


async def dead_letter_ids(bus: MessageBus, wanted: set[str], seconds: float = 5.0) -> set[str]:
    found: set[str] = set()
    deadline = asyncio.get_running_loop().time() + seconds
    while not wanted <= found and asyncio.get_running_loop().time() < deadline:
        delivery = await bus.broker.get(DEAD_LETTERS)
        if delivery is None:
            await asyncio.sleep(0.02)
            continue
        found.add(delivery.properties.message_id or "")
        await delivery.ack()
    return found & wanted


async def test_a_failing_handler_is_retried_then_dead_lettered(
    buses: Callable[..., MessageBus],
) -> None:
    bus = buses(retry=RetryPolicy(attempts=3, backoff_seconds=0.01))
    await bus.connect()
    queue = unique("fragile")
    attempts: list[str] = []

    async def always_fails(event: EventMessage) -> None:
        attempts.append(event.event_id)
        raise RuntimeError("boom")

    await bus.consume(queue, always_fails)
    event = EventMessage("order.created", "shop", {"id": 1})
    await bus.publish_event("", event, routing_key=queue)
    assert await dead_letter_ids(bus, {event.event_id}) == {event.event_id}
    assert attempts == [event.event_id] * 3
    assert (bus.stats.retried, bus.stats.dead_lettered, bus.stats.consumed) == (2, 1, 0)
    info = await bus.broker.declare_queue(queue, passive=True)
    assert info.message_count == 0  # not requeued forever
    await bus.broker.delete_queue(queue)


async def test_a_handler_that_recovers_is_acked_once(buses: Callable[..., MessageBus]) -> None:
    bus = buses(retry=RetryPolicy(attempts=3, backoff_seconds=0.01))
    await bus.connect()
    queue = unique("flaky")
    calls: list[int] = []

    async def flaky(event: EventMessage) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first time fails")

    await bus.consume(queue, flaky)
    await bus.publish_event("", EventMessage("x", "y"), routing_key=queue)
    await wait_for(lambda: bus.stats.consumed == 1)
    assert (len(calls), bus.stats.retried, bus.stats.dead_lettered) == (2, 1, 0)
    await bus.broker.delete_queue(queue)


async def test_handlers_finishing_in_any_order_settle_every_message_once(
    buses: Callable[..., MessageBus],
) -> None:
    """Acks are batched on RabbitMQ: handlers that finish out of order, a slow one and
    rejected ones among them, still settle each message exactly once."""
    bus = buses(retry=RetryPolicy(attempts=1))
    await bus.connect()
    queue = unique("shuffled")
    handled: list[int] = []
    failing = set(range(0, 300, 7))

    async def handler(event: EventMessage) -> None:
        n = int(event.payload["n"])
        await asyncio.sleep(0.3 if n == 5 else (n * 37 % 11) / 1000)  # n == 5 is slow
        handled.append(n)
        if n in failing:
            raise RuntimeError("rejected on purpose")

    await bus.consume(queue, handler, prefetch=50)
    events = [EventMessage("job", "test", {"n": n}) for n in range(300)]
    await asyncio.gather(*(bus.publish_event("", e, routing_key=queue) for e in events))
    await wait_for(lambda: len(handled) == 300)
    dead = {events[n].event_id for n in failing}
    assert await dead_letter_ids(bus, dead) == dead
    await wait_for(lambda: bus.stats.consumed == 300 - len(failing))
    await bus.close()  # anything left unacked would be ready in the queue again

    checker = buses()
    await checker.connect()
    info = await checker.broker.declare_queue(queue, passive=True)
    assert info.message_count == 0
    assert sorted(handled) == list(range(300))  # none redelivered
    await checker.broker.delete_queue(queue)


async def test_duplicates_are_dropped_when_dedupe_is_on(buses: Callable[..., MessageBus]) -> None:
    bus = buses(dedupe=True)
    await bus.connect()
    queue = unique("once")
    seen: list[str] = []

    async def handler(event: EventMessage) -> None:
        seen.append(event.event_id)

    await bus.consume(queue, handler)
    event = EventMessage("payment.settled", "payments", {"amount": 10})
    for _ in range(3):
        await bus.publish_event("", event, routing_key=queue)
    await wait_for(lambda: bus.stats.duplicates == 2)
    assert seen == [event.event_id]
    await bus.broker.delete_queue(queue)


async def test_messages_without_an_id_are_never_duplicates(
    buses: Callable[..., MessageBus],
) -> None:
    """A foreign client (pika, say) sends no message_id: with dedupe on, every one of its
    messages is still delivered."""
    bus = buses(dedupe=True)
    await bus.connect()
    queue = unique("foreign")
    seen: list[dict[str, Any]] = []

    async def handler(event: EventMessage) -> None:
        seen.append(event.payload)

    await bus.consume(queue, handler)
    for number in range(3):
        await bus.broker.publish("", queue, f'{{"n": {number}}}'.encode(), Properties())
    await wait_for(lambda: len(seen) == 3)
    assert sorted(item["n"] for item in seen) == [0, 1, 2]
    assert bus.stats.duplicates == 0
    await bus.broker.delete_queue(queue)


async def test_a_structured_cloud_event_from_another_client_is_decoded(
    buses: Callable[..., MessageBus],
) -> None:
    bus = buses()
    await bus.connect()
    queue = unique("structured")
    seen: list[EventMessage] = []

    async def handler(event: EventMessage) -> None:
        seen.append(event)

    await bus.consume(queue, handler)
    envelope = {
        "specversion": "1.0",
        "id": "ce-42",
        "source": "https://shop.example/orders",
        "type": "order.placed",
        "time": "2026-11-30T10:00:00Z",
        "datacontenttype": "application/json",
        "correlationid": "corr-7",
        "data": {"order": 42},
    }
    properties = Properties(content_type="application/cloudevents+json; charset=utf-8")
    await bus.broker.publish("", queue, json.dumps(envelope).encode(), properties)
    await wait_for(lambda: len(seen) == 1)
    [event] = seen
    assert (event.event_id, event.source_service, event.event_type) == (
        "ce-42",
        "https://shop.example/orders",
        "order.placed",
    )
    assert event.payload == {"order": 42}
    assert event.correlation_id == "corr-7"
    assert event.timestamp.isoformat() == "2026-11-30T10:00:00+00:00"
    await bus.broker.delete_queue(queue)


async def test_unroutable_events_are_counted_as_returned(buses: Callable[..., MessageBus]) -> None:
    bus = buses()
    await bus.connect()
    routed = await bus.publish_event(EVENTS, EventMessage("nobody.cares", unique("lonely")))
    assert routed is False
    assert bus.stats.returned == 1


async def test_malformed_messages_are_dead_lettered_not_crashing(
    buses: Callable[..., MessageBus],
) -> None:
    from ose_mesh.core.broker import Properties

    bus = buses()
    await bus.connect()
    queue = unique("strict")
    seen: list[EventMessage] = []

    async def handler(event: EventMessage) -> None:
        seen.append(event)

    await bus.consume(queue, handler)
    await bus.broker.publish("", queue, b"[1, 2", Properties(message_id="bad-1"))
    assert await dead_letter_ids(bus, {"bad-1"}) == {"bad-1"}
    assert seen == []
    assert bus.stats.malformed == 1
    await bus.broker.delete_queue(queue)


# -- the wire ----------------------------------------------------------------------------------


async def test_cloudevents_binary_mode_on_the_wire(buses: Callable[..., MessageBus]) -> None:
    bus = buses()
    await bus.connect()
    queue = unique("wire")
    await bus.declare_queue(queue)
    event = EventMessage(
        "service.started", "discovery", {"version": "1.0.0"},
        priority=MessagePriority.CRITICAL, correlation_id="req-42", metadata={"region": "eu"},
    )  # fmt: skip
    await bus.publish_event("", event, routing_key=queue)
    delivery = await bus.broker.get(queue)
    assert delivery is not None
    await delivery.ack()
    props = delivery.properties
    assert (props.message_id, props.correlation_id, props.priority) == (event.event_id, "req-42", 9)
    assert (props.app_id, props.type, props.delivery_mode) == ("discovery", "service.started", 2)
    assert props.content_type == "application/json"
    assert props.timestamp is not None
    cloud_event = ce_amqp.from_binary_event(
        ce_amqp.AMQPMessage(
            properties={"content-type": props.content_type},
            application_properties=dict(props.headers),
            application_data=delivery.body,
        )
    )
    assert cloud_event.get_id() == event.event_id
    assert cloud_event.get_source() == "discovery"
    assert cloud_event.get_type() == "service.started"
    assert cloud_event.get_specversion() == "1.0"
    assert cloud_event.get_data() == {"version": "1.0.0"}
    assert cloud_event.get_extension("correlationid") == "req-42"
    await bus.broker.delete_queue(queue)
