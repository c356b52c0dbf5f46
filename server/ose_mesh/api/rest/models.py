"""Every REST shape, written once: request bodies as pydantic models (they validate what
comes in), answers as typed dicts (mypy checks every route builds them exactly; building
one costs nothing, which matters for 10,000 services in one answer). The OpenAPI document
is generated from these (api/openapi.py), so it cannot drift from what the routes answer;
tests/api/test_openapi.py validates real answers against it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from typing_extensions import TypedDict

from ose_mesh.core import ServiceSpec
from ose_mesh.core.broker import EVENTS
from ose_mesh.core.maintenance import WindowSpec
from ose_mesh.core.notifications import TargetSpec
from ose_mesh.domain import (
    CheckType,
    Dependency,
    DependencyType,
    EventMessage,
    HealthStatus,
    HttpAssertions,
    Relationship,
    exact_priority,
    parse_dependency_type,
    parse_relationship,
)
from ose_mesh.domain.notifications import NotificationRule
from ose_mesh.domain.service import MAX_COUNT, SERVICE_ID_PATTERN

ServiceId = Annotated[str, Field(pattern=SERVICE_ID_PATTERN.pattern)]
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
# The type shown for an edge: its declared type, or "circular" inside a cycle.
EdgeType = Annotated[
    str,
    WithJsonSchema({"type": "string", "enum": [*(t.value for t in DependencyType), "circular"]}),
]

# -- requests ------------------------------------------------------------------------------


class AssertionsBody(BaseModel):
    """What an HTTP check requires of an answer (domain/assertions.py); all optional."""

    model_config = ConfigDict(extra="forbid")

    status_codes: Annotated[
        list[Annotated[int, Field(ge=100, le=599)]] | None,
        Field(max_length=20, description="Accepted status codes; without them, any 2xx or 3xx."),
    ] = None
    body_contains: Annotated[
        str | None, Field(min_length=1, max_length=500, description="Text the body must contain.")
    ] = None
    json_path: Annotated[
        str | None,
        Field(
            max_length=500,
            description="A JSONPath ($.status) that must find a value in the JSON body.",
        ),
    ] = None
    json_equals: Annotated[
        StrictBool | StrictInt | StrictFloat | StrictStr | None,
        Field(description="The value json_path must find first."),
    ] = None
    max_response_ms: Annotated[float | None, Field(gt=0, le=3_600_000)] = None

    def to_domain(self) -> HttpAssertions:
        return HttpAssertions.from_json(self.model_dump())


class RegisterBody(BaseModel):
    """Fields of POST /api/v1/heartbeat/register (the reference's, plus check details)."""

    model_config = ConfigDict(extra="forbid")

    # The constraints repeat the domain's rules so the OpenAPI document shows them; the
    # domain (CheckConfig.validated) stays the authority, with the cross-field rules.
    service_id: ServiceId
    service_name: Annotated[str | None, Field(max_length=200)] = None
    check_type: Literal["http", "tcp", "push", "grpc", "traces"] | None = None
    interval_seconds: Annotated[float | None, Field(ge=1, le=86_400)] = None
    timeout_seconds: Annotated[float | None, Field(gt=0, le=30 * 86_400)] = None
    max_failures: Annotated[int | None, Field(ge=1, le=MAX_COUNT)] = None
    probe_timeout_seconds: Annotated[float | None, Field(gt=0, le=300)] = None
    recovery_successes: Annotated[int | None, Field(ge=1, le=MAX_COUNT)] = None
    latency_threshold_ms: Annotated[float | None, Field(gt=0, le=3_600_000)] = None
    health_url: Annotated[str | None, Field(max_length=2048)] = None
    host: Annotated[str | None, Field(max_length=255)] = None
    port: Annotated[int | None, Field(ge=1, le=65535)] = None
    grpc_service: Annotated[
        str | None,
        Field(max_length=200, description="gRPC checks: the service name asked of Health/Check."),
    ] = None
    tls: Annotated[bool | None, Field(description="gRPC checks: connect with TLS.")] = None
    cert_expiry_days: Annotated[
        int | None,
        Field(
            ge=0,
            le=3650,
            description="TLS checks turn degraded this many days before the certificate "
            "expires (default 14; 0: never).",
        ),
    ] = None
    assertions: Annotated[
        AssertionsBody | None,
        Field(description="HTTP checks: what an answer must satisfy; {} removes them."),
    ] = None
    trace_error_percent: Annotated[
        float | None,
        Field(
            gt=0,
            le=100,
            description="traces checks: the share of failed server spans (%) over which a "
            "check fails (default 5).",
        ),
    ] = None
    cluster: Annotated[str | None, Field(max_length=200)] = None
    labels: Annotated[
        dict[str, str] | None,
        Field(
            max_length=32,
            description="key: value labels (team: payments) that maintenance windows select "
            "by; given, they replace the service's labels",
        ),
    ] = None
    public: Annotated[
        bool | None,
        Field(description="Shown on the status page (/status), which needs no token."),
    ] = None

    def to_spec(self) -> ServiceSpec:
        values = self.model_dump(exclude={"assertions"})
        check_type = values.pop("check_type")
        return ServiceSpec(
            check_type=CheckType(check_type) if check_type else None,
            assertions=self.assertions.to_domain() if self.assertions is not None else None,
            **values,
        )


def _iso_time(value: Any) -> Any:
    """JSON has no time type: an ISO 8601 string is read as one (bodies are validated
    strictly, where pydantic would refuse any string)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"must be an ISO 8601 time such as 2026-12-01T22:00:00Z, got {value!r}"
            ) from None
    return value


Time = Annotated[AwareDatetime, BeforeValidator(_iso_time)]


class MaintenanceBody(BaseModel):
    """A maintenance window: what it covers (services, a cluster, a label) and when."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)]
    created_by: Annotated[str, Field(min_length=1, max_length=500)] = "api"
    service_ids: Annotated[list[ServiceId], Field(max_length=1000)] = Field(default_factory=list)
    cluster: Annotated[str | None, Field(max_length=200)] = None
    label: Annotated[str | None, Field(max_length=300, description="key=value")] = None
    starts_at: Annotated[Time | None, Field(description="With a time zone; default: now")] = None
    ends_at: Time | None = None
    duration_minutes: Annotated[
        float | None, Field(gt=0, le=527_040, description="Instead of ends_at")
    ] = None
    weekly: Annotated[
        bool, Field(description="Comes back at the same time every week until ended")
    ] = False

    def to_spec(self) -> WindowSpec:
        return WindowSpec(
            reason=self.reason,
            created_by=self.created_by,
            service_ids=tuple(self.service_ids),
            cluster=self.cluster,
            label=self.label,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            duration_minutes=self.duration_minutes,
            weekly=self.weekly,
        )


PageableStatus = Literal["degraded", "critical", "dead"]


class NotificationTargetBody(BaseModel):
    """A notification target: where (an Apprise URL or an http(s) webhook) and its rule."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: Annotated[
        str,
        Field(
            max_length=2048,
            description="An Apprise URL (slack://…, mailto://…, ntfy://…, json://…) or an "
            "http(s) URL for the mesh's JSON webhook. A secret: answered with it hidden.",
        ),
    ]
    statuses: Annotated[
        list[PageableStatus],
        Field(min_length=1, description="The statuses that notify (default critical, dead)"),
    ] = Field(default_factory=lambda: list[PageableStatus](["critical", "dead"]))
    recoveries: Annotated[bool, Field(description="Tell when it is healthy again")] = True
    min_minutes: Annotated[
        float, Field(ge=0, le=10_080, description="Time in the new status before sending")
    ] = 0
    repeat_minutes: Annotated[
        float, Field(ge=0, le=10_080, description="Remind while it stays there; 0: never")
    ] = 0
    service_ids: Annotated[list[ServiceId], Field(max_length=1000)] = Field(default_factory=list)
    clusters: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=1000)] = (
        Field(default_factory=list)
    )
    labels: Annotated[
        list[Annotated[str, Field(max_length=300)]],
        Field(max_length=1000, description="key=value each; none of the three: every service"),
    ] = Field(default_factory=list)

    def to_spec(self) -> TargetSpec:
        rule = NotificationRule(
            service_ids=tuple(self.service_ids),
            clusters=tuple(self.clusters),
            labels=tuple(self.labels),
            statuses=tuple(HealthStatus(status) for status in self.statuses),
            recoveries=self.recoveries,
            min_minutes=self.min_minutes,
            repeat_minutes=self.repeat_minutes,
        )
        return TargetSpec(self.name, self.url, rule)


class BeatBody(BaseModel):
    """Fields of POST /api/v1/heartbeat/{service_id}/beat; all optional."""

    model_config = ConfigDict(extra="forbid")

    ok: bool = True
    latency_ms: Annotated[float | None, Field(ge=0, le=3_600_000)] = None
    message: Annotated[str | None, Field(max_length=1000)] = None


class DependencyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The enums are shown in the OpenAPI document; parsing stays ours, so a wrong value gets
    # a message listing the allowed ones.
    source: ServiceId
    target: ServiceId
    type: Annotated[str, Field(json_schema_extra={"enum": [t.value for t in DependencyType]})] = (
        DependencyType.HARD.value
    )
    relationship: Annotated[str, Field(json_schema_extra={"enum": [r.value for r in Relationship]})]
    description: str | None = Field(default=None, max_length=1000)

    def to_domain(self) -> Dependency:
        return Dependency(
            source=self.source,
            target=self.target,
            type=parse_dependency_type(self.type),
            relationship=parse_relationship(self.relationship),
            description=self.description,
        )


class AcceptBody(BaseModel):
    """Declare an edge seen in traces: its type, and its relationship unless the spans'."""

    model_config = ConfigDict(extra="forbid")

    source: ServiceId
    target: ServiceId
    type: Annotated[str, Field(json_schema_extra={"enum": [t.value for t in DependencyType]})] = (
        DependencyType.HARD.value
    )
    relationship: (
        Annotated[str, Field(json_schema_extra={"enum": [r.value for r in Relationship]})] | None
    ) = None
    description: str | None = Field(default=None, max_length=1000)


NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class PublishBody(BaseModel):
    """The reference's publish body, plus correlation_id and metadata."""

    model_config = ConfigDict(extra="forbid")

    exchange: Annotated[str, StringConstraints(max_length=255)] = EVENTS
    event_type: NonEmpty
    source_service: NonEmpty
    payload: dict[str, Any] = Field(default_factory=dict)
    routing_key: str | None = None
    priority: int = Field(default=5, ge=0, le=9)
    correlation_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("routing_key")
    @classmethod
    def _short_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) > 255:
            raise ValueError("must be at most 255 bytes (AMQP's limit)")
        return value

    def to_event(self) -> EventMessage:
        return EventMessage(
            event_type=self.event_type,
            source_service=self.source_service,
            payload=self.payload,
            priority=exact_priority(self.priority),
            correlation_id=self.correlation_id,
            metadata=self.metadata,
        )


