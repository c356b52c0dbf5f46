"""REST compatibility routes for heartbeat monitoring (paths and shapes of the reference)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ose_mesh.api import json_output
from ose_mesh.api.operations import Answer, Operation, Param
from ose_mesh.api.rest import models
from ose_mesh.api.rest.bodies import read_body, use_cases, whole_number_param
from ose_mesh.api.rest.errors import BadRequest, error_response
from ose_mesh.core import MAX_HISTORY, MAX_PAGE, ServiceHealth
from ose_mesh.core.pacing import paced
from ose_mesh.domain import HealthStatus, StatusChange
from ose_mesh.domain.redaction import safe_url

MAX_OFFSET = 1_000_000_000


def health_json(view: ServiceHealth) -> models.ServiceHealth:
    service, metrics, check = view.service, view.metrics, view.service.check
    return {
        "service_id": service.service_id,
        "service_name": service.service_name,
        "status": view.status,
        "is_alive": view.is_alive,
        "status_since": view.status_since.isoformat(),
        "reason": view.reason,
        "root_causes": view.root_causes,
        "cluster": service.cluster,
        "demo": service.demo,
        "public": service.public,
        "labels": dict(service.labels),
        "in_maintenance": view.maintenance is not None,
        "maintenance": None
        if view.maintenance is None or view.maintenance_ends is None
        else {
            "window_id": view.maintenance.window_id,
            "reason": view.maintenance.reason,
            "ends_at": view.maintenance_ends.isoformat(),
        },
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
            "last_heartbeat": None
            if metrics.last_heartbeat is None
            else metrics.last_heartbeat.isoformat(),
            "seconds_since_last": metrics.seconds_since_last,
            "flap_count": metrics.flap_count,
            "cert_days_left": metrics.cert_days_left,
        },
        "config": {
            "interval_seconds": check.interval_seconds,
            "timeout_seconds": check.timeout_seconds,
            "max_failures": check.max_failures,
            "check_type": check.check_type,
            "probe_timeout_seconds": check.probe_timeout_seconds,
            "recovery_successes": check.recovery_successes,
            "latency_threshold_ms": check.latency_threshold_ms,
            "health_url": safe_url(check.health_url),
            "host": check.host,
            "port": check.port,
            "grpc_service": check.grpc_service,
            "tls": check.tls,
            "cert_expiry_days": check.cert_expiry_days,
            "assertions": check.assertions.to_json() if check.assertions else None,
            "trace_error_percent": check.trace_error_percent,
        },
    }


def change_json(change: StatusChange) -> models.StatusChange:
    return {
        "service_id": change.service_id,
        "previous": change.previous,
        "current": change.current,
        "at": change.at.isoformat(),
        "reason": change.reason,
        "root_causes": list(change.root_causes),
    }


async def list_statuses(request: Request) -> Response:
    status = request.query_params.get("status")
    if status is not None and status not in HealthStatus.__members__.values():
        allowed = ", ".join(s.value for s in HealthStatus)
        raise BadRequest(f"status: must be one of {allowed}, got {status!r}")
    limit = whole_number_param(request, "limit", 0, 1, MAX_PAGE) or None  # default: all
    offset = whole_number_param(request, "offset", 0, 0, MAX_OFFSET)
    health = use_cases(request).health
    found = health.page(
        status=HealthStatus(status) if status else None,
        cluster=request.query_params.get("cluster"),
        search=request.query_params.get("search"),
        limit=limit,
        offset=offset,
    )
    answer: dict[str, models.ServiceHealth] = {}
    async for state in paced(found.states):
        service_id = state.service.service_id
        view = health.view(state, found.root_causes.get(service_id, []))
        answer[service_id] = health_json(view)
    return json_output.stream(answer, headers={"X-Total-Count": str(found.total)})


async def get_status(request: Request) -> JSONResponse:
    return JSONResponse(
        health_json(use_cases(request).health.get(request.path_params["service_id"]))
    )


async def get_history(request: Request) -> JSONResponse:
    limit = whole_number_param(request, "limit", 100, 1, MAX_HISTORY)
    changes = await use_cases(request).health.history(request.path_params["service_id"], limit)
    return JSONResponse([change_json(change) for change in changes])


async def get_summary(request: Request) -> JSONResponse:
    summary = use_cases(request).health.summary()
    answer: models.Summary = {
        "total": summary.total,
        "unknown": summary.counts[HealthStatus.UNKNOWN],
        "healthy": summary.counts[HealthStatus.HEALTHY],
        "degraded": summary.counts[HealthStatus.DEGRADED],
        "critical": summary.counts[HealthStatus.CRITICAL],
        "dead": summary.counts[HealthStatus.DEAD],
        "overall_status": summary.overall_status,
        "average_uptime": summary.average_uptime,
    }
    return JSONResponse(answer)


async def register(request: Request) -> JSONResponse:
    body = await read_body(request, models.RegisterBody)
    mesh = use_cases(request)
    service, created = await mesh.registry.register(body.to_spec())
    answer = health_json(mesh.health.get(service.service_id))
    beat_token = request.app.state.tokens.beat_token(service.service_id)
    if beat_token is not None:  # tokens are on: the service may beat with this one
        answer["beat_token"] = beat_token
    return JSONResponse(answer, status_code=201 if created else 200)


async def deregister(request: Request) -> JSONResponse:
    service = await use_cases(request).registry.deregister(request.path_params["service_id"])
    request.app.state.beat_limiter.forget(service.service_id)
    answer: models.Deregistered = {"deregistered": service.service_id}
    return JSONResponse(answer)


async def beat(request: Request) -> JSONResponse:
    mesh = use_cases(request)
    service_id = request.path_params["service_id"]
    await mesh.registry.require(service_id)  # 404 before reading a body for an unknown one
    wait = request.app.state.beat_limiter.retry_after(service_id)
    if wait is not None:
        return error_response(
            429,
            "too_many_beats",
            f"{service_id} beats too often; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    body = await read_body(request, models.BeatBody)
    receipt = await mesh.registry.beat(
        service_id, ok=body.ok, latency_ms=body.latency_ms, message=body.message
    )
    # A short answer: beats are the hot path (GET the status route for the full object).
    answer: models.Beat = {
        "service_id": service_id,
        "status": receipt.status,
        "is_alive": receipt.status.is_alive,
        "heartbeat_count": receipt.heartbeat_count,
    }
    return JSONResponse(answer)


SERVICE = Param("service_id", "path", models.ServiceId, "The service's id")
TAG = "heartbeat"
operations = (
    # Beats are the busiest route: first, so routing tries one pattern for them.
    Operation(
        "POST",
        "/api/v1/heartbeat/{service_id}/beat",
        "recordBeat",
        "Record a heartbeat pushed by the service (body optional)",
        TAG,
        (Answer(200, models.Beat, "Recorded"),),
        errors=(400, 404, 413, 422, 429, 503),
        params=(SERVICE,),
        body=models.BeatBody,
        body_required=False,
        endpoint=beat,
    ),
    Operation(
        "GET",
        "/api/v1/heartbeat/status",
        "listServiceStatuses",
        "Every service's health, keyed by id",
        TAG,
        (Answer(200, dict[str, models.ServiceHealth], "Health by service id"),),
        errors=(400,),
        params=(
            Param("status", "query", HealthStatus, "Only services with this status"),
            Param("cluster", "query", str, "Only services of this cluster"),
            Param("search", "query", str, "Id or name contains this text"),
            Param(
                "limit",
                "query",
                Annotated[int, Field(ge=1, le=MAX_PAGE)],
                "At most this many services, by id (default: all)",
            ),
            Param(
                "offset",
                "query",
                Annotated[int, Field(ge=0, le=MAX_OFFSET)],
                "Skip this many services first (X-Total-Count says how many match)",
            ),
        ),
        endpoint=list_statuses,
    ),
    Operation(
        "GET",
        "/api/v1/heartbeat/status/{service_id}",
        "getServiceStatus",
        "One service's health",
        TAG,
        (Answer(200, models.ServiceHealth, "Health"),),
        errors=(404,),
        params=(SERVICE,),
        endpoint=get_status,
    ),
    Operation(
        "GET",
        "/api/v1/heartbeat/status/{service_id}/history",
        "getServiceHistory",
        "Status transitions, newest first",
        TAG,
        (Answer(200, list[models.StatusChange], "History"),),
        errors=(400, 404, 503),
        params=(
            SERVICE,
            Param(
                "limit",
                "query",
                Annotated[int, Field(ge=1, le=MAX_HISTORY)],
                "How many (default 100)",
            ),
        ),
        endpoint=get_history,
    ),
    Operation(
        "GET",
        "/api/v1/heartbeat/summary",
        "getHeartbeatSummary",
        "Counts per status and the overall status",
        TAG,
        (Answer(200, models.Summary, "Summary"),),
        endpoint=get_summary,
    ),
    Operation(
        "POST",
        "/api/v1/heartbeat/register",
        "registerService",
        "Register a service, or update it (same id)",
        TAG,
        (
            Answer(200, models.ServiceHealth, "Updated"),
            Answer(201, models.ServiceHealth, "Registered"),
        ),
        errors=(400, 413, 422, 503),
        body=models.RegisterBody,
        endpoint=register,
    ),
    Operation(
        "DELETE",
        "/api/v1/heartbeat/register/{service_id}",
        "deregisterService",
        "Stop monitoring a service and delete its history",
        TAG,
        (Answer(200, models.Deregistered, "Deregistered"),),
        errors=(404, 503),
        params=(SERVICE,),
        endpoint=deregister,
    ),
)
