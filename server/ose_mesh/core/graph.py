"""The dependency graph: plain adjacency maps inside, our own types outside.

Edge A -> B means "A depends on B". Edits and traversals work on two dicts (what each
service needs, what needs each service); whole-graph analyses (cycles, critical path,
betweenness, communities) run in igraph on a numbered copy (graph_algorithms.py). Analyses
are cached and recomputed only after the graph changed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ose_mesh.core import graph_algorithms as algorithms
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
HUB_MIN_DEGREE = 3
UNHEALTHY = frozenset({HealthStatus.DEGRADED, HealthStatus.CRITICAL, HealthStatus.DEAD})
_CARRIES = {DependencyType.HARD, DependencyType.SOFT}
Adjacency = dict[str, dict[str, Dependency]]


@dataclass(frozen=True, slots=True)
class _Numbered:
    """The graph as the algorithms take it: services numbered in sorted order."""

    names: list[str]
    number: dict[str, int]
    edges: list[Dependency]  # edge i of `graph`
    graph: algorithms.Numbered


class DependencyGraph:
    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._needs: Adjacency = {}  # source -> target -> edge
        self._needed_by: Adjacency = {}  # target -> source -> edge
        self._edge_count = 0
        self._version = 0
        self._cache: dict[str, tuple[int, Any]] = {}

    # -- structure -----------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Grows on every change; lets callers cache what they derive from the graph."""
        return self._version

    def add_service(self, service_id: str, *, cluster: str | None, monitored: bool) -> None:
        """Add a node, or update an existing one's cluster and monitoring."""
        self._put_node(service_id, cluster, monitored)
        self._changed()

    def remove_service(self, service_id: str) -> None:
        """A deregistered service stays as an unmonitored node while edges name it."""
        if service_id not in self._nodes:
            return
        if self._degree(service_id):
            self._put_node(service_id, self._nodes[service_id].cluster, monitored=False)
        else:
            self._drop_node(service_id)
        self._changed()

    def add_dependency(self, dependency: Dependency) -> None:
        """Add an edge, or replace the one between the same two services."""
        self.add_dependencies([dependency])

    def add_dependencies(self, dependencies: Iterable[Dependency]) -> None:
        """Add many edges at once (loading a catalog or the database): one change."""
        nodes, needs, needed_by = self._nodes, self._needs, self._needed_by
        for dependency in dependencies:
            source, target = dependency.source, dependency.target
            if source not in nodes:
                self._put_node(source, cluster=None, monitored=False)
            if target not in nodes:
                self._put_node(target, cluster=None, monitored=False)
            if target not in needs[source]:
                self._edge_count += 1
            needs[source][target] = dependency
            needed_by[target][source] = dependency
        self._changed()

    def remove_dependency(self, source: str, target: str) -> Dependency:
        dependency = self.dependency(source, target)
        del self._needs[source][target]
        del self._needed_by[target][source]
        self._edge_count -= 1
        for end in (source, target):
            if not self._nodes[end].monitored and not self._degree(end):
                self._drop_node(end)
        self._changed()
        return dependency

    def dependency(self, source: str, target: str) -> Dependency:
        self.require(source)
        self.require(target)
        found = self._needs[source].get(target)
        if found is None:
            raise DependencyNotFound(source, target)
        return found

    def has_dependency(self, source: str, target: str) -> bool:
        return target in self._needs.get(source, {})

    def set_cluster(self, service_id: str, cluster: str | None) -> None:
        node = self._nodes[service_id]
        if node.cluster != cluster:
            self._put_node(service_id, cluster, node.monitored)
            self._changed()

    def require(self, service_id: str) -> None:
        if service_id not in self._nodes:
            raise ServiceNotFound(service_id)

    def __contains__(self, service_id: object) -> bool:
        return service_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def snapshot(self) -> DependencyGraph:
        """A copy to analyse elsewhere (another thread) while this one keeps changing."""
        copy = DependencyGraph()
        copy._nodes = dict(self._nodes)
        copy._needs = {sid: dict(targets) for sid, targets in self._needs.items()}
        copy._needed_by = {sid: dict(sources) for sid, sources in self._needed_by.items()}
        copy._edge_count = self._edge_count
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
        return [self._nodes[sid] for sid in self._numbered().names]

    def dependencies(self) -> list[Dependency]:
        return self._cached("dependencies", lambda: sorted(self._edges(), key=_edge_key))

    def edge_type(self, dependency: Dependency) -> str:
        """The type shown for an edge: `circular` inside a cycle, else the declared one."""
        return CIRCULAR if dependency.key in self.circular_edges() else dependency.type.value

    def _put_node(self, service_id: str, cluster: str | None, monitored: bool) -> None:
        known = service_id in self._nodes
        self._nodes[service_id] = Node(service_id, cluster, monitored)
        if not known:
            self._needs[service_id] = {}
            self._needed_by[service_id] = {}

    def _drop_node(self, service_id: str) -> None:
        del self._nodes[service_id], self._needs[service_id], self._needed_by[service_id]

    def _degree(self, service_id: str) -> int:
        return len(self._needs[service_id]) + len(self._needed_by[service_id])

    def _edges(self) -> Iterable[Dependency]:
        return (edge for targets in self._needs.values() for edge in targets.values())

    # -- traversal -----------------------------------------------------------------------

    def neighbourhood(
        self, service_id: str, direction: Direction, depth: int | None
    ) -> list[Reached]:
        """Breadth-first from the service: each service once, at its shortest distance."""
        self.require(service_id)
        adjacency = self._needs if direction is Direction.DEPENDENCIES else self._needed_by
        seen = {service_id}
        found: list[Reached] = []
        frontier = deque([(service_id, 0)])
        while frontier:
            current, distance = frontier.popleft()
            if depth is not None and distance >= depth:
                continue
            for other, edge in sorted(adjacency[current].items()):
                if other not in seen:
                    seen.add(other)
                    found.append(Reached(other, distance + 1, edge))
                    frontier.append((other, distance + 1))
        return found

    def impact(self, service_id: str) -> Impact:
        """What a failure of `service_id` does: hard dependents fail (transitively), soft
        dependents degrade, degradation spreads through hard and soft edges but never
        escalates to failure, optional edges carry nothing. Each affected service comes with
        the path that carries the trouble to it."""
        self.require(service_id)
        dependents_of = self._needed_by
        # One walk along hard edges finds the failed; the soft edges it meets seed the walk
        # that finds the degraded, so no edge is looked at twice. Each service reached keeps
        # the path that reached it (tuples share nothing, but paths are short).
        paths: dict[str, tuple[str, ...]] = {service_id: (service_id,)}
        failed: list[str] = []
        seeds: dict[str, str] = {}
        frontier = deque([service_id])
        while frontier:
            current = frontier.popleft()
            for dependent, edge in dependents_of[current].items():
                kind = edge.type
                if kind is DependencyType.HARD and dependent not in paths:
                    paths[dependent] = (*paths[current], dependent)
                    failed.append(dependent)
                    frontier.append(dependent)
                elif kind is DependencyType.SOFT:
                    seeds.setdefault(dependent, current)
        degraded: list[str] = []
        for dependent, parent in seeds.items():
            if dependent not in paths:
                paths[dependent] = (*paths[parent], dependent)
                degraded.append(dependent)
        frontier = deque(degraded)
        while frontier:
            current = frontier.popleft()
            for dependent, edge in dependents_of[current].items():
                if dependent not in paths and edge.type in _CARRIES:
                    paths[dependent] = (*paths[current], dependent)
                    degraded.append(dependent)
                    frontier.append(dependent)
        return Impact(
            service_id=service_id,
            failed=_entries(failed, paths),
            degraded=_entries(degraded, paths),
            unaffected=[ImpactEntry(sid, ()) for sid in self._numbered().names if sid not in paths],
        )

    def root_causes(self, statuses: Mapping[str, HealthStatus]) -> dict[str, list[str]]:
        """For every non-healthy service: the non-healthy services it depends on (hard or
        soft, through non-healthy services) where the trouble starts, i.e. that have no
        non-healthy dependency outside their own cycle. A service whose trouble starts with
        itself has none."""
        unhealthy = [sid for sid in self._nodes if statuses.get(sid) in UNHEALTHY]
        return self._trouble_sinks(unhealthy, statuses, unhealthy)

    def root_causes_of(self, service_id: str, statuses: Mapping[str, HealthStatus]) -> list[str]:
        """The same for one service, visiting only the troubled services below it."""
        if service_id not in self._nodes or statuses.get(service_id) not in UNHEALTHY:
            return []
        below = {service_id}
        frontier = deque([service_id])
        while frontier:
            for target, edge in self._needs[frontier.popleft()].items():
                if (
                    target not in below
                    and edge.type in _CARRIES
                    and statuses.get(target) in UNHEALTHY
                ):
                    below.add(target)
                    frontier.append(target)
        if len(below) == 1:
            return []  # nothing troubled below: the trouble starts here
        return self._trouble_sinks(list(below), statuses, [service_id])[service_id]

    def _trouble_sinks(
        self, region: list[str], statuses: Mapping[str, HealthStatus], services: list[str]
    ) -> dict[str, list[str]]:
        """For each of `services`: the members of the sink components of the troubled graph
        (hard and soft edges between non-healthy services of `region`) below it; none when
        its own component is a sink."""
        number = {sid: i for i, sid in enumerate(region)}
        pairs = [
            (number[source], number[target])
            for source in region
            for target, edge in self._needs[source].items()
            if edge.type in _CARRIES and statuses.get(target) in UNHEALTHY and target in number
        ]
        condensed = algorithms.Numbered(len(region), pairs).condense()
        sinks_below: list[frozenset[int]] = [frozenset()] * len(condensed.members)
        for component in reversed(condensed.order):
            sinks_below[component] = frozenset().union(
                *(
                    sinks_below[c] if condensed.successors[c] else {c}
                    for c in condensed.successors[component]
                )
            )
        return {
            sid: sorted(
                region[vertex]
                for component in sinks_below[condensed.component_of[number[sid]]]
                for vertex in condensed.members[component]
            )
            for sid in services
        }

    # -- analyses (cached) ---------------------------------------------------------------

    def summary(self) -> GraphSummary:
        services = len(self._nodes)
        edges = self._edge_count
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
        if not with_betweenness:
            return self._cached("hubs_degree", self._compute_hubs)
        return self._cached("hubs", self._compute_hub_betweenness)

    def clusters(self) -> dict[str, list[str]]:
        return self._cached("clusters", self._compute_clusters)

    def isolated(self) -> list[str]:
        return self._cached(
            "isolated", lambda: [sid for sid in self._numbered().names if not self._degree(sid)]
        )

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

    def _numbered(self) -> _Numbered:
        return self._cached("numbered", self._compute_numbered)

    def _compute_numbered(self) -> _Numbered:
        names = sorted(self._nodes)
        number = {sid: i for i, sid in enumerate(names)}
        edges: list[Dependency] = []
        pairs: list[tuple[int, int]] = []
        for source, i in number.items():
            targets = self._needs[source]
            edges.extend(targets.values())
            pairs.extend((i, number[target]) for target in targets)
        return _Numbered(names, number, edges, algorithms.Numbered(len(names), pairs))

    def _components(self) -> list[list[str]]:
        """Strongly connected components with more than one service (self-loops are refused)."""
        return self._cached("components", self._compute_components)

    def _compute_components(self) -> list[list[str]]:
        numbered = self._numbered()
        condensed = numbered.graph.condense()
        return [
            [numbered.names[vertex] for vertex in members]
            for members in condensed.members
            if len(members) > 1
        ]

    def _compute_cycles(self) -> list[Cycle]:
        cycles = [
            Cycle(_witness(self._needs, set(component)), tuple(component))
            for component in self._components()
        ]
        return sorted(cycles, key=lambda cycle: cycle.members)

    def _compute_circular_edges(self) -> frozenset[tuple[str, str]]:
        # Inside a strongly connected component every edge lies on some cycle.
        component_of = {sid: i for i, members in enumerate(self._components()) for sid in members}
        return frozenset(
            (source, target)
            for source, i in component_of.items()
            for target in self._needs[source]
            if component_of.get(target) == i
        )

    def _compute_critical_path(self) -> list[str]:
        numbered = self._numbered()
        hard = [i for i, edge in enumerate(numbered.edges) if edge.type is DependencyType.HARD]
        if not hard:
            return []
        condensed = numbered.graph.condense(hard)
        # A chain's weight is how many services depend on its members: ties go to the chain
        # whose failure would be felt most widely.
        dependents = numbered.graph.in_degrees()
        weights = [sum(dependents[vertex] for vertex in members) for members in condensed.members]
        chain = algorithms.longest_chain(condensed, weights)
        return [numbered.names[vertex] for c in chain for vertex in condensed.members[c]]

    def _compute_hubs(self) -> list[Hub]:
        if not self._nodes:
            return []
        numbered = self._numbered()
        degrees = dict(zip(numbered.names, numbered.graph.degrees(), strict=True))
        threshold = max(HUB_MIN_DEGREE, _mean_plus_deviation(list(degrees.values())))
        chosen = sorted(
            (sid for sid, d in degrees.items() if d >= threshold), key=lambda s: (-degrees[s], s)
        )
        return [
            Hub(sid, degrees[sid], len(self._needed_by[sid]), len(self._needs[sid]), 0.0)
            for sid in chosen
        ]

    def _compute_hub_betweenness(self) -> list[Hub]:
        hubs = self.hubs(with_betweenness=False)
        numbered = self._numbered()
        values = numbered.graph.betweenness([numbered.number[hub.service_id] for hub in hubs])
        return [
            replace(hub, betweenness=round(value, 6))
            for hub, value in zip(hubs, values, strict=True)
        ]

    def _compute_clusters(self) -> dict[str, list[str]]:
        numbered = self._numbered()
        clusters: dict[str, list[str]] = {}
        undeclared: list[int] = []
        for vertex, sid in enumerate(numbered.names):
            cluster = self._nodes[sid].cluster
            if cluster:
                clusters.setdefault(cluster, []).append(sid)
            else:
                undeclared.append(vertex)
        # Services without a declared cluster are grouped by community detection.
        groups: list[list[str]] = []
        alone: list[str] = []
        for members in numbered.graph.communities(undeclared) if undeclared else []:
            names = [numbered.names[vertex] for vertex in members]
            if len(names) > 1:
                groups.append(names)
            else:
                alone.extend(names)
        groups.sort(key=lambda group: (-len(group), group[0]))
        for index, group in enumerate(groups, 1):
            clusters[f"community-{index}"] = group
        if alone:
            clusters["ungrouped"] = sorted(alone)
        return dict(sorted(clusters.items()))


