"""gRPC checks, certificate expiry and HTTP assertions through REST and GraphQL: what is
registered is stored, shown the same way by both, kept across an update that changes
something else, and dropped when the kind of check changes."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.api.conftest import gql
from tests.eventually import eventually
from tests.fakes import ScriptedProber

REGISTER = "/api/v1/heartbeat/register"
CHECK_FIELDS = """check { checkType host port grpcService tls certExpiryDays
  assertions { statusCodes bodyContains jsonPath jsonEquals maxResponseMs } }"""


async def config_of(client: httpx.AsyncClient, service_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/heartbeat/status/{service_id}")
    assert response.status_code == 200, response.text
    config: dict[str, Any] = response.json()["config"]
    return config


async def test_a_grpc_check_is_registered_over_rest_and_shown_by_graphql(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        REGISTER,
        json={
            "service_id": "payments",
            "check_type": "grpc",
            "host": "payments.internal",
            "port": 50051,
            "grpc_service": "payments.v1.Payments",
            "tls": True,
            "cert_expiry_days": 21,
        },
    )
    assert response.status_code == 201, response.text
    config = await config_of(client, "payments")
    assert {k: config[k] for k in ("check_type", "grpc_service", "tls", "cert_expiry_days")} == {
        "check_type": "grpc",
        "grpc_service": "payments.v1.Payments",
        "tls": True,
        "cert_expiry_days": 21,
    }
    shown = await gql(client, f'{{ service(id: "payments") {{ {CHECK_FIELDS} }} }}')
    assert shown["data"]["service"]["check"] == {
        "checkType": "GRPC",
        "host": "payments.internal",
        "port": 50051,
        "grpcService": "payments.v1.Payments",
        "tls": True,
        "certExpiryDays": 21,
        "assertions": None,
    }


async def test_assertions_are_registered_over_graphql_and_kept_by_an_unrelated_update(
    client: httpx.AsyncClient,
) -> None:
    created = await gql(
        client,
        f"""mutation($input: ServiceInput!) {{ registerService(input: $input) {{
              __typename ... on Service {{ {CHECK_FIELDS} }} }} }}""",
        input={
            "id": "shop",
            "healthUrl": "http://shop.internal/health",
            "assertions": {
                "statusCodes": [200, 204],
                "jsonPath": "$.status",
                "jsonEquals": "UP",
                "maxResponseMs": 800,
            },
        },
    )
    assert created["data"]["registerService"]["check"]["assertions"] == {
        "statusCodes": [200, 204],
        "bodyContains": None,
        "jsonPath": "$.status",
        "jsonEquals": "UP",
        "maxResponseMs": 800.0,
    }
    # an update of something else keeps them
    assert (await client.post(REGISTER, json={"service_id": "shop", "max_failures": 5})).is_success
    assert (await config_of(client, "shop"))["assertions"] == {
        "status_codes": [200, 204],
        "json_path": "$.status",
        "json_equals": "UP",
        "max_response_ms": 800.0,
    }
    # {} removes them
    assert (await client.post(REGISTER, json={"service_id": "shop", "assertions": {}})).is_success
    assert (await config_of(client, "shop"))["assertions"] is None


async def test_changing_the_kind_of_check_drops_the_options_of_the_old_kind(
    client: httpx.AsyncClient,
) -> None:
    grpc = {"check_type": "grpc", "host": "h", "port": 1, "grpc_service": "s", "tls": True}
    assert (await client.post(REGISTER, json={"service_id": "svc", **grpc})).status_code == 201
    changed = await client.post(
        REGISTER, json={"service_id": "svc", "health_url": "http://h/health"}
    )
    assert changed.is_success, changed.text
    config = await config_of(client, "svc")
    assert (config["check_type"], config["grpc_service"], config["tls"]) == ("http", None, False)


async def test_bad_assertions_over_graphql_are_an_invalid_field_and_change_nothing(
    client: httpx.AsyncClient,
) -> None:
    result = await gql(
        client,
        """mutation($input: ServiceInput!) { registerService(input: $input) {
             __typename ... on InvalidFieldError { field message } } }""",
        input={"id": "bad", "healthUrl": "http://h/", "assertions": {"jsonPath": "$..["}},
    )
    error = result["data"]["registerService"]
    assert (error["__typename"], error["field"]) == ("InvalidFieldError", "assertions.json_path")
    assert (await client.get("/api/v1/heartbeat/status/bad")).status_code == 404


async def test_days_left_on_the_certificate_are_in_the_metrics(
    client: httpx.AsyncClient, prober: ScriptedProber
) -> None:
    prober.cert_not_after["site"] = time.time() + 9.5 * 86_400
    response = await client.post(
        REGISTER,
        json={"service_id": "site", "health_url": "https://site.example/", "interval_seconds": 1},
    )
    assert response.status_code == 201

    async def checked() -> dict[str, Any] | None:
        status: dict[str, Any] = (await client.get("/api/v1/heartbeat/status/site")).json()
        return None if status["status"] == "unknown" else status

    status = await eventually(checked)
    assert status["status"] == "degraded"
    assert status["reason"].startswith("TLS certificate expires in 9.5 days")
    assert 9.4 < status["metrics"]["cert_days_left"] <= 9.5
    shown = await gql(client, '{ service(id: "site") { health { metrics { certDaysLeft } } } }')
    assert 9.4 < shown["data"]["service"]["health"]["metrics"]["certDaysLeft"] <= 9.5

    async def announced() -> list[dict[str, Any]]:
        query = '{ events(last: 10, pattern: "site.certificate.*") { eventType payload } }'
        events: list[dict[str, Any]] = (await gql(client, query))["data"]["events"]
        return events

    [event] = await eventually(announced)
    assert event["eventType"] == "service.certificate.expiring"
    assert event["payload"]["warning_days"] == 14