# -- answers: heartbeat ---------------------------------------------------------------------


class Error(TypedDict):
    error: str
    detail: str
    field: NotRequired[str]
    service_id: NotRequired[str]
    exchange: NotRequired[str]
    problems: NotRequired[list[dict[str, Any]]]


class Metrics(TypedDict):
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
    last_heartbeat: Timestamp | None
    seconds_since_last: float | None
    flap_count: int
    cert_days_left: float | None


class CheckConfig(TypedDict):
    interval_seconds: float
    timeout_seconds: float
    max_failures: int
    check_type: CheckType
    probe_timeout_seconds: float
    recovery_successes: int
    latency_threshold_ms: float | None
    health_url: str | None
    host: str | None
    port: int | None
    grpc_service: str | None
    tls: bool
    cert_expiry_days: int
    assertions: dict[str, Any] | None
    trace_error_percent: float | None


class MaintenanceNow(TypedDict):
    window_id: str
    reason: str
    ends_at: Timestamp


class MaintenanceWindow(TypedDict):
    window_id: str
    reason: str
    created_by: str
    created_at: Timestamp | None
    service_ids: list[str]
    cluster: str | None
    label: str | None
    starts_at: Timestamp
    ends_at: Timestamp
    weekly: bool
    ended_at: Timestamp | None
    on_now: bool
    next_start: Timestamp | None
    covers: list[str]


