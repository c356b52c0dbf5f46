"""Schema extensions that guard every operation: write access for mutations, limits on how
big a document may be (depth, aliases, tokens) so no query can take the server down, and a
code on every error so clients can tell their mistakes from ours."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from ose_mesh.api.access import Access
from ose_mesh.domain import DomainError

MAX_DEPTH = 12  # the deepest document of the web client is 5; GraphiQL's introspection 10
MAX_ALIASES = 30
MAX_TOKENS = 5_000


class WriteAccess(SchemaExtension):
    """Refuses mutations to a caller without write access, before anything runs."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        access = context.get("access", Access.WRITE) if isinstance(context, dict) else Access.WRITE
        if self.execution_context.operation_type is OperationType.MUTATION and (
            access < Access.WRITE
        ):
            error = GraphQLError(
                "this needs a write token; yours can only read",
                extensions={"code": "FORBIDDEN"},
            )
            self.execution_context.result = ExecutionResult(data=None, errors=[error])
            response = context.get("response")
            if isinstance(response, Response):
                response.status_code = 403
        yield


class ErrorCodes(SchemaExtension):
    """`extensions.code` on every error: BAD_USER_INPUT for what the caller sent (a bad
    argument, an unknown id), INTERNAL_SERVER_ERROR for anything else (then logged)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors or []) if result else []:
            if error.extensions and "code" in error.extensions:
                continue
            cause = error.original_error
            caller = cause is None or isinstance(cause, ValueError | DomainError)
            code = "BAD_USER_INPUT" if caller else "INTERNAL_SERVER_ERROR"
            error.extensions = {**(error.extensions or {}), "code": code}


def guards() -> list[Callable[[], SchemaExtension]]:
    """A fresh set of guards for each operation."""
    return [
        ErrorCodes,
        WriteAccess,
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
    ]
