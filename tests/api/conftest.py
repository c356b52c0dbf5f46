"""An app on a fresh SQLite file with a scripted prober, driven in-process through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from starlette.applications import Starlette

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from tests.conftest import sqlite_url
from tests.fakes import ScriptedProber


@pytest.fixture
def prober() -> ScriptedProber:
    return ScriptedProber()


@pytest.fixture
async def app(tmp_path: Path, prober: ScriptedProber) -> AsyncIterator[Starlette]:
    settings = load_settings(database_url=sqlite_url(tmp_path), history_flush_seconds=0.2)
    application = create_app(settings, prober=prober, broker=MemoryBroker(MemoryVirtualHost()))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class HttpInbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.port = 0


@pytest.fixture
async def http_inbox() -> AsyncIterator[HttpInbox]:
    inbox = HttpInbox()

    async def take(request: web.Request) -> web.Response:
        inbox.received.append((request.path, await request.json()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{path:.*}", take)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    inbox.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield inbox
    await runner.cleanup()
