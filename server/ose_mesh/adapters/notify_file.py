"""Notification targets from a file (OSE_MESH_NOTIFY_FILE), read at start, read-only:

    targets:
      - name: ops-slack
        url: slack://TokenA/TokenB/TokenC/#ops       # any Apprise URL, or an http(s) webhook
        statuses: [critical, dead]                     # the default
        recoveries: true                               # the default
        min_minutes: 2                                 # in the new status before sending
        repeat_minutes: 60                             # remind while it stays there
        services: [payments]                           # none of the three: every service
        clusters: [core]
        labels: ["team=payments"]

A file that cannot be read or breaks a rule stops the server with a message saying where.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ose_mesh.adapters.notify import NotificationSenders
from ose_mesh.domain import DomainError, HealthStatus
from ose_mesh.domain.notifications import DEFAULT_STATUSES, NotificationRule, NotificationTarget


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    url: str
    statuses: list[HealthStatus] = Field(default_factory=lambda: list(DEFAULT_STATUSES))
    recoveries: bool = True
    min_minutes: float = 0
    repeat_minutes: float = 0
    services: list[str] = Field(default_factory=list)
    clusters: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[_Entry] = Field(default_factory=list)


class NotifyFileError(Exception):
    """What is wrong with the file, and where."""


def read_targets(path: Path, senders: NotificationSenders) -> list[NotificationTarget]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = _File.model_validate(data).targets
    except OSError as exc:
        raise NotifyFileError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise NotifyFileError(f"{path} is not YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise NotifyFileError(f"{path}: {where}: {first['msg']}") from None
    targets = []
    for number, entry in enumerate(entries):
        try:
            kind, shown = senders.describe(entry.url)
            target = NotificationTarget(
                target_id=f"file-{number}",
                name=entry.name,
                url=entry.url,
                kind=kind,
                shown_url=shown,
                source="file",
                rule=NotificationRule(
                    service_ids=tuple(entry.services),
                    clusters=tuple(entry.clusters),
                    labels=tuple(entry.labels),
                    statuses=tuple(entry.statuses),
                    recoveries=entry.recoveries,
                    min_minutes=entry.min_minutes,
                    repeat_minutes=entry.repeat_minutes,
                ),
            ).validated()
        except DomainError as exc:
            raise NotifyFileError(
                f"{path}: targets.{number} ({entry.name}): {exc.message}"
            ) from None
        targets.append(target)
    if len({t.name for t in targets}) < len(targets):
        raise NotifyFileError(f"{path}: two targets have the same name")
    return targets
