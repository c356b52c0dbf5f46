"""Cluster mode in one process: a monitor checks only what it owns, continues from the
state a former owner left (never back to `unknown`, never a transition a single server
would not make), mirrors what others report, and a registry reads back what another
replica changed in the database."""

from __future__ import annotations

import asyncio

from ose_mesh.core import STATUS, EventHub, HeartbeatMonitor, HistoryRecorder, ManualClock
from ose_mesh.core.hub import OWN_STATUS
from ose_mesh.core.registry import ServiceSpec
from ose_mesh.core.shards import SHARDS, shard_of
from ose_mesh.domain import CheckType, Dependency, HealthStatus
from tests.fakes import MemoryHistory, ScriptedProber
from tests.unit.core_parts import build_core
from tests.unit.test_monitor import http_service, push_service


def monitor_owning(owned: set[str], clock: ManualClock, prober: ScriptedProber) -> HeartbeatMonitor:
    history = HistoryRecorder(clock, MemoryHistory())
    return HeartbeatMonitor(clock, prober, EventHub(), history, owns=lambda sid: sid in owned)


async def settle(monitor: HeartbeatMonitor) -> None:
    monitor.run_due()
    await asyncio.sleep(0)
    await monitor.wait_for_probes()


async def test_only_owned_services_are_probed_and_adopting_one_probes_it_within_a_second() -> None:
    clock, prober = ManualClock(), ScriptedProber()
    owned: set[str] = {"mine"}
    monitor = monitor_owning(owned, clock, prober)
    monitor.watch(http_service("mine"))
    monitor.watch(http_service("theirs"))
    for _ in range(3):
        await settle(monitor)
        clock.advance(10)
    assert set(prober.calls) == {"mine"}
    assert monitor.state("theirs").status is HealthStatus.UNKNOWN  # a mirror, not checked

    owned.add("theirs")
    monitor.adopt("theirs", None)
    clock.advance(1)
    await settle(monitor)
    assert prober.calls.count("theirs") == 1

    owned.discard("theirs")
    monitor.release("theirs")
    before = len(prober.calls)
    for _ in range(3):
        clock.advance(10)
        await settle(monitor)
    assert "theirs" not in prober.calls[before:]


async def test_a_late_lease_renewal_pauses_checks_without_losing_them() -> None:
    clock, prober = ManualClock(), ScriptedProber()
    owned: set[str] = {"svc"}
    monitor = monitor_owning(owned, clock, prober)
    monitor.watch(http_service("svc"))
    await settle(monitor)
    assert prober.calls == ["svc"]
    owned.clear()  # the lease's validity ran out before the renewal came back
    for _ in range(3):
        clock.advance(10)
        await settle(monitor)
    assert prober.calls == ["svc"]  # not acting meanwhile
    owned.add("svc")  # renewed: the same shard, the same epoch (nothing to adopt)
    clock.advance(10)
    await settle(monitor)
    assert prober.calls == ["svc", "svc"]  # checking resumed on the same schedule


async def test_a_new_owner_continues_from_the_stored_state() -> None:
    clock, prober = ManualClock(), ScriptedProber()
    first = monitor_owning({"svc"}, clock, prober)
    first.watch(http_service("svc", max_failures=3))
    await settle(first)  # healthy
    prober.fail.add("svc")
    clock.advance(10)
    await settle(first)  # degraded: one failure
    stored = first.snapshot("svc")

    owned: set[str] = set()
    second = monitor_owning(owned, clock, prober)
    changes = second._hub.subscribe(STATUS)
    second.watch(http_service("svc", max_failures=3))
    owned.add("svc")
    second.adopt("svc", stored)
    state = second.state("svc")
    assert state.status is HealthStatus.DEGRADED
    assert (state.heartbeat_count, state.consecutive_failures) == (2, 1)
    assert state.latency() == first.state("svc").latency()
    probes = len(prober.calls)
    clock.advance(1)
    await settle(second)
    assert len(prober.calls) == probes  # no sooner than the former owner's schedule
    clock.advance(10)
    await settle(second)  # a second failure: still degraded, as on a single server
    assert len(prober.calls) == probes + 1
    assert changes.queue.empty()
    clock.advance(10)
    await settle(second)  # the third: critical
    change = changes.queue.get_nowait()
    assert (change.previous, change.current) == (HealthStatus.DEGRADED, HealthStatus.CRITICAL)


