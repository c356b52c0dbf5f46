"""Baselines: bare Starlette endpoints doing the least a beat endpoint can do (read the JSON
body, answer a small JSON object) and the least an OTLP receiver can do (read the body,
parse it with the protobuf runtime, answer an empty ExportTraceServiceResponse)."""

from __future__ import annotations

import json

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def beat(request: Request) -> JSONResponse:
    body = await request.body()
    data = json.loads(body) if body else {}
    return JSONResponse(
        {"service_id": request.path_params["service_id"], "status": "healthy", "ok": bool(data)}
    )


async def traces(request: Request) -> Response:
    exported = trace_service_pb2.ExportTraceServiceRequest.FromString(await request.body())
    spans = sum(len(s.spans) for r in exported.resource_spans for s in r.scope_spans)
    answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
    return Response(answer, media_type="application/x-protobuf", headers={"x-spans": str(spans)})


app = Starlette(
    routes=[
        Route("/api/v1/heartbeat/{service_id}/beat", beat, methods=["POST"]),
        Route("/v1/traces", traces, methods=["POST"]),
    ]
)
