"""A write whose caller is cancelled (the server stopping its background tasks) still
finishes, and leaves the database usable: on SQLite, one cut off halfway kept the write
lock, and every later write waited 30 s for it and failed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ose_mesh.adapters.db import SqlRepository
from ose_mesh.core import Rollup
from ose_mesh.domain import HealthStatus, StatusChange

MINUTE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rollups(count: int) -> list[Rollup]:
    return [Rollup(f"s{n}", MINUTE, 1, 0, 2.0, 1, 2.0) for n in range(count)]


@pytest.mark.parametrize("turns", [0, 1, 2, 5])
async def test_a_cancelled_write_finishes_and_frees_the_database(
    sql_repository: SqlRepository, turns: int
) -> None:
    writing = asyncio.create_task(sql_repository.add_rollups(rollups(2000)))
    for _ in range(turns):  # cancel at different points of the write
        await asyncio.sleep(0)
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    change = StatusChange("after", HealthStatus.UNKNOWN, HealthStatus.HEALTHY, MINUTE, "ok")
    await sql_repository.add_transitions([change])  # would wait for the lock, then fail
    assert [c.reason for c in await sql_repository.list_transitions("after", 5)] == ["ok"]
    stored = await sql_repository.uptime_since(MINUTE)
    assert len(stored) in (0, 2000)  # finished, or never started: never half done
