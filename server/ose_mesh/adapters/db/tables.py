"""The stored shape of services, status transitions and per-minute rollups (sqlmodel).

Each table class converts with two plain functions: `values(domain)` gives the dict an insert
takes and `domain(row)` reads a fetched row back. Neither builds a model instance: one costs
~35 µs, and the history flush writes a row per service every few seconds (350 ms of the event
loop at 10,000 services).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ose_mesh.core import Rollup
from ose_mesh.core.ports import DeliveryCounts, OutboxEntry, Replica
from ose_mesh.domain import (
    CheckConfig,
    CheckType,
    Dependency,
    DependencyType,
    EventMessage,
    HealthStatus,
    HttpAssertions,
    Relationship,
    Service,
    StatusChange,
    exact_priority,
)
from ose_mesh.domain.maintenance import MaintenanceWindow
from ose_mesh.domain.notifications import NotificationRule, NotificationTarget


def _utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _datetime_column(**kwargs: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(sa.DateTime(timezone=True), **kwargs)  # type: ignore[arg-type]


class ServiceRow(SQLModel, table=True):
    __tablename__ = "services"

    service_id: str = Field(primary_key=True, max_length=200)
    service_name: str = Field(max_length=200)
    cluster: str | None = Field(default=None, max_length=200)
    demo: bool = False
    public: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    registered_at: datetime = Field(sa_column=_datetime_column(nullable=False))
    check_type: str = Field(max_length=16)
    interval_seconds: float
    timeout_seconds: float
    max_failures: int
    probe_timeout_seconds: float
    recovery_successes: int
    latency_threshold_ms: float | None = None
    health_url: str | None = Field(default=None, sa_type=sa.Text)
    host: str | None = Field(default=None, max_length=255)
    port: int | None = None
    grpc_service: str | None = Field(default=None, max_length=200)
    tls: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    cert_expiry_days: int = Field(default=14, sa_column_kwargs={"server_default": "14"})
    assertions: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    labels: dict[str, str] | None = Field(default=None, sa_type=sa.JSON)
    trace_error_percent: float | None = None
    # Raised by every write: a replica that re-reads a row keeps the newest it has seen.
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    @staticmethod
    def values(service: Service) -> dict[str, Any]:
        check = service.check
        return {
            "service_id": service.service_id,
            "service_name": service.service_name,
            "cluster": service.cluster,
            "demo": service.demo,
            "public": service.public,
            "registered_at": service.registered_at or datetime.now(UTC),
            "check_type": check.check_type.value,
            "interval_seconds": check.interval_seconds,
            "timeout_seconds": check.timeout_seconds,
            "max_failures": check.max_failures,
            "probe_timeout_seconds": check.probe_timeout_seconds,
            "recovery_successes": check.recovery_successes,
            "latency_threshold_ms": check.latency_threshold_ms,
            "health_url": check.health_url,
            "host": check.host,
            "port": check.port,
            "grpc_service": check.grpc_service,
            "tls": check.tls,
            "cert_expiry_days": check.cert_expiry_days,
            "assertions": check.assertions.to_json() if check.assertions else None,
            "trace_error_percent": check.trace_error_percent,
            "labels": dict(service.labels) or None,
        }

    @staticmethod
    def domain(row: sa.RowMapping) -> Service:
        return Service(
            service_id=row["service_id"],
            service_name=row["service_name"],
            cluster=row["cluster"],
            demo=row["demo"],
            public=row["public"],
            registered_at=_utc(row["registered_at"]),
            labels=tuple(sorted((row["labels"] or {}).items())),
            check=CheckConfig(
                check_type=CheckType(row["check_type"]),
                interval_seconds=row["interval_seconds"],
                timeout_seconds=row["timeout_seconds"],
                max_failures=row["max_failures"],
                probe_timeout_seconds=row["probe_timeout_seconds"],
                recovery_successes=row["recovery_successes"],
                latency_threshold_ms=row["latency_threshold_ms"],
                health_url=row["health_url"],
                host=row["host"],
                port=row["port"],
                grpc_service=row["grpc_service"],
                tls=row["tls"],
                cert_expiry_days=row["cert_expiry_days"],
                assertions=HttpAssertions.from_json(row["assertions"])
                if row["assertions"]
                else None,
                trace_error_percent=row["trace_error_percent"],
            ),
        )


class TransitionRow(SQLModel, table=True):
    __tablename__ = "status_transitions"

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(index=True, max_length=200)
    previous: str = Field(max_length=16)
    current: str = Field(max_length=16)
    at: datetime = Field(sa_column=_datetime_column(nullable=False, index=True))
    reason: str = Field(sa_type=sa.Text)
    root_causes: str = Field(default="", sa_type=sa.Text)  # service ids, space-separated

    @staticmethod
    def values(change: StatusChange) -> dict[str, Any]:
        return {
            "service_id": change.service_id,
            "previous": change.previous.value,
            "current": change.current.value,
            "at": change.at,
            "reason": change.reason,
            "root_causes": " ".join(change.root_causes),
        }

    @staticmethod
    def domain(row: sa.RowMapping) -> StatusChange:
        return StatusChange(
            service_id=row["service_id"],
            previous=HealthStatus(row["previous"]),
            current=HealthStatus(row["current"]),
            at=_utc(row["at"]),
            reason=row["reason"],
            root_causes=tuple(row["root_causes"].split()),
        )


class RollupRow(SQLModel, table=True):
    __tablename__ = "heartbeat_rollups"

    service_id: str = Field(primary_key=True, max_length=200)
    minute: datetime = Field(sa_column=_datetime_column(primary_key=True))
    count: int
    missed: int
    latency_sum_ms: float
    latency_samples: int
    latency_max_ms: float

    @staticmethod
    def values(rollup: Rollup) -> dict[str, Any]:
        return {
            "service_id": rollup.service_id,
            "minute": rollup.minute,
            "count": rollup.count,
            "missed": rollup.missed,
            "latency_sum_ms": rollup.latency_sum_ms,
            "latency_samples": rollup.latency_samples,
            "latency_max_ms": rollup.latency_max_ms,
        }

    @staticmethod
    def domain(row: sa.RowMapping) -> Rollup:
        return Rollup(
            service_id=row["service_id"],
            minute=_utc(row["minute"]),
            count=row["count"],
            missed=row["missed"],
            latency_sum_ms=row["latency_sum_ms"],
            latency_samples=row["latency_samples"],
            latency_max_ms=row["latency_max_ms"],
        )


class DependencyRow(SQLModel, table=True):
    __tablename__ = "dependencies"

    source: str = Field(primary_key=True, max_length=200)
    target: str = Field(primary_key=True, max_length=200)
    type: str = Field(max_length=16)
    relationship: str = Field(max_length=32)
    description: str | None = Field(default=None, sa_type=sa.Text)

    @staticmethod
    def values(dependency: Dependency) -> dict[str, Any]:
        return {
            "source": dependency.source,
            "target": dependency.target,
            "type": dependency.type.value,
            "relationship": dependency.relationship.value,
            "description": dependency.description,
        }

    @staticmethod
    def domain(row: sa.RowMapping) -> Dependency:
        return Dependency(
            source=row["source"],
            target=row["target"],
            type=DependencyType(row["type"]),
            relationship=Relationship(row["relationship"]),
            description=row["description"],
        )


class OutboxRow(SQLModel, table=True):
    __tablename__ = "event_outbox"

    id: int | None = Field(default=None, primary_key=True)
    exchange: str = Field(max_length=255)
    routing_key: str = Field(max_length=255)
    event_id: str = Field(max_length=64)
    event_type: str = Field(sa_type=sa.Text)
    source_service: str = Field(sa_type=sa.Text)
    payload: str = Field(sa_type=sa.Text)  # JSON object
    priority: int
    correlation_id: str | None = Field(default=None, sa_type=sa.Text)
    timestamp: datetime = Field(sa_column=_datetime_column(nullable=False))
    event_metadata: str = Field(default="{}", sa_type=sa.Text)  # JSON object
    reply_to: str | None = Field(default=None, sa_type=sa.Text)
    # The relay publishing the row, until when (another takes it over after that).
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_until: datetime | None = Field(default=None, sa_column=_datetime_column(nullable=True))

    @staticmethod
    def values(entry: OutboxEntry) -> dict[str, Any]:
        event = entry.event
        return {
            "exchange": entry.exchange,
            "routing_key": entry.routing_key,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "source_service": event.source_service,
            "payload": json.dumps(event.payload),
            "priority": int(event.priority),
            "correlation_id": event.correlation_id,
            "timestamp": event.timestamp,
            "event_metadata": json.dumps(event.metadata),
            "reply_to": event.reply_to,
        }

    @staticmethod
    def domain(row: sa.RowMapping) -> OutboxEntry:
        event = EventMessage(
            event_type=row["event_type"],
            source_service=row["source_service"],
            payload=json.loads(row["payload"]),
            priority=exact_priority(row["priority"]),
            correlation_id=row["correlation_id"],
            timestamp=_utc(row["timestamp"]),
            metadata=json.loads(row["event_metadata"]),
            event_id=row["event_id"],
            reply_to=row["reply_to"],
        )
        return OutboxEntry(row["exchange"], row["routing_key"], event, row["id"])


class MaintenanceRow(SQLModel, table=True):
    __tablename__ = "maintenance_windows"

    window_id: str = Field(primary_key=True, max_length=32)
    starts_at: datetime = Field(sa_column=_datetime_column(nullable=False))
    ends_at: datetime = Field(sa_column=_datetime_column(nullable=False))
    weekly: bool = False
    ended_at: datetime | None = Field(default=None, sa_column=_datetime_column(nullable=True))
    reason: str = Field(sa_type=sa.Text)
    created_by: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_column=_datetime_column(nullable=False))
    service_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    cluster: str | None = Field(default=None, max_length=200)
    label: str | None = Field(default=None, max_length=300)

    @staticmethod
    def values(window: MaintenanceWindow) -> dict[str, Any]:
        return {
            "window_id": window.window_id,
            "starts_at": window.starts_at,
            "ends_at": window.ends_at,
            "weekly": window.weekly,
            "ended_at": window.ended_at,
            "reason": window.reason,
            "created_by": window.created_by,
            "created_at": window.created_at or datetime.now(UTC),
            "service_ids": list(window.service_ids),
            "cluster": window.cluster,
            "label": window.label,
        }

    @staticmethod
    def domain(row: sa.RowMapping) -> MaintenanceWindow:
        return MaintenanceWindow(
            window_id=row["window_id"],
            starts_at=_utc(row["starts_at"]),
            ends_at=_utc(row["ends_at"]),
            weekly=row["weekly"],
            ended_at=None if row["ended_at"] is None else _utc(row["ended_at"]),
            reason=row["reason"],
            created_by=row["created_by"],
            created_at=_utc(row["created_at"]),
            service_ids=tuple(row["service_ids"]),
            cluster=row["cluster"],
            label=row["label"],
        )


class NotificationTargetRow(SQLModel, table=True):
    __tablename__ = "notification_targets"

    target_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    url: str = Field(sa_type=sa.Text)  # a secret: never answered as it is
    kind: str = Field(max_length=100)
    shown_url: str = Field(sa_type=sa.Text)
    rule: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)

    @staticmethod
    def values(target: NotificationTarget) -> dict[str, Any]:
        return {
            "target_id": target.target_id,
            "name": target.name,
            "url": target.url,
            "kind": target.kind,
            "shown_url": target.shown_url,
            "rule": target.rule.to_json(),
        }

    @staticmethod
    def domain(row: sa.RowMapping) -> NotificationTarget:
        return NotificationTarget(
            target_id=row["target_id"],
            name=row["name"],
            url=row["url"],
            kind=row["kind"],
            shown_url=row["shown_url"],
            rule=NotificationRule.from_json(row["rule"]),
        )


class DeliveryCountRow(SQLModel, table=True):
    """How a target's notifications went, summed over every replica."""

    __tablename__ = "notification_deliveries"

    target_id: str = Field(primary_key=True, max_length=32)
    delivered: int = 0
    failed: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_sent_at: datetime | None = Field(default=None, sa_column=_datetime_column(nullable=True))

    @staticmethod
    def domain(row: sa.RowMapping) -> DeliveryCounts:
        sent = row["last_sent_at"]
        return DeliveryCounts(
            delivered=row["delivered"],
            failed=row["failed"],
            last_error=row["last_error"],
            last_sent_at=None if sent is None else _utc(sent),
        )