class ServiceHealth(TypedDict):
    service_id: str
    service_name: str
    status: HealthStatus
    is_alive: bool
    status_since: Timestamp | None
    reason: str
    root_causes: list[str]
    cluster: str | None
    demo: bool
    public: bool
    labels: dict[str, str]
    in_maintenance: bool
    maintenance: MaintenanceNow | None
    metrics: Metrics
    config: CheckConfig
    beat_token: NotRequired[
        Annotated[
            str,
            Field(
                description="In the answer to a registration when tokens are on: the service "
                "may push its beats with it instead of a write token."
            ),
        ]
    ]


class StatusChange(TypedDict):
    service_id: str
    previous: HealthStatus
    current: HealthStatus
    at: Timestamp
    reason: str
    root_causes: list[str]


class Beat(TypedDict):
    service_id: str
    status: HealthStatus
    is_alive: bool
    heartbeat_count: int


class Summary(TypedDict):
    total: int
    unknown: int
    healthy: int
    degraded: int
    critical: int
    dead: int
    overall_status: HealthStatus
    average_uptime: float | None


class Deregistered(TypedDict):
    deregistered: str


# -- answers: dependencies -----------------------------------------------------------------


class NotificationRuleAnswer(TypedDict):
    service_ids: list[str]
    clusters: list[str]
    labels: list[str]
    statuses: list[HealthStatus]
    recoveries: bool
    min_minutes: float
    repeat_minutes: float


