"""Read models: what REST and GraphQL show about a service's health, built from live state."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from ose_mesh.core.certificates import days_left
from ose_mesh.core.health_state import HealthState
from ose_mesh.core.history import HistoryRecorder
from ose_mesh.core.maintenance import MaintenanceSchedule
from ose_mesh.core.monitor import HeartbeatMonitor, describe_status
from ose_mesh.core.ports import Clock, HistoryRepository, Rollup, RootCauseReader
from ose_mesh.domain import HealthStatus, Service, StatusChange
from ose_mesh.domain.maintenance import MaintenanceWindow

MAX_PAGE = 10_000
# The overview's chart: 24 h in 15-minute steps, from at most this many transitions (a
# fleet flapping harder than that is drawn from its newest ones).
TIMELINE_SPAN = timedelta(hours=24)
TIMELINE_STEP = timedelta(minutes=15)
MAX_TIMELINE_TRANSITIONS = 200_000
MAX_HISTORY = 1_000
# A chart's window and the width of its buckets: 60 to 96 points each.
LATENCY_WINDOWS = {
    "1h": (timedelta(hours=1), timedelta(minutes=1)),
    "24h": (timedelta(hours=24), timedelta(minutes=15)),
    "7d": (timedelta(days=7), timedelta(hours=2)),
}


@dataclass(frozen=True, slots=True)
class HeartbeatMetrics:
    heartbeat_count: int
    missed_heartbeats: int
    consecutive_failures: int
    average_latency_ms: float | None
    max_latency_ms: float | None
    min_latency_ms: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p99_latency_ms: float | None
    uptime_seconds: float
    uptime_percentage: float
    uptime_24h: float | None
    uptime_7d: float | None
    uptime_30d: float | None
    last_heartbeat: datetime | None
    seconds_since_last: float | None
    flap_count: int
    cert_days_left: float | None  # of the TLS certificate the last check saw
    recent_latencies_ms: list[float]
    recent_checks: str  # HealthState.strip_code


@dataclass(frozen=True, slots=True)
class CheckView:
    """One of a service's last checks (the dashboard's strip of beats)."""

    at: datetime
    outcome: str  # "ok", "failed" (answered with an error) or "no_answer"
    latency_ms: float | None
    message: str | None


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    service: Service
    status: HealthStatus
    status_since: datetime
    reason: str
    root_causes: list[str]  # where its trouble starts in the dependency graph
    metrics: HeartbeatMetrics
    maintenance: MaintenanceWindow | None = None  # the window it is in now
    maintenance_ends: datetime | None = None  # when this occurrence of it ends

    @property
    def is_alive(self) -> bool:
        return self.status.is_alive


@dataclass(frozen=True, slots=True)
class LatencyPoint:
    """One bucket of a service's chart, from the stored minute rollups. A rollup keeps each
    minute's mean and maximum, not its samples, so over a bucket p50 is the median of the
    minutes' means (weighted by samples) and p95 the 95th percentile of their maxima."""

    at: datetime  # the bucket's start
    checks: int
    uptime_percentage: float | None  # None: no check in the bucket
    p50_latency_ms: float | None  # None: no successful check with a latency
    p95_latency_ms: float | None


@dataclass(frozen=True, slots=True)
class StatusCounts:
    """How many of today's services had each status at one moment."""

    at: datetime
    counts: dict[HealthStatus, int]


@dataclass(frozen=True, slots=True)
class HealthPage:
    """One page of services (their states; `HealthQueries.view` makes each one's answer),
    how many match in all, and the root causes of every troubled service."""

    states: list[HealthState]
    total: int
    root_causes: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class HealthSummary:
    total: int
    counts: dict[HealthStatus, int]
    overall_status: HealthStatus
    average_uptime: float | None


