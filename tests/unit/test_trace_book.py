"""Edges from spans: what names a callee, pairs in any order and across batches, halves
that never meet, failures that reach the caller, and the limits that bound memory."""

from __future__ import annotations

import itertools
import os

import pytest

from ose_mesh.core.traces import PAIR_SECONDS, ObservedEdge, ServiceDirectory, TraceBook
from ose_mesh.core.traffic import Traffic
from ose_mesh.domain import CheckConfig, CheckType, Relationship, Service
from ose_mesh.domain.traces import WANTED_ATTRIBUTES, SpanFacts, SpanKind

_ids = itertools.count(1)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def span(
    service: str,
    kind: SpanKind,
    *,
    parent: bytes = b"",
    trace: bytes = b"t" * 16,
    link: bytes = b"",
    error: bool = False,
    ms: float = 10.0,
    **attributes: str,
) -> SpanFacts:
    named = {WANTED_ATTRIBUTES[key.replace("_", ".")]: value for key, value in attributes.items()}
    span_id = next(_ids).to_bytes(8, "big")
    return SpanFacts(service, kind, trace, span_id, parent, link, ms, error, named)


DATABASE, CACHE, SYNC_API = Relationship.DATABASE, Relationship.CACHE, Relationship.SYNC_API
QUEUE = Relationship.MESSAGE_QUEUE


def book(*services: Service, clock: Clock | None = None, **limits: int) -> TraceBook:
    tick = clock or Clock()
    return TraceBook(ServiceDirectory(lambda: services, tick), clock=tick, **limits)


def edges(traces: TraceBook) -> dict[tuple[str, str], tuple[Relationship, int, int]]:
    found = {}
    for key in traces.edge_keys():
        figures = traces.edge_figures(key)
        assert figures is not None
        found[key] = (figures.relationship, figures.last_5m.calls, figures.last_5m.errors)
    return found


def test_peer_service_names_the_callee_at_once() -> None:
    traces = book()
    traces.ingest([span("checkout", SpanKind.CLIENT, peer_service="payments")])
    assert edges(traces) == {("checkout", "payments"): (Relationship.SYNC_API, 1, 0)}


@pytest.mark.parametrize("server_first", [True, False])
def test_a_client_and_its_server_span_pair_in_either_order(server_first: bool) -> None:
    traces = book()
    client = span("checkout", SpanKind.CLIENT, server_address="10.0.0.7", error=True)
    server = span("payments", SpanKind.SERVER, parent=client.span_id, error=True)
    batches = [[server], [client]] if server_first else [[client], [server]]
    for batch in batches:
        traces.ingest(batch)
    assert edges(traces) == {("checkout", "payments"): (Relationship.SYNC_API, 1, 1)}


def test_server_address_of_a_registered_service_names_it() -> None:
    payments = Service(
        "payments",
        "Payments",
        check=CheckConfig(CheckType.HTTP, health_url="http://pay.internal:8080/health"),
    )
    orders = Service("orders-db", "Orders DB")
    traces = book(payments, orders)
    traces.ingest(
        [
            span("checkout", SpanKind.CLIENT, server_address="pay.internal"),
            span(
                "checkout",
                SpanKind.CLIENT,
                server_address="orders-db.svc.cluster.local",
                db_system="postgresql",
            ),
        ]
    )
    assert set(edges(traces)) == {("checkout", "payments"), ("checkout", "orders-db")}


@pytest.mark.parametrize(
    ("attributes", "callee", "relationship"),
    [
        ({"db_system": "postgresql", "server_address": "orders-db"}, "orders-db", DATABASE),
        ({"db_system": "mysql"}, "mysql", DATABASE),
        ({"db_system_name": "redis", "server_address": "cache-1"}, "cache-1", CACHE),
        ({"db_system": "memcached"}, "memcached", CACHE),
        ({"rpc_system": "grpc", "peer_service": "inventory"}, "inventory", SYNC_API),
        ({"messaging_system": "kafka", "peer_service": "kafka-main"}, "kafka-main", QUEUE),
    ],
)
def test_each_kind_of_call_maps_to_its_relationship(
    attributes: dict[str, str], callee: str, relationship: Relationship
) -> None:
    traces = book()
    traces.ingest([span("api", SpanKind.CLIENT, **attributes)])
    assert edges(traces) == {("api", callee): (relationship, 1, 0)}


