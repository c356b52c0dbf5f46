"""The ASGI app: routes over the parts `compose.build_mesh` builds, and the background work.

The lifespan creates the schema, restores services and dependencies, starts the monitor
loop, the history flusher, the self-check, the bus connection, the outbox relay, the
transition publisher (and webhooks, and the demo), and cancels them all on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.subscriptions import (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)

from ose_mesh.adapters.bus import Broker
from ose_mesh.adapters.db import SqlRepository
from ose_mesh.api.access import AccessControl, Tokens
from ose_mesh.api.graphql import schema
from ose_mesh.api.graphql.view import MeshGraphQL
from ose_mesh.api.health import DatabaseCheck, health_endpoint
from ose_mesh.api.limits import BodyLimitMiddleware
from ose_mesh.api.metrics import MeshMetrics
from ose_mesh.api.rest import (
    EXCEPTION_HANDLERS,
    dependency_routes,
    heartbeat_routes,
    messagebus_routes,
)
from ose_mesh.api.rest.ratelimit import BeatLimiter
from ose_mesh.api.site_guard import SiteGuard
from ose_mesh.api.web import web_routes
from ose_mesh.compose import build_mesh
from ose_mesh.config import Settings
from ose_mesh.core import (
    Clock,
    HeartbeatMonitor,
    Prober,
    ServiceRegistry,
    ServiceSpec,
)
from ose_mesh.core.catalog import CatalogImporter
from ose_mesh.core.events import forward_transitions, subscribe_transitions
from ose_mesh.demo.simulator import SELF_ID, DemoSimulator
from ose_mesh.domain import CheckConfig, CheckType, StorageUnavailable

log = logging.getLogger("ose_mesh")
# A page needs a handful of subscriptions; a client opening hundreds on one socket is broken.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 50


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    prober: Prober | None = None,
    broker: Broker | None = None,
) -> Starlette:
    built = build_mesh(settings, clock=clock, prober=prober, broker=broker)
    mesh, repository = built.services, built.repository
    monitor, registry, history = mesh.monitor, mesh.registry, mesh.history
    metrics = MeshMetrics(monitor, history)
    monitor.add_observer(metrics.observe)
    demo = (
        DemoSimulator(f"http://{_loopback(settings.host)}:{settings.port}")
        if settings.demo
        else None
    )

    ready = asyncio.Event()  # start-up work done: /health answers 200 from then on

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        transitions = subscribe_transitions(mesh.hub)
        alerts = subscribe_transitions(mesh.hub) if mesh.webhooks.urls else None
        restored, edges = await built.open()
        log.info(
            "restored %d services and %d dependencies from %s",
            restored,
            edges,
            repository.safe_url,
        )
        await _register_self(registry, built.defaults)
        await _beat_self(monitor, repository)
        stopping = asyncio.Event()
        # Stopped between two flushes, never in the middle of one, so that the last flush
        # (built.close) writes whatever is left in one go.
        flusher = asyncio.create_task(
            _every(settings.history_flush_seconds, history.flush, stopping), name="history"
        )
        tasks = [
            asyncio.create_task(monitor.run(), name="monitor"),
            asyncio.create_task(_self_check(monitor, repository), name="self-check"),
            asyncio.create_task(
                mesh.bus.bus.stay_connected(mesh.bus.on_connect), name="bus-connection"
            ),
            asyncio.create_task(built.relay.run(), name="outbox-relay"),
            asyncio.create_task(forward_transitions(transitions, mesh.events), name="transitions"),
            asyncio.create_task(mesh.dependencies.keep_analysed(), name="graph-analysis"),
        ]
        if alerts is not None:
            tasks.append(asyncio.create_task(mesh.webhooks.run(alerts), name="webhooks"))
        log.info("event bus: %s (%s)", mesh.bus.backend, mesh.bus.settings.safe_url)
        if demo is not None:
            tasks.append(
                asyncio.create_task(_seed_then_ready(demo, built.catalog, ready), name="demo")
            )
        else:
            ready.set()
        try:
            yield
        finally:
            stopping.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(flusher, *tasks, return_exceptions=True)
            graphql.document_worker.shutdown(wait=False)
            await built.close()

    # Subscriptions over WebSocket (both protocols) and over HTTP as multipart/mixed, which is
    # what GraphiQL uses when its page has no WebSocket client of its own.
    tokens = settings.tokens()
    graphql = MeshGraphQL(
        schema,
        tokens=tokens,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        connection_init_wait_timeout=timedelta(seconds=settings.websocket_init_timeout_seconds),
        subscription_protocols=[
            GRAPHQL_TRANSPORT_WS_PROTOCOL,
            GRAPHQL_WS_PROTOCOL,
            MULTIPART_SUBSCRIPTION_PROTOCOL,
        ],
    )
    routes: list[BaseRoute] = [
        *heartbeat_routes,
        *dependency_routes,
        *messagebus_routes,
        Route(
            "/health",
            health_endpoint(DatabaseCheck(repository), monitor, ready),
            methods=["GET"],
        ),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        *graphql_routes(graphql),
        *(demo.routes() if demo else []),
        *web_routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=_middleware(settings, tokens),
    )
    app.state.mesh = mesh
    app.state.settings = settings
    app.state.tokens = tokens
    app.state.beat_limiter = BeatLimiter(settings.beats_per_second)
    return app


def _middleware(settings: Settings, tokens: Tokens) -> list[Middleware]:
    """Outermost first: the Host and cross-site checks, CORS (off unless origins are
    allowed; preflights need no token), then access control, then the body size limit."""
    stack = [
        Middleware(
            SiteGuard,
            allowed_hosts=settings.trusted_hosts,
            allowed_origins=settings.allowed_origins,
        )
    ]
    if settings.allowed_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    stack += [
        Middleware(AccessControl, tokens=tokens),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
    ]
    return stack


def graphql_routes(graphql: GraphQL[Any, Any]) -> list[BaseRoute]:
    """GET/POST and WebSocket on the exact path (a Mount would redirect POST and refuse WS)."""
    return [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]


async def _register_self(registry: ServiceRegistry, defaults: CheckConfig) -> None:
    spec = ServiceSpec(
        service_id=SELF_ID,
        service_name="Service Mesh",
        cluster="core",
        check_type=CheckType.PUSH,
        interval_seconds=defaults.interval_seconds,
        timeout_seconds=defaults.timeout_seconds,
    )
    await registry.register(spec)


async def _beat_self(monitor: HeartbeatMonitor, repository: SqlRepository) -> None:
    """The mesh beats for itself: a beat succeeds when its database answers."""
    started = time.perf_counter()
    try:
        await repository.ping()
    except StorageUnavailable as exc:
        monitor.record_beat(SELF_ID, ok=False, message=exc.message)
        return
    latency = (time.perf_counter() - started) * 1000
    monitor.record_beat(SELF_ID, ok=True, latency_ms=round(latency, 3))


async def _self_check(monitor: HeartbeatMonitor, repository: SqlRepository) -> None:
    while True:
        await asyncio.sleep(monitor.state(SELF_ID).service.check.interval_seconds)
        await _beat_self(monitor, repository)


async def _every(
    seconds: float, work: Callable[[], Awaitable[None]], stopping: asyncio.Event
) -> None:
    """Do `work` every `seconds` until `stopping` is set (a run under way finishes)."""
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stopping.wait()
        if not stopping.is_set():
            await work()


async def _seed_then_ready(
    demo: DemoSimulator, catalog: CatalogImporter, ready: asyncio.Event
) -> None:
    await demo.seed_when_listening(catalog)
    ready.set()


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
