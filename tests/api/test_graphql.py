"""GraphQL: queries and mutations, and the same answers as the REST routes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import gql

SERVICE_FIELDS = """
  id name cluster demo
  check { checkType intervalSeconds timeoutSeconds maxFailures healthUrl }
  health { status isAlive reason metrics { heartbeatCount missedHeartbeats
    consecutiveFailures averageLatencyMs uptimePercentage p95LatencyMs flapCount } }
"""


async def test_register_query_and_deregister(client: httpx.AsyncClient) -> None:
    created = await gql(
        client,
        f"""mutation($input: ServiceInput!) {{ registerService(input: $input) {{
              __typename ... on Service {{ {SERVICE_FIELDS} }} }} }}""",
        input={"id": "orders", "name": "Orders", "intervalSeconds": 5, "cluster": "core"},
    )
    service = created["data"]["registerService"]
    assert service["__typename"] == "Service"
    assert service["check"] == {
        "checkType": "PUSH",
        "intervalSeconds": 5.0,
        "timeoutSeconds": 15.0,  # 3 x the interval given
        "maxFailures": 3,
        "healthUrl": None,
    }
    assert service["health"]["status"] == "UNKNOWN"
    listed = await gql(client, '{ services(cluster: "core") { id } }')
    assert {s["id"] for s in listed["data"]["services"]} == {"orders", "service-mesh"}
    removed = await gql(
        client, 'mutation { deregisterService(id: "orders") { ... on Deregistered { id } } }'
    )
    assert removed["data"]["deregisterService"] == {"id": "orders"}


async def test_update_service_changes_only_what_is_given(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/heartbeat/register", json={"service_id": "a", "service_name": "A"})
    result = await gql(
        client,
        """mutation { updateService(input: {id: "a", maxFailures: 7}) {
             ... on Service { name check { maxFailures intervalSeconds } } } }""",
    )
    assert result["data"]["updateService"] == {
        "name": "A",
        "check": {"maxFailures": 7, "intervalSeconds": 10.0},
    }
    missing = await gql(client, 'mutation { updateService(input: {id: "zz"}) { __typename } }')
    assert missing["data"]["updateService"]["__typename"] == "NotFoundError"


async def test_record_heartbeat_and_history(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/heartbeat/register", json={"service_id": "a"})
    result = await gql(
        client,
        """mutation { recordHeartbeat(serviceId: "a", latencyMs: 4.5) {
             ... on Service { health { status metrics { heartbeatCount averageLatencyMs } }
                              history { previous current } } } }""",
    )
    assert result["data"]["recordHeartbeat"] == {
        "health": {"status": "HEALTHY", "metrics": {"heartbeatCount": 1, "averageLatencyMs": 4.5}},
        "history": [{"previous": "UNKNOWN", "current": "HEALTHY"}],
    }


async def test_list_paging_and_bounds(client: httpx.AsyncClient) -> None:
    for name in ("b", "c", "d"):
        await client.post("/api/v1/heartbeat/register", json={"service_id": name})
    page = await gql(client, "{ services(limit: 2, offset: 1) { id } }")
    assert [s["id"] for s in page["data"]["services"]] == ["c", "d"]
    too_many = await gql(client, "{ services(limit: 100000) { id } }")
    assert "limit must be from 1 to 10000" in too_many["errors"][0]["message"]


def rest_as_graphql(rest: dict[str, Any]) -> dict[str, Any]:
    """The REST status object in the GraphQL shape, for comparing the two transports."""
    m = rest["metrics"]
    return {
        "id": rest["service_id"],
        "name": rest["service_name"],
        "cluster": rest["cluster"],
        "demo": rest["demo"],
        "check": {
            "checkType": rest["config"]["check_type"].upper(),
            "intervalSeconds": rest["config"]["interval_seconds"],
            "timeoutSeconds": rest["config"]["timeout_seconds"],
            "maxFailures": rest["config"]["max_failures"],
            "healthUrl": rest["config"]["health_url"],
        },
        "health": {
            "status": rest["status"].upper(),
            "isAlive": rest["is_alive"],
            "reason": rest["reason"],
            "metrics": {
                "heartbeatCount": m["heartbeat_count"],
                "missedHeartbeats": m["missed_heartbeats"],
                "consecutiveFailures": m["consecutive_failures"],
                "averageLatencyMs": m["average_latency_ms"],
                "uptimePercentage": m["uptime_percentage"],
                "p95LatencyMs": m["p95_latency_ms"],
                "flapCount": m["flap_count"],
            },
        },
    }


async def test_rest_and_graphql_answer_the_same(client: httpx.AsyncClient) -> None:
    await client.post(
        "/api/v1/heartbeat/register",
        json={"service_id": "same", "service_name": "Same", "cluster": "utility"},
    )
    for latency in (3.0, 9.0, 6.0):
        await client.post("/api/v1/heartbeat/same/beat", json={"latency_ms": latency})
    await client.post("/api/v1/heartbeat/same/beat", json={"ok": False, "message": "boom"})
    rest = (await client.get("/api/v1/heartbeat/status")).json()
    graph = await gql(client, f"{{ services {{ {SERVICE_FIELDS} }} }}")
    assert graph["data"]["services"] == [rest_as_graphql(rest[sid]) for sid in sorted(rest)]
    summary_rest = (await client.get("/api/v1/heartbeat/summary")).json()
    summary_graph = await gql(
        client,
        "{ heartbeatSummary { total healthy degraded critical dead unknown "
        "overallStatus averageUptime } }",
    )
    assert summary_graph["data"]["heartbeatSummary"] == {
        "total": summary_rest["total"],
        "healthy": summary_rest["healthy"],
        "degraded": summary_rest["degraded"],
        "critical": summary_rest["critical"],
        "dead": summary_rest["dead"],
        "unknown": summary_rest["unknown"],
        "overallStatus": summary_rest["overall_status"].upper(),
        "averageUptime": summary_rest["average_uptime"],
    }
