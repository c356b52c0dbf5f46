"""With RABBITMQ_MANAGEMENT_URL set, the bus listings come from the management API: every
queue of the vhost with its counts, paged. (.ci/run enables the management plugin.)"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ose_mesh.adapters.broker import AmqpBroker
from ose_mesh.core.broker import Properties
from tests.conftest import RABBITMQ_URL, RABBITMQ_VHOST, sqlite_url
from tests.integration.server import MeshProcess

pytestmark = [pytest.mark.integration, pytest.mark.rabbitmq]
MANAGEMENT_URL = "http://127.0.0.1:15672"


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[MeshProcess]:
    env = {"OSE_BUS": "amqp", "RABBITMQ_URL": RABBITMQ_URL, "RABBITMQ_VHOST": RABBITMQ_VHOST,
           "RABBITMQ_MANAGEMENT_URL": MANAGEMENT_URL}  # fmt: skip
    server = MeshProcess(sqlite_url(tmp_path), tmp_path, env)
    try:
        server.start()
        yield server
    finally:
        server.stop()


async def make_queue(name: str) -> None:
    broker = AmqpBroker(RABBITMQ_URL)
    await broker.connect()
    await broker.declare_queue(name, durable=False)
    await broker.publish("", name, b"{}", Properties())
    await broker.close()


def test_queues_come_from_the_management_api(mesh: MeshProcess) -> None:
    name = f"mgmt-{uuid.uuid4().hex[:8]}"
    asyncio.run(make_queue(name))
    try:
        found: dict[str, int] = {}
        for _ in range(100):  # the management API refreshes its counts every few seconds
            listing = httpx.get(
                f"{mesh.url}/api/v1/messagebus/queues", params={"page_size": 500}
            ).json()
            assert listing["source"] == "management"
            found = {q["name"]: q["messages"] for q in listing["queues"]}
            if found.get(name) == 1:
                break
            time.sleep(0.2)
        assert found.get(name) == 1
        one = httpx.get(f"{mesh.url}/api/v1/messagebus/queues", params={"page_size": 1}).json()
        assert len(one["queues"]) == 1
        assert one["page_count"] == one["total"] >= 2
        exchanges = httpx.get(f"{mesh.url}/api/v1/messagebus/exchanges").json()["exchanges"]
        assert {"name": "amq.topic", "type": "topic", "durable": True} in exchanges
    finally:

        async def drop() -> None:
            broker = AmqpBroker(RABBITMQ_URL)
            await broker.connect()
            await broker.delete_queue(name)
            await broker.close()

        asyncio.run(drop())
