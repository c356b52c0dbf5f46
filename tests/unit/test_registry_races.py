"""Changes to one service id take turns, even when the database answers in any order: a
slow store shuffles the interleavings that once left a service watched but not stored."""

from __future__ import annotations

import asyncio
import contextlib
import random

from ose_mesh.core import (
    DependencyGraph,
    EventHub,
    HeartbeatMonitor,
    HistoryRecorder,
    ManualClock,
    ServiceRegistry,
    ServiceSpec,
)
from ose_mesh.domain import CheckConfig, Service, ServiceNotFound
from tests.fakes import MemoryHistory, ScriptedProber


class SlowServices:
    """A service store that takes a random while to answer each call."""

    def __init__(self, seed: int) -> None:
        self.stored: dict[str, Service] = {}
        self._random = random.Random(seed)

    async def _pause(self) -> None:
        await asyncio.sleep(self._random.random() / 1000)

    # A pause before and after each write: a database's statement, then its commit.
    async def upsert_service(self, service: Service) -> None:
        await self._pause()
        self.stored[service.service_id] = service
        await self._pause()

    async def delete_service(self, service_id: str) -> bool:
        await self._pause()
        found = self.stored.pop(service_id, None) is not None
        await self._pause()
        return found

    async def list_services(self) -> list[Service]:
        return list(self.stored.values())


def registry_on(store: SlowServices) -> tuple[ServiceRegistry, HeartbeatMonitor]:
    clock, hub, history_store = ManualClock(), EventHub(), MemoryHistory()
    history = HistoryRecorder(clock, history_store)
    monitor = HeartbeatMonitor(clock, ScriptedProber(), hub, history)
    registry = ServiceRegistry(
        store, history_store, monitor, history, hub, clock, CheckConfig(), DependencyGraph()
    )
    return registry, monitor


async def test_memory_and_store_agree_after_concurrent_changes() -> None:
    for seed in range(40):
        store = SlowServices(seed)
        registry, monitor = registry_on(store)
        if seed % 2:
            await registry.register(ServiceSpec("racer"))

        changes = [
            registry.register(ServiceSpec("racer")),
            deregister(registry),
            deregister(registry),
        ]
        random.Random(seed).shuffle(changes)
        await asyncio.gather(*changes)
        assert ("racer" in monitor) == ("racer" in store.stored), seed


async def deregister(registry: ServiceRegistry) -> None:
    with contextlib.suppress(ServiceNotFound):  # the other deregistration was first
        await registry.deregister("racer")


async def test_one_of_many_concurrent_registrations_creates() -> None:
    registry, _ = registry_on(SlowServices(1))
    results = await asyncio.gather(*(registry.register(ServiceSpec("new")) for _ in range(50)))
    assert sum(created for _, created in results) == 1
