"""Test doubles for the core's ports: a scripted prober and stores kept in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date, datetime

from ose_mesh.core import ProbeOutcome, Rollup
from ose_mesh.core.ports import Delivery, DeliveryCounts, OutboxEntry, StoredTraffic
from ose_mesh.domain import Dependency, HealthStatus, Service, StatusChange, StorageUnavailable
from ose_mesh.domain.maintenance import MaintenanceWindow
from ose_mesh.domain.notifications import NotificationTarget


class ScriptedProber:
    """Answers per service: ok by default, `fail` set → failure, `hang` set → never answers;
    a service in `cert_not_after` shows a TLS certificate expiring then."""

    def __init__(self) -> None:
        self.fail: set[str] = set()
        self.hang: set[str] = set()
        self.calls: list[str] = []
        self.cert_not_after: dict[str, float] = {}  # the TLS certificate a service shows

    async def probe(self, service: Service) -> ProbeOutcome:
        self.calls.append(service.service_id)
        if service.service_id in self.hang:
            await asyncio.Event().wait()
        if service.service_id in self.fail:
            return ProbeOutcome(False, 1.0, "HTTP 500")
        expiry = self.cert_not_after.get(service.service_id)
        return ProbeOutcome(True, 12.5, "HTTP 200", cert_not_after=expiry)


class MemoryHistory:
    """A HistoryRepository kept in lists, for unit tests of the core (no I/O)."""

    def __init__(self) -> None:
        self.transitions: list[StatusChange] = []
        self.rollups: list[Rollup] = []

    async def add_transitions(self, changes: Sequence[StatusChange]) -> None:
        self.transitions.extend(changes)

    async def list_transitions(self, service_id: str, limit: int) -> list[StatusChange]:
        mine = [c for c in reversed(self.transitions) if c.service_id == service_id]
        return mine[:limit]

    async def transitions_since(self, since: datetime, limit: int) -> list[StatusChange]:
        recent = [c for c in self.transitions if c.at >= since]
        return sorted(recent, key=lambda c: c.at, reverse=True)[:limit]

    async def last_statuses(self) -> dict[str, HealthStatus]:
        return {c.service_id: c.current for c in self.transitions}

    async def add_rollups(self, rollups: Sequence[Rollup]) -> None:
        self.rollups.extend(rollups)

    async def uptime_since(self, since: datetime) -> dict[str, tuple[int, int]]:
        totals: dict[str, tuple[int, int]] = {}
        for r in self.rollups:
            if r.minute >= since:
                count, missed = totals.get(r.service_id, (0, 0))
                totals[r.service_id] = (count + r.count, missed + r.missed)
        return totals

    async def daily_uptime(
        self, service_ids: Sequence[str], since: datetime
    ) -> dict[str, dict[date, tuple[int, int]]]:
        found: dict[str, dict[date, tuple[int, int]]] = {}
        for r in self.rollups:
            if r.service_id in service_ids and r.minute >= since:
                days = found.setdefault(r.service_id, {})
                count, missed = days.get(r.minute.date(), (0, 0))
                days[r.minute.date()] = (count + r.count, missed + r.missed)
        return found

    async def minute_rollups(self, service_id: str, since: datetime) -> list[Rollup]:
        merged: dict[datetime, Rollup] = {}
        for r in self.rollups:
            if r.service_id == service_id and r.minute >= since:
                seen = merged.get(r.minute)
                merged[r.minute] = r if seen is None else _summed(seen, r)
        return [merged[minute] for minute in sorted(merged)]


def _summed(a: Rollup, b: Rollup) -> Rollup:
    """Two writes of one minute, as the database sums them."""
    return replace(
        a,
        count=a.count + b.count,
        missed=a.missed + b.missed,
        latency_sum_ms=a.latency_sum_ms + b.latency_sum_ms,
        latency_samples=a.latency_samples + b.latency_samples,
        latency_max_ms=max(a.latency_max_ms, b.latency_max_ms),
    )


class MemoryRepository(MemoryHistory):
    """Every repository port kept in dicts and lists: services, dependencies, history and
    the outbox. Run through the repository contract suite next to SQLite and PostgreSQL,
    so the core's unit tests can trust it."""

    async def list_targets(self) -> list[NotificationTarget]:
        return list(self.targets.values())

    async def save_target(self, target: NotificationTarget) -> None:
        self.targets[target.target_id] = target

    async def delete_target(self, target_id: str) -> None:
        self.targets.pop(target_id, None)
        self.deliveries.pop(target_id, None)
        self.told_rows = {k: v for k, v in self.told_rows.items() if k[0] != target_id}

    async def count_delivery(self, target_id: str, outcome: Delivery) -> DeliveryCounts:
        now = self.deliveries.get(target_id, DeliveryCounts())
        now = replace(
            now,
            delivered=now.delivered + outcome.delivered,
            failed=now.failed + (not outcome.delivered),
            last_error=now.last_error if outcome.delivered else outcome.error,
            last_sent_at=outcome.at if outcome.delivered else now.last_sent_at,
        )
        self.deliveries[target_id] = now
        return now

    async def delivery_counts(self) -> dict[str, DeliveryCounts]:
        return dict(self.deliveries)

    async def set_told(self, target_id: str, service_id: str, status: HealthStatus | None) -> None:
        if status is None:
            self.told_rows.pop((target_id, service_id), None)
        else:
            self.told_rows[(target_id, service_id)] = status

    async def told(self, service_ids: Collection[str]) -> dict[tuple[str, str], HealthStatus]:
        return {key: status for key, status in self.told_rows.items() if key[1] in service_ids}

    async def list_windows(self) -> list[MaintenanceWindow]:
        return list(self.windows.values())

    async def save_window(self, window: MaintenanceWindow) -> None:
        self.windows[window.window_id] = window

    async def delete_window(self, window_id: str) -> None:
        self.windows.pop(window_id, None)

    async def save_traffic(self, rows: Sequence[StoredTraffic]) -> None:
        self._check()
        for row in rows:
            self.traffic[(row.replica_id, row.kind, row.source, row.target)] = row

    async def traffic_since(
        self, since: datetime | None, other_than: str | None
    ) -> list[StoredTraffic]:
        self._check()
        return [
            row
            for row in self.traffic.values()
            if row.replica_id != other_than and (since is None or row.updated_at >= since)
        ]

    async def prune_traffic(self, before: datetime) -> int:
        old = [key for key, row in self.traffic.items() if row.updated_at < before]
        for key in old:
            del self.traffic[key]
        return len(old)

    def __init__(self) -> None:
        self.traffic: dict[tuple[str, str, str, str], StoredTraffic] = {}
        self.windows: dict[str, MaintenanceWindow] = {}
        self.targets: dict[str, NotificationTarget] = {}
        self.deliveries: dict[str, DeliveryCounts] = {}
        self.told_rows: dict[tuple[str, str], HealthStatus] = {}
        super().__init__()
        self.services: dict[str, Service] = {}
        self.versions: dict[str, int] = {}
        self.dependencies: dict[tuple[str, str], Dependency] = {}
        self.outbox: dict[int, OutboxEntry] = {}
        self._next_id = 1
        self.outages_seen = 0
        self.down = False  # set to make every operation raise StorageUnavailable

    def _check(self) -> None:
        if self.down:
            self.outages_seen += 1
            raise StorageUnavailable("The database cannot be reached (memory: down).")

    async def ping(self) -> None:
        self._check()

    async def upsert_service(self, service: Service) -> None:
        self._check()
        known = self.services.get(service.service_id)
        if known is not None:  # the first registration time is kept
            service = replace(service, registered_at=known.registered_at)
        self.services[service.service_id] = service
        self.versions[service.service_id] = self.versions.get(service.service_id, 0) + 1

    async def delete_service(self, service_id: str) -> bool:
        self._check()
        if self.services.pop(service_id, None) is None:
            return False
        self.versions.pop(service_id, None)
        self.transitions = [c for c in self.transitions if c.service_id != service_id]
        self.rollups = [r for r in self.rollups if r.service_id != service_id]
        return True

    async def list_services(self) -> list[Service]:
        self._check()
        return list(self.services.values())

    async def get_service(self, service_id: str) -> tuple[Service, int] | None:
        self._check()
        service = self.services.get(service_id)
        return None if service is None else (service, self.versions[service_id])

    async def service_versions(self) -> dict[str, int]:
        self._check()
        return dict(self.versions)

    async def get_dependency(self, source: str, target: str) -> Dependency | None:
        self._check()
        return self.dependencies.get((source, target))

    async def add_transitions(self, changes: Sequence[StatusChange]) -> None:
        self._check()
        await super().add_transitions(changes)

    async def add_rollups(self, rollups: Sequence[Rollup]) -> None:
        self._check()
        await super().add_rollups(rollups)

    async def upsert_dependency(self, dependency: Dependency) -> None:
        self._check()
        self.dependencies[dependency.key] = dependency

    async def delete_dependency(self, source: str, target: str) -> bool:
        self._check()
        return self.dependencies.pop((source, target), None) is not None

    async def list_dependencies(self) -> list[Dependency]:
        self._check()
        return list(self.dependencies.values())

    async def save_catalog(
        self, services: Sequence[Service], dependencies: Sequence[Dependency]
    ) -> None:
        self._check()
        for service in services:
            await self.upsert_service(service)
        for dependency in dependencies:
            await self.upsert_dependency(dependency)

    async def add_outbox(self, entries: Sequence[OutboxEntry], claimant: str | None = None) -> None:
        self._check()
        for entry in entries:
            self.outbox[self._next_id] = replace(entry, id=self._next_id)
            self._next_id += 1

    async def pending_outbox(self, limit: int, claimant: str | None = None) -> list[OutboxEntry]:
        self._check()
        return [self.outbox[key] for key in sorted(self.outbox)[:limit]]

    async def delete_outbox(self, ids: Sequence[int]) -> None:
        self._check()
        for key in ids:
            self.outbox.pop(key, None)

    async def outbox_backlog(self) -> int:
        self._check()
        return len(self.outbox)
