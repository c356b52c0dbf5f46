"""Hypothesis properties: the status state machine against an independent model of
DESIGN.md's rules, topic routing in the in-memory broker against a reference matcher of
RabbitMQ's rules, and graph analyses against brute force."""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ose_mesh.adapters.broker import MemoryBroker, MemoryVirtualHost
from ose_mesh.core.broker import ExchangeType, Properties
from ose_mesh.core.health_state import HealthState
from ose_mesh.domain import (
    CheckConfig,
    Dependency,
    DependencyType,
    HealthStatus,
    HeartbeatResult,
    Relationship,
    Service,
)
from tests.unit.test_graph import brute_impact, graph_of, on_some_cycle

# -- the status state machine ----------------------------------------------------------------

configs = st.builds(
    CheckConfig,
    interval_seconds=st.just(10.0),
    timeout_seconds=st.sampled_from([10.0, 30.0, 60.0]),
    max_failures=st.integers(1, 4),
    recovery_successes=st.integers(1, 3),
    latency_threshold_ms=st.none() | st.sampled_from([50.0, 200.0]),
)
steps = st.lists(
    st.tuples(
        st.floats(0, 40, allow_nan=False),  # seconds since the previous step
        # None: only the clock moves; else a success, an error it answered with, or silence
        st.none() | st.sampled_from(["ok", "error", "silent"]),
        st.none() | st.floats(0, 500, allow_nan=False),  # latency of a success
    ),
    max_size=40,
)


def expected_status(
    check: CheckConfig,
    started: float,
    results: list[tuple[float, bool, float | None, bool]],
    now: float,
) -> HealthStatus:
    """DESIGN.md's rules, written again from scratch over the whole history: dead after
    timeout_seconds without any answer; errors that were answered keep it alive."""
    successes = [r for r in results if r[1]]
    answers = [r for r in results if r[3]]
    reference = answers[-1][0] if answers else started
    if now - reference > check.timeout_seconds:
        return HealthStatus.DEAD
    if not results:
        return HealthStatus.UNKNOWN
    trailing_failures = len(list(itertools.takewhile(lambda r: not r[1], reversed(results))))
    trailing_successes = len(list(itertools.takewhile(lambda r: r[1], reversed(results))))
    if trailing_failures >= check.max_failures:
        return HealthStatus.CRITICAL
    ever_failed = any(not r[1] for r in results)
    if trailing_failures or (ever_failed and trailing_successes < check.recovery_successes):
        return HealthStatus.DEGRADED
    last_latency = successes[-1][2] or 0.0
    if check.latency_threshold_ms is not None and last_latency > check.latency_threshold_ms:
        return HealthStatus.DEGRADED
    return HealthStatus.HEALTHY


@settings(max_examples=300, deadline=None, derandomize=True)
@given(check=configs, script=steps)
def test_no_sequence_of_results_and_ticks_yields_an_impossible_state(
    check: CheckConfig, script: list[tuple[float, str | None, float | None]]
) -> None:
    state = HealthState(Service("svc", "svc", check), now=0.0)
    now, results, transitions = 0.0, [], 0
    for elapsed, outcome, latency in script:
        now += elapsed
        if outcome is None:
            changed = state.reevaluate(now)
        else:
            ok, answered = outcome == "ok", outcome != "silent"
            latency = latency if ok else None
            results.append((now, ok, latency, answered))
            changed = state.record(HeartbeatResult("svc", ok, now, latency, None, answered))
        transitions += changed is not None
        assert state.status is expected_status(check, 0.0, results, now)
        # the metrics stay possible
        assert state.heartbeat_count == len(results)
        assert 0 <= state.missed_heartbeats <= state.heartbeat_count
        assert 0.0 <= state.uptime_percentage <= 100.0
        assert state.consecutive_failures + state.consecutive_successes <= len(results)
        stats = state.latency()
        if stats.p50_ms is not None:
            assert stats.min_ms <= stats.p50_ms <= stats.p95_ms <= stats.p99_ms <= stats.max_ms
        assert state.flap_count(now) <= transitions
        assert len(state.recent_latencies()) <= 64


# -- topic routing -----------------------------------------------------------------------------


def reference_match(pattern: str, key: str) -> bool:
    """RabbitMQ's topic rule by dynamic programming over words ('.'-separated; the empty
    key has no words): '*' is exactly one word, '#' zero or more."""
    p = pattern.split(".") if pattern else []
    w = key.split(".") if key else []
    # can[i][j]: the first i pattern words match the first j key words
    can = [[False] * (len(w) + 1) for _ in range(len(p) + 1)]
    can[0][0] = True
    for i, word in enumerate(p, 1):
        for j in range(len(w) + 1):
            if word == "#":
                can[i][j] = can[i - 1][j] or (j > 0 and can[i][j - 1])
            elif j > 0:
                can[i][j] = can[i - 1][j - 1] and word in ("*", w[j - 1])
    return can[len(p)][len(w)]


words = st.sampled_from(["a", "b", "ab", ""])
keys = st.lists(words, max_size=5).map(".".join)
patterns = st.lists(st.sampled_from(["a", "b", "*", "#", ""]), max_size=5).map(".".join)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(pattern=patterns, key=keys)
def test_topic_routing_of_the_memory_broker_follows_rabbitmqs_rules(pattern: str, key: str) -> None:
    async def routed() -> bool:
        broker = MemoryBroker(MemoryVirtualHost())
        await broker.connect()
        await broker.declare_exchange("t", ExchangeType.TOPIC)
        await broker.declare_queue("q")
        await broker.bind("q", "t", pattern)
        delivered = await broker.publish("t", key, b"x", Properties(), mandatory=True)
        await broker.close()
        return delivered

    assert asyncio.run(routed()) is reference_match(pattern, key)


# -- graph analyses ----------------------------------------------------------------------------

kinds = st.sampled_from([DependencyType.HARD, DependencyType.SOFT, DependencyType.OPTIONAL])
nodes = [f"n{i}" for i in range(7)]
graphs = st.lists(
    st.tuples(st.sampled_from(nodes), st.sampled_from(nodes), kinds).filter(lambda e: e[0] != e[1]),
    max_size=20,
    unique_by=lambda e: (e[0], e[1]),
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(edges=graphs)
def test_graph_analyses_agree_with_brute_force(
    edges: list[tuple[str, str, DependencyType]],
) -> None:
    graph = graph_of(*edges, nodes=tuple(nodes))
    assert graph.circular_edges() == {(s, t) for s, t, _ in edges if on_some_cycle(edges, s, t)}
    for cycle in graph.cycles():
        ring = [*cycle.services, cycle.services[0]]
        assert all(any((a, b) == (s, t) for s, t, _ in edges) for a, b in itertools.pairwise(ring))
    for node in nodes:
        impact = graph.impact(node)
        down, weak = brute_impact(edges, node)
        assert {e.service_id for e in impact.failed} == down
        assert {e.service_id for e in impact.degraded} == weak
        for entry in [*impact.failed, *impact.degraded]:
            assert entry.path[0] == node
            assert entry.path[-1] == entry.service_id
            for target, dependent in itertools.pairwise(entry.path):
                assert graph.has_dependency(dependent, target)
    assert {(d.source, d.target) for d in graph.dependencies()} == {(s, t) for s, t, _ in edges}
    assert all(
        isinstance(d, Dependency) and d.relationship is Relationship.SYNC_API
        for d in graph.dependencies()
    )
