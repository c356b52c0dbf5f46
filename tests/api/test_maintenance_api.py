"""Maintenance windows through REST and GraphQL: made, shown on the services they cover,
ended, deleted, kept across a restart; and every bad request refused, changing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from tests.api.conftest import gql
from tests.conftest import sqlite_url
from tests.fakes import ScriptedProber

WINDOWS = "/api/v1/maintenance"
REGISTER = "/api/v1/heartbeat/register"


async def register_fleet(client: httpx.AsyncClient) -> None:
    for body in (
        {"service_id": "pay", "cluster": "finance", "labels": {"team": "payments"}},
        {"service_id": "ledger", "cluster": "finance", "labels": {"team": "payments", "tier": "1"}},
        {"service_id": "search", "cluster": "edge", "labels": {"team": "search"}},
    ):
        assert (await client.post(REGISTER, json=body)).status_code == 201


async def in_maintenance(client: httpx.AsyncClient) -> dict[str, bool]:
    statuses = (await client.get("/api/v1/heartbeat/status")).json()
    return {sid: s["in_maintenance"] for sid, s in statuses.items() if sid != "service-mesh"}


async def test_a_window_by_label_marks_its_services_until_it_is_ended(
    client: httpx.AsyncClient,
) -> None:
    await register_fleet(client)
    created = await client.post(
        WINDOWS,
        json={"reason": "payments release", "label": "team=payments", "duration_minutes": 45},
    )
    assert created.status_code == 201, created.text
    window = created.json()
    assert (window["on_now"], window["covers"]) == (True, ["ledger", "pay"])
    assert await in_maintenance(client) == {"pay": True, "ledger": True, "search": False}
    shown = (await client.get("/api/v1/heartbeat/status/pay")).json()
    assert shown["maintenance"]["reason"] == "payments release"
    assert shown["labels"] == {"team": "payments"}

    listed = (await client.get(WINDOWS)).json()
    assert [w["window_id"] for w in listed] == [window["window_id"]]
    ended = await client.post(f"{WINDOWS}/{window['window_id']}/end")
    assert ended.status_code == 200
    assert ended.json()["on_now"] is False
    assert await in_maintenance(client) == {"pay": False, "ledger": False, "search": False}
    assert (await client.get(WINDOWS)).json() == []  # over: listed only with ?all=true
    assert len((await client.get(WINDOWS, params={"all": "true"})).json()) == 1
    deleted = await client.delete(f"{WINDOWS}/{window['window_id']}")
    assert deleted.json() == {"deleted": window["window_id"]}
    assert (await client.get(f"{WINDOWS}/{window['window_id']}")).status_code == 404


async def test_a_scheduled_weekly_window_over_graphql(client: httpx.AsyncClient) -> None:
    await register_fleet(client)
    result = await gql(
        client,
        """mutation($input: MaintenanceWindowInput!) { createMaintenanceWindow(input: $input) {
             __typename
             ... on MaintenanceWindow { id onNow weekly covers nextStart createdBy } } }""",
        input={
            "reason": "patching",
            "createdBy": "alice",
            "cluster": "finance",
            "startsAt": "2030-01-07T22:00:00+00:00",
            "endsAt": "2030-01-07T23:00:00+00:00",
            "weekly": True,
        },
    )
    window = result["data"]["createMaintenanceWindow"]
    assert window["__typename"] == "MaintenanceWindow"
    assert (window["onNow"], window["weekly"], window["createdBy"]) == (False, True, "alice")
    assert window["covers"] == ["ledger", "pay"]
    assert window["nextStart"] == "2030-01-07T22:00:00+00:00"
    assert await in_maintenance(client) == {"pay": False, "ledger": False, "search": False}
    listed = await gql(client, "{ maintenanceWindows { id reason } }")
    assert listed["data"]["maintenanceWindows"] == [{"id": window["id"], "reason": "patching"}]

    now = await gql(
        client,
        """mutation($input: MaintenanceWindowInput!) { createMaintenanceWindow(input: $input) {
             ... on MaintenanceWindow { id } } }""",
        input={"reason": "now", "serviceIds": ["search"], "durationMinutes": 10},
    )
    assert now["data"]["createMaintenanceWindow"]["id"]
    shown = await gql(
        client,
        '{ service(id: "search") { labels { key value } '
        "health { inMaintenance maintenance { reason } } } }",
    )
    assert shown["data"]["service"] == {
        "labels": [{"key": "team", "value": "search"}],
        "health": {"inMaintenance": True, "maintenance": {"reason": "now"}},
    }
    deleted = await gql(
        client,
        f'mutation {{ deleteMaintenanceWindow(id: "{window["id"]}") '
        "{ __typename ... on WindowDeleted { id } } }",
    )
    assert deleted["data"]["deleteMaintenanceWindow"]["id"] == window["id"]
    missing = await gql(
        client,
        'mutation { endMaintenanceWindow(id: "nope") { __typename '
        "... on WindowNotFoundError { id message } } }",
    )
    assert missing["data"]["endMaintenanceWindow"]["__typename"] == "WindowNotFoundError"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x", "service_ids": ["ghost"], "duration_minutes": 5}, "service_ids"),
        ({"reason": "x", "cluster": "core"}, "ends_at"),
        (
            {
                "reason": "x",
                "cluster": "core",
                "starts_at": "2030-01-01T10:00:00Z",
                "ends_at": "2030-01-01T09:00:00Z",
            },
            "ends_at",
        ),
        ({"reason": "x", "cluster": "core", "starts_at": "2030-01-01T10:00:00"}, "starts_at"),
        ({"reason": "x", "cluster": "core", "ends_at": "tomorrow"}, "ends_at"),
        ({"reason": "x", "label": "team", "duration_minutes": 5}, "label"),
        ({"reason": "x", "duration_minutes": 5}, "service_ids"),
        ({"reason": "", "cluster": "core", "duration_minutes": 5}, "reason"),
        ({"cluster": "core", "duration_minutes": 5}, "reason"),
        ({"reason": "x", "cluster": "core", "duration_minutes": -5}, "duration_minutes"),
        ({"reason": "x", "cluster": "core", "duration_minutes": "5"}, "duration_minutes"),
        ({"reason": "x", "cluster": "core", "duration_minutes": 5, "weekly": "yes"}, "weekly"),
        ({"reason": "x", "cluster": "core", "duration_minutes": 5, "until": "x"}, "until"),
        ({"reason": "x", "service_ids": "pay", "duration_minutes": 5}, "service_ids"),
        (
            {"reason": "x", "cluster": "core", "weekly": True, "duration_minutes": 8 * 24 * 60},
            "ends_at",
        ),
    ],
)
async def test_bad_windows_are_422_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    await register_fleet(client)
    response = await client.post(WINDOWS, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert (await client.get(WINDOWS, params={"all": "true"})).json() == []


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_an_unknown_window_is_404(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, f"{WINDOWS}/no-such-window")
    assert response.status_code == 404
    assert response.json()["detail"] == "No maintenance window 'no-such-window'."
    assert (await client.post(f"{WINDOWS}/no-such-window/end")).status_code == 404


async def test_windows_and_labels_survive_a_restart(tmp_path: Path) -> None:
    settings = load_settings(database_url=sqlite_url(tmp_path))

    async def session(work: Any) -> Any:
        app = create_app(
            settings, prober=ScriptedProber(), broker=MemoryBroker(MemoryVirtualHost())
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                return await work(http)

    async def make(http: httpx.AsyncClient) -> str:
        await register_fleet(http)
        body = {"reason": "move racks", "label": "tier=1", "duration_minutes": 120}
        created = await http.post(WINDOWS, json=body)
        return str(created.json()["window_id"])

    async def look(http: httpx.AsyncClient) -> tuple[list[str], dict[str, bool]]:
        return [w["window_id"] for w in (await http.get(WINDOWS)).json()], await in_maintenance(
            http
        )

    window_id = await session(make)
    assert await session(look) == (
        [window_id],
        {"pay": False, "ledger": True, "search": False},
    )


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (WINDOWS, {"GET", "HEAD", "POST"}),
        (f"{WINDOWS}/some-id", {"GET", "HEAD", "DELETE"}),
        ("/api/v1/notifications/targets", {"GET", "HEAD", "POST"}),
    ],
)
async def test_another_method_is_405_naming_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: set[str]
) -> None:
    response = await client.put(path, json={})
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed


@pytest.mark.parametrize("value", ["null", "yes", ""])
async def test_a_yes_no_parameter_takes_only_true_or_false(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get(WINDOWS, params={"all": value})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("all: must be true or false")
