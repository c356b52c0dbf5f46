"""Notification targets over GraphQL: the same use case as REST (core/notifications.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from ose_mesh import domain
from ose_mesh.api.graphql.context import mesh_of
from ose_mesh.api.graphql.types import InvalidFieldError, UnavailableError, invalid_or_unavailable
from ose_mesh.core.alerts import DeliveryFailed
from ose_mesh.core.notifications import NotificationCenter, TargetSpec
from ose_mesh.domain.notifications import DEFAULT_STATUSES, NotificationRule

HealthStatus = domain.HealthStatus


@strawberry.type(description="Where notifications go, which transitions, and how it went.")
class NotificationTarget:
    id: str
    name: str
    kind: str
    url: str
    source: str
    statuses: list[HealthStatus]
    recoveries: bool
    min_minutes: float
    repeat_minutes: float
    service_ids: list[str]
    clusters: list[str]
    labels: list[str]
    delivered: int
    failed: int
    last_error: str | None
    last_sent_at: datetime | None

    @classmethod
    def from_domain(
        cls, center: NotificationCenter, target: domain.NotificationTarget
    ) -> NotificationTarget:
        rule, stats = target.rule, center.counts_of(target.target_id)
        return cls(
            id=target.target_id,
            name=target.name,
            kind=target.kind,
            url=target.shown_url,
            source=target.source,
            statuses=list(rule.statuses),
            recoveries=rule.recoveries,
            min_minutes=rule.min_minutes,
            repeat_minutes=rule.repeat_minutes,
            service_ids=list(rule.service_ids),
            clusters=list(rule.clusters),
            labels=list(rule.labels),
            delivered=stats.delivered,
            failed=stats.failed,
            last_error=stats.last_error,
            last_sent_at=stats.last_sent_at,
        )


@strawberry.input(description="A notification target and its rule.")
class NotificationTargetInput:
    name: str
    url: str
    statuses: list[HealthStatus] = strawberry.field(default_factory=lambda: list(DEFAULT_STATUSES))
    recoveries: bool = True
    min_minutes: float = 0
    repeat_minutes: float = 0
    service_ids: list[str] = strawberry.field(default_factory=list)
    clusters: list[str] = strawberry.field(default_factory=list)
    labels: list[str] = strawberry.field(default_factory=list)

    def to_spec(self) -> TargetSpec:
        rule = NotificationRule(
            service_ids=tuple(self.service_ids),
            clusters=tuple(self.clusters),
            labels=tuple(self.labels),
            statuses=tuple(self.statuses),
            recoveries=self.recoveries,
            min_minutes=self.min_minutes,
            repeat_minutes=self.repeat_minutes,
        )
        return TargetSpec(self.name, self.url, rule)


@strawberry.type(description="No notification target has this id.")
class TargetNotFoundError:
    message: str
    id: str


@strawberry.type(description="The target was removed.")
class TargetDeleted:
    id: str


@strawberry.type(description="The outcome of a test message.")
class TestDelivery:
    delivered: bool
    error: str | None


TargetResult = Annotated[
    NotificationTarget | InvalidFieldError | UnavailableError,
    strawberry.union("NotificationTargetResult"),
]
DeleteTargetResult = Annotated[
    TargetDeleted | TargetNotFoundError | InvalidFieldError | UnavailableError,
    strawberry.union("DeleteNotificationTargetResult"),
]
TestTargetResult = Annotated[
    TestDelivery | TargetNotFoundError, strawberry.union("TestNotificationTargetResult")
]


def _center(info: Info) -> NotificationCenter:
    return mesh_of(info).notifications


@strawberry.type
class NotificationsQuery:
    @strawberry.field(description="Every notification target, with how delivery goes.")
    def notification_targets(self, info: Info) -> list[NotificationTarget]:
        center = _center(info)
        return [NotificationTarget.from_domain(center, t) for t in center.targets()]


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(description="Add a notification target.")
    async def create_notification_target(
        self, info: Info, input: NotificationTargetInput
    ) -> TargetResult:
        center = _center(info)
        try:
            target = await center.create(input.to_spec())
        except domain.DomainError as exc:
            return invalid_or_unavailable(exc)
        return NotificationTarget.from_domain(center, target)

    @strawberry.mutation(description="Remove a notification target.")
    async def delete_notification_target(self, info: Info, id: str) -> DeleteTargetResult:
        try:
            await _center(info).delete(id)
        except domain.NotificationTargetNotFound as exc:
            return TargetNotFoundError(message=exc.message, id=id)
        except domain.DomainError as exc:
            return invalid_or_unavailable(exc)
        return TargetDeleted(id=id)

    @strawberry.mutation(description="Send a test message to a target now.")
    async def test_notification_target(self, info: Info, id: str) -> TestTargetResult:
        try:
            await _center(info).test(id)
        except domain.NotificationTargetNotFound as exc:
            return TargetNotFoundError(message=exc.message, id=id)
        except DeliveryFailed as exc:
            return TestDelivery(delivered=False, error=str(exc))
        return TestDelivery(delivered=True, error=None)
