"""The background jobs, run under one supervisor.

Each job is a coroutine that runs until cancelled (the monitor loop, the outbox relay…). A
job that crashes is logged with its traceback, marked down, and started again after a
backoff when that is safe; /health answers 503 while a vital one is down and /metrics
shows every job's state. Nothing dies silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0


@dataclass(slots=True)
class Job:
    name: str
    work: Callable[[], Awaitable[None]]
    vital: bool  # the server cannot do its job without it: /health says so
    restart: bool  # safe to start again after a crash
    graceful: bool  # on shutdown it is not cancelled: it ends by itself once `stopping` is set
    running: bool = False
    crashes: int = 0
    last_error: str | None = None
    finished: bool = False  # returned normally (a one-off job such as the demo's seeding)


class Supervisor:
    def __init__(self, *, first_backoff: float = FIRST_BACKOFF_SECONDS) -> None:
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._first_backoff = first_backoff
        self.stopping = asyncio.Event()  # set on shutdown, for the graceful jobs

    def add(
        self,
        name: str,
        work: Callable[[], Awaitable[None]],
        *,
        vital: bool = True,
        restart: bool = True,
        graceful: bool = False,
    ) -> None:
        if name in self._jobs:
            raise ValueError(f"a job named {name!r} exists already")
        self._jobs[name] = Job(name, work, vital, restart, graceful)

    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def down(self) -> list[str]:
        """The vital jobs not running now (crashed, waiting for their restart, or given up)."""
        return [job.name for job in self._jobs.values() if job.vital and not job.running]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run every job while the block runs. When it ends: set `stopping`, cancel the
        jobs that are not graceful, and wait until every job has ended."""
        group = asyncio.create_task(self._run_all(), name="supervisor")
        try:
            await asyncio.sleep(0)  # let every job start before the caller goes on
            yield
        finally:
            self.stopping.set()
            for name, task in self._tasks.items():
                if not self._jobs[name].graceful:
                    task.cancel()
            try:
                await group
            except asyncio.CancelledError:
                # Cancelled while waiting: stop the graceful jobs too, and still wait.
                group.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await group
                raise

    async def _run_all(self) -> None:
        # A job never raises out of _keep (crashes are caught there), so the group ends only
        # when every job has ended or been cancelled.
        async with asyncio.TaskGroup() as group:
            for job in self._jobs.values():
                job.running = True  # from now on; /health may ask before the task first runs
                self._tasks[job.name] = group.create_task(self._keep(job), name=job.name)

    async def _keep(self, job: Job) -> None:
        backoff = self._first_backoff
        while True:
            job.running = True
            try:
                await job.work()
            except Exception as exc:  # a crash of any kind is reported here
                job.running = False
                job.crashes += 1
                job.last_error = f"{type(exc).__name__}: {exc}"
                if not job.restart or self.stopping.is_set():
                    log.error("background job %r crashed; not restarted", job.name, exc_info=True)
                    return
                log.error(
                    "background job %r crashed (%d so far); restarting in %.1f s",
                    job.name,
                    job.crashes,
                    backoff,
                    exc_info=job.crashes == 1,  # the traceback once; later crashes one line
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            job.running = False
            job.finished = True
            return
