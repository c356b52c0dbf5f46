"""Notification targets and the rules that say which transitions reach them.

A target is a URL: an Apprise URL (slack://, msteams://, discord://, tgram://, mailto://,
pagerduty://, opsgenie://, ntfy://, gotify://, json://, …) or a plain http(s) URL, which
gets the mesh's own JSON webhook. Its rule picks services (by id, cluster or label; none
named: every service), the statuses that page (by default critical and dead) and whether
recoveries are told; `min_minutes` in the new status before sending keeps a flapping
service from paging every minute, and `repeat_minutes` reminds while it stays there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ose_mesh.domain.errors import InvalidField
from ose_mesh.domain.health import HealthStatus
from ose_mesh.domain.labels import parse_label
from ose_mesh.domain.service import MAX_NAME_LENGTH, Service
from ose_mesh.domain.text import storable

DEFAULT_STATUSES = (HealthStatus.CRITICAL, HealthStatus.DEAD)
PAGEABLE = (HealthStatus.DEGRADED, HealthStatus.CRITICAL, HealthStatus.DEAD)
MAX_URL_LENGTH = 2048
MAX_SELECTED = 1000
MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class NotificationRule:
    service_ids: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # "key=value" each
    statuses: tuple[HealthStatus, ...] = DEFAULT_STATUSES
    recoveries: bool = True  # tell when a service it paged about is healthy again
    min_minutes: float = 0.0  # time in the new status before sending
    repeat_minutes: float = 0.0  # remind while it stays there; 0: never

    def validated(self) -> NotificationRule:
        for name, values in (
            ("service_ids", self.service_ids),
            ("clusters", self.clusters),
            ("labels", self.labels),
        ):
            if len(values) > MAX_SELECTED:
                raise InvalidField(name, f"at most {MAX_SELECTED}")
            for value in values:
                storable(name, value)
        for label in self.labels:
            parse_label(label, "labels")
        if not self.statuses:
            raise InvalidField("statuses", "name at least one status that pages")
        for status in self.statuses:
            if status not in PAGEABLE:
                allowed = ", ".join(s.value for s in PAGEABLE)
                raise InvalidField("statuses", f"must be among {allowed}, got {status.value!r}")
        for name, minutes in (
            ("min_minutes", self.min_minutes),
            ("repeat_minutes", self.repeat_minutes),
        ):
            if not 0 <= minutes <= MAX_MINUTES:
                raise InvalidField(name, f"must be from 0 to {MAX_MINUTES} (a week)")
        if 0 < self.repeat_minutes < 1:
            raise InvalidField("repeat_minutes", "must be 0 (never) or at least 1")
        return self

    def to_json(self) -> dict[str, Any]:
        """As stored and answered."""
        return {
            "service_ids": list(self.service_ids),
            "clusters": list(self.clusters),
            "labels": list(self.labels),
            "statuses": [status.value for status in self.statuses],
            "recoveries": self.recoveries,
            "min_minutes": self.min_minutes,
            "repeat_minutes": self.repeat_minutes,
        }

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> NotificationRule:
        return cls(
            service_ids=tuple(values["service_ids"]),
            clusters=tuple(values["clusters"]),
            labels=tuple(values["labels"]),
            statuses=tuple(HealthStatus(status) for status in values["statuses"]),
            recoveries=values["recoveries"],
            min_minutes=values["min_minutes"],
            repeat_minutes=values["repeat_minutes"],
        )

    def selects(self, service: Service) -> bool:
        if not (self.service_ids or self.clusters or self.labels):
            return True
        if service.service_id in self.service_ids:
            return True
        if service.cluster is not None and service.cluster in self.clusters:
            return True
        for label in self.labels:
            key, value = parse_label(label, "labels")
            if service.label(key) == value:
                return True
        return False


@dataclass(frozen=True, slots=True)
class NotificationTarget:
    target_id: str
    name: str
    url: str  # a secret: shown only as `shown_url`
    kind: str  # "webhook", or the Apprise service ("Slack", "E-Mail", …)
    shown_url: str  # the URL with its secrets hidden
    rule: NotificationRule = field(default_factory=NotificationRule)
    source: str = "api"  # "api", or "file" for targets of OSE_MESH_NOTIFY_FILE (read-only)

    def validated(self) -> NotificationTarget:
        storable("name", self.name)
        if not self.name.strip() or len(self.name) > MAX_NAME_LENGTH:
            raise InvalidField("name", f"must be 1 to {MAX_NAME_LENGTH} characters")
        storable("url", self.url)
        if len(self.url) > MAX_URL_LENGTH:
            raise InvalidField("url", f"must be at most {MAX_URL_LENGTH} characters")
        self.rule.validated()
        return self
