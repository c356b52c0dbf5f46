"""The mesh watching itself: it is registered as a push service that beats when its
database answers, and it answers /health (ready, database, background jobs).

Load balancers and dashboards poll /health, several a second. One ping of the database is
shared by the requests that arrive while it runs, and its answer is kept for
`DatabaseCheck.max_age` seconds, unless any other database operation has found the database
unavailable since: a ping is three trips to the database driver's thread, each waiting its
turn on a busy event loop, and a poll must measure the loop, not queue behind other
requests' database work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from ose_mesh.core.monitor import HeartbeatMonitor
from ose_mesh.core.registry import ServiceRegistry, ServiceSpec
from ose_mesh.core.supervisor import Supervisor
from ose_mesh.domain import CheckConfig, CheckType, StorageUnavailable

SELF_ID = "service-mesh"


class Pingable(Protocol):
    @property
    def outages_seen(self) -> int:
        """How many operations found the database unavailable so far."""
        ...

    async def ping(self) -> None:
        """Raises StorageUnavailable when the database does not answer."""
        ...


class DatabaseCheck:
    def __init__(
        self,
        database: Pingable,
        *,
        max_age: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._max_age = max_age
        self._clock = clock
        self._answer = False
        self._answered_at = -float("inf")
        self._outages_then = 0  # the database's count of outages when the answer was given
        self._running: asyncio.Future[bool] | None = None

    async def answers(self) -> bool:
        """Whether the database answered a ping in the last `max_age` seconds, and nothing
        found it unavailable since."""
        fresh = self._clock() - self._answered_at < self._max_age
        if fresh and self._database.outages_seen == self._outages_then:
            return self._answer
        if self._running is None:
            self._running = asyncio.ensure_future(self._ping())
        # Shielded: a client that goes away does not cancel the ping the others wait for.
        return await asyncio.shield(self._running)

    async def _ping(self) -> bool:
        try:
            await self._database.ping()
            answer = True
        except StorageUnavailable:
            answer = False
        self._answer, self._answered_at, self._running = answer, self._clock(), None
        self._outages_then = self._database.outages_seen
        return answer


@dataclass(frozen=True, slots=True)
class ServerHealth:
    status: Literal["ok", "degraded", "starting", "failing"]
    database: Literal["ok", "unavailable"]
    services: int
    jobs_down: list[str]  # vital background jobs not running

    @property
    def serving(self) -> bool:
        """Whether a load balancer should send it traffic."""
        return self.status in ("ok", "degraded")


class SelfCheck:
    def __init__(
        self,
        monitor: HeartbeatMonitor,
        registry: ServiceRegistry,
        database: Pingable,
        jobs: Supervisor,
    ) -> None:
        self._monitor = monitor
        self._registry = registry
        self._database = database
        self._check = DatabaseCheck(database)
        self._jobs = jobs
        self.ready = asyncio.Event()  # start-up work done: /health answers 200 from then on

    async def register(self, defaults: CheckConfig) -> None:
        spec = ServiceSpec(
            service_id=SELF_ID,
            service_name="Service Mesh",
            cluster="core",
            check_type=CheckType.PUSH,
            interval_seconds=defaults.interval_seconds,
            timeout_seconds=defaults.timeout_seconds,
        )
        await self._registry.register(spec)
        await self.beat()

    async def beat(self) -> None:
        """The mesh beats for itself: a beat succeeds when its database answers."""
        started = time.perf_counter()
        try:
            await self._database.ping()
        except StorageUnavailable as exc:
            self._monitor.record_beat(SELF_ID, ok=False, message=exc.message)
            return
        latency = (time.perf_counter() - started) * 1000
        self._monitor.record_beat(SELF_ID, ok=True, latency_ms=round(latency, 3))

    async def run(self) -> None:
        """Beat every interval, until cancelled (a background job)."""
        while True:
            await asyncio.sleep(self._monitor.state(SELF_ID).service.check.interval_seconds)
            await self.beat()

    async def health(self) -> ServerHealth:
        """200 once start-up work is done (the demo topology registered, when asked for):
        before, "starting", so a load balancer sends no traffic to a replica not ready;
        "failing" while a vital background job is down."""
        database: Literal["ok", "unavailable"] = (
            "ok" if await self._check.answers() else "unavailable"
        )
        down = self._jobs.down()
        status: Literal["ok", "degraded", "starting", "failing"]
        if not self.ready.is_set():
            status = "starting"
        elif down:
            status = "failing"
        else:
            status = "ok" if database == "ok" else "degraded"
        return ServerHealth(status, database, len(self._monitor), down)
