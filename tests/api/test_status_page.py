"""The public status page: open without a token even when tokens are on, and it never shows
a service that was not made public, nor anything of one (reason, root causes, address)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from ose_mesh.core import status_page
from tests.api.test_access import READ, WRITE, as_, make_client

PRIVATE = ("orders-db", "Orders Database Primary", "10.1.2.3")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(
        tmp_path, read_tokens=READ, write_tokens=WRITE, history_flush_seconds=0.1
    ) as test_client:
        yield test_client


def register(client: TestClient, **body: object) -> None:
    answer = client.post("/api/v1/heartbeat/register", json=body, headers=as_(WRITE))
    assert answer.status_code in (200, 201), answer.text


def beat(client: TestClient, service_id: str, ok: bool = True) -> None:
    answer = client.post(
        f"/api/v1/heartbeat/{service_id}/beat", json={"ok": ok}, headers=as_(WRITE)
    )
    assert answer.status_code == 200, answer.text


def a_shop(client: TestClient) -> None:
    """Two public services in the `shop` cluster that depend on a private, failing one."""
    register(
        client, service_id="storefront", service_name="Storefront", cluster="shop", public=True
    )
    register(client, service_id="checkout", service_name="Checkout", cluster="shop", public=True)
    register(
        client,
        service_id="orders-db",
        service_name="Orders Database Primary",
        cluster="shop",
        check_type="tcp",
        host="10.1.2.3",
        port=5432,
    )
    register(client, service_id="billing", service_name="Billing", cluster="finance", public=False)
    for source in ("storefront", "checkout"):
        edge = {"source": source, "target": "orders-db", "type": "hard", "relationship": "database"}
        assert client.post("/api/v1/dependencies", json=edge, headers=as_(WRITE)).status_code == 201
    beat(client, "storefront")
    beat(client, "checkout", ok=False)  # degraded, and its root cause is the private database


def test_the_status_page_needs_no_token_and_shows_only_public_services(
    client: TestClient,
) -> None:
    a_shop(client)
    answer = client.get("/api/v1/status-page")
    assert answer.status_code == 200
    page = answer.json()
    assert [s["service_id"] for s in page["services"]] == ["checkout", "storefront"]
    assert [(i["service_id"], i["status"]) for i in page["incidents"]] == [("checkout", "degraded")]
    assert page["overall_status"] == "degraded"
    for secret in (*PRIVATE, "billing", "Billing", "finance"):
        assert secret not in answer.text
    # What a visitor may not read of a public service either: why, where, what it needs.
    for field in ("reason", "root_causes", "config", "metrics", "health_url"):
        assert field not in answer.text
    # The console's reads still need a token.
    assert client.get("/api/v1/heartbeat/status").status_code == 401


def test_a_cluster_page_shows_its_public_services_and_hides_which_clusters_exist(
    client: TestClient,
) -> None:
    a_shop(client)
    shop = client.get("/api/v1/status-page/shop")
    assert shop.status_code == 200
    assert {s["service_id"] for s in shop.json()["services"]} == {"checkout", "storefront"}
    private_only = client.get("/api/v1/status-page/finance")
    unknown = client.get("/api/v1/status-page/nowhere")
    assert (private_only.status_code, unknown.status_code) == (404, 404)
    assert "billing" not in private_only.text.lower()
    assert private_only.json()["error"] == unknown.json()["error"] == "not_found"


def test_the_pages_are_open_and_carry_no_service_data(client: TestClient) -> None:
    a_shop(client)
    for path in ("/status", "/status/shop", "/status/finance"):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        for secret in (*PRIVATE, "billing"):
            assert secret not in page.text


def test_daily_uptime_covers_ninety_days_and_counts_todays_checks(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_page, "CACHE_SECONDS", 0)  # see the beats once written
    register(client, service_id="api", public=True)
    for ok in (True, True, True, False):
        beat(client, "api", ok=ok)
    deadline = time.monotonic() + 10
    while (page := client.get("/api/v1/status-page").json())["services"][0][
        "uptime_percentage"
    ] is None:
        assert time.monotonic() < deadline, "the beats were never written"
        time.sleep(0.05)
    [api] = page["services"]
    assert len(api["daily_uptime"]) == 90
    today = datetime.now(UTC).date()
    assert date.fromisoformat(page["first_day"]) == today - timedelta(days=89)
    assert api["daily_uptime"][-1] == 75.0
    assert api["daily_uptime"][:-1] == [None] * 89  # no checks then: no bar, not a 0 %
    assert api["uptime_percentage"] == 75.0


def test_the_public_flag_is_set_and_cleared_through_rest_and_graphql(client: TestClient) -> None:
    register(client, service_id="api")
    assert client.get("/api/v1/heartbeat/status/api", headers=as_(READ)).json()["public"] is False
    mutation = """mutation($public: Boolean) {
      updateService(input: {id: "api", public: $public}) { ... on Service { id public } }
    }"""
    for value, expected in ((True, True), (None, True), (False, False)):
        answer = client.post(
            "/graphql", json={"query": mutation, "variables": {"public": value}}, headers=as_(WRITE)
        ).json()
        assert answer["data"]["updateService"] == {"id": "api", "public": expected}
    register(client, service_id="api", public=True)  # a registration updates it too
    assert client.get("/api/v1/heartbeat/status/api", headers=as_(READ)).json()["public"] is True


@pytest.mark.parametrize("value", ["yes", 1, [], {"x": 1}, "true "])
def test_a_public_flag_that_is_not_a_boolean_is_refused_and_changes_nothing(
    client: TestClient, value: object
) -> None:
    answer = client.post(
        "/api/v1/heartbeat/register",
        json={"service_id": "api", "public": value},
        headers=as_(WRITE),
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "public"
    assert client.get("/api/v1/heartbeat/status/api", headers=as_(READ)).status_code == 404


def test_planned_maintenance_is_no_incident_and_its_reason_stays_private(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_page, "CACHE_SECONDS", 0)
    a_shop(client)
    window = {
        "reason": "swapping orders-db for a new primary at 10.1.2.3",
        "service_ids": ["checkout"],
        "duration_minutes": 60,
    }
    created = client.post("/api/v1/maintenance", json=window, headers=as_(WRITE))
    assert created.status_code == 201, created.text
    answer = client.get("/api/v1/status-page")
    page = answer.json()
    assert page["incidents"] == []  # checkout is degraded, but that was planned
    assert page["overall_status"] == "healthy"
    checkout = next(s for s in page["services"] if s["service_id"] == "checkout")
    assert checkout["maintenance_until"] == created.json()["ends_at"]
    assert "swapping" not in answer.text
    assert "10.1.2.3" not in answer.text