def test_a_producer_and_its_consumer_are_an_event_and_both_use_the_broker() -> None:
    traces = book()
    produced = span("orders", SpanKind.PRODUCER, messaging_system="rabbitmq")
    consumed = span(
        "shipping", SpanKind.CONSUMER, link=produced.span_id, messaging_system="rabbitmq"
    )
    traces.ingest([consumed])
    traces.ingest([produced])
    assert edges(traces) == {
        ("orders", "shipping"): (Relationship.ASYNC_EVENT, 1, 0),
        ("orders", "rabbitmq"): (Relationship.MESSAGE_QUEUE, 1, 0),
        ("shipping", "rabbitmq"): (Relationship.MESSAGE_QUEUE, 1, 0),
    }  # fmt: skip


def test_a_half_that_never_meets_its_pair_falls_back_to_its_address() -> None:
    clock = Clock()
    traces = book(clock=clock)
    traces.ingest([span("checkout", SpanKind.CLIENT, server_address="legacy-billing")])
    traces.ingest([span("checkout", SpanKind.CLIENT)])  # names nothing at all
    assert edges(traces) == {}
    clock.now += PAIR_SECONDS + 1
    traces.sweep()
    assert set(edges(traces)) == {("checkout", "legacy-billing")}
    assert traces.stats.unpaired == 1


def test_calls_to_itself_are_not_edges() -> None:
    traces = book()
    client = span("api", SpanKind.CLIENT, peer_service="api")
    traces.ingest([client, span("api", SpanKind.SERVER, parent=client.span_id)])
    assert edges(traces) == {}


CHECKOUT, CLIENT = "checkout", SpanKind.CLIENT


@pytest.mark.parametrize("caller_span_first", [True, False])
def test_a_failed_call_that_fails_its_caller_counts_as_propagated(caller_span_first: bool) -> None:
    traces = book()
    entry = span("checkout", SpanKind.SERVER, error=True)
    call = span(
        "checkout", SpanKind.CLIENT, parent=entry.span_id, peer_service="payments", error=True
    )
    survived = span("checkout", SpanKind.SERVER)
    ok_call = span(
        "checkout", SpanKind.CLIENT, parent=survived.span_id, peer_service="payments", error=True
    )
    traces.ingest([entry, call] if caller_span_first else [call, entry])
    traces.ingest([ok_call])
    traces.ingest([survived])
    figures = traces.edge_figures(("checkout", "payments"))
    assert figures is not None
    assert (figures.last_1h.errors, figures.last_1h.propagated) == (2, 1)


def test_thousands_of_service_names_stay_within_the_limits() -> None:
    traces = book(max_edges=30, max_services=40)
    traces.ingest([span(f"svc-{n}", SpanKind.CLIENT, peer_service=f"dep-{n}") for n in range(5000)])
    assert len(traces.served) == 40
    assert len(traces.edges) == 30
    assert traces.stats.dropped == {"services": 4960, "edges": 10}


def test_halves_of_a_trace_homed_elsewhere_are_sent_there_and_meet_there() -> None:
    here, there = book(), book()
    here.home_of = lambda trace_id: "there"
    client = span("checkout", SpanKind.CLIENT, server_address="10.1.1.1")
    server = span("payments", SpanKind.SERVER, parent=client.span_id)
    here.ingest([client])
    there.ingest([server])  # the home waits for the client half
    sent = here.take_homeward()
    assert list(sent) == ["there"]
    there.receive_halves(sent["there"])
    assert edges(here) == {}
    assert edges(there) == {("checkout", "payments"): (Relationship.SYNC_API, 1, 0)}
    assert here.take_homeward() == {}


def test_halves_left_apart_by_replicas_that_disagreed_meet_once_they_agree() -> None:
    """While shards move, A may take B for a trace's home and B take A: each sends its
    half to the other. Once both agree, the half at the wrong replica goes home."""
    clock = Clock()
    a, b = book(clock=clock), book(clock=clock)
    a.home_of = lambda trace_id: "b"
    b.home_of = lambda trace_id: "a"
    client = span("checkout", SpanKind.CLIENT, server_address="10.1.1.1")
    server = span("payments", SpanKind.SERVER, parent=client.span_id)
    a.ingest([client])
    b.ingest([server])
    b.receive_halves(a.take_homeward()["b"])  # the caller half waits at B
    a.receive_halves(b.take_homeward()["a"])  # the callee half waits at A
    a.home_of = lambda trace_id: None  # now both say: A
    clock.now += 4
    b.sweep()
    a.sweep()
    assert a.take_homeward() == {}
    a.receive_halves(b.take_homeward()["a"])
    assert edges(a) == {("checkout", "payments"): (Relationship.SYNC_API, 1, 0)}
    assert edges(b) == {}
    clock.now += PAIR_SECONDS
    a.sweep()
    b.sweep()
    assert a.stats.unpaired == b.stats.unpaired == 0


