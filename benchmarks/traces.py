"""Traces: spans ingested per second by one `ose-mesh serve` process (OTLP/HTTP protobuf,
batches of 512 as the OpenTelemetry SDK sends them), against a bare Starlette endpoint that
only parses the same batches; and memory per observed edge.

Both servers run on CPU 0 with no access log; wrk posts from CPU 1, rounds alternate. The
batches are what a system of 40 services sends: server spans whose callers' client spans
name only an IP address (paired by span ids), client spans naming `peer.service`, database
and cache calls, producer/consumer pairs and internal spans, each span with the attributes
an HTTP instrumentation sets.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from benchmarks.common import (
    free_port,
    median,
    rss_bytes,
    serve_bare,
    serve_mesh,
    stop,
    write_section,
    wrk_requests_per_second,
)
from ose_mesh.core.graph_model import EdgeView
from ose_mesh.core.observations import Observations
from ose_mesh.core.ports import StoredTraffic
from ose_mesh.core.traces import ServiceDirectory, TraceBook
from ose_mesh.domain import Dependency
from ose_mesh.domain.traces import SpanFacts, SpanKind

BATCH = 512
BATCHES = 40
SERVICES = 40
EDGES = 10_000  # for the memory figure
SCRIPT = Path(__file__).with_name("traces.lua")


@dataclass
class TracesResult:
    mesh_spans_per_second: list[float]
    bare_spans_per_second: list[float]
    bytes_per_edge: float
    edges: int
    read_ms: float  # the figures of every edge, for one answer
    loop_held_ms: float  # the longest the event loop waited meanwhile

    @property
    def ratio(self) -> float:
        return median(self.mesh_spans_per_second) / median(self.bare_spans_per_second)


# -- the batches -----------------------------------------------------------------------------


def _attributes(span: trace_pb2.Span, **values: str | int) -> None:
    for key, value in values.items():
        pair = span.attributes.add()
        pair.key = key.replace("__", ".")
        if isinstance(value, int):
            pair.value.int_value = value
        else:
            pair.value.string_value = value


def _batch(rng: random.Random, number: int) -> bytes:
    """512 spans from the 40 services, as four resources' worth of an SDK's export."""
    by_service: dict[str, list[trace_pb2.Span]] = {}

    def span(service: str, kind: int, parent: bytes = b"") -> trace_pb2.Span:
        made = trace_pb2.Span(
            trace_id=rng.randbytes(16),
            span_id=rng.randbytes(8),
            parent_span_id=parent,
            name="GET /api/orders/{id}",
            kind=kind,
            start_time_unix_nano=1_800_000_000_000_000_000,
            end_time_unix_nano=1_800_000_000_000_000_000 + rng.randint(200_000, 80_000_000),
        )
        if rng.random() < 0.03:
            made.status.code = trace_pb2.Status.STATUS_CODE_ERROR
        by_service.setdefault(service, []).append(made)
        return made

    while sum(len(spans) for spans in by_service.values()) < BATCH:
        caller = f"service-{rng.randrange(SERVICES)}"
        callee = f"service-{rng.randrange(SERVICES)}"
        entry = span(caller, trace_pb2.Span.SPAN_KIND_SERVER)
        _attributes(entry, http__request__method="GET", url__path="/api/orders/7",
                    http__response__status_code=200, server__address="0.0.0.0")  # fmt: skip
        shape = rng.random()
        if shape < 0.4:  # a call paired by span ids: the client names only an address
            client = span(caller, trace_pb2.Span.SPAN_KIND_CLIENT, entry.span_id)
            _attributes(client, http__request__method="GET", server__address="10.0.3.7",
                        server__port=8080, url__full="http://10.0.3.7:8080/api/stock")  # fmt: skip
            served = span(callee, trace_pb2.Span.SPAN_KIND_SERVER, client.span_id)
            _attributes(served, http__request__method="GET", url__path="/api/stock")
        elif shape < 0.7:
            client = span(caller, trace_pb2.Span.SPAN_KIND_CLIENT, entry.span_id)
            _attributes(client, rpc__system="grpc", peer__service=callee, rpc__method="Get")
        elif shape < 0.9:
            query = span(caller, trace_pb2.Span.SPAN_KIND_CLIENT, entry.span_id)
            system = rng.choice(["postgresql", "redis"])
            _attributes(query, db__system=system, server__address=f"{system}-{number % 3}",
                        db__statement="SELECT 1")  # fmt: skip
        else:
            produced = span(caller, trace_pb2.Span.SPAN_KIND_PRODUCER, entry.span_id)
            _attributes(produced, messaging__system="rabbitmq", server__address="rabbitmq")
            consumed = span(callee, trace_pb2.Span.SPAN_KIND_CONSUMER, produced.span_id)
            _attributes(consumed, messaging__system="rabbitmq")
        inner = span(caller, trace_pb2.Span.SPAN_KIND_INTERNAL, entry.span_id)
        _attributes(inner, code__function="handle")
    request = trace_service_pb2.ExportTraceServiceRequest()
    for service, spans in by_service.items():
        resource = request.resource_spans.add()
        name = resource.resource.attributes.add()
        name.key, name.value.string_value = "service.name", service
        resource.scope_spans.add().spans.extend(spans)
    return request.SerializeToString()


def _count(body: bytes) -> int:
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


# -- throughput ------------------------------------------------------------------------------


def _wrk(url: str, folder: str, seconds: int) -> float:
    """Requests/s of wrk posting the batches in turn."""
    args = ["-t1", "-c8", f"-d{seconds}s", "-s", str(SCRIPT), url, "--", folder, str(BATCHES)]
    return wrk_requests_per_second(args, "batches")


def throughput(seconds: int = 8, rounds: int = 3) -> tuple[list[float], list[float]]:
    if not shutil.which("wrk"):
        raise RuntimeError("the traces benchmark needs wrk: apt-get install wrk")
    rng = random.Random(15)
    mesh_rates: list[float] = []
    bare_rates: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        spans = 0
        for number in range(1, BATCHES + 1):
            body = _batch(rng, number)
            spans += _count(body)
            Path(folder, f"batch-{number}.pb").write_bytes(body)
        per_batch = spans / BATCHES
        mesh_port, bare_port = free_port(), free_port()
        # The rate limit (50,000 spans/s by default) would measure itself: lifted here.
        lifted = {"OSE_MESH_TRACE_SPANS_PER_SECOND": "100000000"}
        mesh, bare = serve_mesh(mesh_port, folder, lifted), serve_bare(bare_port, "/v1/traces")
        try:
            _wrk(f"http://127.0.0.1:{mesh_port}", folder, 2)  # warm up: edges made, JIT-free
            for _ in range(rounds):
                mesh_rates.append(
                    _wrk(f"http://127.0.0.1:{mesh_port}", folder, seconds) * per_batch
                )
                bare_rates.append(
                    _wrk(f"http://127.0.0.1:{bare_port}", folder, seconds) * per_batch
                )
        finally:
            stop(mesh)
            stop(bare)
    return mesh_rates, bare_rates


# -- memory ----------------------------------------------------------------------------------


def memory_per_edge() -> tuple[float, tuple[float, float]]:
    """RSS growth per edge for EDGES edges (100 callers x 100 callees), each called every
    minute of a simulated hour, so every slot of its rings is in use."""
    clock = [1_800_000_000.0]
    book = TraceBook(ServiceDirectory(list, lambda: 0.0), max_edges=EDGES, clock=lambda: clock[0])
    callers = [f"caller-service-{n}" for n in range(100)]
    callees = [f"callee-service-{n}" for n in range(100)]
    span_id = iter(range(1, 10**9))
    baseline = rss_bytes()
    for _minute in range(60):
        for caller in callers:  # one caller's spans at a time: little garbage in between
            book.ingest([_call(caller, callee, next(span_id)) for callee in callees])
        clock[0] += 60
    assert len(book.edges) == EDGES
    return (rss_bytes() - baseline) / EDGES, asyncio.run(_reading(book))


async def _reading(book: TraceBook) -> tuple[float, float]:
    """How long the figures of every edge take to read (a graph or drift answer), and the
    longest the event loop waited meanwhile (a ticker's lateness)."""
    observations = Observations(
        book, NullTraffic(), "bench", declared=list, registered=lambda _: True, declare=_refuse
    )
    late = 0.0

    async def ticker() -> None:
        nonlocal late
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.001)
            late = max(late, loop.time() - before - 0.001)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    found = await observations.traffic_of(sorted(book.edges))
    took = time.perf_counter() - started
    ticking.cancel()
    assert len(found) == EDGES
    return took * 1000, late * 1000


