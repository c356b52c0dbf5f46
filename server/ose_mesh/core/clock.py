"""The real clock, and a manual one for tests and simulations."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; both readings advance together."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = 1000.0
        self._wall = start or datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._wall += timedelta(seconds=seconds)
