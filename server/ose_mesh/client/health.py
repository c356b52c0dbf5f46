"""A `/health` endpoint for Starlette and FastAPI apps, in the shape the mesh's HTTP check
and its assertions understand.

    from ose_mesh.client import HealthEndpoint, ping, sql_ping

    health = HealthEndpoint(
        {"database": sql_ping(engine), "cache": ping(redis), "queue": queue_is_connected},
        timeout=2.0,
    )
    app.add_route("/health", health)          # Starlette and FastAPI alike

It answers 200 when every component passes and 503 when one does not, with a JSON body:

    {"status": "UP", "checks": [{"name": "database", "ok": true, "latency_ms": 1.8}, …]}

so the mesh can check it with `assertions: {"json_path": "$.status", "json_equals": "UP"}`
(or see which component failed with `$.checks[?(@.ok == false)].name`). Components run at
the same time, each under the timeout; a blocking (plain) function runs in a thread so it
cannot stall the application's event loop. A failed component says why in `error`, but
never more than its exception's type and first 200 characters.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

Component = Callable[[], Any]  # returns anything but False (or raises) when it is fine
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class HealthEndpoint:
    """An ASGI app answering GET and HEAD with the health of the given components."""

    def __init__(self, components: Mapping[str, Component], *, timeout: float = 2.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.components = dict(components)
        self.timeout = timeout

    async def results(self) -> dict[str, Any]:
        checks = await asyncio.gather(
            *(self._run(name, component) for name, component in self.components.items())
        )
        return {"status": "UP" if all(c["ok"] for c in checks) else "DOWN", "checks": checks}

    async def _run(self, name: str, component: Component) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                if inspect.iscoroutinefunction(component):
                    value = await component()
                else:
                    value = await asyncio.to_thread(component)
                    if inspect.isawaitable(value):  # a plain function handing back a coroutine
                        value = await value
        except TimeoutError:
            return _check(name, False, started, f"no answer within {self.timeout:g}s")
        except Exception as exc:
            return _check(name, False, started, f"{type(exc).__name__}: {exc}"[:200])
        if value is False:
            return _check(name, False, started, "reported not ok")
        return _check(name, True, started)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError("HealthEndpoint answers HTTP requests only")
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, b'{"error": "use GET"}', extra=[(b"allow", b"GET, HEAD")])
            return
        results = await self.results()
        body = json.dumps(results).encode()
        status = 200 if results["status"] == "UP" else 503
        await _answer(send, status, b"" if scope["method"] == "HEAD" else body, length=len(body))


def _check(name: str, ok: bool, started: float, error: str | None = None) -> dict[str, Any]:
    check: dict[str, Any] = {
        "name": name,
        "ok": ok,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if error is not None:
        check["error"] = error
    return check


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    *,
    length: int | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body) if length is None else length).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def sql_ping(engine: Any) -> Component:
    """A component for a SQLAlchemy engine (async or not): it runs `SELECT 1`."""
    from sqlalchemy import text  # only needed by those who use it

    if hasattr(engine, "sync_engine"):  # an AsyncEngine

        async def ping_async() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        return ping_async

    def ping_sync() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return ping_sync


def ping(client: Any) -> Component:
    """A component for any client with a `ping()` method, awaitable or not (redis-py,
    redis.asyncio, pymongo's admin command wrapped, …); False from it counts as a failure."""

    method = client.ping
    if inspect.iscoroutinefunction(method):

        async def call_ping() -> Any:
            return await method()

        return call_ping
    return cast(Component, method)  # blocking: HealthEndpoint runs it in a thread
