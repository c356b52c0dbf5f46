"""HTTP and TCP probes.

HTTP uses one shared aiohttp session (keep-alive connection pool): in `make bench` it
sustained more probes per second than httpx on one core, see BENCHMARKS.md. 2xx and 3xx are
successes; redirects are not followed (a 3xx already proves the service answers, and a
redirect must not lead the prober elsewhere); the body is never read, and at most 4 KB of
it is buffered before the connection is dropped.

A network policy keeps probes away from addresses they must not reach: link-local ones
(169.254.0.0/16, where clouds serve instance credentials, and fe80::/10) by default, plus any
networks an operator denies, or everything outside the networks they allow. It is applied to
the addresses a name resolves to, not only to the name, so DNS cannot smuggle a probe there.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import httpx

from ose_mesh.core import ProbeOutcome
from ose_mesh.domain import CheckType, Service

USER_AGENT = "ose-mesh-probe/1"
READ_BUFFER_BYTES = 4096  # the status line and headers are all a probe needs
LINK_LOCAL = ("169.254.0.0/16", "fe80::/10")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProbeRefused(OSError):
    """The probe's target is outside what the network policy allows."""


@dataclass(frozen=True)
class NetworkPolicy:
    deny: tuple[Network, ...] = field(
        default_factory=lambda: tuple(ipaddress.ip_network(n) for n in LINK_LOCAL)
    )
    allow: tuple[Network, ...] = ()  # empty: every address not denied

    @classmethod
    def from_lists(cls, deny: Sequence[str], allow: Sequence[str]) -> NetworkPolicy:
        """Networks as CIDR strings; the link-local ones are always denied."""
        networks = [*LINK_LOCAL, *(n.strip() for n in deny if n.strip())]
        return cls(
            tuple(ipaddress.ip_network(n, strict=False) for n in networks),
            tuple(ipaddress.ip_network(n.strip(), strict=False) for n in allow if n.strip()),
        )

    def permits(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
        if any(ip in network for network in self.deny):
            return False
        return not self.allow or any(ip in network for network in self.allow)

    def check_literal(self, host: str) -> None:
        """Refuse a host given as an address outside the policy (names: PolicyResolver)."""
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return
        if not self.permits(host.strip("[]")):
            raise ProbeRefused(f"{host} is not an address probes may reach")


class PolicyResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, keeping only the addresses the policy permits."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self._policy = policy
        self._resolver = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        allowed = [entry for entry in found if self._policy.permits(entry["host"])]
        if not allowed:
            raise ProbeRefused(f"{host} resolves only to addresses probes may not reach")
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class AiohttpProber:
    def __init__(self, connection_limit: int = 512, policy: NetworkPolicy | None = None) -> None:
        self._limit = connection_limit
        self._policy = policy or NetworkPolicy()
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit, ttl_dns_cache=60, resolver=PolicyResolver(self._policy)
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT},
                read_bufsize=READ_BUFFER_BYTES,  # how much of a body is read ahead, unasked
            )
        return self._session

    async def probe(self, service: Service) -> ProbeOutcome:
        url = service.check.health_url or ""
        started = time.perf_counter()
        try:
            self._policy.check_literal(urlsplit(url).hostname or "")
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


async def probe_tcp(service: Service, policy: NetworkPolicy | None = None) -> ProbeOutcome:
    """Connect to host:port, trying each address the policy permits."""
    policy = policy or NetworkPolicy()
    started = time.perf_counter()
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            service.check.host, service.check.port, type=socket.SOCK_STREAM
        )
        addresses = [str(entry[4][0]) for entry in found if policy.permits(str(entry[4][0]))]
        if not addresses:
            raise ProbeRefused(f"{service.check.host} is not an address probes may reach")
        _, writer = await _connect_any(addresses, service.check.port or 0)
    except (OSError, ValueError) as exc:
        return ProbeOutcome(False, _elapsed_ms(started), _describe(exc))
    latency = _elapsed_ms(started)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeOutcome(True, latency, "connected")


async def _connect_any(
    addresses: list[str], port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    error: OSError | None = None
    for address in addresses:
        try:
            return await asyncio.open_connection(address, port)
        except OSError as exc:
            error = exc
    assert error is not None
    raise error


class NetworkProber:
    """The Prober the server uses: HTTP or TCP according to the service's check type."""

    def __init__(
        self, http: AiohttpProber | HttpxProber | None = None, policy: NetworkPolicy | None = None
    ) -> None:
        self._policy = policy or NetworkPolicy()
        self._http = http or AiohttpProber(policy=self._policy)

    async def probe(self, service: Service) -> ProbeOutcome:
        if service.check.check_type is CheckType.TCP:
            return await probe_tcp(service, self._policy)
        return await self._http.probe(service)

    async def close(self) -> None:
        await self._http.close()


def _describe(exc: BaseException) -> str:
    cause = getattr(exc, "os_error", None) or exc.__cause__  # what aiohttp wrapped
    if isinstance(cause, ProbeRefused):
        exc = cause
    text = str(exc) or type(exc).__name__
    return text[:300]
