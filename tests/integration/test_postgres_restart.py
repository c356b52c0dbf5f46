"""PostgreSQL restarted under a running server: changes during the outage are refused with
503 and a message (nothing half-written), the server recovers by itself, and nothing
accepted before the outage is lost."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import POSTGRES_URL
from tests.integration.server import MeshProcess, reset_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
CLUSTER = (
    sorted(Path("/etc/postgresql").iterdir())[-1].name if Path("/etc/postgresql").exists() else "15"
)


def postgres(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", CLUSTER, "main", action],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[MeshProcess]:
    reset_database(POSTGRES_URL)
    server = MeshProcess(POSTGRES_URL, tmp_path, {"OSE_MESH_HISTORY_FLUSH_SECONDS": "1"})
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if not postgres_up():  # whatever happened, leave PostgreSQL running
            postgres("start")


def postgres_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0


def test_the_server_outlives_a_postgres_restart(mesh: MeshProcess) -> None:
    with httpx.Client(base_url=mesh.url, timeout=15) as api:
        through_an_outage(api)
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


def through_an_outage(api: httpx.Client) -> None:
    for service in ("orders", "orders-db"):
        assert api.post("/api/v1/heartbeat/register", json={"service_id": service}).is_success
    edge = {"source": "orders", "target": "orders-db", "type": "hard", "relationship": "database"}
    assert api.post("/api/v1/dependencies", json=edge).is_success

    postgres("stop")
    refused = api.post("/api/v1/heartbeat/register", json={"service_id": "during-outage"})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "unavailable"
    assert "try again" in refused.json()["detail"]
    assert api.get("/health").json()["database"] == "unavailable"
    # reads are served from memory meanwhile
    assert api.get("/api/v1/heartbeat/status/orders").status_code == 200

    postgres("start")
    deadline = time.monotonic() + 60
    while api.get("/health").json()["database"] != "ok":
        assert time.monotonic() < deadline, "the server did not see PostgreSQL come back"
        time.sleep(0.5)
    assert api.post("/api/v1/heartbeat/register", json={"service_id": "after"}).status_code == 201
