"""Alert webhooks: transitions are POSTed, retried with backoff, failures visible."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from tests.conftest import sqlite_url
from tests.eventually import eventually
from tests.fakes import ScriptedProber


async def receiver(fail_first: int) -> tuple[web.AppRunner, str, list[dict[str, Any]]]:
    """A local HTTP endpoint that refuses its first `fail_first` calls with 503."""
    received: list[dict[str, Any]] = []
    calls = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls <= fail_first:
            return web.Response(status=503)
        received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/hook", received


async def serve(tmp_path: Path, urls: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(database_url=sqlite_url(tmp_path), webhook_urls=urls)
    app = create_app(settings, prober=ScriptedProber(), broker=MemoryBroker(MemoryVirtualHost()))
    app.state.parts.webhooks.first_backoff = 0.01  # keep the retries quick in tests
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client


async def test_transitions_reach_the_webhook_after_retries(tmp_path: Path) -> None:
    runner, url, received = await receiver(fail_first=2)
    try:
        async for client in serve(tmp_path, url):
            await client.post("/api/v1/heartbeat/register", json={"service_id": "api"})
            await client.post("/api/v1/heartbeat/api/beat")
            await eventually(lambda: any(r.get("service_id") == "api" for r in received))
            alert = next(r for r in received if r.get("service_id") == "api")
            assert alert["event_type"] == "service.health.healthy"
            assert (alert["previous"], alert["current"]) == ("unknown", "healthy")
            hooks = (await client.get("/api/v1/messagebus/status")).json()["webhooks"]
            assert hooks["failed"] == 0
            assert hooks["delivered"] >= 1
    finally:
        await runner.cleanup()


async def test_a_broken_receiver_is_visible_in_the_status(tmp_path: Path) -> None:
    async for client in serve(tmp_path, "http://127.0.0.1:9/nowhere"):
        await client.post("/api/v1/heartbeat/register", json={"service_id": "api"})
        await client.post("/api/v1/heartbeat/api/beat")

        hooks = await eventually(lambda c=client: _failed_webhooks(c))
        assert hooks["failed"] >= 1
        assert "127.0.0.1:9" in hooks["last_error"]


async def _failed_webhooks(client: httpx.AsyncClient) -> dict[str, Any] | None:
    status = (await client.get("/api/v1/messagebus/status")).json()
    hooks: dict[str, Any] = status["webhooks"]
    return hooks if hooks["failed"] else None


def test_webhook_urls_must_be_http() -> None:
    import pytest

    from ose_mesh.config import ConfigError

    with pytest.raises(ConfigError, match="OSE_MESH_WEBHOOK_URLS"):
        load_settings(webhook_urls="ftp://example.org/hook")
