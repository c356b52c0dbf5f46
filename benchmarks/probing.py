"""Active probing: sustained probes/s on one core, schedule drift, and cold start.

The monitor runs in this process, pinned to CPU 0; the health endpoints are served by a
separate aiohttp process pinned to CPU 1.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from dataclasses import dataclass

from benchmarks.common import NullHistory, free_port, percentile, python, spawn, stop, wait_http
from ose_mesh.adapters.probes import AiohttpProber, HttpxProber, NetworkProber
from ose_mesh.core import EventHub, HeartbeatMonitor, HistoryRecorder, SystemClock
from ose_mesh.domain import CheckConfig, CheckType, Service


@dataclass
class ProbingResult:
    client: str
    services: int
    interval: float
    offered_per_second: float
    probes_per_second: float
    failed: int
    drift_p50_ms: float
    drift_p99_ms: float
    cold_start_seconds: float


CONCURRENCY = 256  # probes in flight at most, and connections in each client's pool


def _monitor(client: str) -> tuple[HeartbeatMonitor, NetworkProber]:
    clock = SystemClock()
    http = AiohttpProber(CONCURRENCY) if client == "aiohttp" else HttpxProber(CONCURRENCY)
    prober = NetworkProber(http)
    history = HistoryRecorder(clock, NullHistory())
    monitor = HeartbeatMonitor(
        clock, prober, EventHub(), history, max_concurrent_probes=CONCURRENCY
    )
    return monitor, prober


def _watch_all(monitor: HeartbeatMonitor, base: str, services: int, interval: float) -> None:
    for i in range(services):
        check = CheckConfig(
            check_type=CheckType.HTTP,
            health_url=f"{base}/health/{i}",
            interval_seconds=interval,
            timeout_seconds=interval * 3,
            probe_timeout_seconds=5,
        )
        monitor.watch(Service(f"s{i}", f"s{i}", check), spread=True)


def _probed(monitor: HeartbeatMonitor) -> int:
    return sum(state.heartbeat_count for state in monitor.states())


async def measure(
    client: str, base: str, services: int, interval: float, seconds: float
) -> ProbingResult:
    monitor, prober = _monitor(client)
    _watch_all(monitor, base, services, interval)
    started = time.monotonic()
    runner = asyncio.create_task(monitor.run())
    # Cold start: until every service has been probed once (given up after 3 intervals).
    cold_start = float("inf")
    while time.monotonic() - started < 3 * interval:
        if all(state.heartbeat_count for state in monitor.states()):
            cold_start = time.monotonic() - started
            break
        await asyncio.sleep(0.05)

    drifts: array[float] = array("d")
    monitor.stats.drift_seconds = array("d")
    first_count, failed_before, t0 = _probed(monitor), monitor.stats.probes_failed, time.monotonic()
    while time.monotonic() - t0 < seconds:
        await asyncio.sleep(0.25)
        drifts.extend(monitor.stats.drift_seconds)
        del monitor.stats.drift_seconds[:]
    elapsed = time.monotonic() - t0
    count = _probed(monitor) - first_count
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await prober.close()
    return ProbingResult(
        client=client,
        services=services,
        interval=interval,
        offered_per_second=services / interval,
        probes_per_second=count / elapsed,
        failed=monitor.stats.probes_failed - failed_before,
        drift_p50_ms=percentile(drifts, 0.50) * 1000,
        drift_p99_ms=percentile(drifts, 0.99) * 1000,
        cold_start_seconds=cold_start,
    )


async def run_all(seconds: float = 15) -> list[ProbingResult]:
    port = free_port()
    target = spawn([python(), "-m", "benchmarks.targets", str(port)], cpu=1)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health/0")
        results = []
        for client in ("aiohttp", "httpx"):
            results.append(await measure(client, base, 5000, 2.0, seconds))
        results.append(await measure("aiohttp", base, 8000, 2.0, seconds))  # find the ceiling
        results.append(await measure("aiohttp", base, 10_000, 10.0, 5))
        return results
    finally:
        stop(target)
