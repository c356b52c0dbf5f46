"""REST routes of the message bus (the reference's paths), over the outbox."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ose_mesh.adapters.server_bus import Listing
from ose_mesh.api.context import MeshServices
from ose_mesh.api.json_input import JsonRefused, parse_json
from ose_mesh.api.rest.bodies import read_body, whole_number_param
from ose_mesh.api.rest.errors import BadRequest
from ose_mesh.domain import EventMessage, MessagePriority, UnknownExchange

MAX_PAGE_SIZE = 500
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class PublishBody(BaseModel):
    """The reference's publish body, plus correlation_id and metadata."""

    model_config = ConfigDict(extra="forbid")

    exchange: Annotated[str, StringConstraints(max_length=255)] = "ose.events"
    event_type: NonEmpty
    source_service: NonEmpty
    payload: dict[str, Any] = Field(default_factory=dict)
    routing_key: str | None = None
    priority: int = Field(default=5, ge=0, le=9)
    correlation_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("routing_key")
    @classmethod
    def _short_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) > 255:
            raise ValueError("must be at most 255 bytes (AMQP's limit)")
        return value

    def to_event(self) -> EventMessage:
        return EventMessage(
            event_type=self.event_type,
            source_service=self.source_service,
            payload=self.payload,
            priority=MessagePriority.from_number(self.priority),
            correlation_id=self.correlation_id,
            metadata=self.metadata,
        )


def _mesh(request: Request) -> MeshServices:
    mesh: MeshServices = request.app.state.mesh
    return mesh


async def _structured_cloud_event(request: Request) -> PublishBody:
    """`application/cloudevents+json`: a structured CloudEvent becomes the same publish."""
    try:
        data = parse_json(await request.body())
    except JsonRefused as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("A structured CloudEvent must be a JSON object.")
    if data.get("specversion") != "1.0":
        raise BadRequest("specversion: must be '1.0'")
    return PublishBody.model_validate(
        {
            "exchange": data.get("exchange", "ose.events"),
            "event_type": data.get("type", ""),
            "source_service": data.get("source", ""),
            "payload": data.get("data", {}),
            "routing_key": data.get("routingkey"),
            "correlation_id": data.get("correlationid"),
        }
    )


async def publish(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/cloudevents+json":
        body = await _structured_cloud_event(request)
    else:
        body = await read_body(request, PublishBody)
    mesh = _mesh(request)
    if not await mesh.bus.exchange_exists(body.exchange):
        raise UnknownExchange(body.exchange)
    event = body.to_event()
    routing_key = body.routing_key or f"{event.source_service}.{event.event_type}"
    receipt = await mesh.events.publish(body.exchange, routing_key, event)
    answer = {
        "event_id": receipt.event_id,
        "status": receipt.state,
        "routed": receipt.routed,
        "exchange": body.exchange,
        "routing_key": routing_key,
    }
    return JSONResponse(answer, status_code=200 if receipt.state == "confirmed" else 202)


async def status(request: Request) -> JSONResponse:
    mesh = _mesh(request)
    bus, relay = mesh.bus, mesh.relay_stats
    return JSONResponse(
        {
            "backend": bus.backend,
            "connected": bus.bus.connected,
            "broker": bus.settings.safe_url,
            "published": relay.published,
            "returned": relay.returned,
            "refused": relay.failed,
            "consumed": bus.seen,
            "dead_lettered": bus.bus.stats.dead_lettered,
            "outbox_backlog": await mesh.outbox.outbox_backlog(),
            "webhooks": {
                "urls": len(mesh.webhooks.urls),
                "delivered": mesh.webhooks.stats.delivered,
                "failed": mesh.webhooks.stats.failed,
                "last_error": mesh.webhooks.stats.last_error,
            },
        }
    )


def _paging(request: Request) -> tuple[int, int]:
    page = whole_number_param(request, "page", 1, 1, 1_000_000)
    return page, whole_number_param(request, "page_size", 100, 1, MAX_PAGE_SIZE)


def _listing(key: str, listing: Listing[Any], items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        {
            key: items,
            "page": listing.page,
            "page_size": listing.page_size,
            "page_count": listing.page_count,
            "total": listing.total,
            "source": listing.source,
        }
    )


async def exchanges(request: Request) -> JSONResponse:
    found = await _mesh(request).bus.exchanges(*_paging(request))
    items = [{"name": e.name, "type": e.type, "durable": e.durable} for e in found.items]
    return _listing("exchanges", found, items)


async def queues(request: Request) -> JSONResponse:
    found = await _mesh(request).bus.queues(*_paging(request))
    items = [
        {"name": q.name, "messages": q.message_count, "consumers": q.consumer_count}
        for q in found.items
    ]
    return _listing("queues", found, items)


routes = [
    Route("/api/v1/messagebus/status", status, methods=["GET"]),
    Route("/api/v1/messagebus/publish", publish, methods=["POST"]),
    Route("/api/v1/messagebus/exchanges", exchanges, methods=["GET"]),
    Route("/api/v1/messagebus/queues", queues, methods=["GET"]),
]
