"""The scheduler: fixed-grid intervals, hung probes isolated, push misses, dead by time."""

from __future__ import annotations

import asyncio
import random

import pytest

from ose_mesh.core import STATUS, EventHub, HeartbeatMonitor, HistoryRecorder, ManualClock
from ose_mesh.core.hub import OWN_NOTICES
from ose_mesh.core.monitor import describe_status
from ose_mesh.domain import CheckConfig, CheckType, HealthStatus, Service
from tests.fakes import MemoryHistory, ScriptedProber


def http_service(service_id: str, **check: object) -> Service:
    config = CheckConfig(
        check_type=CheckType.HTTP,
        health_url=f"http://127.0.0.1:1/{service_id}",
        **{"interval_seconds": 10, "timeout_seconds": 30, "probe_timeout_seconds": 5, **check},  # type: ignore[arg-type]
    )
    return Service(service_id, service_id, config)


def push_service(service_id: str) -> Service:
    return Service(service_id, service_id, CheckConfig(interval_seconds=10, timeout_seconds=30))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def prober() -> ScriptedProber:
    return ScriptedProber()


@pytest.fixture
def hub() -> EventHub:
    return EventHub()


@pytest.fixture
def monitor(clock: ManualClock, prober: ScriptedProber, hub: EventHub) -> HeartbeatMonitor:
    history = HistoryRecorder(clock, MemoryHistory())
    return HeartbeatMonitor(clock, prober, hub, history, rng=random.Random(7))


async def step(monitor: HeartbeatMonitor, clock: ManualClock, seconds: float) -> None:
    """Advance time and let due work and finished probes run."""
    clock.advance(seconds)
    monitor.run_due()
    for _ in range(3):
        await asyncio.sleep(0)
    monitor.run_due()


async def test_probes_stay_on_the_interval_grid(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber
) -> None:
    monitor.watch(http_service("a"))
    monitor.run_due()
    await monitor.wait_for_probes()
    for _ in range(5):
        await step(monitor, clock, 10.3)  # every step arrives 0.3 s late
    # 1 at start + 5 (the late arrival does not push the grid later).
    assert prober.calls.count("a") == 6
    drifts = list(monitor.stats.drift_seconds)
    assert max(drifts) < 2.0  # drift stays bounded, it does not accumulate


async def test_a_hung_service_does_not_delay_the_others(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber
) -> None:
    prober.hang.add("slow")
    monitor.watch(http_service("slow"))
    monitor.watch(http_service("fast"))
    await step(monitor, clock, 0)
    await step(monitor, clock, 10)
    assert prober.calls.count("fast") == 2
    assert monitor.state("fast").status is HealthStatus.HEALTHY
    assert monitor.state("slow").heartbeat_count == 0


async def test_a_hung_probe_still_ends_dead_by_time(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber
) -> None:
    prober.hang.add("hung")
    monitor.watch(http_service("hung", timeout_seconds=30))
    for _ in range(31):
        await step(monitor, clock, 1)
    assert monitor.state("hung").status is HealthStatus.DEAD


async def test_a_service_answering_http_500_is_critical_and_never_dead(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber
) -> None:
    """With the defaults (10 s interval, 30 s timeout, 3 failures), as in the reference."""
    prober.fail.add("erroring")
    monitor.watch(http_service("erroring"))
    seen = []
    for _ in range(300):
        await step(monitor, clock, 1)
        seen.append(monitor.state("erroring").status)
    assert HealthStatus.DEAD not in seen
    assert seen[-1] is HealthStatus.CRITICAL
    assert HealthStatus.DEGRADED in seen[: seen.index(HealthStatus.CRITICAL)]


async def test_probe_timeout_counts_as_a_failure(
    clock: ManualClock, prober: ScriptedProber, hub: EventHub
) -> None:
    prober.hang.add("hung")
    monitor = HeartbeatMonitor(clock, prober, hub, HistoryRecorder(clock, MemoryHistory()))
    service = http_service("hung", probe_timeout_seconds=0.01)
    monitor.watch(service)
    monitor.run_due()
    await monitor.wait_for_probes()
    state = monitor.state("hung")
    assert state.missed_heartbeats == 1
    assert state.status is HealthStatus.DEGRADED
    assert "no answer within" in (state.last_message or "")


