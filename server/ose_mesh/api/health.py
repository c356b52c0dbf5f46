"""GET /health: is this replica ready, does its database answer, are its jobs running."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh import __version__
from ose_mesh.api.operations import Answer, Operation
from ose_mesh.api.rest import models
from ose_mesh.core.self_check import SELF_ID, SelfCheck

HEALTH = Operation(
    "GET",
    "/health",
    "getHealth",
    "Is the server up, its database, its background jobs (open: no token needed)",
    "server",
    (
        Answer(200, models.Health, "Serving"),
        Answer(503, models.Health, "Starting, or a vital background job is down"),
    ),
    public=True,
)


def health_endpoint(check: SelfCheck) -> Callable[[Request], Awaitable[JSONResponse]]:
    """200 while serving (status "ok", or "degraded" while the database is away); 503 while
    "starting" or "failing" (a vital background job is down: `jobs_down` names it), so a
    load balancer sends it no traffic."""

    async def health(request: Request) -> JSONResponse:
        found = await check.health()
        answer: models.Health = {
            "status": found.status,
            "service": SELF_ID,
            "version": __version__,
            "database": found.database,
            "services": found.services,
        }
        if found.jobs_down:
            answer["jobs_down"] = found.jobs_down
        return JSONResponse(answer, status_code=200 if found.serving else 503)

    return health
