"""Maintenance windows over GraphQL: the same use case as REST (core/maintenance.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from ose_mesh import domain
from ose_mesh.api.graphql.context import mesh_of
from ose_mesh.api.graphql.types import InvalidFieldError, UnavailableError, invalid_or_unavailable
from ose_mesh.core.maintenance import MaintenanceSchedule, WindowSpec


@strawberry.type(description="Planned time in which services are checked but page nobody.")
class MaintenanceWindow:
    id: str
    reason: str
    created_by: str
    created_at: datetime | None
    service_ids: list[str]
    cluster: str | None
    label: str | None
    starts_at: datetime
    ends_at: datetime
    weekly: bool
    ended_at: datetime | None
    on_now: bool
    next_start: datetime | None
    covers: list[str]

    @classmethod
    def from_domain(
        cls, schedule: MaintenanceSchedule, window: domain.MaintenanceWindow
    ) -> MaintenanceWindow:
        return cls(
            id=window.window_id,
            reason=window.reason,
            created_by=window.created_by,
            created_at=window.created_at,
            service_ids=list(window.service_ids),
            cluster=window.cluster,
            label=window.label,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            weekly=window.weekly,
            ended_at=window.ended_at,
            on_now=schedule.is_on(window),
            next_start=schedule.next_start(window),
            covers=schedule.covered(window),
        )


@strawberry.input(description="A window: what it covers, and from when to when (or how long).")
class MaintenanceWindowInput:
    reason: str
    created_by: str = "api"
    service_ids: list[str] = strawberry.field(default_factory=list)
    cluster: str | None = None
    label: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration_minutes: float | None = None
    weekly: bool = False

    def to_spec(self) -> WindowSpec:
        for name in ("starts_at", "ends_at"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise domain.InvalidField(name, "must carry a time zone (2026-12-01T22:00:00Z)")
        return WindowSpec(
            reason=self.reason,
            created_by=self.created_by,
            service_ids=tuple(self.service_ids),
            cluster=self.cluster,
            label=self.label,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            duration_minutes=self.duration_minutes,
            weekly=self.weekly,
        )


@strawberry.type(description="No maintenance window has this id.")
class WindowNotFoundError:
    message: str
    id: str


@strawberry.type(description="The window was deleted.")
class WindowDeleted:
    id: str


WindowResult = Annotated[
    MaintenanceWindow | WindowNotFoundError | InvalidFieldError | UnavailableError,
    strawberry.union("MaintenanceWindowResult"),
]
DeleteWindowResult = Annotated[
    WindowDeleted | WindowNotFoundError | UnavailableError,
    strawberry.union("DeleteMaintenanceWindowResult"),
]


def _schedule(info: Info) -> MaintenanceSchedule:
    return mesh_of(info).maintenance


def _failure(
    exc: domain.DomainError, window_id: str = ""
) -> WindowNotFoundError | InvalidFieldError | UnavailableError:
    if isinstance(exc, domain.MaintenanceWindowNotFound):
        return WindowNotFoundError(message=exc.message, id=window_id)
    return invalid_or_unavailable(exc)


@strawberry.type
class MaintenanceQuery:
    @strawberry.field(description="Windows on now or to come, soonest first (all: ended too).")
    def maintenance_windows(self, info: Info, all: bool = False) -> list[MaintenanceWindow]:
        schedule = _schedule(info)
        windows = schedule.windows(current_only=not all)
        return [MaintenanceWindow.from_domain(schedule, window) for window in windows]


@strawberry.type
class MaintenanceMutation:
    @strawberry.mutation(description="Start a window now for a duration, or schedule one.")
    async def create_maintenance_window(
        self, info: Info, input: MaintenanceWindowInput
    ) -> WindowResult:
        schedule = _schedule(info)
        try:
            window = await schedule.create(input.to_spec())
        except domain.DomainError as exc:
            return _failure(exc)
        return MaintenanceWindow.from_domain(schedule, window)

    @strawberry.mutation(description="End a window now (a weekly one does not come back).")
    async def end_maintenance_window(self, info: Info, id: str) -> WindowResult:
        schedule = _schedule(info)
        try:
            window = await schedule.end(id)
        except domain.DomainError as exc:
            return _failure(exc, id)
        return MaintenanceWindow.from_domain(schedule, window)

    @strawberry.mutation(description="Delete a window.")
    async def delete_maintenance_window(self, info: Info, id: str) -> DeleteWindowResult:
        try:
            await _schedule(info).delete(id)
        except domain.MaintenanceWindowNotFound as exc:
            return WindowNotFoundError(message=exc.message, id=id)
        except domain.Unavailable as exc:
            return UnavailableError(message=exc.message)
        return WindowDeleted(id=id)
