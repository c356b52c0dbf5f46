"""The real probes against real local endpoints, and the network policy that keeps them away
from link-local addresses (cloud metadata) and denied networks, also through DNS names."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ose_mesh.adapters.probes import NetworkPolicy, NetworkProber
from ose_mesh.domain import CheckConfig, CheckType, Service


def http_service(url: str) -> Service:
    return Service("svc", "svc", CheckConfig(check_type=CheckType.HTTP, health_url=url))


def tcp_service(host: str, port: int) -> Service:
    return Service("svc", "svc", CheckConfig(check_type=CheckType.TCP, host=host, port=port))


HITS: list[str] = []  # the Host of every request the endpoint below answered


@pytest.fixture
async def endpoint() -> AsyncIterator[int]:
    """A local HTTP server: /health answers 200, /moved redirects to another host."""

    async def health(request: web.Request) -> web.Response:
        HITS.append(request.host)
        return web.Response(text="ok" * 100_000)  # a big body the probe must not read

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    HITS.clear()
    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/moved", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield port
    await runner.cleanup()


async def test_http_and_tcp_probes_reach_what_is_allowed(endpoint: int) -> None:
    prober = NetworkProber()
    try:
        ok = await prober.probe(http_service(f"http://127.0.0.1:{endpoint}/health"))
        assert (ok.ok, ok.message) == (True, "HTTP 200")
        by_name = await prober.probe(http_service(f"http://localhost:{endpoint}/health"))
        assert by_name.ok
        # a redirect is an answer (success), never followed to where it points
        moved = await prober.probe(http_service(f"http://127.0.0.1:{endpoint}/moved"))
        assert (moved.ok, moved.message) == (True, "HTTP 302")
        assert (await prober.probe(tcp_service("127.0.0.1", endpoint))).ok
    finally:
        await prober.close()


# Every spelling of the cloud metadata address: IPv4-mapped, IPv4-compatible, NAT64, 6to4,
# Teredo (client 169.254.169.254 obfuscated), and what getaddrinfo reads as IPv4.
METADATA = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[0:0:0:0:0:ffff:169.254.169.254]/",
    "http://[::169.254.169.254]/",
    "http://[64:ff9b::169.254.169.254]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://[fe80::1]/health",
    "http://[fe80::1%25eth0]:8080/health",
]


@pytest.mark.parametrize("url", METADATA)
async def test_link_local_addresses_are_refused_in_every_spelling(url: str) -> None:
    prober = NetworkProber(policy=NetworkPolicy.from_lists([], []))
    try:
        outcome = await asyncio.wait_for(prober.probe(http_service(url)), 5)
    finally:
        await prober.close()
    assert not outcome.ok
    # refused by the policy, or by the URL parser as no canonical address: never connected
    assert "not probed" in outcome.message or "canonical" in outcome.message, outcome.message


LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "localhost",  # the name resolves there
    "127.1",
    "2130706433",
    "0x7f000001",
    "[::ffff:127.0.0.1]",
    "[::1]",
    "0.0.0.0",  # unspecified: the local host
    "[::]",
    "0",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
async def test_a_loopback_deny_holds_for_every_spelling(endpoint: int, host: str) -> None:
    policy = NetworkPolicy.from_lists(["127.0.0.0/8", "::1/128"], [])
    prober = NetworkProber(policy=policy)
    try:
        over_http = await prober.probe(http_service(f"http://{host}:{endpoint}/health"))
        over_tcp = await prober.probe(tcp_service(host.strip("[]"), endpoint))
    finally:
        await prober.close()
    assert not over_http.ok
    assert HITS == []  # refused by the policy, or by the URL parser as no canonical address
    assert not over_tcp.ok
    assert "not probed" in over_tcp.message, over_tcp.message


async def test_a_server_beyond_loopback_probes_local_networks_only_when_allowed(
    endpoint: int,
) -> None:
    public = NetworkPolicy.from_lists([], [], local_denied=True)
    for address in ("127.0.0.1", "::1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "fd00::1"):
        assert not public.permits(address), address
    assert public.permits("8.8.8.8")
    assert not public.permits("::ffff:10.0.0.1")  # the mapped spelling of a private address
    prober = NetworkProber(policy=public)
    try:
        refused = await prober.probe(http_service(f"http://127.0.0.1:{endpoint}/health"))
        assert "OSE_MESH_PROBE_ALLOW" in refused.message
    finally:
        await prober.close()
    allowed = NetworkPolicy.from_lists([], ["127.0.0.0/8"], local_denied=True)
    prober = NetworkProber(policy=allowed)
    try:
        assert (await prober.probe(http_service(f"http://127.0.0.1:{endpoint}/health"))).ok
        mapped = await prober.probe(http_service(f"http://[::ffff:127.0.0.1]:{endpoint}/health"))
        assert "not probed" not in mapped.message  # allowed: whatever the socket then says
    finally:
        await prober.close()


def test_allow_lists_admit_only_their_networks() -> None:
    policy = NetworkPolicy.from_lists([], ["10.0.0.0/8"])
    assert policy.permits("10.1.2.3")
    assert not policy.permits("192.168.1.1")
    assert policy.permits("::ffff:10.0.0.1")  # where it leads is allowed
    assert not NetworkPolicy.from_lists([], ["169.254.0.0/16"]).permits("169.254.169.254")
    denied = NetworkPolicy.from_lists(["10.0.0.0/8"], [])
    for spelling in ("10.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::"):
        assert not denied.permits(spelling), spelling


async def test_failures_are_said_in_plain_words(endpoint: int) -> None:
    prober = NetworkProber()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens there once the socket is closed
    try:
        refused = await prober.probe(http_service(f"http://127.0.0.1:{closed}/health"))
        assert refused.message == "connection refused"
        assert not refused.answered
        over_tcp = await prober.probe(tcp_service("127.0.0.1", closed))
        assert over_tcp.message == "connection refused"
        unknown = await prober.probe(http_service("http://no-such-host.invalid/health"))
        assert unknown.message.startswith("cannot resolve the host name")
        assert "ssl:default" not in refused.message + unknown.message
        answered = await prober.probe(http_service(f"http://127.0.0.1:{endpoint}/health"))
        assert answered.answered
    finally:
        await prober.close()
