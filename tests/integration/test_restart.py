"""A server killed with SIGKILL and restarted loses no registration and resumes monitoring."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.server import MeshProcess, health_endpoint, reset_database

pytestmark = pytest.mark.integration

INTERVAL = 2


@pytest.fixture
def mesh(database_url: str, tmp_path: Path) -> Iterator[MeshProcess]:
    reset_database(database_url)
    server = MeshProcess(database_url, tmp_path, {"OSE_MESH_HISTORY_FLUSH_SECONDS": "0.5"})
    try:
        yield server
    finally:
        server.stop()


def all_probed(mesh: MeshProcess, ids: list[str]) -> bool:
    statuses = httpx.get(f"{mesh.url}/api/v1/heartbeat/status").json()
    return all(statuses[sid]["metrics"]["heartbeat_count"] >= 1 for sid in ids)


def test_sigkill_loses_no_registration_and_monitoring_resumes(mesh: MeshProcess) -> None:
    with health_endpoint() as url:
        mesh.start()
        http_ids = [f"web-{i}" for i in range(20)]
        for sid in http_ids:
            response = httpx.post(
                f"{mesh.url}/api/v1/heartbeat/register",
                json={"service_id": sid, "health_url": url, "interval_seconds": INTERVAL},
            )
            assert response.status_code == 201
        httpx.post(
            f"{mesh.url}/api/v1/heartbeat/register",
            data={"service_id": "pusher", "service_name": "Pusher", "max_failures": "4"},
        )
        before = httpx.get(f"{mesh.url}/api/v1/heartbeat/status").json()

        mesh.kill()
        mesh.start()
        restarted = time.monotonic()
        while not all_probed(mesh, http_ids) and time.monotonic() - restarted < 30:
            time.sleep(0.1)
        after = httpx.get(f"{mesh.url}/api/v1/heartbeat/status").json()

    assert set(after) == set(before)
    for sid, view in before.items():
        assert after[sid]["config"] == view["config"]
        assert after[sid]["service_name"] == view["service_name"]
    assert all(after[sid]["status"] == "healthy" for sid in http_ids)
    # Every service was probed again within one interval of the restarted monitor's start,
    # by the server's own clock: first beat = time monitored - time since that beat.
    firsts = [
        m["uptime_seconds"] - m["seconds_since_last"]
        for m in (after[sid]["metrics"] for sid in http_ids)
        if m["heartbeat_count"] == 1
    ]
    assert firsts, "read too late to see first probes"
    assert max(firsts) <= INTERVAL
