"""Traces through the real OpenTelemetry SDK and its OTLP/HTTP exporters (protobuf and JSON)
to a server listening on a port: edges and their relationships, drift, accepting an edge,
and health judged by server spans."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry.exporter.otlp.json.http.trace_exporter import (
    OTLPSpanExporter as JsonExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as ProtobufExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.applications import Starlette

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.app import create_app
from ose_mesh.config import load_settings
from tests.conftest import sqlite_url
from tests.eventually import eventually
from tests.fakes import ScriptedProber

WRITE = "write-token-for-traces-0123"
READ = "read-token-for-traces-01234"
ENCODINGS = ["protobuf", "json"]


@dataclass
class Live:
    app: Starlette
    url: str
    http: httpx.AsyncClient

    async def export(self, spans: Sequence[ReadableSpan], encoding: str, token: str = WRITE) -> Any:
        """The SDK's own exporter, in a thread: it is blocking (requests)."""
        headers = {"Authorization": f"Bearer {token}"}
        endpoint = f"{self.url}/v1/traces"
        exporter: Any
        if encoding == "protobuf":
            exporter = ProtobufExporter(endpoint, headers=headers, compression=Compression.Gzip)
        else:
            exporter = JsonExporter(endpoint, headers=headers)
        try:
            return await asyncio.to_thread(exporter.export, spans)
        finally:
            exporter.shutdown()

    async def register(self, service_id: str, **check: Any) -> None:
        body = {"service_id": service_id, "check_type": "push", **check}
        answer = await self.http.post("/api/v1/heartbeat/register", json=body)
        assert answer.status_code in (200, 201), answer.text

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = await self.http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = answer.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]