def _mean_plus_deviation(values: list[int]) -> float:
    """Mean + population standard deviation (statistics.pstdev is exact, and slow)."""
    average = sum(values) / len(values)
    return average + math.sqrt(sum((v - average) ** 2 for v in values) / len(values))


def _edge_key(edge: Dependency) -> tuple[str, str]:
    return edge.key


def _witness(needs: Adjacency, component: set[str]) -> tuple[str, ...]:
    """One cycle inside a strongly connected component, in edge order. Every service of a
    component has a successor inside it, so walking them must come back: linear time."""
    position: dict[str, int] = {}
    walk: list[str] = []
    current = min(component)
    while current not in position:
        position[current] = len(walk)
        walk.append(current)
        current = min(t for t in needs[current] if t in component)
    return tuple(walk[position[current] :])


def _entries(chosen: list[str], paths: Mapping[str, tuple[str, ...]]) -> list[ImpactEntry]:
    """Each chosen service with its path from the failed one, shortest paths first, then
    by id. Bucketing by length keeps the sort a plain string sort."""
    by_length: dict[int, list[str]] = {}
    for sid in chosen:
        by_length.setdefault(len(paths[sid]), []).append(sid)
    return [
        ImpactEntry(sid, paths[sid])
        for length in sorted(by_length)
        for sid in sorted(by_length[length])
    ]
