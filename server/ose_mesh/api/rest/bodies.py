"""Reading REST requests: the use cases the app gives every route, bodies from JSON or
form data (then validated by the models of models.py), and whole-number query parameters."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from ose_mesh.api.json_input import JsonRefused, parse_json
from ose_mesh.api.rest.errors import BadRequest
from ose_mesh.core.use_cases import UseCases

Model = TypeVar("Model", bound=BaseModel)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def use_cases(request: Request) -> UseCases:
    """What a route is given: the use cases (app.state.mesh, set by create_app)."""
    mesh: UseCases = request.app.state.mesh
    return mesh


def whole_number(raw: str) -> int | None:
    """`raw` as a whole number, or None. Only ASCII digits, at most 18: `str.isdigit` also
    takes "²", which `int` refuses, and `int` refuses strings of over 4,300 digits."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


def yes_no_param(request: Request, name: str) -> bool:
    """A boolean query parameter: true/false (or 1/0); absent is false."""
    values = request.query_params.getlist(name)
    if not values:
        return False
    if len(values) > 1 or values[0] not in ("true", "false", "1", "0"):
        raise BadRequest(f"{name}: must be true or false, got {', '.join(values)!r}")
    return values[0] in ("true", "1")


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
