"""The client for services (`ose_mesh.client`) against a real `ose-mesh serve` with tokens:
the heartbeat client (async and sync), `ose-mesh run` for jobs, and what happens when the
mesh is away or refuses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from ose_mesh.client import CheckResult, HeartbeatClient, SyncHeartbeatClient
from tests.conftest import sqlite_url
from tests.eventually import eventually
from tests.integration.server import MeshProcess, free_port

pytestmark = pytest.mark.integration

WRITE_TOKEN = "client-tests-write-token-0123456789"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshProcess]:
    workdir = tmp_path_factory.mktemp("client")
    process = MeshProcess(sqlite_url(workdir), workdir, env={"OSE_MESH_WRITE_TOKENS": WRITE_TOKEN})
    process.start()
    yield process
    process.stop()


AUTHORIZED = {"Authorization": f"Bearer {WRITE_TOKEN}"}


async def ask(method: str, url: str, **options: Any) -> httpx.Response:
    async with httpx.AsyncClient(headers=AUTHORIZED) as http:
        return await http.request(method, url, **options)


def status_of(mesh: MeshProcess, service_id: str) -> dict[str, Any] | None:
    response = httpx.get(f"{mesh.url}/api/v1/heartbeat/status/{service_id}", headers=AUTHORIZED)
    return response.json() if response.status_code == 200 else None


async def status_now(mesh: MeshProcess, service_id: str) -> dict[str, Any] | None:
    response = await ask("GET", f"{mesh.url}/api/v1/heartbeat/status/{service_id}")
    return response.json() if response.status_code == 200 else None


async def checks_now(mesh: MeshProcess, service_id: str) -> list[dict[str, Any]]:
    query = (
        f'{{ service(id: "{service_id}") {{ health {{ checks '
        "{ outcome latencyMs message } } } }"
    )
    response = await ask("GET", f"{mesh.url}/graphql", params={"query": query})
    checks: list[dict[str, Any]] = response.json()["data"]["service"]["health"]["checks"]
    return checks


def history_of(mesh: MeshProcess, service_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{mesh.url}/graphql",
        params={
            "query": f'{{ service(id: "{service_id}") {{ health {{ checks '
            "{ outcome latencyMs message } } } }"
        },
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
    )
    checks: list[dict[str, Any]] = response.json()["data"]["service"]["health"]["checks"]
    return checks


async def test_the_client_registers_then_beats_with_its_checks_result(mesh: MeshProcess) -> None:
    calls = 0

    async def database() -> CheckResult:
        nonlocal calls
        calls += 1
        return CheckResult(calls == 1, None if calls == 1 else "pool exhausted", latency_ms=4.5)

    client = HeartbeatClient(
        mesh.url,
        "billing",
        service_name="Billing",
        interval=1,
        jitter=0,
        check=database,
        token=WRITE_TOKEN,
        registration={"cluster": "finance", "max_failures": 2},
    )
    async with client:
        await eventually(lambda: client.beats_sent >= 2, within=10)
    status = await status_now(mesh, "billing")
    assert status is not None
    assert (status["service_name"], status["cluster"]) == ("Billing", "finance")
    assert status["config"]["check_type"] == "push"
    checks = await checks_now(mesh, "billing")
    assert checks[0] == {"outcome": "OK", "latencyMs": 4.5, "message": None}
    assert checks[1] == {"outcome": "FAILED", "latencyMs": None, "message": "pool exhausted"}
    assert client.last_error is None


async def test_a_check_that_raises_or_hangs_makes_a_failed_beat_that_says_why(
    mesh: MeshProcess,
) -> None:
    def broken() -> bool:
        raise ConnectionError("db is down")

    client = HeartbeatClient(mesh.url, "raising", interval=1, check=broken, token=WRITE_TOKEN)
    await client._turn()
    await client.stop()
    assert (await checks_now(mesh, "raising"))[0]["message"] == (
        "the check raised ConnectionError: db is down"
    )

    async def hangs() -> bool:
        await asyncio.Event().wait()
        return True

    slow = HeartbeatClient(
        mesh.url, "hanging", interval=1, check=hangs, check_timeout=0.2, token=WRITE_TOKEN
    )
    await slow._turn()
    await slow.stop()
    assert (await checks_now(mesh, "hanging"))[0]["message"] == "the check took longer than 0.2s"


async def test_registration_is_idempotent_and_beats_use_the_beat_token(mesh: MeshProcess) -> None:
    first = HeartbeatClient(mesh.url, "idem", token=WRITE_TOKEN, interval=30)
    second = HeartbeatClient(mesh.url, "idem", token=WRITE_TOKEN, interval=30)
    assert await first._turn() > 0
    assert await second._turn() > 0
    assert first.beats_sent == second.beats_sent == 1
    await first.stop()
    await second.stop()
    # The beat token printed by `ose-mesh beat-token` is all a service needs to beat
    printing = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "ose_mesh.cli", "beat-token", "idem"),
        env={**os.environ, "OSE_MESH_WRITE_TOKENS": WRITE_TOKEN},
        stdout=asyncio.subprocess.PIPE,
    )
    beat_token = (await printing.communicate())[0].decode().strip()
    only_beats = HeartbeatClient(mesh.url, "idem", beat_token=beat_token, register=False)
    assert await only_beats.beat(message="with the beat token")
    wrong = HeartbeatClient(mesh.url, "idem", beat_token="x" * 43, register=False)
    assert not await wrong.beat()
    assert wrong.last_error is not None
    assert "401" in wrong.last_error
    await only_beats.stop()
    await wrong.stop()


async def test_deregistering_on_request_and_registering_again_when_the_mesh_forgot(
    mesh: MeshProcess,
) -> None:
    client = HeartbeatClient(mesh.url, "ephemeral", token=WRITE_TOKEN, interval=30)
    await client._turn()
    assert await status_now(mesh, "ephemeral") is not None
    # an operator removes it: the next beat finds out, and the client registers again
    await ask("DELETE", f"{mesh.url}/api/v1/heartbeat/register/ephemeral")
    await client._turn()
    await client._turn()
    assert await status_now(mesh, "ephemeral") is not None
    await client.stop(deregister=True)
    assert await status_now(mesh, "ephemeral") is None


async def test_a_mesh_that_is_away_costs_nothing_but_growing_waits() -> None:
    client = HeartbeatClient(
        f"http://127.0.0.1:{free_port()}", "lonely", interval=2, jitter=0, max_backoff=10
    )
    waits = [await client._turn() for _ in range(5)]
    assert waits == [2, 4, 8, 10, 10]
    assert client.last_error is not None
    assert "cannot be reached" in client.last_error
    assert not await client.beat()  # never raises into the application
    await client.start()  # returns at once, however long the mesh is away
    await client.stop()


class _Busy(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(503)
        self.send_header("Retry-After", "45")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_a_busy_mesh_is_given_the_time_it_asks_for() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = HeartbeatClient(url, "patient", interval=1, jitter=0, register=False)
        assert await client._turn() == 45
        assert client.last_error == "the mesh answered 503: "
        await client.stop()
    finally:
        server.shutdown()
        server.server_close()


def test_the_sync_client_beats_from_a_thread_of_its_own(mesh: MeshProcess) -> None:
    with SyncHeartbeatClient(mesh.url, "sync-job", interval=1, token=WRITE_TOKEN) as client:
        assert client.beat(True, message="by hand")
        deadline = time.monotonic() + 10
        while client.client is not None and client.client.beats_sent < 2:
            assert time.monotonic() < deadline, "no background beat"
            time.sleep(0.05)
    status = status_of(mesh, "sync-job")
    assert status is not None
    assert status["metrics"]["heartbeat_count"] >= 2


# -- ose-mesh run ---------------------------------------------------------------------------


def run(mesh_url: str, service_id: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ose_mesh.cli",
            "run",
            "--url",
            mesh_url,
            service_id,
            "--",
            *command,
        ],
        env={**os.environ, "OSE_MESH_TOKEN": WRITE_TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_job_beats_start_then_its_outcome_and_keeps_its_exit_code(
    mesh: MeshProcess, tmp_path: Path
) -> None:
    httpx.post(
        f"{mesh.url}/api/v1/heartbeat/register",
        json={"service_id": "nightly", "interval_seconds": 86_400},
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
    ).raise_for_status()
    done = run(mesh.url, "nightly", sys.executable, "-c", "import time; time.sleep(0.3)")
    assert done.returncode == 0, done.stderr
    failed = run(mesh.url, "nightly", sys.executable, "-c", "raise SystemExit(3)")
    assert failed.returncode == 3
    missing = run(mesh.url, "nightly", str(tmp_path / "no-such-command"))
    assert missing.returncode == 127
    started, finished, _started_2, failed_beat, _started_3, missing_beat = history_of(
        mesh, "nightly"
    )[-6:]
    assert started["outcome"] == "OK"
    assert started["message"] is None  # successes keep no message in the strip
    assert finished["outcome"] == "OK"
    assert 300 <= finished["latencyMs"] < 30_000  # the job's duration is its latency
    assert failed_beat["outcome"] == "FAILED"
    assert failed_beat["message"].startswith("exit code 3 after ")
    assert missing_beat["message"].startswith("could not start: ")
    assert status_of(mesh, "nightly")["reason"].startswith("1 consecutive failure")  # type: ignore[index]


def test_a_job_runs_even_when_the_mesh_is_away() -> None:
    away = f"http://127.0.0.1:{free_port()}"
    done = run(away, "nightly", sys.executable, "-c", "print('backed up')")
    assert done.returncode == 0
    assert done.stdout == "backed up\n"
    assert "beat not counted: the mesh cannot be reached" in done.stderr


def test_run_without_a_command_says_how() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ose_mesh.cli", "run", "nightly"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "ose-mesh run SERVICE_ID -- cmd args" in result.stdout
