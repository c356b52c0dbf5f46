"""Running the app under uvicorn with limits on what idle or slow clients may hold.

- A connection must finish a request's headers within `header_timeout` seconds of opening
  (or of the request's first byte on a kept-alive connection); a slow-header client
  (slowloris) is closed. uvicorn's own keep-alive timeout covers idle kept-alive
  connections, and WebSockets that never send `connection_init` are closed by the GraphQL
  view (api/graphql/websockets.py).
- At most `max_connections` connections and tasks at once (uvicorn answers 503 beyond).
- The access log shows paths without their query strings, and leaves out /health and the
  demo's self-probes.
- What start-up built is frozen out of the garbage collector's walks (MeshServer), and the
  GIL is handed back every 1 ms rather than 5, so the GraphQL document worker thread never
  holds the event loop up for long.
- The soft limit on open files is raised to the hard limit at start, so sockets run out
  long after the connection cap is reached, never before.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import resource
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("ose_mesh")


def with_header_timeout(seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's HTTP protocol, closing connections whose headers take over `seconds`."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_deadline is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _too_slow(self) -> None:
            self._header_deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


class HideQueryStrings(logging.Filter):
    """Access log lines show the path, never the query string (it may carry a secret, such
    as an `access_token` a client put there although the server takes none from URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


class MeshServer(uvicorn.Server):
    """uvicorn's server, freezing what start-up built out of the garbage collector's sight:
    the schema, the modules and the restored services live as long as the process, and a
    full collection that walks them all took 150-220 ms of a busy server's event loop."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        gc.collect()
        gc.freeze()


class SkipRoutineRequests(logging.Filter):
    """No access log lines for `/health` (load balancers, the web client) and the demo's
    own simulated endpoints, which the mesh probes itself: thousands of lines an hour
    that would bury the requests people make."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            return not (path == "/health" or path.startswith("/demo/"))
        return True


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard one; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, hard, exc)
    return soft


def config(
    app: Any,
    *,
    host: str,
    port: int,
    header_timeout: float,
    max_connections: int,
    **options: Any,
) -> uvicorn.Config:
    """uvicorn's settings with our limits; `options` are passed on (log level, access log)."""
    files = raise_open_file_limit()
    # Long GraphQL documents are parsed on a worker thread: a 1 ms switch interval (5 ms by
    # default) lets the event loop take the GIL back from it quickly, so /health and the
    # other requests wait ~1 ms, not 5, each time the worker holds it.
    sys.setswitchinterval(0.001)
    if files != resource.RLIM_INFINITY and max_connections > files - 64:
        log.warning(
            "OSE_MESH_MAX_CONNECTIONS %d is close to the open-file limit %d; using %d",
            max_connections,
            files,
            files - 64,
        )
        max_connections = max(files - 64, 16)
    server_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=with_header_timeout(header_timeout),
        limit_concurrency=max_connections,
        **options,
    )  # configures uvicorn's loggers: the filter goes on after
    access = logging.getLogger("uvicorn.access")
    access.addFilter(SkipRoutineRequests())
    access.addFilter(HideQueryStrings())
    return server_config
