"""REST routes of the message bus (the reference's paths), over the outbox."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ose_mesh.adapters.server_bus import Listing
from ose_mesh.api.context import MeshServices
from ose_mesh.api.json_input import JsonRefused, parse_json
from ose_mesh.api.rest.bodies import read_body, whole_number_param
from ose_mesh.api.rest.errors import BadRequest
from ose_mesh.domain import EventMessage, InvalidField, UnknownExchange, exact_priority

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
            priority=exact_priority(self.priority),
            correlation_id=self.correlation_id,
            metadata=self.metadata,
        )


def _mesh(request: Request) -> MeshServices:
    mesh: MeshServices = request.app.state.mesh
    return mesh


async def _structured_cloud_event(request: Request) -> tuple[PublishBody, EventMessage]:
    """`application/cloudevents+json`: a structured CloudEvent becomes the same publish,
    keeping its own `id` (the dedupe and tracing key) and `time`."""
    try:
        data = parse_json(await request.body())
    except JsonRefused as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("A structured CloudEvent must be a JSON object.")
    if data.get("specversion") != "1.0":
        raise BadRequest("specversion: must be '1.0'")
    source = data.get("source", "")
    body = PublishBody.model_validate(
        {
            "exchange": data.get("exchange", "ose.events"),
            "event_type": data.get("type", ""),
            "source_service": source,
            "payload": data.get("data", {}),
            "routing_key": data.get("routingkey")
            or (f"{routing_word(source)}.{data.get('type')}" if isinstance(source, str) else None),
            "correlation_id": data.get("correlationid"),
        }
    )
    event = body.to_event()
    event_id, time = data.get("id"), data.get("time")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64:
        raise InvalidField("id", "must be a string of 1 to 64 characters")
    event = replace(event, event_id=event_id)
    if time is not None:
        event = replace(event, timestamp=_rfc3339(time))
    return body, event


def _rfc3339(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidField("time", f"must be an RFC 3339 time with its offset, got {value!r}")
    return moment


def routing_word(source: str) -> str:
    """A CloudEvent's `source` as one routing-key word: a URI's last path segment (or its
    host), with every character a topic pattern treats specially made a '-'
    ("https://shop.example/orders" -> "orders", "/sensors/tn-1" -> "tn-1")."""
    parts = urlsplit(source)
    segments = [segment for segment in parts.path.split("/") if segment]
    word = segments[-1] if segments else parts.hostname or source
    return re.sub(r"[^A-Za-z0-9_-]", "-", word) or "unknown"


async def publish(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/cloudevents+json":
        body, event = await _structured_cloud_event(request)
    else:
        body = await read_body(request, PublishBody)
        event = body.to_event()
    mesh = _mesh(request)
    if not await mesh.bus.exchange_exists(body.exchange):
        raise UnknownExchange(body.exchange)
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
