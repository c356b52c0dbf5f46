"""GraphQL types, mapped explicitly from the core's read models (`from_domain`)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from ose_mesh import core, domain
from ose_mesh.api.graphql.context import mesh_of
from ose_mesh.domain.redaction import safe_url

# The domain enums are the GraphQL enums (registered here, so the domain stays plain).
strawberry.enum(domain.HealthStatus, description="A service's heartbeat status.")
strawberry.enum(domain.CheckType, description="How a service is checked.")
HealthStatus = domain.HealthStatus
CheckType = domain.CheckType


@strawberry.type(description="What an HTTP check requires of an answer.")
class HttpAssertions:
    status_codes: list[int]
    body_contains: str | None
    json_path: str | None
    json_equals: JSON | None
    max_response_ms: float | None

    @classmethod
    def from_domain(cls, assertions: domain.HttpAssertions) -> HttpAssertions:
        return cls(
            status_codes=list(assertions.status_codes),
            body_contains=assertions.body_contains,
            json_path=assertions.json_path,
            json_equals=cast(JSON, assertions.json_equals),
            max_response_ms=assertions.max_response_ms,
        )


@strawberry.type(description="How and how often a service is checked.")
class CheckConfig:
    check_type: CheckType
    interval_seconds: float
    timeout_seconds: float
    max_failures: int
    probe_timeout_seconds: float
    recovery_successes: int
    latency_threshold_ms: float | None
    health_url: str | None
    host: str | None
    port: int | None
    grpc_service: str | None
    tls: bool
    cert_expiry_days: int
    assertions: HttpAssertions | None
    trace_error_percent: float | None

    @classmethod
    def from_domain(cls, check: domain.CheckConfig) -> CheckConfig:
        return cls(
            check_type=check.check_type,
            interval_seconds=check.interval_seconds,
            timeout_seconds=check.timeout_seconds,
            max_failures=check.max_failures,
            probe_timeout_seconds=check.probe_timeout_seconds,
            recovery_successes=check.recovery_successes,
            latency_threshold_ms=check.latency_threshold_ms,
            health_url=safe_url(check.health_url),
            host=check.host,
            port=check.port,
            grpc_service=check.grpc_service,
            tls=check.tls,
            cert_expiry_days=check.cert_expiry_days,
            assertions=HttpAssertions.from_domain(check.assertions) if check.assertions else None,
            trace_error_percent=check.trace_error_percent,
        )


@strawberry.type(description="Heartbeat counters and latency of one service.")
class HeartbeatMetrics:
    heartbeat_count: int
    missed_heartbeats: int
    consecutive_failures: int
    average_latency_ms: float | None
    max_latency_ms: float | None
    min_latency_ms: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p99_latency_ms: float | None
    uptime_seconds: float
    uptime_percentage: float
    uptime_24h: float | None
    uptime_7d: float | None
    uptime_30d: float | None
    last_heartbeat: datetime | None
    seconds_since_last: float | None
    flap_count: int = strawberry.field(description="Status transitions in the last hour.")
    cert_days_left: float | None = strawberry.field(
        description="Days until the TLS certificate the last check saw expires (TLS checks)."
    )
    recent_latencies_ms: list[float] = strawberry.field(
        description="Recent successful latencies, oldest first (for sparklines)."
    )
    recent_checks: str = strawberry.field(
        description="The last checks' outcomes, oldest first, one character each: '+' "
        "succeeded, '-' answered with an error, 'x' no answer (Health.checks has details)."
    )

    @classmethod
    def from_domain(cls, metrics: core.HeartbeatMetrics) -> HeartbeatMetrics:
        return cls(**{name: getattr(metrics, name) for name in metrics.__slots__})


@strawberry.enum(description="How a check ended.")
class CheckOutcome(Enum):
    OK = "ok"
    FAILED = "failed"
    NO_ANSWER = "no_answer"


@strawberry.type(description="One of a service's last checks.")
class Check:
    at: datetime
    outcome: CheckOutcome
    latency_ms: float | None
    message: str | None = strawberry.field(description="Why it did not succeed, if it did not.")


@strawberry.type(description="The maintenance window a service is in now.")
class MaintenanceNow:
    window_id: str
    reason: str
    ends_at: datetime


@strawberry.type(description="A label of a service.")
class Label:
    key: str
    value: str


@strawberry.type(description="A service's current health.")
class Health:
    service_id: strawberry.Private[str]
    status: HealthStatus
    is_alive: bool
    since: datetime
    reason: str
    metrics: HeartbeatMetrics
    root_causes: list[str] = strawberry.field(
        description="Non-healthy services this one depends on where the trouble starts."
    )
    in_maintenance: bool = False
    maintenance: MaintenanceNow | None = None

    @strawberry.field(description="Its last checks, oldest first (the strip of beats).")
    def checks(self, info: Info) -> list[Check]:
        try:
            found = mesh_of(info).health.checks(self.service_id)
        except domain.ServiceNotFound:
            return []  # deregistered while the answer was being made
        return [
            Check(
                at=check.at,
                outcome=CheckOutcome(check.outcome),
                latency_ms=check.latency_ms,
                message=check.message,
            )
            for check in found
        ]


@strawberry.type(description="A status transition.")
class StatusChange:
    service_id: str
    previous: HealthStatus
    current: HealthStatus
    at: datetime
    reason: str
    root_causes: list[str]

    @classmethod
    def from_domain(cls, change: domain.StatusChange) -> StatusChange:
        return cls(
            service_id=change.service_id,
            previous=change.previous,
            current=change.current,
            at=change.at,
            reason=change.reason,
            root_causes=list(change.root_causes),
        )


@strawberry.enum(description="How far back a chart goes.")
class ChartWindow(Enum):
    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"


@strawberry.type(description="One bucket of a service's latency and uptime chart.")
class LatencyPoint:
    at: datetime
    checks: int
    uptime_percentage: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None


@strawberry.type(description="A monitored service.")
class Service:
    id: str
    name: str
    cluster: str | None
    demo: bool = strawberry.field(description="True for services created by demo mode.")
    public: bool = strawberry.field(
        description="Shown on the status page (/status), which needs no token."
    )
    registered_at: datetime | None
    check: CheckConfig
    health: Health
    labels: list[Label]

    @strawberry.field(description="Status transitions, newest first.")
    async def history(self, info: Info, limit: int = 100) -> list[StatusChange]:
        if not 1 <= limit <= core.MAX_HISTORY:
            raise ValueError(f"limit must be from 1 to {core.MAX_HISTORY}")
        changes = await mesh_of(info).health.history(self.id, limit)
        return [StatusChange.from_domain(change) for change in changes]

    @strawberry.field(description="Latency and uptime over a window, from the rollups.")
    async def latency_history(
        self, info: Info, window: ChartWindow = ChartWindow.HOUR
    ) -> list[LatencyPoint]:
        points = await mesh_of(info).health.latency_history(self.id, window.value)
        return [
            LatencyPoint(
                at=point.at,
                checks=point.checks,
                uptime_percentage=point.uptime_percentage,
                p50_latency_ms=point.p50_latency_ms,
                p95_latency_ms=point.p95_latency_ms,
            )
            for point in points
        ]

    @classmethod
    def from_domain(cls, view: core.ServiceHealth) -> Service:
        service = view.service
        return cls(
            id=service.service_id,
            name=service.service_name,
            cluster=service.cluster,
            demo=service.demo,
            public=service.public,
            registered_at=service.registered_at,
            check=CheckConfig.from_domain(service.check),
            health=Health(
                service_id=service.service_id,
                status=view.status,
                is_alive=view.is_alive,
                since=view.status_since,
                reason=view.reason,
                root_causes=view.root_causes,
                metrics=HeartbeatMetrics.from_domain(view.metrics),
                in_maintenance=view.maintenance is not None,
                maintenance=None
                if view.maintenance is None or view.maintenance_ends is None
                else MaintenanceNow(
                    window_id=view.maintenance.window_id,
                    reason=view.maintenance.reason,
                    ends_at=view.maintenance_ends,
                ),
            ),
            labels=[Label(key=key, value=value) for key, value in service.labels],
        )


@strawberry.type(description="How many services had each status at one moment.")
class StatusCounts:
    at: datetime
    healthy: int
    degraded: int
    critical: int
    dead: int
    unknown: int

    @classmethod
    def from_domain(cls, point: core.StatusCounts) -> StatusCounts:
        return cls(at=point.at, **{status.value: count for status, count in point.counts.items()})


@strawberry.type(description="Counts of services per status.")
class HealthSummary:
    total: int
    healthy: int
    degraded: int
    critical: int
    dead: int
    unknown: int
    overall_status: HealthStatus
    average_uptime: float | None

    @classmethod
    def from_domain(cls, summary: core.HealthSummary) -> HealthSummary:
        counts = {status.value: count for status, count in summary.counts.items()}
        return cls(
            total=summary.total,
            overall_status=summary.overall_status,
            average_uptime=summary.average_uptime,
            **counts,
        )


@strawberry.type(description="One heartbeat: a probe result or a pushed beat.")
class Heartbeat:
    service_id: str
    ok: bool
    latency_ms: float | None
    message: str | None
    at: datetime


# -- expected errors, part of the schema --------------------------------------------------


@strawberry.type(description="No service has this id.")
class NotFoundError:
    message: str
    service_id: str


@strawberry.type(description="An input field breaks a rule; `field` names it.")
class InvalidFieldError:
    message: str
    field: str


@strawberry.type(description="The database cannot be reached; try again shortly.")
class UnavailableError:
    message: str


@strawberry.type(description="The service was removed.")
class Deregistered:
    id: str


ServiceResult = Annotated[
    Service | NotFoundError | InvalidFieldError | UnavailableError,
    strawberry.union("ServiceResult"),
]
DeregisterResult = Annotated[
    Deregistered | NotFoundError | UnavailableError, strawberry.union("DeregisterResult")
]


# Each union lists every error its mutation can meet; an error outside it is a bug, raised
# to the view, which logs it with its traceback and masks it for the client.


def error_result(exc: domain.DomainError) -> NotFoundError | InvalidFieldError | UnavailableError:
    if isinstance(exc, domain.ServiceNotFound):
        return NotFoundError(message=exc.message, service_id=exc.service_id)
    return invalid_or_unavailable(exc)


def invalid_or_unavailable(exc: domain.DomainError) -> InvalidFieldError | UnavailableError:
    match exc:
        case domain.InvalidField():
            return InvalidFieldError(message=exc.message, field=exc.field)
        case domain.StorageRefused():  # the database refused a value the caller sent
            return InvalidFieldError(message=exc.message, field="input")
        case domain.Unavailable():
            return UnavailableError(message=exc.message)
    raise exc


def not_found_or_unavailable(exc: domain.DomainError) -> NotFoundError | UnavailableError:
    match exc:
        case domain.ServiceNotFound():
            return NotFoundError(message=exc.message, service_id=exc.service_id)
        case domain.Unavailable():
            return UnavailableError(message=exc.message)
    raise exc
