"""The GraphQL endpoint: strawberry's ASGI view with our GraphiQL page and access control.

Over HTTP the access level comes from the AccessControl middleware (which refuses a POST
without a valid token). Over WebSocket the token comes in `connection_init`, as
`{"Authorization": "Bearer <token>"}` (or `{"token": "<token>"}`): without a valid one the
connection closes with 4403. Every operation is then judged in the schema on the document
it parsed (permissions.py). This view also reads JSON with limits, lets HTTP operations take
turns, answers `application/graphql-response+json` as GraphQL over HTTP says, and uses the
WebSocket handlers of websockets.py.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse

from ose_mesh.api import json_output
from ose_mesh.api.access import SCOPE_KEY, Access, Tokens, bearer
from ose_mesh.api.graphiql import OfflineGraphQL
from ose_mesh.api.graphql.websockets import LegacyWsHandler, TransportWsHandler
from ose_mesh.api.json_input import JsonRefused, parse_json

MAX_CONCURRENT_OPERATIONS = 2  # GraphQL requests over HTTP being worked on at once
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def preferred_media_type(accept: str) -> str:
    """GraphQL-over-HTTP's media type when the Accept header prefers it to JSON."""
    best, best_q = JSON, -1.0
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        if media not in (GRAPHQL_RESPONSE, JSON, "*/*", "application/*"):
            continue
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        chosen = GRAPHQL_RESPONSE if media == GRAPHQL_RESPONSE else JSON
        if q > best_q:
            best, best_q = chosen, q
    return best


class MeshGraphQL(OfflineGraphQL):
    graphql_transport_ws_handler_class = TransportWsHandler
    graphql_ws_handler_class = LegacyWsHandler

    def __init__(self, *args: Any, tokens: Tokens, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens = tokens
        # Long documents are parsed and validated here, one at a time (permissions.py).
        self.document_worker = ThreadPoolExecutor(1, thread_name_prefix="graphql-documents")
        self._admission = asyncio.Semaphore(MAX_CONCURRENT_OPERATIONS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HTTP operations take turns, a few at a time, until their answer starts: a flood
        of expensive documents queues here (before its bodies are read) instead of filling
        the event loop, so /health and the pages stay quick. WebSockets take no turn."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        await self._admission.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._admission.release()

        async def send_then_release(message: Message) -> None:
            if message["type"] == "http.response.start":
                release()  # the work is done; a subscription streams without a turn
            await send(message)

        try:
            await super().__call__(scope, receive, send_then_release)
        finally:
            release()

    def decode_json(self, data: str | bytes) -> object:
        """Request bodies, `variables` in a GET and WebSocket messages, read with limits."""
        return parse_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except JsonRefused as exc:
            raise HTTPException(400, f"Unable to parse request body as JSON: {exc}") from None

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        response = await super().get_sub_response(request)
        response.media_type = preferred_media_type(request.headers.get("accept", ""))
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """As GraphQL over HTTP says for `application/graphql-response+json`: a request that
        did not execute (a document, access or variable error: errors without a path and no
        data) answers 4xx with no `data` entry. `application/json` keeps 200. An answer with
        thousands of items is encoded a step at a time (json_output.py)."""
        not_executed = False
        if sub_response.media_type == GRAPHQL_RESPONSE and isinstance(response_data, dict):
            errors = response_data.get("errors") or []
            not_executed = (
                response_data.get("data") is None
                and bool(errors)
                and all(isinstance(error, dict) and "path" not in error for error in errors)
            )
            if not_executed:
                response_data = cast(
                    GraphQLHTTPResponse, {k: v for k, v in response_data.items() if k != "data"}
                )
        if json_output.is_long(response_data):
            response: Response = json_output.stream(response_data)
            response.headers.raw.extend(sub_response.headers.raw)  # as strawberry's own does
            response.background = sub_response.background
            if sub_response.status_code:
                response.status_code = sub_response.status_code
        else:
            response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        if not_executed and not sub_response.status_code:
            response.status_code = 400
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> dict[str, Any]:
        if isinstance(request, WebSocket):
            access = Access.NONE if self.tokens.enabled else Access.WRITE  # until connection_init
            streaming = True
        else:
            access = request.scope.get(SCOPE_KEY, Access.WRITE)
            # A subscription needs a transport that can stream: multipart over HTTP.
            streaming = self._get_stream_transport_from_headers(request.headers) is not None
        return {
            "request": request,
            "response": response,
            "access": access,
            "streaming": streaming,
            "document_worker": self.document_worker,
        }

    async def on_ws_connect(self, context: dict[str, Any]) -> None:
        params = context.get("connection_params") or {}
        token = None
        if isinstance(params, dict):
            header = params.get("Authorization") or params.get("authorization")
            token = bearer(header) if isinstance(header, str) else None
            token = token or (params["token"] if isinstance(params.get("token"), str) else None)
        access = self.tokens.access_of(token)
        if access is Access.NONE:
            raise ConnectionRejectionError({"message": "a valid token is needed"})
        context["access"] = access
