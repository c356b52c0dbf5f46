"""The repository contract, run on SQLite and on PostgreSQL with the same assertions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ose_mesh.adapters.db import SqlRepository
from ose_mesh.core import Rollup
from ose_mesh.core.ports import Delivery, DeliveryCounts, OutboxEntry, StoredTraffic
from ose_mesh.domain import (
    CheckConfig,
    CheckType,
    Dependency,
    DependencyType,
    EventMessage,
    HealthStatus,
    HttpAssertions,
    Relationship,
    Service,
    StatusChange,
)
from ose_mesh.domain.maintenance import MaintenanceWindow
from ose_mesh.domain.notifications import NotificationRule, NotificationTarget

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def service(service_id: str = "payments", **check: object) -> Service:
    config = CheckConfig(
        check_type=CheckType.HTTP,
        health_url="http://10.0.0.1:8080/health",
        **{"interval_seconds": 15, "timeout_seconds": 45, "latency_threshold_ms": 250.0, **check},  # type: ignore[arg-type]
    )
    return Service(service_id, "Payments API", config, cluster="core", registered_at=T0)


def change(service_id: str, previous: str, current: str, minutes: int) -> StatusChange:
    return StatusChange(
        service_id,
        HealthStatus(previous),
        HealthStatus(current),
        T0 + timedelta(minutes=minutes),
        f"{previous} to {current}",
    )


async def test_a_stored_service_comes_back_identical(repository: SqlRepository) -> None:
    original = service()
    await repository.upsert_service(original)
    assert await repository.list_services() == [original]


async def test_upsert_updates_and_keeps_the_registration_time(repository: SqlRepository) -> None:
    await repository.upsert_service(service())
    changed = service(interval_seconds=30, timeout_seconds=90)
    changed = Service(
        "payments", "Payments v2", changed.check, registered_at=T0 + timedelta(days=1)
    )
    await repository.upsert_service(changed)
    [stored] = await repository.list_services()
    assert stored.service_name == "Payments v2"
    assert stored.check.interval_seconds == 30
    assert stored.registered_at == T0


async def test_delete_removes_the_service_and_its_history(repository: SqlRepository) -> None:
    await repository.upsert_service(service("a"))
    await repository.upsert_service(service("b"))
    await repository.add_transitions([change("a", "unknown", "healthy", 1)])
    await repository.add_rollups([Rollup("a", T0, 6, 1, 60.0, 5, 20.0)])
    assert await repository.delete_service("a") is True
    assert await repository.delete_service("a") is False
    assert [s.service_id for s in await repository.list_services()] == ["b"]
    assert await repository.list_transitions("a", 10) == []
    assert await repository.uptime_since(T0 - timedelta(days=1)) == {}


async def test_transitions_newest_first_with_a_limit(repository: SqlRepository) -> None:
    changes = [
        change("a", "unknown", "healthy", 1),
        change("a", "healthy", "degraded", 2),
        change("a", "degraded", "critical", 3),
        change("b", "unknown", "dead", 2),
    ]
    await repository.add_transitions(changes)
    assert await repository.list_transitions("a", 2) == [changes[2], changes[1]]


async def test_every_services_transitions_since_a_moment_newest_first(
    repository: SqlRepository,
) -> None:
    changes = [
        change("a", "unknown", "healthy", 1),
        change("b", "unknown", "dead", 2),
        change("a", "healthy", "degraded", 3),
    ]
    await repository.add_transitions(changes)
    assert await repository.transitions_since(changes[1].at, 10) == [changes[2], changes[1]]
    assert await repository.transitions_since(changes[0].at, 1) == [changes[2]]


async def test_last_status_per_service(repository: SqlRepository) -> None:
    await repository.add_transitions(
        [
            change("a", "unknown", "healthy", 1),
            change("a", "healthy", "critical", 2),
            change("b", "unknown", "dead", 1),
        ]
    )
    assert await repository.last_statuses() == {
        "a": HealthStatus.CRITICAL,
        "b": HealthStatus.DEAD,
    }


async def test_rollups_of_the_same_minute_add_up(repository: SqlRepository) -> None:
    await repository.add_rollups([Rollup("a", T0, 6, 1, 60.0, 5, 20.0)])
    await repository.add_rollups([Rollup("a", T0, 4, 2, 30.0, 2, 40.0)])
    await repository.add_rollups([Rollup("a", T0 + timedelta(minutes=1), 10, 0, 1.0, 10, 1.0)])
    assert await repository.uptime_since(T0) == {"a": (20, 3)}
    assert await repository.uptime_since(T0 + timedelta(seconds=30)) == {"a": (10, 0)}


async def test_rollups_per_utc_day_and_one_services_minutes(repository: SqlRepository) -> None:
    late = T0.replace(hour=23, minute=59)
    next_day = late + timedelta(minutes=1)
    await repository.add_rollups(
        [
            Rollup("a", late, 6, 1, 60.0, 5, 20.0),
            Rollup("a", next_day, 4, 4, 0.0, 0, 0.0),
            Rollup("a", next_day + timedelta(hours=23, minutes=59), 2, 0, 4.0, 2, 3.0),
            Rollup("b", late, 1, 0, 1.0, 1, 1.0),
            Rollup("c", late, 9, 0, 9.0, 9, 1.0),
        ]
    )
    daily = await repository.daily_uptime(["a", "b", "nope"], late)
    assert daily == {
        "a": {late.date(): (6, 1), next_day.date(): (6, 4)},
        "b": {late.date(): (1, 0)},
    }
    assert await repository.daily_uptime(["a"], next_day) == {"a": {next_day.date(): (6, 4)}}
    minutes = await repository.minute_rollups("a", next_day)
    assert [(r.minute, r.count, r.missed, r.latency_max_ms) for r in minutes] == [
        (next_day, 4, 4, 0.0),
        (next_day + timedelta(hours=23, minutes=59), 2, 0, 3.0),
    ]


async def test_dependencies_upsert_list_and_delete(repository: SqlRepository) -> None:
    web_db = Dependency("web", "db", DependencyType.HARD, Relationship.DATABASE, "orders")
    await repository.upsert_dependency(web_db)
    await repository.upsert_dependency(
        Dependency("web", "cache", DependencyType.SOFT, Relationship.CACHE)
    )
    changed = Dependency("web", "db", DependencyType.SOFT, Relationship.DATABASE, None)
    await repository.upsert_dependency(changed)
    stored = sorted(await repository.list_dependencies(), key=lambda d: d.key)
    assert stored == [
        Dependency("web", "cache", DependencyType.SOFT, Relationship.CACHE),
        changed,
    ]
    assert await repository.delete_dependency("web", "db") is True
    assert await repository.delete_dependency("web", "db") is False


async def test_a_catalog_is_saved_whole(repository: SqlRepository) -> None:
    services = [service("a"), service("b")]
    edge = Dependency("a", "b", DependencyType.HARD, Relationship.SYNC_API)
    await repository.save_catalog(services, [edge])
    await repository.save_catalog(services, [edge])  # idempotent
    assert sorted(s.service_id for s in await repository.list_services()) == ["a", "b"]
    assert await repository.list_dependencies() == [edge]


async def test_transitions_keep_their_root_causes(repository: SqlRepository) -> None:
    change = StatusChange(
        "web", HealthStatus.HEALTHY, HealthStatus.CRITICAL, T0, "3 failures", ("db", "queue")
    )
    await repository.add_transitions([change])
    assert await repository.list_transitions("web", 1) == [change]


async def test_the_outbox_gives_back_what_it_took_oldest_first(repository: SqlRepository) -> None:
    entries = [
        OutboxEntry("ose.events", f"orders.{n}", EventMessage("order.placed", "shop", {"n": n}))
        for n in range(5)
    ]
    await repository.add_outbox(entries[:3])
    await repository.add_outbox(entries[3:])
    assert await repository.outbox_backlog() == 5
    pending = await repository.pending_outbox(3)
    assert [e.routing_key for e in pending] == ["orders.0", "orders.1", "orders.2"]
    assert pending[0].event == entries[0].event
    await repository.delete_outbox([e.id for e in pending[:2] if e.id is not None])
    rest = await repository.pending_outbox(10)
    assert [e.routing_key for e in rest] == ["orders.2", "orders.3", "orders.4"]
    assert await repository.outbox_backlog() == 3


async def test_services_keep_their_labels_and_check_options(repository: SqlRepository) -> None:
    check = CheckConfig(
        check_type=CheckType.HTTP,
        health_url="https://shop.example/health",
        cert_expiry_days=30,
        assertions=HttpAssertions(status_codes=(200,), json_path="$.status", json_equals="UP"),
    )
    service = Service("shop", "Shop", check, labels=(("team", "web"), ("tier", "1")))
    await repository.upsert_service(service)
    [stored] = await repository.list_services()
    assert (stored.check, stored.labels) == (check, service.labels)


async def test_maintenance_windows_are_saved_replaced_and_deleted(
    repository: SqlRepository,
) -> None:
    starts = datetime(2026, 12, 6, 2, tzinfo=UTC)
    window = MaintenanceWindow(
        "w1",
        starts,
        starts + timedelta(hours=1),
        "patching",
        "alice",
        service_ids=("a", "b"),
        label="team=web",
        weekly=True,
        created_at=starts,
    )
    await repository.save_window(window)
    assert await repository.list_windows() == [window]
    ended = window.ended(starts + timedelta(minutes=10))
    await repository.save_window(ended)
    assert await repository.list_windows() == [ended]
    await repository.delete_window("w1")
    assert await repository.list_windows() == []


async def test_notification_targets_and_their_delivery_counts(repository: SqlRepository) -> None:
    rule = NotificationRule(labels=("team=web",), statuses=(HealthStatus.DEAD,), min_minutes=2)
    target = NotificationTarget("t1", "ops", "json://h/x", "JSON", "json://h/x", rule)
    await repository.save_target(target)
    assert await repository.list_targets() == [target]
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    await repository.count_delivery("t1", Delivery(True, at))
    await repository.count_delivery("t1", Delivery(False, at, "refused"))
    counts = await repository.count_delivery("t1", Delivery(True, at + timedelta(minutes=1)))
    assert counts == DeliveryCounts(2, 1, "refused", at + timedelta(minutes=1))
    assert await repository.delivery_counts() == {"t1": counts}
    await repository.delete_target("t1")
    assert (await repository.list_targets(), await repository.delivery_counts()) == ([], {})


async def test_what_was_told_is_kept_per_target_and_service(repository: SqlRepository) -> None:
    await repository.set_told("t1", "pay", HealthStatus.DEAD)
    await repository.set_told("t1", "pay", HealthStatus.CRITICAL)
    await repository.set_told("t2", "pay", HealthStatus.DEAD)
    await repository.set_told("t1", "web", HealthStatus.DEAD)
    assert await repository.told(["pay"]) == {
        ("t1", "pay"): HealthStatus.CRITICAL,
        ("t2", "pay"): HealthStatus.DEAD,
    }
    await repository.set_told("t1", "pay", None)
    assert await repository.told(["pay", "web"]) == {
        ("t2", "pay"): HealthStatus.DEAD,
        ("t1", "web"): HealthStatus.DEAD,
    }


async def test_traffic_rows_are_replaced_read_by_time_and_replica_and_pruned(
    repository: SqlRepository,
) -> None:
    def row(replica: str, target: str, minutes: int, figures: bytes = b"\x01\x02") -> StoredTraffic:
        when = T0 + timedelta(minutes=minutes)
        return StoredTraffic(replica, "call", "web", target, "sync_api", figures, when)

    await repository.save_traffic([row("a", "api", 0), row("b", "api", 1), row("b", "db", 2)])
    await repository.save_traffic([row("a", "api", 3, b"\x00" * 3000)])  # replaced
    mine_excluded = await repository.traffic_since(None, "a")
    assert sorted((r.replica_id, r.target) for r in mine_excluded) == [("b", "api"), ("b", "db")]
    every = {(r.replica_id, r.target): r for r in await repository.traffic_since(None, None)}
    assert every[("a", "api")].figures == b"\x00" * 3000
    assert every[("a", "api")].updated_at == T0 + timedelta(minutes=3)
    recent = await repository.traffic_since(T0 + timedelta(minutes=2), None)
    assert sorted((r.replica_id, r.target) for r in recent) == [("a", "api"), ("b", "db")]
    assert await repository.prune_traffic(T0 + timedelta(minutes=2)) == 1
    assert len(await repository.traffic_since(None, None)) == 2