class HealthQueries:
    def __init__(
        self,
        monitor: HeartbeatMonitor,
        history: HistoryRecorder,
        history_repository: HistoryRepository,
        clock: Clock,
        causes: RootCauseReader,
        maintenance: MaintenanceSchedule | None = None,
    ) -> None:
        self._monitor = monitor
        self._maintenance = maintenance
        self._causes = causes
        self._history = history
        self._history_repository = history_repository
        self._clock = clock
        # Monotonic readings become datetimes through one fixed origin, so the same moment
        # always prints the same way.
        self._origin = clock.wall() - timedelta(seconds=clock.monotonic())

    def wall_time(self, moment: float) -> datetime:
        """A reading of the monotonic clock (when a heartbeat came) as the time users read."""
        return self._origin + timedelta(seconds=moment)

    def require(self, service_id: str) -> None:
        """Raise ServiceNotFound unless the service is registered."""
        self._monitor.state(service_id)

    def get(self, service_id: str) -> ServiceHealth:
        return self.view(self._monitor.state(service_id))

    def page(
        self,
        *,
        status: HealthStatus | None = None,
        cluster: str | None = None,
        search: str | None = None,
        limit: int | None = MAX_PAGE,
        offset: int = 0,
    ) -> HealthPage:
        """One page of the services sorted by id and filtered (no limit: all from offset).
        `view` makes each one's answer: a caller with thousands builds them a step at a
        time (core/pacing.py)."""
        needle = search.casefold() if search else None
        chosen = [
            state
            for state in sorted(self._monitor.states(), key=lambda s: s.service.service_id)
            if (status is None or state.status is status)
            and (cluster is None or state.service.cluster == cluster)
            and (
                needle is None
                or needle in state.service.service_id.casefold()
                or needle in state.service.service_name.casefold()
            )
        ]
        end = None if limit is None else offset + limit
        causes = self._causes.root_causes(self._monitor.statuses())
        return HealthPage(chosen[offset:end], len(chosen), causes)

    def summary(self) -> HealthSummary:
        states = list(self._monitor.states())
        counts = Counter(state.status for state in states)
        uptimes = [s.uptime_percentage for s in states if s.heartbeat_count]
        return HealthSummary(
            total=len(states),
            counts={status: counts.get(status, 0) for status in HealthStatus},
            overall_status=overall_status(counts),
            average_uptime=round(sum(uptimes) / len(uptimes), 2) if uptimes else None,
        )

    def checks(self, service_id: str) -> list[CheckView]:
        """A service's last checks, oldest first."""
        return [
            CheckView(self.wall_time(check.at), check.outcome, check.latency_ms, check.message)
            for check in self._monitor.state(service_id).checks()
        ]

    async def latency_history(self, service_id: str, window: str) -> list[LatencyPoint]:
        """A service's latency and uptime over `window` (a key of LATENCY_WINDOWS), bucket
        by bucket, oldest first; buckets without checks are left out."""
        self._monitor.state(service_id)
        span, width = LATENCY_WINDOWS[window]
        now = self._clock.wall()
        start = now - span
        buckets: dict[int, list[Rollup]] = {}
        for rollup in await self._history_repository.minute_rollups(service_id, start):
            buckets.setdefault(int((rollup.minute - start) / width), []).append(rollup)
        return [
            _latency_point(start + index * width, rows) for index, rows in sorted(buckets.items())
        ]

    async def status_timeline(self) -> list[StatusCounts]:
        """Services per status over the last 24 h, oldest first. Walked back from now: a
        service's status before each of its transitions is the transition's `previous`,
        and before it was registered it is not counted."""
        now = self._clock.wall()
        since = now - TIMELINE_SPAN
        stored = await self._history_repository.transitions_since(since, MAX_TIMELINE_TRANSITIONS)
        pending = self._history.pending_since(since)
        changes = sorted(pending + stored, key=lambda change: change.at, reverse=True)
        status = self._monitor.statuses()
        counts = Counter(status.values())
        registrations = sorted(
            (
                (state.service.registered_at, state.service.service_id)
                for state in self._monitor.states()
                if state.service.registered_at is not None
            ),
            reverse=True,
        )
        timeline = []
        moment, index, registered = now, 0, 0
        while moment >= since:
            while index < len(changes) and changes[index].at > moment:
                change = changes[index]
                index += 1
                if change.service_id in status:  # not one deregistered since
                    counts[status[change.service_id]] -= 1
                    status[change.service_id] = change.previous
                    counts[change.previous] += 1
            while registered < len(registrations) and registrations[registered][0] > moment:
                counts[status.pop(registrations[registered][1])] -= 1
                registered += 1
            timeline.append(StatusCounts(moment, {s: counts.get(s, 0) for s in HealthStatus}))
            moment -= TIMELINE_STEP
        timeline.reverse()
        return timeline

    async def history(self, service_id: str, limit: int = 100) -> list[StatusChange]:
        """Newest first: transitions not yet written, then the stored ones."""
        self._monitor.state(service_id)
        pending = self._history.pending_transitions(service_id)
        stored = await self._history_repository.list_transitions(service_id, limit)
        return (pending + stored)[:limit]

    def view(self, state: HealthState, root_causes: list[str] | None = None) -> ServiceHealth:
        """The answer about one service; its root causes are looked up unless given."""
        service_id = state.service.service_id
        if root_causes is None:
            root_causes = self._causes.root_causes_of(service_id, self._monitor.status_view())
        now = self._clock.monotonic()
        latency = state.latency()
        uptime = self._history.uptime(state.service.service_id)
        last = state.last_success_at

        metrics = HeartbeatMetrics(
            heartbeat_count=state.heartbeat_count,
            missed_heartbeats=state.missed_heartbeats,
            consecutive_failures=state.consecutive_failures,
            average_latency_ms=latency.average_ms,
            max_latency_ms=latency.max_ms,
            min_latency_ms=latency.min_ms,
            p50_latency_ms=latency.p50_ms,
            p95_latency_ms=latency.p95_ms,
            p99_latency_ms=latency.p99_ms,
            uptime_seconds=round(now - state.monitoring_since, 3),
            uptime_percentage=state.uptime_percentage,
            uptime_24h=uptime["24h"],
            uptime_7d=uptime["7d"],
            uptime_30d=uptime["30d"],
            last_heartbeat=None if last is None else self.wall_time(last),
            seconds_since_last=None if last is None else round(now - last, 3),
            flap_count=state.flap_count(now),
            cert_days_left=None
            if state.cert_not_after is None
            else days_left(state.cert_not_after, self._clock.wall().timestamp()),
            recent_latencies_ms=[round(v, 3) for v in state.recent_latencies()],
            recent_checks=state.strip_code(),
        )
        window = self._maintenance.window_for(state.service) if self._maintenance else None
        return ServiceHealth(
            maintenance=window,
            maintenance_ends=None if window is None else window.ends_after(self._clock.wall()),
            service=state.service,
            status=state.status,
            status_since=self.wall_time(state.status_since),
            reason=describe_status(state),
            root_causes=root_causes,
            metrics=metrics,
        )


