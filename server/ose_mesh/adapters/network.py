"""Where probes may connect, judged on the very address each connection is about to use.

A network policy keeps probes away from addresses they must not reach: link-local and
unspecified ones always, loopback and private ones when the server listens beyond loopback
(unless allowed), plus any networks an operator denies, or everything outside the networks
they allow. It is applied after DNS, for HTTP, TCP, gRPC and TLS reads alike, so neither a
name nor another spelling of an address gets past it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohappyeyeballs import AddrInfoType

from ose_mesh.domain.addresses import IPAddress, carried, never_probed, parse_address

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


async def connect_any(
    found: Sequence[AddrInfoType],
    policy: NetworkPolicy,
    *,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the first address that answers, checking each just before connecting
    (then TLS on it, when `tls` is given)."""
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
            if tls is None:
                return await asyncio.open_connection(sock=sock)
            return await asyncio.open_connection(
                sock=sock, ssl=tls, server_hostname=server_hostname
            )
        except OSError as exc:
            error = exc
    raise error or OSError("the name resolved to no address")


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a perf_counter reading), as probes report latency."""
    return round((time.perf_counter() - started) * 1000, 3)


async def permitted_address(host: str, port: int, policy: NetworkPolicy) -> tuple[str, int]:
    """The first address `host` resolves to that the policy permits (ProbeRefused, saying
    why, when none is)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in found:
        if policy.permits(str(sockaddr[0])):
            return str(sockaddr[0]), int(sockaddr[1])
    policy.check(str(found[0][4][0]))  # says why
    raise ProbeRefused(f"not probed: {host} resolves only to addresses probes may not reach")


def describe(exc: BaseException) -> str:
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
