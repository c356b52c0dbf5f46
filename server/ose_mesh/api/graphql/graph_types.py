"""GraphQL types of the dependency graph, mapped from the core's values."""

from __future__ import annotations

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


@strawberry.type(description="Edge A -> B: A depends on B.")
class Dependency:
    source: str
    target: str
    type: EdgeType
    declared_type: DependencyType
    relationship: Relationship
    description: str | None

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
