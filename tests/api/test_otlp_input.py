"""The OTLP receiver against bad and hostile input: every malformed request is a 400 (413,
429) that says what was wrong and counts nothing; hostile values stay bounded and inert."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from tests.conftest import sqlite_url
from tests.fakes import ScriptedProber

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(
        load_settings(database_url=sqlite_url(tmp_path), **settings),
        prober=ScriptedProber(),
        broker=MemoryBroker(MemoryVirtualHost()),
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(tmp_path, trace_max_services=100, trace_max_edges=150) as http:
        yield http


def span_json(service: str, kind: int = 3, **attributes: str) -> dict[str, Any]:
    return {
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [
            {
                "spans": [
                    {
                        "traceId": os.urandom(16).hex(),
                        "spanId": os.urandom(8).hex(),
                        "name": "call",
                        "kind": kind,
                        "startTimeUnixNano": "1000000",
                        "endTimeUnixNano": "3000000",
                        "attributes": [
                            {"key": key.replace("_", "."), "value": {"stringValue": value}}
                            for key, value in attributes.items()
                        ],
                    }
                ]
            }
        ],
    }


def request_json(*resource_spans: dict[str, Any]) -> bytes:
    return json.dumps({"resourceSpans": list(resource_spans)}).encode()


def as_protobuf(body: bytes) -> bytes:
    """The same request, protobuf-encoded (ids hex -> bytes)."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    for resource_spans in json.loads(body)["resourceSpans"]:
        added = request.resource_spans.add()
        for pair in resource_spans["resource"]["attributes"]:
            kv = added.resource.attributes.add()
            kv.key, kv.value.string_value = pair["key"], pair["value"]["stringValue"]
        scope = added.scope_spans.add()
        for item in resource_spans["scopeSpans"][0]["spans"]:
            span = scope.spans.add()
            span.trace_id = bytes.fromhex(item["traceId"])
            span.span_id = bytes.fromhex(item["spanId"])
            span.kind = item["kind"]
            span.start_time_unix_nano = int(item["startTimeUnixNano"])
            span.end_time_unix_nano = int(item["endTimeUnixNano"])
            for pair in item["attributes"]:
                kv = span.attributes.add()
                kv.key, kv.value.string_value = pair["key"], pair["value"]["stringValue"]
    return request.SerializeToString()


async def edges(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    drift = (await client.get("/api/v1/dependencies/drift")).json()
    return [(e["source"], e["target"]) for e in drift["undeclared"]]


async def spans_counted(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith('ose_trace_spans_total{outcome="acc'))
    return float(line.split()[-1])


def _span_field(name: str, value: Any) -> bytes:
    request = json.loads(request_json(span_json("a-svc", peer_service="b-svc")))
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][0][name] = value
    return json.dumps(request).encode()


