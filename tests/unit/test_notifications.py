"""Notification routing: which transitions reach which target, when (a minimum time in the
status, reminders), in what words, and what happens when a target fails."""

from __future__ import annotations

import asyncio

import pytest

from ose_mesh.core import ServiceSpec
from ose_mesh.core.alerts import DeliveryFailed
from ose_mesh.core.hub import OWN_NOTICES
from ose_mesh.core.maintenance import WindowSpec
from ose_mesh.core.notifications import Notification, NotificationCenter, TargetSpec
from ose_mesh.core.transitions import subscribe_transitions
from ose_mesh.domain import HealthStatus, InvalidField, NotificationTarget
from ose_mesh.domain.notifications import NotificationRule
from tests.eventually import eventually
from tests.unit.core_parts import Core, build_core


class Inbox:
    """A sender that keeps what it is given; `failing` targets refuse everything."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Notification]] = []
        self.failing: set[str] = set()

    def describe(self, url: str) -> tuple[str, str]:
        if not url.startswith("test://"):
            raise InvalidField("url", "is not a test:// URL")
        return "test", url.split("?")[0]

    async def send(self, target: NotificationTarget, notification: Notification) -> None:
        if target.name in self.failing:
            raise DeliveryFailed(f"{target.name} refused")
        self.sent.append((target.name, notification))

    async def close(self) -> None:
        pass


class Clockwork:
    """The waits of min_minutes and repeat_minutes, released by the test."""

    def __init__(self) -> None:
        self.waiting: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((seconds, future))
        await future

    def release(self) -> None:
        waiting, self.waiting = self.waiting, []
        for _, future in waiting:
            if not future.done():  # (a wait cancelled by the next transition)
                future.set_result(None)


_RUNNING: set[asyncio.Task[None]] = set()  # the routers, kept from the collector


async def setting(**rule: object) -> tuple[Core, NotificationCenter, Inbox, Clockwork]:
    core = build_core()
    inbox, clockwork = Inbox(), Clockwork()
    center = NotificationCenter(
        core.store,
        inbox,
        core.monitor,
        core.hub,
        core.clock,
        affected=lambda service_id: 4 if service_id == "payments" else 0,
        first_backoff=0,
        sleep=clockwork.sleep,
    )
    for service_id, labels in (("payments", {"team": "pay"}), ("search", {"team": "find"})):
        await core.registry.register(
            ServiceSpec(service_id, interval_seconds=10, max_failures=2, labels=labels)
        )
    await center.create(TargetSpec("ops", "test://ops", NotificationRule(**rule)))  # type: ignore[arg-type]
    _RUNNING.add(asyncio.create_task(center.run(subscribe_transitions(core.hub))))
    return core, center, inbox, clockwork


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_critical_and_dead_page_with_the_story_and_a_recovery_follows() -> None:
    core, _, inbox, _ = await setting()
    await core.registry.beat("payments", ok=False, message="connection refused")  # degraded
    await settle()
    assert inbox.sent == []  # degraded does not page by default
    await core.registry.beat("payments", ok=False, message="connection refused")  # critical
    await eventually(lambda: inbox.sent)
    [(target, page)] = inbox.sent
    assert target == "ops"
    assert page.title == "payments is critical"
    assert page.level == "failure"
    since = core.clock.wall().strftime("%H:%M UTC")
    assert page.body == (
        f"payments is critical (2 consecutive failures: connection refused) since {since}; "
        "4 services affected"
    )
    await core.registry.beat("payments", ok=True)
    await eventually(lambda: len(inbox.sent) == 2)
    assert (inbox.sent[1][1].title, inbox.sent[1][1].level) == ("payments recovered", "success")


async def test_a_flapping_service_pages_only_after_min_minutes_in_the_status() -> None:
    core, _, inbox, clockwork = await setting(min_minutes=5)
    for _ in range(2):
        await core.registry.beat("payments", ok=False)
    await settle()
    assert [seconds for seconds, _ in clockwork.waiting] == [300]
    await core.registry.beat("payments", ok=True)  # back before the five minutes
    await settle()
    clockwork.release()
    await settle()
    assert inbox.sent == []  # neither the page nor a recovery of what was never told
    for _ in range(2):
        await core.registry.beat("payments", ok=False)
    await settle()
    clockwork.release()  # five minutes critical
    await eventually(lambda: inbox.sent)
    assert inbox.sent[0][1].title == "payments is critical"


async def test_reminders_repeat_while_it_stays_there() -> None:
    core, _, inbox, clockwork = await setting(repeat_minutes=30)
    for _ in range(2):
        await core.registry.beat("search", ok=False)
    await eventually(lambda: inbox.sent)
    for _ in range(2):
        await eventually(lambda: clockwork.waiting)
        clockwork.release()
    await eventually(lambda: len(inbox.sent) == 3)
    assert [n.title for _, n in inbox.sent] == [
        "search is critical",
        "still: search is critical",
        "still: search is critical",
    ]
    await core.registry.beat("search", ok=True)
    await eventually(lambda: len(inbox.sent) == 4)
    clockwork.release()
    await settle()
    assert len(inbox.sent) == 4  # no reminder after the recovery


@pytest.mark.parametrize(
    ("rule", "paged"),
    [
        ({}, {"payments", "search"}),
        ({"service_ids": ("search",)}, {"search"}),
        ({"labels": ("team=pay",)}, {"payments"}),
        ({"clusters": ("nowhere",)}, set()),
        ({"statuses": (HealthStatus.DEGRADED,)}, {"payments", "search"}),
    ],
)
async def test_the_rule_picks_services_and_statuses(
    rule: dict[str, object], paged: set[str]
) -> None:
    core, _, inbox, _ = await setting(**rule)
    for service_id in ("payments", "search"):
        for _ in range(2):
            await core.registry.beat(service_id, ok=False)
            await settle()
    assert {n.change.service_id for _, n in inbox.sent} == paged


async def test_nothing_is_sent_for_a_service_in_maintenance() -> None:
    core, center, inbox, _ = await setting()
    await core.maintenance.create(
        WindowSpec(reason="upgrade", service_ids=("payments",), duration_minutes=30)
    )
    for _ in range(2):
        await core.registry.beat("payments", ok=False)
    await settle()
    assert inbox.sent == []
    assert center.silenced == 2


async def test_a_failing_target_is_retried_counted_and_told_on_the_bus() -> None:
    core, center, inbox, _ = await setting()
    notices = core.hub.subscribe(OWN_NOTICES)
    inbox.failing.add("ops")
    for _ in range(2):
        await core.registry.beat("payments", ok=False)
    [target] = center.targets()
    await eventually(lambda: center.stats_of(target.target_id).failed == 1)
    assert center.stats_of(target.target_id).last_error == "ops refused"
    event = notices.queue.get_nowait().event
    assert event.event_type == "notification.failed"
    assert event.payload["target"] == "ops"
    assert "test://" not in str(event.payload)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (TargetSpec("x", "nope://x"), "url"),
        (TargetSpec("", "test://x"), "name"),
        (TargetSpec("x", "test://x", NotificationRule(statuses=())), "statuses"),
        (
            TargetSpec("x", "test://x", NotificationRule(statuses=(HealthStatus.HEALTHY,))),
            "statuses",
        ),
        (TargetSpec("x", "test://x", NotificationRule(min_minutes=-1)), "min_minutes"),
        (TargetSpec("x", "test://x", NotificationRule(repeat_minutes=0.5)), "repeat_minutes"),
        (TargetSpec("x", "test://x", NotificationRule(labels=("team",))), "labels"),
    ],
)
async def test_a_refused_target_changes_nothing(spec: TargetSpec, field: str) -> None:
    core, center, _, _ = await setting()
    with pytest.raises(InvalidField) as refused:
        await center.create(spec)
    assert refused.value.field == field
    assert len(await core.store.list_targets()) == 1


def successor(core: Core, inbox: Inbox, clockwork: Clockwork) -> NotificationCenter:
    """Another replica's center on the same database, as after a takeover."""
    return NotificationCenter(
        core.store,
        inbox,
        core.monitor,
        core.hub,
        core.clock,
        first_backoff=0,
        sleep=clockwork.sleep,
    )


