"""Maintenance windows kept in the database, and the question every heartbeat asks: is this
service in maintenance now?

Every replica keeps the windows in memory, read again at once after a change it made or
was told of (cluster mode), and every few seconds in case a message was lost (bootstrap's
"settings" job), so the question costs no query. It is answered from the clock each
time: a window ends on time with nobody looking.

While a service is in maintenance it is checked and shown as usual, marked "in
maintenance"; its transitions carry `in_maintenance` (alerts skip them) and its checks stay
out of the minute rollups, so the time counts neither for nor against its uptime.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ose_mesh.core.ports import Clock, MaintenanceRepository
from ose_mesh.domain import InvalidField, Service
from ose_mesh.domain.errors import MaintenanceWindowNotFound
from ose_mesh.domain.maintenance import MaintenanceWindow

MAX_WINDOWS = 10_000


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A window as a caller asks for it: from `starts_at` (default now) to `ends_at`, or
    for `duration_minutes`."""

    reason: str
    created_by: str = "api"
    service_ids: tuple[str, ...] = ()
    cluster: str | None = None
    label: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration_minutes: float | None = None
    weekly: bool = False


class MaintenanceSchedule:
    def __init__(
        self,
        repository: MaintenanceRepository,
        clock: Clock,
        services: Callable[[], Iterable[Service]] = tuple,
    ) -> None:
        """`services`: every registered service (to check a window's names and to say
        which services a window covers)."""
        self._repository = repository
        self._clock = clock
        self._services = services
        self._windows: tuple[MaintenanceWindow, ...] = ()
        # The answer per service, kept until the next moment a window starts or ends (or
        # the windows change); keyed by the Service itself, so a relabelled or updated
        # service is looked at again. Every heartbeat asks: the windows are not walked.
        self._answers: dict[str, tuple[Service, MaintenanceWindow | None]] = {}
        self._answers_until: datetime | None = None
        # Told after each change made here (cluster mode: the other replicas read again).
        self.on_change: Callable[[], None] | None = None

    # -- the question ----------------------------------------------------------------------

    def window_for(self, service: Service) -> MaintenanceWindow | None:
        """The window `service` is in now, if any."""
        if not self._windows:  # the usual case, on every heartbeat
            return None
        now = self._clock.wall()
        if self._answers_until is None or now >= self._answers_until:
            self._answers = {}
            self._answers_until = self._next_change(now)
        known = self._answers.get(service.service_id)
        if known is not None and known[0] is service:
            return known[1]
        found = next((w for w in self._windows if w.is_on(now) and w.covers(service)), None)
        self._answers[service.service_id] = (service, found)
        return found

    def _next_change(self, now: datetime) -> datetime:
        """The next moment a window starts or ends (at most an hour away: a weekly
        window's next start is computed from its last)."""
        moments = [now + timedelta(hours=1)]
        for window in self._windows:
            if window.is_on(now):
                moments.append(window.ends_after(now))
            elif (start := window.next_start(now)) is not None:
                moments.append(start)
        return min(moments)

    def in_maintenance(self, service: Service) -> bool:
        return self.window_for(service) is not None

    # -- reading and changing --------------------------------------------------------------

    def windows(self, *, current_only: bool = False) -> list[MaintenanceWindow]:
        """Every window, or those on now or still to come; soonest first."""
        now = self._clock.wall()
        found = [w for w in self._windows if not current_only or w.next_start(now) is not None]
        return sorted(found, key=lambda w: (w.next_start(now) or w.ends_at, w.window_id))

    def covered(self, window: MaintenanceWindow) -> list[str]:
        """The registered services the window covers (on or not)."""
        return sorted(s.service_id for s in self._services() if window.covers(s))

    def is_on(self, window: MaintenanceWindow) -> bool:
        return window.is_on(self._clock.wall())

    def next_start(self, window: MaintenanceWindow) -> datetime | None:
        return window.next_start(self._clock.wall())

    def get(self, window_id: str) -> MaintenanceWindow:
        for window in self._windows:
            if window.window_id == window_id:
                return window
        raise MaintenanceWindowNotFound(window_id)

    async def create(self, spec: WindowSpec) -> MaintenanceWindow:
        now = self._clock.wall()
        starts_at = spec.starts_at or now
        ends_at = spec.ends_at
        if spec.duration_minutes is not None:
            if ends_at is not None:
                raise InvalidField("duration_minutes", "give ends_at or duration_minutes, not both")
            if not 0 < spec.duration_minutes <= 366 * 24 * 60:
                raise InvalidField("duration_minutes", "must be from 1 minute to 366 days")
            ends_at = starts_at + timedelta(minutes=spec.duration_minutes)
        if ends_at is None:
            raise InvalidField("ends_at", "give ends_at or duration_minutes")
        window = MaintenanceWindow(
            window_id=uuid.uuid4().hex,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=spec.reason,
            created_by=spec.created_by,
            service_ids=tuple(dict.fromkeys(spec.service_ids)),
            cluster=spec.cluster,
            label=spec.label,
            weekly=spec.weekly,
            created_at=now,
        ).validated()
        if not window.weekly and window.ends_at <= now:
            raise InvalidField("ends_at", "is in the past: the window would never be on")
        known = {service.service_id for service in self._services()}
        unknown = [service_id for service_id in window.service_ids if service_id not in known]
        if unknown:
            raise InvalidField("service_ids", f"{', '.join(map(repr, unknown[:5]))} not registered")
        if len(self._windows) >= MAX_WINDOWS:
            raise InvalidField("window", f"at most {MAX_WINDOWS} windows; delete old ones")
        await self._repository.save_window(window)
        await self._changed()
        return window

    async def end(self, window_id: str) -> MaintenanceWindow:
        """End it now: it is no longer on, and a weekly one does not come back."""
        window = self.get(window_id).ended(self._clock.wall())
        await self._repository.save_window(window)
        await self._changed()
        return window

    async def delete(self, window_id: str) -> None:
        self.get(window_id)
        await self._repository.delete_window(window_id)
        await self._changed()

    async def _changed(self) -> None:
        await self.refresh()
        if self.on_change is not None:
            self.on_change()

    async def refresh(self) -> None:
        windows = tuple(await self._repository.list_windows())
        if windows != self._windows:
            self._windows, self._answers_until = windows, None