MALFORMED_JSON = [
    (b"not json", "not JSON"),
    (b"[]", "request: must be an object"),
    (b'{"resourceSpans": {}}', "resourceSpans: must be a list"),
    (b'{"resourceSpans": [7]}', "resourceSpans[0]: must be an object"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": "x"}]}]}', "spans: must be a list"),
    (_span_field("traceId", "abc"), "traceId: must be 32 hex digits"),
    (_span_field("traceId", "zz" * 16), "traceId: must be 32 hex digits"),
    (_span_field("spanId", None), "spanId: is required"),
    (_span_field("spanId", 12345678), "spanId: must be 16 hex digits"),
    (_span_field("kind", "SPAN_KIND_CLIENT"), "kind: must be an integer"),
    (_span_field("kind", True), "kind: must be an integer"),
    (_span_field("startTimeUnixNano", "1e9"), "startTimeUnixNano: must be an integer"),
    (_span_field("status", []), "status: must be an object"),
    (_span_field("attributes", [{"key": "peer.service", "value": "x"}]), "value: must be an"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
]


@pytest.mark.parametrize(("body", "reason"), MALFORMED_JSON)
async def test_malformed_json_is_a_400_that_says_where(
    client: httpx.AsyncClient, body: bytes, reason: str
) -> None:
    before = await spans_counted(client)
    answer = await client.post("/v1/traces", content=body, headers=JSON)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert reason in answer.json()["message"]
    assert await edges(client) == []
    assert await spans_counted(client) == before


@pytest.mark.parametrize(
    "body", [b"\xff\xff\xff", os.urandom(64) + b"\x0a\xff\xff\xff\x0f", b"\x0a\x05\x0a\x03"]
)
async def test_malformed_protobuf_is_a_400_with_a_status(
    client: httpx.AsyncClient, body: bytes
) -> None:
    answer = await client.post("/v1/traces", content=body, headers=PROTOBUF)
    assert answer.status_code == 400
    status = status_pb2.Status.FromString(answer.content)
    assert "ExportTraceServiceRequest" in status.message
    assert await edges(client) == []


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"Content-Type": "text/plain"}, b"x", "Content-Type must be"),
        ({}, b"x", "Content-Type must be"),
        ({**JSON, "Content-Encoding": "br"}, b"x", "only gzip and deflate"),
        ({**JSON, "Content-Encoding": "gzip"}, b"not gzip at all", "cannot be read"),
        ({**JSON, "Content-Encoding": "gzip"}, gzip.compress(b"{}")[:-6], "cut short"),
        ({**JSON, "Content-Encoding": "deflate"}, b"\x00garbage", "cannot be read"),
        (
            {**JSON, "Content-Encoding": "gzip"},
            gzip.compress(b" " * (17 * 1024 * 1024)),
            "grows beyond",
        ),
    ],
)
async def test_unreadable_bodies_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str], body: bytes, reason: str
) -> None:
    answer = await client.post("/v1/traces", content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert reason in answer.json()["message"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
@pytest.mark.parametrize("media", ["json", "protobuf"])
async def test_each_encoding_is_read(client: httpx.AsyncClient, encoding: str, media: str) -> None:
    body = request_json(span_json("a-svc", peer_service="b-svc"))
    if media == "protobuf":
        body = as_protobuf(body)
    if encoding == "gzip":
        body = gzip.compress(body)
    elif encoding == "deflate":
        body = zlib.compress(body)
    headers = {**(JSON if media == "json" else PROTOBUF), "Content-Encoding": encoding}
    answer = await client.post("/v1/traces", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert await edges(client) == [("a-svc", "b-svc")]


async def test_too_big_is_413_and_too_many_a_400(client: httpx.AsyncClient) -> None:
    huge = b'{"resourceSpans": []}' + b" " * (2 * 1024 * 1024)
    assert (await client.post("/v1/traces", content=huge, headers=JSON)).status_code == 413
    many = trace_service_pb2.ExportTraceServiceRequest()
    scope = many.resource_spans.add().scope_spans.add()
    for _ in range(50_001):
        scope.spans.add()
    body = gzip.compress(many.SerializeToString())
    answer = await client.post(
        "/v1/traces", content=body, headers={**PROTOBUF, "Content-Encoding": "gzip"}
    )
    assert answer.status_code == 400
    assert "more than 50000 spans" in status_pb2.Status.FromString(answer.content).message


async def test_a_flood_of_spans_is_told_to_wait(tmp_path: Path) -> None:
    batch = request_json(*(span_json(f"flood-{n % 20}", peer_service="sink") for n in range(1500)))
    async with serving(tmp_path, trace_spans_per_second=500) as client:
        first = await client.post("/v1/traces", content=batch, headers=JSON)
        assert first.status_code == 200  # within the burst (twice the rate), then owed
        counted = await spans_counted(client)
        refused = await client.post("/v1/traces", content=batch, headers=JSON)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert "too many spans" in refused.json()["message"]
        assert await spans_counted(client) == counted  # nothing of it was counted


HOSTILE_NAMES = [
    "x" * 10_000,
    "evil\nservice",
    "<script>alert(1)</script>",
    "a\x00b",
    "",
    "ünïcödé",
    "../../etc/passwd",
]


@pytest.mark.parametrize("media", ["json", "protobuf"])
async def test_hostile_service_names_are_rejected_and_named_in_partial_success(
    client: httpx.AsyncClient, media: str
) -> None:
    body = request_json(
        span_json("good-svc", peer_service="ok-dep"),
        *(span_json(name, peer_service="ok-dep") for name in HOSTILE_NAMES),
        *(span_json("good-svc", peer_service=name) for name in HOSTILE_NAMES),
        span_json("good-svc", **{"server.address": "y" * 100_000}),
    )
    headers = JSON
    if media == "protobuf":
        body, headers = as_protobuf(body), PROTOBUF
    answer = await client.post("/v1/traces", content=body, headers=headers)
    assert answer.status_code == 200
    if media == "json":
        partial = answer.json()["partialSuccess"]
        assert partial["rejectedSpans"] == str(len(HOSTILE_NAMES))
        assert "service.name" in partial["errorMessage"]
    else:
        response = trace_service_pb2.ExportTraceServiceResponse.FromString(answer.content)
        assert response.partial_success.rejected_spans == len(HOSTILE_NAMES)
    assert await edges(client) == [("good-svc", "ok-dep")]
    graph = (await client.get("/api/v1/dependencies/visualize/mermaid")).text
    assert "script" not in graph


async def test_thousands_of_names_stay_within_the_limits(client: httpx.AsyncClient) -> None:
    for start in range(0, 3000, 500):
        body = request_json(
            *(span_json(f"svc-{n}", peer_service=f"dep-{n}") for n in range(start, start + 500))
        )
        assert (await client.post("/v1/traces", content=body, headers=JSON)).status_code == 200
    assert len(await edges(client)) == 100  # one edge per service, 100 services followed
    metrics = (await client.get("/metrics")).text
    assert 'ose_trace_dropped_total{limit="services"} 2900.0' in metrics
    assert "ose_observed_edges 100.0" in metrics


async def test_the_answer_follows_the_encoding_asked(client: httpx.AsyncClient) -> None:
    body = as_protobuf(request_json(span_json("a-svc", peer_service="b-svc")))
    answer = await client.post(
        "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}
    )
    assert answer.headers["content-type"] == "application/x-protobuf"
    assert trace_service_pb2.ExportTraceServiceResponse.FromString(answer.content) is not None
    answer = await client.post(
        "/v1/traces", content=request_json(), headers={"Content-Type": "application/json"}
    )
    assert answer.json() == {}


@pytest.mark.parametrize("replica_id", ["same-name-again", None])
async def test_figures_outlive_a_restart(tmp_path: Path, replica_id: str | None) -> None:
    """A restarted server shows what it counted before, and goes on counting from there,
    under a new name (a new process id) or under the same --replica-id."""
    body = request_json(*(span_json("a-svc", peer_service="b-svc") for _ in range(7)))
    async with serving(tmp_path, replica_id=replica_id) as client:
        assert (await client.post("/v1/traces", content=body, headers=JSON)).status_code == 200
    async with serving(tmp_path, replica_id=replica_id) as client:

        async def calls() -> int:
            drift = (await client.get("/api/v1/dependencies/drift")).json()
            return sum(e["traffic"]["last_1h"]["calls"] for e in drift["undeclared"])

        assert await calls() == 7  # from the first answer
        assert (await client.post("/v1/traces", content=body, headers=JSON)).status_code == 200
        assert await calls() == 14
    async with serving(tmp_path, replica_id=replica_id) as client:
        drift = (await client.get("/api/v1/dependencies/drift")).json()
        assert [e["traffic"]["last_1h"]["calls"] for e in drift["undeclared"]] == [14]


async def test_another_site_cannot_post_spans_through_a_browser(client: httpx.AsyncClient) -> None:
    body = request_json(span_json("a-svc", peer_service="b-svc"))
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = await client.post("/v1/traces", content=body, headers={**JSON, **headers})
        assert refused.status_code == 403
    assert await edges(client) == []
