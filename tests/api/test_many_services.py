"""Answers about hundreds of services, built and encoded a step at a time, say the same
thing everywhere: the REST list, the GraphQL list, one service at a time and /metrics."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from ose_mesh.api import json_output
from ose_mesh.core import ServiceSpec
from ose_mesh.domain import CheckType
from tests.api.conftest import gql

SERVICES = json_output.LONG + 50  # more than an answer encodes at once


async def register_many(app: Starlette, client: httpx.AsyncClient) -> dict[str, str]:
    """SERVICES push services, a few of them failing; their statuses as the server says."""
    registry = app.state.mesh.registry
    for n in range(SERVICES):
        spec = ServiceSpec(f"svc-{n:03}", check_type=CheckType.PUSH, interval_seconds=60)
        await registry.register(spec)
    for n in range(0, SERVICES, 7):
        ok = n % 2 == 0
        await client.post(f"/api/v1/heartbeat/svc-{n:03}/beat", json={"ok": ok})
    listed = await client.get("/api/v1/heartbeat/status")
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    body = listed.json()
    assert listed.headers["x-total-count"] == str(len(body))
    return {service_id: health["status"] for service_id, health in body.items()}


async def test_the_rest_list_matches_each_service(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    statuses = await register_many(app, client)
    assert len(statuses) == SERVICES + 1  # and the mesh itself
    assert list(statuses) == sorted(statuses)
    assert {"healthy", "degraded", "unknown"} <= set(statuses.values())
    for service_id in ("svc-000", "svc-007", "svc-014", f"svc-{SERVICES - 1:03}"):
        one = (await client.get(f"/api/v1/heartbeat/status/{service_id}")).json()
        assert one["status"] == statuses[service_id]


async def test_the_graphql_list_matches_the_rest_list(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    statuses = await register_many(app, client)
    body = await gql(client, "{ services(limit: 1000) { id health { status } } }")
    listed = {s["id"]: s["health"]["status"].lower() for s in body["data"]["services"]}
    assert list(listed) == list(statuses)
    assert listed == statuses
    paged = await gql(client, "{ services(limit: 5, offset: 10) { id } }")
    assert [s["id"] for s in paged["data"]["services"]] == list(statuses)[10:15]


async def test_a_big_answer_keeps_the_graphql_response_media_type(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await register_many(app, client)
    response = await client.post(
        "/graphql",
        json={"query": "{ services(limit: 1000) { id } }"},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert len(response.json()["data"]["services"]) == SERVICES + 1


async def test_metrics_give_each_service_its_one_status(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    statuses = await register_many(app, client)
    text = (await client.get("/metrics")).text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    current = {
        sample.labels["service_id"]: sample.labels["status"]
        for sample in families["ose_service_status"].samples
        if sample.value == 1.0
    }
    assert current == statuses
    assert len(families["ose_service_status"].samples) == 5 * len(statuses)
    up = {s.labels["service_id"]: s.value for s in families["ose_service_up"].samples}
    assert up == {sid: float(status != "unknown") for sid, status in statuses.items()}
    assert "ose_heartbeat_latency_seconds" in families
