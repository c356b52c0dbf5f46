"""Demo mode shows every status within two minutes (simulated time, the real state machine)."""

from __future__ import annotations

import random

from ose_mesh.core import HealthState
from ose_mesh.demo.simulator import (
    DEMO_INTERVAL,
    DEMO_PROBE_TIMEOUT,
    DEMO_TIMEOUT,
    SLOW_THRESHOLD_MS,
    behave,
    load_topology,
)
from ose_mesh.domain import CheckConfig, CheckType, HealthStatus, HeartbeatResult, Service

CHECK = CheckConfig(
    check_type=CheckType.HTTP,
    health_url="http://127.0.0.1:8000/demo/x/health",
    interval_seconds=DEMO_INTERVAL,
    timeout_seconds=DEMO_TIMEOUT,
    probe_timeout_seconds=DEMO_PROBE_TIMEOUT,
    latency_threshold_ms=SLOW_THRESHOLD_MS,
)


def statuses_over(behaviour: str, seconds: float) -> set[HealthStatus]:
    """Probe a simulated endpoint every interval, as the monitor would, and collect statuses."""
    rng = random.Random(3)
    state = HealthState(Service("x", "x", CHECK), now=0.0)
    seen = set()
    at = 0.0
    while at <= seconds:
        answer = behave(behaviour, at, rng)
        hung = answer.delay_seconds >= DEMO_PROBE_TIMEOUT
        ok = answer.status < 400 and not hung
        latency = None if hung else answer.delay_seconds * 1000
        state.record(HeartbeatResult("x", ok, at, latency, None, answered=not hung))
        seen.add(state.status)
        state.reevaluate(at + DEMO_INTERVAL - 0.001)
        seen.add(state.status)
        at += DEMO_INTERVAL
    return seen


def test_the_demo_shows_every_status_within_two_minutes() -> None:
    seen: set[HealthStatus] = set()
    for entry in load_topology()["services"]:
        if "demo" in entry:
            seen |= statuses_over(entry["demo"]["behaviour"], 120)
    assert {
        HealthStatus.HEALTHY,
        HealthStatus.DEGRADED,
        HealthStatus.CRITICAL,
        HealthStatus.DEAD,
    } <= seen


def test_steady_services_stay_healthy() -> None:
    assert statuses_over("steady", 600) == {HealthStatus.HEALTHY}


def test_the_topology_is_the_reference_one() -> None:
    ids = {entry["id"] for entry in load_topology()["services"]}
    assert ids == {
        "service-mesh", "discovery", "optimization", "factory-reset", "reinstallation",
        "metrics-collector", "terminal-config", "postgres", "redis", "rabbitmq",
        "prometheus", "grafana",
    }  # fmt: skip


def test_the_strained_service_is_degraded_while_the_failing_one_is_down() -> None:
    assert statuses_over("strained", 20) == {HealthStatus.HEALTHY}
    rng = random.Random(1)
    assert behave("strained", 100, rng).delay_seconds * 1000 > SLOW_THRESHOLD_MS
    assert behave("strained", 310, rng).delay_seconds * 1000 < SLOW_THRESHOLD_MS


async def test_demo_traffic_shows_every_kind_of_drift() -> None:
    """The demo's spans, through the real trace book and drift: one undeclared call, one
    declared edge never called, and one soft edge whose caller fails with its callee."""
    from ose_mesh.core.observations import Observations
    from ose_mesh.core.traces import ServiceDirectory, TraceBook
    from ose_mesh.demo.traffic import DemoTraffic
    from ose_mesh.domain import Dependency, DependencyType, Relationship
    from tests.fakes import MemoryRepository

    clock = [1_800_000_000.0]
    book = TraceBook(ServiceDirectory(list, lambda: clock[0]), clock=lambda: clock[0])
    topology = load_topology()
    declared = [
        Dependency(
            d["source"], d["target"], DependencyType(d["type"]), Relationship(d["relationship"])
        )
        for d in topology["dependencies"]
    ]

    async def declare(dependency: Dependency) -> object:
        raise AssertionError("nothing is accepted here")

    observations = Observations(
        book, MemoryRepository(), "demo", declared=lambda: declared,
        registered=lambda service_id: True, declare=declare,  # type: ignore[arg-type]
    )  # fmt: skip
    traffic = DemoTraffic(observations.receive)
    traffic._started -= 60  # factory-reset is down from 25 s into every 6 minutes
    for _ in range(20):
        await traffic.tick()
        clock[0] += 2
    drift = await observations.drift(60)
    assert [(e.edge.source, e.edge.target) for e in drift.undeclared] == [("grafana", "postgres")]
    assert [e.dependency.key for e in drift.unseen] == [("terminal-config", "rabbitmq")]
    assert [(e.dependency.key, e.suggested_type) for e in drift.suspect] == [
        (("reinstallation", "factory-reset"), DependencyType.HARD)
    ]
