"""Every bad input gets a 4xx naming what was wrong, and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import gql

REGISTER = "/api/v1/heartbeat/register"
GOOD = {"service_id": "ok-service", "service_name": "OK"}


def body(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


BAD_REGISTRATIONS = [
    (body(service_id=""), "service_id"),
    (body(service_id="x" * 201), "service_id"),
    (body(service_id="has space"), "service_id"),
    (body(service_id="slash/id"), "service_id"),
    (body(service_id="<img src=x>"), "service_id"),
    (body(interval_seconds=0), "interval_seconds"),
    (body(interval_seconds=-5), "interval_seconds"),
    (body(interval_seconds=1e-300), "interval_seconds"),  # would have the scheduler spin
    (body(interval_seconds=86401, timeout_seconds=90000), "interval_seconds"),
    (body(interval_seconds=60, timeout_seconds=30), "timeout_seconds"),
    (body(max_failures=0), "max_failures"),
    (body(interval_seconds="often"), "interval_seconds"),
    (body(max_failures="many"), "max_failures"),
    (body(max_failures=2.5), "max_failures"),
    (body(check_type="ping"), "check_type"),
    (body(check_type="http"), "health_url"),
    (body(health_url="ftp://example.org/health"), "health_url"),
    (body(health_url="not a url"), "health_url"),
    (body(check_type="tcp", host="db"), "port"),
    (body(check_type="tcp", port=5432), "host"),
    (body(check_type="tcp", host="db", port=0), "port"),
    (body(check_type="tcp", host="db", port=70000), "port"),
    (body(recovery_successes=0), "recovery_successes"),
    (body(max_failures=10**27), "max_failures"),  # once a 500: too big for the database
    (body(recovery_successes=10_001), "recovery_successes"),
    (body(latency_threshold_ms=-1), "latency_threshold_ms"),
    (body(service_name=["a"]), "service_name"),
    (body(unexpected="field"), "unexpected"),
    ({"service_name": "no id"}, "service_id"),
    # more kinds of check (issue 14)
    (body(check_type="grpc", host="payments"), "port"),
    (body(check_type="grpc", port=50051), "host"),
    (body(check_type="grpc", host="payments", port=50051, grpc_service="x\ny"), "grpc_service"),
    (body(grpc_service="payments"), "grpc_service"),  # a push check has no gRPC service
    (body(check_type="tcp", host="db", port=5432, tls=True), "tls"),
    (body(cert_expiry_days=-1), "cert_expiry_days"),
    (body(cert_expiry_days=3651), "cert_expiry_days"),
    (body(cert_expiry_days="soon"), "cert_expiry_days"),
    (
        body(check_type="tcp", host="db", port=5432, assertions={"body_contains": "ok"}),
        "assertions",
    ),
    (body(health_url="http://h/", assertions={"status_codes": [200, 999]}), "status_codes"),
    (body(health_url="http://h/", assertions={"status_codes": "200"}), "status_codes"),
    (body(health_url="http://h/", assertions={"json_path": "$..["}), "json_path"),
    (body(health_url="http://h/", assertions={"json_path": "$." + "a." * 250 + "b"}), "json_path"),
    (body(health_url="http://h/", assertions={"json_equals": "UP"}), "json_equals"),
    (
        body(health_url="http://h/", assertions={"json_path": "$.a", "json_equals": [1]}),
        "json_equals",
    ),
    (
        body(health_url="http://h/", assertions={"json_path": "$.a", "json_equals": {}}),
        "json_equals",
    ),
    (body(health_url="http://h/", assertions={"body_contains": ""}), "body_contains"),
    (body(health_url="http://h/", assertions={"body_contains": "x" * 501}), "body_contains"),
    (body(health_url="http://h/", assertions={"max_response_ms": 0}), "max_response_ms"),
    (body(health_url="http://h/", assertions={"status": 200}), "status"),
    (body(health_url="http://h/", assertions=[200]), "assertions"),
    (body(labels={"bad key!": "x"}), "labels"),
    (body(labels={"team": 5}), "labels"),
    (body(labels={"team": "a\nb"}), "labels"),
    (body(labels={f"k{i}": "v" for i in range(33)}), "labels"),
    (body(labels="team=payments"), "labels"),
]


async def snapshot(client: httpx.AsyncClient) -> dict[str, Any]:
    statuses = (await client.get("/api/v1/heartbeat/status")).json()
    return {sid: (s["service_name"], s["config"]) for sid, s in statuses.items()}


@pytest.mark.parametrize(("payload", "field"), BAD_REGISTRATIONS)
async def test_bad_registration_is_rejected_and_changes_nothing(
    client: httpx.AsyncClient, payload: dict[str, Any], field: str
) -> None:
    before = await snapshot(client)
    response = await client.post(REGISTER, json=payload)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "invalid_field"
    assert field in error["detail"]
    assert await snapshot(client) == before


async def test_form_bodies_are_held_to_the_same_rules(client: httpx.AsyncClient) -> None:
    before = await snapshot(client)
    form = {"service_id": "0", "service_name": "x", "max_failures": str(10**27)}
    response = await client.post(REGISTER, data=form)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "max_failures"
    assert await snapshot(client) == before


async def test_bad_update_of_an_existing_service_keeps_the_old_config(
    client: httpx.AsyncClient,
) -> None:
    await client.post(REGISTER, json=body(interval_seconds=10))
    before = await snapshot(client)
    response = await client.post(REGISTER, json={"service_id": "ok-service", "timeout_seconds": 5})
    assert response.status_code == 422
    assert "timeout_seconds" in response.json()["detail"]
    assert await snapshot(client) == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"service_id": "x",', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"<xml/>", "application/xml"),
    ],
)
async def test_unreadable_bodies_are_400(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    before = await snapshot(client)
    response = await client.post(REGISTER, content=content, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert await snapshot(client) == before


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    before = await snapshot(client)
    huge = b'{"service_id": "big", "service_name": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post(
        REGISTER, content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert await snapshot(client) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/heartbeat/status/nope"),
        ("GET", "/api/v1/heartbeat/status/nope/history"),
        ("DELETE", "/api/v1/heartbeat/register/nope"),
        ("POST", "/api/v1/heartbeat/nope/beat"),
    ],
)
async def test_unknown_service_is_404_on_every_route(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    before = await snapshot(client)
    response = await client.request(method, path)
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "detail": "Service 'nope' is not registered.",
        "service_id": "nope",
    }
    assert await snapshot(client) == before


@pytest.mark.parametrize(
    "payload",
    [{"latency_ms": -1}, {"latency_ms": "fast"}, {"ok": "maybe"}, {"message": "x" * 1001}],
)
async def test_bad_beats_are_rejected_and_not_counted(
    client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    await client.post(REGISTER, json=GOOD)
    response = await client.post("/api/v1/heartbeat/ok-service/beat", json=payload)
    assert response.status_code == 422
    status = (await client.get("/api/v1/heartbeat/status/ok-service")).json()
    assert status["metrics"]["heartbeat_count"] == 0


@pytest.mark.parametrize(
    "query", ["?status=sleepy", "?status="], ids=["unknown-status", "empty-status"]
)
async def test_bad_filters_are_400(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get("/api/v1/heartbeat/status" + query)
    assert response.status_code == 400
    assert "status" in response.json()["detail"]


# "²" passes str.isdigit but not int(); 5,000 digits are beyond what int() parses
BAD_WHOLE_NUMBERS = ["0", "-1", "1.5", "ten", "²", "1" * 5000]


@pytest.mark.parametrize("limit", BAD_WHOLE_NUMBERS, ids=range(len(BAD_WHOLE_NUMBERS)))
async def test_bad_history_limit_is_400(client: httpx.AsyncClient, limit: str) -> None:
    response = await client.get(
        "/api/v1/heartbeat/status/service-mesh/history", params={"limit": limit}
    )
    assert response.status_code == 400
    assert "limit" in response.json()["detail"]


@pytest.mark.parametrize("depth", BAD_WHOLE_NUMBERS, ids=range(len(BAD_WHOLE_NUMBERS)))
async def test_bad_dependency_depth_is_4xx(client: httpx.AsyncClient, depth: str) -> None:
    response = await client.get(
        "/api/v1/dependencies/service/service-mesh", params={"depth": depth}
    )
    assert response.status_code in (400, 422)
    assert "depth" in response.json()["detail"]


@pytest.mark.parametrize(
    ("field_input", "field", "message"),
    [
        ({"intervalSeconds": 0}, "interval_seconds", "must be from 1 to 86400, got 0"),
        (
            {"maxFailures": 2_000_000_000},
            "max_failures",
            "must be from 1 to 10000, got 2000000000",
        ),
    ],
    ids=["interval", "count-beyond-the-limit"],
)
async def test_graphql_invalid_field_is_a_result_type(
    client: httpx.AsyncClient, field_input: dict[str, Any], field: str, message: str
) -> None:
    before = await snapshot(client)
    result = await gql(
        client,
        """mutation($input: ServiceInput!) { registerService(input: $input) {
             __typename ... on InvalidFieldError { field message } } }""",
        input={"id": "gql", **field_input},
    )
    assert result["data"]["registerService"] == {
        "__typename": "InvalidFieldError",
        "field": field,
        "message": f"{field}: {message}",
    }
    assert await snapshot(client) == before


async def test_graphql_variables_of_the_wrong_type_are_errors(client: httpx.AsyncClient) -> None:
    before = await snapshot(client)
    response = await client.post(
        "/graphql",
        json={
            "query": "mutation($input: ServiceInput!) { registerService(input: $input) "
            "{ __typename } }",
            "variables": {"input": {"id": "gql", "intervalSeconds": "often"}},
        },
    )
    errors = response.json()["errors"]
    assert "intervalSeconds" in errors[0]["message"]
    assert await snapshot(client) == before


async def test_graphql_unknown_service(client: httpx.AsyncClient) -> None:
    result = await gql(
        client,
        """mutation { deregisterService(id: "nope") { __typename
             ... on NotFoundError { serviceId message } } }""",
    )
    assert result["data"]["deregisterService"]["__typename"] == "NotFoundError"
    query = await gql(client, '{ service(id: "nope") { id } }')
    assert query["data"]["service"] is None
    beat = await gql(client, 'mutation { recordHeartbeat(serviceId: "nope") { __typename } }')
    assert beat["data"]["recordHeartbeat"]["__typename"] == "NotFoundError"


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"service_id": "big", "service_name": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    before = await snapshot(client)
    response = await client.post(
        REGISTER, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert await snapshot(client) == before


async def test_small_chunked_body_is_read_whole(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"service_id": "chunked",'
        yield b' "service_name": "Chunked"}'

    response = await client.post(
        REGISTER, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json()["service_name"] == "Chunked"
