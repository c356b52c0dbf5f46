"""Inputs an attacker sends to make the server fail: each is a 4xx that says what was
wrong, and nothing changes (no service, no event, no beat recorded)."""

from __future__ import annotations

import json

import httpx
import pytest

REGISTER = "/api/v1/heartbeat/register"


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


async def registered(client: httpx.AsyncClient) -> set[str]:
    return set((await client.get("/api/v1/heartbeat/status")).json())


async def publish_count(client: httpx.AsyncClient) -> int:
    """Hostile events published: a sentinel goes through the outbox after them (in order),
    so once it is confirmed anything stored before it has been published too."""
    sentinel = {"event_type": "sentinel", "source_service": "test"}
    answer = await client.post("/api/v1/messagebus/publish", json=sentinel)
    assert answer.json()["status"] == "confirmed", answer.text
    query = "{ events(last: 500) { eventType } }"
    events = (await client.post("/graphql", json={"query": query})).json()["data"]["events"]
    assert {"eventType": "sentinel"} in events
    return sum(1 for event in events if event["eventType"] == "hostile")


# What an attacker sends as the whole body of a JSON route.
HOSTILE_JSON = {
    "nested objects": nested(5_000),
    "nested arrays": "[" * 50_000 + "]" * 50_000,
    "nested just past the limit": nested(40),
    "huge integer": '{"max_failures": ' + "9" * 5_000 + "}",
    "huge float": '{"interval_seconds": 1e999}',
    "NaN": '{"interval_seconds": NaN}',
    "not UTF-8": b'{"service_id": "\xff"}',
}


@pytest.mark.parametrize("name", HOSTILE_JSON)
@pytest.mark.parametrize(
    "path",
    [REGISTER, "/api/v1/heartbeat/victim/beat", "/api/v1/messagebus/publish"],
)
async def test_hostile_json_is_a_clear_400(client: httpx.AsyncClient, name: str, path: str) -> None:
    await client.post(REGISTER, json={"service_id": "victim"})
    before = await registered(client)
    body = HOSTILE_JSON[name]
    answer = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["detail"]
    assert await registered(client) == before


@pytest.mark.parametrize("name", ["nested objects", "huge integer", "nested just past the limit"])
async def test_hostile_cloudevents_are_a_clear_400(client: httpx.AsyncClient, name: str) -> None:
    answer = await client.post(
        "/api/v1/messagebus/publish",
        content=HOSTILE_JSON[name],
        headers={"Content-Type": "application/cloudevents+json"},
    )
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize("name", ["nested objects", "huge integer", "NaN", "nested arrays"])
async def test_hostile_graphql_variables_are_a_clear_400(
    client: httpx.AsyncClient, name: str
) -> None:
    raw = HOSTILE_JSON[name]
    body = '{"query": "query($p: JSON) { __typename }", "variables": {"p": ' + raw + "}}"
    answer = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    if len(raw) < 20_000:  # what fits in a URL
        params = {"query": "{ __typename }", "variables": raw}
        as_get = await client.get("/graphql", params=params)
        assert as_get.status_code == 400, as_get.text


PUBLISH = """mutation($p: JSON!) {
  publishEvent(input: {eventType: "hostile", sourceService: "x", payload: $p}) {
    __typename ... on InvalidFieldError { field message }
  }
}"""


async def test_deep_payloads_as_graphql_variables_and_literals_are_refused(
    client: httpx.AsyncClient,
) -> None:
    variables = {"query": PUBLISH, "variables": {"p": json.loads(nested(40))}}
    answer = await client.post("/graphql", json=variables)
    assert "nest" in answer.text, answer.text
    literal = PUBLISH.replace("payload: $p", "payload: " + nested(40).replace('"a"', "a"))
    literal = literal.replace("($p: JSON!)", "")
    answer = await client.post("/graphql", json={"query": literal})
    assert "nest" in answer.text or "errors" in answer.json(), answer.text
    assert await publish_count(client) == 0


