"""The reference's REST routes: paths, shapes and status codes."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from tests.eventually import eventually
from tests.fakes import ScriptedProber

PUSH = {"service_id": "my-service", "service_name": "My Service", "interval_seconds": 10,
        "timeout_seconds": 30, "max_failures": 3}  # fmt: skip


async def test_register_as_in_the_reference_then_read_it_back(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/heartbeat/register", json=PUSH)
    assert response.status_code == 201
    body = response.json()
    assert body["service_id"] == "my-service"
    assert body["status"] == "unknown"
    assert body["is_alive"] is False
    assert body["config"]["check_type"] == "push"
    assert body["config"]["interval_seconds"] == 10
    every = (await client.get("/api/v1/heartbeat/status")).json()
    one = (await client.get("/api/v1/heartbeat/status/my-service")).json()
    metrics = every["my-service"]["metrics"]
    for field in (
        "heartbeat_count", "missed_heartbeats", "consecutive_failures", "average_latency_ms",
        "max_latency_ms", "min_latency_ms", "uptime_seconds", "uptime_percentage",
        "last_heartbeat", "seconds_since_last",
    ):  # fmt: skip
        assert field in metrics
    for view in (one, every["my-service"]):
        del view["metrics"]["uptime_seconds"]  # time passes between the two reads
    assert every["my-service"] == one


async def test_the_mesh_monitors_itself(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/heartbeat/status/service-mesh")).json()
    assert body["service_name"] == "Service Mesh"
    assert body["status"] == "healthy"


async def test_form_encoded_registration_from_the_troubleshooting_section(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/heartbeat/register",
        content="service_id=my-service&service_name=My Service&interval_seconds=5",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    assert response.json()["service_name"] == "My Service"
    assert response.json()["config"]["interval_seconds"] == 5


async def test_re_registering_updates_and_answers_200(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/heartbeat/register", json=PUSH)
    response = await client.post(
        "/api/v1/heartbeat/register", json={"service_id": "my-service", "max_failures": 5}
    )
    assert response.status_code == 200
    assert response.json()["config"]["max_failures"] == 5
    assert response.json()["service_name"] == "My Service"


async def test_pushed_beats_make_a_service_healthy(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/heartbeat/register", json=PUSH)
    response = await client.post("/api/v1/heartbeat/my-service/beat", json={"latency_ms": 12.5})
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    status = (await client.get("/api/v1/heartbeat/status/my-service")).json()
    assert status["metrics"]["heartbeat_count"] == 1
    assert status["metrics"]["average_latency_ms"] == 12.5
    assert status["metrics"]["seconds_since_last"] is not None
    empty_body = await client.post("/api/v1/heartbeat/my-service/beat")
    assert empty_body.status_code == 200


async def test_failed_beats_degrade_and_history_records_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await client.post("/api/v1/heartbeat/register", json=PUSH)
    await client.post("/api/v1/heartbeat/my-service/beat")
    await client.post("/api/v1/heartbeat/my-service/beat", json={"ok": False, "message": "disk"})
    status = (await client.get("/api/v1/heartbeat/status/my-service")).json()
    assert status["status"] == "degraded"
    assert "disk" in status["reason"]
    history = (await client.get("/api/v1/heartbeat/status/my-service/history")).json()
    assert [(h["previous"], h["current"]) for h in history] == [
        ("healthy", "degraded"),
        ("unknown", "healthy"),
    ]
    await app.state.parts.history.flush()  # written now: still the same answer
    stored = (await client.get("/api/v1/heartbeat/status/my-service/history")).json()
    assert stored == history


async def test_http_checks_are_probed(client: httpx.AsyncClient, prober: ScriptedProber) -> None:
    prober.fail.add("web")
    await client.post(
        "/api/v1/heartbeat/register",
        json={"service_id": "web", "health_url": "http://127.0.0.1:9/health"},
    )

    async def probed() -> dict[str, Any] | None:
        status: dict[str, Any] = (await client.get("/api/v1/heartbeat/status/web")).json()
        return status if status["status"] != "unknown" else None

    status = await eventually(probed)
    assert status["config"]["check_type"] == "http"
    assert status["status"] == "degraded"
    assert status["metrics"]["missed_heartbeats"] == 1


async def test_summary_counts_every_status(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/heartbeat/register", json=PUSH)
    summary = (await client.get("/api/v1/heartbeat/summary")).json()
    assert summary["total"] == 2
    assert summary["healthy"] == 1  # the mesh itself
    assert summary["unknown"] == 1
    assert summary["degraded"] == summary["critical"] == summary["dead"] == 0
    assert summary["overall_status"] == "healthy"


async def test_deregister_removes_the_service(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/heartbeat/register", json=PUSH)
    response = await client.delete("/api/v1/heartbeat/register/my-service")
    assert response.status_code == 200
    missing = await client.get("/api/v1/heartbeat/status/my-service")
    assert missing.status_code == 404
    assert set(missing.json()) >= {"error", "detail"}


async def test_status_filters(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/heartbeat/register", json=PUSH)
    healthy = (await client.get("/api/v1/heartbeat/status", params={"status": "healthy"})).json()
    assert list(healthy) == ["service-mesh"]
    found = (await client.get("/api/v1/heartbeat/status", params={"search": "MY SERV"})).json()
    assert list(found) == ["my-service"]


async def test_health_and_metrics(client: httpx.AsyncClient) -> None:
    health = (await client.get("/health")).json()
    assert health["status"] == "ok"
    assert health["database"] == "ok"
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'ose_service_status{service_id="service-mesh",status="healthy"} 1.0' in metrics.text
    assert "ose_heartbeat_latency_seconds_bucket" in metrics.text
