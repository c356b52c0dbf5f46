"""The route table's entries: a REST operation with everything the OpenAPI document says
about it (api/openapi.py generates the document from these, and only from these)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
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


def routes(operations: Iterable[Operation]) -> list[Route]:
    """One route per path, whatever methods it has: a request with another method gets a
    405 whose Allow header lists them all (one route per operation would list only the
    first route's method)."""
    by_path: dict[str, dict[str, Endpoint]] = {}
    for operation in operations:
        if operation.endpoint is None:
            raise ValueError(f"{operation.operation_id} needs its endpoint")
        by_path.setdefault(operation.path, {})[operation.method] = operation.endpoint
    return [Route(path, _by_method(ends), methods=list(ends)) for path, ends in by_path.items()]


def _by_method(endpoints: dict[str, Endpoint]) -> Endpoint:
    if len(endpoints) == 1:
        return next(iter(endpoints.values()))

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return dispatch
