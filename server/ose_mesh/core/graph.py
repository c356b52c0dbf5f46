"""The dependency graph: networkx inside, our own types outside.

Edge A -> B means "A depends on B". Analyses are cached and recomputed only after the graph
changed. Every analysis is linear or bounded: cycles come from strongly connected
components (one witness cycle each, never an enumeration of all cycles), betweenness is
exact up to 2,000 services and sampled above.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from statistics import mean, pstdev
from typing import Any, TypeVar

import networkx as nx

from ose_mesh.core.graph_model import (
    Cycle,
    Direction,
    GraphSummary,
    Hub,
    Impact,
    ImpactEntry,
    Node,
    Reached,
)
from ose_mesh.domain import (
    CIRCULAR,
    Dependency,
    DependencyNotFound,
    DependencyType,
    HealthStatus,
    ServiceNotFound,
)

T = TypeVar("T")
EXACT_BETWEENNESS_LIMIT = 2000
HUB_MIN_DEGREE = 3
UNHEALTHY = frozenset({HealthStatus.DEGRADED, HealthStatus.CRITICAL, HealthStatus.DEAD})
_CARRIES = {DependencyType.HARD, DependencyType.SOFT}


class DependencyGraph:
    def __init__(self) -> None:
        self._g: nx.DiGraph[str] = nx.DiGraph()
        self._version = 0
        self._cache: dict[str, tuple[int, Any]] = {}

    # -- structure -----------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Grows on every change; lets callers cache what they derive from the graph."""
        return self._version

    def add_service(self, service_id: str, *, cluster: str | None, monitored: bool) -> None:
        """Add a node, or update an existing one's cluster and monitoring."""
        self._g.add_node(service_id, cluster=cluster, monitored=monitored)
        self._changed()

    def remove_service(self, service_id: str) -> None:
        """A deregistered service stays as an unmonitored node while edges name it."""
        if service_id not in self._g:
            return
        if self._g.degree(service_id):
            self._g.nodes[service_id].update(monitored=False)
        else:
            self._g.remove_node(service_id)
        self._changed()

    def add_dependency(self, dependency: Dependency) -> None:
        for end in (dependency.source, dependency.target):
            if end not in self._g:
                self._g.add_node(end, cluster=None, monitored=False)
        self._g.add_edge(dependency.source, dependency.target, dependency=dependency)
        self._changed()

    def remove_dependency(self, source: str, target: str) -> Dependency:
        dependency = self.dependency(source, target)
        self._g.remove_edge(source, target)
        for end in (source, target):
            if not self._g.nodes[end]["monitored"] and not self._g.degree(end):
                self._g.remove_node(end)
        self._changed()
        return dependency

    def dependency(self, source: str, target: str) -> Dependency:
        self.require(source)
        self.require(target)
        if not self._g.has_edge(source, target):
            raise DependencyNotFound(source, target)
        found: Dependency = self._g.edges[source, target]["dependency"]
        return found

    def has_dependency(self, source: str, target: str) -> bool:
        return bool(self._g.has_edge(source, target))

    def set_cluster(self, service_id: str, cluster: str | None) -> None:
        if self._g.nodes[service_id].get("cluster") != cluster:
            self._g.nodes[service_id]["cluster"] = cluster
            self._changed()

    def require(self, service_id: str) -> None:
        if service_id not in self._g:
            raise ServiceNotFound(service_id)

    def __contains__(self, service_id: object) -> bool:
        return service_id in self._g

    def __len__(self) -> int:
        return int(self._g.number_of_nodes())

    def snapshot(self) -> DependencyGraph:
        """A copy to analyse elsewhere (another thread) while this one keeps changing."""
        copy = DependencyGraph()
        copy._g = self._g.copy()
        copy._version = self._version
        return copy

    def analyse(self) -> None:
        """Compute and cache every analysis the graph routes show."""
        self.summary()
        self.hubs()
        self.circular_edges()

    def is_analysed(self) -> bool:
        return all(
            self._cache.get(key, (-1,))[0] == self._version
            for key in ("cycles", "critical_path", "hubs", "clusters", "isolated")
        )

    def adopt(self, analysed: DependencyGraph) -> None:
        """Take the analyses of a snapshot, if nothing changed since it was taken."""
        if analysed._version == self._version:
            self._cache.update(analysed._cache)

    def nodes(self) -> list[Node]:
        attributes = self._g.nodes
        return [
            Node(sid, attributes[sid]["cluster"], attributes[sid]["monitored"])
            for sid in sorted(self._g)
        ]

    def dependencies(self) -> list[Dependency]:
        return [data["dependency"] for _, _, data in sorted(self._g.edges(data=True))]

    def edge_type(self, dependency: Dependency) -> str:
        """The type shown for an edge: `circular` inside a cycle, else the declared one."""
        return CIRCULAR if dependency.key in self.circular_edges() else dependency.type.value

    # -- traversal -----------------------------------------------------------------------

    def neighbourhood(
        self, service_id: str, direction: Direction, depth: int | None
    ) -> list[Reached]:
        """Breadth-first from the service: each service once, at its shortest distance."""
        self.require(service_id)
        forward = direction is Direction.DEPENDENCIES
        neighbours = self._g.successors if forward else self._g.predecessors
        seen = {service_id}
        found: list[Reached] = []
        frontier = deque([(service_id, 0)])
        while frontier:
            current, distance = frontier.popleft()
            if depth is not None and distance >= depth:
                continue
            for other in sorted(neighbours(current)):
                if other in seen:
                    continue
                seen.add(other)
                edge = (current, other) if forward else (other, current)
                found.append(Reached(other, distance + 1, self._g.edges[edge]["dependency"]))
                frontier.append((other, distance + 1))
        return found

    def impact(self, service_id: str) -> Impact:
        """What a failure of `service_id` does: hard dependents fail (transitively), soft
        dependents degrade, degradation spreads through hard and soft edges but never
        escalates to failure, optional edges carry nothing. Each affected service comes with
        the path that carries the trouble to it."""
        self.require(service_id)
        dependents_of = self._g.pred  # adjacency: target -> {dependent: edge attributes}
        # One walk along hard edges finds the failed; the soft edges it meets seed the walk
        # that finds the degraded, so no edge is looked at twice.
        parents: dict[str, str | None] = {service_id: None}
        failed: list[str] = []
        seeds: dict[str, str] = {}
        frontier = deque([service_id])
        while frontier:
            current = frontier.popleft()
            for dependent, edge in dependents_of[current].items():
                kind = edge["dependency"].type
                if kind is DependencyType.HARD and dependent not in parents:
                    parents[dependent] = current
                    failed.append(dependent)
                    frontier.append(dependent)
                elif kind is DependencyType.SOFT:
                    seeds.setdefault(dependent, current)
        degraded: list[str] = []
        for dependent, parent in seeds.items():
            if dependent not in parents:
                parents[dependent] = parent
                degraded.append(dependent)
        frontier = deque(degraded)
        while frontier:
            current = frontier.popleft()
            for dependent, edge in dependents_of[current].items():
                if dependent not in parents and edge["dependency"].type in _CARRIES:
                    parents[dependent] = current
                    degraded.append(dependent)
                    frontier.append(dependent)
        return Impact(
            service_id=service_id,
            failed=_entries(failed, parents),
            degraded=_entries(degraded, parents),
            unaffected=[ImpactEntry(sid, ()) for sid in sorted(self._g) if sid not in parents],
        )

    def root_causes(self, statuses: Mapping[str, HealthStatus]) -> dict[str, list[str]]:
        """For every non-healthy service: the non-healthy services it depends on (hard or
        soft, through non-healthy services) where the trouble starts, i.e. that have no
        non-healthy dependency outside their own cycle. A service whose trouble starts with
        itself has none."""
        unhealthy = [sid for sid in self._g if statuses.get(sid) in UNHEALTHY]
        return _trouble_sinks(self._troubled(statuses, self._g), unhealthy)

    def root_causes_of(self, service_id: str, statuses: Mapping[str, HealthStatus]) -> list[str]:
        """The same for one service, visiting only the troubled services below it."""
        if service_id not in self._g or statuses.get(service_id) not in UNHEALTHY:
            return []
        below = {service_id}
        frontier = deque([service_id])
        while frontier:
            for target in self._g.successors(frontier.popleft()):
                if target not in below and statuses.get(target) in UNHEALTHY:
                    below.add(target)
                    frontier.append(target)
        region = self._g.subgraph(below)
        return _trouble_sinks(self._troubled(statuses, region), [service_id])[service_id]

    @staticmethod
    def _troubled(statuses: Mapping[str, HealthStatus], graph: Any) -> Any:
        """The hard and soft edges between non-healthy services."""
        return graph.edge_subgraph(
            (s, t)
            for s, t, data in graph.edges(data=True)
            if data["dependency"].type in _CARRIES
            and statuses.get(s) in UNHEALTHY
            and statuses.get(t) in UNHEALTHY
        )

    # -- analyses (cached) ---------------------------------------------------------------

    def summary(self) -> GraphSummary:
        services = self._g.number_of_nodes()
        edges = self._g.number_of_edges()
        return GraphSummary(
            total_services=services,
            total_dependencies=edges,
            hub_services=[hub.service_id for hub in self.hubs(with_betweenness=False)],
            isolated_services=self.isolated(),
            circular_dependencies=[list(cycle.services) for cycle in self.cycles()],
            critical_path=self.critical_path(),
            clusters=self.clusters(),
            average_dependencies=round(edges / services, 2) if services else 0.0,
        )

    def cycles(self) -> list[Cycle]:
        return self._cached("cycles", self._compute_cycles)

    def circular_edges(self) -> frozenset[tuple[str, str]]:
        return self._cached("circular_edges", self._compute_circular_edges)

    def critical_path(self) -> list[str]:
        return self._cached("critical_path", self._compute_critical_path)

    def hubs(self, *, with_betweenness: bool = True) -> list[Hub]:
        key = "hubs" if with_betweenness else "hubs_degree"
        return self._cached(key, lambda: self._compute_hubs(with_betweenness))

    def clusters(self) -> dict[str, list[str]]:
        return self._cached("clusters", self._compute_clusters)

    def isolated(self) -> list[str]:
        return self._cached("isolated", lambda: sorted(nx.isolates(self._g)))

    def _changed(self) -> None:
        self._version += 1

    def _cached(self, key: str, compute: Callable[[], T]) -> T:
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self._version:
            value: T = hit[1]
            return value
        value = compute()
        self._cache[key] = (self._version, value)
        return value

    def _components(self) -> list[set[str]]:
        """Strongly connected components with more than one service (self-loops are refused)."""
        return self._cached(
            "components",
            lambda: [c for c in nx.strongly_connected_components(self._g) if len(c) > 1],
        )

    def _compute_cycles(self) -> list[Cycle]:
        cycles = [
            Cycle(_witness(self._g, component), tuple(sorted(component)))
            for component in self._components()
        ]
        return sorted(cycles, key=lambda cycle: cycle.members)

    def _compute_circular_edges(self) -> frozenset[tuple[str, str]]:
        # Inside a strongly connected component every edge lies on some cycle.
        return frozenset(
            (s, t)
            for component in self._components()
            for s in component
            for t in self._g.successors(s)
            if t in component
        )

    def _compute_critical_path(self) -> list[str]:
        hard = self._g.edge_subgraph(
            (s, t)
            for s, t, data in self._g.edges(data=True)
            if data["dependency"].type is DependencyType.HARD
        )
        if not hard.number_of_edges():
            return []
        condensed = nx.condensation(hard)
        dependents = self._g.in_degree
        best: dict[int, tuple[int, int, list[int]]] = {}
        for component in reversed(list(nx.topological_sort(condensed))):
            members = condensed.nodes[component]["members"]
            weight = sum(dependents(m) for m in members)
            below = max(
                (best[c] for c in condensed.successors(component)),
                key=lambda b: (b[0], b[1]),
                default=(0, 0, []),
            )
            best[component] = (below[0] + 1, below[1] + weight, [component, *below[2]])
        chain = max(best.values(), key=lambda b: (b[0], b[1]))[2]
        return [m for c in chain for m in sorted(condensed.nodes[c]["members"])]

    def _compute_hubs(self, with_betweenness: bool) -> list[Hub]:
        degrees = dict(self._g.degree())
        if not degrees:
            return []
        values = list(degrees.values())
        threshold = max(HUB_MIN_DEGREE, mean(values) + pstdev(values))
        chosen = sorted(
            (sid for sid, d in degrees.items() if d >= threshold), key=lambda s: (-degrees[s], s)
        )
        betweenness = self._betweenness() if with_betweenness and chosen else {}
        return [
            Hub(
                sid,
                degrees[sid],
                self._g.in_degree(sid),
                self._g.out_degree(sid),
                round(betweenness.get(sid, 0.0), 6),
            )
            for sid in chosen
        ]

    def _betweenness(self) -> dict[str, float]:
        nodes = self._g.number_of_nodes()
        if nodes <= EXACT_BETWEENNESS_LIMIT:
            return dict(nx.betweenness_centrality(self._g))
        # Sampled: a fixed seed keeps answers stable; the sample size bounds the cost.
        samples = max(8, min(nodes, 200_000 // (self._g.number_of_edges() + 1)))
        return dict(nx.betweenness_centrality(self._g, k=samples, seed=1))

    def _compute_clusters(self) -> dict[str, list[str]]:
        clusters: dict[str, list[str]] = {}
        undeclared = []
        for sid in self._g:
            cluster: str | None = self._g.nodes[sid]["cluster"]
            if cluster:
                clusters.setdefault(cluster, []).append(sid)
            else:
                undeclared.append(sid)
        communities, alone = _communities(self._g.subgraph(undeclared))
        for index, community in enumerate(communities, 1):
            clusters[f"community-{index}"] = community
        if alone:
            clusters["ungrouped"] = alone
        return {name: sorted(members) for name, members in sorted(clusters.items())}


def _witness(graph: nx.DiGraph[str], component: set[str]) -> tuple[str, ...]:
    """One cycle inside a strongly connected component, in edge order. Every service of a
    component has a successor inside it, so walking them must come back: linear time."""
    position: dict[str, int] = {}
    walk: list[str] = []
    current = min(component)
    while current not in position:
        position[current] = len(walk)
        walk.append(current)
        current = min(t for t in graph.successors(current) if t in component)
    return tuple(walk[position[current] :])


def _communities(graph: Any) -> tuple[list[list[str]], list[str]]:
    """Communities among services without a declared cluster (label propagation, seeded so
    the answer is stable), largest first; and the services left on their own."""
    if not graph.number_of_nodes():
        return [], []
    found = nx.community.asyn_lpa_communities(graph.to_undirected(as_view=True), seed=1)
    groups: list[list[str]] = []
    alone: list[str] = []
    for community in found:
        if len(community) > 1:
            groups.append(sorted(community))
        else:
            alone.extend(community)
    groups.sort(key=lambda members: (-len(members), members[0]))
    return groups, sorted(alone)


def _trouble_sinks(troubled: Any, services: list[str]) -> dict[str, list[str]]:
    """For each service: the members of the sink components (of the condensed troubled
    graph) below it; none when its own component is a sink."""
    condensed = nx.condensation(troubled)
    component_of = condensed.graph["mapping"]
    sinks_below: dict[int, frozenset[int]] = {}
    for component in reversed(list(nx.topological_sort(condensed))):
        sinks_below[component] = frozenset().union(
            *(
                sinks_below[c] if condensed.out_degree(c) else {c}
                for c in condensed.successors(component)
            )
        )
    causes: dict[str, list[str]] = {}
    for sid in services:
        components = sinks_below.get(component_of[sid], frozenset()) if sid in component_of else ()
        causes[sid] = sorted(m for c in components for m in condensed.nodes[c]["members"])
    return causes


def _entries(chosen: list[str], parents: Mapping[str, str | None]) -> list[ImpactEntry]:
    """Each chosen service with its path from the failed one (following `parents`),
    shortest paths first. Paths are built once per service, sharing their prefixes."""
    paths: dict[str, tuple[str, ...]] = {}

    def path(sid: str) -> tuple[str, ...]:
        trail = []
        current: str | None = sid
        while current is not None and current not in paths:
            trail.append(current)
            current = parents[current]
        known = paths[current] if current is not None else ()
        for node in reversed(trail):
            known = paths[node] = (*known, node)
        return known

    entries = [ImpactEntry(sid, path(sid)) for sid in chosen]
    return sorted(entries, key=lambda e: (len(e.path), e.service_id))