async def test_a_new_owner_goes_on_with_the_reminders_and_the_recovery() -> None:
    core, center, inbox, clockwork = await setting(repeat_minutes=30)
    for _ in range(2):
        await core.registry.beat("search", ok=False)
        await settle()
    await eventually(lambda: inbox.sent)  # told, by the former owner
    for task in (*center._waiting.values(), *_RUNNING):
        task.cancel()  # the former owner is gone
    clockwork.waiting.clear()
    waits = Clockwork()
    after = successor(core, inbox, waits)
    await after.refresh()
    after.resume(["search", "payments"])
    await eventually(lambda: waits.waiting)
    [(seconds, _)] = waits.waiting
    assert seconds == 30 * 60  # the next reminder, not a new first page
    waits.release()
    await eventually(lambda: len(inbox.sent) == 2)
    assert inbox.sent[1][1].title == "still: search is critical"
    # it recovers while the new owner is not routing yet: the recovery is still told
    await core.registry.beat("search", ok=True)
    third = successor(core, inbox, Clockwork())
    await third.refresh()
    third.resume(["search"])
    await eventually(lambda: len(inbox.sent) == 3)
    assert inbox.sent[2][1].title == "search recovered"
    assert await core.store.told(["search"]) == {}


async def test_a_new_owner_pages_when_the_former_one_was_still_waiting() -> None:
    core, center, inbox, _ = await setting(min_minutes=10)
    for _ in range(2):
        await core.registry.beat("payments", ok=False)
        await settle()
    core.clock.advance(4 * 60)  # four of the ten minutes were waited by the former owner
    for task in (*center._waiting.values(), *_RUNNING):
        task.cancel()
    waits = Clockwork()
    after = successor(core, inbox, waits)
    await after.refresh()
    after.resume(["payments"])
    await eventually(lambda: waits.waiting)
    assert [seconds for seconds, _ in waits.waiting] == [6 * 60]
    waits.release()
    await eventually(lambda: inbox.sent)
    assert inbox.sent[0][1].title == "payments is critical"
