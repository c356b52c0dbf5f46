"""REST compatibility routes for heartbeat monitoring (paths and shapes of the reference)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ose_mesh.api import json_output
from ose_mesh.api.context import MeshServices
from ose_mesh.api.rest.bodies import BeatBody, RegisterBody, read_body, whole_number_param
from ose_mesh.api.rest.errors import BadRequest, error_response
from ose_mesh.api.rest.serialize import change_json, health_json, summary_json
from ose_mesh.core import MAX_HISTORY, MAX_PAGE
from ose_mesh.core.pacing import paced
from ose_mesh.domain import HealthStatus


def _mesh(request: Request) -> MeshServices:
    mesh: MeshServices = request.app.state.mesh
    return mesh


async def list_statuses(request: Request) -> Response:
    status = request.query_params.get("status")
    if status is not None and status not in HealthStatus.__members__.values():
        allowed = ", ".join(s.value for s in HealthStatus)
        raise BadRequest(f"status: must be one of {allowed}, got {status!r}")
    limit = whole_number_param(request, "limit", 0, 1, MAX_PAGE) or None  # default: all
    offset = whole_number_param(request, "offset", 0, 0, 1_000_000_000)
    mesh = _mesh(request)
    states, total = mesh.queries.page(
        status=HealthStatus(status) if status else None,
        cluster=request.query_params.get("cluster"),
        search=request.query_params.get("search"),
        limit=limit,
        offset=offset,
    )
    causes = mesh.dependencies.root_causes()
    answer = {}
    async for state in paced(states):
        service_id = state.service.service_id
        answer[service_id] = health_json(mesh.queries.view(state), causes.get(service_id, []))
    return json_output.stream(answer, headers={"X-Total-Count": str(total)})


def _health_of(mesh: MeshServices, service_id: str) -> JSONResponse:
    view = mesh.queries.get(service_id)
    return JSONResponse(health_json(view, mesh.dependencies.root_causes_of(service_id)))


async def get_status(request: Request) -> JSONResponse:
    return _health_of(_mesh(request), request.path_params["service_id"])


async def get_history(request: Request) -> JSONResponse:
    limit = whole_number_param(request, "limit", 100, 1, MAX_HISTORY)
    changes = await _mesh(request).queries.history(request.path_params["service_id"], limit)
    return JSONResponse([change_json(change) for change in changes])


async def get_summary(request: Request) -> JSONResponse:
    return JSONResponse(summary_json(_mesh(request).queries.summary()))


async def register(request: Request) -> JSONResponse:
    body = await read_body(request, RegisterBody)
    mesh = _mesh(request)
    service, created = await mesh.registry.register(body.to_spec())
    view = mesh.queries.get(service.service_id)
    answer = health_json(view, mesh.dependencies.root_causes_of(service.service_id))
    beat_token = request.app.state.tokens.beat_token(service.service_id)
    if beat_token is not None:  # tokens are on: the service may beat with this one
        answer["beat_token"] = beat_token
    return JSONResponse(answer, status_code=201 if created else 200)


async def deregister(request: Request) -> JSONResponse:
    service = await _mesh(request).registry.deregister(request.path_params["service_id"])
    request.app.state.beat_limiter.forget(service.service_id)
    return JSONResponse({"deregistered": service.service_id})


async def beat(request: Request) -> JSONResponse:
    mesh = _mesh(request)
    service_id = request.path_params["service_id"]
    mesh.monitor.state(service_id)  # 404 before reading a body for an unknown service
    wait = request.app.state.beat_limiter.retry_after(service_id)
    if wait is not None:
        return error_response(
            429,
            "too_many_beats",
            f"{service_id} beats too often; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    body = await read_body(request, BeatBody)
    state = mesh.monitor.record_beat(
        service_id, ok=body.ok, latency_ms=body.latency_ms, message=body.message
    )
    # A short answer: beats are the hot path (GET the status route for the full object).
    return JSONResponse(
        {
            "service_id": service_id,
            "status": state.status.value,
            "is_alive": state.status.is_alive,
            "heartbeat_count": state.heartbeat_count,
        }
    )


routes = [
    # Beats are the busiest route: first, so routing tries one pattern for them.
    Route("/api/v1/heartbeat/{service_id}/beat", beat, methods=["POST"]),
    Route("/api/v1/heartbeat/status", list_statuses, methods=["GET"]),
    Route("/api/v1/heartbeat/status/{service_id}", get_status, methods=["GET"]),
    Route("/api/v1/heartbeat/status/{service_id}/history", get_history, methods=["GET"]),
    Route("/api/v1/heartbeat/summary", get_summary, methods=["GET"]),
    Route("/api/v1/heartbeat/register", register, methods=["POST"]),
    Route("/api/v1/heartbeat/register/{service_id}", deregister, methods=["DELETE"]),
]
