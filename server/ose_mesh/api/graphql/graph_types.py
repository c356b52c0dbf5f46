"""GraphQL types of the dependency graph, mapped from the core's values."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from ose_mesh import core, domain
from ose_mesh.api.graphql.types import HealthStatus, InvalidFieldError, UnavailableError

strawberry.enum(domain.DependencyType, description="Declared strength of a dependency.")
strawberry.enum(domain.Relationship, description="How the two services talk.")
DependencyType = domain.DependencyType
Relationship = domain.Relationship


@strawberry.enum(description="Shown type of an edge: circular inside a cycle, else declared.")
class EdgeType(Enum):
    HARD = "hard"
    SOFT = "soft"
    OPTIONAL = "optional"
    CIRCULAR = "circular"


@strawberry.enum(description="Which way to walk: dependencies = upstream, dependents = downstream.")
class Direction(Enum):
    DEPENDENCIES = "dependencies"
    DEPENDENTS = "dependents"
    BOTH = "both"
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


@strawberry.enum(description="Where an edge comes from: declared, observed in traces, or both.")
class EdgeOrigin(Enum):
    DECLARED = "declared"
    OBSERVED = "observed"
    BOTH = "both"


@strawberry.type(description="Calls seen in traces over one window.")
class TrafficWindow:
    calls: int
    rate: float
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    failed_calls: int
    propagated: int

    @classmethod
    def from_core(cls, window: core.TrafficWindow) -> TrafficWindow:
        return cls(
            calls=window.calls,
            rate=window.rate,
            error_rate=window.error_rate,
            p50_ms=window.p50_ms,
            p95_ms=window.p95_ms,
            failed_calls=window.failed_calls,
            propagated=window.propagated,
        )


@strawberry.type(description="What traces show of an edge, added up over every replica.")
class EdgeTraffic:
    relationship: Relationship
    first_seen: datetime
    last_seen: datetime
    last_5m: TrafficWindow
    last_1h: TrafficWindow

    @classmethod
    def from_core(cls, traffic: core.EdgeTraffic | None) -> EdgeTraffic | None:
        if traffic is None:
            return None
        return cls(
            relationship=traffic.relationship,
            first_seen=traffic.first_seen,
            last_seen=traffic.last_seen,
            last_5m=TrafficWindow.from_core(traffic.last_5m),
            last_1h=TrafficWindow.from_core(traffic.last_1h),
        )


@strawberry.type(description="Edge A -> B: A depends on B.")
class Dependency:
    source: str
    target: str
    type: EdgeType
    declared_type: DependencyType
    relationship: Relationship
    description: str | None
    origin: EdgeOrigin
    traffic: EdgeTraffic | None

    @classmethod
    def from_view(cls, edge: core.EdgeView) -> Dependency:
        dependency = edge.dependency
        return cls(
            source=dependency.source,
            target=dependency.target,
            type=EdgeType(edge.type),
            declared_type=dependency.type,
            relationship=dependency.relationship,
            description=dependency.description,
            origin=EdgeOrigin(edge.origin),
            traffic=EdgeTraffic.from_core(edge.traffic),
        )


@strawberry.type(description="Edge A -> B seen in traces and not declared.")
class ObservedDependency:
    source: str
    target: str
    relationship: Relationship
    origin: EdgeOrigin
    traffic: EdgeTraffic

    @classmethod
    def from_view(cls, edge: core.ObservedEdgeView) -> ObservedDependency:
        return cls(
            source=edge.source,
            target=edge.target,
            relationship=edge.traffic.relationship,
            origin=EdgeOrigin.OBSERVED,
            traffic=EdgeTraffic.from_core(edge.traffic),  # type: ignore[arg-type]
        )


@strawberry.type(description="A service on the graph, with its live status.")
class GraphNode:
    id: str
    name: str
    status: HealthStatus
    cluster: str | None
    monitored: bool = strawberry.field(description="False for services only named by edges.")

    @classmethod
    def from_view(cls, node: core.NodeView) -> GraphNode:
        return cls(
            id=node.service_id,
            name=node.name,
            status=node.status,
            cluster=node.cluster,
            monitored=node.monitored,
        )


@strawberry.type(description="A strongly connected component and one cycle through it.")
class Cycle:
    services: list[str] = strawberry.field(description="A cycle, in edge order.")
    members: list[str]


@strawberry.type
class Hub:
    service_id: str
    degree: int
    in_degree: int
    out_degree: int
    betweenness: float


@strawberry.type
class Cluster:
    name: str
    services: list[str]


@strawberry.type(description="The whole graph with its analysis.")
class DependencyGraph:
    total_services: int
    total_dependencies: int
    hub_services: list[str]
    isolated_services: list[str]
    circular_dependencies: list[list[str]]
    critical_path: list[str]
    clusters: list[Cluster]
    average_dependencies: float
    services: list[GraphNode]
    dependencies: list[Dependency]
    observed_dependencies: list[ObservedDependency]
    cycles: list[Cycle]


@strawberry.type(
    description="A service found from another, its distance and the edge that reached it."
)
class ReachedService:
    service_id: str
    distance: int
    via: Dependency


@strawberry.type
class ServiceDependencies:
    service_id: str
    dependencies: list[ReachedService] | None
    dependents: list[ReachedService] | None


@strawberry.type
class ImpactEntry:
    service_id: str
    path: list[str]


@strawberry.type(description="What a failure of one service does to the others.")
class Impact:
    service_id: str
    failed: list[ImpactEntry]
    degraded: list[ImpactEntry]
    unaffected: list[ImpactEntry]

    @classmethod
    def from_domain(cls, impact: core.Impact) -> Impact:
        def entries(items: list[core.ImpactEntry]) -> list[ImpactEntry]:
            return [ImpactEntry(service_id=e.service_id, path=list(e.path)) for e in items]

        return cls(
            service_id=impact.service_id,
            failed=entries(impact.failed),
            degraded=entries(impact.degraded),
            unaffected=entries(impact.unaffected),
        )


@strawberry.type
class RootCause:
    service_id: str
    root_causes: list[str]


@strawberry.type(description="The graph changed.")
class GraphChange:
    action: str
    version: int
    source: str | None
    target: str | None


@strawberry.type(description="No dependency between these services.")
class DependencyNotFoundError:
    message: str
    source: str
    target: str


@strawberry.type
class RemovedDependency:
    source: str
    target: str


DependencyResult = Annotated[
    Dependency | InvalidFieldError | UnavailableError, strawberry.union("DependencyResult")
]
RemoveDependencyResult = Annotated[
    RemovedDependency | DependencyNotFoundError | UnavailableError,
    strawberry.union("RemoveDependencyResult"),
]
