"""GET /health: is this replica ready, and does its database answer.

Load balancers and dashboards poll it, several a second. One ping of the database is
shared by the requests that arrive while it runs, and its answer is kept for
`DatabaseCheck.max_age` seconds, unless any other database operation has found the database
unavailable since: a ping is three trips to the database driver's thread, each waiting its
turn on a busy event loop, and a poll must measure the loop, not queue behind other
requests' database work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from ose_mesh import __version__
from ose_mesh.adapters.db import SqlRepository
from ose_mesh.core import HeartbeatMonitor
from ose_mesh.demo.simulator import SELF_ID
from ose_mesh.domain import StorageUnavailable


class DatabaseCheck:
    def __init__(
        self,
        repository: SqlRepository,
        *,
        max_age: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._max_age = max_age
        self._clock = clock
        self._answer = False
        self._answered_at = -float("inf")
        self._outages_then = 0  # the repository's count of outages when the answer was given
        self._running: asyncio.Future[bool] | None = None

    async def answers(self) -> bool:
        """Whether the database answered a ping in the last `max_age` seconds, and nothing
        found it unavailable since."""
        fresh = self._clock() - self._answered_at < self._max_age
        if fresh and self._repository.outages_seen == self._outages_then:
            return self._answer
        if self._running is None:
            self._running = asyncio.ensure_future(self._ping())
        # Shielded: a client that goes away does not cancel the ping the others wait for.
        return await asyncio.shield(self._running)

    async def _ping(self) -> bool:
        try:
            await self._repository.ping()
            answer = True
        except StorageUnavailable:
            answer = False
        self._answer, self._answered_at, self._running = answer, self._clock(), None
        self._outages_then = self._repository.outages_seen
        return answer


def health_endpoint(
    check: DatabaseCheck, monitor: HeartbeatMonitor, ready: asyncio.Event
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """200 once start-up work is done (the demo topology registered, when asked for):
    before, 503 "starting", so a load balancer sends no traffic to a replica not ready."""

    async def health(request: Request) -> JSONResponse:
        database = "ok" if await check.answers() else "unavailable"
        status = "ok" if database == "ok" else "degraded"
        if not ready.is_set():
            status = "starting"
        return JSONResponse(
            {
                "status": status,
                "service": SELF_ID,
                "version": __version__,
                "database": database,
                "services": len(monitor),
            },
            status_code=503 if status == "starting" else 200,
        )

    return health
