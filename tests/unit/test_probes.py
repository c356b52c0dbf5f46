"""The real probes against real local endpoints, and the network policy that keeps them away
from link-local addresses (cloud metadata) and denied networks, also through DNS names."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ose_mesh.adapters.probes import NetworkPolicy, NetworkProber
from ose_mesh.domain import CheckConfig, CheckType, Service


def http_service(url: str) -> Service:
    return Service("svc", "svc", CheckConfig(check_type=CheckType.HTTP, health_url=url))


def tcp_service(host: str, port: int) -> Service:
    return Service("svc", "svc", CheckConfig(check_type=CheckType.TCP, host=host, port=port))


@pytest.fixture
async def endpoint() -> AsyncIterator[int]:
    """A local HTTP server: /health answers 200, /moved redirects to another host."""

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok" * 100_000)  # a big body the probe must not read

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

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


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/health",
        "http://[fe80::1%25eth0]:8080/health",
    ],
)
async def test_link_local_addresses_are_refused(url: str) -> None:
    prober = NetworkProber()
    try:
        outcome = await asyncio.wait_for(prober.probe(http_service(url)), 5)
    finally:
        await prober.close()
    assert not outcome.ok
    assert "probes may" in outcome.message


async def test_denied_networks_are_refused_after_dns_too(endpoint: int) -> None:
    policy = NetworkPolicy.from_lists(["127.0.0.0/8", "::1/128"], [])
    prober = NetworkProber(policy=policy)
    try:
        for service in (
            http_service(f"http://127.0.0.1:{endpoint}/health"),
            http_service(f"http://localhost:{endpoint}/health"),  # the name resolves there
            tcp_service("localhost", endpoint),
        ):
            outcome = await prober.probe(service)
            assert not outcome.ok
            assert "probes may" in outcome.message
    finally:
        await prober.close()


def test_allow_lists_admit_only_their_networks() -> None:
    policy = NetworkPolicy.from_lists([], ["10.0.0.0/8"])
    assert policy.permits("10.1.2.3")
    assert not policy.permits("192.168.1.1")
    assert not NetworkPolicy.from_lists([], ["169.254.0.0/16"]).permits("169.254.169.254")
