"""The ASGI app: routes and middleware over the parts `bootstrap.build_mesh` builds.

The lifespan opens the mesh (schema, restored services and dependencies), runs its
background jobs under their supervisor while the app serves, and closes it on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
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

from ose_mesh.api.access import AccessControl, Tokens
from ose_mesh.api.graphql import schema
from ose_mesh.api.graphql.view import MeshGraphQL
from ose_mesh.api.health import HEALTH, health_endpoint
from ose_mesh.api.limits import BodyLimitMiddleware
from ose_mesh.api.metrics import METRICS, MeshMetrics
from ose_mesh.api.openapi import openapi_endpoint
from ose_mesh.api.operations import routes as operation_routes
from ose_mesh.api.rest import EXCEPTION_HANDLERS, OPERATIONS
from ose_mesh.api.rest.ratelimit import BeatLimiter
from ose_mesh.api.site_guard import SiteGuard
from ose_mesh.api.web import web_routes
from ose_mesh.bootstrap import build_mesh, tokens
from ose_mesh.config import Settings
from ose_mesh.core import Clock, Prober
from ose_mesh.core.broker import Broker
from ose_mesh.core.catalog import CatalogImporter
from ose_mesh.core.membership import ServerInUse
from ose_mesh.demo.simulator import DemoSimulator
from ose_mesh.demo.traffic import TRAFFIC_SECONDS, DemoTraffic

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
    mesh = build_mesh(settings, clock=clock, prober=prober, broker=broker)
    metrics = MeshMetrics(
        mesh.monitor,
        mesh.history,
        mesh.jobs,
        replica_id=mesh.membership.identity.replica_id,
        shards=mesh.shards,
        link=mesh.link,
        notifications=mesh.use_cases.notifications,
        traces=mesh.use_cases.observations.book,
    )
    mesh.monitor.add_observer(metrics.observe)
    ready = mesh.self_check.ready
    demo = (
        DemoSimulator(f"http://{_loopback(settings.host)}:{settings.port}")
        if settings.demo
        else None
    )
    if demo is not None:
        mesh.jobs.add(
            "demo", lambda: _seed_then_ready(demo, mesh.catalog, ready), vital=False, restart=False
        )
        traffic = DemoTraffic(mesh.use_cases.observations.receive)
        mesh.jobs.add("demo-traffic", lambda: _every_tick(traffic), vital=False)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        restored, edges = await mesh.open()
        log.info(
            "restored %d services and %d dependencies from %s",
            restored,
            edges,
            mesh.repository.safe_url,
        )
        bus = mesh.use_cases.bus
        log.info("event bus: %s (%s)", bus.backend, bus.broker_address)
        identity = mesh.membership.identity
        log.info("replica %s (%s)", identity.replica_id, identity.mode)
        try:
            async with mesh.running():
                if demo is None:
                    ready.set()
                yield
        except ServerInUse as exc:
            app.state.refusal = str(exc)
            raise
        finally:
            graphql.document_worker.shutdown(wait=False)
            await mesh.close()

    # Subscriptions over WebSocket (both protocols) and over HTTP as multipart/mixed, which is
    # what GraphiQL uses when its page has no WebSocket client of its own.
    access_tokens = tokens(settings)
    graphql = MeshGraphQL(
        schema,
        tokens=access_tokens,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        connection_init_wait_timeout=timedelta(seconds=settings.websocket_init_timeout_seconds),
        subscription_protocols=[
            GRAPHQL_TRANSPORT_WS_PROTOCOL,
            GRAPHQL_WS_PROTOCOL,
            MULTIPART_SUBSCRIPTION_PROTOCOL,
        ],
    )
    routes: list[BaseRoute] = [
        *operation_routes(OPERATIONS),
        HEALTH.route(health_endpoint(mesh.self_check)),
        METRICS.route(metrics.endpoint),
        Route(
            "/api/openapi.json",
            openapi_endpoint([*OPERATIONS, HEALTH, METRICS]),
            methods=["GET"],
        ),
        *graphql_routes(graphql),
        *(demo.routes() if demo else []),
        *web_routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=_middleware(settings, access_tokens),
    )
    app.state.mesh = mesh.use_cases  # what routes and resolvers are given
    app.state.parts = mesh  # everything built, for the tests and benchmarks that look behind
    app.state.settings = settings
    app.state.refusal = None  # why the database refused this server, if it did
    app.state.tokens = access_tokens
    app.state.beat_limiter = BeatLimiter(settings.beats_per_second)
    app.state.span_limiter = BeatLimiter(settings.trace_spans_per_second)
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


async def _seed_then_ready(
    demo: DemoSimulator, catalog: CatalogImporter, ready: asyncio.Event
) -> None:
    await demo.seed_when_listening(catalog)
    ready.set()


async def _every_tick(traffic: DemoTraffic) -> None:
    while True:
        await traffic.tick()
        await asyncio.sleep(TRAFFIC_SECONDS)


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
