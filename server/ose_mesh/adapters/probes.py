"""HTTP and TCP probes.

HTTP uses one shared aiohttp session (keep-alive connection pool): in `make bench` it
sustained more probes per second than httpx on one core, see BENCHMARKS.md. 2xx and 3xx are
successes; redirects are not followed (a 3xx already proves the service answers, and a
redirect must not lead the prober elsewhere); the body is never read, and at most 4 KB of
it is buffered before the connection is dropped.

A network policy keeps probes away from addresses they must not reach: link-local and
unspecified ones always, loopback and private ones when the server listens beyond loopback
(unless allowed), plus any networks an operator denies, or everything outside the networks
they allow. It is applied to the very address each connection is about to use, after DNS,
for HTTP and TCP alike, so neither a name nor another spelling of an address gets past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import httpx
from aiohappyeyeballs import AddrInfoType

from ose_mesh.core import ProbeOutcome
from ose_mesh.domain import CheckType, Service
from ose_mesh.domain.addresses import IPAddress, carried, never_probed, parse_address

USER_AGENT = "ose-mesh-probe/1"
READ_BUFFER_BYTES = 4096  # the status line and headers are all a probe needs
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProbeRefused(OSError):
    """The probe's target is outside what the network policy allows."""


@dataclass(frozen=True)
class NetworkPolicy:
    """Where probes may connect. Judged on every address a connection is about to use (after
    DNS), and on every IPv4 address an IPv6 address carries (domain/addresses.py)."""

    deny: tuple[Network, ...] = ()
    allow: tuple[Network, ...] = ()  # empty: every address not denied
    # A server reachable from the network must not be a port scanner of its own host and
    # private networks: loopback and non-global addresses only when `allow` names them.
    local_denied: bool = False

    @classmethod
    def from_lists(
        cls, deny: Sequence[str], allow: Sequence[str], *, local_denied: bool = False
    ) -> NetworkPolicy:
        """Networks as CIDR strings (link-local and unspecified ones are always refused)."""
        return cls(
            tuple(ipaddress.ip_network(n.strip(), strict=False) for n in deny if n.strip()),
            tuple(ipaddress.ip_network(n.strip(), strict=False) for n in allow if n.strip()),
            local_denied,
        )

    def refusal(self, address: IPAddress) -> str | None:
        """Why a probe may not connect to `address`, or None when it may."""
        if (reason := never_probed(address)) is not None:
            return reason
        addresses = carried(address)
        if any(each in network for each in addresses for network in self.deny):
            return f"{address} is in a network OSE_MESH_PROBE_DENY refuses"
        if self.allow:
            if not any(each in network for each in addresses for network in self.allow):
                return f"{address} is outside the networks OSE_MESH_PROBE_ALLOW names"
        elif self.local_denied and any(not each.is_global for each in addresses):
            return (
                f"{address} is a loopback or private address; this server listens beyond"
                " loopback, so name such networks in OSE_MESH_PROBE_ALLOW to probe them"
            )
        return None

    def permits(self, address: str) -> bool:
        parsed = parse_address(address)
        return parsed is not None and self.refusal(parsed) is None

    def check(self, address: str) -> None:
        """Raise ProbeRefused unless a probe may connect to `address` (an IP address)."""
        parsed = parse_address(address)
        if parsed is None:
            raise ProbeRefused(f"{address!r} is not an IP address")
        if (reason := self.refusal(parsed)) is not None:
            raise ProbeRefused(f"not probed: {reason}")

    def socket_for(self, addr_info: AddrInfoType) -> socket.socket:
        """aiohttp's socket factory: the last look at the address a probe connects to."""
        family, type_, proto, _, sockaddr = addr_info
        self.check(str(sockaddr[0]))
        return socket.socket(family=family, type=type_, proto=proto)


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
            self._policy.check(found[0]["host"])  # says why
            raise ProbeRefused(
                f"not probed: {host} resolves only to addresses probes may not reach"
            )
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class AiohttpProber:
    def __init__(
        self,
        connection_limit: int = 512,
        policy: NetworkPolicy | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._limit = connection_limit
        self._policy = policy or NetworkPolicy()
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                ttl_dns_cache=60,
                resolver=PolicyResolver(self._policy),  # names: says which address was refused
                socket_factory=self._policy.socket_for,  # every address, literal or resolved
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self._user_agent},
                read_bufsize=READ_BUFFER_BYTES,  # how much of a body is read ahead, unasked
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
            return ProbeOutcome(False, _elapsed_ms(started), _describe(exc), answered=False)

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
            return ProbeOutcome(False, _elapsed_ms(started), _describe(exc), answered=False)
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
        _, writer = await _connect_any(found, policy)
    except (OSError, ValueError) as exc:
        return ProbeOutcome(False, _elapsed_ms(started), _describe(exc), answered=False)
    latency = _elapsed_ms(started)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeOutcome(True, latency, "connected")


async def _connect_any(
    found: Sequence[AddrInfoType], policy: NetworkPolicy
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the first address that answers, checking each just before connecting."""
    error: OSError | None = None
    for family, type_, proto, _, sockaddr in found:
        try:
            policy.check(str(sockaddr[0]))
            sock = socket.socket(family, type_, proto)
            sock.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(sock, sockaddr)
            except BaseException:
                sock.close()
                raise
            return await asyncio.open_connection(sock=sock)
        except OSError as exc:
            error = exc
    raise error or OSError("the name resolved to no address")


class NetworkProber:
    """The Prober the server uses: HTTP or TCP according to the service's check type."""

    def __init__(
        self,
        http: AiohttpProber | HttpxProber | None = None,
        policy: NetworkPolicy | None = None,
        *,
        replica_id: str | None = None,
    ) -> None:
        """`replica_id` (cluster mode) goes into the User-Agent: a probed service's logs
        say which replica asked."""
        self._policy = policy or NetworkPolicy()
        agent = f"{USER_AGENT} (replica {replica_id})" if replica_id else USER_AGENT
        self._http = http or AiohttpProber(policy=self._policy, user_agent=agent)

    async def probe(self, service: Service) -> ProbeOutcome:
        if service.check.check_type is CheckType.TCP:
            return await probe_tcp(service, self._policy)
        return await self._http.probe(service)

    async def close(self) -> None:
        await self._http.close()


def _describe(exc: BaseException) -> str:
    """What happened, in plain words ("connection refused"), not a library's message."""
    cause = getattr(exc, "os_error", None) or exc.__cause__ or exc  # what aiohttp wrapped
    if isinstance(cause, ProbeRefused):
        text = str(cause)
    elif isinstance(cause, socket.gaierror) or isinstance(exc, aiohttp.ClientConnectorDNSError):
        text = f"cannot resolve the host name ({getattr(cause, 'strerror', None) or cause})"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        text = "the connection was closed before an answer"
    elif isinstance(exc, aiohttp.ClientSSLError):
        text = f"TLS failed: {getattr(exc, 'os_error', exc)}"
    elif isinstance(cause, OSError) and cause.errno:
        text = os.strerror(cause.errno).lower()
    else:
        text = str(exc) or type(exc).__name__
    return text[:300]