async def test_the_dead_deadline_counts_from_the_last_answer_not_the_takeover() -> None:
    clock, prober = ManualClock(), ScriptedProber()
    first = monitor_owning({"push"}, clock, prober)
    first.watch(push_service("push"))  # timeout 30 s
    first.record_beat("push")
    clock.advance(20)
    stored = first.snapshot("push")
    owned = {"push"}
    second = monitor_owning(owned, clock, prober)
    second.watch(push_service("push"))
    second.adopt("push", stored)
    clock.advance(10.5)  # 30.5 s after the last beat
    second.run_due()
    assert second.state("push").status is HealthStatus.DEAD


def test_a_mirror_takes_newer_reports_only() -> None:
    clock, prober = ManualClock(), ScriptedProber()
    owner = monitor_owning({"svc"}, clock, prober)
    owner.watch(push_service("svc"))
    owner.record_beat("svc")
    older = owner.snapshot("svc")
    clock.advance(1)
    owner.record_beat("svc", ok=False)
    newer = owner.snapshot("svc")
    mirror = monitor_owning(set(), clock, prober)
    mirror.watch(push_service("svc"))
    assert mirror.mirror("svc", newer)
    assert not mirror.mirror("svc", older)
    assert mirror.state("svc").heartbeat_count == 2
    assert mirror.state("svc").status is HealthStatus.DEGRADED


def test_only_owned_transitions_are_published_as_this_process_s_own() -> None:
    clock, prober = ManualClock(), ScriptedProber()
    monitor = monitor_owning({"svc"}, clock, prober)
    own = monitor._hub.subscribe(OWN_STATUS)
    monitor.watch(push_service("svc"))
    monitor.record_beat("svc")
    assert own.queue.get_nowait().current is HealthStatus.HEALTHY
    assert monitor.take_changed()[0][0] == "svc"
    assert monitor.take_changed() == []


def test_shards_are_stable_and_spread() -> None:
    assert shard_of("payments") == shard_of("payments")
    counts = [0] * SHARDS
    for n in range(SHARDS * 100):
        counts[shard_of(f"svc-{n}")] += 1
    assert min(counts) > 50
    assert max(counts) < 150
    # ids that differ in one character land in both halves of the shards (each half is
    # what one of two replicas holds)
    for prefix in ("svc-", "web-", "a"):
        halves = {shard_of(f"{prefix}{n}") < SHARDS // 2 for n in range(10)}
        assert halves == {True, False}


async def test_a_registry_reads_back_what_another_replica_changed() -> None:
    here = build_core()
    there = build_core(here.store)  # another replica on the same database
    await there.registry.register(ServiceSpec("pay", "Payments", check_type=CheckType.PUSH))
    assert "pay" not in here.monitor
    await here.registry.refresh("pay")
    assert here.monitor.state("pay").service.service_name == "Payments"
    await there.registry.update(ServiceSpec("pay", "Payments v2"))
    await there.registry.register(ServiceSpec("web", check_type=CheckType.PUSH))
    assert await here.registry.reconcile() == 2
    assert here.monitor.state("pay").service.service_name == "Payments v2"
    assert "web" in here.monitor
    await there.registry.deregister("web")
    await here.registry.refresh("web")
    assert "web" not in here.monitor
    assert await here.registry.reconcile() == 0


async def test_a_graph_reads_back_what_another_replica_changed() -> None:
    here = build_core()
    edge = Dependency("web", "db")
    await here.store.upsert_dependency(edge)
    await here.dependencies.refresh("web", "db")
    assert here.dependencies.graph.has_dependency("web", "db")
    await here.store.delete_dependency("web", "db")
    await here.store.upsert_dependency(Dependency("api", "db"))
    assert await here.dependencies.reconcile() == 2
    assert here.dependencies.graph.has_dependency("api", "db")
    assert not here.dependencies.graph.has_dependency("web", "db")
