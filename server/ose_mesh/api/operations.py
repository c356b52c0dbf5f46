"""The route table's entries: a REST operation with everything the OpenAPI document says
about it (api/openapi.py generates the document from these, and only from these)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: Literal["path", "query"]
    shape: Any  # a type pydantic can describe: int, Annotated[int, Field(ge=1)], a Literal…
    description: str


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    shape: Any  # a typed dict of api/rest/models.py, or None for text
    description: str
    media: str = "application/json"


@dataclass(frozen=True, slots=True)
class Operation:
    method: Literal["GET", "POST", "DELETE"]
    path: str
    operation_id: str  # stable, camelCase: client generators name their functions with it
    summary: str
    tag: str
    answers: tuple[Answer, ...]
    errors: tuple[int, ...] = ()  # besides 401 and 403, which every guarded route may answer
    params: tuple[Param, ...] = ()
    body: type[BaseModel] | None = None
    body_required: bool = True
    form: bool = True  # the body may also come as a form
    any_object_bodies: tuple[str, ...] = ()  # other media types taking a JSON object
    public: bool = False  # needs no token
    endpoint: Endpoint | None = None  # None: the app supplies it (/health, /metrics)

    def route(self, endpoint: Endpoint | None = None) -> Route:
        handler = endpoint or self.endpoint
        if handler is None:
            raise ValueError(f"{self.operation_id} needs its endpoint")
        return Route(self.path, handler, methods=[self.method])
