"""The public status page: what an operator shows the users of their services.

Only services registered with `public` appear, and of them only what a user may read:
id, name, cluster, status and since when, and uptime per day. No reason, root causes,
address or metrics: a reason can name a private dependency or an internal host.

The page needs no token, so anyone may ask for it as often as they like: an answer is kept
for CACHE_SECONDS per cluster, and the 90-day query runs at most that often.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ose_mesh.core.maintenance import MaintenanceSchedule
from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.ports import Clock, HistoryRepository
from ose_mesh.core.views import HealthQueries
from ose_mesh.domain import HealthStatus, StatusPageNotFound

DAYS = 90
CACHE_SECONDS = 10.0
TROUBLE = (HealthStatus.DEAD, HealthStatus.CRITICAL, HealthStatus.DEGRADED)


@dataclass(frozen=True, slots=True)
class PublicService:
    service_id: str
    name: str
    cluster: str | None
    status: HealthStatus
    since: datetime
    uptime_percentage: float | None  # over the days shown; None: never checked in them
    days: list[float | None]  # uptime % per UTC day, oldest first; None: no check that day
    # In a maintenance window now, until then (its reason stays private: it may name
    # internal things). Planned: no incident, and no part of the banner.
    maintenance_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """A public service that is not healthy now, and since when."""

    service_id: str
    name: str
    status: HealthStatus
    since: datetime


@dataclass(frozen=True, slots=True)
class StatusPageView:
    cluster: str | None
    overall: HealthStatus
    first_day: date
    services: list[PublicService]
    incidents: list[Incident]
    generated_at: datetime


class StatusPageQueries:
    def __init__(
        self,
        monitor: HeartbeatMonitor,
        health: HealthQueries,
        history: HistoryRepository,
        clock: Clock,
        maintenance: MaintenanceSchedule | None = None,
    ) -> None:
        self._monitor = monitor
        self._maintenance = maintenance
        self._health = health
        self._history = history
        self._clock = clock
        self._cache: dict[str | None, tuple[float, StatusPageView]] = {}
        self._lock = asyncio.Lock()

    async def page(self, cluster: str | None = None) -> StatusPageView:
        """The public services (of one cluster, if given). Raises StatusPageNotFound for a
        cluster with none."""
        async with self._lock:  # one query at a time, however many visitors come at once
            now = self._clock.monotonic()
            cached = self._cache.get(cluster)
            if cached is not None and now - cached[0] < CACHE_SECONDS:
                return cached[1]
            view = await self._build(cluster)
            # Kept only for clusters that have public services: the cache stays small
            # whatever names visitors try.
            self._cache[cluster] = (now, view)
            return view

    async def _build(self, cluster: str | None) -> StatusPageView:
        states = sorted(
            (
                state
                for state in self._monitor.states()
                if state.service.public and (cluster is None or state.service.cluster == cluster)
            ),
            key=lambda state: state.service.service_id,
        )
        if cluster is not None and not states:
            raise StatusPageNotFound(cluster)
        wall = self._clock.wall()
        first_day = wall.date() - timedelta(days=DAYS - 1)
        since = datetime.combine(first_day, datetime.min.time(), tzinfo=wall.tzinfo)
        daily = await self._history.daily_uptime([s.service.service_id for s in states], since)
        days = [first_day + timedelta(days=n) for n in range(DAYS)]
        services = []
        for state in states:
            service = state.service
            counts = daily.get(service.service_id, {})
            window = self._maintenance.window_for(service) if self._maintenance else None
            total = sum(count for count, _ in counts.values())
            missed = sum(missed for _, missed in counts.values())
            services.append(
                PublicService(
                    service_id=service.service_id,
                    name=service.service_name,
                    cluster=service.cluster,
                    status=state.status,
                    since=self._health.wall_time(state.status_since),
                    uptime_percentage=_percent(total, missed),
                    days=[_percent(*counts.get(day, (0, 0))) for day in days],
                    maintenance_until=None if window is None else window.ends_after(wall),
                )
            )
        incidents = sorted(
            (
                Incident(s.service_id, s.name, s.status, s.since)
                for s in services
                if s.status in TROUBLE and s.maintenance_until is None
            ),
            key=lambda incident: incident.since,
        )
        return StatusPageView(
            cluster=cluster,
            overall=_overall(services),
            first_day=first_day,
            services=services,
            incidents=incidents,
            generated_at=wall,
        )


def _percent(count: int, missed: int) -> float | None:
    return None if count == 0 else round(100.0 * (count - missed) / count, 2)


def _overall(services: list[PublicService]) -> HealthStatus:
    """What the page's banner says: the worst status shown (unknown only when nothing
    was checked yet)."""
    shown = {service.status for service in services if service.maintenance_until is None}
    for status in (*TROUBLE, HealthStatus.HEALTHY):
        if status in shown:
            return status
    return HealthStatus.UNKNOWN
