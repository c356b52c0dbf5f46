"""Demo mode: simulated health endpoints the server serves itself, and the seeding of the
reference topology that points at them.

Behaviours, on a cycle from the moment the demo starts (checks every 5 s):
- steady: answers 200 in 5-40 ms;
- flapping: fails for 20 s of every 70 s (degraded, then critical, then back);
- slowing: latency climbs past the 300 ms threshold, then resets (degraded while slow);
- failing: healthy for 25 s, then HTTP 500 (critical), then hangs from 45 s (dead about
  30 s after its last success), and recovers after 6 minutes;
- strained: slow (degraded) exactly while the failing one is down, so its root cause shows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ose_mesh.adapters.catalog_files import parse_catalog
from ose_mesh.core.catalog import CatalogImporter
from ose_mesh.domain import CheckType

log = logging.getLogger(__name__)

DEMO_INTERVAL = 5.0
DEMO_TIMEOUT = 30.0
DEMO_PROBE_TIMEOUT = 2.0
SLOW_THRESHOLD_MS = 300.0


def topology_text() -> str:
    return resources.files("ose_mesh.demo").joinpath("topology.json").read_text("utf-8")


def load_topology() -> dict[str, Any]:
    topology: dict[str, Any] = json.loads(topology_text())
    return topology


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    delay_seconds: float


def behave(behaviour: str, elapsed: float, rng: random.Random) -> Answer:
    """What a simulated endpoint answers `elapsed` seconds into the demo."""
    jitter = rng.uniform(0.005, 0.040)
    match behaviour:
        case "flapping":
            failing = 25 <= elapsed % 70 < 45
            return Answer(503 if failing else 200, jitter)
        case "slowing":
            phase = elapsed % 120
            return Answer(200, jitter + min(0.9, max(0.0, phase - 20) * 0.012))
        case "failing":
            if not _failing_down(elapsed):
                return Answer(200, jitter)
            if elapsed % 360 < 45:
                return Answer(500, jitter)
            return Answer(200, DEMO_PROBE_TIMEOUT * 3)  # hangs past the probe timeout
        case "strained":
            slow = 0.35 if _failing_down(elapsed) else 0.0
            return Answer(200, jitter + slow)
        case _:
            return Answer(200, jitter)


def _failing_down(elapsed: float) -> bool:
    phase = elapsed % 360
    return 25 <= phase < 300


class DemoSimulator:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.started = time.monotonic()
        self._rng = random.Random()
        self.behaviours = {
            entry["id"]: entry["demo"]["behaviour"]
            for entry in load_topology()["services"]
            if "demo" in entry
        }

    async def health(self, request: Request) -> JSONResponse:
        service_id = request.path_params["service_id"]
        behaviour = self.behaviours.get(service_id)
        if behaviour is None:
            return JSONResponse({"error": "not_found", "detail": "no such demo service"}, 404)
        answer = behave(behaviour, time.monotonic() - self.started, self._rng)
        await asyncio.sleep(answer.delay_seconds)
        return JSONResponse(
            {"service": service_id, "demo": True, "ok": answer.status < 400},
            status_code=answer.status,
        )

    def routes(self) -> list[Route]:
        return [Route("/demo/{service_id}/health", self.health, methods=["GET"])]

    async def seed_when_listening(self, importer: CatalogImporter) -> None:
        """Wait until the server answers (the lifespan runs before uvicorn listens), then seed."""
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"{self.base_url}/health"):
                        break  # any answer (503 "starting" too): the server listens
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        await self.seed(importer)
        log.info("demo mode: the reference topology is registered")

    async def seed(self, importer: CatalogImporter) -> None:
        """Load the reference topology as a catalog, its simulated services probing the
        endpoints this server serves. The mesh itself keeps its own self-check."""
        catalog, _ = parse_catalog(topology_text(), "topology.json")
        services = [
            replace(
                spec,
                check_type=CheckType.HTTP,
                health_url=f"{self.base_url}/demo/{spec.service_id}/health",
                interval_seconds=DEMO_INTERVAL,
                timeout_seconds=DEMO_TIMEOUT,
                probe_timeout_seconds=DEMO_PROBE_TIMEOUT,
                latency_threshold_ms=SLOW_THRESHOLD_MS,
            )
            for spec in catalog.services
            if spec.service_id in self.behaviours
        ]
        await importer.apply(replace(catalog, services=services), demo=True)
