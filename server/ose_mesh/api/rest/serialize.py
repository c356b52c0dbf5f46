"""The reference's JSON shapes, built from the core's read models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ose_mesh.core import HealthSummary, ServiceHealth
from ose_mesh.domain import HealthStatus, StatusChange
from ose_mesh.domain.redaction import safe_url


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def health_json(view: ServiceHealth, root_causes: list[str]) -> dict[str, Any]:
    service, metrics, check = view.service, view.metrics, view.service.check
    return {
        "service_id": service.service_id,
        "service_name": service.service_name,
        "status": view.status.value,
        "is_alive": view.is_alive,
        "status_since": _iso(view.status_since),
        "reason": view.reason,
        "root_causes": root_causes,
        "cluster": service.cluster,
        "demo": service.demo,
        "metrics": {
            "heartbeat_count": metrics.heartbeat_count,
            "missed_heartbeats": metrics.missed_heartbeats,
            "consecutive_failures": metrics.consecutive_failures,
            "average_latency_ms": metrics.average_latency_ms,
            "max_latency_ms": metrics.max_latency_ms,
            "min_latency_ms": metrics.min_latency_ms,
            "p50_latency_ms": metrics.p50_latency_ms,
            "p95_latency_ms": metrics.p95_latency_ms,
            "p99_latency_ms": metrics.p99_latency_ms,
            "uptime_seconds": metrics.uptime_seconds,
            "uptime_percentage": metrics.uptime_percentage,
            "uptime_24h": metrics.uptime_24h,
            "uptime_7d": metrics.uptime_7d,
            "uptime_30d": metrics.uptime_30d,
            "last_heartbeat": _iso(metrics.last_heartbeat),
            "seconds_since_last": metrics.seconds_since_last,
            "flap_count": metrics.flap_count,
        },
        "config": {
            "interval_seconds": check.interval_seconds,
            "timeout_seconds": check.timeout_seconds,
            "max_failures": check.max_failures,
            "check_type": check.check_type.value,
            "probe_timeout_seconds": check.probe_timeout_seconds,
            "recovery_successes": check.recovery_successes,
            "latency_threshold_ms": check.latency_threshold_ms,
            "health_url": safe_url(check.health_url),
            "host": check.host,
            "port": check.port,
        },
    }


def summary_json(summary: HealthSummary) -> dict[str, Any]:
    return {
        "total": summary.total,
        **{status.value: summary.counts[status] for status in HealthStatus},
        "overall_status": summary.overall_status.value,
        "average_uptime": summary.average_uptime,
    }


def change_json(change: StatusChange) -> dict[str, Any]:
    return {
        "service_id": change.service_id,
        "previous": change.previous.value,
        "current": change.current.value,
        "at": change.at.isoformat(),
        "reason": change.reason,
        "root_causes": list(change.root_causes),
    }
