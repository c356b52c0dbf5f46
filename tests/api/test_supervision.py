"""A background job that dies is visible: /health answers 503 naming it, /metrics shows it,
and the log has its traceback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from tests.conftest import sqlite_url
from tests.eventually import eventually
from tests.fakes import ScriptedProber


async def test_a_dead_vital_job_makes_health_fail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(database_url=sqlite_url(tmp_path))
    app = create_app(settings, prober=ScriptedProber(), broker=MemoryBroker(MemoryVirtualHost()))
    jobs = app.state.parts.jobs
    crash = asyncio.Event()

    async def fragile() -> None:
        await crash.wait()
        raise RuntimeError("the relay lost its mind")

    jobs.add("fragile", fragile, restart=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            healthy = await client.get("/health")
            assert healthy.status_code == 200
            assert "jobs_down" not in healthy.json()
            metrics = (await client.get("/metrics")).text
            assert 'ose_job_up{job="monitor"} 1.0' in metrics
            assert 'ose_job_up{job="fragile"} 1.0' in metrics

            crash.set()
            failing = await eventually(lambda: _status(client, 503), within=5)
            assert failing["status"] == "failing"
            assert failing["jobs_down"] == ["fragile"]
            metrics = (await client.get("/metrics")).text
            assert 'ose_job_up{job="fragile"} 0.0' in metrics
            assert 'ose_job_crashes_total{job="fragile"} 1.0' in metrics
    [record] = [r for r in caplog.records if "fragile" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


async def _status(client: httpx.AsyncClient, code: int) -> dict[str, object] | None:
    response = await client.get("/health")
    return response.json() if response.status_code == code else None
