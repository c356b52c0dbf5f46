"""Maintenance windows: planned time during which a service is still checked and shown, but
pages nobody and does not count against its uptime.

A window covers the services it names, every service of a cluster, or every service with
a label (`team=payments`), from `starts_at` to `ends_at`; a weekly window comes back at the
same time every week until it is ended. Whether a window is on is decided by the clock
alone, so a window ends on time even when nobody looks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ose_mesh.domain.errors import InvalidField
from ose_mesh.domain.labels import parse_label
from ose_mesh.domain.service import Service
from ose_mesh.domain.text import storable

WEEK = timedelta(days=7)
MAX_DURATION = timedelta(days=7)  # a weekly window must end before it comes back
MAX_ONE_OFF = timedelta(days=366)
MAX_SERVICES = 1000
MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    window_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    service_ids: tuple[str, ...] = ()
    cluster: str | None = None
    label: str | None = None  # "key=value"
    weekly: bool = False
    created_at: datetime | None = None
    ended_at: datetime | None = None  # ended by hand: no longer on, nor coming back

    def validated(self) -> MaintenanceWindow:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidField("starts_at", "must carry a time zone (2026-12-01T22:00:00Z)")
        if self.ends_at <= self.starts_at:
            raise InvalidField("ends_at", "must be after starts_at")
        longest = MAX_DURATION if self.weekly else MAX_ONE_OFF
        if self.ends_at - self.starts_at > longest:
            kind = "a weekly window" if self.weekly else "a window"
            raise InvalidField("ends_at", f"{kind} lasts at most {longest.days} days")
        if not (self.service_ids or self.cluster or self.label):
            raise InvalidField("service_ids", "name services, a cluster or a label to cover")
        if len(self.service_ids) > MAX_SERVICES:
            raise InvalidField("service_ids", f"may name at most {MAX_SERVICES} services")
        if not self.reason.strip():
            raise InvalidField("reason", "must say why (it is shown while the window is on)")
        for name, value in (("reason", self.reason), ("created_by", self.created_by)):
            storable(name, value)
            if len(value) > MAX_TEXT:
                raise InvalidField(name, f"must be at most {MAX_TEXT} characters")
        storable("cluster", self.cluster)
        if self.label is not None:
            parse_label(self.label, "label")
        return self

    def is_on(self, at: datetime) -> bool:
        """Whether the window covers the moment `at`."""
        if self.ended_at is not None and at >= self.ended_at:
            return False
        if at < self.starts_at:
            return False
        if not self.weekly:
            return at < self.ends_at
        return at - self._last_start(at) < self.ends_at - self.starts_at

    def next_start(self, at: datetime) -> datetime | None:
        """When the window is next on after `at` (itself when on now), or None: it is over."""
        if self.ended_at is not None and at >= self.ended_at:
            return None
        if at < self.starts_at:
            return self.starts_at
        if self.is_on(at):
            return self._last_start(at) if self.weekly else self.starts_at
        if not self.weekly:
            return None
        following = self._last_start(at) + WEEK
        return following if self.ended_at is None or following < self.ended_at else None

    def ends_after(self, at: datetime) -> datetime:
        """When the occurrence on at `at` ends (for a weekly window, this week's)."""
        end = self.ends_at
        if self.weekly and at >= self.starts_at:
            end = self._last_start(at) + (self.ends_at - self.starts_at)
        return end if self.ended_at is None else min(end, self.ended_at)

    def _last_start(self, at: datetime) -> datetime:
        return self.starts_at + WEEK * ((at - self.starts_at) // WEEK)

    def covers(self, service: Service) -> bool:
        if service.service_id in self.service_ids:
            return True
        if self.cluster is not None and service.cluster == self.cluster:
            return True
        if self.label is not None:
            key, value = parse_label(self.label, "label")
            return service.label(key) == value
        return False

    def ended(self, at: datetime) -> MaintenanceWindow:
        return replace(self, ended_at=at)