class NotificationTarget(TypedDict):
    target_id: str
    name: str
    kind: str
    url: Annotated[str, Field(description="With its secrets hidden")]
    source: Literal["api", "file"]
    rule: NotificationRuleAnswer
    delivered: int
    failed: int
    last_error: str | None
    last_sent_at: Timestamp | None


class TestDelivery(TypedDict):
    delivered: bool
    error: str | None


class TargetDeleted(TypedDict):
    deleted: str


class WindowDeleted(TypedDict):
    deleted: str


class TrafficWindow(TypedDict):
    calls: int
    rate: float
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    failed_calls: int
    propagated: int


class EdgeTraffic(TypedDict):
    relationship: Relationship
    first_seen: Timestamp
    last_seen: Timestamp
    last_5m: TrafficWindow
    last_1h: TrafficWindow


Origin = Literal["declared", "observed", "both"]


class Edge(TypedDict):
    source: str
    target: str
    type: EdgeType
    declared_type: DependencyType
    relationship: Relationship
    description: str | None
    origin: Origin
    traffic: EdgeTraffic | None


class ObservedEdge(TypedDict):
    source: str
    target: str
    origin: Origin
    relationship: Relationship
    traffic: EdgeTraffic


class UndeclaredEdge(ObservedEdge):
    source_registered: bool
    target_registered: bool


class UnseenEdge(TypedDict):
    dependency: Edge
    last_seen: Timestamp | None


class SuspectEdge(TypedDict):
    dependency: Edge
    reason: str
    suggested_type: DependencyType | None
    observed_relationship: Relationship


class OtlpStatus(TypedDict):
    """google.rpc.Status in JSON, as OTLP answers a refused export (in protobuf for a
    protobuf request)."""

    code: int
    message: str


class Drift(TypedDict):
    window_minutes: int
    undeclared: list[UndeclaredEdge]
    unseen: list[UnseenEdge]
    suspect: list[SuspectEdge]


class Node(TypedDict):
    id: str
    name: str
    status: HealthStatus
    cluster: str | None
    monitored: bool


class Graph(TypedDict):
    total_services: int
    total_dependencies: int
    hub_services: list[str]
    isolated_services: list[str]
    circular_dependencies: list[list[str]]
    critical_path: list[str]
    clusters: dict[str, list[str]]
    average_dependencies: float
    services: list[Node]
    dependencies: list[Edge]
    observed_dependencies: list[ObservedEdge]  # seen in traces, not declared


