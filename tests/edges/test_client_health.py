"""The /health endpoint helper of `ose_mesh.client`, in a Starlette app: components pinged
for real (SQLite and PostgreSQL through SQLAlchemy), timeouts and errors, and the mesh's own
HTTP check with assertions reading what it answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette

from ose_mesh.adapters.probes import NetworkPolicy, NetworkProber
from ose_mesh.client import HealthEndpoint, ping, sql_ping
from ose_mesh.domain import CheckConfig, CheckType, HttpAssertions, Service
from tests.conftest import POSTGRES_URL
from tests.eventually import eventually
from tests.integration.server import free_port


async def answer(endpoint: HealthEndpoint, method: str = "GET") -> httpx.Response:
    app = Starlette()
    app.add_route("/health", endpoint, methods=["GET", "HEAD", "POST"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return await client.request(method, "/health")


@pytest.mark.postgres
async def test_every_component_up_is_200_with_each_result(tmp_path: Path) -> None:
    sqlite = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    blocking_sqlite = create_engine(f"sqlite:///{tmp_path / 'sync.db'}")
    postgres = create_async_engine(POSTGRES_URL)

    class Cache:  # a client with a blocking ping(), like redis-py's
        def ping(self) -> bool:
            return True

    endpoint = HealthEndpoint(
        {
            "sqlite": sql_ping(sqlite),
            "sqlite-sync": sql_ping(blocking_sqlite),
            "postgres": sql_ping(postgres),
            "cache": ping(Cache()),
            "custom": lambda: None,
        }
    )
    try:
        response = await answer(endpoint)
    finally:
        await sqlite.dispose()
        await postgres.dispose()
        blocking_sqlite.dispose()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "UP"
    assert [c["name"] for c in body["checks"]] == [
        "sqlite",
        "sqlite-sync",
        "postgres",
        "cache",
        "custom",
    ]
    assert all(c["ok"] and c["latency_ms"] >= 0 and "error" not in c for c in body["checks"])


async def test_a_failing_slow_or_unreachable_component_is_503_saying_which_and_why() -> None:
    async def slow() -> None:
        await asyncio.sleep(30)

    def blocking_slow() -> None:
        time.sleep(1)

    def raising() -> None:
        raise ConnectionRefusedError("cache at 10.0.0.3:6379 refused")

    unreachable = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    endpoint = HealthEndpoint(
        {
            "fine": lambda: True,
            "slow": slow,
            "blocking": blocking_slow,
            "raising": raising,
            "says-no": lambda: False,
            "database": sql_ping(unreachable),
        },
        timeout=0.3,
    )
    response = await answer(endpoint)
    await unreachable.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "DOWN"
    results: dict[str, dict[str, Any]] = {c["name"]: c for c in body["checks"]}
    assert results["fine"]["ok"]
    assert results["slow"]["error"] == "no answer within 0.3s"
    assert results["blocking"]["error"] == "no answer within 0.3s"
    assert results["raising"]["error"] == "ConnectionRefusedError: cache at 10.0.0.3:6379 refused"
    assert results["says-no"]["error"] == "reported not ok"
    assert results["database"]["error"].startswith(("ConnectionRefusedError", "OSError"))
    # all at once, not one after the other: the two slow ones cost one timeout
    assert all(c["latency_ms"] < 5_000 for c in body["checks"])


async def test_head_has_no_body_and_other_methods_are_405() -> None:
    endpoint = HealthEndpoint({"fine": lambda: True})
    head = await answer(endpoint, "HEAD")
    assert (head.status_code, head.content) == (200, b"")
    post = await answer(endpoint, "POST")
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, dict[str, bool]]]:
    """A real app with the endpoint behind uvicorn; flip `up["queue"]` to fail a component."""
    up = {"queue": True}
    app = Starlette()
    app.add_route("/health", HealthEndpoint({"queue": lambda: up["queue"]}))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="error", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    yield f"http://127.0.0.1:{port}/health", up
    server.should_exit = True
    await task


async def test_the_mesh_check_reads_it_with_assertions(served: tuple[str, dict[str, bool]]) -> None:
    url, up = served
    check = CheckConfig(
        check_type=CheckType.HTTP,
        health_url=url,
        assertions=HttpAssertions(json_path="$.status", json_equals="UP"),
    )
    service = Service("app", "app", check.validated())
    prober = NetworkProber(policy=NetworkPolicy.from_lists([], []))
    try:
        assert (await prober.probe(service)).ok
        up["queue"] = False
        down = await prober.probe(service)
    finally:
        await prober.close()
    assert not down.ok
    assert down.message == "HTTP 503"
