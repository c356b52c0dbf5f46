"""Test doubles for the core's ports that are not about I/O (clock, prober, history store)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from ose_mesh.core import ProbeOutcome, Rollup
from ose_mesh.domain import HealthStatus, Service, StatusChange


class ScriptedProber:
    """Answers per service: ok by default, `fail` set → failure, `hang` set → never answers."""

    def __init__(self) -> None:
        self.fail: set[str] = set()
        self.hang: set[str] = set()
        self.calls: list[str] = []

    async def probe(self, service: Service) -> ProbeOutcome:
        self.calls.append(service.service_id)
        if service.service_id in self.hang:
            await asyncio.Event().wait()
        if service.service_id in self.fail:
            return ProbeOutcome(False, 1.0, "HTTP 500")
        return ProbeOutcome(True, 12.5, "HTTP 200")


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
