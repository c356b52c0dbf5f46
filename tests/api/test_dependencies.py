"""The reference's dependency routes, the new analyses, and live root causes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

DEPS = "/api/v1/dependencies"


async def add(client: httpx.AsyncClient, source: str, target: str, kind: str = "hard",
              relationship: str = "sync_api") -> httpx.Response:  # fmt: skip
    return await client.post(
        DEPS, json={"source": source, "target": target, "type": kind, "relationship": relationship}
    )


async def register(client: httpx.AsyncClient, *ids: str) -> None:
    for sid in ids:
        response = await client.post("/api/v1/heartbeat/register", json={"service_id": sid})
        assert response.status_code == 201


async def test_add_update_and_remove_a_dependency(client: httpx.AsyncClient) -> None:
    await register(client, "web", "db")
    created = await add(client, "web", "db", "hard", "database")
    assert created.status_code == 201
    assert created.json() == {
        "source": "web", "target": "db", "type": "hard", "declared_type": "hard",
        "relationship": "database", "description": None, "origin": "declared", "traffic": None,
    }  # fmt: skip
    again = await client.post(
        DEPS,
        json={
            "source": "web",
            "target": "db",
            "type": "soft",
            "relationship": "database",
            "description": "reports only",
        },
    )
    assert again.status_code == 200
    graph = (await client.get(f"{DEPS}/graph")).json()
    assert graph["total_dependencies"] == 1  # updated, not duplicated
    assert graph["dependencies"][0]["type"] == "soft"
    removed = await client.delete(f"{DEPS}/web/db")
    assert removed.status_code == 200
    assert (await client.get(f"{DEPS}/graph")).json()["total_dependencies"] == 0
    assert (await client.delete(f"{DEPS}/web/db")).status_code == 404


async def test_naming_an_unregistered_service_creates_an_unmonitored_node(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "web")
    assert (await add(client, "web", "payments-api")).status_code == 201
    graph = (await client.get(f"{DEPS}/graph")).json()
    nodes = {n["id"]: n for n in graph["services"]}
    assert nodes["payments-api"]["monitored"] is False
    assert nodes["payments-api"]["status"] == "unknown"
    assert nodes["web"]["monitored"] is True
    status = await client.get("/api/v1/heartbeat/status/payments-api")
    assert status.status_code == 404  # a node, not a monitored service


async def test_graph_summary_has_the_reference_fields(client: httpx.AsyncClient) -> None:
    await add(client, "a", "b")
    await add(client, "b", "c")
    await add(client, "c", "a", "soft")
    graph = (await client.get(f"{DEPS}/graph")).json()
    for field in (
        "total_services", "total_dependencies", "hub_services", "isolated_services",
        "circular_dependencies", "critical_path", "clusters", "average_dependencies",
    ):  # fmt: skip
        assert field in graph
    assert graph["circular_dependencies"] == [["a", "b", "c"]]
    assert {d["type"] for d in graph["dependencies"]} == {"circular"}
    assert {d["declared_type"] for d in graph["dependencies"]} == {"hard", "soft"}
    assert graph["isolated_services"] == ["service-mesh"]
    circular = (await client.get(f"{DEPS}/analysis/circular")).json()
    assert circular["count"] == 1
    assert circular["circular_dependencies"][0]["members"] == ["a", "b", "c"]


async def test_service_dependencies_both_ways_with_depth(client: httpx.AsyncClient) -> None:
    await add(client, "web", "api")
    await add(client, "api", "db", "soft", "database")
    await add(client, "cron", "web", "optional")
    both = (await client.get(f"{DEPS}/service/api")).json()
    assert both["direction"] == "both"
    assert both["depth"] == 1
    assert [r["service_id"] for r in both["dependencies"]] == ["db"]
    assert [r["service_id"] for r in both["dependents"]] == ["web"]
    assert both["dependencies"][0]["via"]["relationship"] == "database"
    up = (
        await client.get(f"{DEPS}/service/db", params={"direction": "downstream", "depth": "all"})
    ).json()
    assert "dependencies" not in up
    assert [(r["service_id"], r["distance"]) for r in up["dependents"]] == [
        ("api", 1), ("web", 2), ("cron", 3),
    ]  # fmt: skip
    upstream = (
        await client.get(f"{DEPS}/service/web", params={"direction": "upstream", "depth": "2"})
    ).json()
    assert [r["service_id"] for r in upstream["dependencies"]] == ["api", "db"]


async def test_exports_carry_live_status(client: httpx.AsyncClient) -> None:
    await register(client, "web", "db")
    await client.post("/api/v1/heartbeat/db/beat")
    await add(client, "web", "db", "hard", "database")
    cyto = (await client.get(f"{DEPS}/visualize/cytoscape")).json()
    nodes = {n["data"]["id"]: n["data"] for n in cyto["elements"]["nodes"]}
    assert nodes["db"]["status"] == "healthy"
    assert nodes["web"]["status"] == "unknown"
    assert cyto["elements"]["edges"][0]["data"]["id"] == "web->db"
    d3 = (await client.get(f"{DEPS}/visualize/d3")).json()
    assert {n["id"] for n in d3["nodes"]} == {"web", "db", "service-mesh"}
    assert d3["links"][0]["source"] == "web"
    mermaid = await client.get(f"{DEPS}/visualize/mermaid")
    assert mermaid.headers["content-type"].startswith("text/plain")
    assert mermaid.text.startswith("flowchart LR")
    assert "class " in mermaid.text
    assert " healthy" in mermaid.text


async def test_critical_path_hubs_and_impact(client: httpx.AsyncClient) -> None:
    await add(client, "web", "api")
    await add(client, "api", "db")
    await add(client, "report", "db", "soft")
    assert (await client.get(f"{DEPS}/analysis/critical-path")).json() == {
        "critical_path": ["web", "api", "db"], "length": 3,
    }  # fmt: skip
    hubs = (await client.get(f"{DEPS}/analysis/hubs")).json()["hub_services"]
    assert all({"service_id", "degree", "betweenness"} <= set(h) for h in hubs)
    impact = (await client.get(f"{DEPS}/analysis/impact/db")).json()
    assert impact["service_id"] == "db"
    assert impact["failed"] == [
        {"service_id": "api", "path": ["db", "api"]},
        {"service_id": "web", "path": ["db", "api", "web"]},
    ]
    assert impact["degraded"] == [{"service_id": "report", "path": ["db", "report"]}]
    assert impact["unaffected"] == [{"service_id": "service-mesh", "path": []}]


async def test_root_causes_in_status_and_analysis(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await register(client, "web", "api", "db")
    await add(client, "web", "api")
    await add(client, "api", "db")
    for sid in ("db", "api", "web"):  # the trouble starts at the bottom
        await client.post(f"/api/v1/heartbeat/{sid}/beat")
        await client.post(f"/api/v1/heartbeat/{sid}/beat", json={"ok": False})
    statuses = (await client.get("/api/v1/heartbeat/status")).json()
    assert statuses["web"]["root_causes"] == ["db"]
    assert statuses["db"]["root_causes"] == []
    one = (await client.get("/api/v1/heartbeat/status/api")).json()
    assert one["root_causes"] == ["db"]
    analysis = (await client.get(f"{DEPS}/analysis/root-causes")).json()
    assert analysis["root_causes"] == {"web": ["db"], "api": ["db"], "db": []}
    history = (await client.get("/api/v1/heartbeat/status/web/history")).json()
    assert history[0]["current"] == "degraded"
    assert history[0]["root_causes"] == ["db"]
    await app.state.parts.history.flush()  # written: the root causes are kept
    stored = (await client.get("/api/v1/heartbeat/status/web/history")).json()
    assert stored == history


async def test_a_deregistered_service_stays_on_the_graph_while_named(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "web", "db")
    await add(client, "web", "db")
    await client.delete("/api/v1/heartbeat/register/db")
    nodes = {n["id"]: n for n in (await client.get(f"{DEPS}/graph")).json()["services"]}
    assert nodes["db"]["monitored"] is False


# -- bad input ------------------------------------------------------------------------------


async def graph_state(client: httpx.AsyncClient) -> Any:
    graph = (await client.get(f"{DEPS}/graph")).json()
    return graph["services"], graph["dependencies"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"source": "a", "target": "a", "relationship": "sync_api"}, ["itself"]),
        (
            {"source": "a", "target": "b", "type": "weak", "relationship": "sync_api"},
            ["type", "hard, soft, optional"],
        ),
        (
            {"source": "a", "target": "b", "type": "circular", "relationship": "sync_api"},
            ["circular", "cannot be declared"],
        ),
        (
            {"source": "a", "target": "b", "relationship": "carrier_pigeon"},
            ["relationship", "sync_api, async_event, message_queue, database, cache, service_mesh"],
        ),
        ({"source": "a", "target": "b"}, ["relationship", "Field required"]),
        ({"source": "a b", "target": "b", "relationship": "cache"}, ["source"]),
        ({"source": "a", "target": "", "relationship": "cache"}, ["target"]),
        ({"source": "a", "target": "b", "relationship": "cache", "weight": 3}, ["weight"]),
        (
            {"source": "a", "target": "b", "relationship": "cache", "description": "x" * 1001},
            ["description"],
        ),
    ],
)
async def test_bad_dependencies_are_rejected_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], words: list[str]
) -> None:
    before = await graph_state(client)
    response = await client.post(DEPS, json=body)
    assert response.status_code == 422, response.text
    for word in words:
        assert word in response.json()["detail"]
    assert await graph_state(client) == before


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(DEPS, content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"depth": "0"}, "depth"),
        ({"depth": "-1"}, "depth"),
        ({"depth": "deep"}, "depth"),
    ],
)
async def test_bad_traversal_parameters(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get(f"{DEPS}/service/service-mesh", params=params)
    assert response.status_code == 422
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [f"{DEPS}/service/nope", f"{DEPS}/analysis/impact/nope", f"{DEPS}/visualize/png"],
)
async def test_unknown_things_are_4xx(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code in (400, 404)
    assert "detail" in response.json()
