"""Notifications: each status transition, routed by the targets' rules, sent with retries.

The transitions come from OWN_STATUS, so in a cluster only the service's owner sends: one
notification per transition and target for the whole cluster. A transition made in a
maintenance window sends nothing. A target whose rule asks for `min_minutes` waits that
long and sends only if the service is still in that status; `repeat_minutes` reminds while
it stays there. A recovery is told to the targets that were told of the trouble.

Delivery retries with backoff (0.5 s, 1 s, 2 s) and gives up after four attempts. Each
target's counts and last error are kept in the database, summed over the replicas (the API
and the overview show those), and per replica for its /metrics; a failure is also an event
on the bus (`notification.failed`).

Targets come from the database (the API) and from a file (OSE_MESH_NOTIFY_FILE, read at
start, read-only). Every replica keeps them in memory, read again after a change it made
or was told of, and every few seconds (bootstrap's "settings" job).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from ose_mesh.core.alerts import ATTEMPTS, FIRST_BACKOFF_SECONDS, alert_body, with_retries
from ose_mesh.core.broker import EVENTS
from ose_mesh.core.hub import OWN_NOTICES, EventHub, Subscription
from ose_mesh.core.monitor import HeartbeatMonitor, describe_status
from ose_mesh.core.ports import (
    Clock,
    Delivery,
    DeliveryCounts,
    NotificationRepository,
    OutboxEntry,
)
from ose_mesh.domain import (
    DomainError,
    EventMessage,
    HealthStatus,
    InvalidField,
    MessagePriority,
    Service,
    ServiceNotFound,
    StatusChange,
)
from ose_mesh.domain.errors import NotificationTargetNotFound
from ose_mesh.domain.notifications import NotificationRule, NotificationTarget

log = logging.getLogger(__name__)

MAX_TARGETS = 1000
_LEVELS = {
    HealthStatus.DEAD: "failure",
    HealthStatus.CRITICAL: "failure",
    HealthStatus.DEGRADED: "warning",
    HealthStatus.HEALTHY: "success",
}


@dataclass(frozen=True, slots=True)
class Notification:
    title: str
    body: str
    level: str  # "failure", "warning", "success" or "info" (Apprise's notify types)
    change: StatusChange
    kind: str  # "problem", "reminder" or "recovery"

    def webhook_body(self) -> dict[str, Any]:
        """What a plain http(s) target receives: the alert webhook's JSON, and the text."""
        return {**alert_body(self.change), "title": self.title, "message": self.body}


