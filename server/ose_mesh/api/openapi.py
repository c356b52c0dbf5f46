"""The OpenAPI 3.1 document of the REST routes, served at /api/openapi.json, generated from
the route table (api/operations.py) and the shapes of api/rest/models.py: nothing here
describes a route or a field by hand. tests/api/test_openapi.py checks that every route is
documented, every documented operation exists, and real answers fit their schemas.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh import __version__
from ose_mesh.api.operations import Operation
from ose_mesh.api.rest.models import Error

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"

ERRORS = {
    400: "Malformed request (bad JSON, bad query parameter)",
    401: "No token, or a token the server does not know",
    403: "A read token where a write token is needed",
    404: "Not found",
    413: "Body too large",
    422: "A field is invalid; `field` names it",
    429: "Too many beats from this service; see Retry-After",
    503: "The database cannot be reached; try again shortly",
}


class _Schemas:
    """Named shapes go to components (each once, referenced); anonymous ones inline."""

    def __init__(self) -> None:
        self.components: Schema = {}

    def of(self, shape: Any) -> Schema:
        schema = TypeAdapter(shape).json_schema(ref_template=REF)
        self.components.update(schema.pop("$defs", {}))
        name = getattr(shape, "__name__", None)
        if name and schema.get("type") == "object" and "title" in schema:
            self.components[name] = schema
            return {"$ref": REF.format(model=name)}
        return schema

    def model(self, model: type[Any]) -> Schema:
        found, defs = models_json_schema([(model, "validation")], ref_template=REF)
        self.components.update(defs.get("$defs", {}))
        return found[(model, "validation")]


def _json(schema: Schema, description: str, media: str = "application/json") -> Schema:
    return {"description": description, "content": {media: {"schema": schema}}}


def _operation(op: Operation, schemas: _Schemas) -> Schema:
    responses: Schema = {}
    for answer in op.answers:
        shape = {"type": "string"} if answer.shape is None else schemas.of(answer.shape)
        if str(answer.status) in responses:  # a second media type for the same status
            responses[str(answer.status)]["content"][answer.media] = {"schema": shape}
        else:
            responses[str(answer.status)] = _json(shape, answer.description, answer.media)
    codes = set(op.errors)
    if not op.public:
        codes.add(401)
        if op.method != "GET":
            codes.add(403)
    error = schemas.of(Error)
    for code in sorted(codes):
        responses[str(code)] = _json(error, ERRORS[code])
    found: Schema = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": responses,
    }
    if op.params:
        found["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path",
                "schema": schemas.of(p.shape),
                "description": p.description,
            }
            for p in op.params
        ]
    if op.body is not None or op.any_object_bodies:
        content: Schema = {}
        if op.body is not None:
            body = schemas.model(op.body)
            content["application/json"] = {"schema": body}
            if op.form:
                content["application/x-www-form-urlencoded"] = {"schema": body}
        for media in op.any_object_bodies:
            content[media] = {"schema": {"type": "object"}}
        found["requestBody"] = {"required": op.body_required, "content": content}
    if op.public:
        found["security"] = []
    return found


def document(operations: Sequence[Operation]) -> Schema:
    schemas = _Schemas()
    paths: Schema = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OSE Service Mesh",
            "version": __version__,
            "description": (
                "REST routes of OSE Service Mesh (the reference's paths). Everything here is "
                "also in GraphQL at /graphql. Errors are JSON: `{error, detail}`."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A read token for GET routes, a write token for the others "
                    "(needed only when the server has tokens configured; see SECURITY.md). "
                    "A service may push its beats with its own beat token.",
                }
            },
        },
        "security": [{"token": []}],
    }


@functools.cache
def _made(operations: tuple[Operation, ...]) -> Schema:
    return document(operations)


def openapi_endpoint(
    operations: Sequence[Operation],
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """GET /api/openapi.json: the document, made when first asked for (making it takes
    ~0.15 s of pydantic's schema work) and then kept for every app of the process."""
    chosen = tuple(operations)

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(_made(chosen))

    return openapi_json
