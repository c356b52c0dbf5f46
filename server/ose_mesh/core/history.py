"""Status history and per-minute rollups, written in batches rather than once per probe.

Heartbeats are folded into one in-memory row per service and UTC minute; transitions are
queued. `flush()` (called by the app every few seconds) writes what changed since the last
one in batches of WRITE_BATCH rows: at 10,000 services, writing every row in one statement
held the event loop for 350 ms. Rows live as long as their minute and are reset after
each write rather than rebuilt, so a flush leaves no garbage behind for the collector.

Uptime over 24h/7d/30d is read back from the rollups every UPTIME_REFRESH_SECONDS; each
batch written in between is added to it, so reading it never waits for the database.
"""

from __future__ import annotations

import logging
import math
from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from ose_mesh.core.ports import Clock, HistoryRepository, Rollup
from ose_mesh.domain import HeartbeatResult, StatusChange, StorageRefused

log = logging.getLogger(__name__)

UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_PENDING_TRANSITIONS = 100_000
WRITE_BATCH = 500
# The windows slide by at most this much between two reads from the database.
UPTIME_REFRESH_SECONDS = 300.0
Row = TypeVar("Row", StatusChange, Rollup)


@dataclass(slots=True)
class _MinuteRow:
    """One service's heartbeats in one minute that are not written yet."""

    service_id: str
    minute: datetime
    count: int = 0
    missed: int = 0
    latency_sum_ms: float = 0.0
    latency_samples: int = 0
    latency_max_ms: float = 0.0
    writing: bool = False  # taken by a flush that has not finished writing it

    def add(self, result: HeartbeatResult) -> None:
        self.count += 1
        if not result.ok:
            self.missed += 1
        elif result.latency_ms is not None:
            self.latency_sum_ms += result.latency_ms
            self.latency_samples += 1
            self.latency_max_ms = max(self.latency_max_ms, result.latency_ms)

    def take(self) -> Rollup:
        """What is pending, as a rollup to write; the row starts again from zero."""
        rollup = Rollup(
            self.service_id,
            self.minute,
            self.count,
            self.missed,
            self.latency_sum_ms,
            self.latency_samples,
            self.latency_max_ms,
        )
        self.count = self.missed = self.latency_samples = 0
        self.latency_sum_ms = self.latency_max_ms = 0.0
        self.writing = True
        return rollup

    def give_back(self, rollup: Rollup) -> None:
        """A rollup that could not be written is pending again."""
        self.count += rollup.count
        self.missed += rollup.missed
        self.latency_sum_ms += rollup.latency_sum_ms
        self.latency_samples += rollup.latency_samples
        self.latency_max_ms = max(self.latency_max_ms, rollup.latency_max_ms)


