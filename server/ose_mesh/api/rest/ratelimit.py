"""Per-service rate limit for pushed beats: a token bucket per service.

A service beats every few seconds; one beating hundreds of times a second is broken or
hostile, and would fill the metrics with noise. Each service may send `rate` beats a second
on average, in bursts of up to twice that; beyond it the answer is 429 with Retry-After.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class BeatLimiter:
    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1.0, 2 * rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # service -> (tokens, at)

    def retry_after(self, service_id: str, cost: float = 1) -> int | None:
        """None if this beat may go through (and count it), else whole seconds to wait.
        A `cost` above one (spans of a batch) may take the bucket below zero: what follows
        waits until that debt is paid."""
        now = self._clock()
        tokens, at = self._buckets.get(service_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[service_id] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))
        self._buckets[service_id] = (tokens - cost, now)
        return None

    def forget(self, service_id: str) -> None:
        self._buckets.pop(service_id, None)