class ToldRow(SQLModel, table=True):
    """A target was told of a service's trouble and not yet of its recovery."""

    __tablename__ = "notification_told"

    target_id: str = Field(primary_key=True, max_length=32)
    service_id: str = Field(primary_key=True, max_length=200)
    status: str = Field(max_length=16)


class ReplicaRow(SQLModel, table=True):
    """A server using this database, alive while `expires_at` is ahead (it renews it)."""

    __tablename__ = "mesh_replicas"

    replica_id: str = Field(primary_key=True, max_length=200)
    mode: str = Field(max_length=16)  # "single" or "cluster"
    host: str = Field(max_length=255)
    pid: int
    started_at: datetime = Field(sa_column=_datetime_column(nullable=False))
    last_seen: datetime = Field(sa_column=_datetime_column(nullable=False))
    expires_at: datetime = Field(sa_column=_datetime_column(nullable=False))

    @staticmethod
    def domain(row: sa.RowMapping) -> Replica:
        return Replica(
            replica_id=row["replica_id"],
            mode=row["mode"],
            host=row["host"],
            pid=row["pid"],
            started_at=_utc(row["started_at"]),
            last_seen=_utc(row["last_seen"]),
            expires_at=_utc(row["expires_at"]),
        )


class ShardLeaseRow(SQLModel, table=True):
    """One shard of the services (by a hash of their id), held by one replica at a time.
    `epoch` rises with every change of owner: it fences a former owner's writes."""

    __tablename__ = "shard_leases"

    shard: int = Field(primary_key=True)
    owner: str | None = Field(default=None, max_length=200)
    epoch: int = 0
    expires_at: datetime | None = Field(default=None, sa_column=_datetime_column(nullable=True))


class ServiceStateRow(SQLModel, table=True):
    """A service's health state as its owner last wrote it: where a new owner continues."""

    __tablename__ = "service_state"

    service_id: str = Field(primary_key=True, max_length=200)
    shard: int
    epoch: int
    status: str = Field(max_length=16)
    snapshot: str = Field(sa_type=sa.Text)  # JSON: HealthSnapshot
    updated_at: datetime = Field(sa_column=_datetime_column(nullable=False))


class ObservedTrafficRow(SQLModel, table=True):
    """One replica's traffic figures of an edge seen in traces (`kind` "call": source calls
    target) or of a service's own server spans (`kind` "served", target ""). Each replica
    writes only its own rows; readers add them up."""

    __tablename__ = "observed_traffic"

    replica_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=8)
    source: str = Field(primary_key=True, max_length=200)
    target: str = Field(primary_key=True, max_length=200)
    relationship: str = Field(max_length=32)
    figures: bytes = Field(sa_type=sa.LargeBinary)  # Traffic.to_bytes()
    updated_at: datetime = Field(sa_column=_datetime_column(nullable=False, index=True))
