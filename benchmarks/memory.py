"""Memory per monitored service at 10,000 services over an hour of simulated time.

A manual clock moves in 10 s steps; a prober that answers at once keeps the real monitor
path (tasks, semaphore, timeouts, state machine, history rollups flushed every minute).
Resident memory is read after a full collection, before the services and at 10, 30 and 60
simulated minutes.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import NullHistory, rss_bytes, write_section
from ose_mesh.core import EventHub, HeartbeatMonitor, HistoryRecorder, ManualClock, ProbeOutcome
from ose_mesh.domain import CheckConfig, CheckType, Service

SERVICES = 10_000
STEP = 10.0


class InstantProber:
    def __init__(self) -> None:
        self._rng = random.Random(1)

    async def probe(self, service: Service) -> ProbeOutcome:
        # 2% failures so statuses move and transitions are recorded too.
        ok = self._rng.random() > 0.02
        return ProbeOutcome(ok, self._rng.uniform(1, 50), None if ok else "HTTP 503")


@dataclass
class MemoryResult:
    services: int
    per_service_bytes: dict[int, float]  # simulated minute -> bytes per service


async def measure() -> MemoryResult:
    clock = ManualClock()
    history = HistoryRecorder(clock, NullHistory())
    monitor = HeartbeatMonitor(clock, InstantProber(), EventHub(), history)
    baseline = rss_bytes()
    for i in range(SERVICES):
        check = CheckConfig(
            check_type=CheckType.HTTP,
            health_url=f"http://10.0.{i // 250}.{i % 250}:8080/health",
            interval_seconds=STEP,
            timeout_seconds=3 * STEP,
        )
        monitor.watch(Service(f"service-{i}", f"Service {i}", check), spread=True)
    readings: dict[int, float] = {}
    for step in range(1, 361):
        clock.advance(STEP)
        monitor.run_due()
        await monitor.wait_for_probes()
        if step % 6 == 0:
            await history.flush()
        minute = step * int(STEP) // 60
        if step % 6 == 0 and minute in (10, 30, 60):
            readings[minute] = (rss_bytes() - baseline) / SERVICES
    return MemoryResult(SERVICES, readings)


def run() -> MemoryResult:
    """In a fresh process: memory freed by earlier benchmarks would hide the growth."""
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory"], capture_output=True, text=True, check=True
    ).stdout
    readings = json.loads(output)
    return MemoryResult(SERVICES, {int(minute): value for minute, value in readings.items()})


def section(mem: MemoryResult) -> list[str]:
    """The BENCHMARKS.md section."""
    return [
        "## Memory per monitored service",
        "",
        f"{mem.services:,} HTTP services, 10 s interval, simulated with a manual clock (the real",
        "monitor path, 2% failed probes, rollups flushed every simulated minute). Resident memory",
        "growth over the process before the services were added, divided by the services:",
        "",
        "| simulated time | bytes per service |",
        "| --- | ---: |",
        *(f"| {minute} min | {value:,.0f} |" for minute, value in mem.per_service_bytes.items()),
        "",
        "Target: ≤ 5 KB per service, flat over the hour.",
    ]


if __name__ == "__main__":
    if "--write" in sys.argv:  # measured in a fresh process, as `make bench` does
        lines = section(run())
        print("\n".join(lines))
        write_section(lines, Path(__file__).parents[1] / "BENCHMARKS.md", "benchmarks.memory")
    else:
        print(json.dumps(asyncio.run(measure()).per_service_bytes))