class NotificationSender(Protocol):
    def describe(self, url: str) -> tuple[str, str]:
        """(kind, the URL with its secrets hidden); InvalidField when it is no URL a
        notification can go to."""
        ...

    async def send(self, target: NotificationTarget, notification: Notification) -> None:
        """Deliver once; DeliveryFailed (without the URL's secrets) when it was not."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class TargetStats:
    delivered: int = 0
    failed: int = 0
    last_error: str | None = None
    last_sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TargetSpec:
    name: str
    url: str
    rule: NotificationRule = field(default_factory=NotificationRule)


class NotificationCenter:
    def __init__(
        self,
        repository: NotificationRepository,
        sender: NotificationSender,
        monitor: HeartbeatMonitor,
        hub: EventHub,
        clock: Clock,
        *,
        affected: Callable[[str], int] = lambda service_id: 0,
        in_maintenance: Callable[[Service], bool] = lambda service: False,
        file_targets: Sequence[NotificationTarget] = (),
        first_backoff: float = FIRST_BACKOFF_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`affected(service_id)`: how many services its trouble reaches (the graph).
        `sleep` waits out min_minutes and repeat_minutes (tests give their own)."""
        self._sleep = sleep
        self._repository = repository
        self._sender = sender
        self._monitor = monitor
        self._hub = hub
        self._clock = clock
        self._affected = affected
        self._in_maintenance = in_maintenance
        self._file_targets = tuple(file_targets)
        self._stored: tuple[NotificationTarget, ...] = ()
        self.first_backoff = first_backoff
        self.stats: dict[str, TargetStats] = {}  # this replica's, for its /metrics
        self._counts: dict[str, DeliveryCounts] = {}  # the cluster's, from the database
        self.silenced = 0  # transitions in maintenance: sent to nobody
        self._waiting: dict[tuple[str, str], asyncio.Task[None]] = {}  # (target, service)
        self._told: dict[tuple[str, str], HealthStatus] = {}  # trouble told, not yet recovered
        self._deliveries: set[asyncio.Task[None]] = set()
        self.on_change: Callable[[], None] | None = None

    # -- the targets -------------------------------------------------------------------------

    def targets(self) -> list[NotificationTarget]:
        return [*self._file_targets, *sorted(self._stored, key=lambda t: t.name)]

    def get(self, target_id: str) -> NotificationTarget:
        for target in self.targets():
            if target.target_id == target_id:
                return target
        raise NotificationTargetNotFound(target_id)

    def stats_of(self, target_id: str) -> TargetStats:
        """This replica's deliveries to the target, since it started."""
        return self.stats.setdefault(target_id, TargetStats())

    def counts_of(self, target_id: str) -> DeliveryCounts:
        """Every replica's deliveries to the target (as last read or written here)."""
        return self._counts.get(target_id, DeliveryCounts())

    async def create(self, spec: TargetSpec) -> NotificationTarget:
        kind, shown = self._sender.describe(spec.url)
        target = NotificationTarget(
            target_id=uuid.uuid4().hex,
            name=spec.name,
            url=spec.url,
            kind=kind,
            shown_url=shown,
            rule=spec.rule,
        ).validated()
        if len(self._stored) >= MAX_TARGETS:
            raise DomainError(f"at most {MAX_TARGETS} notification targets")
        await self._repository.save_target(target)
        await self._changed()
        return target

    async def delete(self, target_id: str) -> None:
        target = self.get(target_id)
        if target.source == "file":
            raise InvalidField("target_id", "comes from OSE_MESH_NOTIFY_FILE: change it there")
        await self._repository.delete_target(target_id)
        await self._changed()

    async def test(self, target_id: str) -> None:
        """Send a test message now (DeliveryFailed says why it did not arrive)."""
        target = self.get(target_id)
        change = StatusChange(
            "service-mesh",
            HealthStatus.HEALTHY,
            HealthStatus.HEALTHY,
            self._clock.wall(),
            "a test of this notification target",
        )
        test = Notification(
            f"Test from OSE Service Mesh: {target.name}",
            "This target receives the mesh's notifications.",
            "info",
            change,
            "test",
        )
        await self._sender.send(target, test)

    async def refresh(self) -> None:
        self._stored = tuple(await self._repository.list_targets())
        self._counts = await self._repository.delivery_counts()

    async def _changed(self) -> None:
        await self.refresh()
        if self.on_change is not None:
            self.on_change()

    # -- routing -----------------------------------------------------------------------------

    async def run(self, subscription: Subscription) -> None:
        try:
            async for change in subscription:
                self.route(change)
        finally:
            for task in (*self._waiting.values(), *self._deliveries):
                task.cancel()
            await self._sender.close()

    def route(self, change: StatusChange) -> None:
        """Decide, for every target, what this transition sends (now or later)."""
        for key in [key for key in self._waiting if key[1] == change.service_id]:
            self._waiting.pop(key).cancel()  # the status it waited on is over
        if change.in_maintenance:
            self.silenced += 1
            return
        try:
            service = self._monitor.state(change.service_id).service
        except ServiceNotFound:
            return
        for target in self.targets():
            rule = target.rule
            if not rule.selects(service):
                continue
            key = (target.target_id, change.service_id)
            if change.current in rule.statuses:
                self._wait_then_page(target, change, rule.min_minutes * 60)
            elif change.current is HealthStatus.HEALTHY and key in self._told:
                self._recovered(target, change)

    def resume(self, service_ids: Collection[str]) -> None:
        """Services this process has just started checking (a takeover, a start): go on
        where the former owner was, from what the database says was told."""
        if service_ids:
            self._in_background(self._resume(list(service_ids)))

    async def _resume(self, service_ids: list[str]) -> None:
        try:
            self._told.update(await self._repository.told(service_ids))
        except DomainError as exc:
            log.warning("could not read which notifications were sent: %s", exc.message)
        wall_now = self._clock.wall()
        for service_id in service_ids:
            try:
                state = self._monitor.state(service_id)
            except ServiceNotFound:
                continue
            if self._in_maintenance(state.service):
                continue
            since = wall_now - timedelta(seconds=self._clock.monotonic() - state.status_since)
            change = StatusChange(
                service_id, state.status, state.status, since, describe_status(state)
            )
            for target in self.targets():
                rule, key = target.rule, (target.target_id, service_id)
                if not rule.selects(state.service):
                    continue
                if state.status in rule.statuses and key in self._told:
                    if rule.repeat_minutes:  # the reminders go on
                        self._wait_then_page(target, change, rule.repeat_minutes * 60, "reminder")
                elif state.status in rule.statuses:  # what the former owner was waiting for
                    waited = (wall_now - since).total_seconds()
                    self._wait_then_page(target, change, max(0.0, rule.min_minutes * 60 - waited))
                elif state.status is HealthStatus.HEALTHY and key in self._told:
                    self._recovered(target, change)  # it recovered while nobody owned it

    def _wait_then_page(
        self, target: NotificationTarget, change: StatusChange, wait: float, kind: str = "problem"
    ) -> None:
        key = (target.target_id, change.service_id)
        task = asyncio.get_running_loop().create_task(self._page(target, change, wait, kind))
        self._waiting[key] = task
        task.add_done_callback(functools.partial(self._forget, key))

    def _recovered(self, target: NotificationTarget, change: StatusChange) -> None:
        del self._told[(target.target_id, change.service_id)]
        self._in_background(self._remember(target, change.service_id, None))
        if target.rule.recoveries:
            self._deliver_soon(target, self._message(change, "recovery"))

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._waiting.get(key) is task:
            del self._waiting[key]

    async def _page(
        self, target: NotificationTarget, change: StatusChange, wait: float, kind: str
    ) -> None:
        """Wait, send if it is still so, then remind every `repeat_minutes`."""
        rule = target.rule
        if wait:
            await self._sleep(wait)
        while self._still(change) and self._kept(target):
            key = (target.target_id, change.service_id)
            if self._told.get(key) is not change.current:
                self._told[key] = change.current
                await self._remember(target, change.service_id, change.current)
            self._deliver_soon(target, self._message(change, kind))
            if not rule.repeat_minutes:
                return
            await self._sleep(rule.repeat_minutes * 60)
            kind = "reminder"

    async def _remember(
        self, target: NotificationTarget, service_id: str, status: HealthStatus | None
    ) -> None:
        """Kept in the database, for a replica that takes the service over."""
        try:
            await self._repository.set_told(target.target_id, service_id, status)
        except DomainError as exc:
            log.warning("could not note a notification to %s: %s", target.name, exc.message)

    def _kept(self, target: NotificationTarget) -> bool:
        """Not deleted meanwhile."""
        return any(kept.target_id == target.target_id for kept in self.targets())

    def _still(self, change: StatusChange) -> bool:
        try:
            return self._monitor.state(change.service_id).status is change.current
        except ServiceNotFound:
            return False

    def _deliver_soon(self, target: NotificationTarget, notification: Notification) -> None:
        self._in_background(self.deliver(target, notification))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def deliver(self, target: NotificationTarget, notification: Notification) -> None:
        stats = self.stats_of(target.target_id)
        error = await with_retries(
            lambda: self._sender.send(target, notification), self.first_backoff
        )
        if error is None:
            stats.delivered += 1
            stats.last_sent_at = self._clock.wall()
            await self._count(target, Delivery(True, stats.last_sent_at))
            return
        stats.failed += 1
        stats.last_error = error
        log.warning(
            "notification to %s gave up after %d attempts: %s", target.name, ATTEMPTS, error
        )
        self._hub.publish(OWN_NOTICES, _failure_event(target, notification, error))
        await self._count(target, Delivery(False, self._clock.wall(), error))

    async def _count(self, target: NotificationTarget, outcome: Delivery) -> None:
        try:
            self._counts[target.target_id] = await self._repository.count_delivery(
                target.target_id, outcome
            )
        except DomainError as exc:  # the database is away: this replica's count has it
            log.warning("could not count a delivery to %s: %s", target.name, exc.message)

    # -- the words ---------------------------------------------------------------------------

    def _message(self, change: StatusChange, kind: str) -> Notification:
        """ "payments is dead (connection refused) since 12:01 UTC; root cause: orders-db;
        4 services affected"."""
        service_id = change.service_id
        since = change.at.strftime("%H:%M UTC")
        if kind == "recovery":
            title = f"{service_id} recovered"
            body = f"{service_id} is healthy again since {since}"
        else:
            title = f"{service_id} is {change.current.value}"
            if kind == "reminder":
                title = f"still: {title}"
            body = f"{service_id} is {change.current.value} ({change.reason}) since {since}"
            if change.root_causes:
                body += f"; root cause: {', '.join(change.root_causes)}"
            with contextlib.suppress(DomainError):
                affected = self._affected(service_id)
                if affected:
                    body += f"; {affected} service{'s' if affected > 1 else ''} affected"
        return Notification(title, body, _LEVELS.get(change.current, "info"), change, kind)


def _failure_event(
    target: NotificationTarget, notification: Notification, error: str
) -> OutboxEntry:
    event = EventMessage(
        event_type="notification.failed",
        source_service="service-mesh",
        payload={
            "target_id": target.target_id,
            "target": target.name,
            "service_id": notification.change.service_id,
            "title": notification.title,
            "error": error,
        },
        priority=MessagePriority.HIGH,
    )
    return OutboxEntry(EVENTS, "service-mesh.notification.failed", event)
