"""Status history and per-minute rollups, written in batches rather than once per probe.

Heartbeats are folded into one in-memory row per service and UTC minute; transitions are
queued. `flush()` (called by the app every few seconds) writes both in one round trip each.
Uptime over 24h/7d/30d is read back from the rollups once per flush and cached.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from ose_mesh.core.ports import Clock, HistoryRepository, Rollup
from ose_mesh.domain import HeartbeatResult, StatusChange, StorageRefused

log = logging.getLogger(__name__)

UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_PENDING_TRANSITIONS = 100_000
Row = TypeVar("Row", StatusChange, Rollup)


@dataclass(slots=True)
class _MinuteRow:
    count: int = 0
    missed: int = 0
    latency_sum_ms: float = 0.0
    latency_samples: int = 0
    latency_max_ms: float = 0.0

    def add(self, result: HeartbeatResult) -> None:
        self.count += 1
        if not result.ok:
            self.missed += 1
        elif result.latency_ms is not None:
            self.latency_sum_ms += result.latency_ms
            self.latency_samples += 1
            self.latency_max_ms = max(self.latency_max_ms, result.latency_ms)


class HistoryRecorder:
    def __init__(self, clock: Clock, repository: HistoryRepository) -> None:
        self._clock = clock
        self._repository = repository
        self._rows: dict[str, dict[datetime, _MinuteRow]] = {}
        self._transitions: list[StatusChange] = []
        self._uptime: dict[str, dict[str, tuple[int, int]]] = {}
        self.flush_failures = 0
        self.rows_refused = 0
        self._minute = datetime.min
        self._minute_ends = float("-inf")

    def record_heartbeat(self, result: HeartbeatResult) -> None:
        minute = self._current_minute()
        minutes = self._rows.get(result.service_id)
        if minutes is None:
            minutes = self._rows[result.service_id] = {}
        row = minutes.get(minute)
        if row is None:
            row = minutes[minute] = _MinuteRow()
        row.add(result)

    def _current_minute(self) -> datetime:
        """The UTC minute now, recomputed once a minute rather than on every heartbeat."""
        now = self._clock.monotonic()
        if now >= self._minute_ends:
            wall = self._clock.wall()
            self._minute = wall.replace(second=0, microsecond=0)
            self._minute_ends = now + 60 - (wall.second + wall.microsecond / 1e6)
        return self._minute

    def record_transition(self, change: StatusChange) -> None:
        if len(self._transitions) >= MAX_PENDING_TRANSITIONS:
            del self._transitions[0]  # the database has been away for very long; keep the newest
        self._transitions.append(change)

    def forget(self, service_id: str) -> None:
        """Drop what is pending for a deregistered service."""
        self._rows.pop(service_id, None)
        self._transitions = [c for c in self._transitions if c.service_id != service_id]
        self._uptime.pop(service_id, None)

    def pending_transitions(self, service_id: str) -> list[StatusChange]:
        return [c for c in reversed(self._transitions) if c.service_id == service_id]

    async def flush(self) -> None:
        """Write what is pending; on failure keep what was not written for the next flush.

        A row the database refuses (it would be refused again) is dropped alone, logged and
        counted in `rows_refused`: one bad row never holds back every service's history.
        """
        rows, self._rows = self._rows, {}
        transitions, self._transitions = self._transitions, []
        rollups = [
            _to_rollup(service_id, minute, row)
            for service_id, minutes in rows.items()
            for minute, row in minutes.items()
        ]
        try:
            await self._write(self._repository.add_transitions, transitions)
            await self._write(self._repository.add_rollups, rollups)
            await self._refresh_uptime()
        except Exception:
            self.flush_failures += 1
            log.warning("could not write heartbeat history; will retry", exc_info=True)
            self._transitions[:0] = transitions
            for rollup in rollups:
                minutes = self._rows.setdefault(rollup.service_id, {})
                _merge(minutes.setdefault(rollup.minute, _MinuteRow()), _from_rollup(rollup))

    async def _write(
        self, write: Callable[[Sequence[Row]], Awaitable[None]], pending: list[Row]
    ) -> None:
        """Write `pending` in one batch, emptying it as rows are stored. If the database
        refuses the batch, write the rows one by one and drop each it refuses again; any
        other failure propagates with the unwritten rows still in `pending`."""
        if not pending:
            return
        try:
            await write(pending)
            pending.clear()
            return
        except StorageRefused:
            log.warning("the database refused a batch of %d rows; writing one by one", len(pending))
        while pending:
            try:
                await write(pending[:1])
            except StorageRefused as exc:
                self.rows_refused += 1
                log.error("dropped a history row the database refused: %r (%s)", pending[0], exc)
            del pending[0]

    def uptime(self, service_id: str) -> dict[str, float | None]:
        """Uptime % per window, from stored rollups plus the rows not yet written."""
        stored = self._uptime.get(service_id, {})
        now = self._clock.wall()
        result: dict[str, float | None] = {}
        for window, span in UPTIME_WINDOWS.items():
            count, missed = stored.get(window, (0, 0))
            for minute, row in self._rows.get(service_id, {}).items():
                if minute >= now - span:
                    count, missed = count + row.count, missed + row.missed
            result[window] = round(100.0 * (count - missed) / count, 2) if count else None
        return result

    async def _refresh_uptime(self) -> None:
        now = self._clock.wall()
        uptime: dict[str, dict[str, tuple[int, int]]] = {}
        for window, span in UPTIME_WINDOWS.items():
            for service_id, counts in (await self._repository.uptime_since(now - span)).items():
                uptime.setdefault(service_id, {})[window] = counts
        self._uptime = uptime


def _to_rollup(service_id: str, minute: datetime, row: _MinuteRow) -> Rollup:
    return Rollup(
        service_id,
        minute,
        row.count,
        row.missed,
        row.latency_sum_ms,
        row.latency_samples,
        row.latency_max_ms,
    )


def _from_rollup(rollup: Rollup) -> _MinuteRow:
    return _MinuteRow(
        rollup.count,
        rollup.missed,
        rollup.latency_sum_ms,
        rollup.latency_samples,
        rollup.latency_max_ms,
    )


def _merge(into: _MinuteRow, row: _MinuteRow) -> None:
    into.count += row.count
    into.missed += row.missed
    into.latency_sum_ms += row.latency_sum_ms
    into.latency_samples += row.latency_samples
    into.latency_max_ms = max(into.latency_max_ms, row.latency_max_ms)