def _latency_point(at: datetime, rows: list[Rollup]) -> LatencyPoint:
    checks = sum(row.count for row in rows)
    missed = sum(row.missed for row in rows)
    timed = [row for row in rows if row.latency_samples]
    means = sorted((row.latency_sum_ms / row.latency_samples, row.latency_samples) for row in timed)
    maxima = sorted(row.latency_max_ms for row in timed)
    p50 = None
    if means:
        half, seen = sum(weight for _, weight in means) / 2, 0
        for mean, weight in means:
            seen += weight
            if seen >= half:
                p50 = round(mean, 3)
                break
    p95 = round(maxima[max(0, math.ceil(0.95 * len(maxima)) - 1)], 3) if maxima else None
    uptime = None if checks == 0 else round(100.0 * (checks - missed) / checks, 2)
    return LatencyPoint(at, checks, uptime, p50, p95)


def overall_status(counts: Counter[HealthStatus]) -> HealthStatus:
    """The system's status: its worst live signal (dead counts as critical)."""
    if counts[HealthStatus.DEAD] or counts[HealthStatus.CRITICAL]:
        return HealthStatus.CRITICAL
    if counts[HealthStatus.DEGRADED]:
        return HealthStatus.DEGRADED
    if counts[HealthStatus.HEALTHY]:
        return HealthStatus.HEALTHY
    return HealthStatus.UNKNOWN
