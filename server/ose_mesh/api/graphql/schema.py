"""The GraphQL schema: queries, mutations (expected errors as result types), subscriptions."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any, cast

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types import ExecutionContext, Info
from strawberry.utils.logging import StrawberryLogger

from ose_mesh import core, domain
from ose_mesh.api.graphql.bus_schema import BusMutation, BusQuery, BusSubscription
from ose_mesh.api.graphql.cluster_schema import ClusterQuery
from ose_mesh.api.graphql.context import mesh_of
from ose_mesh.api.graphql.descriptions import describe
from ose_mesh.api.graphql.graph_schema import GraphMutation, GraphQuery, GraphSubscription
from ose_mesh.api.graphql.maintenance_schema import MaintenanceMutation, MaintenanceQuery
from ose_mesh.api.graphql.notifications_schema import NotificationsMutation, NotificationsQuery
from ose_mesh.api.graphql.permissions import caused_by_caller, guards
from ose_mesh.api.graphql.traces_schema import TracesMutation, TracesQuery
from ose_mesh.api.graphql.types import (
    CheckType,
    Deregistered,
    DeregisterResult,
    Health,
    HealthStatus,
    HealthSummary,
    Heartbeat,
    HeartbeatMetrics,
    Service,
    ServiceResult,
    StatusChange,
    StatusCounts,
    error_result,
    not_found_or_unavailable,
)
from ose_mesh.core.pacing import paced

log = logging.getLogger(__name__)


@strawberry.type(description="A change to the set of services.")
class ServiceChange:
    action: str = strawberry.field(description="registered, updated or deregistered")
    service_id: str


@strawberry.input(description="What an HTTP check requires of an answer; all optional.")
class HttpAssertionsInput:
    status_codes: list[int] | None = None
    body_contains: str | None = None
    json_path: str | None = None
    json_equals: JSON | None = None
    max_response_ms: float | None = None

    def to_domain(self) -> domain.HttpAssertions:
        return domain.HttpAssertions(
            status_codes=tuple(self.status_codes or ()),
            body_contains=self.body_contains,
            json_path=self.json_path,
            json_equals=cast(Any, self.json_equals),
            max_response_ms=self.max_response_ms,
        )


@strawberry.input(description="A label: key and value.")
class LabelInput:
    key: str
    value: str


@strawberry.input(description="A service to register or update; unset fields keep their value.")
class ServiceInput:
    id: str
    name: str | None = None
    check_type: CheckType | None = None
    interval_seconds: float | None = None
    timeout_seconds: float | None = None
    max_failures: int | None = None
    probe_timeout_seconds: float | None = None
    recovery_successes: int | None = None
    latency_threshold_ms: float | None = None
    health_url: str | None = None
    host: str | None = None
    port: int | None = None
    grpc_service: str | None = None
    tls: bool | None = None
    cert_expiry_days: int | None = None
    assertions: HttpAssertionsInput | None = None
    trace_error_percent: float | None = None
    cluster: str | None = None
    public: bool | None = None
    labels: list[LabelInput] | None = None

    def to_spec(self) -> core.ServiceSpec:
        return core.ServiceSpec(
            service_id=self.id,
            service_name=self.name,
            check_type=self.check_type,
            interval_seconds=self.interval_seconds,
            timeout_seconds=self.timeout_seconds,
            max_failures=self.max_failures,
            probe_timeout_seconds=self.probe_timeout_seconds,
            recovery_successes=self.recovery_successes,
            latency_threshold_ms=self.latency_threshold_ms,
            health_url=self.health_url,
            host=self.host,
            port=self.port,
            grpc_service=self.grpc_service,
            tls=self.tls,
            cert_expiry_days=self.cert_expiry_days,
            assertions=self.assertions.to_domain() if self.assertions is not None else None,
            trace_error_percent=self.trace_error_percent,
            cluster=self.cluster,
            public=self.public,
            labels=None if self.labels is None else _labels(self.labels),
        )


def _labels(given: list[LabelInput]) -> dict[str, str]:
    labels = {label.key: label.value for label in given}
    if len(labels) < len(given):
        raise domain.InvalidField("labels", "each key at most once")
    return labels


@strawberry.type
class HealthQuery:
    @strawberry.field(description="Services sorted by id, filtered, then paged.")
    def services(
        self,
        info: Info,
        status: HealthStatus | None = None,
        cluster: str | None = None,
        search: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[Service]:
        if not 1 <= limit <= core.MAX_PAGE:
            raise ValueError(f"limit must be from 1 to {core.MAX_PAGE}, got {limit}")
        if offset < 0:
            raise ValueError(f"offset must not be negative, got {offset}")
        health = mesh_of(info).health
        found = health.page(
            status=status, cluster=cluster, search=search, limit=limit, offset=offset
        )
        causes = found.root_causes
        # An async iterator, not a list: graphql-core completes each service's fields as it
        # comes, so thousands of them are answered a step at a time (core/pacing.py). The
        # schema still says a list, which is what the client receives.
        return cast(
            "list[Service]",
            (
                Service.from_domain(health.view(s, causes.get(s.service.service_id, [])))
                async for s in paced(found.states)
            ),
        )

    @strawberry.field(description="One service, or null when no service has this id.")
    def service(self, info: Info, id: str) -> Service | None:
        try:
            return Service.from_domain(mesh_of(info).health.get(id))
        except domain.ServiceNotFound:
            return None

    @strawberry.field(description="Services per status over the last 24 h, every 15 minutes.")
    async def status_timeline(self, info: Info) -> list[StatusCounts]:
        points = await mesh_of(info).health.status_timeline()
        return [StatusCounts.from_domain(point) for point in points]

    @strawberry.field(description="Counts of services per status and the overall status.")
    def heartbeat_summary(self, info: Info) -> HealthSummary:
        return HealthSummary.from_domain(mesh_of(info).health.summary())


@strawberry.type
class HealthMutation:
    @strawberry.mutation(description="Register a service, or update it if the id is known.")
    async def register_service(self, info: Info, input: ServiceInput) -> ServiceResult:
        mesh = mesh_of(info)
        try:
            service, _ = await mesh.registry.register(input.to_spec())
        except domain.DomainError as exc:
            return error_result(exc)
        return Service.from_domain(mesh.health.get(service.service_id))

    @strawberry.mutation(description="Change a registered service.")
    async def update_service(self, info: Info, input: ServiceInput) -> ServiceResult:
        mesh = mesh_of(info)
        try:
            service = await mesh.registry.update(input.to_spec())
        except domain.DomainError as exc:
            return error_result(exc)
        return Service.from_domain(mesh.health.get(service.service_id))

    @strawberry.mutation(description="Stop monitoring a service and delete its history.")
    async def deregister_service(self, info: Info, id: str) -> DeregisterResult:
        try:
            service = await mesh_of(info).registry.deregister(id)
        except domain.DomainError as exc:
            return not_found_or_unavailable(exc)
        return Deregistered(id=service.service_id)

    @strawberry.mutation(description="Record a heartbeat pushed by the service itself.")
    async def record_heartbeat(
        self,
        info: Info,
        service_id: str,
        ok: bool = True,
        latency_ms: float | None = None,
        message: str | None = None,
    ) -> ServiceResult:
        mesh = mesh_of(info)
        if latency_ms is not None and not 0 <= latency_ms <= 3_600_000:
            return error_result(domain.InvalidField("latencyMs", "must be from 0 to 3600000"))
        if message is not None and len(message) > 1000:
            return error_result(domain.InvalidField("message", "must be at most 1000 characters"))
        try:
            await mesh.registry.beat(service_id, ok=ok, latency_ms=latency_ms, message=message)
        except domain.DomainError as exc:
            return error_result(exc)
        return Service.from_domain(mesh.health.get(service_id))


@strawberry.type
class HealthSubscription:
    @strawberry.subscription(description="Status transitions, of all services or of some.")
    async def service_status_changed(
        self, info: Info, service_ids: list[str] | None = None
    ) -> AsyncGenerator[StatusChange, None]:
        wanted = set(service_ids) if service_ids else None
        subscription = mesh_of(info).hub.subscribe(
            core.STATUS, accept=lambda change: wanted is None or change.service_id in wanted
        )
        try:
            async for change in subscription:
                yield StatusChange.from_domain(change)
        finally:
            subscription.close()

    @strawberry.subscription(description="Services registered, updated or deregistered.")
    async def services_changed(self, info: Info) -> AsyncGenerator[ServiceChange, None]:
        subscription = mesh_of(info).hub.subscribe(core.REGISTRY)
        try:
            async for event in subscription:
                yield ServiceChange(action=event.action, service_id=event.service_id)
        finally:
            subscription.close()

    @strawberry.subscription(description="Every heartbeat of one service as it happens.")
    async def heartbeats(self, info: Info, service_id: str) -> AsyncGenerator[Heartbeat, None]:
        mesh = mesh_of(info)
        mesh.health.require(service_id)  # unknown id: an error, not a silent stream
        subscription = mesh.hub.subscribe(
            core.HEARTBEAT, accept=lambda result: result.service_id == service_id
        )
        try:
            async for result in subscription:
                yield Heartbeat(
                    service_id=result.service_id,
                    ok=result.ok,
                    latency_ms=result.latency_ms,
                    message=result.message,
                    at=mesh.health.wall_time(result.at),
                )
        finally:
            subscription.close()


@strawberry.type
class Query(
    HealthQuery,
    GraphQuery,
    BusQuery,
    ClusterQuery,
    MaintenanceQuery,
    NotificationsQuery,
    TracesQuery,
):
    pass


@strawberry.type
class Mutation(
    HealthMutation,
    GraphMutation,
    BusMutation,
    MaintenanceMutation,
    NotificationsMutation,
    TracesMutation,
):
    pass


@strawberry.type
class Subscription(HealthSubscription, GraphSubscription, BusSubscription):
    pass


class MeshSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """A caller's mistake (a refused document, a bad argument) is logged at INFO in one
        line; anything else at ERROR with its traceback."""
        for error in errors:
            if caused_by_caller(error):
                log.info("GraphQL request refused: %s", error.message)
            else:
                StrawberryLogger.error(error, execution_context)


schema = MeshSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[Health, HeartbeatMetrics],
    extensions=guards(),
)
describe(schema._schema)  # one line for everything GraphiQL's docs show (descriptions.py)
