"""HTTP, TCP and gRPC probes.

HTTP uses one shared aiohttp session (keep-alive connection pool): in `make bench` it
sustained more probes per second than httpx on one core, see BENCHMARKS.md. 2xx and 3xx are
successes unless the service has assertions (domain/assertions.py); redirects are not
followed (a 3xx already proves the service answers, and a redirect must not lead the prober
elsewhere). The body is read only for a body assertion, and never more than 64 KB of it;
otherwise at most 4 KB is buffered before the connection is dropped. The latency is the
time to the answer's headers, with or without assertions.

Every connection goes only where the network policy allows (adapters/network.py). An
https or gRPC-over-TLS check also reports when the server's certificate expires
(adapters/tls.py); whether that is a warning is the monitor's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import httpx

from ose_mesh.adapters.grpc_probe import GrpcProber
from ose_mesh.adapters.network import (
    NetworkPolicy,
    PolicyResolver,
    ProbeRefused,
    connect_any,
    describe,
    elapsed_ms,
)
from ose_mesh.adapters.tls import CertificateReader, probe_ssl_context, root_certificates
from ose_mesh.core import ProbeOutcome
from ose_mesh.domain import CheckType, Service
from ose_mesh.domain.assertions import MAX_BODY_BYTES

__all__ = ["AiohttpProber", "HttpxProber", "NetworkPolicy", "NetworkProber", "ProbeRefused"]

USER_AGENT = "ose-mesh-probe/1"
READ_BUFFER_BYTES = 4096  # the status line and headers are all a probe needs


class AiohttpProber:
    def __init__(
        self,
        connection_limit: int = 512,
        policy: NetworkPolicy | None = None,
        user_agent: str = USER_AGENT,
        *,
        tls: ssl.SSLContext | None = None,
        certificates: CertificateReader | None = None,
    ) -> None:
        self._limit = connection_limit
        self._policy = policy or NetworkPolicy()
        self._user_agent = user_agent
        self._tls = tls or probe_ssl_context()
        self._certificates = certificates
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                ttl_dns_cache=60,
                resolver=PolicyResolver(self._policy),  # names: says which address was refused
                socket_factory=self._policy.socket_for,  # every address, literal or resolved
                ssl=self._tls,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self._user_agent},
                read_bufsize=READ_BUFFER_BYTES,  # how much of a body is read ahead, unasked
            )
        return self._session

    async def probe(self, service: Service) -> ProbeOutcome:
        check = service.check
        url = check.health_url or ""
        started = time.perf_counter()
        try:
            async with self._client().get(url, allow_redirects=False) as response:
                latency = elapsed_ms(started)
                message = f"HTTP {response.status}"
                if check.assertions is None:
                    ok = 200 <= response.status < 400
                else:
                    body = await _bounded_body(response) if check.assertions.reads_body else b""
                    failure = check.assertions.failure(response.status, body, latency)
                    ok, message = failure is None, failure or message
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return ProbeOutcome(False, elapsed_ms(started), describe(exc), answered=False)
        return ProbeOutcome(ok, latency, message, cert_not_after=await self._expiry(service))

    async def _expiry(self, service: Service) -> float | None:
        parts = urlsplit(service.check.health_url or "")
        if (
            self._certificates is None
            or parts.scheme != "https"
            or not parts.hostname
            or service.check.cert_expiry_days == 0
        ):
            return None
        port = parts.port or 443
        timeout = service.check.probe_timeout_seconds
        return await self._certificates.not_after(parts.hostname, port, timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def _bounded_body(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, or None when it is longer than an assertion reads."""
    body = bytearray()
    while len(body) <= MAX_BODY_BYTES:
        chunk = await response.content.read(MAX_BODY_BYTES + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    return None


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
            return ProbeOutcome(False, elapsed_ms(started), describe(exc), answered=False)
        ok = 200 <= response.status_code < 400
        return ProbeOutcome(ok, elapsed_ms(started), f"HTTP {response.status_code}")

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
        _, writer = await connect_any(found, policy)
    except (OSError, ValueError) as exc:
        return ProbeOutcome(False, elapsed_ms(started), describe(exc), answered=False)
    latency = elapsed_ms(started)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeOutcome(True, latency, "connected")


class NetworkProber:
    """The Prober the server uses: HTTP, TCP or gRPC according to the service's check type."""

    def __init__(
        self,
        http: AiohttpProber | HttpxProber | None = None,
        policy: NetworkPolicy | None = None,
        *,
        replica_id: str | None = None,
        ca_file: Path | None = None,
    ) -> None:
        """`replica_id` (cluster mode) goes into the User-Agent: a probed service's logs
        say which replica asked. `ca_file`: certificate authorities trusted besides the
        system's (OSE_MESH_PROBE_CA_FILE)."""
        self._policy = policy or NetworkPolicy()
        agent = f"{USER_AGENT} (replica {replica_id})" if replica_id else USER_AGENT
        tls = probe_ssl_context(ca_file)
        certificates = CertificateReader(self._policy, tls)
        self._http = http or AiohttpProber(
            policy=self._policy, user_agent=agent, tls=tls, certificates=certificates
        )
        self._grpc = GrpcProber(self._policy, root_certificates(ca_file), certificates, agent)

    async def probe(self, service: Service) -> ProbeOutcome:
        match service.check.check_type:
            case CheckType.TCP:
                return await probe_tcp(service, self._policy)
            case CheckType.GRPC:
                return await self._grpc.probe(service)
            case _:
                return await self._http.probe(service)

    async def close(self) -> None:
        await self._http.close()
