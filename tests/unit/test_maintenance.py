"""Maintenance windows: when one is on (once or weekly, ended by hand), what it covers, and
what it changes for a service: still checked, marked, its transitions flagged and silenced,
its checks out of the uptime figures; and it ends on time with nobody looking."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ose_mesh.core import ServiceSpec
from ose_mesh.core.alerts import AlertNotifier
from ose_mesh.core.hub import OWN_STATUS
from ose_mesh.core.maintenance import MaintenanceSchedule, WindowSpec
from ose_mesh.core.transitions import subscribe_transitions, transition_event
from ose_mesh.domain import HealthStatus, InvalidField, Service
from ose_mesh.domain.maintenance import MaintenanceWindow
from tests.eventually import eventually
from tests.unit.core_parts import Core, build_core
from tests.unit.test_alerts import CHANGE, Receiver

MONDAY_22H = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)


def window(**fields: object) -> MaintenanceWindow:
    values: dict[str, object] = {
        "window_id": "w",
        "starts_at": MONDAY_22H,
        "ends_at": MONDAY_22H + timedelta(hours=2),
        "reason": "database upgrade",
        "created_by": "ops",
        "service_ids": ("db",),
        **fields,
    }
    return MaintenanceWindow(**values).validated()  # type: ignore[arg-type]


def test_a_window_is_on_from_its_start_to_its_end() -> None:
    once = window()
    assert not once.is_on(MONDAY_22H - timedelta(seconds=1))
    assert once.is_on(MONDAY_22H)
    assert once.is_on(MONDAY_22H + timedelta(hours=1, minutes=59))
    assert not once.is_on(MONDAY_22H + timedelta(hours=2))
    assert once.next_start(MONDAY_22H + timedelta(hours=3)) is None  # over


def test_a_weekly_window_comes_back_until_it_is_ended() -> None:
    weekly = window(weekly=True)
    next_monday = MONDAY_22H + timedelta(days=7)
    assert weekly.is_on(next_monday + timedelta(minutes=30))
    assert not weekly.is_on(next_monday + timedelta(hours=3))
    assert weekly.next_start(MONDAY_22H + timedelta(days=1)) == next_monday
    assert weekly.ends_after(next_monday + timedelta(minutes=5)) == next_monday + timedelta(hours=2)
    ended = weekly.ended(next_monday + timedelta(minutes=10))
    assert ended.is_on(next_monday + timedelta(minutes=5))
    assert not ended.is_on(next_monday + timedelta(minutes=10))
    assert ended.next_start(next_monday + timedelta(minutes=10)) is None
    assert not ended.is_on(next_monday + timedelta(days=7, minutes=5))


def test_a_window_covers_services_by_id_cluster_or_label() -> None:
    payments = Service("pay", "Pay", cluster="core", labels=(("team", "payments"),))
    assert window(service_ids=("pay",)).covers(payments)
    assert window(service_ids=(), cluster="core").covers(payments)
    assert window(service_ids=(), label="team=payments").covers(payments)
    assert not window(service_ids=(), label="team=search").covers(payments)
    assert not window(service_ids=("db",)).covers(payments)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": MONDAY_22H}, "ends_at"),
        ({"ends_at": MONDAY_22H - timedelta(hours=1)}, "ends_at"),
        ({"weekly": True, "ends_at": MONDAY_22H + timedelta(days=8)}, "ends_at"),
        ({"service_ids": ()}, "service_ids"),
        ({"reason": "  "}, "reason"),
        ({"label": "team"}, "label"),
        ({"label": "bad key!=x"}, "label"),
        ({"starts_at": datetime(2026, 12, 1)}, "starts_at"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_bad_windows_are_refused_naming_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidField) as refused:
        window(**fields)
    assert refused.value.field == field


async def in_maintenance_core() -> tuple[Core, MaintenanceSchedule]:
    core = build_core()
    for service_id in ("db", "web"):
        await core.registry.register(ServiceSpec(service_id, interval_seconds=10))
    return core, core.maintenance


async def test_a_service_in_maintenance_is_checked_marked_silenced_and_kept_out_of_uptime() -> None:
    core, schedule = await in_maintenance_core()
    transitions = subscribe_transitions(core.hub)
    await schedule.create(WindowSpec(reason="disk swap", service_ids=("db",), duration_minutes=30))

    for _ in range(3):
        await core.registry.beat("db", ok=False, message="connection refused")
        await core.registry.beat("web", ok=False)
    # still checked and shown as it is
    assert core.monitor.state("db").status is HealthStatus.CRITICAL
    view = core.health.get("db")
    assert view.maintenance is not None
    assert view.maintenance.reason == "disk swap"
    assert view.maintenance_ends == core.clock.wall() + timedelta(minutes=30)
    assert core.health.get("web").maintenance is None
    # its transitions say so, on the bus too; the other service's do not
    changes = [transitions.queue.get_nowait() for _ in range(transitions.queue.qsize())]
    flagged = {(c.service_id, c.in_maintenance) for c in changes}
    assert flagged == {("db", True), ("web", False)}
    db_change = next(c for c in changes if c.service_id == "db")
    assert transition_event(db_change).payload["in_maintenance"] is True
    # its failures count neither for nor against its uptime; the other's do
    await core.history.flush()
    core.clock.advance(60)
    await core.history.flush()
    await core.history._read_uptime()
    assert core.history.uptime("db")["24h"] is None
    assert core.history.uptime("web")["24h"] == 0.0


async def test_a_window_ends_on_time_with_nobody_looking() -> None:
    core, schedule = await in_maintenance_core()
    transitions = subscribe_transitions(core.hub)
    await schedule.create(WindowSpec(reason="reboot", service_ids=("db",), duration_minutes=5))
    await core.registry.beat("db", ok=False)
    core.clock.advance(5 * 60)  # nothing touched the window
    assert core.health.get("db").maintenance is None
    await core.registry.beat("db", ok=True)
    changes = [transitions.queue.get_nowait() for _ in range(transitions.queue.qsize())]
    assert [(c.current, c.in_maintenance) for c in changes] == [
        (HealthStatus.DEGRADED, True),
        (HealthStatus.HEALTHY, False),
    ]


async def test_windows_are_kept_in_the_store_and_read_back() -> None:
    core, schedule = await in_maintenance_core()
    created = await schedule.create(
        WindowSpec(reason="weekly patching", cluster="core", duration_minutes=60, weekly=True)
    )
    again = MaintenanceSchedule(core.store, core.clock)
    await again.refresh()
    assert again.get(created.window_id) == created
    await schedule.end(created.window_id)
    await again.refresh()
    assert not again.is_on(again.get(created.window_id))
    assert again.windows(current_only=True) == []
    await schedule.delete(created.window_id)
    await again.refresh()
    assert again.windows() == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (WindowSpec(reason="x", service_ids=("ghost",), duration_minutes=5), "service_ids"),
        (WindowSpec(reason="x", cluster="core"), "ends_at"),
        (WindowSpec(reason="x", cluster="core", duration_minutes=0), "duration_minutes"),
        (WindowSpec(reason="x", cluster="core", duration_minutes=600_000), "duration_minutes"),
        (
            WindowSpec(
                reason="x",
                cluster="core",
                ends_at=datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=1),
                starts_at=datetime(2025, 12, 1, tzinfo=UTC),
            ),
            "ends_at",
        ),
    ],
)
async def test_a_refused_window_changes_nothing(spec: WindowSpec, field: str) -> None:
    core, schedule = await in_maintenance_core()
    with pytest.raises(InvalidField) as refused:
        await schedule.create(spec)
    assert refused.value.field == field
    assert await core.store.list_windows() == []


async def test_alerts_skip_transitions_made_in_maintenance() -> None:
    core, _ = await in_maintenance_core()
    receiver = Receiver()
    notifier = AlertNotifier(["http://a/hook"], receiver)
    subscription = subscribe_transitions(core.hub)
    running = asyncio.create_task(notifier.run(subscription))
    core.hub.publish(OWN_STATUS, replace(CHANGE, in_maintenance=True))
    core.hub.publish(OWN_STATUS, CHANGE)
    await eventually(lambda: receiver.received)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert len(receiver.received) == 1
    assert receiver.received[0][1]["in_maintenance"] is False
    assert notifier.stats.silenced == 1


async def test_a_service_labelled_into_or_out_of_a_window_is_seen_at_once() -> None:
    core, schedule = await in_maintenance_core()
    await schedule.create(WindowSpec(reason="move", label="rack=7", duration_minutes=30))
    assert core.health.get("db").maintenance is None
    await core.registry.register(ServiceSpec("db", labels={"rack": "7"}))
    assert core.health.get("db").maintenance is not None
    await core.registry.register(ServiceSpec("late", labels={"rack": "7"}))
    assert core.health.get("late").maintenance is not None
    await core.registry.register(ServiceSpec("db", labels={"rack": "8"}))
    assert core.health.get("db").maintenance is None
    assert core.health.get("late").maintenance is not None
