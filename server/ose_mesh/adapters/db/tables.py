"""The stored shape of services, status transitions and per-minute rollups (sqlmodel)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ose_mesh.core import Rollup
from ose_mesh.core.ports import OutboxEntry
from ose_mesh.domain import (
    CheckConfig,
    CheckType,
    Dependency,
    DependencyType,
    EventMessage,
    HealthStatus,
    Relationship,
    Service,
    StatusChange,
    exact_priority,
)


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

    @classmethod
    def from_domain(cls, service: Service) -> ServiceRow:
        check = service.check
        return cls(
            service_id=service.service_id,
            service_name=service.service_name,
            cluster=service.cluster,
            demo=service.demo,
            registered_at=service.registered_at or datetime.now(UTC),
            check_type=check.check_type.value,
            interval_seconds=check.interval_seconds,
            timeout_seconds=check.timeout_seconds,
            max_failures=check.max_failures,
            probe_timeout_seconds=check.probe_timeout_seconds,
            recovery_successes=check.recovery_successes,
            latency_threshold_ms=check.latency_threshold_ms,
            health_url=check.health_url,
            host=check.host,
            port=check.port,
        )

    def to_domain(self) -> Service:
        return Service(
            service_id=self.service_id,
            service_name=self.service_name,
            cluster=self.cluster,
            demo=self.demo,
            registered_at=_utc(self.registered_at),
            check=CheckConfig(
                check_type=CheckType(self.check_type),
                interval_seconds=self.interval_seconds,
                timeout_seconds=self.timeout_seconds,
                max_failures=self.max_failures,
                probe_timeout_seconds=self.probe_timeout_seconds,
                recovery_successes=self.recovery_successes,
                latency_threshold_ms=self.latency_threshold_ms,
                health_url=self.health_url,
                host=self.host,
                port=self.port,
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

    @classmethod
    def from_domain(cls, change: StatusChange) -> TransitionRow:
        return cls(
            service_id=change.service_id,
            previous=change.previous.value,
            current=change.current.value,
            at=change.at,
            reason=change.reason,
            root_causes=" ".join(change.root_causes),
        )

    def to_domain(self) -> StatusChange:
        return StatusChange(
            service_id=self.service_id,
            previous=HealthStatus(self.previous),
            current=HealthStatus(self.current),
            at=_utc(self.at),
            reason=self.reason,
            root_causes=tuple(self.root_causes.split()),
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

    @classmethod
    def from_domain(cls, rollup: Rollup) -> RollupRow:
        return cls(
            service_id=rollup.service_id,
            minute=rollup.minute,
            count=rollup.count,
            missed=rollup.missed,
            latency_sum_ms=rollup.latency_sum_ms,
            latency_samples=rollup.latency_samples,
            latency_max_ms=rollup.latency_max_ms,
        )


class DependencyRow(SQLModel, table=True):
    __tablename__ = "dependencies"

    source: str = Field(primary_key=True, max_length=200)
    target: str = Field(primary_key=True, max_length=200)
    type: str = Field(max_length=16)
    relationship: str = Field(max_length=32)
    description: str | None = Field(default=None, sa_type=sa.Text)

    @classmethod
    def from_domain(cls, dependency: Dependency) -> DependencyRow:
        return cls(
            source=dependency.source,
            target=dependency.target,
            type=dependency.type.value,
            relationship=dependency.relationship.value,
            description=dependency.description,
        )

    def to_domain(self) -> Dependency:
        return Dependency(
            source=self.source,
            target=self.target,
            type=DependencyType(self.type),
            relationship=Relationship(self.relationship),
            description=self.description,
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

    @classmethod
    def from_domain(cls, entry: OutboxEntry) -> OutboxRow:
        event = entry.event
        return cls(
            exchange=entry.exchange,
            routing_key=entry.routing_key,
            event_id=event.event_id,
            event_type=event.event_type,
            source_service=event.source_service,
            payload=json.dumps(event.payload),
            priority=int(event.priority),
            correlation_id=event.correlation_id,
            timestamp=event.timestamp,
            event_metadata=json.dumps(event.metadata),
            reply_to=event.reply_to,
        )

    def to_domain(self) -> OutboxEntry:
        event = EventMessage(
            event_type=self.event_type,
            source_service=self.source_service,
            payload=json.loads(self.payload),
            priority=exact_priority(self.priority),
            correlation_id=self.correlation_id,
            timestamp=_utc(self.timestamp),
            metadata=json.loads(self.event_metadata),
            event_id=self.event_id,
            reply_to=self.reply_to,
        )
        return OutboxEntry(self.exchange, self.routing_key, event, self.id)
