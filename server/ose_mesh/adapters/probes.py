"""HTTP and TCP probes.

HTTP uses one shared aiohttp session (keep-alive connection pool): in `make bench` it
sustained more probes per second than httpx on one core, see BENCHMARKS.md. 2xx and 3xx are
successes; redirects are not followed (a 3xx already proves the service answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import httpx

from ose_mesh.core import ProbeOutcome
from ose_mesh.domain import CheckType, Service

USER_AGENT = "ose-mesh-probe/1"


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class AiohttpProber:
    def __init__(self, connection_limit: int = 512) -> None:
        self._limit = connection_limit
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, ttl_dns_cache=60)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": USER_AGENT}
            )
        return self._session

    async def probe(self, service: Service) -> ProbeOutcome:
        url = service.check.health_url or ""
        started = time.perf_counter()
        try:
            async with self._client().get(url, allow_redirects=False) as response:
                ok = 200 <= response.status < 400
                return ProbeOutcome(ok, _elapsed_ms(started), f"HTTP {response.status}")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return ProbeOutcome(False, _elapsed_ms(started), _describe(exc))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class HttpxProber:
    """The httpx alternative, kept for the probing benchmark's comparison."""

    def __init__(self, connection_limit: int = 512) -> None:
        limits = httpx.Limits(max_connections=connection_limit)
        self._client = httpx.AsyncClient(limits=limits, headers={"User-Agent": USER_AGENT})

    async def probe(self, service: Service) -> ProbeOutcome:
        started = time.perf_counter()
        try:
            response = await self._client.get(service.check.health_url or "")
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return ProbeOutcome(False, _elapsed_ms(started), _describe(exc))
        ok = 200 <= response.status_code < 400
        return ProbeOutcome(ok, _elapsed_ms(started), f"HTTP {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


async def probe_tcp(service: Service) -> ProbeOutcome:
    started = time.perf_counter()
    try:
        _, writer = await asyncio.open_connection(service.check.host, service.check.port)
    except (OSError, ValueError) as exc:
        return ProbeOutcome(False, _elapsed_ms(started), _describe(exc))
    latency = _elapsed_ms(started)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeOutcome(True, latency, "connected")


class NetworkProber:
    """The Prober the server uses: HTTP or TCP according to the service's check type."""

    def __init__(self, http: AiohttpProber | HttpxProber | None = None) -> None:
        self._http = http or AiohttpProber()

    async def probe(self, service: Service) -> ProbeOutcome:
        if service.check.check_type is CheckType.TCP:
            return await probe_tcp(service)
        return await self._http.probe(service)

    async def close(self) -> None:
        await self._http.close()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
