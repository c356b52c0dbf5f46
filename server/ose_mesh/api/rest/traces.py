"""Traces in (the OTLP/HTTP receiver) and the drift between declared and observed edges."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ose_mesh.api import exports, otlp
from ose_mesh.api.operations import Answer, Operation, Param
from ose_mesh.api.rest import models
from ose_mesh.api.rest.bodies import read_body, use_cases, whole_number
from ose_mesh.core.graph_model import EdgeTraffic, EdgeView
from ose_mesh.core.observations import MAX_WINDOW_MINUTES, Drift
from ose_mesh.domain import Dependency, InvalidField, parse_dependency_type, parse_relationship

DECODE_IN_THREAD_BYTES = 64 * 1024  # a larger body is decoded off the event loop
INGEST_CHUNK = 2048
DEFAULT_WINDOW_MINUTES = 24 * 60
REJECTED = (
    "spans whose resource has no usable service.name (letters, digits, '.', '_' and '-', "
    "at most 200) were dropped"
)


async def receive_traces(request: Request) -> Response:
    """OTLP/HTTP: the answer is in the request's encoding, errors a google.rpc.Status."""
    content_type = request.headers.get("content-type", "")
    # Answered in the request's encoding; anything else gets JSON, which a person can read.
    media = otlp.PROTOBUF if content_type.lower().startswith(otlp.PROTOBUF) else otlp.JSON
    body = await request.body()
    encoding = request.headers.get("content-encoding", "")
    try:
        if len(body) > DECODE_IN_THREAD_BYTES:
            decoded = await asyncio.to_thread(otlp.decode, body, content_type, encoding)
        else:
            decoded = otlp.decode(body, content_type, encoding)
    except otlp.MalformedTraces as exc:
        return Response(otlp.failure(media, str(exc)), 400, media_type=media)
    wait = request.app.state.span_limiter.retry_after("spans", cost=len(decoded.spans))
    if wait is not None:
        message = "too many spans: try again later"
        return Response(
            otlp.failure(media, message), 429, headers={"Retry-After": str(wait)}, media_type=media
        )
    observations = use_cases(request).observations
    for start in range(0, len(decoded.spans), INGEST_CHUNK):
        if start:
            await asyncio.sleep(0)  # a Collector's big batch leaves room for other requests
        observations.receive(decoded.spans[start : start + INGEST_CHUNK], 0)
    observations.receive([], decoded.rejected)
    answer = otlp.success(media, decoded.rejected, REJECTED)
    return Response(answer, 200, media_type=media)


def parse_window(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_WINDOW_MINUTES
    minutes = whole_number(raw)
    if minutes is None or not 1 <= minutes <= MAX_WINDOW_MINUTES:
        raise InvalidField(
            "window_minutes",
            f"must be a whole number of minutes from 1 to {MAX_WINDOW_MINUTES} (7 days), "
            f"got {raw!r}",
        )
    return minutes


def drift_json(drift: Drift) -> models.Drift:
    def mesh_edge(dependency: Dependency, traffic: EdgeTraffic | None) -> models.Edge:
        return exports.edge_json(EdgeView(dependency, dependency.type.value, traffic))

    return {
        "window_minutes": drift.window_minutes,
        "undeclared": [
            {
                **exports.observed_json(e.edge),
                "source_registered": e.source_registered,
                "target_registered": e.target_registered,
            }
            for e in drift.undeclared
        ],
        "unseen": [
            {
                "dependency": mesh_edge(e.dependency, None),
                "last_seen": None if e.last_seen is None else e.last_seen.isoformat(),
            }
            for e in drift.unseen
        ],
        "suspect": [
            {
                "dependency": mesh_edge(e.dependency, e.traffic),
                "reason": e.reason,
                "suggested_type": e.suggested_type,
                "observed_relationship": e.observed_relationship,
            }
            for e in drift.suspect
        ],
    }


async def get_drift(request: Request) -> JSONResponse:
    window = parse_window(request.query_params.get("window_minutes"))
    return JSONResponse(drift_json(await use_cases(request).observations.drift(window)))


async def accept_observed(request: Request) -> JSONResponse:
    body = await read_body(request, models.AcceptBody)
    edge, created = await use_cases(request).observations.accept(
        body.source,
        body.target,
        parse_dependency_type(body.type),
        None if body.relationship is None else parse_relationship(body.relationship),
        body.description,
    )
    return JSONResponse(exports.edge_json(edge), status_code=201 if created else 200)


TAG = "traces"
operations = (
    Operation(
        "POST",
        "/v1/traces",
        "exportTraces",
        "OTLP/HTTP trace receiver (protobuf or JSON, gzip): where an OpenTelemetry SDK or "
        "Collector exports to; spans become observed edges and are not stored",
        TAG,
        (
            Answer(200, dict[str, object], "ExportTraceServiceResponse (partialSuccess if any)"),
            Answer(200, None, "The same, in protobuf", media=otlp.PROTOBUF),
            Answer(400, models.OtlpStatus, "Not an OTLP trace export (google.rpc.Status)"),
            Answer(429, models.OtlpStatus, "Too many spans a second: retry after Retry-After"),
        ),
        errors=(413,),
        any_object_bodies=("application/json", otlp.PROTOBUF),
        form=False,
        endpoint=receive_traces,
    ),
    Operation(
        "GET",
        "/api/v1/dependencies/drift",
        "getDependencyDrift",
        "What traces show and the declarations do not: undeclared edges, declared edges not "
        "seen, and declared types the traffic contradicts",
        TAG,
        (Answer(200, models.Drift, "Drift"),),
        errors=(422,),
        params=(
            Param(
                "window_minutes",
                "query",
                int,
                f"How far back to look, in minutes (default {DEFAULT_WINDOW_MINUTES}, "
                f"at most {MAX_WINDOW_MINUTES})",
            ),
        ),
        endpoint=get_drift,
    ),
    Operation(
        "POST",
        "/api/v1/dependencies/drift/accept",
        "acceptObservedDependency",
        "Declare an edge seen in traces (its relationship is the spans' unless given)",
        TAG,
        (Answer(200, models.Edge, "Updated"), Answer(201, models.Edge, "Declared")),
        errors=(400, 404, 413, 422, 503),
        body=models.AcceptBody,
        endpoint=accept_observed,
    ),
)
