"""RabbitMQ stopped and started while 10,000 events are published through the server, with
access control on: a consumer receives every one at least once (duplicates are counted and
reported). The broker is a throwaway node of the test's own; the machine's is never touched."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ose_mesh.adapters.broker import AmqpBroker
from ose_mesh.bus import EventMessage, MessageBus
from tests.conftest import sqlite_url
from tests.integration.server import MeshProcess
from tests.integration.throwaway import ThrowawayRabbit, throwaway_rabbit

pytestmark = [pytest.mark.integration, pytest.mark.rabbitmq]

EVENTS = 10_000
CONCURRENCY = 32
TOKEN = "fault-write-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def rabbit() -> Iterator[ThrowawayRabbit]:
    with throwaway_rabbit() as node:
        yield node


@pytest.fixture
def mesh(tmp_path: Path, rabbit: ThrowawayRabbit) -> Iterator[MeshProcess]:
    server = MeshProcess(
        sqlite_url(tmp_path),
        tmp_path,
        {
            "OSE_BUS": "amqp",
            "RABBITMQ_URL": rabbit.url,
            "OSE_MESH_HISTORY_FLUSH_SECONDS": "1",
            "OSE_MESH_WRITE_TOKENS": TOKEN,
        },
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


async def until(condition: Callable[[], bool]) -> None:
    """Poll a condition another task makes true (there is no event to wait on)."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def run_fault_test(
    mesh: MeshProcess, rabbit: ThrowawayRabbit
) -> tuple[list[str], Counter[str]]:
    queue = f"fault-test-{uuid.uuid4().hex[:8]}"
    received: Counter[str] = Counter()
    consumer = MessageBus(AmqpBroker(rabbit.url), name="fault-consumer")

    async def on_event(event: EventMessage) -> None:
        received[event.event_id] += 1

    async def subscribe() -> None:
        await consumer.declare_queue(queue)
        await consumer.bind(queue, "ose.events", "fault.#")
        await consumer.consume(queue, on_event, prefetch=200)

    keeper = asyncio.create_task(consumer.stay_connected(subscribe))
    await until(lambda: consumer.connected)

    published: list[str] = []
    recovery: list[float] = []
    statuses: Counter[int] = Counter()
    counter = iter(range(EVENTS))

    async def publisher(http: httpx.AsyncClient) -> None:
        for n in counter:
            body = {
                "event_type": "fault.test",
                "source_service": "fault",
                "routing_key": f"fault.{n}",
                "payload": {"n": n},
            }
            for _ in range(20):  # the server itself never fails; the client may time out
                try:
                    response = await http.post("/api/v1/messagebus/publish", json=body)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            statuses[response.status_code] += 1
            assert response.status_code in (200, 202), response.text
            published.append(response.json()["event_id"])

    async def outage() -> None:
        await until(lambda: len(published) >= EVENTS // 3)
        await asyncio.to_thread(rabbit.stop_app)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(rabbit.start_app)
        back = asyncio.get_running_loop().time()
        async with httpx.AsyncClient(base_url=mesh.url, headers=AUTH) as status_client:
            while not (await status_client.get("/api/v1/messagebus/status")).json()["connected"]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        recovery.append(asyncio.get_running_loop().time() - back)

    async with httpx.AsyncClient(base_url=mesh.url, timeout=30, headers=AUTH) as http:
        await asyncio.gather(outage(), *(publisher(http) for _ in range(CONCURRENCY)))
    assert statuses[202] > 0, "the outage should have queued some events"

    deadline = asyncio.get_running_loop().time() + 180
    while not set(published) <= set(received):
        assert asyncio.get_running_loop().time() < deadline, (
            f"{len(set(published) - set(received))} events never arrived"
        )
        await asyncio.sleep(0.2)
    keeper.cancel()
    await asyncio.gather(keeper, return_exceptions=True)
    await consumer.broker.delete_queue(queue)
    await consumer.close()
    print(f"\nthe server's bus was back {recovery[0]:.2f} s after RabbitMQ's start_app returned")
    return published, received


def test_no_event_is_lost_when_rabbitmq_restarts(
    mesh: MeshProcess, rabbit: ThrowawayRabbit
) -> None:
    published, received = asyncio.run(run_fault_test(mesh, rabbit))
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    print(
        f"\n{len(published)} published, {len(received)} distinct received, {duplicates} duplicates"
    )
    assert len(published) == EVENTS
    assert set(published) <= set(received)
    status = httpx.get(f"{mesh.url}/api/v1/messagebus/status", headers=AUTH).json()
    assert status["connected"] is True
    assert status["outbox_backlog"] == 0
