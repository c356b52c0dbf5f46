"""Who may do what: bearer tokens with two scopes, read and write.

With no token configured every request may do everything (and `ose-mesh serve` then listens
on loopback only: protected mode, cli.py). With tokens, reads (GET routes, queries,
subscriptions, /metrics) need a read or write token; every change (registration, beats,
dependencies, publishing, mutations) needs a write token. `/health`, the pages and their
static files stay open: they hold no data, the data comes through the API.

A service may push its own beats with its beat token instead of a write token: an HMAC of its
id under the first write token, so nothing is stored and rotating that token rotates them.
Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

BEAT_PATH = re.compile(r"^/api/v1/heartbeat/([^/]+)/beat$")
# The status page's data is open: it holds only what its operator made public.
OPEN_PATHS = frozenset({"/health", "/api/openapi.json", "/api/docs", "/api/v1/status-page"})
OPEN_PREFIXES = ("/static/", "/api/v1/status-page/")
SCOPE_KEY = "ose_mesh.access"  # where the request's access level is kept in the ASGI scope


class Access(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2


class TokenFileError(Exception):
    """The token file cannot be read or has a bad line; the message says which."""


@dataclass(frozen=True)
class Tokens:
    read: tuple[bytes, ...] = field(default=(), repr=False)  # never in a log line
    write: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def enabled(self) -> bool:
        return bool(self.read or self.write)

    @classmethod
    def from_values(
        cls, read: Iterable[str], write: Iterable[str], file: Path | None = None
    ) -> Tokens:
        readers = [t.strip() for t in read if t.strip()]
        writers = [t.strip() for t in write if t.strip()]
        if file is not None:
            file_readers, file_writers = _read_token_file(file)
            readers += file_readers
            writers += file_writers
        return cls(tuple(t.encode() for t in readers), tuple(t.encode() for t in writers))

    def access_of(self, token: str | None) -> Access:
        """The access a token gives; every known token is compared, in constant time."""
        if not self.enabled:
            return Access.WRITE
        if not token:
            return Access.NONE
        given = token.encode()
        # Lists, not generators: every token is compared, so timing says nothing of which.
        writes = any([hmac.compare_digest(given, known) for known in self.write])  # noqa: C419
        reads = any([hmac.compare_digest(given, known) for known in self.read])  # noqa: C419
        return Access.WRITE if writes else Access.READ if reads else Access.NONE

    def beat_token(self, service_id: str) -> str | None:
        """The token with which `service_id` may push its own beats (None: no tokens)."""
        if not self.write:
            return None
        digest = hmac.new(self.write[0], f"beat:{service_id}".encode(), hashlib.sha256)
        return digest.hexdigest()

    def may_beat(self, service_id: str, token: str | None) -> bool:
        expected = self.beat_token(service_id)
        return (
            expected is not None
            and token is not None
            and hmac.compare_digest(token.encode(), expected.encode())
        )


def _read_token_file(path: Path) -> tuple[list[str], list[str]]:
    """Lines `read TOKEN` or `write TOKEN`; blank lines and `#` comments are ignored."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot be read ({exc.strerror})") from None
    readers: list[str] = []
    writers: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2 or words[0] not in ("read", "write"):
            raise TokenFileError(f"{path}:{number}: expected 'read TOKEN' or 'write TOKEN'")
        (readers if words[0] == "read" else writers).append(words[1])
    return readers, writers


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header."""
    if not header:
        return None
    kind, _, token = header.partition(" ")
    return token.strip() or None if kind.lower() == "bearer" else None


def needed_access(method: str, path: str) -> Access:
    """What a plain HTTP request needs (GraphQL operations are checked in the schema)."""
    if (
        path in OPEN_PATHS
        or path.startswith(OPEN_PREFIXES)
        or not path.startswith(("/api/", "/graphql", "/metrics", "/v1/"))
    ):
        return Access.NONE  # /health, the pages and their files
    if path == "/graphql":
        # A GET may be GraphiQL's page or an operation: the schema decides on the operation
        # it parsed (permissions.py), never on how the query string is spelled. Every POST
        # carries an operation, all of which need at least a read token.
        return Access.NONE if method in ("GET", "HEAD") else Access.READ
    return Access.READ if method in ("GET", "HEAD") else Access.WRITE  # /v1/traces: OTLP


class AccessControl:
    """ASGI middleware: answer 401 (no or unknown token) or 403 (read token, write request)
    before the request reaches a route; record the access level for the routes and GraphQL.
    WebSockets pass: their token comes in `connection_init` (api/graphql/access.py)."""

    def __init__(self, app: ASGIApp, tokens: Tokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.tokens.enabled:
            # No tokens: everyone may do everything (the routes' default), and the beat
            # route, the busiest, pays nothing for access control.
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = bearer(headers.get(b"authorization", b"").decode("latin-1"))
        access = self.tokens.access_of(token)
        scope[SCOPE_KEY] = access
        needed = needed_access(scope["method"], scope["path"])
        beat = BEAT_PATH.match(scope["path"])
        if beat and access < Access.WRITE and self.tokens.may_beat(beat.group(1), token):
            access = needed  # the service's own beat token
        if access >= needed:
            await self.app(scope, receive, send)
        elif access is Access.NONE:
            detail = "a token is needed: send 'Authorization: Bearer <token>'"
            if token:
                detail = "the token is not valid"
            await _deny(send, 401, "unauthorized", detail)
        else:
            await _deny(send, 403, "forbidden", "this needs a write token; yours can only read")


async def _deny(send: Send, status: int, error: str, detail: str) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="ose-mesh"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
