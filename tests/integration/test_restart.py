"""A server killed with SIGKILL and restarted loses no registration, dependency or queued
event, and resumes monitoring within one interval."""

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


def test_sigkill_loses_no_dependency_and_no_queued_event(mesh: MeshProcess) -> None:
    # The broker is unreachable: publishes are accepted into the outbox (202, queued).
    mesh.env = {**mesh.env, "OSE_BUS": "amqp", "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/"}
    mesh.start()
    with httpx.Client(base_url=mesh.url, timeout=10) as api:
        edge = {"source": "api", "target": "db", "type": "soft", "relationship": "database"}
        assert api.post("/api/v1/dependencies", json=edge).status_code == 201
        queued = []
        for n in range(25):
            body = {"event_type": "order.created", "source_service": "api", "payload": {"n": n}}
            answer = api.post("/api/v1/messagebus/publish", json=body)
            assert answer.status_code == 202, answer.text
            queued.append(answer.json()["event_id"])

    mesh.kill()
    mesh.env = {**mesh.env, "OSE_BUS": "memory"}  # back with a broker that works
    mesh.start()
    with httpx.Client(base_url=mesh.url, timeout=10) as api:
        graph = api.get("/api/v1/dependencies/graph").json()
        assert [(d["source"], d["target"], d["type"]) for d in graph["dependencies"]] == [
            ("api", "db", "soft")
        ]
        query = '{ events(last: 1000, pattern: "api.#") { eventId } }'
        deadline = time.monotonic() + 30
        while True:
            seen = api.post("/graphql", json={"query": query}).json()["data"]["events"]
            if {e["eventId"] for e in seen} >= set(queued) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert {e["eventId"] for e in seen} >= set(queued)