async def test_failures_then_recovery_are_published(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber, hub: EventHub
) -> None:
    changes = hub.subscribe(STATUS)
    prober.fail.add("a")
    monitor.watch(http_service("a", max_failures=2))
    await step(monitor, clock, 0)
    await step(monitor, clock, 10)
    prober.fail.clear()
    await step(monitor, clock, 10)
    seen = []
    while not changes.queue.empty():
        change = changes.queue.get_nowait()
        seen.append((change.previous.value, change.current.value))
    assert seen == [("unknown", "degraded"), ("degraded", "critical"), ("critical", "healthy")]


async def test_a_missing_push_beat_is_a_miss(monitor: HeartbeatMonitor, clock: ManualClock) -> None:
    monitor.watch(push_service("p"))
    clock.advance(5)
    monitor.record_beat("p", latency_ms=3.0)
    await step(monitor, clock, 5)  # first window had a beat
    assert monitor.state("p").missed_heartbeats == 0
    await step(monitor, clock, 10)  # second window had none
    state = monitor.state("p")
    assert state.missed_heartbeats == 1
    assert state.heartbeat_count == 2
    assert state.status is HealthStatus.DEGRADED


async def test_push_service_that_never_beats_dies_after_its_timeout(
    monitor: HeartbeatMonitor, clock: ManualClock
) -> None:
    monitor.watch(push_service("p"))
    statuses = []
    for _ in range(4):
        await step(monitor, clock, 10)
        statuses.append(monitor.state("p").status)
    assert statuses[-1] is HealthStatus.DEAD
    assert HealthStatus.CRITICAL in statuses


async def test_restart_spreads_first_probes_over_the_interval(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber
) -> None:
    for i in range(100):
        monitor.watch(http_service(f"s{i}"), spread=True)
    await step(monitor, clock, 0)
    first_second = len(prober.calls)
    for _ in range(10):
        await step(monitor, clock, 1)
    assert first_second < 30  # not everything at once
    assert len(set(prober.calls)) == 100  # but everyone within one interval


async def test_unwatch_stops_probing(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber
) -> None:
    monitor.watch(http_service("a"))
    await step(monitor, clock, 0)
    monitor.unwatch("a")
    await step(monitor, clock, 30)
    assert prober.calls == ["a"]
    assert "a" not in monitor


async def test_changing_the_interval_reschedules_without_duplicates(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber
) -> None:
    monitor.watch(http_service("a"))
    await step(monitor, clock, 0)
    monitor.watch(http_service("a", interval_seconds=20, timeout_seconds=60))
    for _ in range(40):
        await step(monitor, clock, 1)
    # first probe, the immediate one after the change, then one every 20 s
    assert prober.calls.count("a") == 4


async def test_a_certificate_near_expiry_degrades_and_is_announced_once(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber, hub: EventHub
) -> None:
    notices = hub.subscribe(OWN_NOTICES)
    day = 86_400.0
    start = clock.wall().timestamp()
    prober.cert_not_after["web"] = start + 20 * day
    monitor.watch(http_service("web", cert_expiry_days=14))
    await step(monitor, clock, 0)
    assert monitor.state("web").status is HealthStatus.HEALTHY

    prober.cert_not_after["web"] = start + 10 * day  # as if ten days had passed
    await step(monitor, clock, 10)
    await step(monitor, clock, 10)
    state = monitor.state("web")
    assert state.status is HealthStatus.DEGRADED
    assert describe_status(state).startswith("TLS certificate expires in 10.0 days")
    assert "under the 14-day warning" in describe_status(state)

    prober.cert_not_after["web"] = start + 90 * day  # renewed
    await step(monitor, clock, 10)
    assert monitor.state("web").status is HealthStatus.HEALTHY
    events = [notices.queue.get_nowait().event for _ in range(notices.queue.qsize())]
    assert [(e.event_type, e.payload["warning_days"]) for e in events] == [
        ("service.certificate.expiring", 14),
        ("service.certificate.renewed", 14),
    ]
    assert events[0].payload["days_left"] == pytest.approx(10, abs=0.01)


async def test_a_certificate_warning_can_be_turned_off(
    monitor: HeartbeatMonitor, clock: ManualClock, prober: ScriptedProber
) -> None:
    prober.cert_not_after["web"] = clock.wall().timestamp() + 86_400.0
    monitor.watch(http_service("web", cert_expiry_days=0))
    await step(monitor, clock, 0)
    assert monitor.state("web").status is HealthStatus.HEALTHY
