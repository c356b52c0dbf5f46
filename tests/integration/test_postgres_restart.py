"""PostgreSQL restarted under a running server: changes during the outage are refused with
503 and a message (nothing half-written), the server recovers by itself, and nothing
accepted before the outage is lost. The PostgreSQL is a throwaway cluster of the test's own
(its own port and data directory); the machine's is never touched."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.server import MeshProcess
from tests.integration.throwaway import ThrowawayPostgres, throwaway_postgres

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres() as cluster:
        yield cluster


@pytest.fixture
def mesh(tmp_path: Path, postgres: ThrowawayPostgres) -> Iterator[MeshProcess]:
    server = MeshProcess(postgres.url, tmp_path, {"OSE_MESH_HISTORY_FLUSH_SECONDS": "1"})
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_the_server_outlives_a_postgres_restart(
    mesh: MeshProcess, postgres: ThrowawayPostgres
) -> None:
    with httpx.Client(base_url=mesh.url, timeout=15) as api:
        through_an_outage(api, postgres)
    # Nothing accepted before the outage is lost, and the refused change left no trace:
    # a fresh server on the same database sees exactly what was acknowledged.
    mesh.stop()
    mesh.start()
    with httpx.Client(base_url=mesh.url, timeout=15) as api:
        services = api.get("/api/v1/heartbeat/status").json()
        assert {"orders", "orders-db", "after"} <= set(services)
        assert "during-outage" not in services
        graph = api.get("/api/v1/dependencies/graph").json()
    assert [(d["source"], d["target"]) for d in graph["dependencies"]] == [("orders", "orders-db")]


def through_an_outage(api: httpx.Client, postgres: ThrowawayPostgres) -> None:
    for service in ("orders", "orders-db"):
        assert api.post("/api/v1/heartbeat/register", json={"service_id": service}).is_success
    edge = {"source": "orders", "target": "orders-db", "type": "hard", "relationship": "database"}
    assert api.post("/api/v1/dependencies", json=edge).is_success

    postgres.stop()
    refused = api.post("/api/v1/heartbeat/register", json={"service_id": "during-outage"})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "unavailable"
    assert "try again" in refused.json()["detail"]
    assert api.get("/health").json()["database"] == "unavailable"
    # reads are served from memory meanwhile
    assert api.get("/api/v1/heartbeat/status/orders").status_code == 200

    postgres.start()
    deadline = time.monotonic() + 60
    while api.get("/health").json()["database"] != "ok":
        assert time.monotonic() < deadline, "the server did not see PostgreSQL come back"
        time.sleep(0.5)
    assert api.post("/api/v1/heartbeat/register", json={"service_id": "after"}).status_code == 201
