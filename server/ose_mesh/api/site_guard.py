"""Requests from where they should come from, judged on the headers the server parses.

- DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 reaches
  the server with `Host: evil.example`. Only the allowed host names are answered: by default
  the loopback names when the server listens on loopback (OSE_MESH_ALLOWED_HOSTS otherwise).
- Cross-site requests: a form on any site can POST here without a preflight, and a page can
  open a WebSocket. A browser says where a request comes from (`Origin`, `Sec-Fetch-Site`):
  a change (POST, PUT, PATCH, DELETE) or a WebSocket from another site is refused unless its
  origin is allowed in OSE_MESH_CORS_ORIGINS. Clients that are not browsers send neither
  header and are judged by their token alone.

Starlette's TrustedHostMiddleware is not used: it splits `[::1]:8000` at the first colon.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JUDGED_HEADERS = frozenset({b"host", b"origin", b"sec-fetch-site"})


def host_name(value: str) -> str | None:
    """The name in a Host header or an origin's authority ('[::1]:8000' → '::1')."""
    try:
        name = urlsplit(f"//{value}").hostname
    except ValueError:
        return None
    return name.lower().rstrip(".") if name else None


class SiteGuard:
    """ASGI middleware: 400 for a Host not allowed, 403 for a cross-site change."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: Iterable[str], allowed_origins: Iterable[str]
    ) -> None:
        self.app = app
        hosts = {host.strip().lower().strip("[]") for host in allowed_hosts}
        self.any_host = "*" in hosts
        self.hosts = frozenset(hosts)
        self.origins = frozenset(origin.rstrip("/").lower() for origin in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # Only the three headers judged here are decoded (this runs on every beat too).
        headers = {
            name.decode(): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in JUDGED_HEADERS
        }
        host = headers.get("host", "")
        refusal = self._host_refusal(host) or self._origin_refusal(scope, headers, host)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": refusal[1][:120]})
        else:
            await _refuse(send, *refusal)

    def _host_refusal(self, host: str) -> tuple[int, str] | None:
        if self.any_host or host_name(host) in self.hosts:
            return None
        return 400, (
            f"the Host {host!r} is not one this server answers to; "
            "name it in OSE_MESH_ALLOWED_HOSTS"
        )

    def _origin_refusal(
        self, scope: Scope, headers: dict[str, str], host: str
    ) -> tuple[int, str] | None:
        if scope["type"] == "http" and scope["method"] not in UNSAFE_METHODS:
            return None
        origin = headers.get("origin")
        fetch_site = headers.get("sec-fetch-site", "")
        if origin is None and fetch_site in ("", "same-origin", "none"):
            return None  # not a browser, or a page of this server
        if origin is not None and origin.rstrip("/").lower() in self.origins:
            return None
        if origin is not None and origin != "null" and fetch_site in ("", "same-origin"):
            authority = urlsplit(origin).netloc.lower()
            if authority and authority == host.lower():
                return None  # the server's own pages
        return 403, (
            f"a request from another site ({origin or fetch_site}) may not change anything "
            "here; allow its origin in OSE_MESH_CORS_ORIGINS"
        )


async def _refuse(send: Send, status: int, detail: str) -> None:
    error = "bad_request" if status == 400 else "forbidden"
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
