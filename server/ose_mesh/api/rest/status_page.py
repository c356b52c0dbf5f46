"""The public status page's data: GET /api/v1/status-page[/{cluster}], open to everyone.

It answers only about services registered with `public`, and only what core/status_page.py
lets out; the page at /status draws it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh.api.operations import Answer, Operation, Param
from ose_mesh.api.rest import models
from ose_mesh.api.rest.bodies import use_cases
from ose_mesh.core.status_page import StatusPageView

PATH = "/api/v1/status-page"
# Browsers and proxies may keep it as long as the server does (core/status_page.py).
CACHE_CONTROL = "public, max-age=10"


async def status_page(request: Request) -> JSONResponse:
    mesh = use_cases(request)
    view = await mesh.status_page.page(request.path_params.get("cluster"))
    return JSONResponse(page_json(view), headers={"Cache-Control": CACHE_CONTROL})


def page_json(view: StatusPageView) -> models.StatusPage:
    return {
        "cluster": view.cluster,
        "overall_status": view.overall,
        "first_day": view.first_day.isoformat(),
        "services": [
            {
                "service_id": service.service_id,
                "service_name": service.name,
                "cluster": service.cluster,
                "status": service.status,
                "status_since": service.since.isoformat(),
                "uptime_percentage": service.uptime_percentage,
                "daily_uptime": service.days,
                "maintenance_until": None
                if service.maintenance_until is None
                else service.maintenance_until.isoformat(),
            }
            for service in view.services
        ],
        "incidents": [
            {
                "service_id": incident.service_id,
                "service_name": incident.name,
                "status": incident.status,
                "since": incident.since.isoformat(),
            }
            for incident in view.incidents
        ],
        "generated_at": view.generated_at.isoformat(),
    }


_ANSWER = (Answer(200, models.StatusPage, "The public services, 90 days of uptime, incidents"),)
operations = (
    Operation(
        "GET",
        PATH,
        "getStatusPage",
        "The public status page: services registered as public (open: no token needed)",
        "status page",
        _ANSWER,
        public=True,
        endpoint=status_page,
    ),
    Operation(
        "GET",
        PATH + "/{cluster}",
        "getClusterStatusPage",
        "The public status page of one cluster (open: no token needed)",
        "status page",
        _ANSWER,
        errors=(404,),
        params=(Param("cluster", "path", str, "The cluster's name"),),
        public=True,
        endpoint=status_page,
    ),
)
