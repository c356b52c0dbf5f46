"""Maintenance windows over REST: create, list, read, end and delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh.api.operations import Answer, Operation, Param
from ose_mesh.api.rest import models
from ose_mesh.api.rest.bodies import read_body, use_cases, yes_no_param
from ose_mesh.core.maintenance import MaintenanceSchedule
from ose_mesh.domain.maintenance import MaintenanceWindow

PATH = "/api/v1/maintenance"
TAG = "maintenance"


def window_json(
    schedule: MaintenanceSchedule, window: MaintenanceWindow
) -> models.MaintenanceWindow:
    next_start = schedule.next_start(window)
    return {
        "window_id": window.window_id,
        "reason": window.reason,
        "created_by": window.created_by,
        "created_at": None if window.created_at is None else window.created_at.isoformat(),
        "service_ids": list(window.service_ids),
        "cluster": window.cluster,
        "label": window.label,
        "starts_at": window.starts_at.isoformat(),
        "ends_at": window.ends_at.isoformat(),
        "weekly": window.weekly,
        "ended_at": None if window.ended_at is None else window.ended_at.isoformat(),
        "on_now": schedule.is_on(window),
        "next_start": None if next_start is None else next_start.isoformat(),
        "covers": schedule.covered(window),
    }


async def create_window(request: Request) -> JSONResponse:
    body = await read_body(request, models.MaintenanceBody)
    schedule = use_cases(request).maintenance
    window = await schedule.create(body.to_spec())
    return JSONResponse(window_json(schedule, window), status_code=201)


async def list_windows(request: Request) -> JSONResponse:
    schedule = use_cases(request).maintenance
    windows = schedule.windows(current_only=not yes_no_param(request, "all"))
    return JSONResponse([window_json(schedule, window) for window in windows])


async def get_window(request: Request) -> JSONResponse:
    schedule = use_cases(request).maintenance
    window = schedule.get(request.path_params["window_id"])
    return JSONResponse(window_json(schedule, window))


async def end_window(request: Request) -> JSONResponse:
    schedule = use_cases(request).maintenance
    window = await schedule.end(request.path_params["window_id"])
    return JSONResponse(window_json(schedule, window))


async def delete_window(request: Request) -> JSONResponse:
    window_id = request.path_params["window_id"]
    await use_cases(request).maintenance.delete(window_id)
    answer: models.WindowDeleted = {"deleted": window_id}
    return JSONResponse(answer)


WINDOW = Param("window_id", "path", str, "The window's id")
_ONE = (Answer(200, models.MaintenanceWindow, "The window"),)
operations = (
    Operation(
        "POST",
        PATH,
        "createMaintenanceWindow",
        "Start a maintenance window now for a duration, or schedule one (weekly if asked)",
        TAG,
        (Answer(201, models.MaintenanceWindow, "Created"),),
        errors=(400, 413, 422, 503),
        body=models.MaintenanceBody,
        endpoint=create_window,
    ),
    Operation(
        "GET",
        PATH,
        "listMaintenanceWindows",
        "Windows on now or still to come, soonest first (?all=true: ended ones too)",
        TAG,
        (Answer(200, list[models.MaintenanceWindow], "Windows"),),
        errors=(400,),
        params=(Param("all", "query", bool, "Include windows that are over"),),
        endpoint=list_windows,
    ),
    Operation(
        "GET",
        PATH + "/{window_id}",
        "getMaintenanceWindow",
        "One window",
        TAG,
        _ONE,
        errors=(404,),
        params=(WINDOW,),
        endpoint=get_window,
    ),
    Operation(
        "POST",
        PATH + "/{window_id}/end",
        "endMaintenanceWindow",
        "End a window now (a weekly one does not come back)",
        TAG,
        _ONE,
        errors=(404, 503),
        params=(WINDOW,),
        endpoint=end_window,
    ),
    Operation(
        "DELETE",
        PATH + "/{window_id}",
        "deleteMaintenanceWindow",
        "Delete a window",
        TAG,
        (Answer(200, models.WindowDeleted, "Deleted"),),
        errors=(404, 503),
        params=(WINDOW,),
        endpoint=delete_window,
    ),
)
