"""The supervisor: a crashed job is reported, restarted with backoff, and seen as down."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ose_mesh.core.supervisor import Supervisor
from tests.eventually import eventually


async def test_a_crashed_job_is_logged_once_restarted_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise RuntimeError(f"crash {runs}")
        await asyncio.Event().wait()  # then runs for good

    jobs = Supervisor(first_backoff=0.001)
    jobs.add("flaky", flaky)
    with caplog.at_level(logging.ERROR, logger="ose_mesh.core.supervisor"):
        async with jobs.running():
            await eventually(lambda: runs == 4)
            [job] = jobs.jobs()
            assert job.running
            assert job.crashes == 3
            assert job.last_error == "RuntimeError: crash 3"
            assert jobs.down() == []
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1  # the first crash with its traceback, later ones in one line
    assert len(caplog.records) == 3


async def test_a_vital_job_that_cannot_restart_stays_down() -> None:
    async def broken() -> None:
        raise ValueError("no")

    async def fine() -> None:
        await asyncio.Event().wait()

    jobs = Supervisor()
    jobs.add("broken", broken, restart=False)
    jobs.add("optional", broken, vital=False, restart=False)
    jobs.add("fine", fine)
    async with jobs.running():
        await eventually(lambda: all(j.crashes for j in jobs.jobs() if j.name != "fine"))
        assert jobs.down() == ["broken"]  # the optional job is down too, but not vital


async def test_on_shutdown_graceful_jobs_finish_and_the_others_are_cancelled() -> None:
    finished, cancelled = [], []

    async def graceful() -> None:
        await jobs.stopping.wait()
        await asyncio.sleep(0.01)  # a last piece of work, never cut
        finished.append("graceful")

    async def other() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("other")
            raise

    jobs = Supervisor()
    jobs.add("graceful", graceful, graceful=True)
    jobs.add("other", other)
    async with jobs.running():
        await asyncio.sleep(0)
    assert finished == ["graceful"]
    assert cancelled == ["other"]


def test_two_jobs_cannot_share_a_name() -> None:
    jobs = Supervisor()
    jobs.add("monitor", asyncio.sleep)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="monitor"):
        jobs.add("monitor", asyncio.sleep)  # type: ignore[arg-type]