def test_halves_from_another_replica_naming_nothing_valid_are_dropped() -> None:
    traces = book()
    trace = os.urandom(16).hex()
    traces.receive_halves(
        [["callee", os.urandom(8).hex(), trace, 1, "bad name\n"],
         ["caller", os.urandom(8).hex(), trace, 1, "x" * 300, "sync_api", None, 1.0, False],
         ["caller", "zz", trace, 1, "ok-svc", "sync_api", None, 1.0, False],
         ["caller", os.urandom(8).hex(), trace, 1, "ok-svc", "telepathy", None, 1.0, False],
         ["sideways", os.urandom(8).hex(), trace, 1, "ok-svc"],
         ["caller", os.urandom(8).hex()],
         7]
    )  # fmt: skip
    assert edges(traces) == {}
    assert traces.stats.unpaired == 7  # each skipped alone: the good ones still count
    key = os.urandom(8)
    traces.receive_halves(
        [["caller", key.hex(), trace, 1, "ok-svc", "sync_api", None, 1.0, False],
         ["callee", key.hex(), trace, 1, "other-svc"]]
    )  # fmt: skip
    assert set(edges(traces)) == {("ok-svc", "other-svc")}


async def test_figures_the_database_could_not_take_are_written_once_it_is_back() -> None:
    from ose_mesh.core.observations import Observations
    from tests.fakes import MemoryRepository

    repository = MemoryRepository()
    traces = book()
    observations = Observations(
        traces, repository, "a", declared=list, registered=lambda service_id: True,
        declare=None,  # type: ignore[arg-type]
    )  # fmt: skip
    traces.ingest([span("checkout", SpanKind.CLIENT, peer_service="payments")])
    repository.down = True
    await observations.sync()
    assert repository.traffic == {}
    repository.down = False
    await observations.sync()
    assert ("a", "call", "checkout", "payments") in repository.traffic
    assert ("a", "served", "checkout", "") in repository.traffic


def test_quiet_edges_keep_only_when_they_were_seen_and_are_forgotten_after_a_week() -> None:
    clock = Clock()
    traces = book(clock=clock, max_edges=10)
    first = clock.now
    traces.ingest([span("old-caller", SpanKind.CLIENT, peer_service="old-callee")])
    elsewhere = ObservedEdge(Relationship.CACHE, Traffic(first))
    traces.absorb_edge("replica-gone", ("x-svc", "y-svc"), elsewhere)
    clock.now += 2 * 3600
    traces.sweep()
    assert traces.edges == {}  # no call left in either window: the rings are gone
    figures = traces.edge_figures(("old-caller", "old-callee"))
    assert figures is not None
    assert (figures.first_seen, figures.last_seen, figures.last_1h.calls) == (first, first, 0)
    assert ("x-svc", "y-svc") in traces.edge_keys()
    service = traces.service_figures("old-caller")
    assert service is not None
    assert service.last_seen == first
    # calls again: counted from now on, first seen as before
    traces.ingest([span("old-caller", SpanKind.CLIENT, peer_service="old-callee")])
    again = traces.edge_figures(("old-caller", "old-callee"))
    assert again is not None
    assert (again.first_seen, again.last_5m.calls) == (first, 1)
    clock.now += 8 * 86_400
    traces.sweep()
    assert traces.edge_figures(("x-svc", "y-svc")) is None
    assert traces.edge_keys() == set()


def test_quiet_edges_remembered_are_bounded() -> None:
    clock = Clock()
    traces = book(clock=clock, max_edges=10, max_services=10)
    for round_ in range(70):  # 140 hours: all within the week
        traces.ingest([span("a-svc", SpanKind.CLIENT, peer_service=f"callee-{round_}")])
        clock.now += 2 * 3600
        traces.sweep()
    assert len(traces.edge_keys()) == 50  # five times the edges followed, the latest
    assert traces.edge_figures(("a-svc", "callee-69")) is not None
    assert traces.edge_figures(("a-svc", "callee-0")) is None
