"""Request bodies of the REST routes: parsed from JSON or form data, then validated."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from ose_mesh.api.rest.errors import BadRequest
from ose_mesh.core import ServiceSpec
from ose_mesh.domain import CheckType

Model = TypeVar("Model", bound=BaseModel)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RegisterBody(BaseModel):
    """Fields of POST /api/v1/heartbeat/register (the reference's, plus check details)."""

    model_config = ConfigDict(extra="forbid")

    service_id: str
    service_name: Annotated[str | None, Field(max_length=200)] = None
    check_type: Literal["http", "tcp", "push"] | None = None
    interval_seconds: float | None = None
    timeout_seconds: float | None = None
    max_failures: int | None = None
    probe_timeout_seconds: float | None = None
    recovery_successes: int | None = None
    latency_threshold_ms: float | None = None
    health_url: Annotated[str | None, Field(max_length=2048)] = None
    host: Annotated[str | None, Field(max_length=255)] = None
    port: int | None = None
    cluster: Annotated[str | None, Field(max_length=200)] = None

    def to_spec(self) -> ServiceSpec:
        values = self.model_dump()
        check_type = values.pop("check_type")
        return ServiceSpec(check_type=CheckType(check_type) if check_type else None, **values)


class BeatBody(BaseModel):
    """Fields of POST /api/v1/heartbeat/{service_id}/beat; all optional."""

    model_config = ConfigDict(extra="forbid")

    ok: bool = True
    latency_ms: Annotated[float | None, Field(ge=0, le=3_600_000)] = None
    message: Annotated[str | None, Field(max_length=1000)] = None


async def read_body(request: Request, model: type[Model]) -> Model:
    """Parse a JSON object or a form; raise BadRequest or pydantic's ValidationError."""
    return model.model_validate(await _raw_fields(request))


async def _raw_fields(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    body = await request.body()
    if not body.strip():
        return {}
    if content_type not in ("", "application/json") and not content_type.endswith("+json"):
        raise BadRequest(
            f"Unsupported content type '{content_type}'; send application/json or a form."
        )
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    return data
