"""Declaring and removing dependencies: stored first, then applied to the in-memory graph."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ose_mesh.core.graph import DependencyGraph
from ose_mesh.core.hub import GRAPH, EventHub
from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.ports import DependencyRepository
from ose_mesh.domain import Dependency


@dataclass(frozen=True, slots=True)
class GraphChange:
    """What changed in the graph, for live views."""

    action: str  # "added", "updated", "removed", "imported" or "services"
    version: int
    source: str | None = None
    target: str | None = None


class DependencyService:
    def __init__(
        self,
        repository: DependencyRepository,
        graph: DependencyGraph,
        monitor: HeartbeatMonitor,
        hub: EventHub,
    ) -> None:
        self._repository = repository
        self.graph = graph
        self._monitor = monitor
        self._hub = hub
        self._analysing = asyncio.Lock()
        self._changed = asyncio.Event()

    async def restore(self) -> int:
        dependencies = await self._repository.list_dependencies()
        self.graph.add_dependencies(dependencies)
        return len(dependencies)

    async def add(self, dependency: Dependency) -> tuple[Dependency, bool]:
        """Declare a dependency; declaring an existing edge again updates it."""
        dependency.validated()
        created = not self.graph.has_dependency(dependency.source, dependency.target)
        await self._repository.upsert_dependency(dependency)
        self.graph.add_dependency(dependency)
        self.announce("added" if created else "updated", dependency.source, dependency.target)
        return dependency, created

    async def remove(self, source: str, target: str) -> Dependency:
        dependency = self.graph.dependency(source, target)
        await self._repository.delete_dependency(source, target)
        self.graph.remove_dependency(source, target)
        self.announce("removed", source, target)
        return dependency

    def announce(self, action: str, source: str | None = None, target: str | None = None) -> None:
        self._hub.publish(GRAPH, GraphChange(action, self.graph.version, source, target))
        self._changed.set()

    async def keep_analysed(self, settle_seconds: float = 0.5) -> None:
        """Recompute the analyses in the background after changes (once a burst of changes
        has settled), so readers find them ready. Runs until cancelled (app lifespan)."""
        while True:
            await self.analysed()
            await self._changed.wait()
            self._changed.clear()
            await asyncio.sleep(settle_seconds)

    async def analysed(self) -> DependencyGraph:
        """The graph with its analyses cached. They are computed on a snapshot in a worker
        thread, so a large graph (seconds at 10,000 services) never holds the event loop."""
        async with self._analysing:
            if not self.graph.is_analysed():
                snapshot = self.graph.snapshot()
                await asyncio.to_thread(snapshot.analyse)
                self.graph.adopt(snapshot)
        return self.graph

    def root_causes(self) -> dict[str, list[str]]:
        return self.graph.root_causes(self._monitor.statuses())

    def root_causes_of(self, service_id: str) -> list[str]:
        return self.graph.root_causes_of(service_id, self._monitor.status_view())
