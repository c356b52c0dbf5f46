"""gRPC health checks against a real grpcio health server, TLS certificate expiry read from
certificates the tests make (trustme), and HTTP assertions against a real local server."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import trustme
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from ose_mesh.adapters.probes import NetworkPolicy, NetworkProber
from ose_mesh.domain import CheckConfig, CheckType, HttpAssertions, Service


def grpc_service(port: int, name: str | None = None, *, tls: bool = False) -> Service:
    check = CheckConfig(
        check_type=CheckType.GRPC, host="localhost", port=port, grpc_service=name, tls=tls
    )
    return Service("svc", "svc", check.validated())


def http_service(url: str, assertions: HttpAssertions | None = None, **check: object) -> Service:
    config = CheckConfig(check_type=CheckType.HTTP, health_url=url, assertions=assertions, **check)  # type: ignore[arg-type]
    return Service("svc", "svc", config.validated())


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


class GrpcHealth:
    def __init__(self, server: grpc.aio.Server, servicer: health.aio.HealthServicer, port: int):
        self.server, self.servicer, self.port = server, servicer, port

    async def set(self, name: str, status: int) -> None:
        await self.servicer.set(name, status)


async def start_grpc_health(credentials: grpc.ServerCredentials | None = None) -> GrpcHealth:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return GrpcHealth(server, servicer, port)


@pytest.fixture
async def grpc_health() -> AsyncIterator[GrpcHealth]:
    running = await start_grpc_health()
    yield running
    await running.server.stop(None)


@pytest.fixture
async def prober() -> AsyncIterator[NetworkProber]:
    prober = NetworkProber(policy=NetworkPolicy.from_lists([], []))
    yield prober
    await prober.close()


# -- gRPC ----------------------------------------------------------------------------------


async def test_a_serving_grpc_server_is_a_success_and_anything_else_a_failure_saying_so(
    grpc_health: GrpcHealth, prober: NetworkProber
) -> None:
    serving = await prober.probe(grpc_service(grpc_health.port))
    assert (serving.ok, serving.message) == (True, "SERVING")

    await grpc_health.set("payments", health_pb2.HealthCheckResponse.NOT_SERVING)
    down = await prober.probe(grpc_service(grpc_health.port, "payments"))
    assert (down.ok, down.answered, down.message) == (False, True, "NOT_SERVING")

    await grpc_health.set("payments", health_pb2.HealthCheckResponse.SERVING)
    assert (await prober.probe(grpc_service(grpc_health.port, "payments"))).ok

    unknown = await prober.probe(grpc_service(grpc_health.port, "nobody"))
    assert (unknown.ok, unknown.answered) == (False, True)
    assert unknown.message == "the server does not know the service 'nobody'"


async def test_a_grpc_server_that_is_gone_gave_no_answer(
    grpc_health: GrpcHealth, prober: NetworkProber
) -> None:
    port = grpc_health.port
    await grpc_health.server.stop(None)
    gone = await prober.probe(grpc_service(port))
    assert (gone.ok, gone.answered) == (False, False)
    assert gone.message
    assert gone.message.startswith("unavailable")


async def test_a_server_without_the_health_service_says_so(prober: NetworkProber) -> None:
    server = grpc.aio.server()  # no services at all
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        outcome = await prober.probe(grpc_service(port))
    finally:
        await server.stop(None)
    assert (outcome.ok, outcome.answered) == (False, True)
    assert outcome.message == "the server has no grpc.health.v1 Health service"


async def test_grpc_probes_obey_the_network_policy(grpc_health: GrpcHealth) -> None:
    denied = NetworkProber(policy=NetworkPolicy.from_lists(["127.0.0.0/8", "::1/128"], []))
    try:
        outcome = await denied.probe(grpc_service(grpc_health.port))
    finally:
        await denied.close()
    assert (outcome.ok, outcome.answered) == (False, False)
    assert outcome.message
    assert "not probed" in outcome.message


async def test_grpc_over_tls_is_checked_against_the_name_and_reports_the_expiry(
    ca: trustme.CA, ca_file: Path
) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    leaf = ca.issue_cert("localhost", not_after=expires)
    credentials = grpc.ssl_server_credentials(
        [(leaf.private_key_pem.bytes(), leaf.cert_chain_pems[0].bytes())]
    )
    running = await start_grpc_health(credentials)
    trusting = NetworkProber(policy=NetworkPolicy.from_lists([], []), ca_file=ca_file)
    untrusting = NetworkProber(policy=NetworkPolicy.from_lists([], []))
    try:
        outcome = await trusting.probe(grpc_service(running.port, tls=True))
        assert (outcome.ok, outcome.message) == (True, "SERVING")
        assert outcome.cert_not_after == expires.timestamp()
        # a CA the prober does not trust: the handshake fails, nothing is asked
        refused = await untrusting.probe(grpc_service(running.port, tls=True))
        assert not refused.ok
        # plaintext to a TLS port is no answer either
        assert not (await trusting.probe(grpc_service(running.port))).ok
    finally:
        await trusting.close()
        await untrusting.close()
        await running.server.stop(None)


# -- TLS certificate expiry on https -------------------------------------------------------


def answering(
    response: Callable[[], web.StreamResponse],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler answering a new response each time (one cannot be sent twice)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return response()

    return handler


StartHttps = Callable[[datetime], Awaitable[int]]


@pytest.fixture
async def https_server(ca: trustme.CA) -> AsyncIterator[StartHttps]:
    """Starts an https server whose certificate expires at a given moment."""
    runners: list[web.AppRunner] = []

    async def start(not_after: datetime) -> int:
        leaf = ca.issue_cert("localhost", "127.0.0.1", not_after=not_after)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(context)
        app = web.Application()
        app.router.add_get("/health", answering(lambda: web.json_response({"status": "UP"})))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        runners.append(runner)
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_an_https_check_reports_when_its_certificate_expires(
    https_server: StartHttps, ca_file: Path
) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
    port = await https_server(expires)
    prober = NetworkProber(policy=NetworkPolicy.from_lists([], []), ca_file=ca_file)
    try:
        outcome = await prober.probe(http_service(f"https://localhost:{port}/health"))
        assert (outcome.ok, outcome.message) == (True, "HTTP 200")
        assert outcome.cert_not_after == expires.timestamp()
        # 0 days: the service asked for no warning, so nothing is read
        quiet = await prober.probe(
            http_service(f"https://localhost:{port}/health", cert_expiry_days=0)
        )
        assert quiet.ok
        assert quiet.cert_not_after is None
    finally:
        await prober.close()


async def test_an_expired_certificate_fails_the_check(
    https_server: StartHttps, ca_file: Path
) -> None:
    port = await https_server(datetime.now(UTC) - timedelta(days=1))
    prober = NetworkProber(policy=NetworkPolicy.from_lists([], []), ca_file=ca_file)
    try:
        outcome = await prober.probe(http_service(f"https://localhost:{port}/health"))
    finally:
        await prober.close()
    assert not outcome.ok
    assert outcome.message
    assert "expired" in outcome.message


# -- HTTP assertions -----------------------------------------------------------------------


@pytest.fixture
async def answers() -> AsyncIterator[int]:
    async def status(request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "UP", "checks": [{"name": "db", "ok": True}, {"name": "cache", "ok": False}]}
        )

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(text="fine")

    app = web.Application()
    app.router.add_get("/status", status)
    app.router.add_get(
        "/teapot", answering(lambda: web.Response(status=418, text="short and stout"))
    )
    app.router.add_get("/text", answering(lambda: web.Response(text="all good here")))
    app.router.add_get("/huge", answering(lambda: web.Response(text="x" * 200_000 + "needle")))
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    await runner.cleanup()


@pytest.mark.parametrize(
    ("path", "assertions", "failure"),
    [
        ("/status", HttpAssertions(json_path="$.status", json_equals="UP"), None),
        (
            "/status",
            HttpAssertions(json_path="$.status", json_equals="DOWN"),
            '$.status is "UP", expected "DOWN"',
        ),
        ("/status", HttpAssertions(json_path="$.checks[?(@.ok == false)].name"), None),
        ("/status", HttpAssertions(json_path="$.missing"), "finds nothing"),
        ("/status", HttpAssertions(json_path="$.checks[0].ok", json_equals=True), None),
        (
            "/status",
            HttpAssertions(json_path="$.checks[0].ok", json_equals=1),
            "$.checks[0].ok is true, expected 1",
        ),
        ("/text", HttpAssertions(json_path="$.status"), "is not JSON"),
        ("/text", HttpAssertions(body_contains="good"), None),
        ("/text", HttpAssertions(body_contains="bad"), 'does not contain "bad"'),
        ("/teapot", HttpAssertions(), "HTTP 418"),
        ("/teapot", HttpAssertions(status_codes=(418,)), None),
        ("/text", HttpAssertions(status_codes=(201, 204)), "expected status 201 or 204, got 200"),
        ("/huge", HttpAssertions(body_contains="needle"), "longer than the 64 KB"),
        ("/slow", HttpAssertions(max_response_ms=100), "over the 100 ms maximum"),
        ("/slow", HttpAssertions(max_response_ms=5000), None),
    ],
)
async def test_assertions_decide_and_a_failed_one_is_named_in_the_reason(
    answers: int,
    prober: NetworkProber,
    path: str,
    assertions: HttpAssertions,
    failure: str | None,
) -> None:
    outcome = await prober.probe(http_service(f"http://127.0.0.1:{answers}{path}", assertions))
    if failure is None:
        assert outcome.ok, outcome.message
    else:
        assert not outcome.ok
        assert outcome.answered  # it answered: alive, but failing
        assert outcome.message
        assert failure in outcome.message, outcome.message


def test_assertions_round_trip_as_json() -> None:
    assertions = HttpAssertions(
        status_codes=(200, 204), body_contains="ok", json_path="$.a", json_equals=2.5
    )
    stored = json.loads(json.dumps(assertions.to_json()))
    assert HttpAssertions.from_json(stored) == assertions