class HistoryRecorder:
    def __init__(self, clock: Clock, repository: HistoryRepository) -> None:
        self._clock = clock
        self._repository = repository
        self._rows: dict[str, dict[datetime, _MinuteRow]] = {}
        self._dirty: list[_MinuteRow] = []  # the rows with heartbeats not yet taken
        self._transitions: list[StatusChange] = []
        # Per service: count, missed for each window in UPTIME_WINDOWS' order. An array, not
        # a list: the collector never walks it.
        self._uptime: dict[str, array[int]] = {}
        self._uptime_read_at = -math.inf
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
            # A new minute: the rows of minutes past that are written are done with (one
            # still pending or being written stays until its write is over).
            for past in [m for m, r in minutes.items() if r.count == 0 and not r.writing]:
                del minutes[past]
            row = minutes[minute] = _MinuteRow(result.service_id, minute)
        if row.count == 0:
            self._dirty.append(row)
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
        """Drop what is pending for a deregistered service (a flush under way skips its rows,
        as they are no longer in `_rows`)."""
        self._rows.pop(service_id, None)
        self._dirty = [row for row in self._dirty if row.service_id != service_id]
        self._transitions = [c for c in self._transitions if c.service_id != service_id]
        self._uptime.pop(service_id, None)

    def pending_transitions(self, service_id: str) -> list[StatusChange]:
        return [c for c in reversed(self._transitions) if c.service_id == service_id]

    def pending_since(self, since: datetime) -> list[StatusChange]:
        """Every service's transitions not written yet, at or after `since`, newest first."""
        return [c for c in reversed(self._transitions) if c.at >= since]

    # -- writing -------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write what is pending, WRITE_BATCH rows at a time; on failure keep what was not
        written for the next flush.

        A row the database refuses (it would be refused again) is dropped alone, logged and
        counted in `rows_refused`: one bad row never holds back every service's history.
        """
        try:
            await self._flush_transitions()
            await self._flush_rollups()
            if self._clock.monotonic() - self._uptime_read_at >= UPTIME_REFRESH_SECONDS:
                await self._read_uptime()
        except Exception:
            self.flush_failures += 1
            log.warning("could not write heartbeat history; will retry", exc_info=True)

    async def _flush_transitions(self) -> None:
        while self._transitions:
            batch = self._transitions[:WRITE_BATCH]
            del self._transitions[:WRITE_BATCH]
            try:
                await self._write(self._repository.add_transitions, batch)
            finally:
                self._transitions[:0] = batch  # what was not written, if anything

    async def _flush_rollups(self) -> None:
        dirty, self._dirty = self._dirty, []
        for start in range(0, len(dirty), WRITE_BATCH):
            rows = [row for row in dirty[start : start + WRITE_BATCH] if self._is_kept(row)]
            pending = [row.take() for row in rows]
            self._count_uptime(pending, +1)
            try:
                await self._write(self._repository.add_rollups, pending)
            except Exception:
                # The database is away: what was not written is pending again (`_write`
                # leaves the unwritten tail in `pending`), and so are the later batches.
                self._count_uptime(pending, -1)
                for row, rollup in zip(rows[len(rows) - len(pending) :], pending, strict=True):
                    if row.count == 0:
                        self._dirty.append(row)
                    row.give_back(rollup)
                self._dirty += [row for row in dirty[start + WRITE_BATCH :] if row.count]
                raise
            finally:
                for row in rows:
                    row.writing = False

    def _is_kept(self, row: _MinuteRow) -> bool:
        """The row still belongs to a watched service (it was not forgotten meanwhile)."""
        return self._rows.get(row.service_id, {}).get(row.minute) is row

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

    # -- uptime --------------------------------------------------------------------------

    def uptime(self, service_id: str) -> dict[str, float | None]:
        """Uptime % per window, from stored rollups plus the rows not yet written."""
        counts = self._uptime.get(service_id)
        pending, pending_missed = 0, 0
        for row in self._rows.get(service_id, {}).values():
            pending, pending_missed = pending + row.count, pending_missed + row.missed
        result: dict[str, float | None] = {}
        for index, window in enumerate(UPTIME_WINDOWS):
            count = pending + (counts[2 * index] if counts else 0)
            missed = pending_missed + (counts[2 * index + 1] if counts else 0)
            result[window] = round(100.0 * (count - missed) / count, 2) if count else None
        return result

    def _count_uptime(self, rollups: Sequence[Rollup], sign: int) -> None:
        """Add (or, for rollups given back, take away) written heartbeats to every window."""
        for rollup in rollups:
            counts = self._uptime.get(rollup.service_id)
            if counts is None:
                counts = self._uptime[rollup.service_id] = _zero_counts()
            for index in range(len(UPTIME_WINDOWS)):
                counts[2 * index] += sign * rollup.count
                counts[2 * index + 1] += sign * rollup.missed

    async def _read_uptime(self) -> None:
        now = self._clock.wall()
        uptime: dict[str, array[int]] = {}
        for index, span in enumerate(UPTIME_WINDOWS.values()):
            for service_id, (count, missed) in (
                await self._repository.uptime_since(now - span)
            ).items():
                counts = uptime.get(service_id)
                if counts is None:
                    counts = uptime[service_id] = _zero_counts()
                counts[2 * index], counts[2 * index + 1] = count, missed
        self._uptime = uptime
        self._uptime_read_at = self._clock.monotonic()


def _zero_counts() -> array[int]:
    return array("q", bytes(8 * 2 * len(UPTIME_WINDOWS)))
