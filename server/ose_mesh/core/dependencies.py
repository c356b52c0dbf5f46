"""The dependency use cases: declaring and removing edges (stored first, then applied to the
in-memory graph), and every read of the graph joined with each service's name and status."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ose_mesh.core.graph import DependencyGraph
from ose_mesh.core.graph_model import (
    Cycle,
    Direction,
    EdgeTraffic,
    EdgeView,
    GraphView,
    Hub,
    Impact,
    Neighbourhood,
    NodeView,
    ObservedEdgeView,
    ReachedView,
)
from ose_mesh.core.hub import GRAPH, EventHub
from ose_mesh.core.observations import Observations
from ose_mesh.core.ports import ChangeFeed, DependencyRepository, StatusReader
from ose_mesh.domain import Dependency, HealthStatus


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
        statuses: StatusReader,
        hub: EventHub,
        *,
        feed: ChangeFeed | None = None,
    ) -> None:
        self._feed = feed
        self._repository = repository
        self.graph = graph
        self._statuses = statuses
        self._hub = hub
        self._analysing = asyncio.Lock()
        self._changed = asyncio.Event()
        # What traces show of the edges (set once built: it declares through this service).
        self.observations: Observations | None = None

    async def restore(self) -> int:
        dependencies = await self._repository.list_dependencies()
        self.graph.add_dependencies(dependencies)
        return len(dependencies)

    # -- changes -------------------------------------------------------------------------

    async def add(self, dependency: Dependency) -> tuple[EdgeView, bool]:
        """Declare a dependency; declaring an existing edge again updates it. Returns the
        edge as shown and whether it is new."""
        dependency.validated()
        created = not self.graph.has_dependency(dependency.source, dependency.target)
        await self._repository.upsert_dependency(dependency)
        self.graph.add_dependency(dependency)
        self.announce("added" if created else "updated", dependency.source, dependency.target)
        self._told(dependency.source, dependency.target)
        return self.edge(dependency), created

    async def remove(self, source: str, target: str) -> Dependency:
        dependency = self.graph.dependency(source, target)
        await self._repository.delete_dependency(source, target)
        self.graph.remove_dependency(source, target)
        self.announce("removed", source, target)
        self._told(source, target)
        return dependency

    def told_imported(self) -> None:
        """Many services and edges changed at once (an import): one message, on which the
        other replicas compare everything with the database."""
        self._told(None, None)

    def _told(self, source: str | None, target: str | None) -> None:
        if self._feed is not None:
            self._feed.dependency_changed(source, target)

    # -- what other replicas changed (cluster mode) --------------------------------------

    async def refresh(self, source: str, target: str) -> None:
        """Read one edge back from the database after another replica changed it."""
        stored = await self._repository.get_dependency(source, target)
        present = self.graph.has_dependency(source, target)
        if stored is None and present:
            self.graph.remove_dependency(source, target)
            self.announce("removed", source, target)
        elif stored is not None and (
            not present or self.graph.dependency(source, target) != stored
        ):
            self.graph.add_dependency(stored)
            self.announce("updated" if present else "added", source, target)

    async def reconcile(self) -> int:
        """Make the graph's edges those stored (changes whose message was missed, an
        import). Returns how many edges differed."""
        stored = {(d.source, d.target): d for d in await self._repository.list_dependencies()}
        held = {(d.source, d.target): d for d in self.graph.dependencies()}
        gone = [key for key in held if key not in stored]
        changed = [d for key, d in stored.items() if held.get(key) != d]
        for source, target in gone:
            self.graph.remove_dependency(source, target)
        if changed:
            self.graph.add_dependencies(changed)
        if gone or changed:
            self.announce("imported")
        return len(gone) + len(changed)

    def announce(self, action: str, source: str | None = None, target: str | None = None) -> None:
        self._hub.publish(GRAPH, GraphChange(action, self.graph.version, source, target))
        self._changed.set()

    # -- analyses ------------------------------------------------------------------------

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

    async def view(self) -> GraphView:
        """The whole graph: summary, nodes with their status, edges, cycles."""
        graph = await self.analysed()
        declared = graph.dependencies()
        observed: list[ObservedEdgeView] = []
        traffic: dict[tuple[str, str], EdgeTraffic] = {}
        if self.observations is not None:
            traffic = await self.observations.traffic_of(d.key for d in declared)
            observed = await self.observations.observed_only({d.key for d in declared})
        return GraphView(
            summary=graph.summary(),
            nodes=self.nodes(),
            edges=[EdgeView(d, graph.edge_type(d), traffic.get(d.key)) for d in declared],
            cycles=graph.cycles(),
            observed=observed,
        )

    async def cycles(self) -> list[Cycle]:
        return (await self.analysed()).cycles()

    async def critical_path(self) -> list[str]:
        return (await self.analysed()).critical_path()

    async def hubs(self) -> list[Hub]:
        return (await self.analysed()).hubs()

    # -- reads of the live graph ---------------------------------------------------------

    def nodes(self) -> list[NodeView]:
        statuses, names = self._statuses.statuses(), self._statuses.names()
        return [
            NodeView(
                node.service_id,
                names.get(node.service_id, node.service_id),
                statuses.get(node.service_id, HealthStatus.UNKNOWN),
                node.cluster,
                node.monitored,
            )
            for node in self.graph.nodes()
        ]

    def edge(self, dependency: Dependency) -> EdgeView:
        traffic = None
        if self.observations is not None:
            traffic = self.observations.traffic(dependency.source, dependency.target)
        return EdgeView(dependency, self.graph.edge_type(dependency), traffic)

    def neighbourhood(
        self, service_id: str, direction: Direction, depth: int | None
    ) -> Neighbourhood:
        """The services reached from `service_id` within `depth` steps, on either side."""
        self.graph.require(service_id)

        def side(which: Direction) -> list[ReachedView] | None:
            if direction not in (which, Direction.BOTH):
                return None
            return [
                ReachedView(r.service_id, r.distance, self.edge(r.via))
                for r in self.graph.neighbourhood(service_id, which, depth)
            ]

        return Neighbourhood(
            service_id,
            direction,
            depth,
            dependencies=side(Direction.DEPENDENCIES),
            dependents=side(Direction.DEPENDENTS),
        )

    def impact(self, service_id: str) -> Impact:
        return self.graph.impact(service_id)

    def root_causes(self) -> dict[str, list[str]]:
        return self.graph.root_causes(self._statuses.statuses())
