"""/api/openapi.json is a valid OpenAPI 3.1 document that matches the routes: every REST
route is documented, every documented operation exists, and what the server really answers
validates against the documented response schema."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import Route

from ose_mesh.api.web import PAGES

NOT_REST = {"/graphql", "/api/docs", "/api/openapi.json", *PAGES}


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


async def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


async def test_every_route_is_documented_and_every_operation_exists(
    app: Starlette, document: dict[str, Any]
) -> None:
    served = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.path not in NOT_REST
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert documented == served


def response_schema(document: dict[str, Any], path: str, method: str, status: int) -> Any:
    content = document["paths"][path][method]["responses"][str(status)]["content"]
    return content["application/json"]["schema"]


def check(document: dict[str, Any], path: str, method: str, response: httpx.Response) -> None:
    """The answer's status is documented for the operation and its body fits the schema."""
    responses = document["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, f"{method} {path}: {response.status_code}"
    schema = {**response_schema(document, path, method, response.status_code)}
    schema["components"] = document["components"]
    jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)


async def test_real_answers_fit_the_documented_schemas(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    checked: set[tuple[str, str]] = set()

    async def call(method: str, template: str, path: str | None = None, **kwargs: Any) -> None:
        response = await client.request(method, path or template, **kwargs)
        check(document, template, method.lower(), response)
        checked.add((template, method.lower()))

    register = "/api/v1/heartbeat/register"
    await call("POST", register, json={"service_id": "api", "cluster": "core"})
    await call("POST", register, json={"service_id": "web", "cluster": "edge", "public": True})
    await call("POST", register, data={"service_id": "db", "check_type": "push"})
    await call("POST", register, json={"service_id": "api", "check_type": "nope"})
    await call("POST", "/api/v1/heartbeat/{service_id}/beat", "/api/v1/heartbeat/db/beat", json={})
    await call("POST", "/api/v1/heartbeat/{service_id}/beat", "/api/v1/heartbeat/x/beat")
    await call("GET", "/api/v1/heartbeat/status")
    await call("GET", "/api/v1/heartbeat/status", params={"status": "bad"})
    await call("GET", "/api/v1/heartbeat/status/{service_id}", "/api/v1/heartbeat/status/db")
    await call("GET", "/api/v1/heartbeat/status/{service_id}", "/api/v1/heartbeat/status/nope")
    history = "/api/v1/heartbeat/status/{service_id}/history"
    await call("GET", history, history.replace("{service_id}", "db"))
    await call("GET", "/api/v1/heartbeat/summary")
    edge = {"source": "api", "target": "db", "type": "hard", "relationship": "database"}
    await call("POST", "/api/v1/dependencies", json=edge)
    await call("POST", "/api/v1/dependencies", json={**edge, "target": "cache", "type": "soft"})
    await call("POST", "/api/v1/dependencies", json={**edge, "source": "db", "target": "api"})
    await call("POST", "/api/v1/dependencies", json={**edge, "type": "circular"})
    await call("GET", "/api/v1/dependencies/graph")
    neighbours = "/api/v1/dependencies/service/{service_id}"
    await call("GET", neighbours, "/api/v1/dependencies/service/api", params={"depth": "all"})
    await call("GET", neighbours, "/api/v1/dependencies/service/nope")
    await call(
        "GET", "/api/v1/dependencies/visualize/{format}", "/api/v1/dependencies/visualize/d3"
    )
    for analysis in ("circular", "critical-path", "hubs", "root-causes"):
        await call("GET", f"/api/v1/dependencies/analysis/{analysis}")
    impact = "/api/v1/dependencies/analysis/impact/{service_id}"
    await call("GET", impact, impact.replace("{service_id}", "db"))
    await call("GET", impact, impact.replace("{service_id}", "nope"))
    removal = "/api/v1/dependencies/{source}/{target}"
    await call("DELETE", removal, "/api/v1/dependencies/db/api")
    await call("DELETE", removal, "/api/v1/dependencies/db/api")
    publish = {"event_type": "order.created", "source_service": "api", "payload": {"id": 1}}
    await call("POST", "/api/v1/messagebus/publish", json=publish)
    await call("POST", "/api/v1/messagebus/publish", json={**publish, "exchange": "nope"})
    await call("POST", "/api/v1/messagebus/publish", json={**publish, "priority": 12})
    await call("GET", "/api/v1/messagebus/status")
    await call("GET", "/api/v1/messagebus/exchanges", params={"page_size": 2})
    await call("GET", "/api/v1/messagebus/queues")
    await call("GET", "/api/v1/messagebus/queues", params={"page": "zero"})
    deregister = "/api/v1/heartbeat/register/{service_id}"
    await call("DELETE", deregister, "/api/v1/heartbeat/register/api")
    await call("DELETE", deregister, "/api/v1/heartbeat/register/api")
    await call("GET", "/api/v1/cluster")
    span = {
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "cd" * 8, "kind": 3,
            "attributes": [{"key": "peer.service", "value": {"stringValue": "db"}}]}]}],
    }  # fmt: skip
    await call("POST", "/v1/traces", json={"resourceSpans": [span]})
    await call("POST", "/v1/traces", json={"resourceSpans": 7})
    await call("GET", "/api/v1/dependencies/drift")
    await call("GET", "/api/v1/dependencies/drift", params={"window_minutes": "0"})
    accept = "/api/v1/dependencies/drift/accept"
    await call("POST", accept, json={"source": "api", "target": "db", "type": "soft"})
    await call("POST", accept, json={"source": "db", "target": "api"})
    await call("GET", "/api/v1/status-page")
    by_cluster = "/api/v1/status-page/{cluster}"
    await call("GET", by_cluster, "/api/v1/status-page/edge")
    await call("GET", by_cluster, "/api/v1/status-page/core")  # no public service: 404
    maintenance = "/api/v1/maintenance"
    window = {"reason": "upgrade", "service_ids": ["db"], "duration_minutes": 30}
    created = await client.post(maintenance, json=window)
    await call("POST", maintenance, json=window)
    await call("POST", maintenance, json={**window, "service_ids": ["nope"]})
    await call("GET", maintenance)
    one = "/api/v1/maintenance/{window_id}"
    window_path = one.replace("{window_id}", created.json()["window_id"])
    await call("GET", one, window_path)
    await call("GET", one, one.replace("{window_id}", "nope"))
    await call("POST", one + "/end", window_path + "/end")
    await call("DELETE", one, window_path)
    await call("DELETE", one, window_path)
    targets = "/api/v1/notifications/targets"
    target = {"name": "ops", "url": "json://127.0.0.1:9/hook"}
    created_target = (await client.post(targets, json=target)).json()
    await call("POST", targets, json=target)
    await call("POST", targets, json={**target, "url": "nope://x"})
    await call("GET", targets)
    one_target = "/api/v1/notifications/targets/{target_id}"
    target_path = one_target.replace("{target_id}", created_target["target_id"])
    await call("POST", one_target + "/test", target_path + "/test")
    await call("POST", one_target + "/test", one_target.replace("{target_id}", "nope") + "/test")
    await call("DELETE", one_target, target_path)
    await call("DELETE", one_target, target_path)
    await call("GET", "/health")

    # Everything but the two text answers (Mermaid, Prometheus) was called and checked.
    every = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert every - checked == {("/metrics", "get")}
    mermaid = await client.get("/api/v1/dependencies/visualize/mermaid")
    assert mermaid.headers["content-type"].startswith("text/plain")
    metrics = await client.get("/metrics")
    assert re.search(r"^# HELP ", metrics.text, re.MULTILINE)


async def test_every_operation_has_a_stable_camel_case_id(document: dict[str, Any]) -> None:
    ids = [
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", name) for name in ids), ids
    assert "registerService" in ids
    assert "recordBeat" in ids