async def serve(app: Starlette) -> AsyncIterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    settings = load_settings(
        database_url=sqlite_url(tmp_path),
        write_tokens=WRITE,
        read_tokens=READ,
        trace_max_services=200,
        trace_max_edges=300,
    )
    app = create_app(settings, prober=ScriptedProber(), broker=MemoryBroker(MemoryVirtualHost()))
    async for url in serve(app):
        headers = {"Authorization": f"Bearer {WRITE}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as http:
            yield Live(app, url, http)


class Spans:
    """Tracers for several services, their finished spans collected for one export."""

    def __init__(self) -> None:
        self.finished = InMemorySpanExporter()
        self._tracers: dict[str, Tracer] = {}

    def of(self, service: str) -> Tracer:
        if service not in self._tracers:
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            provider.add_span_processor(SimpleSpanProcessor(self.finished))
            self._tracers[service] = provider.get_tracer("tests")
        return self._tracers[service]

    def take(self) -> tuple[ReadableSpan, ...]:
        spans = self.finished.get_finished_spans()
        self.finished.clear()
        return spans

    @contextmanager
    def call(
        self, caller: str, callee: str | None, *, fail: bool = False, **attributes: Any
    ) -> Iterator[None]:
        """caller's server span, its client span, and (if given) callee's server span."""
        with self.of(caller).start_as_current_span("handle", kind=SpanKind.SERVER) as entry:
            with self.of(caller).start_as_current_span(
                "call", kind=SpanKind.CLIENT, attributes=attributes
            ) as client:
                if callee is not None:
                    with self.of(callee).start_as_current_span(
                        "serve", kind=SpanKind.SERVER
                    ) as served:
                        if fail:
                            served.set_status(Status(StatusCode.ERROR))
                if fail:
                    client.set_status(Status(StatusCode.ERROR))
            yield
            if fail:
                entry.set_status(Status(StatusCode.ERROR))


GRAPH = """{ dependencyGraph {
  dependencies { source target origin relationship traffic { last5m { calls errorRate } } }
  observedDependencies { source target origin relationship
    traffic { lastSeen last5m { calls rate errorRate p50Ms p95Ms } last1h { calls } } } } }"""


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_every_kind_of_call_becomes_its_edge(live: Live, encoding: str) -> None:
    for service in ("checkout", "payments", "inventory", "orders-db", "cache", "shipping"):
        await live.register(service)
    spans = Spans()
    for _ in range(3):
        with spans.call("checkout", "payments", **{"server.address": "10.20.30.40"}):
            pass  # paired: the address names no service
    with spans.call("checkout", None, **{"rpc.system": "grpc", "peer.service": "inventory"}):
        pass
    with spans.call("payments", None, **{"db.system": "postgresql", "server.address": "orders-db"}):
        pass
    with spans.call("payments", None, **{"db.system.name": "redis", "server.address": "cache"}):
        pass
    producer = spans.of("checkout").start_span(
        "publish", kind=SpanKind.PRODUCER, attributes={"messaging.system": "rabbitmq"}
    )
    producer.end()
    consumer = spans.of("shipping").start_span(
        "receive",
        kind=SpanKind.CONSUMER,
        links=[],
        context=_child_of(producer),
        attributes={"messaging.system": "rabbitmq"},
    )
    consumer.end()
    assert await live.export(spans.take(), encoding) is SpanExportResult.SUCCESS

    graph = (await live.gql(GRAPH))["dependencyGraph"]
    observed = {(e["source"], e["target"]): e for e in graph["observedDependencies"]}
    relationships = {key: edge["relationship"] for key, edge in observed.items()}
    assert relationships == {
        ("checkout", "payments"): "SYNC_API",
        ("checkout", "inventory"): "SYNC_API",
        ("payments", "orders-db"): "DATABASE",
        ("payments", "cache"): "CACHE",
        ("checkout", "shipping"): "ASYNC_EVENT",
    }
    assert {edge["origin"] for edge in observed.values()} == {"OBSERVED"}
    assert observed[("checkout", "payments")]["traffic"]["last5m"]["calls"] == 3
    assert observed[("checkout", "payments")]["traffic"]["last5m"]["p50Ms"] is not None
    drift = (await live.http.get("/api/v1/dependencies/drift")).json()
    brokers = {(e["source"], e["target"]) for e in drift["undeclared"] if e["target"] == "rabbitmq"}
    assert brokers == {("checkout", "rabbitmq"), ("shipping", "rabbitmq")}
    assert all(not e["target_registered"] for e in drift["undeclared"] if e["target"] == "rabbitmq")


def _child_of(span: Any) -> Any:
    from opentelemetry.trace import set_span_in_context

    return set_span_in_context(span)


async def test_a_declared_edge_seen_in_traces_is_both(live: Live) -> None:
    await live.register("web")
    await live.register("api")
    declared = {"source": "web", "target": "api", "type": "soft", "relationship": "sync_api"}
    assert (await live.http.post("/api/v1/dependencies", json=declared)).status_code == 201
    spans = Spans()
    with spans.call("web", "api", fail=True, **{"peer.service": "api"}):
        pass
    await live.export(spans.take(), "json")
    graph = (await live.http.get("/api/v1/dependencies/graph")).json()
    [edge] = graph["dependencies"]
    assert edge["origin"] == "both"
    assert edge["traffic"]["last_5m"]["calls"] == 1
    assert edge["traffic"]["last_5m"]["error_rate"] == 1.0
    assert graph["observed_dependencies"] == []
    cytoscape = (await live.http.get("/api/v1/dependencies/visualize/cytoscape")).json()
    [exported] = cytoscape["elements"]["edges"]
    assert exported["data"]["origin"] == "both"


async def test_drift_shows_all_three_kinds_and_accept_declares(live: Live) -> None:
    for service in ("front", "orders", "stock", "audit", "search"):
        await live.register(service)
    for source, target, kind, relationship in (
        ("front", "orders", "optional", "sync_api"),  # fails with its callee: suspect
        ("front", "audit", "soft", "sync_api"),  # never called while front is: unseen
        ("orders", "stock", "hard", "message_queue"),  # called over HTTP: suspect kind
    ):
        body = {"source": source, "target": target, "type": kind, "relationship": relationship}
        assert (await live.http.post("/api/v1/dependencies", json=body)).status_code == 201
    spans = Spans()
    for _ in range(6):
        with spans.call("front", "orders", fail=True, **{"peer.service": "orders"}):
            pass
    with spans.call("orders", "stock", **{"peer.service": "stock"}):
        pass
    with spans.call("front", "search", **{"peer.service": "search"}):
        pass  # not declared
    await live.export(spans.take(), "protobuf")

    drift = (await live.http.get("/api/v1/dependencies/drift?window_minutes=60")).json()
    assert [(e["source"], e["target"]) for e in drift["undeclared"]] == [("front", "search")]
    assert [e["dependency"]["target"] for e in drift["unseen"]] == ["audit"]
    assert drift["unseen"][0]["last_seen"] is None
    suspects = {e["dependency"]["target"]: e for e in drift["suspect"]}
    assert suspects["orders"]["suggested_type"] == "hard"
    assert "6 of the 6 failed calls" in suspects["orders"]["reason"]
    assert suspects["stock"]["observed_relationship"] == "sync_api"
    assert suspects["stock"]["suggested_type"] is None

    query = """{ dependencyDrift(windowMinutes: 60) { undeclared { edge { source target } }
      unseen { dependency { target } lastSeen }
      suspect { dependency { target } suggestedType } } }"""
    graphql = (await live.gql(query))["dependencyDrift"]
    assert graphql["undeclared"] == [{"edge": {"source": "front", "target": "search"}}]
    assert {s["suggestedType"] for s in graphql["suspect"]} == {"HARD", None}

    accepted = await live.http.post(
        "/api/v1/dependencies/drift/accept",
        json={"source": "front", "target": "search", "type": "soft"},
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["declared_type"] == "soft"
    assert accepted.json()["relationship"] == "sync_api"  # the spans'
    assert accepted.json()["origin"] == "both"
    after = (await live.http.get("/api/v1/dependencies/drift?window_minutes=60")).json()
    assert after["undeclared"] == []
    impact = (await live.http.get("/api/v1/dependencies/analysis/impact/search")).json()
    assert "front" in {e["service_id"] for e in impact["degraded"]}


async def test_accept_over_graphql_and_its_refusals(live: Live) -> None:
    spans = Spans()
    with spans.call("a-svc", "b-svc", **{"peer.service": "b-svc"}):
        pass
    await live.export(spans.take(), "json")
    mutation = """mutation($input: AcceptObservedInput!) { acceptObservedDependency(input: $input) {
      __typename ... on Dependency { source target declaredType relationship origin }
      ... on DependencyNotFoundError { message } ... on InvalidFieldError { field message } } }"""
    done = await live.gql(
        mutation, input={"source": "a-svc", "target": "b-svc", "type": "OPTIONAL"}
    )
    assert done["acceptObservedDependency"] == {
        "__typename": "Dependency",
        "source": "a-svc",
        "target": "b-svc",
        "declaredType": "OPTIONAL",
        "relationship": "SYNC_API",
        "origin": "BOTH",
    }
    query = """query($s: String!, $t: String!) { edgeTraffic(source: $s, target: $t) {
      relationship last5m { calls errorRate } } }"""
    seen = await live.gql(query, s="a-svc", t="b-svc")
    assert seen["edgeTraffic"] == {
        "relationship": "SYNC_API",
        "last5m": {"calls": 1, "errorRate": 0},
    }
    assert (await live.gql(query, s="b-svc", t="a-svc"))["edgeTraffic"] is None
    unseen = await live.gql(mutation, input={"source": "b-svc", "target": "a-svc"})
    assert unseen["acceptObservedDependency"]["__typename"] == "DependencyNotFoundError"
    rest = await live.http.post(
        "/api/v1/dependencies/drift/accept", json={"source": "b-svc", "target": "a-svc"}
    )
    assert rest.status_code == 404
    assert "seen in traces" in rest.json()["detail"]
    for body, field in (
        ({"source": "a-svc", "target": "b-svc", "type": "circular"}, "type"),
        ({"source": "a-svc", "target": "b-svc", "relationship": "telepathy"}, "relationship"),
        ({"source": "a svc", "target": "b-svc"}, "source"),
    ):
        refused = await live.http.post("/api/v1/dependencies/drift/accept", json=body)
        assert refused.status_code == 422, refused.text
        assert field in refused.text
    for window in ("0", "10081", "x", "1.5"):
        refused = await live.http.get(f"/api/v1/dependencies/drift?window_minutes={window}")
        assert refused.status_code == 422
        assert "window_minutes" in refused.json()["detail"]


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_the_receiver_needs_a_write_token(live: Live, encoding: str) -> None:
    spans = Spans()
    with spans.call("x-svc", None, **{"peer.service": "y-svc"}):
        pass
    finished = spans.take()
    assert await live.export(finished, encoding, token=READ) is SpanExportResult.FAILURE
    assert (
        await live.export(finished, encoding, token="not-a-token-at-all")
        is SpanExportResult.FAILURE
    )
    drift = (await live.http.get("/api/v1/dependencies/drift")).json()
    assert drift["undeclared"] == []
    bare = await live.http.post("/v1/traces", content=b"{}", headers={"Authorization": ""})
    assert bare.status_code == 401


async def test_health_judged_by_server_spans(live: Live) -> None:
    await live.register(
        "ledger",
        check_type="traces",
        interval_seconds=1,
        timeout_seconds=3,
        max_failures=2,
        trace_error_percent=20,
    )

    async def status() -> dict[str, Any]:
        answer = await live.http.get("/api/v1/heartbeat/status/ledger")
        return answer.json()  # type: ignore[no-any-return]

    await asyncio.sleep(1.2)
    assert (await status())["status"] == "unknown"  # no span yet: nothing to judge
    spans = Spans()

    async def serve_requests(failing: int, total: int) -> None:
        for n in range(total):
            with spans.of("ledger").start_as_current_span("op", kind=SpanKind.SERVER) as op:
                if n < failing:
                    op.set_status(Status(StatusCode.ERROR))
        await live.export(spans.take(), "protobuf")

    await serve_requests(0, 10)
    await eventually(lambda: _status_is(status, "healthy"))
    for _ in range(3):
        await serve_requests(10, 10)
    critical = await eventually(lambda: _status_is(status, "critical"), within=8)
    assert "from traces" in critical["reason"]
    assert "over 20%" in critical["reason"]
    dead = await eventually(lambda: _status_is(status, "dead"), within=10)
    assert dead["reason"].startswith("from traces: no successful check for more than 3s")


async def _status_is(status: Any, wanted: str) -> dict[str, Any] | None:
    found: dict[str, Any] = await status()
    return found if found["status"] == wanted else None


async def test_trace_options_are_refused_on_other_checks(live: Live) -> None:
    refused = await live.http.post(
        "/api/v1/heartbeat/register",
        json={"service_id": "pusher", "check_type": "push", "trace_error_percent": 10},
    )
    assert refused.status_code == 422
    assert "trace_error_percent" in refused.text
    for percent in (0, 101, -5):
        refused = await live.http.post(
            "/api/v1/heartbeat/register",
            json={"service_id": "tr", "check_type": "traces", "trace_error_percent": percent},
        )
        assert refused.status_code == 422, percent
