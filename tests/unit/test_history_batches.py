"""The history writer at scale: every heartbeat is written exactly once, in batches, through
database outages and flushes that interleave with new heartbeats; uptime stays exact."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

import pytest

from ose_mesh.core import HistoryRecorder, ManualClock, Rollup
from ose_mesh.core.history import UPTIME_REFRESH_SECONDS, WRITE_BATCH
from ose_mesh.domain import HeartbeatResult, StorageUnavailable
from tests.fakes import MemoryHistory


class Recording(MemoryHistory):
    """Keeps the size of each rollup batch; fails the batches numbered in `fail_batches`
    (counting from 1) as if the database were away; can pause inside a write."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.fail_batches: set[int] = set()
        self.pause: asyncio.Event | None = None
        self.paused = asyncio.Event()

    async def add_rollups(self, rollups: Sequence[Rollup]) -> None:
        self.batches.append(len(rollups))
        if len(self.batches) in self.fail_batches:
            raise StorageUnavailable("away")
        if self.pause is not None:
            self.paused.set()
            await self.pause.wait()
        await super().add_rollups(rollups)


def beat(history: HistoryRecorder, clock: ManualClock, service_id: str, ok: bool = True) -> None:
    history.record_heartbeat(HeartbeatResult(service_id, ok, clock.monotonic(), 2.0))


def written(repository: MemoryHistory) -> Counter[str]:
    """Heartbeats stored per service."""
    totals: Counter[str] = Counter()
    for rollup in repository.rollups:
        totals[rollup.service_id] += rollup.count
    return totals


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def test_thousands_of_services_are_written_in_batches_once_each(clock: ManualClock) -> None:
    repository = Recording()
    history = HistoryRecorder(clock, repository)
    services = [f"s{n}" for n in range(2 * WRITE_BATCH + 7)]
    for service_id in services:
        beat(history, clock, service_id)
    await history.flush()
    assert max(repository.batches) <= WRITE_BATCH
    assert written(repository) == Counter(dict.fromkeys(services, 1))
    await history.flush()  # nothing new: nothing written again
    assert written(repository) == Counter(dict.fromkeys(services, 1))


async def test_an_outage_in_the_middle_of_a_flush_loses_and_repeats_nothing(
    clock: ManualClock,
) -> None:
    repository = Recording()
    repository.fail_batches = {2}
    history = HistoryRecorder(clock, repository)
    services = [f"s{n}" for n in range(3 * WRITE_BATCH)]
    for service_id in services:
        beat(history, clock, service_id)
    await history.flush()
    assert history.flush_failures == 1
    assert sum(written(repository).values()) == WRITE_BATCH  # the first batch only
    for service_id in services[:10] + services[-10:]:  # more beats while it is away
        beat(history, clock, service_id, ok=False)
    await history.flush()
    expected = Counter(dict.fromkeys(services, 1))
    expected.update(services[:10] + services[-10:])
    assert written(repository) == expected
    assert history.uptime(services[0])["24h"] == 50.0
    assert history.uptime(services[WRITE_BATCH + 1])["24h"] == 100.0


async def test_beats_during_a_slow_write_are_kept_for_the_next_flush(clock: ManualClock) -> None:
    repository = Recording()
    repository.pause = asyncio.Event()
    history = HistoryRecorder(clock, repository)
    beat(history, clock, "a")
    flushing = asyncio.create_task(history.flush())
    await repository.paused.wait()
    beat(history, clock, "a")  # the row was taken for writing; this one waits for the next
    beat(history, clock, "b")
    repository.pause.set()
    await flushing
    repository.pause = None
    await history.flush()
    assert written(repository) == Counter({"a": 2, "b": 1})


async def test_a_service_forgotten_during_a_flush_is_not_written(clock: ManualClock) -> None:
    repository = Recording()
    repository.pause = asyncio.Event()
    history = HistoryRecorder(clock, repository)
    for n in range(WRITE_BATCH + 1):
        beat(history, clock, f"s{n}")
    flushing = asyncio.create_task(history.flush())
    await repository.paused.wait()  # inside the first batch; s500 is in the second
    history.forget(f"s{WRITE_BATCH}")
    repository.pause.set()
    await flushing
    assert f"s{WRITE_BATCH}" not in written(repository)
    assert len(written(repository)) == WRITE_BATCH


async def test_each_minute_is_its_own_rollup(clock: ManualClock) -> None:
    repository = Recording()
    history = HistoryRecorder(clock, repository)
    beat(history, clock, "a")
    clock.advance(30)
    beat(history, clock, "a")
    await history.flush()
    clock.advance(60)
    beat(history, clock, "a", ok=False)
    await history.flush()
    per_minute = sorted((r.minute, r.count, r.missed) for r in repository.rollups)
    assert [(count, missed) for _, count, missed in per_minute] == [(2, 0), (1, 1)]
    assert per_minute[0][0] < per_minute[1][0]


async def test_a_service_beaten_for_hours_keeps_only_its_current_minutes(
    clock: ManualClock,
) -> None:
    history = HistoryRecorder(clock, Recording())
    for _ in range(180):  # three hours, a beat every minute and a flush after each
        beat(history, clock, "a")
        await history.flush()
        clock.advance(60)
    beat(history, clock, "a")
    assert len(history._rows["a"]) <= 2  # not one row per minute ever seen
    assert history.uptime("a")["24h"] == 100.0


async def test_uptime_counts_pending_written_and_reread_heartbeats_alike(
    clock: ManualClock,
) -> None:
    repository = Recording()
    history = HistoryRecorder(clock, repository)
    for ok in (True, True, True, False):
        beat(history, clock, "a", ok)
    pending = history.uptime("a")
    await history.flush()
    counted = history.uptime("a")
    clock.advance(UPTIME_REFRESH_SECONDS + 1)
    await history.flush()  # reads uptime back from the database
    reread = history.uptime("a")
    assert pending == counted == reread == {"24h": 75.0, "7d": 75.0, "30d": 75.0}
    assert history.uptime("never-beaten") == {"24h": None, "7d": None, "30d": None}
