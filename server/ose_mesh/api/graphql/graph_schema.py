"""GraphQL queries, mutations and subscription of the dependency graph."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from ose_mesh import core, domain
from ose_mesh.api.graphql.context import mesh_of
from ose_mesh.api.graphql.graph_types import (
    Cluster,
    Cycle,
    Dependency,
    DependencyGraph,
    DependencyNotFoundError,
    DependencyResult,
    DependencyType,
    Direction,
    GraphChange,
    GraphNode,
    Hub,
    Impact,
    ObservedDependency,
    ReachedService,
    Relationship,
    RemovedDependency,
    RemoveDependencyResult,
    RootCause,
    ServiceDependencies,
)
from ose_mesh.api.graphql.types import UnavailableError, invalid_or_unavailable


@strawberry.input(description="A dependency to declare: source depends on target.")
class DependencyInput:
    source: str
    target: str
    type: DependencyType = DependencyType.HARD
    relationship: Relationship = Relationship.SYNC_API
    description: str | None = None


@strawberry.type
class GraphQuery:
    @strawberry.field(description="The whole dependency graph and its analysis.")
    async def dependency_graph(self, info: Info) -> DependencyGraph:
        view = await mesh_of(info).dependencies.view()
        summary = view.summary
        return DependencyGraph(
            total_services=summary.total_services,
            total_dependencies=summary.total_dependencies,
            hub_services=summary.hub_services,
            isolated_services=summary.isolated_services,
            circular_dependencies=summary.circular_dependencies,
            critical_path=summary.critical_path,
            clusters=[Cluster(name=n, services=s) for n, s in summary.clusters.items()],
            average_dependencies=summary.average_dependencies,
            services=[GraphNode.from_view(n) for n in view.nodes],
            dependencies=[Dependency.from_view(e) for e in view.edges],
            observed_dependencies=[ObservedDependency.from_view(e) for e in view.observed],
            cycles=[Cycle(services=list(c.services), members=list(c.members)) for c in view.cycles],
        )

    @strawberry.field(description="Hub services with degree and betweenness.")
    async def hubs(self, info: Info) -> list[Hub]:
        return [
            Hub(
                service_id=h.service_id,
                degree=h.degree,
                in_degree=h.in_degree,
                out_degree=h.out_degree,
                betweenness=h.betweenness,
            )
            for h in await mesh_of(info).dependencies.hubs()
        ]

    @strawberry.field(description="What a service needs and what needs it; depth null = all.")
    def service_dependencies(
        self,
        info: Info,
        id: str,
        direction: Direction = Direction.BOTH,
        depth: int | None = 1,
    ) -> ServiceDependencies:
        if depth is not None and depth < 1:
            raise ValueError(f"depth must be a positive whole number or null (all), got {depth}")
        chosen = core.DIRECTION_ALIASES.get(direction.value) or core.Direction(direction.value)
        found = mesh_of(info).dependencies.neighbourhood(id, chosen, depth)

        def reached(side: list[core.ReachedView] | None) -> list[ReachedService] | None:
            if side is None:
                return None
            return [
                ReachedService(
                    service_id=r.service_id, distance=r.distance, via=Dependency.from_view(r.via)
                )
                for r in side
            ]

        return ServiceDependencies(
            service_id=id,
            dependencies=reached(found.dependencies),
            dependents=reached(found.dependents),
        )

    @strawberry.field(description="What a failure of this service does to the others.")
    def impact(self, info: Info, service_id: str) -> Impact:
        return Impact.from_domain(mesh_of(info).dependencies.impact(service_id))

    @strawberry.field(description="For every non-healthy service, where its trouble starts.")
    def root_causes(self, info: Info) -> list[RootCause]:
        causes = mesh_of(info).dependencies.root_causes()
        return [RootCause(service_id=sid, root_causes=c) for sid, c in sorted(causes.items())]


@strawberry.type
class GraphMutation:
    @strawberry.mutation(description="Declare a dependency (again: update it).")
    async def add_dependency(self, info: Info, input: DependencyInput) -> DependencyResult:
        try:
            edge, _ = await mesh_of(info).dependencies.add(
                domain.Dependency(
                    input.source, input.target, input.type, input.relationship, input.description
                )
            )
        except domain.DomainError as exc:
            return invalid_or_unavailable(exc)
        return Dependency.from_view(edge)

    @strawberry.mutation(description="Remove a dependency.")
    async def remove_dependency(
        self, info: Info, source: str, target: str
    ) -> RemoveDependencyResult:
        try:
            removed = await mesh_of(info).dependencies.remove(source, target)
        except domain.DependencyNotFound as exc:
            return DependencyNotFoundError(message=exc.message, source=source, target=target)
        except domain.ServiceNotFound as exc:
            return DependencyNotFoundError(message=exc.message, source=source, target=target)
        except domain.Unavailable as exc:
            return UnavailableError(message=exc.message)
        return RemovedDependency(source=removed.source, target=removed.target)


@strawberry.type
class GraphSubscription:
    @strawberry.subscription(description="Every change of the dependency graph.")
    async def graph_changed(self, info: Info) -> AsyncGenerator[GraphChange, None]:
        subscription = mesh_of(info).hub.subscribe(core.GRAPH)
        try:
            async for change in subscription:
                yield GraphChange(
                    action=change.action,
                    version=change.version,
                    source=change.source,
                    target=change.target,
                )
        finally:
            subscription.close()
