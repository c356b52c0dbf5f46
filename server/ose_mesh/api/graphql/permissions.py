"""Schema extensions that guard every operation, whatever transport brought it (GET, POST,
multipart, either WebSocket protocol):

- access: queries and subscriptions need a read token, mutations a write token. This is
  decided on the parsed document that is about to run, so no spelling of a request (an
  encoded parameter name, a GET that looks like the GraphiQL page) can run an operation the
  caller's token does not allow;
- size: a document is measured in one linear pass (document_size.py) and refused, before
  validation or any other walk, when it is too long, too big once its fragments are
  expanded, too deep, or asks validation for too many pairwise comparisons; parsing and
  validating a long document happen on one worker thread, never on the event loop;
- a code on every error, so clients can tell their mistakes from ours.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from functools import partial
from typing import TypeVar

from graphql import DocumentNode, GraphQLError, parse, validate
from starlette.responses import Response
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types.graphql import OperationType

from ose_mesh.api.access import Access
from ose_mesh.api.graphql.document_size import SATURATED, DocumentTooBig, measure
from ose_mesh.domain import DomainError

T = TypeVar("T")

MAX_DOCUMENT_CHARS = 20_000  # large values belong in variables, not in the document
MAX_TOKENS = 1_000  # GraphiQL's introspection query has about 330; 1,000 parse in ~20 ms
MAX_FIELDS = 500  # once fragments are expanded; the introspection query has 220
MAX_DEPTH = 12  # the deepest document of the web client is 5 (introspection not counted)
MAX_ALIASES = 30
MAX_REPEATS = 10  # fields of one response name in one selection set
MAX_SPREADS = 20  # fragment spreads in one selection set
# Documents longer than this are parsed and validated on the context's worker thread (one
# for the whole server), so a stream of them never holds the event loop for long.
OFF_LOOP_CHARS = 512
GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")


def _placeholder(operation_name: str | None) -> DocumentNode:
    """Stands in for a document that was not parsed (too long, or a syntax error), so that
    the refusal happens where every other one does; named like the operation asked for, so
    strawberry finds it before the refusal is reported."""
    if operation_name and GRAPHQL_NAME.fullmatch(operation_name):
        return parse(f"query {operation_name} {{ __typename }}")
    return parse("{ __typename }")


def _access_of(context: object) -> Access:
    return context.get("access", Access.WRITE) if isinstance(context, dict) else Access.WRITE


class OperationGuard(SchemaExtension):
    """Parses and validates each document itself (off the event loop when it is long),
    refusing first what the caller may not run and what is too big."""

    refusal: GraphQLError | None = None  # found while parsing

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        query = context.query or ""
        if context.graphql_document is None and query:
            if len(query) > MAX_DOCUMENT_CHARS:
                self.refusal = _too_big(
                    f"the document is longer than {MAX_DOCUMENT_CHARS:,} characters;"
                    " pass large values as variables"
                )
            else:
                try:
                    context.graphql_document = await self._work(
                        partial(parse, query, max_tokens=MAX_TOKENS)
                    )
                except GraphQLError as error:
                    self.refusal = error
            if self.refusal is not None:
                context.graphql_document = _placeholder(context.operation_name)
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        error = (
            self.refusal or self._access_error() or self._transport_error()
        )  # before any walk of the document
        if error is not None:
            self.execution_context.pre_execution_errors = [error]
        else:  # an empty list: validated, so strawberry does not validate again
            self.execution_context.pre_execution_errors = await self._work(self._validate)
        yield

    async def _work(self, job: Callable[[], T]) -> T:
        """Run `job` on the context's worker thread when the document is long."""
        context = self.execution_context.context
        worker = context.get("document_worker") if isinstance(context, dict) else None
        if (
            isinstance(worker, Executor)
            and len(self.execution_context.query or "") > OFF_LOOP_CHARS
        ):
            return await asyncio.get_running_loop().run_in_executor(worker, job)
        return job()

    def _validate(self) -> list[GraphQLError]:
        context = self.execution_context
        assert context.graphql_document is not None
        error = self._size_error(context.graphql_document)
        if error is not None:
            return [error]
        schema = context.schema._schema
        return list(validate(schema, context.graphql_document, context.validation_rules))

    def _access_error(self) -> GraphQLError | None:
        context = self.execution_context.context
        access = _access_of(context)
        mutation = self.execution_context.operation_type is OperationType.MUTATION
        needed = Access.WRITE if mutation else Access.READ
        if access >= needed:
            return None
        response = context.get("response") if isinstance(context, dict) else None
        if access is Access.NONE:
            status, code = 401, "UNAUTHENTICATED"
            message = "a token is needed: send 'Authorization: Bearer <token>'"
        else:
            status, code = 403, "FORBIDDEN"
            message = "this needs a write token; yours can only read"
        if isinstance(response, Response):
            response.status_code = status
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="ose-mesh"'
        return GraphQLError(message, extensions={"code": code})

    def _transport_error(self) -> GraphQLError | None:
        context = self.execution_context.context
        subscription = self.execution_context.operation_type is OperationType.SUBSCRIPTION
        if not subscription or not isinstance(context, dict) or context.get("streaming", True):
            return None
        response = context.get("response")
        if isinstance(response, Response):
            response.status_code = 400
        return GraphQLError(
            "a subscription needs a WebSocket (graphql-transport-ws) or a multipart request"
            " (Accept: multipart/mixed;subscriptionSpec=1.0)",
            extensions={"code": "BAD_REQUEST"},
        )

    @staticmethod
    def _size_error(document: DocumentNode) -> GraphQLError | None:
        try:
            size = measure(document)
        except DocumentTooBig as exc:
            return _too_big(str(exc))
        limits = (
            (size.fields, MAX_FIELDS, "fields once fragments are expanded"),
            (size.depth, MAX_DEPTH, "query depth"),
            (size.aliases, MAX_ALIASES, "aliases"),
            (size.repeats, MAX_REPEATS, "fields of one name in one selection set"),
            (size.spreads, MAX_SPREADS, "fragment spreads in one selection set"),
        )
        for value, limit, what in limits:
            if value > limit:
                shown = f"{value:,}" if value < SATURATED else "over a trillion"
                return _too_big(f"the document asks too much: {what} {shown}, at most {limit:,}")
        return None


def _too_big(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def caused_by_caller(error: GraphQLError) -> bool:
    """A refused document, a bad argument or variable (graphql-core's own coercion errors
    are GraphQLErrors), an unknown id: the caller's mistake."""
    cause = error.original_error
    return cause is None or isinstance(cause, ValueError | DomainError | GraphQLError)


class MaskUnexpected(MaskErrors):
    """An error the server did not expect shows the client only that it happened (its
    message could carry internals); MeshSchema.process_errors logged it, traceback and all,
    before this runs."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda error: not caused_by_caller(error),
            error_message="Unexpected error; the server has logged it.",
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


class ErrorCodes(SchemaExtension):
    """`extensions.code` on every error: BAD_USER_INPUT for what the caller sent (a bad
    argument, an unknown id), INTERNAL_SERVER_ERROR for anything else (then logged)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors or []) if result else []:
            if error.extensions and "code" in error.extensions:
                continue
            code = "BAD_USER_INPUT" if caused_by_caller(error) else "INTERNAL_SERVER_ERROR"
            error.extensions = {**(error.extensions or {}), "code": code}


def guards() -> list[Callable[[], SchemaExtension]]:
    """A fresh set of guards for each operation. MaskUnexpected comes first so that it runs
    last, after ErrorCodes has seen the original errors."""
    return [MaskUnexpected, ErrorCodes, OperationGuard]
