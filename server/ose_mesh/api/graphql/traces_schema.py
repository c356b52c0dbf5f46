"""GraphQL of what traces show: the drift from the declared graph, and accepting an
observed edge as declared (the same use cases as /api/v1/dependencies/drift)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from ose_mesh import core, domain
from ose_mesh.api.graphql.context import mesh_of
from ose_mesh.api.graphql.graph_types import (
    Dependency,
    DependencyNotFoundError,
    DependencyType,
    EdgeTraffic,
    ObservedDependency,
    Relationship,
)
from ose_mesh.api.graphql.types import InvalidFieldError, UnavailableError, invalid_or_unavailable
from ose_mesh.core.observations import MAX_WINDOW_MINUTES, Drift


@strawberry.type(description="An edge seen in traces and not declared.")
class UndeclaredDependency:
    edge: ObservedDependency
    source_registered: bool
    target_registered: bool


@strawberry.type(description="A declared edge not seen in the window, while its source was.")
class UnseenDependency:
    dependency: Dependency
    last_seen: datetime | None


@strawberry.type(description="A declared edge whose traffic contradicts its type or kind.")
class SuspectDependency:
    dependency: Dependency
    reason: str
    suggested_type: DependencyType | None
    observed_relationship: Relationship


@strawberry.type(description="The declared graph held against what traces show.")
class DependencyDrift:
    window_minutes: int
    undeclared: list[UndeclaredDependency]
    unseen: list[UnseenDependency]
    suspect: list[SuspectDependency]

    @classmethod
    def from_core(cls, drift: Drift) -> DependencyDrift:
        def declared(dependency: domain.Dependency, traffic: core.EdgeTraffic | None) -> Dependency:
            return Dependency.from_view(core.EdgeView(dependency, dependency.type.value, traffic))

        return cls(
            window_minutes=drift.window_minutes,
            undeclared=[
                UndeclaredDependency(
                    edge=ObservedDependency.from_view(e.edge),
                    source_registered=e.source_registered,
                    target_registered=e.target_registered,
                )
                for e in drift.undeclared
            ],
            unseen=[
                UnseenDependency(dependency=declared(e.dependency, None), last_seen=e.last_seen)
                for e in drift.unseen
            ],
            suspect=[
                SuspectDependency(
                    dependency=declared(e.dependency, e.traffic),
                    reason=e.reason,
                    suggested_type=e.suggested_type,
                    observed_relationship=e.observed_relationship,
                )
                for e in drift.suspect
            ],
        )


@strawberry.input(description="An edge seen in traces, to declare.")
class AcceptObservedInput:
    source: str
    target: str
    type: DependencyType = DependencyType.HARD
    relationship: Relationship | None = None
    description: str | None = None


AcceptResult = Annotated[
    Dependency | DependencyNotFoundError | InvalidFieldError | UnavailableError,
    strawberry.union("AcceptObservedResult"),
]


@strawberry.type
class TracesQuery:
    @strawberry.field(description="The declared graph held against what traces show.")
    async def dependency_drift(self, info: Info, window_minutes: int = 24 * 60) -> DependencyDrift:
        if not 1 <= window_minutes <= MAX_WINDOW_MINUTES:
            raise ValueError(
                f"windowMinutes must be from 1 to {MAX_WINDOW_MINUTES} (7 days), "
                f"got {window_minutes}"
            )
        drift = await mesh_of(info).observations.drift(window_minutes)
        return DependencyDrift.from_core(drift)

    @strawberry.field(description="What traces show of one edge, declared or not.")
    def edge_traffic(self, info: Info, source: str, target: str) -> EdgeTraffic | None:
        return EdgeTraffic.from_core(mesh_of(info).observations.traffic(source, target))


@strawberry.type
class TracesMutation:
    @strawberry.mutation(description="Declare an edge seen in traces (the spans' relationship).")
    async def accept_observed_dependency(
        self, info: Info, input: AcceptObservedInput
    ) -> AcceptResult:
        try:
            edge, _ = await mesh_of(info).observations.accept(
                input.source, input.target, input.type, input.relationship, input.description
            )
        except domain.DependencyNotFound as exc:
            return DependencyNotFoundError(
                message=exc.message, source=input.source, target=input.target
            )
        except domain.DomainError as exc:
            return invalid_or_unavailable(exc)
        return Dependency.from_view(edge)
