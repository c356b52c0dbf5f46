"""/health's database check: one ping shared by the polls that arrive while it runs, its
answer kept for a second, and an outage reported as soon as any operation sees it."""

from __future__ import annotations

import asyncio

from ose_mesh.core.self_check import DatabaseCheck
from ose_mesh.domain import StorageUnavailable


class Database:
    def __init__(self) -> None:
        self.pings = 0
        self.down = False
        self.slow: asyncio.Event | None = None
        self.outages_seen = 0

    async def ping(self) -> None:
        self.pings += 1
        if self.slow is not None:
            await self.slow.wait()
        if self.down:
            self.outages_seen += 1
            raise StorageUnavailable("away")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_polls_share_one_ping_a_second() -> None:
    database, clock = Database(), Clock()
    check = DatabaseCheck(database, max_age=1.0, clock=clock)  # type: ignore[arg-type]
    database.slow = asyncio.Event()
    polls = [asyncio.create_task(check.answers()) for _ in range(20)]
    await asyncio.sleep(0)
    database.slow.set()
    assert await asyncio.gather(*polls) == [True] * 20
    assert database.pings == 1
    clock.now += 0.5
    assert await check.answers() is True
    assert database.pings == 1
    clock.now += 0.6
    database.down = True
    assert await check.answers() is False
    assert database.pings == 2


async def test_an_outage_seen_elsewhere_is_reported_at_once() -> None:
    database, clock = Database(), Clock()
    check = DatabaseCheck(database, max_age=1.0, clock=clock)  # type: ignore[arg-type]
    assert await check.answers() is True
    database.down = True
    database.outages_seen += 1  # a registration just got a 503
    assert await check.answers() is False
    assert database.pings == 2
    clock.now += 0.2
    assert await check.answers() is False  # kept, like any answer
    assert database.pings == 2


async def test_a_poll_that_goes_away_does_not_cancel_the_shared_ping() -> None:
    database, clock = Database(), Clock()
    check = DatabaseCheck(database, clock=clock)  # type: ignore[arg-type]
    database.slow = asyncio.Event()
    leaving = asyncio.create_task(check.answers())
    staying = asyncio.create_task(check.answers())
    await asyncio.sleep(0)
    leaving.cancel()
    database.slow.set()
    assert await staying is True
    assert database.pings == 1