# Text PostgreSQL cannot store, in every text field that reaches the database.
NUL, SURROGATE = "a\x00b", "a\ud800b"


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
@pytest.mark.parametrize("field", ["service_name", "cluster", "health_url", "host"])
async def test_unstorable_text_in_a_registration_is_422(
    client: httpx.AsyncClient, field: str, bad: str
) -> None:
    body = {"service_id": "nul", field: bad}
    if field == "health_url":
        body["health_url"] = "http://example.com/" + bad
    answer = await client.post(
        REGISTER, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert "nul" not in await registered(client)


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
async def test_unstorable_text_elsewhere_is_422(client: httpx.AsyncClient, bad: str) -> None:
    await client.post(REGISTER, json={"service_id": "victim", "check_type": "push"})
    beat = await client.post(
        "/api/v1/heartbeat/victim/beat",
        content=json.dumps({"ok": False, "message": bad}),
        headers={"Content-Type": "application/json"},
    )
    assert beat.status_code == 422, beat.text
    assert beat.json()["field"] == "message"
    status = (await client.get("/api/v1/heartbeat/status/victim")).json()
    assert status["status"] == "unknown", status  # the refused beat was not recorded
    for field in ("event_type", "source_service", "correlation_id", "routing_key"):
        event = {"event_type": "hostile", "source_service": "x", field: bad}
        answer = await client.post(
            "/api/v1/messagebus/publish",
            content=json.dumps(event),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 422, (field, answer.text)
    dependency = await client.post(
        "/api/v1/dependencies",
        content=json.dumps({"source": "victim", "target": "other", "description": bad}),
        headers={"Content-Type": "application/json"},
    )
    assert dependency.status_code == 422, dependency.text
    assert await publish_count(client) == 0
    beat = """mutation($m: String) {
      recordHeartbeat(serviceId: "victim", message: $m) {
        __typename ... on InvalidFieldError { field }
      }
    }"""
    body = json.dumps({"query": beat, "variables": {"m": bad}})  # escaped: "\u0000", "\ud800"
    graphql = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert graphql.json()["data"]["recordHeartbeat"]["field"] == "message", graphql.text


# health_url values that used to be accepted and failed only when probed (or were a 500).
BAD_URLS = {
    "http://[::1/": "not a valid URL",
    "http://example.com:99999/": "Port out of range",
    "http://example.com:abc/": "Port could not be cast",
    "http://example.com:0/": "port must be",
    "http://example.com/\r\nX-Injected: 1": "control characters",
    "http://example.com/a b": "spaces",
    "http://example.com\\@169.254.169.254/": "'\\'",
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://[::ffff:169.254.169.254]/": "link-local",
    "http://[64:ff9b::a9fe:a9fe]/": "link-local",
    "http://[fe80::1]/": "link-local",
    "http://0.0.0.0:8000/health": "unspecified",
    "http://[::]:8000/health": "unspecified",
    "http://2852039166/": "four decimal numbers",
    "http://127.1/": "four decimal numbers",
    "ftp://example.com/": "http://",
}


@pytest.mark.parametrize("url", BAD_URLS)
async def test_bad_health_urls_are_refused_at_registration(
    client: httpx.AsyncClient, url: str
) -> None:
    body = {"service_id": "target", "check_type": "http", "health_url": url}
    answer = await client.post(REGISTER, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "health_url"
    assert BAD_URLS[url] in answer.json()["detail"]
    assert "target" not in await registered(client)
    register = """mutation($u: String) {
      registerService(input: {id: "target", checkType: HTTP, healthUrl: $u}) {
        __typename ... on InvalidFieldError { field }
      }
    }"""
    graphql = await client.post("/graphql", json={"query": register, "variables": {"u": url}})
    assert graphql.json()["data"]["registerService"]["field"] == "health_url", graphql.text
    assert "target" not in await registered(client)


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "::ffff:169.254.169.254", "0.0.0.0", "::", "a b", "x\ny", "0x7f.1"]
)
async def test_bad_tcp_hosts_are_refused_at_registration(
    client: httpx.AsyncClient, host: str
) -> None:
    body = {"service_id": "target", "check_type": "tcp", "host": host, "port": 80}
    answer = await client.post(REGISTER, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "host"
    assert "target" not in await registered(client)
