"""Analyses are recomputed in the background after changes, off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ose_mesh.core import (
    DependencyGraph,
    DependencyService,
    EventHub,
    HeartbeatMonitor,
    HistoryRecorder,
    ManualClock,
)
from ose_mesh.domain import Dependency, Service
from tests.fakes import MemoryHistory, ScriptedProber


class MemoryDependencies:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Dependency] = {}

    async def upsert_dependency(self, dependency: Dependency) -> None:
        self.rows[dependency.key] = dependency

    async def delete_dependency(self, source: str, target: str) -> bool:
        return self.rows.pop((source, target), None) is not None

    async def list_dependencies(self) -> list[Dependency]:
        return list(self.rows.values())

    async def save_catalog(
        self, services: Sequence[Service], dependencies: Sequence[Dependency]
    ) -> None:
        for dependency in dependencies:
            self.rows[dependency.key] = dependency


def service() -> DependencyService:
    clock = ManualClock()
    hub = EventHub()
    monitor = HeartbeatMonitor(
        clock, ScriptedProber(), hub, HistoryRecorder(clock, MemoryHistory())
    )
    return DependencyService(MemoryDependencies(), DependencyGraph(), monitor, hub)


async def test_changes_are_analysed_in_the_background() -> None:
    dependencies = service()
    keeper = asyncio.create_task(dependencies.keep_analysed(settle_seconds=0.01))
    try:
        await dependencies.add(Dependency("web", "api"))
        await dependencies.add(Dependency("api", "db"))
        for _ in range(200):
            if dependencies.graph.is_analysed():
                break
            await asyncio.sleep(0.01)
        assert dependencies.graph.is_analysed()
        assert dependencies.graph.critical_path() == ["web", "api", "db"]
    finally:
        keeper.cancel()


async def test_a_snapshot_analysed_after_a_change_is_not_adopted() -> None:
    dependencies = service()
    await dependencies.add(Dependency("a", "b"))
    snapshot = dependencies.graph.snapshot()
    await dependencies.add(Dependency("b", "c"))
    snapshot.analyse()
    dependencies.graph.adopt(snapshot)
    assert not dependencies.graph.is_analysed()
    assert (await dependencies.analysed()).critical_path() == ["a", "b", "c"]