async def _refuse(dependency: Dependency) -> tuple[EdgeView, bool]:
    raise AssertionError("nothing is declared here")


class NullTraffic:
    async def save_traffic(self, rows: Sequence[StoredTraffic]) -> None:
        return None

    async def traffic_since(
        self, since: datetime | None, other_than: str | None
    ) -> list[StoredTraffic]:
        return []

    async def prune_traffic(self, before: datetime) -> int:
        return 0


def _call(caller: str, callee: str, number: int) -> SpanFacts:
    span_id = number.to_bytes(8, "big")
    return SpanFacts(
        caller, SpanKind.CLIENT, b"t" * 16, span_id, b"", b"", 12.5, False, {"peer.service": callee}
    )


def run() -> TracesResult:
    mesh, bare = throughput()
    # In a fresh process: memory freed by the throughput part would hide the growth.
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.traces", "--memory"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    per_edge, (read_ms, held_ms) = json.loads(output)
    return TracesResult(mesh, bare, per_edge, EDGES, read_ms, held_ms)


def section(result: TracesResult) -> list[str]:
    rounds = lambda values: ", ".join(f"{v:,.0f}" for v in values)  # noqa: E731
    return [
        "## Traces (OTLP/HTTP protobuf, batches of 512 spans)",
        "",
        f"`wrk -t1 -c8` (CPU 1) posts {BATCHES} pre-encoded batches in turn to `/v1/traces` of",
        "one `ose-mesh serve` process (CPU 0, SQLite, no access log, the span rate limit",
        "lifted: its default, 50,000 spans/s, would be what is measured). The batches mix",
        "span pairs that meet by span id, `peer.service` calls, database and cache calls and",
        "producer/consumer pairs between 40 services (`benchmarks/traces.py`). The baseline is",
        "a bare Starlette endpoint that only parses the same protobuf (`benchmarks/bare.py`).",
        "",
        "| | spans/s per round | median |",
        "| --- | --- | ---: |",
        f"| ose-mesh | {rounds(result.mesh_spans_per_second)} "
        f"| {median(result.mesh_spans_per_second):,.0f} |",
        f"| bare Starlette + protobuf parse | {rounds(result.bare_spans_per_second)} "
        f"| {median(result.bare_spans_per_second):,.0f} |",
        "",
        f"Ratio ose-mesh / bare: **{result.ratio:.2f}**. Target: ≥ 20,000 spans/s.",
        "",
        f"Memory per observed edge: **{result.bytes_per_edge:,.0f} bytes** ({result.edges:,} "
        "edges, each called every minute of a simulated hour: resident memory growth divided "
        "by the edges). It does not grow with the calls: the figures are fixed rings.",
        "",
        f"Reading the figures of all {result.edges:,} edges (what a graph or drift answer "
        f"does): {result.read_ms:,.0f} ms, paced: the event loop waited at most "
        f"{result.loop_held_ms:.1f} ms meanwhile.",
    ]


if __name__ == "__main__":
    if "--memory" in sys.argv:
        print(json.dumps(memory_per_edge()))
    elif "--write" in sys.argv:
        lines = section(run())
        print("\n".join(lines))
        write_section(lines, Path(__file__).parents[1] / "BENCHMARKS.md", "benchmarks.traces")
    else:
        started = time.monotonic()
        print("\n".join(section(run())), f"\n({time.monotonic() - started:.0f} s)")
