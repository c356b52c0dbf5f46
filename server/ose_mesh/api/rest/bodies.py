"""Request bodies of the REST routes: parsed from JSON or form data, then validated."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from ose_mesh.api.json_input import JsonRefused, parse_json
from ose_mesh.api.rest.errors import BadRequest
from ose_mesh.core import ServiceSpec
from ose_mesh.domain import CheckType
from ose_mesh.domain.service import MAX_COUNT, SERVICE_ID_PATTERN

Model = TypeVar("Model", bound=BaseModel)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RegisterBody(BaseModel):
    """Fields of POST /api/v1/heartbeat/register (the reference's, plus check details)."""

    model_config = ConfigDict(extra="forbid")

    # The constraints repeat the domain's rules so the OpenAPI document shows them; the
    # domain (CheckConfig.validated) stays the authority, with the cross-field rules.
    service_id: Annotated[str, Field(pattern=SERVICE_ID_PATTERN.pattern)]
    service_name: Annotated[str | None, Field(max_length=200)] = None
    check_type: Literal["http", "tcp", "push"] | None = None
    interval_seconds: Annotated[float | None, Field(ge=1, le=86_400)] = None
    timeout_seconds: Annotated[float | None, Field(gt=0, le=30 * 86_400)] = None
    max_failures: Annotated[int | None, Field(ge=1, le=MAX_COUNT)] = None
    probe_timeout_seconds: Annotated[float | None, Field(gt=0, le=300)] = None
    recovery_successes: Annotated[int | None, Field(ge=1, le=MAX_COUNT)] = None
    latency_threshold_ms: Annotated[float | None, Field(gt=0, le=3_600_000)] = None
    health_url: Annotated[str | None, Field(max_length=2048)] = None
    host: Annotated[str | None, Field(max_length=255)] = None
    port: Annotated[int | None, Field(ge=1, le=65535)] = None
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


def whole_number(raw: str) -> int | None:
    """`raw` as a whole number, or None. Only ASCII digits, at most 18: `str.isdigit` also
    takes "²", which `int` refuses, and `int` refuses strings of over 4,300 digits."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


def whole_number_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A query parameter that must be a whole number from `low` to `high`, else 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    number = whole_number(raw)
    if number is None or not low <= number <= high:
        raise BadRequest(f"{name}: must be a whole number from {low} to {high}, got {raw!r}")
    return number


async def read_body(request: Request, model: type[Model]) -> Model:
    """Parse a JSON object or a form; raise BadRequest or pydantic's ValidationError.
    JSON is validated strictly (`false` is no number); forms carry only text, so their
    values are converted."""
    fields, is_form = await _raw_fields(request)
    return model.model_validate(fields, strict=not is_form)


async def _raw_fields(request: Request) -> tuple[dict[str, Any], bool]:
    """The body's fields, and whether they came from a form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        # `curl -d '{"latency_ms": 12}'` labels JSON as a form: a body that is a JSON
        # object is read as one, whatever the label says.
        body = await request.body()
        if body.lstrip().startswith(b"{"):
            try:
                data = parse_json(body)
            except JsonRefused:
                data = None
            if isinstance(data, dict):
                return data, False
    if content_type in FORM_TYPES:
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}, True
    body = await request.body()
    if not body.strip():
        return {}, False
    if content_type not in ("", "application/json") and not content_type.endswith("+json"):
        raise BadRequest(
            f"Unsupported content type '{content_type}'; send application/json or a form."
        )
    try:
        data = parse_json(body)
    except JsonRefused as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    return data, False
