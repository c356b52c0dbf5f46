"""The smaller findings of the security review: a subscription sent as a plain POST, the
status listing paged, query strings kept out of the access log, an unreachable database
reported in one line."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.cli import main
from ose_mesh.config import load_settings
from ose_mesh.serving import HideQueryStrings, SkipRoutineRequests
from tests.conftest import sqlite_url
from tests.fakes import ScriptedProber


async def test_a_subscription_over_plain_http_says_what_to_use(client: httpx.AsyncClient) -> None:
    query = "subscription { servicesChanged { action } }"
    answer = await client.post("/graphql", json={"query": query})
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert "WebSocket" in error["message"]
    assert "multipart" in error["message"]
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_the_status_listing_pages(client: httpx.AsyncClient) -> None:
    for number in range(12):
        await client.post("/api/v1/heartbeat/register", json={"service_id": f"s{number:02}"})
    everything = await client.get("/api/v1/heartbeat/status")
    assert len(everything.json()) == 13  # with the mesh itself
    assert everything.headers["x-total-count"] == "13"
    page = await client.get("/api/v1/heartbeat/status", params={"limit": 5, "offset": 2})
    assert list(page.json()) == ["s02", "s03", "s04", "s05", "s06"]
    assert page.headers["x-total-count"] == "13"
    unknown = await client.get("/api/v1/heartbeat/status", params={"status": "unknown"})
    assert unknown.headers["x-total-count"] == str(len(unknown.json()))
    for bad in ({"limit": 0}, {"limit": "x"}, {"offset": -1}, {"limit": 10**30}):
        refused = await client.get("/api/v1/heartbeat/status", params=bad)
        assert refused.status_code == 400, bad
        assert next(iter(bad)) in refused.json()["detail"]


def test_access_log_lines_show_no_query_string() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/graphql?query=x&access_token=PLANTED", "1.1", 200), None,
    )  # fmt: skip
    assert HideQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /graphql HTTP/1.1" 200'
    assert SkipRoutineRequests().filter(record)


@pytest.mark.parametrize("path", ["/health", "/health?x=1", "/demo/discovery/health"])
def test_routine_requests_leave_the_access_log_alone(path: str) -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    assert not SkipRoutineRequests().filter(record)


def test_an_unreachable_database_is_one_line_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql://mesh:PlantedPw1@127.0.0.1:1/mesh"
    assert main(["serve", "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "PlantedPw1" not in err
    assert "127.0.0.1:1" in err


async def test_json_labelled_as_a_form_is_read_as_json(client: httpx.AsyncClient) -> None:
    """`curl -d '{"latency_ms": 12}'` sends a form content type."""
    await client.post(
        "/api/v1/heartbeat/register", json={"service_id": "curl", "check_type": "push"}
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await client.post(
        "/api/v1/heartbeat/curl/beat", content=b'{"latency_ms": 12}', headers=form
    )
    assert answer.status_code == 200, answer.text
    status = (await client.get("/api/v1/heartbeat/status/curl")).json()
    assert status["metrics"]["average_latency_ms"] == 12
    still_a_form = await client.post(
        "/api/v1/heartbeat/register", content=b"service_id=formed", headers=form
    )
    assert still_a_form.status_code == 201


async def test_health_is_ready_only_once_the_demo_is_registered(tmp_path: Path) -> None:
    settings = load_settings(database_url=sqlite_url(tmp_path), demo=True, port=1)
    app = create_app(settings, prober=ScriptedProber(), broker=MemoryBroker(MemoryVirtualHost()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            starting = await client.get("/health")
            assert starting.status_code == 503  # the demo cannot reach port 1: never seeded
            assert starting.json()["status"] == "starting"
    plain = create_app(
        load_settings(database_url=sqlite_url(tmp_path)),
        prober=ScriptedProber(),
        broker=MemoryBroker(MemoryVirtualHost()),
    )
    async with plain.router.lifespan_context(plain):
        transport = httpx.ASGITransport(app=plain)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            ready = await client.get("/health")
            assert (ready.status_code, ready.json()["status"]) == (200, "ok")


GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.mark.parametrize(
    "query",
    ["{ services { id }", "{ noSuchField }", "query($n: Int!) { services(limit: $n) { id } }"],
)
async def test_graphql_response_json_answers_400_without_data_when_nothing_ran(
    client: httpx.AsyncClient, query: str
) -> None:
    body = {"query": query, "variables": {"n": "not a number"}}
    strict = await client.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})
    assert strict.status_code == 400, strict.text
    assert strict.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in strict.json()
    assert strict.json()["errors"]
    plain = await client.post("/graphql", json=body, headers={"Accept": "application/json"})
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("application/json")


async def test_graphql_response_json_keeps_200_when_the_operation_ran(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/graphql",
        json={"query": "{ services(limit: 0) { id } }"},  # runs, and the resolver refuses
        headers={"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"},
    )
    assert answer.status_code == 200
    assert "data" in answer.json()
    assert answer.json()["errors"][0]["path"] == ["services"]
