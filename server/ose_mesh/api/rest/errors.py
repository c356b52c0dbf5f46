"""JSON errors for the REST routes: `{"error": code, "detail": message, ...}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ose_mesh.domain import (
    DependencyNotFound,
    DomainError,
    EventRefused,
    InvalidField,
    MaintenanceWindowNotFound,
    NotificationTargetNotFound,
    ServiceNotFound,
    StatusPageNotFound,
    StorageRefused,
    Unavailable,
    UnknownExchange,
)


class BadRequest(Exception):
    """The request could not be read at all (malformed JSON, wrong content type)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def error_response(
    status: int, error: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"error": error, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_error_response(exc: ValidationError) -> JSONResponse:
    """422 naming every bad field, e.g. `interval_seconds: Input should be a valid number`."""
    problems = [
        {"field": ".".join(str(part) for part in error["loc"]) or "body", "message": error["msg"]}
        for error in exc.errors()
    ]
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return error_response(
        422, "invalid_field", detail, field=problems[0]["field"], problems=problems
    )


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    match exc:
        case ServiceNotFound():
            return error_response(404, "not_found", exc.message, service_id=exc.service_id)
        case UnknownExchange():
            return error_response(404, "not_found", exc.message, exchange=exc.exchange)
        case EventRefused():
            return error_response(422, "refused", exc.message)
        case (
            DependencyNotFound()
            | StatusPageNotFound()
            | MaintenanceWindowNotFound()
            | NotificationTargetNotFound()
        ):
            return error_response(404, "not_found", exc.message)
        case InvalidField():
            return error_response(422, "invalid_field", exc.message, field=exc.field)
        case StorageRefused():
            return error_response(422, "refused", exc.message)
        case Unavailable():
            return error_response(
                503,
                "unavailable",
                exc.message,
                headers={"Retry-After": str(exc.retry_after_seconds)},
            )
        case DomainError():
            return error_response(400, "bad_request", exc.message)
    raise exc


async def handle_bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return error_response(400, "bad_request", exc.detail)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return validation_error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, exc.detail, headers=exc.headers)  # 405: Allow


EXCEPTION_HANDLERS = {
    DomainError: handle_domain_error,
    BadRequest: handle_bad_request,
    ValidationError: handle_validation_error,
    HTTPException: handle_http_exception,
}
