"""Long walks over every service, cut into steps with the event loop free in between.

Building the answer for 10,000 services takes hundreds of milliseconds of Python; done in
one go it would hold back every probe, beat and request for that long. Here the walk lets
the loop run whenever it has worked for STEP_SECONDS: a step is as short for costly items
(a GraphQL service with its metrics) as for cheap ones. A request waiting on the database
needs several loop turns, so steps are kept short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")
STEP_SECONDS = 0.004


async def paced(items: Iterable[T], step_seconds: float = STEP_SECONDS) -> AsyncIterator[T]:
    """`items` one at a time; every `step_seconds` of work, the event loop runs."""
    clock = time.perf_counter
    step_ends = clock() + step_seconds
    for item in items:
        if clock() >= step_ends:
            await asyncio.sleep(0)
            step_ends = clock() + step_seconds
        yield item
