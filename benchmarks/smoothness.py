"""Smoothness at 10,000 services, measured from outside the server.

`ose-mesh serve` runs as users run it (SQLite, no access log), pinned to CPU 0, with 10,000
services restored from its database. Everything else shares CPU 1: the fleet (10,000 HTTP
health endpoints, or a beater pushing for 10,000 push services) and a poller asking
`/health` every 50 ms. Over the window we record:
- `/health` round trips (p50, p99, max);
- HTTP: how far the gap between two probes of one service strays from the interval, as the
  target sees it, and the latencies the mesh recorded (its own histogram, from /metrics);
- push: each beat's round trip;
- with a dashboard open: the push run again while a client loads what the web dashboard
  loads (every service with its metrics) every DASHBOARD_EVERY seconds.
A line in the output says STALL when a figure is over its target.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.common import (
    free_port,
    init_database,
    median,
    percentile,
    pin_to_cpu,
    python,
    spawn,
    stop,
)

SERVICES = 10_000
INTERVAL = 5.0
POLL_EVERY = 0.05
DASHBOARD_EVERY = 20.0  # what the web client does at this size: 20 times its load time
TARGETS = {
    "health_p99_ms": 50.0,
    "health_max_ms": 200.0,
    "arrival_p99_ms": 100.0,
    "recorded_p99_ms": 20.0,
    "beat_p99_ms": 50.0,
}


@dataclass
class SmoothnessResult:
    mode: str  # "http" or "push"
    seconds: float
    health_ms: tuple[float, float, float]  # p50, p99, max
    polls: int
    fleet: dict[str, float]  # the target's arrival deviations, or the beater's round trips
    fleet_per_second: float
    recorded_p99_ms: float | None  # http only: from the mesh's latency histogram
    dashboard: dict[str, float] | None = None  # the dashboard's load times, when one was open

    @property
    def name(self) -> str:
        return f"{self.mode} + dashboard" if self.dashboard is not None else self.mode

    def stalls(self) -> list[str]:
        """Every figure over its target, in words."""
        found = []
        _, p99, worst = self.health_ms
        if p99 > TARGETS["health_p99_ms"]:
            found.append(f"/health p99 {p99:.1f} ms > {TARGETS['health_p99_ms']:g} ms")
        if worst > TARGETS["health_max_ms"]:
            found.append(f"/health max {worst:.1f} ms > {TARGETS['health_max_ms']:g} ms")
        fleet_p99 = self.fleet.get("p99_ms", float("inf"))
        key = "arrival_p99_ms" if self.mode == "http" else "beat_p99_ms"
        if fleet_p99 > TARGETS[key]:
            found.append(f"{key.removesuffix('_ms')} {fleet_p99:.1f} ms > {TARGETS[key]:g} ms")
        if self.recorded_p99_ms is not None and self.recorded_p99_ms > TARGETS["recorded_p99_ms"]:
            found.append(
                f"recorded latency p99 {self.recorded_p99_ms:.1f} ms"
                f" > {TARGETS['recorded_p99_ms']:g} ms"
            )
        return found


def _catalog(mode: str, target: str) -> dict[str, object]:
    """SERVICES services in a tree of dependencies (each on its tenth), as people have."""
    prefix = "http" if mode == "http" else "push"
    services = []
    for n in range(SERVICES):
        check: dict[str, object] = {"interval_seconds": INTERVAL, "timeout_seconds": 3 * INTERVAL}
        if mode == "http":
            check |= {"type": "http", "url": f"{target}/health/{n}"}
        else:
            check |= {"type": "push"}
        services.append({"id": f"{prefix}-{n}", "cluster": f"c{n % 20}", "check": check})
    dependencies = [
        {"source": f"{prefix}-{n}", "target": f"{prefix}-{(n - 1) // 10}"}
        for n in range(1, SERVICES)
    ]
    return {"services": services, "dependencies": dependencies}


def _serve(port: int, database: str) -> subprocess.Popen[bytes]:
    args = [python(), "-m", "ose_mesh.cli", "serve", "--port", str(port), "--no-access-log"]
    return spawn([*args, "--database-url", database, "--log-level", "warning"], cpu=0)


def _get_json(url: str) -> dict[str, float]:
    answer: dict[str, float] = httpx.get(url, timeout=30).json()
    return answer


def _wait(predicate: str, check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{predicate} did not happen within {seconds:g} s")


def _latency_histogram(mesh: str) -> dict[float, float]:
    """The mesh's heartbeat latency histogram: cumulative count per upper bound (seconds)."""
    text = httpx.get(f"{mesh}/metrics", timeout=30).text
    for family in text_string_to_metric_families(text):
        if family.name == "ose_heartbeat_latency_seconds":
            return {
                float(sample.labels["le"]): sample.value
                for sample in family.samples
                if sample.name.endswith("_bucket")
            }
    raise RuntimeError("no latency histogram in /metrics")


