"""The baseline for the ingest benchmark: a bare Starlette endpoint doing the least a beat
endpoint can do (read the JSON body, answer a small JSON object)."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def beat(request: Request) -> JSONResponse:
    body = await request.body()
    data = json.loads(body) if body else {}
    return JSONResponse(
        {"service_id": request.path_params["service_id"], "status": "healthy", "ok": bool(data)}
    )


app = Starlette(routes=[Route("/api/v1/heartbeat/{service_id}/beat", beat, methods=["POST"])])
