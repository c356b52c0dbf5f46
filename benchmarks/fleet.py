"""The smoothness benchmark's outside world, in one process on its own core.

    python -m benchmarks.fleet targets PORT INTERVAL
        serves `/health/{n}` for a fleet of HTTP services and records, per service, how far
        the gap between two probes strays from INTERVAL, as the target sees it;
        `GET /fleet/stats?reset=1` answers the figures since the last reset.
    python -m benchmarks.fleet beater MESH_URL SERVICES INTERVAL STATS_PORT
        beats for SERVICES push services (`push-N`), each once per INTERVAL on a fixed grid,
        and records each beat's round trip; `GET /fleet/stats?reset=1` on STATS_PORT answers.
    python -m benchmarks.fleet dashboard MESH_URL EVERY STATS_PORT
        does what an open web dashboard does: loads the snapshot of every service (the web
        client's own GraphQL document), once every EVERY seconds, and records how long each
        load took.

Both answer `GET /fleet/stats` with `{"seen": distinct services, "count": samples,
"p50_ms": …, "p99_ms": …, "max_ms": …}`.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from array import array
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

BEAT_CONNECTIONS = 64


class Samples:
    def __init__(self) -> None:
        self.values: array[float] = array("d")
        self.seen: set[int] = set()

    def summary(self, reset: bool) -> dict[str, float]:
        ordered = sorted(self.values)
        answer: dict[str, float] = {"seen": len(self.seen), "count": len(ordered)}
        if ordered:
            answer |= {
                "p50_ms": ordered[len(ordered) // 2] * 1000,
                "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
                "max_ms": ordered[-1] * 1000,
            }
        if reset:
            self.values = array("d")
        return answer


def _stats_route(samples: Samples) -> web.RouteDef:
    async def stats(request: web.Request) -> web.Response:
        return web.json_response(samples.summary("reset" in request.query))

    return web.get("/fleet/stats", stats)


def targets(port: int, interval: float) -> None:
    samples = Samples()
    last_seen: dict[int, float] = {}

    async def health(request: web.Request) -> web.Response:
        now = time.monotonic()
        n = int(request.match_info["n"])
        previous = last_seen.get(n)
        last_seen[n] = now
        samples.seen.add(n)
        if previous is not None:
            samples.values.append(abs(now - previous - interval))
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.get("/health/{n}", health), _stats_route(samples)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def _beat_forever(mesh: str, services: int, interval: float, samples: Samples) -> None:
    """Service n beats at n * interval / services past each multiple of `interval`."""
    connector = TCPConnector(limit=BEAT_CONNECTIONS)
    async with ClientSession(mesh, connector=connector, timeout=ClientTimeout(30)) as client:
        gate = asyncio.Semaphore(BEAT_CONNECTIONS)

        async def beat(n: int) -> None:
            async with gate:
                started = time.monotonic()
                async with client.post(f"/api/v1/heartbeat/push-{n}/beat", json={}) as answer:
                    await answer.read()
                    if answer.status >= 300:
                        raise RuntimeError(f"beat refused: {answer.status}")
                samples.values.append(time.monotonic() - started)
                samples.seen.add(n)

        tasks: set[asyncio.Task[None]] = set()
        start, step, n = time.monotonic(), interval / services, 0
        while True:
            due = start + n * step
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            now = time.monotonic()
            while start + n * step <= now:  # every beat due by now, on the grid
                task = asyncio.create_task(beat(n % services))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1


def _dashboard_document() -> str:
    """The web client's `Services` query, with its fields, read from web/src/lib/documents.js."""
    source = (Path(__file__).parents[1] / "web/src/lib/documents.js").read_text()
    fields = re.search(r"const SERVICE_FIELDS = `(.*?)`;", source, re.S)
    assert fields, "SERVICE_FIELDS not found in documents.js"
    return f"query Services($limit: Int!) {{ services(limit: $limit) {{ {fields.group(1)} }} }}"


async def _load_forever(mesh: str, every: float, samples: Samples) -> None:
    body = {"query": _dashboard_document(), "variables": {"limit": 10_000}}
    async with ClientSession(mesh, timeout=ClientTimeout(120)) as client:
        while True:
            started = time.monotonic()
            async with client.post("/graphql", json=body) as answer:
                await answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"the dashboard's snapshot failed: {answer.status}")
            samples.values.append(time.monotonic() - started)
            samples.seen.add(len(samples.values))
            await asyncio.sleep(every)


def _serve_stats(port: int, samples: Samples, work: Coroutine[Any, Any, None]) -> None:
    """Run `work` in the background while answering `/fleet/stats` on `port`."""
    app = web.Application()
    app.add_routes([_stats_route(samples)])

    async def start(app: web.Application) -> None:
        app["work"] = asyncio.create_task(work)

    app.on_startup.append(start)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    match sys.argv[1:]:
        case ["targets", port, interval]:
            targets(int(port), float(interval))
        case ["beater", mesh, services, interval, port]:
            samples = Samples()
            beats = _beat_forever(mesh, int(services), float(interval), samples)
            _serve_stats(int(port), samples, beats)
        case ["dashboard", mesh, every, port]:
            samples = Samples()
            _serve_stats(int(port), samples, _load_forever(mesh, float(every), samples))
        case _:
            raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
