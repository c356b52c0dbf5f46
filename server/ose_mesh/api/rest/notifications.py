"""Notification targets over REST: create, list (with how delivery goes), test, delete."""

from __future__ import annotations

from typing import Literal, cast

from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh.api.operations import Answer, Operation, Param
from ose_mesh.api.rest import models
from ose_mesh.api.rest.bodies import read_body, use_cases
from ose_mesh.core.alerts import DeliveryFailed
from ose_mesh.core.notifications import NotificationCenter
from ose_mesh.domain.notifications import NotificationTarget

PATH = "/api/v1/notifications/targets"
TAG = "notifications"


def target_json(
    center: NotificationCenter, target: NotificationTarget
) -> models.NotificationTarget:
    stats = center.counts_of(target.target_id)
    return {
        "target_id": target.target_id,
        "name": target.name,
        "kind": target.kind,
        "url": target.shown_url,
        "source": cast(Literal["api", "file"], target.source),
        "rule": cast(models.NotificationRuleAnswer, target.rule.to_json()),
        "delivered": stats.delivered,
        "failed": stats.failed,
        "last_error": stats.last_error,
        "last_sent_at": None if stats.last_sent_at is None else stats.last_sent_at.isoformat(),
    }


async def create_target(request: Request) -> JSONResponse:
    body = await read_body(request, models.NotificationTargetBody)
    center = use_cases(request).notifications
    target = await center.create(body.to_spec())
    return JSONResponse(target_json(center, target), status_code=201)


async def list_targets(request: Request) -> JSONResponse:
    center = use_cases(request).notifications
    return JSONResponse([target_json(center, target) for target in center.targets()])


async def test_target(request: Request) -> JSONResponse:
    answer: models.TestDelivery = {"delivered": True, "error": None}
    try:
        await use_cases(request).notifications.test(request.path_params["target_id"])
    except DeliveryFailed as exc:
        answer = {"delivered": False, "error": str(exc)}
    return JSONResponse(answer)


async def delete_target(request: Request) -> JSONResponse:
    target_id = request.path_params["target_id"]
    await use_cases(request).notifications.delete(target_id)
    answer: models.TargetDeleted = {"deleted": target_id}
    return JSONResponse(answer)


TARGET = Param("target_id", "path", str, "The target's id")
operations = (
    Operation(
        "POST",
        PATH,
        "createNotificationTarget",
        "Add a notification target (an Apprise URL or an http(s) webhook) with its rule",
        TAG,
        (Answer(201, models.NotificationTarget, "Created"),),
        errors=(400, 413, 422, 503),
        body=models.NotificationTargetBody,
        endpoint=create_target,
    ),
    Operation(
        "GET",
        PATH,
        "listNotificationTargets",
        "Every target (the file's too), with its deliveries and last error",
        TAG,
        (Answer(200, list[models.NotificationTarget], "Targets"),),
        endpoint=list_targets,
    ),
    Operation(
        "POST",
        PATH + "/{target_id}/test",
        "testNotificationTarget",
        "Send a test message now; says whether it was delivered",
        TAG,
        (Answer(200, models.TestDelivery, "Sent or not, and why"),),
        errors=(404,),
        params=(TARGET,),
        endpoint=test_target,
    ),
    Operation(
        "DELETE",
        PATH + "/{target_id}",
        "deleteNotificationTarget",
        "Remove a target (those of the file are changed in the file)",
        TAG,
        (Answer(200, models.TargetDeleted, "Deleted"),),
        errors=(404, 422, 503),
        params=(TARGET,),
        endpoint=delete_target,
    ),
)