def _histogram_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """Prometheus' histogram_quantile over the counts added between two scrapes (ms)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower * 1000
            inside = cumulative - below
            return (lower + (bound - lower) * (rank - below) / max(inside, 1)) * 1000
        lower, below = bound, cumulative
    return lower * 1000


def _poll_health(host: str, port: int, seconds: float) -> list[float]:
    """Round trips of `GET /health` every POLL_EVERY seconds on one kept-alive connection."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    latencies: list[float] = []
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < seconds:
        began = time.perf_counter()
        connection.request("GET", "/health")
        answer = connection.getresponse()
        answer.read()
        latencies.append((time.perf_counter() - began) * 1000)
        if answer.status != 200:
            raise RuntimeError(f"/health answered {answer.status}")
        tick += 1
        time.sleep(max(0.0, start + tick * POLL_EVERY - time.monotonic()))
    connection.close()
    return latencies


def measure(mode: str, seconds: float, *, dashboard: bool = False) -> SmoothnessResult:
    fleet_port, mesh_port, dashboard_port = free_port(), free_port(), free_port()
    mesh = f"http://127.0.0.1:{mesh_port}"
    fleet = f"http://127.0.0.1:{fleet_port}"
    with tempfile.TemporaryDirectory() as workdir:
        database = init_database(_catalog(mode, fleet), Path(workdir), mode)
        children = []
        try:
            if mode == "http":
                args = ["targets", str(fleet_port), str(INTERVAL)]
                children.append(spawn([python(), "-m", "benchmarks.fleet", *args], cpu=1))
            children.append(_serve(mesh_port, database))
            _wait("the mesh's /health 200", lambda: httpx.get(f"{mesh}/health").is_success, 60)
            if mode == "push":
                args = ["beater", mesh, str(SERVICES), str(INTERVAL), str(fleet_port)]
                children.append(spawn([python(), "-m", "benchmarks.fleet", *args], cpu=1))
            _wait(
                "every service seen by the fleet",
                lambda: _get_json(f"{fleet}/fleet/stats")["seen"] >= SERVICES,
                60,
            )
            if dashboard:
                args = ["dashboard", mesh, str(DASHBOARD_EVERY), str(dashboard_port)]
                children.append(spawn([python(), "-m", "benchmarks.fleet", *args], cpu=1))
            time.sleep(2 * INTERVAL)  # every service has a gap behind it; start-up is over
            _get_json(f"{fleet}/fleet/stats?reset=1")
            if dashboard:
                _get_json(f"http://127.0.0.1:{dashboard_port}/fleet/stats?reset=1")
            histogram = _latency_histogram(mesh) if mode == "http" else {}
            health = _poll_health("127.0.0.1", mesh_port, seconds)
            figures = _get_json(f"{fleet}/fleet/stats?reset=1")
            loads = (
                _get_json(f"http://127.0.0.1:{dashboard_port}/fleet/stats?reset=1")
                if dashboard
                else None
            )
            recorded = (
                _histogram_quantile(histogram, _latency_histogram(mesh), 0.99)
                if mode == "http"
                else None
            )
        finally:
            for child in children:
                stop(child)
    return SmoothnessResult(
        mode=mode,
        seconds=seconds,
        health_ms=(median(health), percentile(health, 0.99), max(health)),
        polls=len(health),
        fleet=figures,
        fleet_per_second=figures["count"] / seconds,
        recorded_p99_ms=recorded,
        dashboard=loads,
    )


def run(seconds: float = 60) -> list[SmoothnessResult]:
    """Both modes; this process shares CPU 1 with the fleet (the server has CPU 0)."""
    pin_to_cpu(1)
    try:
        return [
            measure("http", seconds),
            measure("push", seconds),
            measure("push", seconds, dashboard=True),
        ]
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def report(result: SmoothnessResult) -> str:
    p50, p99, worst = result.health_ms
    fleet = result.fleet
    what = "probe arrival deviation" if result.mode == "http" else "beat round trip"
    text = (
        f"{result.name}: /health p50 {p50:.1f} p99 {p99:.1f} max {worst:.1f} ms "
        f"({result.polls} polls); {what} p50 {fleet.get('p50_ms', 0):.1f} "
        f"p99 {fleet.get('p99_ms', 0):.1f} max {fleet.get('max_ms', 0):.1f} ms "
        f"at {result.fleet_per_second:,.0f}/s"
    )
    if result.recorded_p99_ms is not None:
        text += f"; recorded latency p99 {result.recorded_p99_ms:.1f} ms"
    if result.dashboard is not None:
        text += (
            f"; {result.dashboard['count']:.0f} dashboard loads, "
            f"{result.dashboard.get('p50_ms', 0):,.0f} ms each (median)"
        )
    stalls = result.stalls()
    return text + ("\nSTALL: " + "; ".join(stalls) if stalls else "\nsmooth: every target met")


if __name__ == "__main__":
    import sys

    # python -m benchmarks.smoothness [http|push|push+dashboard] [SECONDS]
    chosen = sys.argv[1:2] or ["http", "push", "push+dashboard"]
    mode_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    pin_to_cpu(1)
    for mode in chosen:
        base, _, extra = mode.partition("+")
        print(report(measure(base, mode_seconds, dashboard=extra == "dashboard")), flush=True)
