"""The results of graph queries and analyses: plain values, no graph library types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ose_mesh.domain import Dependency, HealthStatus, Relationship


class Direction(StrEnum):
    DEPENDENCIES = "dependencies"  # what the service needs (Envoy: upstream)
    DEPENDENTS = "dependents"  # what needs the service (Envoy: downstream)
    BOTH = "both"


DIRECTION_ALIASES = {"upstream": Direction.DEPENDENCIES, "downstream": Direction.DEPENDENTS}


@dataclass(frozen=True, slots=True)
class Reached:
    """A service found by a traversal, how far it is and the edge that reached it."""

    service_id: str
    distance: int
    via: Dependency


@dataclass(frozen=True, slots=True)
class Cycle:
    """One strongly connected component, with one cycle through it in edge order."""

    services: tuple[str, ...]  # a -> b -> c -> (back to a)
    members: tuple[str, ...]  # every service of the component, sorted


@dataclass(frozen=True, slots=True)
class Hub:
    service_id: str
    degree: int
    in_degree: int
    out_degree: int
    betweenness: float


@dataclass(frozen=True, slots=True)
class ImpactEntry:
    service_id: str
    path: tuple[str, ...]  # from the failed service to this one, following dependents


@dataclass(frozen=True, slots=True)
class Impact:
    service_id: str
    failed: list[ImpactEntry] = field(default_factory=list)
    degraded: list[ImpactEntry] = field(default_factory=list)
    unaffected: list[ImpactEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GraphSummary:
    total_services: int
    total_dependencies: int
    hub_services: list[str]
    isolated_services: list[str]
    circular_dependencies: list[list[str]]
    critical_path: list[str]
    clusters: dict[str, list[str]]
    average_dependencies: float


@dataclass(frozen=True, slots=True)
class Node:
    service_id: str
    cluster: str | None
    monitored: bool


# -- what readers are given: the graph joined with each service's name and live status -----


@dataclass(frozen=True, slots=True)
class NodeView:
    service_id: str
    name: str
    status: HealthStatus
    cluster: str | None
    monitored: bool


@dataclass(frozen=True, slots=True)
class TrafficWindow:
    """Calls seen in traces over one window (the last 5 minutes or the last hour)."""

    calls: int
    rate: float  # calls per second
    error_rate: float  # 0..1
    p50_ms: float | None
    p95_ms: float | None
    failed_calls: int
    propagated: int  # failed calls whose caller's own span failed too


@dataclass(frozen=True, slots=True)
class EdgeTraffic:
    """What traces show of an edge, added up over every replica."""

    relationship: Relationship  # as the spans say
    first_seen: datetime
    last_seen: datetime
    last_5m: TrafficWindow
    last_1h: TrafficWindow


@dataclass(frozen=True, slots=True)
class EdgeView:
    """A dependency as shown: `type` is its declared type, or "circular" inside a cycle.
    `traffic` is what traces show of it, if they show it."""

    dependency: Dependency
    type: str
    traffic: EdgeTraffic | None = None

    @property
    def origin(self) -> str:
        return "both" if self.traffic is not None else "declared"

    @property
    def source(self) -> str:
        return self.dependency.source

    @property
    def target(self) -> str:
        return self.dependency.target


@dataclass(frozen=True, slots=True)
class ReachedView:
    service_id: str
    distance: int
    via: EdgeView


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    service_id: str
    direction: Direction
    depth: int | None  # None: all the way
    dependencies: list[ReachedView] | None  # None when not asked for
    dependents: list[ReachedView] | None


@dataclass(frozen=True, slots=True)
class ObservedEdgeView:
    """An edge seen in traces and not declared (origin "observed")."""

    source: str
    target: str
    traffic: EdgeTraffic

    origin = "observed"


@dataclass(frozen=True, slots=True)
class GraphView:
    summary: GraphSummary
    nodes: list[NodeView]
    edges: list[EdgeView]
    cycles: list[Cycle]
    observed: list[ObservedEdgeView] = field(default_factory=list)
