"""The README's client examples, run as written against a real server with tokens: each
`<!-- example: NAME -->` block of the section "A client for your services"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import sqlite_url
from tests.integration.server import MeshProcess

pytestmark = pytest.mark.integration

README = Path(__file__).parents[2] / "README.md"
TOKEN = "readme-examples-write-token-0123456789"
EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\n```(\w+)\n(.*?)```", re.DOTALL)
ASK_THE_APP = """
import asyncio as _asyncio
import httpx as _httpx


async def _ask() -> None:
    transport = _httpx.ASGITransport(app=app)
    async with _httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.get("/health")
        print(response.status_code, response.text)


_asyncio.run(_ask())
"""


def examples() -> dict[str, tuple[str, str]]:
    return {name: (language, code) for name, language, code in EXAMPLE.findall(README.read_text())}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshProcess]:
    workdir = tmp_path_factory.mktemp("readme")
    process = MeshProcess(sqlite_url(workdir), workdir, env={"OSE_MESH_WRITE_TOKENS": TOKEN})
    process.start()
    yield process
    process.stop()


def run_example(name: str, mesh: MeshProcess, tmp_path: Path, extra: str = "") -> str:
    language, code = examples()[name]
    command = [sys.executable, "-c", code + extra] if language == "python" else ["bash", "-c", code]
    env = {
        **os.environ,
        "OSE_MESH_URL": mesh.url,
        "OSE_MESH_TOKEN": TOKEN,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # ose-mesh
    }
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def status_of(mesh: MeshProcess, service_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{mesh.url}/api/v1/heartbeat/status/{service_id}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_readme_has_the_examples_this_file_runs() -> None:
    assert set(examples()) == {"heartbeat-async", "heartbeat-sync", "health-endpoint", "run-job"}


def test_async_heartbeats(mesh: MeshProcess, tmp_path: Path) -> None:
    printed = run_example("heartbeat-async", mesh, tmp_path)
    assert printed == "beats counted: 1\n"
    status = status_of(mesh, "billing-worker")
    assert (status["cluster"], status["status"]) == ("finance", "healthy")


def test_sync_heartbeats(mesh: MeshProcess, tmp_path: Path) -> None:
    run_example("heartbeat-sync", mesh, tmp_path)
    assert status_of(mesh, "report-builder")["metrics"]["heartbeat_count"] >= 2


def test_health_endpoint(mesh: MeshProcess, tmp_path: Path) -> None:
    printed = run_example("health-endpoint", mesh, tmp_path, ASK_THE_APP)
    status, body = printed.split(" ", 1)
    assert status == "200"
    assert '"status": "UP"' in body
    assert '"name": "database", "ok": true' in body


def test_run_job(mesh: MeshProcess, tmp_path: Path) -> None:
    printed = run_example("run-job", mesh, tmp_path)
    assert "backing up" in printed
    status = status_of(mesh, "nightly-backup")
    assert status["metrics"]["heartbeat_count"] == 2
    assert status["metrics"]["max_latency_ms"] >= 1000  # the job's second of work
