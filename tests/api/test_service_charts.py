"""What the service panel draws: the strip of last checks and the latency and uptime chart
from the rollups, through GraphQL."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import gql
from tests.eventually import eventually

CHART = """query($id: String!, $window: ChartWindow!) {
  service(id: $id) {
    latencyHistory(window: $window) { at checks uptimePercentage p50LatencyMs p95LatencyMs }
    health { metrics { recentChecks } checks { at outcome latencyMs message } }
  }
}"""


async def beat(
    client: httpx.AsyncClient, ok: bool, latency: float | None, message: str = ""
) -> None:
    body: dict[str, Any] = {"ok": ok, "latency_ms": latency, "message": message or None}
    answer = await client.post("/api/v1/heartbeat/api/beat", json=body)
    assert answer.status_code == 200, answer.text


async def test_the_chart_and_the_strip_follow_the_checks(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/heartbeat/register", json={"service_id": "api"})).is_success
    for latency in (10.0, 20.0, 30.0, 40.0):
        await beat(client, True, latency)
    await beat(client, False, None, "HTTP 503 from upstream")
    await beat(client, True, None)

    async def chart() -> list[dict[str, Any]] | None:
        body = await gql(client, CHART, id="api", window="HOUR")
        points: list[dict[str, Any]] = body["data"]["service"]["latencyHistory"]
        return points if points and sum(p["checks"] for p in points) == 6 else None

    points = await eventually(chart)  # once the minute rows are written
    checks = sum(p["checks"] for p in points)
    assert checks == 6
    last = points[-1]
    if len(points) == 1:  # the six beats fell in one minute (the usual case)
        assert last["uptimePercentage"] == round(100 * 5 / 6, 2)
        assert last["p50LatencyMs"] == 25.0  # the minute's mean
        assert last["p95LatencyMs"] == 40.0  # the minute's maximum
    body = await gql(client, CHART, id="api", window="WEEK")
    week = body["data"]["service"]["latencyHistory"]
    assert sum(p["checks"] for p in week) == 6
    health = body["data"]["service"]["health"]
    assert health["metrics"]["recentChecks"] == "++++-+"
    outcomes = [(c["outcome"], c["latencyMs"], c["message"]) for c in health["checks"]]
    assert outcomes == [
        ("OK", 10.0, None),
        ("OK", 20.0, None),
        ("OK", 30.0, None),
        ("OK", 40.0, None),
        ("FAILED", None, "HTTP 503 from upstream"),
        ("OK", None, None),
    ]


async def test_a_window_that_is_not_one_of_the_three_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/heartbeat/register", json={"service_id": "api"})).is_success
    for window in ("MONTH", "1h", 7):
        response = await client.post(
            "/graphql", json={"query": CHART, "variables": {"id": "api", "window": window}}
        )
        body = response.json()
        assert body.get("data") is None
        assert "ChartWindow" in body["errors"][0]["message"]


async def test_the_overview_timeline_counts_every_service_at_every_step(
    client: httpx.AsyncClient,
) -> None:
    for service_id in ("a", "b"):
        body = {"service_id": service_id}
        assert (await client.post("/api/v1/heartbeat/register", json=body)).is_success
    await client.post("/api/v1/heartbeat/a/beat", json={"ok": False})
    body = await gql(client, "{ statusTimeline { at healthy degraded critical dead unknown } }")
    timeline = body["data"]["statusTimeline"]
    assert len(timeline) == 97
    now = timeline[-1]
    assert (now["degraded"], now["unknown"]) == (1, 1)  # a failed once; b never beat
    assert timeline[0]["unknown"] == 0  # a day ago neither was registered
