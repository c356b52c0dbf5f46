"""Health statuses, check kinds and the values a check produces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class HealthStatus(StrEnum):
    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    CRITICAL = "critical"
    DEAD = "dead"

    @property
    def is_alive(self) -> bool:
        """Alive means it answered recently enough: everything but dead and unknown."""
        return self in (HealthStatus.HEALTHY, HealthStatus.DEGRADED, HealthStatus.CRITICAL)


class CheckType(StrEnum):
    HTTP = "http"
    TCP = "tcp"
    PUSH = "push"
    GRPC = "grpc"
    TRACES = "traces"  # judged by its server spans (OpenTelemetry), not probed


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    """One heartbeat: a probe's outcome, a pushed beat, or a beat that never came."""

    service_id: str
    ok: bool
    at: float  # seconds on the monitor clock (monotonic)
    latency_ms: float | None = None
    message: str | None = None
    answered: bool = True  # False: no answer at all (refused, timed out, no beat came)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A transition of one service from one status to another."""

    service_id: str
    previous: HealthStatus
    current: HealthStatus
    at: datetime
    reason: str
    # Where the trouble starts: non-healthy services this one depends on (see the graph).
    root_causes: tuple[str, ...] = ()
    in_maintenance: bool = False  # made during a maintenance window: nobody is paged