class Reached(TypedDict):
    service_id: str
    distance: int
    via: Edge


Depth = Annotated[int, Field(ge=1, le=10_000)] | Literal["all"]


class ServiceDependencies(TypedDict):
    service_id: str
    direction: Literal["dependencies", "dependents", "both"]
    depth: Depth
    dependencies: NotRequired[list[Reached]]
    dependents: NotRequired[list[Reached]]


class ImpactEntry(TypedDict):
    service_id: str
    path: list[str]


class Impact(TypedDict):
    service_id: str
    failed: list[ImpactEntry]
    degraded: list[ImpactEntry]
    unaffected: list[ImpactEntry]


class Pair(TypedDict):
    source: str
    target: str


class Removed(TypedDict):
    removed: Pair


class CircularDependency(TypedDict):
    services: list[str]
    members: list[str]


class Cycles(TypedDict):
    count: int
    circular_dependencies: list[CircularDependency]


class CriticalPath(TypedDict):
    critical_path: list[str]
    length: int


class HubService(TypedDict):
    service_id: str
    degree: int
    in_degree: int
    out_degree: int
    betweenness: float


class Hubs(TypedDict):
    hub_services: list[HubService]


class RootCauses(TypedDict):
    root_causes: dict[str, list[str]]


# -- answers: message bus and the server ---------------------------------------------------


class Receipt(TypedDict):
    event_id: str
    status: Literal["confirmed", "queued"]
    routed: bool | None
    exchange: str
    routing_key: str


class Webhooks(TypedDict):
    urls: int
    delivered: int
    failed: int
    last_error: str | None


class BusStatus(TypedDict):
    backend: Literal["memory", "amqp"]
    connected: bool
    broker: str
    published: int
    returned: int
    refused: int
    consumed: int
    dead_lettered: int
    outbox_backlog: int
    webhooks: Webhooks


class ClusterReplica(TypedDict):
    id: str
    host: str
    started_at: str
    last_seen: str
    owned_services: int
    shards: int
    this: bool


class Cluster(TypedDict):
    mode: Literal["single", "cluster"]
    replica_id: str
    shards: int
    services: int
    unowned_services: int
    replicas: list[ClusterReplica]


class ExchangeItem(TypedDict):
    name: str
    type: str
    durable: bool


class QueueItem(TypedDict):
    name: str
    messages: int
    consumers: int


Source = Literal["management", "declared"]


class Page(TypedDict):
    page: int
    page_size: int
    page_count: int
    total: int
    source: Source


class Exchanges(Page):
    exchanges: list[ExchangeItem]


class Queues(Page):
    queues: list[QueueItem]


class Health(TypedDict):
    status: Literal["ok", "degraded", "starting", "failing"]
    service: str
    version: str
    database: Literal["ok", "unavailable"]
    services: int
    jobs_down: NotRequired[
        Annotated[list[str], Field(description="Vital background jobs not running now.")]
    ]


# -- answers: the public status page -------------------------------------------------------


class PublicService(TypedDict):
    service_id: str
    service_name: str
    cluster: str | None
    status: HealthStatus
    status_since: Timestamp
    uptime_percentage: Annotated[
        float | None, Field(description="Over the days shown; null: never checked in them")
    ]
    daily_uptime: Annotated[
        list[float | None],
        Field(description="Uptime % per UTC day from first_day, oldest first; null: no check"),
    ]
    maintenance_until: Annotated[
        Timestamp | None,
        Field(description="Under planned maintenance until then (no incident); null: not"),
    ]


class Incident(TypedDict):
    service_id: str
    service_name: str
    status: HealthStatus
    since: Timestamp


class StatusPage(TypedDict):
    cluster: str | None
    overall_status: HealthStatus
    first_day: Annotated[str, Field(description="The first day of daily_uptime (UTC)")]
    services: list[PublicService]
    incidents: Annotated[list[Incident], Field(description="Public services not healthy now")]
    generated_at: Timestamp
